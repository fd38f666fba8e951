//! The `raw_values_in_output = false` release rule: an approved module may
//! compute over raw values, but may not copy them out.
//!
//! The host remembers every string value it fed the guest from raw columns
//! that are not group keys (group keys, such as a region, are labels meant
//! to appear in results) and withholds any output containing one of them.
//! Strings are what identify people and records; numeric outputs are
//! computed figures and are not compared (a mean may equal some raw value
//! by chance). Memory is bounded: past [`MAX_REMEMBERED`] distinct values
//! the guard can no longer vouch for string outputs and withholds any.

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef};
use arrow_cast::cast;
use arrow_schema::DataType;
use serde_json::Value;

use crate::outcome::Withholding;
use crate::output::OutputTable;

/// Most distinct values remembered per run.
pub const MAX_REMEMBERED: usize = 1_000_000;

/// String values fed from guarded raw columns during one run.
#[derive(Debug, Default)]
pub struct RawValueGuard {
    values: HashSet<String>,
    overflow: bool,
    active: bool,
    /// Host bytes the remembered values hold (counted against the run's memory).
    held: u64,
}

impl RawValueGuard {
    /// Remembers the string values of `array` (a guarded column's batch).
    pub fn observe(&mut self, array: &ArrayRef) {
        self.active = true;
        let strings = match array.data_type() {
            DataType::Dictionary(_, _) => match cast(
                array,
                &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            ) {
                Ok(d) => d.as_dictionary::<Int32Type>().values().clone(),
                Err(_) => return self.overflow = true,
            },
            _ => array.clone(),
        };
        let Ok(strings) = cast(&strings, &DataType::Utf8) else {
            self.overflow = true;
            return;
        };
        for s in strings.as_string::<i32>().iter().flatten() {
            if self.values.len() >= MAX_REMEMBERED {
                self.overflow = true;
                return;
            }
            if !self.values.contains(s) {
                self.values.insert(s.to_string());
                self.held += s.len() as u64 + 48;
            }
        }
    }

    /// Host bytes the remembered values hold.
    pub fn held_bytes(&self) -> u64 {
        self.held
    }

    /// Checks the output; `Err` names the rule (never the column or value).
    pub fn check(&self, table: &OutputTable) -> Result<(), Withholding> {
        if !self.active {
            return Ok(());
        }
        let leaked = table
            .columns
            .iter()
            .filter(|c| c.column_type == "utf8")
            .flat_map(|c| &c.values)
            .any(|v| match v {
                Value::String(s) => self.overflow || self.values.contains(s),
                _ => false,
            });
        if leaked {
            return Err(Withholding::RawValues);
        }
        Ok(())
    }
}
