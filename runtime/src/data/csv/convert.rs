//! Turns a CSV column read as text into its typed Arrow array.
//!
//! Defends against guessing: a field is null (empty, or a null token of the
//! column's kind) or it parses as the column's type with the same strict
//! parser inference used; anything else is an error naming the row, never
//! a silently null or zero value.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};

use super::{CsvDialect, parse};
use crate::data::ColumnType;

/// A field the column's type rejects: its 0-based row in the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvertError {
    pub(crate) row: usize,
}

/// `text` as a `target` column. Timestamps are microseconds, in UTC (zone
/// `UTC`) when `zoned`, else wall-clock times without a zone.
pub(crate) fn convert(
    text: &StringArray,
    target: ColumnType,
    zoned: bool,
    dialect: &CsvDialect,
) -> Result<ArrayRef, ConvertError> {
    Ok(match target {
        ColumnType::Utf8 => strings(text, dialect),
        ColumnType::Int64 => {
            let (v, n) = typed(text, dialect, parse::int64)?;
            Arc::new(Int64Array::new(v.into(), n))
        }
        ColumnType::Float64 => {
            let (v, n) = typed(text, dialect, parse::float64)?;
            Arc::new(Float64Array::new(v.into(), n))
        }
        ColumnType::Boolean => {
            let (v, n) = typed(text, dialect, parse::boolean)?;
            Arc::new(BooleanArray::new(v.into(), n))
        }
        ColumnType::Date => {
            let (v, n) = typed(text, dialect, parse::date)?;
            Arc::new(Date32Array::new(v.into(), n))
        }
        ColumnType::Timestamp => {
            let (v, n) = typed(text, dialect, |s| {
                parse::timestamp(s).and_then(|(t, z)| (z == zoned).then_some(t))
            })?;
            Arc::new(
                TimestampMicrosecondArray::new(v.into(), n)
                    .with_timezone_opt(zoned.then_some("UTC")),
            )
        }
    })
}

/// A string column with the string null tokens (if any) made null.
fn strings(text: &StringArray, dialect: &CsvDialect) -> ArrayRef {
    if dialect.options.string_null_values.is_empty() {
        return Arc::new(text.clone());
    }
    let valid: Vec<bool> = (0..text.len())
        .map(|i| text.is_valid(i) && !dialect.is_string_null(text.value(i)))
        .collect();
    let nulls = NullBuffer::from(valid);
    let out = StringArray::new(
        text.offsets().clone(),
        text.values().clone(),
        (nulls.null_count() > 0).then_some(nulls),
    );
    Arc::new(out)
}

/// Values and validity of `text` parsed by `parse`; null fields hold the
/// default value.
fn typed<T: Default + Copy>(
    text: &StringArray,
    dialect: &CsvDialect,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<(Vec<T>, Option<NullBuffer>), ConvertError> {
    let mut values = Vec::with_capacity(text.len());
    let mut valid = BooleanBufferBuilder::new(text.len());
    let mut nulls = 0usize;
    for row in 0..text.len() {
        let s = if text.is_valid(row) {
            text.value(row)
        } else {
            ""
        };
        match parse(s) {
            Some(v) if !dialect.is_null(s) => {
                values.push(v);
                valid.append(true);
            }
            _ if dialect.is_null(s) => {
                values.push(T::default());
                valid.append(false);
                nulls += 1;
            }
            _ => return Err(ConvertError { row }),
        }
    }
    let nulls = (nulls > 0).then(|| NullBuffer::new(valid.finish()));
    Ok((values, nulls))
}
