//! Parquet from any writer: codecs, dictionary pages without an embedded
//! Arrow schema, plain-encoded strings, types Sluice cannot feed kept in
//! `none` columns, and unsigned overflow.

use std::sync::Arc;

use ::parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use ::parquet::file::properties::WriterProperties;
use arrow_array::builder::{Int64Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Float64Array, StringArray, UInt64Array};
use arrow_schema::DataType;

use super::parquet_file;
use crate::data::{ColumnType, Dataset, ScanColumn};
use crate::error::DataError;
use crate::policy::Policy;

fn regions(n: usize) -> ArrayRef {
    let names = ["north", "south", "east"];
    Arc::new(StringArray::from_iter_values((0..n).map(|i| names[i % 3])))
}

#[test]
fn every_codec_reads() {
    let dir = tempfile::tempdir().unwrap();
    for (name, codec) in [
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("lz4", Compression::LZ4_RAW),
        ("lz4-hadoop", Compression::LZ4),
        ("brotli", Compression::BROTLI(BrotliLevel::default())),
    ] {
        let props = WriterProperties::builder().set_compression(codec).build();
        let values: ArrayRef = Arc::new(Float64Array::from_iter_values((0..1000).map(f64::from)));
        let path = parquet_file(
            dir.path(),
            &format!("{name}.parquet"),
            vec![("v", values)],
            Some(props),
            false,
        );
        let d = Dataset::open(name, &path).unwrap();
        let rows: usize = d
            .read(&[0], 300)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 1000, "{name}");
    }
}

#[test]
fn dictionary_pages_are_read_as_dictionaries_whoever_wrote_them() {
    let dir = tempfile::tempdir().unwrap();
    // Dictionary pages, no Arrow schema embedded: how DuckDB and Polars write.
    let dict = parquet_file(
        dir.path(),
        "dict.parquet",
        vec![("r", regions(100))],
        None,
        true,
    );
    // Plain pages only.
    let plain_props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .build();
    let plain = parquet_file(
        dir.path(),
        "plain.parquet",
        vec![("r", regions(100))],
        Some(plain_props),
        true,
    );
    for path in [dict, plain] {
        let d = Dataset::open("d", &path).unwrap();
        assert_eq!(d.schema.field(0).data_type(), &DataType::Utf8);
        let col = [ScanColumn {
            index: 0,
            dictionary: true,
        }];
        let b = d.scan(&col, 64).unwrap().next().unwrap().unwrap();
        let a = b.column(0).as_dictionary::<Int32Type>();
        assert_eq!(a.values().len(), 3, "{}", path.display());
        let col = [ScanColumn {
            index: 0,
            dictionary: false,
        }];
        let b = d.scan(&col, 64).unwrap().next().unwrap().unwrap();
        assert_eq!(b.column(0).as_string::<i32>().value(1), "south");
    }
}

#[test]
fn nested_columns_may_exist_while_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let mut list = ListBuilder::new(Int64Builder::new());
    for i in 0..3 {
        list.values().append_value(i);
        list.append(true);
    }
    let list: ArrayRef = Arc::new(list.finish());
    let path = parquet_file(
        dir.path(),
        "n.parquet",
        vec![("tags", list), ("r", regions(3))],
        None,
        false,
    );
    let d = Dataset::open("n", &path).unwrap();
    assert!(d.column("tags").is_none());
    let hidden = Policy::parse("dataset = \"n\"\n[columns]\nr = \"raw\"\n").unwrap();
    assert!(d.check_policy(&hidden).is_ok());
    let rows: usize = d
        .read(&[1], 10)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 3);
    let shown = Policy::parse("dataset = \"n\"\n[columns]\ntags = \"aggregate\"\n").unwrap();
    let e = d.check_policy(&shown).unwrap_err();
    assert!(
        e.to_string()
            .contains("column `tags` is a list (List(Int64)"),
        "{e}"
    );
    assert!(e.to_string().contains("mark it `none`"), "{e}");
}

#[test]
fn unsigned_overflow_names_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let v: ArrayRef = Arc::new(UInt64Array::from(vec![1, 2, u64::MAX]));
    let path = parquet_file(dir.path(), "u.parquet", vec![("big", v)], None, false);
    let d = Dataset::open("u", &path).unwrap();
    assert_eq!(d.column("big").unwrap().1, ColumnType::Int64);
    let e = d.read(&[0], 10).unwrap().next().unwrap().unwrap_err();
    assert!(matches!(e, DataError::Overflow { row: 3, .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("column `big` holds an unsigned 64-bit value above 2^63 - 1"),
        "{text}"
    );
    assert!(!text.contains("18446744073709551615"), "{text}");
}

#[test]
fn binary_columns_read_as_hex_or_as_declared_text() {
    let dir = tempfile::tempdir().unwrap();
    let b: ArrayRef = Arc::new(arrow_array::BinaryArray::from_vec(vec![b"ab", b"\xff"]));
    let path = parquet_file(dir.path(), "b.parquet", vec![("b", b)], None, false);
    let d = Dataset::open("b", &path).unwrap();
    let batch = d.read(&[0], 10).unwrap().next().unwrap().unwrap();
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "6162");
    let t: ArrayRef = Arc::new(arrow_array::BinaryArray::from_vec(vec![b"ab", b"cd"]));
    let path = parquet_file(dir.path(), "t.parquet", vec![("t", t)], None, false);
    let d = Dataset::open("t", &path)
        .unwrap()
        .declare([("t", ColumnType::Utf8)])
        .unwrap();
    let batch = d.read(&[0], 10).unwrap().next().unwrap().unwrap();
    assert_eq!(batch.column(0).as_string::<i32>().value(1), "cd");
}
