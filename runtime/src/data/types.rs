//! Column types: the six types guests see, and how every flat Arrow type a
//! Parquet or CSV reader produces maps onto them.
//!
//! Defends against a file being refused, or worse misread, because of who
//! wrote it: integers of every width and sign, half/single/double floats,
//! decimals, dates and timestamps of every unit and zone, times of day,
//! durations, large and view strings, binaries and dictionaries of any of
//! these all have one documented Sluice type. Types with no flat meaning
//! (lists, structs, maps, intervals, unions) have none: such a column may
//! sit in a dataset as long as its policy leaves it `none`, because it is
//! then never decoded.

use arrow_schema::{DataType, TimeUnit};

/// The logical type of a column as guests see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// 64-bit signed integers (also every narrower or unsigned integer,
    /// times of day and durations as nanoseconds).
    Int64,
    /// 64-bit floats (also half and single floats and decimals).
    Float64,
    /// Booleans.
    Boolean,
    /// UTF-8 strings (plain or as dictionary codes; binaries as hex).
    Utf8,
    /// Calendar dates: days since 1970-01-01.
    Date,
    /// Timestamps: a count of a time unit since 1970-01-01T00:00:00, with
    /// the zone the writer recorded (see [`timestamp_of`]).
    Timestamp,
}

impl ColumnType {
    /// The type's name as policies and messages write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Int64 => "int64",
            Self::Float64 => "float64",
            Self::Boolean => "boolean",
            Self::Utf8 => "utf8",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
        }
    }

    /// The Arrow type a CSV column declared or inferred as this type is
    /// read as. CSV timestamps are read in microseconds, which keeps
    /// sentinel dates such as 9999-12-31 in range.
    pub fn arrow_type(self) -> DataType {
        match self {
            Self::Int64 => DataType::Int64,
            Self::Float64 => DataType::Float64,
            Self::Boolean => DataType::Boolean,
            Self::Utf8 => DataType::Utf8,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }

    /// The Sluice type of a stored Arrow type, `None` if Sluice cannot feed
    /// it (nested and interval types).
    pub fn of(data_type: &DataType) -> Option<Self> {
        use DataType::*;
        match data_type {
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Some(Self::Int64),
            Time32(_) | Time64(_) | Duration(_) => Some(Self::Int64),
            Float16 | Float32 | Float64 => Some(Self::Float64),
            Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Some(Self::Float64),
            Boolean => Some(Self::Boolean),
            Utf8 | LargeUtf8 | Utf8View | Null => Some(Self::Utf8),
            Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Some(Self::Utf8),
            Date32 | Date64 => Some(Self::Date),
            Timestamp(_, _) => Some(Self::Timestamp),
            Dictionary(_, value) => Self::of(value),
            _ => None,
        }
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The unit and zone of a timestamp column's stored Arrow type (through
/// a dictionary, if any); `None` for other types.
pub fn timestamp_of(data_type: &DataType) -> Option<(TimeUnit, Option<&str>)> {
    match data_type {
        DataType::Timestamp(unit, zone) => Some((*unit, zone.as_deref())),
        DataType::Dictionary(_, value) => timestamp_of(value),
        _ => None,
    }
}

/// Whether a stored type holds strings (or bytes fed as hex strings), so
/// that a scan may ask for it as dictionary codes.
pub(crate) fn is_string_like(data_type: &DataType) -> bool {
    ColumnType::of(data_type) == Some(ColumnType::Utf8)
}

/// A short, owner-facing description of why a type cannot be fed.
pub(crate) fn unsupported_reason(data_type: &DataType) -> String {
    let kind = match data_type {
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::FixedSizeList(..) => "a list",
        DataType::Struct(_) => "a struct",
        DataType::Map(..) => "a map",
        DataType::Union(..) => "a union",
        DataType::Interval(_) => "an interval",
        _ => "a type Sluice does not feed",
    };
    format!("{kind} ({data_type})")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::Field;

    use super::*;

    #[test]
    fn every_flat_parquet_type_has_a_sluice_type() {
        use DataType::*;
        let dict = |v: DataType| Dictionary(Box::new(Int32), Box::new(v));
        let cases = [
            (UInt64, ColumnType::Int64),
            (Int8, ColumnType::Int64),
            (Time64(TimeUnit::Nanosecond), ColumnType::Int64),
            (Duration(TimeUnit::Second), ColumnType::Int64),
            (Float16, ColumnType::Float64),
            (Decimal128(10, 2), ColumnType::Float64),
            (Decimal256(40, 5), ColumnType::Float64),
            (LargeUtf8, ColumnType::Utf8),
            (Utf8View, ColumnType::Utf8),
            (FixedSizeBinary(16), ColumnType::Utf8),
            (dict(LargeUtf8), ColumnType::Utf8),
            (dict(Int64), ColumnType::Int64),
            (Date64, ColumnType::Date),
            (
                Timestamp(TimeUnit::Millisecond, Some("Europe/Berlin".into())),
                ColumnType::Timestamp,
            ),
        ];
        for (arrow, sluice) in cases {
            assert_eq!(ColumnType::of(&arrow), Some(sluice), "{arrow}");
        }
    }

    #[test]
    fn nested_types_have_none_and_say_what_they_are() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert_eq!(ColumnType::of(&list), None);
        assert!(unsupported_reason(&list).starts_with("a list"));
        let map = DataType::Struct(vec![Field::new("a", DataType::Int64, true)].into());
        assert!(unsupported_reason(&map).starts_with("a struct"));
    }

    #[test]
    fn timestamps_report_unit_and_zone() {
        let t = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(timestamp_of(&t), Some((TimeUnit::Microsecond, Some("UTC"))));
        assert_eq!(timestamp_of(&DataType::Date32), None);
    }
}
