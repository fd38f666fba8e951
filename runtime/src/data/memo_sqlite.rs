//! A [`SnapshotMemo`] kept in one SQLite file, for the CLI's state
//! directory (the node keeps the same facts in its own state database).
//!
//! Defends against re-hashing unchanged files in every process: `sluice
//! run` remembers each file's hash across invocations. A broken or busy
//! memo file only costs a re-hash, never a wrong snapshot: an entry is
//! returned only when every identity field matches.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::snapshot::{FileFacts, FileIdentity, MemoError, SnapshotMemo};

/// A snapshot memo stored in a SQLite database file.
#[derive(Debug)]
pub struct SqliteSnapshotMemo {
    conn: Mutex<Connection>,
}

impl SqliteSnapshotMemo {
    /// Opens (creating if needed) the memo at `path`.
    pub fn open(path: &Path) -> Result<Self, MemoError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS snapshot_memo (
                path TEXT PRIMARY KEY,
                device INTEGER NOT NULL,
                inode INTEGER NOT NULL,
                size INTEGER NOT NULL,
                modified_ns INTEGER NOT NULL,
                changed_ns INTEGER NOT NULL,
                facts TEXT NOT NULL
            )",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }
}

/// SQLite integers are signed: store the u64 bit pattern.
fn int(v: u64) -> i64 {
    v as i64
}

impl SnapshotMemo for SqliteSnapshotMemo {
    fn get(&self, id: &FileIdentity) -> Result<Option<FileFacts>, MemoError> {
        let conn = self.conn.lock().map_err(|_| "memo lock poisoned")?;
        let text: Option<String> = conn
            .query_row(
                "SELECT facts FROM snapshot_memo WHERE path = ?1 AND device = ?2 AND inode = ?3
                 AND size = ?4 AND modified_ns = ?5 AND changed_ns = ?6",
                params![
                    id.path,
                    int(id.device),
                    int(id.inode),
                    int(id.size),
                    id.modified_ns,
                    id.changed_ns
                ],
                |row| row.get(0),
            )
            .optional()?;
        Ok(match text {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    }

    fn put(&self, id: &FileIdentity, facts: &FileFacts) -> Result<(), MemoError> {
        let text = serde_json::to_string(facts)?;
        let conn = self.conn.lock().map_err(|_| "memo lock poisoned")?;
        conn.execute(
            "INSERT OR REPLACE INTO snapshot_memo
             (path, device, inode, size, modified_ns, changed_ns, facts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id.path,
                int(id.device),
                int(id.inode),
                int(id.size),
                id.modified_ns,
                id.changed_ns,
                text
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_across_opens_and_only_for_the_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo.sqlite");
        let id = FileIdentity {
            path: "/data/a.parquet".into(),
            device: u64::MAX,
            inode: 7,
            size: 10,
            modified_ns: 1,
            changed_ns: 2,
        };
        let facts = FileFacts {
            sha256: "00ff".into(),
            csv: None,
        };
        SqliteSnapshotMemo::open(&path)
            .unwrap()
            .put(&id, &facts)
            .unwrap();
        let memo = SqliteSnapshotMemo::open(&path).unwrap();
        assert_eq!(memo.get(&id).unwrap(), Some(facts));
        let touched = FileIdentity {
            modified_ns: 3,
            ..id
        };
        assert_eq!(memo.get(&touched).unwrap(), None);
    }
}
