//! Datasets of many files, hive partitions, snapshots remembered by file
//! identity, and files modified while they are read.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;

use super::write;
use crate::data::snapshot::{FileFacts, FileIdentity, MemoError, MemorySnapshotMemo, SnapshotMemo};
use crate::data::{ColumnType, Dataset, OpenOptions, ScanColumn};
use crate::error::DataError;

fn hive(dir: &std::path::Path) {
    write(
        dir,
        "region=north/year=2024/part-0.csv",
        b"amount\n1.5\n2.5\n",
    );
    write(dir, "region=south/year=2023/part-0.csv", b"amount\n4\n");
    write(dir, "region=south/year=2023/_SUCCESS", b"");
}

#[test]
fn a_folder_of_files_is_one_dataset_with_partition_columns() {
    let dir = tempfile::tempdir().unwrap();
    hive(dir.path());
    let d = Dataset::open("h", dir.path()).unwrap();
    assert_eq!(
        d.files(),
        [
            "region=north/year=2024/part-0.csv",
            "region=south/year=2023/part-0.csv"
        ]
    );
    let names: Vec<&str> = d
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["amount", "region", "year"]);
    assert_eq!(
        d.column("amount").unwrap().1,
        ColumnType::Float64,
        "4 in one file, 1.5 in another"
    );
    assert_eq!(d.column("year").unwrap().1, ColumnType::Int64);
    assert_eq!(d.column("region").unwrap().1, ColumnType::Utf8);
    let expected = crate::data::snapshot::list_hash(
        d.inner
            .files
            .iter()
            .map(|f| (f.relative.as_str(), f.sha256.as_str())),
    );
    assert_eq!(d.snapshot, expected);
    let cols = [
        ScanColumn {
            index: 2,
            dictionary: false,
        },
        ScanColumn {
            index: 1,
            dictionary: true,
        },
    ];
    let batches: Vec<_> = d.scan(&cols, 10).unwrap().map(Result::unwrap).collect();
    assert_eq!(batches.len(), 2, "batches never span files");
    let year = batches[1].column(0).as_primitive::<Int64Type>();
    assert_eq!(year.value(0), 2023);
    assert!(matches!(
        batches[1].column(1).data_type(),
        arrow_schema::DataType::Dictionary(_, _)
    ));
    // A glob picks some files; the snapshot changes with the file list.
    let g = Dataset::open("h", &dir.path().join("region=south/*/*.csv")).unwrap();
    assert_eq!(g.files().len(), 1);
    assert_ne!(g.snapshot, d.snapshot);
}

#[test]
fn files_must_share_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", b"x,y\n1,2\n");
    write(dir.path(), "b.csv", b"x,z\n1,2\n");
    let e = Dataset::open("m", dir.path()).unwrap_err();
    assert!(
        matches!(e, DataError::SchemaMismatch { ref file, .. } if file == "b.csv"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "k=1/a.csv", b"x\n1\n");
    write(dir.path(), "b.csv", b"x\n1\n");
    let e = Dataset::open("m", dir.path()).unwrap_err();
    assert!(e.to_string().contains("same key=value folders"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", b"x\n1\n");
    write(dir.path(), "b.parquet", b"");
    let e = Dataset::open("m", dir.path()).unwrap_err();
    assert!(e.to_string().contains("mixes file formats"), "{e}");
}

/// A memo that counts what it is asked.
#[derive(Default)]
struct Counting {
    inner: MemorySnapshotMemo,
    gets: AtomicUsize,
    puts: AtomicUsize,
}

impl SnapshotMemo for Counting {
    fn get(&self, id: &FileIdentity) -> Result<Option<FileFacts>, MemoError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id)
    }
    fn put(&self, id: &FileIdentity, facts: &FileFacts) -> Result<(), MemoError> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put(id, facts)
    }
}

#[test]
fn a_file_is_hashed_once_per_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.csv", b"x\n1\n");
    let memo = Arc::new(Counting::default());
    let options = OpenOptions {
        memo: Some(memo.clone()),
        ..OpenOptions::default()
    };
    let first = Dataset::open_with("a", &path, &options).unwrap();
    let again = Dataset::open_with("a", &path, &options).unwrap();
    assert_eq!(first.snapshot, again.snapshot);
    assert_eq!(
        memo.puts.load(Ordering::SeqCst),
        1,
        "the second open recalled it"
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"2\n")
        .unwrap();
    let changed = Dataset::open_with("a", &path, &options).unwrap();
    assert_eq!(
        memo.puts.load(Ordering::SeqCst),
        2,
        "a changed file is hashed again"
    );
    assert_ne!(changed.snapshot, first.snapshot);
    // Different CSV options need new inference but not a new hash.
    let semicolons = OpenOptions {
        csv: crate::data::CsvOptions {
            delimiter: Some(b';'),
            ..Default::default()
        },
        ..options.clone()
    };
    let d = Dataset::open_with("a", &path, &semicolons).unwrap();
    assert_eq!(d.snapshot, changed.snapshot);
}

#[test]
fn a_file_modified_while_read_stops_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x\n");
    for i in 0..100 {
        text.push_str(&format!("{i}\n"));
    }
    let path = write(dir.path(), "a.csv", text.as_bytes());
    let d = Dataset::open("a", &path).unwrap();
    let mut reader = d.read(&[0], 10).unwrap();
    assert!(reader.next().unwrap().is_ok());
    assert!(d.unchanged().is_ok());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"100\n")
        .unwrap();
    let e = reader.next().unwrap().unwrap_err();
    assert!(
        matches!(e, DataError::Changed { ref file, .. } if file == "a.csv"),
        "{e}"
    );
    assert!(reader.next().is_none(), "nothing more is read");
    assert!(d.unchanged().is_err());
}
