//! The ledger store: the [`Ledger`] trait and its embedded SQLite backend.
//!
//! [`SqliteLedger`] keeps events, checkpoints and private audit records in one
//! SQLite file in WAL mode with `synchronous=FULL`. One writer thread group-
//! commits concurrent appends: each batch is one transaction holding its
//! events, their private records and the new signed checkpoint, and every
//! caller in the batch returns only after that transaction is durable.
//!
//! What this guards against: output released for a run that was never
//! recorded (an append returns only when its event is on disk under a signed
//! checkpoint), half-written events (one transaction per batch), two events
//! with one id (the id is the billing idempotency key), and a private record
//! that does not match its event's commitment.

mod schema;
mod sqlite;
mod writer;

pub use sqlite::SqliteLedger;

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::event::{Envelope, EventError};
use crate::merkle::{Hash, MerkleError};
use crate::receipt::Receipt;

/// An event as stored: its index, its canonical bytes and the parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Ledger index (= `envelope.sequence`).
    pub index: u64,
    /// The canonical bytes (the Merkle leaf input).
    pub bytes: Vec<u8>,
    /// The parsed event.
    pub envelope: Envelope,
    /// `SHA-256(0x00 || bytes)`.
    pub leaf_hash: Hash,
}

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite refused or failed.
    #[error("ledger storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The event breaks the format.
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
    /// An event with this id is already recorded.
    #[error(
        "an event with id {0} is already recorded; event ids are idempotency keys, fetch it with event_by_id"
    )]
    DuplicateEvent(String),
    /// The private record does not match the event's `audit_commitment`.
    #[error("private audit record refused: {0}")]
    AuditRecord(String),
    /// Another process has the ledger open for writing.
    #[error("the ledger is locked: {0}")]
    Locked(String),
    /// The file was created with another node key.
    #[error("the ledger was created by key {stored}, not {given}; open it with its own node key")]
    KeyMismatch {
        /// The key recorded in the file.
        stored: String,
        /// The key given to open it.
        given: String,
    },
    /// The stored log does not match its own signed checkpoint.
    #[error(
        "the ledger file is inconsistent: {0}; run `sluice ledger verify` to find the first bad event"
    )]
    Corrupt(String),
    /// No event at that index or id.
    #[error("no event at index {0}")]
    NotFound(u64),
    /// A proof was asked for sizes or indexes the log does not have.
    #[error(transparent)]
    Proof(#[from] MerkleError),
    /// A checkpoint could not be signed or opened.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// An event could not be encoded or decoded.
    #[error("event encoding: {0}")]
    Encoding(String),
    /// The batch's transaction failed; nothing of it was written.
    #[error(
        "the event was not recorded: {0}; nothing of its batch was written, so it is safe to retry"
    )]
    WriteFailed(String),
    /// The writer has stopped (after a panic or at shutdown).
    #[error("the ledger writer has stopped; reopen the ledger")]
    Closed,
}

impl LedgerError {
    /// Stable code for callers that branch.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Storage(_) => "ledger.storage",
            LedgerError::InvalidEvent(_) => "ledger.invalid-event",
            LedgerError::DuplicateEvent(_) => "ledger.duplicate-event",
            LedgerError::AuditRecord(_) => "ledger.audit-record",
            LedgerError::Locked(_) => "ledger.locked",
            LedgerError::KeyMismatch { .. } => "ledger.key-mismatch",
            LedgerError::Corrupt(_) => "ledger.corrupt",
            LedgerError::NotFound(_) => "ledger.not-found",
            LedgerError::Proof(_) => "ledger.bad-proof-request",
            LedgerError::Checkpoint(_) => "ledger.checkpoint",
            LedgerError::Encoding(_) => "ledger.encoding",
            LedgerError::WriteFailed(_) => "ledger.write-failed",
            LedgerError::Closed => "ledger.closed",
        }
    }
}

/// A tamper-evident, append-only event log.
pub trait Ledger: Send + Sync {
    /// Appends `event` (its `sequence` is set here) with its private audit
    /// record, durably (fsync'd) and under a new signed checkpoint covering
    /// it, and returns the receipt. Concurrent callers are group-committed in
    /// one transaction; none returns before its batch is durable.
    fn append(&self, event: Envelope, private: Option<Vec<u8>>) -> Result<Receipt, LedgerError>;
    /// Number of events.
    fn len(&self) -> Result<u64, LedgerError>;
    /// True when the ledger holds no events.
    fn is_empty(&self) -> Result<bool, LedgerError> {
        Ok(self.len()? == 0)
    }
    /// The event at `index`.
    fn event(&self, index: u64) -> Result<Option<StoredEvent>, LedgerError>;
    /// The event with id `id`.
    fn event_by_id(&self, id: &str) -> Result<Option<StoredEvent>, LedgerError>;
    /// Up to `limit` events from index `from` on.
    fn events(&self, from: u64, limit: u64) -> Result<Vec<StoredEvent>, LedgerError>;
    /// The latest signed checkpoint.
    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError>;
    /// Every stored checkpoint, oldest first, as stored (signatures are not
    /// re-checked here: [`crate::verify`] does that).
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError>;
    /// A receipt for event `index` against the latest checkpoint.
    fn receipt(&self, index: u64) -> Result<Receipt, LedgerError>;
    /// The inclusion proof of `index` in the tree of the first `size` events.
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError>;
    /// The consistency proof from the tree of `from` events to that of `to`.
    fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError>;
    /// The private audit record of event `event_id`, if one was stored.
    fn private_record(&self, event_id: &str) -> Result<Option<Vec<u8>>, LedgerError>;
}
