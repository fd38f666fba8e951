//! Decoding host batches: typed access, shape checks, dictionaries.

use super::*;
use crate::bindings::sluice::host::data::{Batch as WitBatch, ColumnData, Utf8Array};
use crate::bindings::sluice::host::data::{ColumnBatch, DictionaryArray};

fn strings(values: &[&str]) -> Utf8Array {
    let mut offsets = vec![0u32];
    let mut bytes = Vec::new();
    for v in values {
        bytes.extend_from_slice(v.as_bytes());
        offsets.push(bytes.len() as u32);
    }
    Utf8Array { offsets, bytes }
}

fn col(name: &str, validity: Option<Vec<u8>>, data: ColumnData) -> ColumnBatch {
    ColumnBatch {
        name: name.into(),
        validity,
        data,
    }
}

fn dict_batch(delta: &[&str], codes: Vec<u32>) -> WitBatch {
    let rows = codes.len() as u32;
    let data = ColumnData::Dictionary(DictionaryArray {
        dictionary_delta: strings(delta),
        codes,
    });
    WitBatch {
        rows,
        columns: vec![col("region", None, data)],
    }
}

#[test]
fn typed_access_and_type_errors() {
    let mut d = Decoder::default();
    let batch = d
        .decode(WitBatch {
            rows: 3,
            columns: vec![
                col(
                    "amount",
                    Some(vec![0b101]),
                    ColumnData::Float64(vec![1.0, f64::NAN, 2.0]),
                ),
                col("qty", None, ColumnData::Int64(vec![1, 2, 3])),
                col("returned", None, ColumnData::Boolean(vec![0, 1, 0])),
                col("note", None, ColumnData::Utf8(strings(&["a", "", "çé"]))),
            ],
        })
        .unwrap();
    assert_eq!(batch.rows(), 3);
    assert_eq!(
        batch.f64("amount").unwrap().iter().collect::<Vec<_>>(),
        [Some(1.0), None, Some(2.0)]
    );
    assert_eq!(batch.numeric("qty").unwrap().values(), [1.0, 2.0, 3.0]);
    assert_eq!(batch.bool("returned").unwrap().get(1), Some(true));
    assert_eq!(batch.utf8("note").unwrap().get(2), Some("çé"));
    let e = batch.i64("amount").unwrap_err();
    assert_eq!(e, Error::invalid("column `amount` is float64, not int64"));
    assert!(matches!(batch.f64("nope"), Err(Error::Invalid(m)) if m.contains("no column `nope`")));
}

#[test]
fn dictionaries_accumulate_and_codes_stay_stable() {
    let mut d = Decoder::default();
    let first = d
        .decode(dict_batch(&["north", "south"], vec![0, 1, 1]))
        .unwrap();
    let second = d.decode(dict_batch(&["east"], vec![2, 0])).unwrap();
    assert_eq!(first.dict("region").unwrap().dictionary.len(), 2);
    let region = second.dict("region").unwrap();
    assert_eq!(region.dictionary, ["north", "south", "east"]);
    assert_eq!(
        region.iter().collect::<Vec<_>>(),
        [Some("east"), Some("north")]
    );
}

#[test]
fn dates_and_timestamps_decode_with_unit_and_zone() {
    use crate::bindings::sluice::host::data::TimestampArray;
    use crate::time::TimeUnit;
    let mut d = Decoder::default();
    let batch = d
        .decode(WitBatch {
            rows: 2,
            columns: vec![
                col("day", Some(vec![0b01]), ColumnData::Date(vec![19_753, 7])),
                col(
                    "at",
                    None,
                    ColumnData::Timestamp(TimestampArray {
                        unit: TimeUnit::Millisecond,
                        zone: Some("UTC".into()),
                        values: vec![86_400_000, -1],
                    }),
                ),
            ],
        })
        .unwrap();
    assert_eq!(
        batch.date("day").unwrap().iter().collect::<Vec<_>>(),
        [Some(19_753), None]
    );
    let at = batch.timestamp("at").unwrap();
    assert_eq!((at.unit, at.zone), (TimeUnit::Millisecond, Some("UTC")));
    assert_eq!(batch.days("at").unwrap().values.as_ref(), [1, -1]);
    let day = batch.days("day").unwrap();
    assert_eq!(
        (day.values.as_ref(), day.validity),
        (&[19_753, 7][..], Some(&[0b01u8][..]))
    );
    let e = batch.timestamp("day").unwrap_err();
    assert_eq!(e, Error::invalid("column `day` is date, not timestamp"));
    let short = WitBatch {
        rows: 3,
        columns: vec![col("day", None, ColumnData::Date(vec![1]))],
    };
    assert!(d.decode(short).is_err());
}

#[test]
fn malformed_batches_are_refused() {
    let mut d = Decoder::default();
    assert!(d.decode(dict_batch(&["x"], vec![0, 3])).is_err());
    let short = WitBatch {
        rows: 3,
        columns: vec![col("x", None, ColumnData::Int64(vec![1]))],
    };
    assert!(d.decode(short).is_err());
    let bits = WitBatch {
        rows: 9,
        columns: vec![col("x", Some(vec![0xFF]), ColumnData::Int64(vec![1; 9]))],
    };
    assert!(d.decode(bits).is_err());
    let bad = Utf8Array {
        offsets: vec![0, 1],
        bytes: vec![0xFF],
    };
    let utf = WitBatch {
        rows: 1,
        columns: vec![col("x", None, ColumnData::Utf8(bad))],
    };
    assert!(d.decode(utf).is_err());
}

#[test]
fn null_rows_may_carry_out_of_range_codes() {
    let mut d = Decoder::default();
    let data = ColumnData::Dictionary(DictionaryArray {
        dictionary_delta: strings(&["x"]),
        codes: vec![0, 99],
    });
    let batch = d
        .decode(WitBatch {
            rows: 2,
            columns: vec![col("r", Some(vec![0b01]), data)],
        })
        .unwrap();
    assert_eq!(batch.dict("r").unwrap().codes, [0, 0]);
}
