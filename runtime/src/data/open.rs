//! Opening a dataset: list its files, pin and identify each, recall or
//! compute its hash (and CSV statistics), check that all files share one
//! schema, add hive partition columns, and apply the owner's declarations.
//!
//! Defends against a dataset whose meaning depends on which file was
//! looked at: every file must have the same columns with the same Sluice
//! types (CSV types are inferred over all files together), every file's
//! partition folders must name the same keys, and a file that changes
//! while it is being hashed is refused rather than half-described.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use cap_std::fs::Dir;

use super::csv::{self, CsvDialect, CsvFacts};
use super::files::{self, Selector};
use super::parquet::ParquetMeta;
use super::pinned::PinnedFile;
use super::snapshot::{self, FileFacts, slash_path};
use super::{ColumnType, Dataset, Format, OpenOptions};
use crate::error::DataError;

/// One file of a dataset.
#[derive(Debug)]
pub(crate) struct DataFile {
    /// Path below the dataset's root, `/`-separated.
    pub(crate) relative: String,
    /// The open, identified file.
    pub(crate) pinned: PinnedFile,
    /// SHA-256 of its bytes, hex.
    pub(crate) sha256: String,
    /// Partition values, in the dataset's partition-column order.
    pub(crate) partition: Vec<Option<String>>,
    /// What reading it needs.
    pub(crate) kind: FileKind,
}

/// Format-specific state of one file.
#[derive(Debug)]
pub(crate) enum FileKind {
    /// The parsed footer.
    Parquet(ParquetMeta),
    /// The column names and inference statistics.
    Csv(CsvFacts),
}

/// What all clones of a dataset share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) files: Vec<DataFile>,
    /// Columns that come from the files (the rest are partitions).
    pub(crate) file_columns: usize,
    /// The resolved CSV dialect (CSV datasets only).
    pub(crate) csv: Option<CsvDialect>,
}

pub(super) fn open(
    name: &str,
    root: &Dir,
    root_display: &str,
    selector: &Selector,
    path: &Path,
    options: &OpenOptions,
) -> Result<Dataset, DataError> {
    let layout = |message: String| DataError::Layout {
        dataset: name.into(),
        message,
    };
    let relatives = files::list(root, selector).map_err(layout)?;
    if relatives.is_empty() {
        return Err(DataError::NoFiles {
            dataset: name.into(),
            path: path.display().to_string(),
        });
    }
    let first = relatives[0].to_string_lossy().into_owned();
    let Some(format) = files::format_of(&first) else {
        return Err(DataError::UnsupportedFormat {
            dataset: name.into(),
            path: path.display().to_string(),
        });
    };
    if let Some(other) = relatives
        .iter()
        .find(|r| files::format_of(&r.to_string_lossy()) != Some(format))
    {
        return Err(layout(format!(
            "it mixes file formats ({} and {}); one dataset holds one format",
            slash_path(&relatives[0]),
            slash_path(other)
        )));
    }
    let dialect = (format == Format::Csv).then(|| CsvDialect::new(&options.csv, &first));
    let mut files = Vec::with_capacity(relatives.len());
    for rel in &relatives {
        files.push(open_file(
            name,
            root,
            root_display,
            rel,
            dialect.as_ref(),
            options,
        )?);
    }
    let (mut fields, file_columns) = match format {
        Format::Parquet => parquet_fields(name, &files)?,
        Format::Csv => csv_fields(name, &files)?,
    };
    fields.extend(partition_fields(name, &mut files, &fields)?);
    let snapshot = match selector {
        Selector::File(_) => files[0].sha256.clone(),
        _ => snapshot::list_hash(
            files
                .iter()
                .map(|f| (f.relative.as_str(), f.sha256.as_str())),
        ),
    };
    Ok(Dataset {
        name: name.into(),
        path: path.to_path_buf(),
        format,
        schema: Arc::new(Schema::new(fields)),
        snapshot,
        size_bytes: files.iter().map(|f| f.pinned.identity().size).sum(),
        inner: Arc::new(Inner {
            files,
            file_columns,
            csv: dialect,
        }),
        text_columns: Vec::new(),
    })
}

