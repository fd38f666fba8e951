//! Where an audit reads from: the SQLite file, any `Ledger`, or an export.
//!
//! What this guards against: trusting the thing being audited. The SQLite
//! source opens the file read-only and reads raw rows (no in-memory state of
//! a running node); the export source needs nothing but the file and the
//! node's public key.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::engine::{Audit, Entry, RawCheckpoint};
use super::{VerifyError, VerifyReport};
use crate::checkpoint::NoteVerifier;
use crate::export::ExportLine;
use crate::store::Ledger;

/// Audits the SQLite ledger file at `path` (opened read-only).
pub fn verify_sqlite(path: &Path, verifier: &NoteVerifier) -> Result<VerifyReport, VerifyError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Pages are read in place through a read-only mapping instead of copied by read().
    conn.pragma_update(None, "mmap_size", 1i64 << 40)?;
    let mut stmt = conn.prepare("SELECT size, root, note FROM checkpoints ORDER BY size")?;
    let raw = stmt
        .query_map([], |r| {
            let root: Option<Vec<u8>> = r.get(1).ok();
            Ok(RawCheckpoint {
                size: r.get::<_, i64>(0)? as u64,
                root: root.and_then(|v| v.try_into().ok()),
                note: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut audit = Audit::new(verifier, raw);
    audit.with_private_records(private_commitments(&conn)?);
    let mut stmt = conn.prepare("SELECT idx, body, leaf_hash FROM events ORDER BY idx")?;
    let rows = stmt.query_map([], |row| {
        let body = bytes_of(row.get_ref(1)?);
        let leaf = match row.get_ref(2)? {
            ValueRef::Blob(b) | ValueRef::Text(b) => b.try_into().unwrap_or([0; 32]),
            _ => [0; 32],
        };
        Ok(Entry {
            index: row.get::<_, i64>(0)? as u64,
            body,
            leaf_hash: Some(leaf),
        })
    })?;
    Ok(audit.run(rows)?)
}

/// A column's bytes whether stored as BLOB or TEXT (a hand edit may change the type).
fn bytes_of(v: ValueRef<'_>) -> Vec<u8> {
    match v {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        _ => Vec::new(),
    }
}

fn private_commitments(conn: &Connection) -> Result<HashMap<String, String>, VerifyError> {
    let mut stmt = conn.prepare("SELECT event_id, record FROM private_records")?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::new();
    while let Some(row) = rows.next()? {
        out.insert(
            row.get::<_, String>(0)?,
            crate::audit::commitment(&bytes_of(row.get_ref(1)?)),
        );
    }
    Ok(out)
}

/// Audits any [`Ledger`] through its trait, up to its latest checkpoint at the
/// time of the call (a live ledger keeps growing). Private records are not
/// checked, and rows beyond the latest checkpoint are not seen: audit the
/// SQLite file with [`verify_sqlite`] for those.
pub fn verify_ledger(
    ledger: &dyn Ledger,
    verifier: &NoteVerifier,
) -> Result<VerifyReport, VerifyError> {
    let raw: Vec<RawCheckpoint> = ledger
        .checkpoints()?
        .into_iter()
        .map(|c| RawCheckpoint {
            size: c.size,
            root: Some(c.root),
            note: c.note,
        })
        .collect();
    // A live ledger keeps growing: audit the events the listed checkpoints cover.
    let end = raw.iter().map(|c| c.size).max().unwrap_or(0);
    let audit = Audit::new(verifier, raw);
    let mut from = 0;
    let pages = std::iter::from_fn(move || {
        let page = match ledger.events(from, 4096.min(end.saturating_sub(from))) {
            Ok(p) if p.is_empty() => return None,
            Ok(p) => p,
            Err(e) => return Some(vec![Err(e)]),
        };
        from = page.last().map_or(from, |e| e.index + 1);
        Some(
            page.into_iter()
                .map(|e| {
                    Ok(Entry {
                        index: e.index,
                        body: e.bytes,
                        leaf_hash: Some(e.leaf_hash),
                    })
                })
                .collect(),
        )
    });
    Ok(audit.run(pages.flatten())?)
}

/// Audits an exported JSON Lines ledger (see [`crate::export`]).
pub fn verify_export(
    reader: impl BufRead,
    verifier: &NoteVerifier,
) -> Result<VerifyReport, VerifyError> {
    let mut checkpoints = Vec::new();
    let mut lines = reader
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()));
    let mut first = None;
    for (n, line) in lines.by_ref() {
        match parse_line(n, line)? {
            ExportLine::Header { .. } => {}
            ExportLine::Checkpoint { size, note } => checkpoints.push(RawCheckpoint {
                size,
                root: None,
                note,
            }),
            ExportLine::Event {
                index,
                leaf_hash,
                event,
            } => {
                first = Some(event_entry(index, &leaf_hash, &event));
                break;
            }
        }
    }
    let audit = Audit::new(verifier, checkpoints);
    let rest = lines.map(|(n, line)| match parse_line(n, line)? {
        ExportLine::Event {
            index,
            leaf_hash,
            event,
        } => Ok(event_entry(index, &leaf_hash, &event)),
        _ => Err(VerifyError::Export {
            line: n as u64 + 1,
            message: "header and checkpoint lines must come before event lines".into(),
        }),
    });
    audit.run(first.map(Ok).into_iter().chain(rest))
}

fn parse_line(n: usize, line: std::io::Result<String>) -> Result<ExportLine, VerifyError> {
    let bad = |message: String| VerifyError::Export {
        line: n as u64 + 1,
        message,
    };
    let line = line.map_err(|e| bad(e.to_string()))?;
    serde_json::from_str::<ExportLine>(&line).map_err(|e| bad(e.to_string()))
}

/// The event's exact text is the leaf input: an export carries the canonical bytes verbatim.
fn event_entry(index: u64, leaf_hash: &str, event: &serde_json::value::RawValue) -> Entry {
    let leaf = hex::decode(leaf_hash)
        .ok()
        .and_then(|v| v.try_into().ok())
        .unwrap_or([0; 32]);
    Entry {
        index,
        body: event.get().as_bytes().to_vec(),
        leaf_hash: Some(leaf),
    }
}
