//! Opening single files, declarations, bounded reads and batch encoding.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, DictionaryArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use sha2::{Digest, Sha256};
use sluice_host_api::data::ColumnData;

use crate::data::{BatchEncoder, ColumnType, Dataset, FedBatch};

fn csv(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("d.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn snapshot_is_the_sha256_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = csv(&dir, "a,b\n1,x\n");
    let d = Dataset::open("d", &path).unwrap();
    assert_eq!(d.snapshot, hex::encode(Sha256::digest(b"a,b\n1,x\n")));
    assert_eq!(d.size_bytes, 8);
}

#[test]
fn csv_types_are_inferred_from_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,score,flag,zip\n");
    for i in 0..5000 {
        text.push_str(&format!("{i},{i},true,0{i:04}\n"));
    }
    text.push_str("5000,2.5,false,09999\n");
    let d = Dataset::open("d", &csv(&dir, &text)).unwrap();
    assert_eq!(d.column("id").unwrap().1, ColumnType::Int64);
    assert_eq!(
        d.column("score").unwrap().1,
        ColumnType::Float64,
        "a late float makes the column float"
    );
    assert_eq!(d.column("flag").unwrap().1, ColumnType::Boolean);
    assert_eq!(d.column("zip").unwrap().1, ColumnType::Int64);
}

#[test]
fn declared_types_override_csv_inference() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dataset::open("d", &csv(&dir, "zip,n\n01234,1\n98765,2\n"))
        .unwrap()
        .declare([("zip", ColumnType::Utf8), ("n", ColumnType::Float64)])
        .unwrap();
    let (idx, t) = d.column("zip").unwrap();
    assert_eq!(t, ColumnType::Utf8);
    let batch = d.read(&[idx], 10).unwrap().next().unwrap().unwrap();
    let zips = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(zips.value(0), "01234", "leading zeros survive");
    assert_eq!(d.column("n").unwrap().1, ColumnType::Float64);
}

#[test]
fn declaring_a_missing_column_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Dataset::open("d", &csv(&dir, "a\n1\n"))
        .unwrap()
        .declare([("b", ColumnType::Utf8)])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "dataset d: the policy's type for column `b`: the dataset has no such column; fix the name or remove the declaration"
    );
}

#[test]
fn parquet_declarations_must_match_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Float64Array::from(vec![1.0, 2.0]))],
    )
    .unwrap();
    let mut w =
        ::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let d = Dataset::open("d", &path).unwrap();
    assert!(d.clone().declare([("x", ColumnType::Float64)]).is_ok());
    let e = d.declare([("x", ColumnType::Utf8)]).unwrap_err();
    assert!(
        e.to_string()
            .contains("column `x`: it is declared utf8 but the Parquet file stores Float64"),
        "{e}"
    );
}

#[test]
fn unknown_extensions_and_missing_files_are_refused() {
    let e = Dataset::open("d", Path::new("/tmp/whatever.xlsx")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "dataset d: unsupported file /tmp/whatever.xlsx; use .parquet files or .csv/.tsv files (optionally .gz)"
    );
    let e = Dataset::open("d", Path::new("/nonexistent/d.csv")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("dataset d: cannot read /nonexistent"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let e = Dataset::open("d", &dir.path().join("missing.csv")).unwrap_err();
    assert!(e.to_string().contains("missing.csv"), "{e}");
}

#[test]
fn reads_are_bounded_batches_of_the_projection() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a,b,c\n");
    for i in 0..1000 {
        text.push_str(&format!("{i},{},{i}\n", i * 2));
    }
    let d = Dataset::open("d", &csv(&dir, &text)).unwrap();
    let batches: Vec<_> = d.read(&[1], 300).unwrap().map(Result::unwrap).collect();
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [300, 300, 300, 100]
    );
    assert!(
        batches
            .iter()
            .all(|b| b.num_columns() == 1 && b.schema().field(0).name() == "b")
    );
}

