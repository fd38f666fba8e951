//! Datasets: the owner's CSV and Parquet files, whoever wrote them, opened
//! through a directory capability, identified by a snapshot hash computed
//! once per file version, and read in bounded batches of only the
//! requested columns.
//!
//! Defends against host memory growing with file size (every read is a
//! stream of bounded record batches), against a run over data that cannot
//! later be identified (the snapshot hashes the very descriptors scans
//! read from; a file modified meanwhile ends the read with
//! [`DataError::Changed`]), against reaching outside the registered
//! location (see [`files`]), and against formats that depend on the
//! writer (see [`types`], [`csv`] and [`parquet`]).
//!
//! The pieces: [`files`] lists a location's files, [`pinned`] holds them
//! open, [`snapshot`] hashes and remembers them, [`csv`] and [`parquet`]
//! decode them, [`normalize`](mod@normalize) brings every type to the feed
//! layouts, [`read`] streams a scan across files, [`encode`] and
//! [`dictionary`] turn batches into what guests receive, [`feed`] does
//! that ahead on another thread, and [`inspect`](mod@inspect) reports what
//! a location holds.

pub mod csv;
mod dictionary;
mod encode;
pub mod feed;
pub mod files;
pub mod inspect;
mod memo_sqlite;
mod normalize;
mod open;
mod parquet;
mod pinned;
mod read;
pub mod snapshot;
pub mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;

pub use csv::{CsvFacts, CsvOptions, DEFAULT_NULL_VALUES};
pub use encode::{BatchEncoder, FedBatch};
pub use feed::{Feed, FeedStop, Produced};
pub use files::{MAX_FILES, Selector};
pub use inspect::{ColumnReport, Inspection, inspect};
pub use memo_sqlite::SqliteSnapshotMemo;
pub use read::{RecordBatches, ScanColumn};
pub use snapshot::{FileFacts, FileIdentity, MemoError, MemorySnapshotMemo, SnapshotMemo};
pub use types::{ColumnType, timestamp_of};

use crate::error::DataError;
use crate::policy::{Access, Policy};
use open::Inner;

/// On-disk format of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma- (or tab-) separated values, plain or gzip-compressed.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// How to open a dataset.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// The CSV dialect (the policy's `[csv]` table).
    pub csv: CsvOptions,
    /// Where file hashes (and CSV inference) are remembered; `None`
    /// hashes every file on every open.
    pub memo: Option<Arc<dyn SnapshotMemo>>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("csv", &self.csv)
            .field("memo", &self.memo.is_some())
            .finish()
    }
}

/// An opened dataset: its files (held open), schema and snapshot hash.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The name runs and policies use for it.
    pub name: String,
    /// The location as registered: a file, a folder or a glob.
    pub path: PathBuf,
    /// The file format.
    pub format: Format,
    /// The columns: the files' (stored types for Parquet, inferred or
    /// declared types for CSV), then hive partition columns.
    pub schema: SchemaRef,
    /// The snapshot: a single file's SHA-256, or the hash over the sorted
    /// (relative path, file hash) list (see [`snapshot`]), hex.
    pub snapshot: String,
    /// Total size of the files in bytes.
    pub size_bytes: u64,
    inner: Arc<Inner>,
    /// Parquet binary columns the owner declared `utf8`: read as text.
    text_columns: Vec<usize>,
}

impl Dataset {
    /// Opens the file, folder or glob at `path` as dataset `name` with
    /// default options (CSV defaults, no memo).
    pub fn open(name: &str, path: &Path) -> Result<Self, DataError> {
        Self::open_with(name, path, &OpenOptions::default())
    }

    /// Opens the location `path` (a file, a folder of files, or a glob) as
    /// dataset `name`: the capability is rooted at the folder (a file's
    /// parent, a glob's literal prefix), every file below it is opened
    /// once, identified, and hashed unless `options.memo` knows it.
    pub fn open_with(name: &str, path: &Path, options: &OpenOptions) -> Result<Self, DataError> {
        let (root, selector) = Selector::split(path);
        let dir = cap_std::fs::Dir::open_ambient_dir(&root, cap_std::ambient_authority()).map_err(
            |source| DataError::Io {
                dataset: name.into(),
                path: root.display().to_string(),
                source,
            },
        )?;
        Self::open_at(
            name,
            &dir,
            &root.display().to_string(),
            &selector,
            path,
            options,
        )
    }

