//! JSON Lines export and import of a ledger, for offline audit and billing.
//!
//! The file is one JSON object per line, in this order:
//!
//! ```text
//! {"record":"header","format":"sluice-ledger-export/1","origin":"sluice.node/5f1c0e2a","vkey":"sluice.node/5f1c0e2a+...","events":2,"checkpoints":3}
//! {"record":"checkpoint","size":0,"note":"sluice.node/5f1c0e2a\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— sluice.node/5f1c0e2a ...\n"}
//! ...
//! {"record":"event","index":0,"leaf_hash":"9c1b...","event":{...the canonical event...}}
//! ```
//!
//! Checkpoints come first so that a verifier can stream the events once.
//! The `vkey` in the header is informational: an auditor verifies with the
//! node key they obtained independently, never with the one in the file.
//!
//! What this guards against: an audit or a bill that depends on the node
//! being online. [`crate::verify::verify_export`] and
//! [`crate::billing::recompute_export`] work from this file alone.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::event::Envelope;
use crate::store::{Ledger, LedgerError};

/// The export format name in the header.
pub const FORMAT: &str = "sluice-ledger-export/1";

/// One line of an export.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "record", rename_all = "lowercase")]
pub enum ExportLine {
    /// First line: what this is.
    Header {
        /// [`FORMAT`].
        format: String,
        /// The log's origin.
        origin: String,
        /// The node's verifier key (informational only).
        vkey: String,
        /// Number of event lines.
        events: u64,
        /// Number of checkpoint lines.
        checkpoints: u64,
    },
    /// A signed checkpoint.
    Checkpoint {
        /// Tree size.
        size: u64,
        /// The signed note.
        note: String,
    },
    /// An event.
    Event {
        /// Ledger index.
        index: u64,
        /// Hex leaf hash as stored.
        leaf_hash: String,
        /// The event's canonical JSON, verbatim: these exact bytes are the leaf input.
        event: Box<serde_json::value::RawValue>,
    },
}

/// Every field any line may have: read flat (serde cannot keep an event's
/// raw text inside an internally tagged enum), then sorted into [`ExportLine`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatLine {
    record: String,
    format: Option<String>,
    origin: Option<String>,
    vkey: Option<String>,
    events: Option<u64>,
    checkpoints: Option<u64>,
    size: Option<u64>,
    note: Option<String>,
    index: Option<u64>,
    leaf_hash: Option<String>,
    event: Option<Box<serde_json::value::RawValue>>,
}

impl<'de> Deserialize<'de> for ExportLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let f = FlatLine::deserialize(d)?;
        let need = |name: &str| D::Error::custom(format!("a {} line needs {name}", f.record));
        Ok(match f.record.as_str() {
            "header" => ExportLine::Header {
                format: f.format.clone().ok_or_else(|| need("format"))?,
                origin: f.origin.clone().ok_or_else(|| need("origin"))?,
                vkey: f.vkey.clone().ok_or_else(|| need("vkey"))?,
                events: f.events.ok_or_else(|| need("events"))?,
                checkpoints: f.checkpoints.ok_or_else(|| need("checkpoints"))?,
            },
            "checkpoint" => ExportLine::Checkpoint {
                size: f.size.ok_or_else(|| need("size"))?,
                note: f.note.clone().ok_or_else(|| need("note"))?,
            },
            "event" => ExportLine::Event {
                index: f.index.ok_or_else(|| need("index"))?,
                leaf_hash: f.leaf_hash.clone().ok_or_else(|| need("leaf_hash"))?,
                event: f
                    .event
                    .ok_or_else(|| D::Error::custom("an event line needs event"))?,
            },
            other => return Err(D::Error::custom(format!("unknown record type {other:?}"))),
        })
    }
}

/// Why an export could not be read.
#[derive(Debug, thiserror::Error)]
#[error("export line {line}: {message}")]
pub struct ExportError {
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

/// Writes the whole ledger as JSON Lines. Returns the number of events written.
pub fn write_export(
    ledger: &dyn Ledger,
    vkey: &str,
    out: &mut dyn Write,
) -> Result<u64, LedgerError> {
    let io = |e: std::io::Error| LedgerError::Encoding(format!("cannot write the export: {e}"));
    // One snapshot: the checkpoints listed, and the events up to the last of
    // them (appends made meanwhile belong to the next export).
    let checkpoints = ledger.checkpoints()?;
    let latest = match checkpoints.last() {
        Some(cp) => cp.clone(),
        None => ledger.checkpoint()?,
    };
    let header = ExportLine::Header {
        format: FORMAT.into(),
        origin: latest.origin.clone(),
        vkey: vkey.into(),
        events: latest.size,
        checkpoints: checkpoints.len() as u64,
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string(&header).map_err(|e| LedgerError::Encoding(e.to_string()))?
    )
    .map_err(io)?;
    for cp in checkpoints {
        let line = ExportLine::Checkpoint {
            size: cp.size,
            note: cp.note,
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&line).map_err(|e| LedgerError::Encoding(e.to_string()))?
        )
        .map_err(io)?;
    }
    let mut from = 0;
    while from < latest.size {
        let page = ledger.events(from, 4096.min(latest.size - from))?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            // The stored bytes are canonical JSON already: embed them verbatim.
            write!(
                out,
                "{{\"record\":\"event\",\"index\":{},\"leaf_hash\":\"{}\",\"event\":",
                e.index,
                hex::encode(e.leaf_hash)
            )
            .map_err(io)?;
            out.write_all(&e.bytes).map_err(io)?;
            out.write_all(b"}\n").map_err(io)?;
        }
        from = page.last().map_or(latest.size, |e| e.index + 1);
    }
    out.flush().map_err(io)?;
    Ok(from)
}

/// Reads every event of an export (checkpoints and header are skipped).
pub fn read_events(reader: impl BufRead) -> Result<Vec<Envelope>, ExportError> {
    let mut events = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let err = |message: String| ExportError {
            line: n as u64 + 1,
            message,
        };
        let line = line.map_err(|e| err(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        if let ExportLine::Event { event, .. } =
            serde_json::from_str(&line).map_err(|e| err(e.to_string()))?
        {
            events.push(serde_json::from_str(event.get()).map_err(|e| err(e.to_string()))?);
        }
    }
    Ok(events)
}
