//! CSV as people write it: R's `NA`, declared types, gzip, dialects,
//! dates and timestamps, and what `inspect` reports.

use std::io::Write;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, TimestampMicrosecondType};
use arrow_schema::{DataType, TimeUnit};

use super::write;
use crate::data::{ColumnType, CsvOptions, Dataset, OpenOptions, inspect};
use crate::error::DataError;

const R_STYLE: &str = "\"id\",\"region\",\"amount\",\"returned\",\"day\"\n\
1,\"north\",12.5,FALSE,\"2024-01-31\"\n\
2,\"south\",NA,TRUE,NA\n\
3,NA,7,FALSE,\"2024-02-01\"\n";

#[test]
fn r_style_na_is_null_in_numbers_and_a_value_in_strings() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dataset::open("r", &write(dir.path(), "r.csv", R_STYLE.as_bytes())).unwrap();
    assert_eq!(d.column("id").unwrap().1, ColumnType::Int64);
    assert_eq!(d.column("amount").unwrap().1, ColumnType::Float64);
    assert_eq!(d.column("returned").unwrap().1, ColumnType::Boolean);
    assert_eq!(d.column("day").unwrap().1, ColumnType::Date);
    assert_eq!(d.column("region").unwrap().1, ColumnType::Utf8);
    let idx: Vec<usize> = ["region", "amount", "day"]
        .iter()
        .map(|c| d.column(c).unwrap().0)
        .collect();
    let b = d.read(&idx, 100).unwrap().next().unwrap().unwrap();
    let amount = b
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(
        (amount.value(0), amount.is_null(1), amount.value(2)),
        (12.5, true, 7.0)
    );
    let day = b
        .column_by_name("day")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!((day.value(0), day.is_null(1)), (19_753, true));
    let region = b.column_by_name("region").unwrap().as_string::<i32>();
    assert_eq!(
        region.value(2),
        "NA",
        "a string column keeps NA unless told"
    );

    let opts = OpenOptions {
        csv: CsvOptions {
            string_null_values: vec!["NA".into()],
            ..CsvOptions::default()
        },
        memo: None,
    };
    let d = Dataset::open_with("r", &dir.path().join("r.csv"), &opts).unwrap();
    let b = d.read(&[1], 100).unwrap().next().unwrap().unwrap();
    assert!(b.column(0).is_null(2));
}

#[test]
fn a_declared_type_is_checked_when_opened_and_errors_never_quote_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "s.csv", b"v\n1\n2\nsecret-value\n");
    let d = Dataset::open("s", &path).unwrap();
    assert_eq!(d.column("v").unwrap().1, ColumnType::Utf8);
    let e = d.declare([("v", ColumnType::Float64)]).unwrap_err();
    assert!(matches!(e, DataError::Rejected { row: 3, .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("file s.csv, row 3, column `v`: the value is not a valid float64"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn gzip_files_are_read_and_hashed_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(R_STYLE.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let path = write(dir.path(), "r.csv.gz", &bytes);
    let d = Dataset::open("r", &path).unwrap();
    assert_eq!(
        d.snapshot,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    assert_eq!(d.column("amount").unwrap().1, ColumnType::Float64);
    let rows: usize = d
        .read(&[0], 2)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 3);
}

#[test]
fn dialects_tabs_and_headerless_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dataset::open("t", &write(dir.path(), "t.tsv", b"a\tb\n1\tx,y\n")).unwrap();
    let b = d.read(&[1], 10).unwrap().next().unwrap().unwrap();
    assert_eq!(b.column(0).as_string::<i32>().value(0), "x,y");
    let opts = OpenOptions {
        csv: CsvOptions {
            delimiter: Some(b';'),
            quote: b'\'',
            header: false,
            null_values: vec!["-".into()],
            ..CsvOptions::default()
        },
        memo: None,
    };
    let path = write(dir.path(), "s.csv", b"1;'a;b'\n-;'c'\n");
    let d = Dataset::open_with("s", &path, &opts).unwrap();
    let names: Vec<&str> = d
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["column_1", "column_2"]);
    assert_eq!(d.column("column_1").unwrap().1, ColumnType::Int64);
    let b = d.read(&[0, 1], 10).unwrap().next().unwrap().unwrap();
    assert!(b.column(0).is_null(1));
    assert_eq!(b.column(1).as_string::<i32>().value(0), "a;b");
}

#[test]
fn timestamps_with_and_without_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let text = "utc,local,mixed\n2024-01-01T00:00:00Z,2024-01-01 12:00:00,2024-01-01T00:00Z\n2024-01-01T01:00:00+01:00,2024-01-02 00:00:00.5,2024-01-01 00:00\n";
    let d = Dataset::open("t", &write(dir.path(), "t.csv", text.as_bytes())).unwrap();
    assert_eq!(
        d.schema.field(0).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        d.schema.field(1).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(
        d.column("mixed").unwrap().1,
        ColumnType::Utf8,
        "offsets mixed with none"
    );
    let b = d.read(&[0, 1], 10).unwrap().next().unwrap().unwrap();
    let utc = b.column(0).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(utc.value(0), utc.value(1), "the same instant");
    let local = b.column(1).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(local.value(1) - local.value(0), 43_200_500_000);
}

#[test]
fn inspect_reports_types_nulls_and_the_value_that_made_a_column_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("n,score,note\n");
    for i in 0..50 {
        text.push_str(&format!("{i},{}.5,x\n", i));
    }
    text.push_str("50,n/a,\n51,NA,y\n");
    let path = write(dir.path(), "i.csv", text.as_bytes());
    let report = inspect(&path, &OpenOptions::default()).unwrap();
    assert_eq!(report.rows, 52);
    let score = &report.columns[1];
    assert_eq!(score.column_type, Some(ColumnType::Utf8));
    let r = score.rejected.as_ref().unwrap();
    assert_eq!(
        (r.not.as_str(), r.row, r.value.as_str()),
        ("float64", 51, "n/a")
    );
    assert_eq!(
        score.nulls,
        Some(0),
        "as a string column only empty fields are null"
    );
    let note = &report.columns[2];
    assert_eq!(note.nulls, Some(1));
    assert_eq!(report.columns[0].column_type, Some(ColumnType::Int64));
    assert!(report.columns[0].rejected.is_none());
}