/// Pins one file and learns its facts, from the memo when it knows them.
fn open_file(
    name: &str,
    root: &Dir,
    root_display: &str,
    rel: &Path,
    dialect: Option<&CsvDialect>,
    options: &OpenOptions,
) -> Result<DataFile, DataError> {
    let relative = slash_path(rel);
    let io = |source| DataError::Io {
        dataset: name.into(),
        path: format!("{}/{relative}", root_display.trim_end_matches('/')),
        source,
    };
    let display = format!("{}/{relative}", root_display.trim_end_matches('/'));
    let pinned = PinnedFile::open(root, rel, display).map_err(io)?;
    let memo = options.memo.as_deref();
    let remembered = memo.and_then(|m| match m.get(pinned.identity()) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "snapshot memo lookup failed; hashing");
            None
        }
    });
    let csv_ok = |f: &FileFacts| match dialect {
        None => true,
        Some(d) => f.csv.as_ref().is_some_and(|c| c.options == d.fingerprint()),
    };
    let malformed = |detail: String| DataError::Malformed {
        dataset: name.into(),
        file: relative.clone(),
        detail,
    };
    let facts = match remembered {
        Some(f) if csv_ok(&f) => f,
        known => {
            let sha256 = match known {
                Some(f) => f.sha256,
                None => pinned.sha256().map_err(io)?,
            };
            let csv = match dialect {
                Some(d) => Some(csv::infer_file(&pinned, d, false).map_err(malformed)?.0),
                None => None,
            };
            if !pinned.unchanged() {
                return Err(DataError::Changed {
                    dataset: name.into(),
                    file: relative,
                });
            }
            let facts = FileFacts { sha256, csv };
            if let Some(m) = memo
                && let Err(e) = m.put(pinned.identity(), &facts)
            {
                tracing::warn!(error = %e, "snapshot memo could not remember a file");
            }
            facts
        }
    };
    let kind = match facts.csv {
        Some(c) => FileKind::Csv(c),
        None => FileKind::Parquet(ParquetMeta::load(&pinned).map_err(malformed)?),
    };
    Ok(DataFile {
        partition: files::partition_of(rel)
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
        relative,
        pinned,
        sha256: facts.sha256,
        kind,
    })
}

fn parquet_fields(name: &str, files: &[DataFile]) -> Result<(Vec<Field>, usize), DataError> {
    let schema_of = |f: &DataFile| match &f.kind {
        FileKind::Parquet(m) => m.read_schema(),
        FileKind::Csv(_) => Arc::new(Schema::empty()),
    };
    let first = schema_of(&files[0]);
    for file in &files[1..] {
        let schema = schema_of(file);
        let mismatch = |message: String| DataError::SchemaMismatch {
            dataset: name.into(),
            file: file.relative.clone(),
            message,
        };
        if schema.fields().len() != first.fields().len() {
            return Err(mismatch(format!(
                "it has {} columns, the first file {}",
                schema.fields().len(),
                first.fields().len()
            )));
        }
        for f in first.fields() {
            let Ok(other) = schema.field_with_name(f.name()) else {
                return Err(mismatch(format!("it lacks column `{}`", f.name())));
            };
            let (a, b) = (
                ColumnType::of(f.data_type()),
                ColumnType::of(other.data_type()),
            );
            let same = match (a, b) {
                (Some(x), Some(y)) => x == y,
                _ => f.data_type() == other.data_type(),
            };
            if !same {
                return Err(mismatch(format!(
                    "column `{}` is {} there, {} in the first file",
                    f.name(),
                    other.data_type(),
                    f.data_type()
                )));
            }
        }
    }
    let fields: Vec<Field> = first.fields().iter().map(|f| f.as_ref().clone()).collect();
    let n = fields.len();
    Ok((fields, n))
}

fn csv_fields(name: &str, files: &[DataFile]) -> Result<(Vec<Field>, usize), DataError> {
    let facts: Vec<&CsvFacts> = files
        .iter()
        .filter_map(|f| match &f.kind {
            FileKind::Csv(c) => Some(c),
            FileKind::Parquet(_) => None,
        })
        .collect();
    let names: Vec<&str> = facts[0].columns.iter().map(|c| c.name.as_str()).collect();
    for (file, f) in files.iter().zip(&facts).skip(1) {
        let these: Vec<&str> = f.columns.iter().map(|c| c.name.as_str()).collect();
        if these != names {
            return Err(DataError::SchemaMismatch {
                dataset: name.into(),
                file: file.relative.clone(),
                message: format!(
                    "its columns are {}; the first file's are {}",
                    these.join(", "),
                    names.join(", ")
                ),
            });
        }
    }
    let fields: Vec<Field> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let per_file: Vec<_> = facts.iter().map(|f| &f.columns[i]).collect();
            let (t, zoned) = csv::decide(&per_file);
            Field::new(*n, csv_arrow_type(t, zoned), true)
        })
        .collect();
    let n = fields.len();
    Ok((fields, n))
}

/// The Arrow type CSV columns of type `t` are read as.
pub(crate) fn csv_arrow_type(t: ColumnType, zoned: bool) -> DataType {
    match (t, zoned) {
        (ColumnType::Timestamp, true) => {
            DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into()))
        }
        _ => t.arrow_type(),
    }
}

