//! Parquet files from any writer: footers read once per file, columns
//! projected so unrequested (and `none`) columns are never decoded, and
//! string columns read straight from dictionary pages when a scan wants
//! dictionary codes, whatever schema the writer embedded.
//!
//! Defends against speed depending on who wrote the file. DuckDB, Polars
//! and Spark write dictionary pages but no Arrow schema saying so, so a
//! plain reader hands back every string; the reader here is told (through
//! arrow-rs's schema hint) to keep those pages as dictionaries, and
//! arrow-rs builds a dictionary itself for plain-encoded pages. Spark's
//! legacy INT96 timestamps are read in microseconds so dates far from 1970
//! (0001-01-01, 9999-12-31) do not overflow.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Type as PhysicalType;

use super::pinned::PinnedFile;

/// A Parquet file's footer, parsed once when the dataset is opened.
#[derive(Debug, Clone)]
pub(crate) struct ParquetMeta {
    meta: ArrowReaderMetadata,
    /// Root columns stored as INT96 timestamps.
    int96: Vec<usize>,
}

impl ParquetMeta {
    /// Reads the footer of `file`.
    pub(crate) fn load(file: &PinnedFile) -> Result<Self, String> {
        let meta = ArrowReaderMetadata::load(file, ArrowReaderOptions::new())
            .map_err(|e| format!("not valid Parquet: {e}"))?;
        let descr = meta.metadata().file_metadata().schema_descr();
        let mut int96: Vec<usize> = (0..descr.num_columns())
            .filter(|&leaf| descr.column(leaf).physical_type() == PhysicalType::INT96)
            .map(|leaf| descr.get_column_root_idx(leaf))
            .collect();
        int96.dedup();
        Ok(Self { meta, int96 })
    }

    /// The Arrow schema the file stores (or that its Parquet types imply).
    pub(crate) fn schema(&self) -> &SchemaRef {
        self.meta.schema()
    }

    /// The Arrow schema the file is read with: the stored one, with INT96
    /// timestamps in microseconds.
    pub(crate) fn read_schema(&self) -> SchemaRef {
        if self.int96.is_empty() {
            return self.schema().clone();
        }
        let fields: Vec<Field> = self
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match f.data_type() {
                DataType::Timestamp(TimeUnit::Nanosecond, None) if self.int96.contains(&i) => f
                    .as_ref()
                    .clone()
                    .with_data_type(DataType::Timestamp(TimeUnit::Microsecond, None)),
                _ => f.as_ref().clone(),
            })
            .collect();
        Arc::new(Schema::new_with_metadata(
            fields,
            self.schema().metadata().clone(),
        ))
    }

    /// Row groups in the file.
    pub(crate) fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// Rows in the file.
    pub(crate) fn rows(&self) -> u64 {
        self.meta.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// Null count of root column `index` from the row groups' statistics,
    /// `None` when a row group lacks them.
    pub(crate) fn null_count(&self, index: usize) -> Option<u64> {
        let descr = self.meta.metadata().file_metadata().schema_descr();
        let leaves: Vec<usize> = (0..descr.num_columns())
            .filter(|&l| descr.get_column_root_idx(l) == index)
            .collect();
        let [leaf] = leaves[..] else { return None };
        self.meta
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| rg.column(leaf).statistics()?.null_count_opt())
            .sum()
    }
}

/// How to read one root column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadAs {
    /// Root column index in the file.
    pub(crate) index: usize,
    /// Keep (or make) string data a dictionary.
    pub(crate) dictionary: bool,
    /// Read a binary column as UTF-8 text (the owner declared it `utf8`).
    pub(crate) text: bool,
}

/// The schema hint for `columns`, `None` if the stored schema will do.
fn hint(meta: &ParquetMeta, columns: &[ReadAs]) -> Option<SchemaRef> {
    let schema = meta.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut changed = false;
    for c in columns {
        let field = &mut fields[c.index];
        let stored = field.data_type().clone();
        let value = match &stored {
            DataType::Dictionary(_, v) => v.as_ref().clone(),
            other => other.clone(),
        };
        let wanted = match value {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if c.dictionary => {
                Some(dict(DataType::Utf8))
            }
            DataType::Binary | DataType::LargeBinary if c.text => Some(if c.dictionary {
                dict(DataType::Utf8)
            } else {
                DataType::Utf8
            }),
            DataType::Binary | DataType::LargeBinary if c.dictionary => Some(dict(value.clone())),
            DataType::Timestamp(TimeUnit::Nanosecond, None) if meta.int96.contains(&c.index) => {
                Some(DataType::Timestamp(TimeUnit::Microsecond, None))
            }
            _ => None,
        };
        if let Some(t) = wanted
            && t != stored
        {
            *field = field.clone().with_data_type(t);
            changed = true;
        }
    }
    changed.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

fn dict(value: DataType) -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(value))
}

/// The footer to read `columns` with: the stored one, or hinted to keep
/// strings as dictionaries (see the module docs).
pub(crate) fn prepared(meta: &ParquetMeta, columns: &[ReadAs]) -> ArrowReaderMetadata {
    let hinted = hint(meta, columns).and_then(|schema| {
        let options = ArrowReaderOptions::new().with_schema(schema);
        match ArrowReaderMetadata::try_new(meta.meta.metadata().clone(), options) {
            Ok(m) => Some(m),
            Err(e) => {
                // Falls back to the stored types: the host then builds
                // dictionaries itself. Only speed is lost.
                tracing::debug!(error = %e, "Parquet schema hint refused");
                None
            }
        }
    });
    hinted.unwrap_or_else(|| meta.meta.clone())
}

/// A reader of the root columns `columns` (file indices) of row group
/// `group` of `file`, with the footer `meta` from [`prepared`], in batches
/// of `batch_rows`; the batches hold the columns in file order, named as
/// stored.
pub(crate) fn reader(
    file: &PinnedFile,
    meta: &ArrowReaderMetadata,
    columns: &[usize],
    batch_rows: usize,
    group: usize,
) -> Result<ParquetRecordBatchReader, String> {
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file.clone(), meta.clone());
    let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
    builder
        .with_projection(mask)
        .with_row_groups(vec![group])
        .with_batch_size(batch_rows.max(1))
        .build()
        .map_err(|e| format!("cannot read Parquet: {e}"))
}