fn dict_batch(values: &[&str], keys: &[i32]) -> RecordBatch {
    let dict = DictionaryArray::<Int32Type>::try_new(
        keys.to_vec().into(),
        Arc::new(StringArray::from(values.to_vec())),
    )
    .unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "r",
        dict.data_type().clone(),
        true,
    )]));
    RecordBatch::try_new(schema, vec![Arc::new(dict)]).unwrap()
}

fn dict_of(fed: &FedBatch) -> (Vec<String>, Vec<u32>) {
    let ColumnData::Dictionary(d) = &fed.batch.columns[0].data else {
        panic!("not a dictionary")
    };
    let o = &d.dictionary_delta.offsets;
    let strings = (0..o.len() - 1)
        .map(|i| {
            String::from_utf8(d.dictionary_delta.bytes[o[i] as usize..o[i + 1] as usize].to_vec())
                .unwrap()
        })
        .collect();
    (strings, d.codes.clone())
}

#[test]
fn dictionary_codes_are_stable_across_batches_and_deltas_carry_only_new_entries() {
    let mut enc = BatchEncoder::new(vec!["r".into()]);
    let first = enc
        .encode(&dict_batch(&["north", "south"], &[0, 1, 1]))
        .unwrap();
    assert_eq!(
        dict_of(&first),
        (vec!["north".into(), "south".into()], vec![0, 1, 1])
    );
    let second = enc
        .encode(&dict_batch(&["south", "east", "north"], &[2, 1, 0]))
        .unwrap();
    assert_eq!(dict_of(&second), (vec!["east".into()], vec![0, 2, 1]));
    assert_eq!(second.bytes, 3 * 4 + 2 * 4 + 4);
}

#[test]
fn validity_is_a_bitmap_only_when_there_are_nulls() {
    let mut enc = BatchEncoder::new(vec!["x".into()]);
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    let dense = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Float64Array::from(vec![1.0, 2.0]))],
    )
    .unwrap();
    assert!(
        enc.encode(&dense).unwrap().batch.columns[0]
            .validity
            .is_none()
    );
    let mut values: Vec<Option<f64>> = (0..10).map(|i| Some(i as f64)).collect();
    values[3] = None;
    let sparse = RecordBatch::try_new(schema, vec![Arc::new(Float64Array::from(values))]).unwrap();
    let v = enc.encode(&sparse).unwrap().batch.columns[0]
        .validity
        .clone()
        .unwrap();
    assert_eq!(v, [0b1111_0111, 0b0000_0011]);
}

#[test]
fn errors_a_guest_may_see_never_quote_cells_rows_or_partition_folders() {
    use crate::refusal::Refusal;
    let dir = tempfile::tempdir().unwrap();
    let ragged = csv(&dir, "a,b\n1,SECRET-X\nSECRET-Y\n");
    let e = Dataset::open("d", &ragged).map(|_| ()).unwrap_err();
    let guest = Refusal::from(e);
    assert!(
        guest.message.starts_with("dataset d: "),
        "{}",
        guest.message
    );
    assert!(!guest.message.contains("SECRET"), "{}", guest.message);
    assert_eq!(guest.public, guest.message);

    let folder = dir.path().join("h");
    for (region, text) in [
        ("SECRET-NORTH", "v\n1\n2\n"),
        ("south", "v\n3\nSECRET-CELL\n"),
    ] {
        let path = folder.join(format!("region={region}")).join("part.csv");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let e = Dataset::open("h", &folder)
        .unwrap()
        .declare([("v", ColumnType::Int64)])
        .unwrap_err();
    assert!(e.to_string().contains("region=south/part.csv"), "{e}");
    let guest = Refusal::from(e);
    assert!(
        guest.message.starts_with(
            "dataset h: file part.csv, row 2, column `v`: the value is not a valid int64"
        ),
        "{}",
        guest.message
    );
    assert!(!guest.message.contains("SECRET") && !guest.message.contains("region="));
}
