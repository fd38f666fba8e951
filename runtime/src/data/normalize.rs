//! Converts decoded Arrow arrays to the few layouts the feed and the host
//! aggregates work with: `Int64`, `Float64`, `Boolean`, `Utf8`, `Date32`,
//! `Timestamp(unit, zone)` and, for scans that ask for codes,
//! `Dictionary(Int32, Utf8)`.
//!
//! Defends against silent misreadings: an unsigned 64-bit value above
//! `i64::MAX` or a duration too long for nanoseconds is an error naming the
//! row (never the value), not a wrapped number; binaries become lowercase
//! hex rather than lossy text; dates stored as milliseconds become whole
//! days rounding down, also before 1970.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date64Type, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, Int32Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, Date32Array, DictionaryArray, Int64Array, StringArray, new_null_array,
};
use arrow_cast::cast;
use arrow_schema::{DataType, TimeUnit};

use super::types::is_string_like;

/// Why an array could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NormalizeError {
    /// A value does not fit the Sluice type; `row` is 0-based in the array.
    Overflow {
        /// The row.
        row: usize,
        /// What did not fit, e.g. "an unsigned 64-bit value above 2^63 - 1".
        what: &'static str,
    },
    /// The type has no Sluice type.
    Unsupported,
    /// Arrow refused a conversion (a bug or a malformed file).
    Arrow(String),
}

fn arrow(e: impl std::fmt::Display) -> NormalizeError {
    NormalizeError::Arrow(e.to_string())
}

/// The array in its feed layout. With `dictionary`, string-like columns
/// stay dictionaries (as `Dictionary(Int32, Utf8)`) when they already are
/// one; plain strings are left for the host's dictionary encoder.
pub(crate) fn normalize(array: &ArrayRef, dictionary: bool) -> Result<ArrayRef, NormalizeError> {
    use DataType::*;
    let a = array;
    Ok(match a.data_type() {
        Int64 | Float64 | Boolean | Utf8 | Date32 | Timestamp(_, _) => a.clone(),
        Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32 => cast(a, &Int64).map_err(arrow)?,
        UInt64 => unsigned(a)?,
        Float16 | Float32 => cast(a, &Float64).map_err(arrow)?,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => {
            cast(a, &Float64).map_err(arrow)?
        }
        LargeUtf8 | Utf8View => cast(a, &Utf8).map_err(arrow)?,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => hex(a)?,
        Null => new_null_array(&Utf8, a.len()),
        Date64 => {
            let days: Date32Array = a
                .as_primitive::<Date64Type>()
                .unary(|ms| ms.div_euclid(86_400_000) as i32);
            Arc::new(days)
        }
        Time32(unit) | Time64(unit) => time_of_day(a, *unit)?,
        Duration(unit) => duration(a, *unit)?,
        Dictionary(_, value) if is_string_like(value) => {
            if dictionary {
                string_dictionary(a)?
            } else {
                normalize(&cast(a, value).map_err(arrow)?, false)?
            }
        }
        Dictionary(_, value) if super::ColumnType::of(value).is_some() => {
            normalize(&cast(a, value).map_err(arrow)?, false)?
        }
        _ => return Err(NormalizeError::Unsupported),
    })
}

fn unsigned(a: &ArrayRef) -> Result<ArrayRef, NormalizeError> {
    let u = a.as_primitive::<UInt64Type>();
    let limit = i64::MAX as u64;
    if let Some(row) = (0..u.len()).find(|&i| u.is_valid(i) && u.value(i) > limit) {
        return Err(NormalizeError::Overflow {
            row,
            what: "an unsigned 64-bit value above 2^63 - 1",
        });
    }
    let values: Int64Array = u.unary(|v| v as i64);
    Ok(Arc::new(values))
}

