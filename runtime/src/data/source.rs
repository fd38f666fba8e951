//! Readers for the dataset file formats, each yielding bounded record
//! batches of only the requested columns.

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

fn decode(dataset: &str, e: impl std::fmt::Display) -> DataError {
    DataError::Decode {
        dataset: dataset.into(),
        message: e.to_string(),
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
    let file = open(&name, &dataset.path)?;
    let batch_rows = batch_rows.max(1);
    match dataset.format {
        Format::Csv => {
            let reader = ReaderBuilder::new(dataset.schema.clone())
                .with_header(true)
                .with_batch_size(batch_rows)
                .with_projection(projection.to_vec())
                .build(file)
                .map_err(|e| decode(&name, e))?;
            Ok(Box::new(
                reader.map(move |r| r.map_err(|e| decode(&name, e))),
            ))
        }
        Format::Parquet => {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| decode(&name, e))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), projection.iter().copied());
            let reader = builder
                .with_projection(mask)
                .with_batch_size(batch_rows)
                .build()
                .map_err(|e| decode(&name, e))?;
            Ok(Box::new(
                reader.map(move |r| r.map_err(|e| decode(&name, e))),
            ))
        }
    }
}
