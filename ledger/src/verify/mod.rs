//! Whole-ledger audit: every event, the tree, every stored checkpoint.
//!
//! Checked, in one pass over the events in index order:
//! - the stored index is the next expected one (a gap is a removed event);
//! - the body parses as an event whose `sequence` is its index (a moved or
//!   swapped event fails here) and whose id was not seen before;
//! - the body is exactly the canonical encoding of the parsed event;
//! - the stored leaf hash, if any, is `SHA-256(0x00 || body)`;
//! - the tree rebuilt from the bodies has, at every stored checkpoint's size,
//!   that checkpoint's root; and every checkpoint's note is signed by the
//!   node's key, for this log, and says what its columns say.
//!
//! Because every checkpoint root is recomputed from the same sequence of
//! leaves, matching roots also prove that successive checkpoints are
//! consistent (each extends the one before). Events after the latest
//! checkpoint are reported: every committed batch carries its checkpoint in
//! the same transaction, so such events were inserted by hand.
//!
//! How it keeps up (see benches/RESULTS.md, "Ledger"): the per-event checks
//! run on every core (`checks`), canonical bodies take a one-pass fast path
//! with the same verdict (`fast`), each body is hashed once and that hash
//! feeds the tree (a frontier of subtree roots, not a full tree), and
//! checkpoint signatures are verified in batches.
//!
//! What this guards against: any changed, removed, reordered or inserted
//! event, and any forged or edited checkpoint. The report names the first bad
//! index: exactly, when a check on the event itself fails; otherwise (an edit
//! that also fixed the stored leaf hash) the first index not vouched for by a
//! matching checkpoint.

mod checks;
mod engine;
mod fast;
mod sources;

pub use sources::{verify_export, verify_ledger, verify_sqlite};

use serde::Serialize;

/// One thing wrong with a ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable code, e.g. `verify.leaf-hash-mismatch`.
    pub code: &'static str,
    /// The event index concerned, if one.
    pub index: Option<u64>,
    /// The checkpoint (by tree size) concerned, if one.
    pub checkpoint: Option<u64>,
    /// What is wrong, for people.
    pub message: String,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events read.
    pub events: u64,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// True when nothing is wrong.
    pub ok: bool,
    /// The first index that cannot be trusted.
    pub first_bad_index: Option<u64>,
    /// The first (smallest) checkpoint that is forged, edited or does not match.
    pub bad_checkpoint: Option<u64>,
    /// Hex root of the latest checkpoint that verified, if any.
    pub verified_root: Option<String>,
    /// Size of that checkpoint.
    pub verified_size: Option<u64>,
    /// What is wrong (at most [`MAX_PROBLEMS`]; later ones are counted in `more_problems`).
    pub problems: Vec<Problem>,
    /// Problems beyond the listed ones.
    pub more_problems: u64,
}

/// Most problems listed in a report.
pub const MAX_PROBLEMS: usize = 100;

/// Why an audit could not run at all (as opposed to finding problems).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The SQLite file could not be read.
    #[error("cannot read the ledger file: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The export could not be read.
    #[error("cannot read the export at line {line}: {message}")]
    Export {
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// The ledger backend failed.
    #[error(transparent)]
    Ledger(#[from] crate::store::LedgerError),
}
