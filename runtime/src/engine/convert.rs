//! The guest's returned table, checked against the release caps before it
//! is converted, and converted within the run's memory, fuel and time.
//!
//! Defends against an output that costs the host more than the run may
//! spend. wasmtime has already lifted the table out of guest memory (under
//! the meter's transfer budget); from there the old path converted it to
//! JSON values and encoded it *before* checking the caps, so a 61 MB table
//! drove the host to 813 MB. Here the lifted table is reserved against the
//! memory cap first, the row cap is checked on the lifted columns, the
//! canonical size is measured by streaming the encoding into a counter that
//! stops at the byte cap, and only a table within both caps is converted,
//! with its conversion reserved and charged beforehand.

use std::io::Write;

use serde::Serialize;
use sluice_host_api::types::{ColumnValues, OutputColumn as WitColumn, Table as WitTable};

use super::meter::{HostAbort, Meter};
use super::schedule;
use crate::outcome::Withholding;
use crate::output::OutputTable;
use crate::policy::Limits;

/// A table that passed the size caps, converted, with its canonical bytes.
pub struct Converted {
    /// The table in the host's form.
    pub table: OutputTable,
    /// Its canonical encoding.
    pub bytes: Vec<u8>,
}

/// Checks `table` against the row and byte caps and converts it, or names
/// the rule it breaks, charging the work to `meter` and reserving the
/// memory it takes. `Err` means the run must stop (memory, fuel, time).
pub fn convert(
    table: WitTable,
    limits: &Limits,
    meter: &mut Meter,
) -> Result<Result<Converted, Withholding>, HostAbort> {
    let _lifted = meter.reserve_or_abort(lifted_bytes(&table))?;
    meter.check_deadline()?;
    let rows = table.columns.first().map_or(0, |c| len(&c.values));
    if malformed(&table, rows) {
        return Ok(Err(Withholding::MalformedOutput));
    }
    if rows as u64 > limits.output_rows {
        return Ok(Err(Withholding::OutputRows {
            limit: limits.output_rows,
        }));
    }
    let values = (rows as u64).saturating_mul(table.columns.len() as u64);
    let strings: u64 = table
        .columns
        .iter()
        .map(|c| match &c.values {
            ColumnValues::Utf8(v) => v.iter().flatten().count() as u64,
            _ => 0,
        })
        .sum();
    meter.charge(
        values.saturating_mul(schedule::OUTPUT_VALUE)
            + strings.saturating_mul(schedule::OUTPUT_STRING),
    )?;
    let Some(size) = canonical_size(&table, limits.output_bytes) else {
        return Ok(Err(Withholding::OutputBytes {
            limit: limits.output_bytes,
        }));
    };
    meter.charge(schedule::bytes(size as u64))?;
    let _converted = meter.reserve_or_abort(converted_bytes(&table) + size as u64)?;
    let table = OutputTable::from(table);
    let bytes = table.canonical_bytes();
    meter.check_deadline()?;
    Ok(Ok(Converted { table, bytes }))
}

fn len(v: &ColumnValues) -> usize {
    match v {
        ColumnValues::Int64(v) => v.len(),
        ColumnValues::Float64(v) => v.len(),
        ColumnValues::Boolean(v) => v.len(),
        ColumnValues::Utf8(v) => v.len(),
    }
}

/// Ragged columns or a repeated name (the same rule as [`OutputTable::check`]).
fn malformed(table: &WitTable, rows: usize) -> bool {
    if table.columns.iter().any(|c| len(&c.values) != rows) {
        return true;
    }
    let mut names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

/// Bytes the allocator hands out for a heap block of `len` bytes (glibc:
/// 16-byte granules with an 8-byte header, 32 at least).
fn heap(len: usize) -> u64 {
    if len == 0 {
        0
    } else {
        ((len as u64 + 8).div_ceil(16) * 16).max(32)
    }
}

fn strings(v: &[Option<String>]) -> u64 {
    v.iter().flatten().map(|s| heap(s.len())).sum()
}

/// Host bytes the lifted table occupies.
fn lifted_bytes(table: &WitTable) -> u64 {
    let column = |c: &WitColumn| {
        let values = match &c.values {
            ColumnValues::Int64(v) => heap(v.len() * size_of::<Option<i64>>()),
            ColumnValues::Float64(v) => heap(v.len() * size_of::<Option<f64>>()),
            ColumnValues::Boolean(v) => heap(v.len() * size_of::<Option<bool>>()),
            ColumnValues::Utf8(v) => heap(v.len() * size_of::<Option<String>>()) + strings(v),
        };
        values + heap(c.name.len())
    };
    heap(table.columns.len() * size_of::<WitColumn>())
        + table.columns.iter().map(column).sum::<u64>()
}

/// Host bytes converting the table adds: one JSON value per cell (strings
/// move into their values, they are not copied) and each column's header.
fn converted_bytes(table: &WitTable) -> u64 {
    let column = |c: &WitColumn| heap(len(&c.values) * size_of::<serde_json::Value>()) + 64;
    table.columns.iter().map(column).sum()
}

/// The canonical encoding's shape, borrowed from the lifted table. It must
/// serialise exactly as [`OutputTable`] does; the tests compare the two.
#[derive(Serialize)]
struct TableView<'a> {
    columns: Vec<ColumnView<'a>>,
}

#[derive(Serialize)]
struct ColumnView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    column_type: &'static str,
    values: ValuesView<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ValuesView<'a> {
    Int64(&'a [Option<i64>]),
    Float64(&'a [Option<f64>]),
    Boolean(&'a [Option<bool>]),
    Utf8(&'a [Option<String>]),
}

fn view(table: &WitTable) -> TableView<'_> {
    let columns = table
        .columns
        .iter()
        .map(|c| {
            let (column_type, values) = match &c.values {
                ColumnValues::Int64(v) => ("int64", ValuesView::Int64(v)),
                ColumnValues::Float64(v) => ("float64", ValuesView::Float64(v)),
                ColumnValues::Boolean(v) => ("boolean", ValuesView::Boolean(v)),
                ColumnValues::Utf8(v) => ("utf8", ValuesView::Utf8(v)),
            };
            ColumnView {
                name: &c.name,
                column_type,
                values,
            }
        })
        .collect();
    TableView { columns }
}

/// Counts bytes written, failing once past a limit.
struct Counter {
    written: u64,
    limit: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += buf.len() as u64;
        if self.written > self.limit {
            return Err(std::io::Error::other("over the byte cap"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Size of the table's canonical encoding, or `None` once it passes `limit`
/// (the encoding stops there; nothing is buffered).
fn canonical_size(table: &WitTable, limit: u64) -> Option<usize> {
    let mut counter = Counter { written: 0, limit };
    serde_json::to_writer(&mut counter, &view(table)).ok()?;
    usize::try_from(counter.written).ok()
}

#[cfg(test)]
mod tests;
