//! Readers for the dataset file formats, each yielding bounded record
//! batches of only the requested columns.
//!
//! Defends the data in error messages: a reader's own error text quotes the
//! offending cell and often the whole row (values of `none` columns
//! included), and such a message would reach the guest and could reach the
//! buyer. [`sanitize`] keeps only the row and column numbers a reader
//! reports and names the column and its expected type from the schema; the
//! full text goes to the operator's log.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_csv::ReaderBuilder;
use arrow_csv::reader::Format as CsvFormat;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{ColumnType, Dataset, Format};
use crate::error::DataError;

/// A stream of record batches from one dataset.
pub type RecordBatches = Box<dyn Iterator<Item = Result<RecordBatch, DataError>> + Send>;

/// A schema-inference error: the CSV reader numbers file lines there.
fn decode(dataset: &str, e: impl std::fmt::Display) -> DataError {
    sanitize(dataset, None, "line", &e.to_string())
}

/// The number right after the first `word` in `text`.
fn number_after(text: &str, word: &str) -> Option<usize> {
    let start = text.find(word)? + word.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A reader error as guests and buyers may see it: where, and what was
/// expected, never a value. `schema` (the file's, as the reader used it)
/// names the column a reader gives by index; `unit` is what the reader's
/// numbers count (`row`: data rows from 1, as batch readers report them;
/// `line`: lines of the file, as schema inference does).
pub(super) fn sanitize(
    dataset: &str,
    schema: Option<&Schema>,
    unit: &str,
    text: &str,
) -> DataError {
    tracing::warn!(dataset, error = text, "dataset read failed");
    let line = number_after(text, "line ");
    let column = number_after(text, "column ")
        .and_then(|i| schema.and_then(|s| s.fields().get(i)))
        .map(|f| {
            let expected = ColumnType::of(f.data_type()).map_or_else(
                || f.data_type().to_string(),
                |t| format!("{t:?}").to_lowercase(),
            );
            (f.name().clone(), expected)
        });
    let message = match (line, column) {
        (Some(line), Some((name, expected)))
            if text.contains("parsing value") || text.contains("parsing column") =>
        {
            format!(
                "{unit} {line}, column `{name}`: a value is not a valid {expected}; fix the file, or declare the column's type in the policy"
            )
        }
        (Some(line), _) if text.contains(" fields") || text.contains("unequal lengths") => {
            format!("{unit} {line}: the row has a different number of fields than the header")
        }
        (Some(line), _) if text.contains("UTF-8") => {
            format!("{unit} {line}: the file holds bytes that are not valid UTF-8")
        }
        (Some(line), _) => format!(
            "{unit} {line}: the file could not be decoded (the operator's log has the reader's message)"
        ),
        (None, _) => "the file could not be decoded (the operator's log has the reader's message)"
            .to_string(),
    };
    DataError::Decode {
        dataset: dataset.into(),
        message,
    }
}

fn open(dataset: &str, path: &Path) -> Result<File, DataError> {
    File::open(path).map_err(|source| DataError::Io {
        dataset: dataset.into(),
        path: path.display().to_string(),
        source,
    })
}

/// The schema of the file at `path`. For CSV it is inferred from the whole
/// file (so a late row cannot break a run midway); types Sluice does not
/// feed, such as dates, are read as strings.
pub(super) fn read_schema(
    dataset: &str,
    path: &Path,
    format: Format,
) -> Result<SchemaRef, DataError> {
    let file = open(dataset, path)?;
    match format {
        Format::Csv => {
            let (schema, _) = CsvFormat::default()
                .with_header(true)
                .infer_schema(file, None)
                .map_err(|e| decode(dataset, format!("not valid CSV: {e}")))?;
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|f| {
                    let data_type = match ColumnType::of(f.data_type()) {
                        Some(_) => f.data_type().clone(),
                        None => DataType::Utf8,
                    };
                    Field::new(f.name(), data_type, true)
                })
                .collect();
            Ok(Arc::new(Schema::new(fields)))
        }
        Format::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| decode(dataset, format!("not valid Parquet: {e}")))?;
            Ok(builder.schema().clone())
        }
    }
}

/// Opens a streaming reader over `projection` (indices into the schema).
pub(super) fn open_reader(
    dataset: &Dataset,
    projection: &[usize],
    batch_rows: usize,
) -> Result<RecordBatches, DataError> {
    let name = dataset.name.clone();
    let schema = dataset.schema.clone();
    let failed = move |e: &dyn std::fmt::Display| {
        sanitize(&name, Some(schema.as_ref()), "row", &e.to_string())
    };
    let name = dataset.name.clone();
    let file = open(&name, &dataset.path)?;
    let batch_rows = batch_rows.max(1);
    match dataset.format {
        Format::Csv => {
            let reader = ReaderBuilder::new(dataset.schema.clone())
                .with_header(true)
                .with_batch_size(batch_rows)
                .with_projection(projection.to_vec())
                .build(file)
                .map_err(|e| failed(&e))?;
            Ok(Box::new(reader.map(move |r| r.map_err(|e| failed(&e)))))
        }
        Format::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| failed(&e))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), projection.iter().copied());
            let reader = builder
                .with_projection(mask)
                .with_batch_size(batch_rows)
                .build()
                .map_err(|e| failed(&e))?;
            Ok(Box::new(reader.map(move |r| r.map_err(|e| failed(&e)))))
        }
    }
}
