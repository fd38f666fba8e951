//! What a location holds, for its owner: per column the type Sluice reads
//! it as, its null count, and for a CSV column read as text the first
//! value that kept it from a narrower type.
//!
//! Defends against owners guessing at inference. `sluice dataset inspect`
//! and `sluice policy check --data` print this report, so a column that
//! comes out as `utf8` because of one stray `n/a` says so (file, row and
//! the value) before a policy is written. The report quotes the owner's
//! own data to the owner; it is never part of a run or an error a guest
//! sees.

use std::path::Path;

use serde::Serialize;

use super::csv::{self, CANDIDATES, CsvDialect};
use super::open::FileKind;
use super::{ColumnType, Dataset, Format, OpenOptions};
use crate::error::DataError;

/// A value that kept a column from a narrower type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// The type it is not.
    pub not: String,
    /// The file, below the dataset's root.
    pub file: String,
    /// 1-based data row in the file.
    pub row: u64,
    /// The field as written.
    pub value: String,
}

/// One column of an [`Inspection`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnReport {
    /// The column's name.
    pub name: String,
    /// The Sluice type it is read as; `None` if Sluice cannot feed it
    /// (then it can only be `none` in a policy).
    #[serde(rename = "type")]
    pub column_type: Option<ColumnType>,
    /// The type as stored (Parquet's Arrow type) or inferred (CSV).
    pub stored: String,
    /// Null fields (CSV: empty or a null token; Parquet: from the
    /// statistics, when every row group has them).
    pub nulls: Option<u64>,
    /// Whether it comes from `key=value` partition folders.
    pub partition: bool,
    /// For a CSV column inferred as `utf8`: the value that kept it from
    /// the narrowest type that held longest.
    pub rejected: Option<Rejected>,
}

/// What a dataset location holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    /// The location as given.
    pub path: String,
    /// The format of its files.
    pub format: Format,
    /// Its files, below its root.
    pub files: Vec<String>,
    /// Rows over all files.
    pub rows: u64,
    /// The snapshot hash.
    pub snapshot: String,
    /// Its columns.
    pub columns: Vec<ColumnReport>,
}

/// Inspects the file, folder or glob at `path` under the CSV dialect
/// `options` (reads every CSV file fully; Parquet footers only).
pub fn inspect(path: &Path, options: &OpenOptions) -> Result<Inspection, DataError> {
    let ds = Dataset::open_with("inspect", path, options)?;
    let n = ds.inner.file_columns;
    let mut columns: Vec<ColumnReport> = ds
        .schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| ColumnReport {
            name: f.name().clone(),
            column_type: ColumnType::of(f.data_type()),
            stored: f.data_type().to_string(),
            nulls: if i < n { Some(0) } else { None },
            partition: i >= n,
            rejected: None,
        })
        .collect();
    let mut rows = 0u64;
    for file in &ds.inner.files {
        match &file.kind {
            FileKind::Parquet(meta) => {
                rows += meta.rows();
                for (i, c) in columns.iter_mut().take(n).enumerate() {
                    let at = meta.schema().index_of(ds.schema.field(i).name()).ok();
                    let count = at.and_then(|a| meta.null_count(a));
                    c.nulls = c.nulls.zip(count).map(|(a, b)| a + b);
                }
            }
            FileKind::Csv(facts) => {
                rows += facts.rows;
                let dialect = ds
                    .inner
                    .csv
                    .clone()
                    .unwrap_or_else(|| CsvDialect::new(&options.csv, &file.relative));
                for (c, f) in columns.iter_mut().zip(&facts.columns) {
                    let nulls = if c.column_type == Some(ColumnType::Utf8) {
                        f.string_nulls
                    } else {
                        f.nulls
                    };
                    c.nulls = c.nulls.map(|x| x + nulls);
                }
                let examples = csv::infer_file(&file.pinned, &dialect, true)
                    .map_err(|detail| DataError::Malformed {
                        dataset: ds.name.clone(),
                        file: file.relative.clone(),
                        detail,
                    })?
                    .1
                    .unwrap_or_default();
                for ((c, f), ex) in columns.iter_mut().zip(&facts.columns).zip(examples) {
                    if c.column_type != Some(ColumnType::Utf8) || c.rejected.is_some() {
                        continue;
                    }
                    let latest = (0..CANDIDATES.len())
                        .filter_map(|k| f.rejected[k].map(|row| (row, k)))
                        .max();
                    if let Some((row, k)) = latest
                        && let Some(value) = &ex[k]
                    {
                        c.rejected = Some(Rejected {
                            not: CANDIDATES[k].name().into(),
                            file: file.relative.clone(),
                            row,
                            value: value.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(Inspection {
        path: path.display().to_string(),
        format: ds.format,
        files: ds.files().iter().map(|s| s.to_string()).collect(),
        rows,
        snapshot: ds.snapshot.clone(),
        columns,
    })
}
