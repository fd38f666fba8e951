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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase", deny_unknown_fields)]
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
        /// The event (its canonical encoding is the leaf input).
        event: serde_json::Value,
    },
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
    let checkpoints = ledger.checkpoints()?;
    let latest = ledger.checkpoint()?;
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
            events.push(serde_json::from_value(event).map_err(|e| err(e.to_string()))?);
        }
    }
    Ok(events)
}