/// Times of day as nanoseconds since midnight (always in range).
fn time_of_day(a: &ArrayRef, unit: TimeUnit) -> Result<ArrayRef, NormalizeError> {
    let out: Int64Array = match (a.data_type(), unit) {
        (DataType::Time32(_), TimeUnit::Second) => a
            .as_primitive::<Time32SecondType>()
            .unary(|v| i64::from(v) * 1_000_000_000),
        (DataType::Time32(_), TimeUnit::Millisecond) => a
            .as_primitive::<Time32MillisecondType>()
            .unary(|v| i64::from(v) * 1_000_000),
        (DataType::Time64(_), TimeUnit::Microsecond) => a
            .as_primitive::<Time64MicrosecondType>()
            .unary(|v| v * 1_000),
        (DataType::Time64(_), TimeUnit::Nanosecond) => {
            a.as_primitive::<Time64NanosecondType>().unary(|v| v)
        }
        _ => return Err(NormalizeError::Unsupported),
    };
    Ok(Arc::new(out))
}

/// Durations as nanoseconds; a duration beyond about 292 years is an error.
fn duration(a: &ArrayRef, unit: TimeUnit) -> Result<ArrayRef, NormalizeError> {
    let (values, nulls, factor): (Vec<i64>, _, i64) = match unit {
        TimeUnit::Second => {
            let d = a.as_primitive::<DurationSecondType>();
            (d.values().to_vec(), d.nulls().cloned(), 1_000_000_000)
        }
        TimeUnit::Millisecond => {
            let d = a.as_primitive::<DurationMillisecondType>();
            (d.values().to_vec(), d.nulls().cloned(), 1_000_000)
        }
        TimeUnit::Microsecond => {
            let d = a.as_primitive::<DurationMicrosecondType>();
            (d.values().to_vec(), d.nulls().cloned(), 1_000)
        }
        TimeUnit::Nanosecond => {
            let d = a.as_primitive::<DurationNanosecondType>();
            (d.values().to_vec(), d.nulls().cloned(), 1)
        }
    };
    let mut out = Vec::with_capacity(values.len());
    for (row, v) in values.into_iter().enumerate() {
        let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row));
        match v.checked_mul(factor) {
            Some(ns) => out.push(ns),
            None if !valid => out.push(0),
            None => {
                return Err(NormalizeError::Overflow {
                    row,
                    what: "a duration too long to count in nanoseconds",
                });
            }
        }
    }
    Ok(Arc::new(Int64Array::new(out.into(), nulls)))
}

/// Lowercase hex of every value of a binary array.
fn hex(a: &ArrayRef) -> Result<ArrayRef, NormalizeError> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes_of = |i: usize| -> &[u8] {
        match a.data_type() {
            DataType::Binary => a.as_binary::<i32>().value(i),
            DataType::LargeBinary => a.as_binary::<i64>().value(i),
            DataType::BinaryView => a.as_binary_view().value(i),
            _ => a.as_fixed_size_binary().value(i),
        }
    };
    if !matches!(
        a.data_type(),
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    ) {
        return Err(NormalizeError::Unsupported);
    }
    let mut text = String::new();
    let mut offsets = Vec::with_capacity(a.len() + 1);
    offsets.push(0i32);
    for i in 0..a.len() {
        if a.is_valid(i) {
            for &b in bytes_of(i) {
                text.push(DIGITS[usize::from(b >> 4)] as char);
                text.push(DIGITS[usize::from(b & 15)] as char);
            }
        }
        let end =
            i32::try_from(text.len()).map_err(|_| arrow("binary values too long for one batch"))?;
        offsets.push(end);
    }
    let strings = StringArray::try_new(
        arrow_buffer::OffsetBuffer::new(offsets.into()),
        text.into_bytes().into(),
        a.logical_nulls(),
    )
    .map_err(arrow)?;
    Ok(Arc::new(strings))
}

