//! Snapshots: what a dataset's bytes hash to, computed once per file
//! version and remembered by the file's identity.
//!
//! Defends against two costs and one lie. Hashing a large file on every
//! run costs more than the run; the [`SnapshotMemo`] keeps each file's
//! hash (and, for CSV, what type inference found) keyed by its
//! [`FileIdentity`], so a file is read for hashing only when it is new or
//! changed. And a snapshot must describe exactly what was read: it is
//! computed through the same open descriptor the scans later read from.
//!
//! A dataset of one file (its location names the file) has the file's
//! SHA-256 as snapshot, so `sha256sum` reproduces it. A dataset of a
//! directory or glob has as snapshot the SHA-256 of the text
//! `sluice-snapshot-v1\n` followed, for every file in byte order of its
//! relative path (`/`-separated), by `PATH\tSHA256HEX\n`: renaming,
//! adding, removing or changing any file changes it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::csv::CsvFacts;
pub use super::pinned::FileIdentity;

/// What is remembered about one version of one file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// For CSV files: the inference statistics, under the options they
    /// were computed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvFacts>,
}

/// A failure of a memo's storage (the data layer logs it and carries on:
/// a memo that cannot remember only costs a re-hash).
pub type MemoError = Box<dyn std::error::Error + Send + Sync>;

/// Remembers [`FileFacts`] by [`FileIdentity`]. The node implements it
/// over its state database; [`MemorySnapshotMemo`] and
/// [`SqliteSnapshotMemo`](super::SqliteSnapshotMemo) are the in-process
/// and the file-backed implementations.
///
/// An entry must only be returned for an identity equal in every field to
/// the one it was stored under.
pub trait SnapshotMemo: Send + Sync {
    /// The facts stored for exactly this identity, if any.
    fn get(&self, identity: &FileIdentity) -> Result<Option<FileFacts>, MemoError>;
    /// Stores the facts of this identity (replacing older ones for the
    /// same path).
    fn put(&self, identity: &FileIdentity, facts: &FileFacts) -> Result<(), MemoError>;
}

/// A memo that lives as long as the process.
#[derive(Debug, Default)]
pub struct MemorySnapshotMemo {
    entries: Mutex<HashMap<FileIdentity, FileFacts>>,
}

impl MemorySnapshotMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many file versions it remembers.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// Whether it remembers nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SnapshotMemo for MemorySnapshotMemo {
    fn get(&self, identity: &FileIdentity) -> Result<Option<FileFacts>, MemoError> {
        let entries = self.entries.lock().map_err(|_| "memo lock poisoned")?;
        Ok(entries.get(identity).cloned())
    }

    fn put(&self, identity: &FileIdentity, facts: &FileFacts) -> Result<(), MemoError> {
        let mut entries = self.entries.lock().map_err(|_| "memo lock poisoned")?;
        entries.retain(|k, _| k.path != identity.path);
        entries.insert(identity.clone(), facts.clone());
        Ok(())
    }
}

/// The snapshot of a dataset of several files: see the module docs.
pub(crate) fn list_hash<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut files: Vec<(&str, &str)> = files.into_iter().collect();
    files.sort_unstable();
    let mut h = Sha256::new();
    h.update(b"sluice-snapshot-v1\n");
    for (path, sha) in files {
        h.update(path.as_bytes());
        h.update(b"\t");
        h.update(sha.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A relative path with `/` separators, as snapshots and identities name it.
pub(crate) fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(path: &str, changed_ns: i64) -> FileIdentity {
        FileIdentity {
            path: path.into(),
            device: 1,
            inode: 2,
            size: 3,
            modified_ns: 4,
            changed_ns,
        }
    }

    #[test]
    fn memo_answers_only_for_the_exact_identity() {
        let memo = MemorySnapshotMemo::new();
        let facts = FileFacts {
            sha256: "ab".into(),
            csv: None,
        };
        memo.put(&id("a", 5), &facts).unwrap();
        assert_eq!(memo.get(&id("a", 5)).unwrap(), Some(facts.clone()));
        assert_eq!(memo.get(&id("a", 6)).unwrap(), None, "changed ctime");
        memo.put(&id("a", 6), &facts).unwrap();
        assert_eq!(memo.len(), 1, "the older version of the path is forgotten");
    }

    #[test]
    fn list_hash_is_order_independent_and_documented() {
        let a = list_hash([("x=1/a.parquet", "11"), ("b.parquet", "22")]);
        let b = list_hash([("b.parquet", "22"), ("x=1/a.parquet", "11")]);
        assert_eq!(a, b);
        let text = "sluice-snapshot-v1\nb.parquet\t22\nx=1/a.parquet\t11\n";
        assert_eq!(a, hex::encode(Sha256::digest(text.as_bytes())));
        assert_ne!(a, list_hash([("b.parquet", "22")]));
    }
}
