//! Opening the privacy stores' SQLite files (budgets, difference history):
//! WAL mode, `synchronous=FULL`, and a schema whose version is kept in
//! `PRAGMA user_version`.
//!
//! Defends against two runs starting together: switching a new file to WAL
//! and creating the schema take locks for which SQLite may answer "busy" at
//! once, without its busy handler, so the whole open is retried until
//! [`BUSY_TIMEOUT`]. A file from a newer Sluice is refused, not misread.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::error::PrivacyError;

/// How long a store waits for another connection's lock.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the store at `path` with `schema` at `version`.
pub(super) fn open(path: &Path, schema: &str, version: i64) -> Result<Connection, PrivacyError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match try_open(path, schema, version) {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// A store in memory only, for tests and dry runs.
pub(super) fn in_memory(schema: &str, version: i64) -> Result<Connection, PrivacyError> {
    init(Connection::open_in_memory()?, schema, version)
}

fn try_open(path: &Path, schema: &str, version: i64) -> Result<Connection, PrivacyError> {
    let wrap = |source| PrivacyError::StoreOpen {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(wrap)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(wrap)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(wrap)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(PrivacyError::NotWal { mode });
    }
    init(conn, schema, version)
}

fn init(mut conn: Connection, schema: &str, version: i64) -> Result<Connection, PrivacyError> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > version {
        return Err(PrivacyError::StoreVersion {
            found,
            supported: version,
        });
    }
    tx.execute_batch(schema)?;
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(conn)
}

/// Whether `e` is SQLite's "busy" or "locked": another connection holds the lock.
pub(super) fn is_busy(e: &PrivacyError) -> bool {
    let sqlite = match e {
        PrivacyError::StoreOpen { source, .. } => source,
        PrivacyError::Store(source) => source,
        _ => return false,
    };
    matches!(
        sqlite.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