/// A dictionary of strings (or of binaries, as hex) as `Dictionary(Int32, Utf8)`.
fn string_dictionary(a: &ArrayRef) -> Result<ArrayRef, NormalizeError> {
    let target = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    if a.data_type() == &target {
        return Ok(a.clone());
    }
    let DataType::Dictionary(_, value) = a.data_type() else {
        return Err(NormalizeError::Unsupported);
    };
    if matches!(
        **value,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        return cast(a, &target).map_err(arrow);
    }
    // Binary values: re-key as Int32, hex the (few) dictionary entries.
    let rekeyed = cast(
        a,
        &DataType::Dictionary(Box::new(DataType::Int32), value.clone()),
    )
    .map_err(arrow)?;
    let d = rekeyed.as_dictionary::<Int32Type>();
    let values = hex(d.values())?;
    let out = DictionaryArray::<Int32Type>::try_new(d.keys().clone(), values).map_err(arrow)?;
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use arrow_array::types::Float64Type;
    use arrow_array::{
        Decimal128Array, DurationSecondArray, FixedSizeBinaryArray, Time32SecondArray, UInt64Array,
    };

    use super::*;

    #[test]
    fn unsigned_overflow_names_the_row_not_the_value() {
        let a: ArrayRef = Arc::new(UInt64Array::from(vec![Some(1), None, Some(u64::MAX)]));
        let e = normalize(&a, false).unwrap_err();
        assert!(
            matches!(e, NormalizeError::Overflow { row: 2, .. }),
            "{e:?}"
        );
        let ok: ArrayRef = Arc::new(UInt64Array::from(vec![Some(7), None]));
        let n = normalize(&ok, false).unwrap();
        assert_eq!(
            n.as_primitive::<arrow_array::types::Int64Type>().value(0),
            7
        );
        assert!(n.is_null(1));
    }

    #[test]
    fn decimals_become_floats_and_binaries_hex() {
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![12345, -5])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        let f = normalize(&d, false).unwrap();
        assert_eq!(f.as_primitive::<Float64Type>().values(), &[123.45, -0.05]);
        let b: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                vec![Some(vec![0xde, 0xad]), None].into_iter(),
                2,
            )
            .unwrap(),
        );
        let h = normalize(&b, false).unwrap();
        assert_eq!(h.as_string::<i32>().value(0), "dead");
        assert!(h.is_null(1));
    }

    #[test]
    fn times_and_durations_are_nanoseconds() {
        let t: ArrayRef = Arc::new(Time32SecondArray::from(vec![3600]));
        let n = normalize(&t, false).unwrap();
        assert_eq!(
            n.as_primitive::<arrow_array::types::Int64Type>().value(0),
            3_600_000_000_000
        );
        let long: ArrayRef = Arc::new(DurationSecondArray::from(vec![i64::MAX / 2]));
        assert!(matches!(
            normalize(&long, false),
            Err(NormalizeError::Overflow { row: 0, .. })
        ));
    }

    #[test]
    fn date64_rounds_down_to_whole_days() {
        let a: ArrayRef = Arc::new(arrow_array::Date64Array::from(vec![-1, 86_400_000]));
        let d = normalize(&a, false).unwrap();
        assert_eq!(
            d.as_primitive::<arrow_array::types::Date32Type>().values(),
            &[-1, 1]
        );
    }

    #[test]
    fn string_dictionaries_stay_dictionaries_only_when_asked() {
        let keys = arrow_array::Int8Array::from(vec![0, 1, 0]);
        let values = arrow_array::LargeStringArray::from(vec!["a", "b"]);
        let a: ArrayRef = Arc::new(
            DictionaryArray::<arrow_array::types::Int8Type>::try_new(keys, Arc::new(values))
                .unwrap(),
        );
        let d = normalize(&a, true).unwrap();
        assert_eq!(
            d.data_type(),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        );
        let p = normalize(&a, false).unwrap();
        assert_eq!(p.as_string::<i32>().value(2), "a");
    }
}