/// The hive partition columns: the same keys in every file, typed int64,
/// date or utf8 by their values.
fn partition_fields(
    name: &str,
    files: &mut [DataFile],
    columns: &[Field],
) -> Result<Vec<Field>, DataError> {
    let keys = |f: &DataFile| -> Vec<String> {
        files::partition_of(Path::new(&f.relative))
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    let first = keys(&files[0]);
    for f in files.iter() {
        let these = keys(f);
        if these != first {
            return Err(DataError::Layout {
                dataset: name.into(),
                message: format!(
                    "file {} sits in partition folders {:?}, the first file in {:?}; every file needs the same key=value folders",
                    f.relative, these, first
                ),
            });
        }
    }
    let mut fields = Vec::new();
    for (k, key) in first.iter().enumerate() {
        if columns.iter().any(|c| c.name() == key) {
            return Err(DataError::Layout {
                dataset: name.into(),
                message: format!(
                    "partition folder key `{key}` is also a column of the files; rename one"
                ),
            });
        }
        let values: Vec<&str> = files
            .iter()
            .filter_map(|f| f.partition[k].as_deref())
            .collect();
        let t = if values.iter().all(|v| csv::parse_int64(v).is_some()) && !values.is_empty() {
            ColumnType::Int64
        } else if values.iter().all(|v| csv::parse_date(v).is_some()) && !values.is_empty() {
            ColumnType::Date
        } else {
            ColumnType::Utf8
        };
        fields.push(Field::new(key, t.arrow_type(), true));
    }
    Ok(fields)
}

pub(super) fn declare<'a>(
    mut ds: Dataset,
    types: impl IntoIterator<Item = (&'a str, ColumnType)>,
) -> Result<Dataset, DataError> {
    let mut fields: Vec<Field> = ds
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for (column, declared) in types {
        let fail = |message: String| DataError::Declaration {
            dataset: ds.name.clone(),
            column: column.into(),
            message,
        };
        let Some(index) = fields.iter().position(|f| f.name() == column) else {
            return Err(fail(
                "the dataset has no such column; fix the name or remove the declaration".into(),
            ));
        };
        let field = &mut fields[index];
        let found = ColumnType::of(field.data_type());
        if found == Some(declared) && !is_binary(field.data_type()) {
            continue;
        }
        let partition = index >= ds.inner.file_columns;
        match ds.format {
            _ if partition => {
                declare_partition(&ds, index, declared).map_err(fail)?;
                *field = field.clone().with_data_type(declared.arrow_type());
            }
            Format::Csv => {
                check_csv(&ds, index, declared)?;
                let zoned = csv_zoned(&ds, index);
                *field = field
                    .clone()
                    .with_data_type(csv_arrow_type(declared, zoned));
            }
            Format::Parquet if declared == ColumnType::Utf8 && is_binary(field.data_type()) => {
                ds.text_columns.push(index);
            }
            Format::Parquet => {
                return Err(fail(format!(
                    "it is declared {declared} but the Parquet file stores {}; remove the declaration",
                    field.data_type()
                )));
            }
        }
    }
    ds.schema = Arc::new(Schema::new(fields));
    Ok(ds)
}

fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    ) || matches!(t, DataType::Dictionary(_, v) if is_binary(v))
}

fn csv_facts(ds: &Dataset) -> impl Iterator<Item = (&str, &CsvFacts)> {
    ds.inner.files.iter().filter_map(|f| match &f.kind {
        FileKind::Csv(c) => Some((f.relative.as_str(), c)),
        FileKind::Parquet(_) => None,
    })
}

fn csv_zoned(ds: &Dataset, index: usize) -> bool {
    csv_facts(ds).any(|(_, f)| f.columns[index].zoned == Some(true))
}

/// Every field of CSV column `index` must parse as `declared`.
fn check_csv(ds: &Dataset, index: usize, declared: ColumnType) -> Result<(), DataError> {
    for (file, facts) in csv_facts(ds) {
        let column = &facts.columns[index];
        if let Some(row) = column.rejects(declared) {
            return Err(DataError::Rejected {
                dataset: ds.name.clone(),
                file: file.into(),
                row,
                column: column.name.clone(),
                expected: declared.name().into(),
            });
        }
    }
    Ok(())
}

fn declare_partition(ds: &Dataset, index: usize, declared: ColumnType) -> Result<(), String> {
    let k = index - ds.inner.file_columns;
    for f in &ds.inner.files {
        let ok = match (declared, f.partition[k].as_deref()) {
            (_, None) | (ColumnType::Utf8, _) => true,
            (ColumnType::Int64, Some(v)) => csv::parse_int64(v).is_some(),
            (ColumnType::Date, Some(v)) => csv::parse_date(v).is_some(),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "partition folders of file {} do not hold a {declared}; partition columns may be utf8, int64 or date",
                f.relative
            ));
        }
    }
    Ok(())
}
