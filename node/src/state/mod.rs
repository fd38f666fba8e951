//! `state.sqlite`: the node's registry of datasets, policy versions, keys and
//! stored modules.
//!
//! One SQLite file in WAL mode with `synchronous=FULL`, so a registration
//! that returned survives a crash. The schema version is in `meta`; a file
//! written by a newer Sluice is refused rather than misread. The registry is
//! not the audit trail (the ledger is): every change here is also recorded
//! as a ledger event, in the same order, by the caller.
//!
//! Defends against lost registrations (durable commits), a half-applied
//! change (each change is one transaction), and silent misreads of a
//! foreign or future file (format check).

mod approvals;
mod datasets;
mod keys;
mod modules;
mod policies;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

pub(crate) use approvals::ApprovalRow;
pub(crate) use datasets::DatasetRow;
pub(crate) use keys::KeyRow;
pub(crate) use modules::ModuleRow;
pub(crate) use policies::PolicyRow;

use crate::error::NodeError;

/// Written to `meta.format`.
const FORMAT: &str = "sluice-node-state/1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
-- Registered datasets: the owner's file stays where it is; the registry
-- keeps its path, the current policy version and what was last seen of it.
CREATE TABLE IF NOT EXISTS datasets (
    name          TEXT PRIMARY KEY,
    path          TEXT NOT NULL,
    policy_hash   TEXT NOT NULL REFERENCES policy_versions (hash),
    snapshot      TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    format        TEXT NOT NULL,
    columns       TEXT NOT NULL,  -- JSON: [{name, type}]
    registered_at TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
-- Every policy version ever registered; its text is policies/<hash>.toml.
CREATE TABLE IF NOT EXISTS policy_versions (
    seq      INTEGER PRIMARY KEY,
    hash     TEXT NOT NULL UNIQUE,
    dataset  TEXT NOT NULL,
    version  INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS policy_versions_by_dataset ON policy_versions (dataset, seq);
-- Keys the node knows, with their role and (for buyers) datasets; empty = all.
CREATE TABLE IF NOT EXISTS keys (
    key      TEXT PRIMARY KEY,
    key_id   TEXT NOT NULL,
    role     TEXT NOT NULL,
    datasets TEXT NOT NULL,  -- JSON array of names
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL
) STRICT;
-- Stored modules (modules/<hash>.wasm), as first submitted.
CREATE TABLE IF NOT EXISTS modules (
    hash      TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    signer    TEXT,
    stored_at TEXT NOT NULL
) STRICT;
";

/// The registry database.
pub(crate) struct State {
    conn: Mutex<Connection>,
}

impl State {
    /// Opens (or creates) the registry at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, NodeError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(approvals::SCHEMA)?;
        let format: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match format {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('format', ?1)",
                    [FORMAT],
                )?;
            }
            Some(f) if f == FORMAT => {}
            Some(f) => {
                return Err(NodeError::DataDir {
                    path: path.to_path_buf(),
                    message: format!(
                        "state.sqlite has format {f:?}; this Sluice reads {FORMAT:?}: use the Sluice that wrote it"
                    ),
                });
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The connection, for one operation.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
