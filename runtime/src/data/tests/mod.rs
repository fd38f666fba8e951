//! Tests of the data layer: opening, inference, multi-file layouts,
//! snapshots, reads, encoding and decode-ahead.

mod basics;
mod csv;
mod feed;
mod layout;
mod parquet;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};

/// Writes `text` to `dir/name` (creating folders) and returns the path.
pub(super) fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes `columns` as a Parquet file with `props`.
pub(super) fn parquet_file(
    dir: &Path,
    name: &str,
    columns: Vec<(&str, ArrayRef)>,
    props: Option<::parquet::file::properties::WriterProperties>,
    skip_arrow_metadata: bool,
) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch =
        RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect()).unwrap();
    let options = ::parquet::arrow::arrow_writer::ArrowWriterOptions::new()
        .with_properties(props.unwrap_or_default())
        .with_skip_arrow_metadata(skip_arrow_metadata);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = ::parquet::arrow::ArrowWriter::try_new_with_options(file, schema, options).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}