    /// Opens the files `selector` picks below the directory capability
    /// `root` (which `root_display` names in identities and messages);
    /// `path` is recorded as the dataset's location. Nothing outside
    /// `root` can be reached, whatever the selector says.
    pub fn open_at(
        name: &str,
        root: &cap_std::fs::Dir,
        root_display: &str,
        selector: &Selector,
        path: &Path,
        options: &OpenOptions,
    ) -> Result<Self, DataError> {
        open::open(name, root, root_display, selector, path, options)
    }

    /// Opens `path` for `policy`: its `[csv]` dialect, its declared types,
    /// and a check that every column it makes visible can be fed.
    pub fn open_for(
        name: &str,
        path: &Path,
        policy: &Policy,
        memo: Option<Arc<dyn SnapshotMemo>>,
    ) -> Result<Self, DataError> {
        let options = OpenOptions {
            csv: policy.csv.clone(),
            memo,
        };
        let dataset = Self::open_with(name, path, &options)?.declare(policy.declared_types())?;
        dataset.check_policy(policy)?;
        Ok(dataset)
    }

    /// Applies column types the owner declared: for CSV they replace the
    /// inferred ones (e.g. zip codes as text), and every field must parse
    /// as the declared type (checked now, from the inference statistics);
    /// for Parquet, whose types are stored, a declaration must agree with
    /// the file, except that a binary column may be declared `utf8` to
    /// read its bytes as text.
    pub fn declare<'a>(
        self,
        types: impl IntoIterator<Item = (&'a str, ColumnType)>,
    ) -> Result<Self, DataError> {
        open::declare(self, types)
    }

    /// Fails if `policy` makes a column visible (`raw` or `aggregate`)
    /// whose type Sluice cannot feed. Invisible columns may have any type:
    /// they are never decoded.
    pub fn check_policy(&self, policy: &Policy) -> Result<(), DataError> {
        for field in self.schema.fields() {
            let visible = policy.rule(field.name()).access != Access::None;
            if visible && ColumnType::of(field.data_type()).is_none() {
                return Err(DataError::UnsupportedType {
                    dataset: self.name.clone(),
                    column: field.name().clone(),
                    data_type: types::unsupported_reason(field.data_type()),
                });
            }
        }
        Ok(())
    }

    /// Index and Sluice type of `column`, if the dataset has it and Sluice
    /// can feed its type.
    pub fn column(&self, column: &str) -> Option<(usize, ColumnType)> {
        let (index, field) = self.schema.column_with_name(column)?;
        ColumnType::of(field.data_type()).map(|t| (index, t))
    }

    /// The relative paths of the dataset's files, in snapshot order.
    pub fn files(&self) -> Vec<&str> {
        self.inner
            .files
            .iter()
            .map(|f| f.relative.as_str())
            .collect()
    }

    /// Whether every file still has the identity it had when opened (the
    /// run checks this before it starts and after it ends).
    pub fn unchanged(&self) -> Result<(), DataError> {
        match self.inner.files.iter().find(|f| !f.pinned.unchanged()) {
            None => Ok(()),
            Some(f) => Err(DataError::Changed {
                dataset: self.name.clone(),
                file: f.relative.clone(),
            }),
        }
    }

    /// Streams the columns at `projection` (schema indices), in schema
    /// order, in batches of at most `batch_rows`, each column in its feed
    /// layout (strings plain).
    pub fn read(
        &self,
        projection: &[usize],
        batch_rows: usize,
    ) -> Result<RecordBatches, DataError> {
        let mut indices = projection.to_vec();
        indices.sort_unstable();
        indices.dedup();
        let columns: Vec<ScanColumn> = indices
            .into_iter()
            .map(|index| ScanColumn {
                index,
                dictionary: false,
            })
            .collect();
        self.scan(&columns, batch_rows)
    }

    /// Streams `columns` (in this order) in batches of at most
    /// `batch_rows`; string columns marked `dictionary` come as
    /// `Dictionary(Int32, Utf8)` when the file stores them so, plain
    /// otherwise (the [`BatchEncoder`] encodes those).
    pub fn scan(
        &self,
        columns: &[ScanColumn],
        batch_rows: usize,
    ) -> Result<RecordBatches, DataError> {
        read::scan(self, columns, batch_rows)
    }
}

#[cfg(test)]
mod tests;
