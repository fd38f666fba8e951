//! One scan across a dataset's files: each file's requested columns in
//! bounded batches, typed, normalised to the feed layouts, with partition
//! columns added, checked for change after every batch.
//!
//! Defends against mixing versions: after every batch the file's identity
//! is taken again from its descriptor, and a file modified since it was
//! identified ends the scan with [`DataError::Changed`] instead of handing
//! out rows of an unknown version. Errors name the file and its 1-based
//! row, never a value.

use std::sync::Arc;

use ::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReader};
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, Date32Array, DictionaryArray, Int32Array, Int64Array, RecordBatch,
    StringArray, new_null_array,
};
use arrow_schema::{DataType, Field, Schema};

use super::csv::{self, ConvertError};
use super::normalize::{NormalizeError, normalize};
use super::open::{DataFile, FileKind};
use super::parquet::{self, ReadAs};
use super::pinned::PinnedFile;
use super::types::is_string_like;
use super::{ColumnType, Dataset};
use crate::error::DataError;

/// A stream of record batches from one dataset.
pub type RecordBatches = Box<dyn Iterator<Item = Result<RecordBatch, DataError>> + Send>;

/// One column of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanColumn {
    /// Index in the dataset's schema.
    pub index: usize,
    /// Keep string data as dictionaries where the file stores it so.
    pub dictionary: bool,
}

type TextBatches = Box<dyn Iterator<Item = Result<RecordBatch, String>> + Send>;

enum FileBatches {
    Parquet(Box<RowGroups>),
    Csv(TextBatches),
}

/// A Parquet file read one row group at a time, so that no batch spans
/// two row groups: each row group has its own dictionary pages, and a
/// batch mixing two would make the reader turn both into plain strings
/// and hash them into a new dictionary.
struct RowGroups {
    file: PinnedFile,
    meta: ArrowReaderMetadata,
    groups: usize,
    columns: Vec<usize>,
    batch_rows: usize,
    next: usize,
    current: Option<ParquetRecordBatchReader>,
}

