//! The SQLite schema and connection settings of the ledger file.
//!
//! What this guards against: lost or torn writes. Every connection runs in WAL
//! mode with `synchronous=FULL` (a commit returns after the WAL is fsync'd),
//! the event index is the table's integer primary key (no gaps can be filled
//! behind the writer's back without `verify` seeing them), and event ids are
//! unique.

use rusqlite::{Connection, OptionalExtension, params};

use super::LedgerError;

/// Written to `meta.format`; a file with another value is refused.
pub(crate) const FORMAT: &str = "sluice-ledger/1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- One row per event; idx is the ledger index and Merkle leaf index.
-- body is the RFC 8785 canonical JSON of the envelope (the leaf input),
-- leaf_hash is SHA-256(0x00 || body), kept so opening needs no re-hashing.
CREATE TABLE IF NOT EXISTS events (
    idx       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    time      TEXT NOT NULL,
    body      BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
-- Covering index: opening reads every leaf hash without touching the bodies.
CREATE INDEX IF NOT EXISTS events_leaf_hash ON events (idx, leaf_hash);
-- One signed checkpoint per committed batch.
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
-- Private audit records: NOT part of the Merkle log; bound by the event's audit_commitment.
CREATE TABLE IF NOT EXISTS private_records (
    event_id TEXT PRIMARY KEY,
    record   BLOB NOT NULL
);
";

/// Takes the exclusive lock file `<path>.lock`, so that two writers (two
/// nodes on one data directory) never interleave batches. The operating
/// system releases it when the process dies, even by SIGKILL. Readers
/// (`verify`) do not take it.
pub(crate) fn lock(path: &std::path::Path) -> Result<std::fs::File, LedgerError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| {
            LedgerError::Locked(format!(
                "cannot create {}: {e}",
                std::path::Path::new(&name).display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LedgerError::Locked(format!(
            "{} is open in another process (is a node already running on this data directory?)",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(LedgerError::Locked(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// Opens `path` with the ledger's pragmas.
pub(crate) fn connect(path: &std::path::Path) -> Result<Connection, LedgerError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Creates the tables and checks (or records) the format and the node key.
pub(crate) fn prepare(conn: &Connection, vkey: &str) -> Result<(), LedgerError> {
    conn.execute_batch(SCHEMA)?;
    let get = |k: &str| {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| {
            r.get::<_, String>(0)
        })
        .optional()
    };
    match get("format")? {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('format', ?1), ('vkey', ?2)",
                params![FORMAT, vkey],
            )?;
        }
        Some(f) if f != FORMAT => {
            return Err(LedgerError::Corrupt(format!(
                "the file has format {f:?}, this build reads {FORMAT:?}"
            )));
        }
        Some(_) => {
            let stored = get("vkey")?.unwrap_or_default();
            if stored != vkey {
                return Err(LedgerError::KeyMismatch {
                    stored,
                    given: vkey.to_string(),
                });
            }
        }
    }
    Ok(())
}
