//! Receipts: an event, its index, a signed checkpoint and an inclusion proof,
//! verifiable offline with nothing but the node's public key.
//!
//! Verification recomputes the event's canonical bytes, checks them against
//! the receipt's leaf hash and index, opens the checkpoint with the node's
//! verifier key, and walks the inclusion proof from the leaf to the
//! checkpoint's root.
//!
//! What this guards against: a buyer holding a receipt for a run the node
//! later denies, or a receipt edited after the fact. Any changed field (a
//! figure in the event, the index, the leaf hash, the checkpoint, a proof
//! hash) fails with an error naming what did not check out.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, NoteVerifier, SignedCheckpoint};
use crate::event::Envelope;
use crate::merkle::{self, Hash, MerkleError};

/// What a caller gets for a recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The event as recorded.
    pub event: Envelope,
    /// Its ledger index (equal to `event.sequence`).
    pub index: u64,
    /// Hex `SHA-256(0x00 || canonical bytes of event)`.
    pub leaf_hash: String,
    /// The signed checkpoint note the proof leads to.
    pub checkpoint: String,
    /// Hex hashes of the RFC 6962 audit path from the leaf to the checkpoint's root.
    pub inclusion_proof: Vec<String>,
}

/// What a verified receipt establishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedReceipt {
    /// The event id.
    pub event_id: String,
    /// The event's ledger index.
    pub index: u64,
    /// The log (checkpoint origin).
    pub origin: String,
    /// Size of the checkpointed tree.
    pub tree_size: u64,
    /// Root of the checkpointed tree (hex).
    pub root: String,
}

/// Why a receipt does not verify.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ReceiptError {
    /// The event cannot be encoded canonically.
    #[error("the receipt's event cannot be encoded: {0}")]
    BadEvent(String),
    /// `index` differs from the event's `sequence`.
    #[error(
        "the receipt's index {index} differs from the event's sequence {sequence}: one of them was altered"
    )]
    IndexMismatch {
        /// The receipt's index.
        index: u64,
        /// The event's sequence.
        sequence: u64,
    },
    /// `leaf_hash` or a proof hash is not 64 hex digits.
    #[error("the receipt's {0} is not a 64-digit hex hash")]
    BadHash(&'static str),
    /// The event's bytes do not hash to `leaf_hash`.
    #[error(
        "the event does not hash to the receipt's leaf hash: the event or the leaf hash was altered"
    )]
    LeafMismatch,
    /// The checkpoint did not open with the node's key.
    #[error("the receipt's checkpoint does not verify: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The index is not inside the checkpointed tree.
    #[error("index {index} is outside the checkpoint's tree of {size} events")]
    OutsideCheckpoint {
        /// The receipt's index.
        index: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The proof does not lead from the leaf to the checkpoint's root.
    #[error("the inclusion proof does not lead to the checkpoint's root: {0}")]
    Proof(MerkleError),
}

impl ReceiptError {
    /// Stable code for callers that branch.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::BadEvent(_) => "receipt.bad-event",
            ReceiptError::IndexMismatch { .. } => "receipt.index-mismatch",
            ReceiptError::BadHash(_) => "receipt.bad-hash",
            ReceiptError::LeafMismatch => "receipt.leaf-mismatch",
            ReceiptError::Checkpoint(_) => "receipt.bad-checkpoint",
            ReceiptError::OutsideCheckpoint { .. } => "receipt.outside-checkpoint",
            ReceiptError::Proof(_) => "receipt.bad-proof",
        }
    }
}

fn parse_hash(text: &str, what: &'static str) -> Result<Hash, ReceiptError> {
    let ok = text.len() == 64 && text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| hex::decode(text).ok().and_then(|v| v.try_into().ok()))
        .flatten()
        .ok_or(ReceiptError::BadHash(what))
}

/// Verifies `r` against the node's verifier key.
pub fn verify_receipt(r: &Receipt, node: &NoteVerifier) -> Result<VerifiedReceipt, ReceiptError> {
    if r.event.sequence != r.index {
        return Err(ReceiptError::IndexMismatch {
            index: r.index,
            sequence: r.event.sequence,
        });
    }
    let bytes =
        crate::canonical::to_vec(&r.event).map_err(|e| ReceiptError::BadEvent(e.to_string()))?;
    if merkle::leaf_hash(&bytes) != parse_hash(&r.leaf_hash, "leaf hash")? {
        return Err(ReceiptError::LeafMismatch);
    }
    let cp = SignedCheckpoint::open(&r.checkpoint, node)?;
    if r.index >= cp.size {
        return Err(ReceiptError::OutsideCheckpoint {
            index: r.index,
            size: cp.size,
        });
    }
    let proof = r
        .inclusion_proof
        .iter()
        .map(|h| parse_hash(h, "inclusion proof"))
        .collect::<Result<Vec<_>, _>>()?;
    merkle::verify_inclusion(&bytes, r.index, cp.size, &cp.root, &proof)
        .map_err(ReceiptError::Proof)?;
    Ok(VerifiedReceipt {
        event_id: r.event.id.clone(),
        index: r.index,
        origin: cp.origin,
        tree_size: cp.size,
        root: hex::encode(cp.root),
    })
}

impl Receipt {
    /// Builds a receipt from its parts.
    pub fn new(event: Envelope, leaf: Hash, checkpoint: &SignedCheckpoint, proof: &[Hash]) -> Self {
        Receipt {
            index: event.sequence,
            event,
            leaf_hash: hex::encode(leaf),
            checkpoint: checkpoint.note.clone(),
            inclusion_proof: proof.iter().map(hex::encode).collect(),
        }
    }

    /// Verifies the receipt (see [`verify_receipt`]).
    pub fn verify(&self, node: &NoteVerifier) -> Result<VerifiedReceipt, ReceiptError> {
        verify_receipt(self, node)
    }
}