impl Iterator for RowGroups {
    type Item = Result<RecordBatch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(reader) = &mut self.current {
                match reader.next() {
                    Some(b) => return Some(b.map_err(|e| e.to_string())),
                    None => self.current = None,
                }
            }
            if self.next >= self.groups {
                return None;
            }
            let group = self.next;
            self.next += 1;
            match parquet::reader(
                &self.file,
                &self.meta,
                &self.columns,
                self.batch_rows,
                group,
            ) {
                Ok(r) => self.current = Some(r),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

struct Current {
    file: usize,
    batches: FileBatches,
    /// Rows already read from this file.
    rows: u64,
}

struct Scan {
    ds: Dataset,
    columns: Vec<ScanColumn>,
    batch_rows: usize,
    next_file: usize,
    current: Option<Current>,
    failed: bool,
}

pub(super) fn scan(
    ds: &Dataset,
    columns: &[ScanColumn],
    batch_rows: usize,
) -> Result<RecordBatches, DataError> {
    for c in columns {
        let field = ds
            .schema
            .fields()
            .get(c.index)
            .ok_or_else(|| DataError::Decode {
                dataset: ds.name.clone(),
                message: format!("column index {} is out of range", c.index),
            })?;
        if ColumnType::of(field.data_type()).is_none() {
            return Err(DataError::UnsupportedType {
                dataset: ds.name.clone(),
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            });
        }
    }
    Ok(Box::new(Scan {
        ds: ds.clone(),
        columns: columns.to_vec(),
        batch_rows: batch_rows.max(1),
        next_file: 0,
        current: None,
        failed: false,
    }))
}

impl Iterator for Scan {
    type Item = Result<RecordBatch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.step().transpose();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

impl Scan {
    fn step(&mut self) -> Result<Option<RecordBatch>, DataError> {
        loop {
            if self.current.is_none() {
                if self.next_file >= self.ds.inner.files.len() {
                    return Ok(None);
                }
                let file = self.next_file;
                self.next_file += 1;
                self.current = Some(Current {
                    file,
                    batches: self.open_file(file)?,
                    rows: 0,
                });
            }
            let Some(cur) = self.current.as_mut() else {
                continue;
            };
            let file = &self.ds.inner.files[cur.file];
            let next = match &mut cur.batches {
                FileBatches::Parquet(r) => r.next(),
                FileBatches::Csv(r) => r.next(),
            };
            let batch = match next {
                None => {
                    self.current = None;
                    continue;
                }
                Some(Err(detail)) => return Err(self.malformed(file, detail)),
                Some(Ok(b)) => b,
            };
            if !file.pinned.unchanged() {
                return Err(DataError::Changed {
                    dataset: self.ds.name.clone(),
                    file: file.relative.clone(),
                });
            }
            let first_row = cur.rows;
            cur.rows += batch.num_rows() as u64;
            let file_index = cur.file;
            return self.assemble(file_index, &batch, first_row).map(Some);
        }
    }

    fn malformed(&self, file: &DataFile, detail: String) -> DataError {
        DataError::Malformed {
            dataset: self.ds.name.clone(),
            file: file.relative.clone(),
            detail,
        }
    }

    fn file_columns(&self) -> impl Iterator<Item = &ScanColumn> {
        let n = self.ds.inner.file_columns;
        self.columns.iter().filter(move |c| c.index < n)
    }

    fn open_file(&self, index: usize) -> Result<FileBatches, DataError> {
        let file = &self.ds.inner.files[index];
        let schema = &self.ds.schema;
        match &file.kind {
            FileKind::Parquet(meta) => {
                let mut read: Vec<ReadAs> = Vec::new();
                for c in self.file_columns() {
                    let name = schema.field(c.index).name();
                    let at = meta
                        .schema()
                        .index_of(name)
                        .map_err(|_| self.malformed(file, format!("column `{name}` is missing")))?;
                    read.push(ReadAs {
                        index: at,
                        dictionary: c.dictionary,
                        text: self.ds.text_columns.contains(&c.index),
                    });
                }
                read.sort_by_key(|r| r.index);
                if read.is_empty() {
                    // Only partition columns: still one row per file row.
                    return Ok(FileBatches::Csv(counted_rows(meta.rows(), self.batch_rows)));
                }
                Ok(FileBatches::Parquet(Box::new(RowGroups {
                    file: file.pinned.clone(),
                    meta: parquet::prepared(meta, &read),
                    groups: meta.row_groups(),
                    columns: read.iter().map(|r| r.index).collect(),
                    batch_rows: self.batch_rows,
                    next: 0,
                    current: None,
                })))
            }
            FileKind::Csv(facts) => {
                let dialect = self
                    .ds
                    .inner
                    .csv
                    .as_ref()
                    .ok_or_else(|| self.malformed(file, "no CSV dialect".into()))?;
                let names: Vec<String> = facts.columns.iter().map(|c| c.name.clone()).collect();
                let mut projection: Vec<usize> = self.file_columns().map(|c| c.index).collect();
                projection.sort_unstable();
                projection.dedup();
                if projection.is_empty() {
                    return Ok(FileBatches::Csv(counted_rows(facts.rows, self.batch_rows)));
                }
                csv::text_batches(
                    &file.pinned,
                    dialect,
                    &names,
                    Some(projection),
                    self.batch_rows,
                )
                .map(|it| FileBatches::Csv(Box::new(it)))
                .map_err(|d| self.malformed(file, d))
            }
        }
    }

    /// The scan's columns, in order, from one file batch.
    fn assemble(
        &self,
        file_index: usize,
        batch: &RecordBatch,
        first_row: u64,
    ) -> Result<RecordBatch, DataError> {
        let file = &self.ds.inner.files[file_index];
        let rows = batch.num_rows();
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let field = self.ds.schema.field(c.index);
            let array = if c.index >= self.ds.inner.file_columns {
                let k = c.index - self.ds.inner.file_columns;
                constant(
                    field.data_type(),
                    file.partition[k].as_deref(),
                    rows,
                    c.dictionary,
                )
            } else {
                let raw = batch.column_by_name(field.name()).ok_or_else(|| {
                    self.malformed(file, format!("column `{}` is missing", field.name()))
                })?;
                let typed = match &file.kind {
                    FileKind::Csv(_) => self.csv_typed(file, raw, field, first_row)?,
                    FileKind::Parquet(_) => raw.clone(),
                };
                let dictionary = c.dictionary && is_string_like(typed.data_type());
                normalize(&typed, dictionary).map_err(|e| match e {
                    NormalizeError::Overflow { row, what } => DataError::Overflow {
                        dataset: self.ds.name.clone(),
                        file: file.relative.clone(),
                        row: first_row + row as u64 + 1,
                        column: field.name().clone(),
                        what: what.into(),
                    },
                    NormalizeError::Unsupported => DataError::UnsupportedType {
                        dataset: self.ds.name.clone(),
                        column: field.name().clone(),
                        data_type: typed.data_type().to_string(),
                    },
                    NormalizeError::Arrow(detail) => self.malformed(file, detail),
                })?
            };
            fields.push(Field::new(field.name(), array.data_type().clone(), true));
            arrays.push(array);
        }
        let schema = Arc::new(Schema::new(fields));
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, arrays, &options)
            .map_err(|e| self.malformed(file, e.to_string()))
    }

    fn csv_typed(
        &self,
        file: &DataFile,
        raw: &ArrayRef,
        field: &Field,
        first_row: u64,
    ) -> Result<ArrayRef, DataError> {
        let Some(dialect) = self.ds.inner.csv.as_ref() else {
            return Err(self.malformed(file, "no CSV dialect".into()));
        };
        let target = ColumnType::of(field.data_type()).unwrap_or(ColumnType::Utf8);
        let zoned = matches!(field.data_type(), DataType::Timestamp(_, Some(_)));
        csv::convert(raw.as_string::<i32>(), target, zoned, dialect).map_err(
            |ConvertError { row }| DataError::Rejected {
                dataset: self.ds.name.clone(),
                file: file.relative.clone(),
                row: first_row + row as u64 + 1,
                column: field.name().clone(),
                expected: target.name().into(),
            },
        )
    }
}

/// Batches with no columns, only row counts (a scan of partition columns).
fn counted_rows(total: u64, batch_rows: usize) -> TextBatches {
    let step = batch_rows as u64;
    Box::new((0..total.div_ceil(step)).map(move |i| {
        let n = step.min(total - i * step) as usize;
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(n));
        RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options)
            .map_err(|e| e.to_string())
    }))
}

/// A partition column's value repeated `rows` times.
fn constant(data_type: &DataType, value: Option<&str>, rows: usize, dictionary: bool) -> ArrayRef {
    let Some(v) = value else {
        return new_null_array(
            if dictionary && data_type == &DataType::Utf8 {
                &DataType::Utf8
            } else {
                data_type
            },
            rows,
        );
    };
    match data_type {
        DataType::Int64 => match csv::parse_int64(v) {
            Some(n) => Arc::new(Int64Array::from_value(n, rows)),
            None => new_null_array(data_type, rows),
        },
        DataType::Date32 => match csv::parse_date(v) {
            Some(d) => Arc::new(Date32Array::from_value(d, rows)),
            None => new_null_array(data_type, rows),
        },
        _ if dictionary => {
            let keys = Int32Array::from_value(0, rows);
            let values: ArrayRef = Arc::new(StringArray::from(vec![v]));
            match DictionaryArray::<Int32Type>::try_new(keys, values) {
                Ok(d) => Arc::new(d),
                Err(_) => new_null_array(data_type, rows),
            }
        }
        _ => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, rows))),
    }
}
