//! Signed checkpoints: the C2SP `tlog-checkpoint` body in a C2SP signed note.
//!
//! A checkpoint body is three lines, `<origin>\n<tree size>\n<base64 root>\n`;
//! the node signs it as a note with its Ed25519 key, whose name is the origin
//! (`sluice.node/<node key id>` by default). Example:
//!
//! ```text
//! sluice.node/5f1c0e2a
//! 3
//! rvMM9pA1cLOSwmkyAhJCQL4Zqw3bFnT/mFGt/S/Gxe0=
//!
//! — sluice.node/5f1c0e2a Wz1ZV2...
//! ```
//!
//! What this guards against: a node quietly rewriting its history. Every
//! receipt carries a checkpoint; two checkpoints the same node signed either
//! extend each other (a consistency proof shows it) or prove the node forked
//! its log. Opening a checkpoint checks the signature, then the body's form,
//! then that the origin is the key's name.

mod note;
#[cfg(test)]
mod tests;

pub use note::{NoteError, NoteSigner, NoteVerifier};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::merkle::Hash;

/// Why a checkpoint was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    /// The note's signature did not check out.
    #[error("checkpoint signature: {0}")]
    Note(#[from] NoteError),
    /// The signed text is not a checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// The checkpoint names another log than the verifier's.
    #[error("the checkpoint is for log {found:?}, not {expected:?}; use that log's key")]
    OriginMismatch {
        /// The verifier's name.
        expected: String,
        /// The checkpoint's origin line.
        found: String,
    },
    /// The note verifies but says something else than the fields next to it.
    #[error("the checkpoint's fields (size {size}) do not match its signed note")]
    FieldsMismatch {
        /// The size field.
        size: u64,
    },
}

impl CheckpointError {
    /// Stable code for callers that branch.
    pub fn code(&self) -> &'static str {
        match self {
            CheckpointError::Note(e) => e.code(),
            CheckpointError::Malformed(_) => "checkpoint.malformed",
            CheckpointError::OriginMismatch { .. } => "checkpoint.origin-mismatch",
            CheckpointError::FieldsMismatch { .. } => "checkpoint.fields-mismatch",
        }
    }
}

/// A checkpoint with its signed note text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// The log's origin line (the signer's name).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    #[serde(with = "hex_hash")]
    pub root: Hash,
    /// The whole signed note.
    pub note: String,
}

/// The checkpoint body text.
pub fn body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

/// Parses a checkpoint body (extension lines after the root are allowed and ignored).
pub fn parse_body(text: &str) -> Result<(String, u64, Hash), CheckpointError> {
    let bad = |m: &str| CheckpointError::Malformed(m.to_string());
    let mut lines = text.split_terminator('\n');
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| bad("no origin line"))?;
    let size = lines.next().ok_or_else(|| bad("no tree size line"))?;
    if size.is_empty()
        || !size.bytes().all(|c| c.is_ascii_digit())
        || (size.len() > 1 && size.starts_with('0'))
    {
        return Err(bad(
            "the tree size is not a decimal number without leading zeros",
        ));
    }
    let size = size
        .parse()
        .map_err(|_| bad("the tree size is too large"))?;
    let root = lines.next().ok_or_else(|| bad("no root hash line"))?;
    let root = B64
        .decode(root)
        .ok()
        .and_then(|r| Hash::try_from(r).ok())
        .ok_or_else(|| bad("the root is not base64 of 32 bytes"))?;
    Ok((origin.to_string(), size, root))
}

impl SignedCheckpoint {
    /// Signs the checkpoint `(signer name, size, root)`.
    pub fn sign(size: u64, root: Hash, signer: &NoteSigner) -> Result<Self, CheckpointError> {
        let origin = signer.name().to_string();
        let note = signer.sign(&body(&origin, size, &root))?;
        Ok(SignedCheckpoint {
            origin,
            size,
            root,
            note,
        })
    }

    /// Verifies `note` with `verifier` and reads the checkpoint it signs.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self, CheckpointError> {
        let text = verifier.open(note)?;
        Self::from_signed_text(note, text, verifier)
    }

    /// [`SignedCheckpoint::open`] of each note, with the signatures checked in
    /// batches (see [`NoteVerifier::verify_each`]). Notes that are not plainly
    /// signed once by the verifier's key, and notes whose signature fails, are
    /// opened one by one, so each result is exactly [`SignedCheckpoint::open`]'s.
    pub(crate) fn open_each(
        notes: &[&str],
        verifier: &NoteVerifier,
    ) -> Vec<Result<Self, CheckpointError>> {
        let sole: Vec<_> = notes.iter().map(|n| verifier.sole_signature(n)).collect();
        let batch: Vec<_> = sole
            .iter()
            .flatten()
            .map(|(text, sig)| (text.as_bytes(), *sig))
            .collect();
        let mut valid = verifier.verify_each(&batch).into_iter();
        notes
            .iter()
            .zip(sole)
            .map(|(note, sole)| match sole {
                Some((text, _)) if valid.next() == Some(true) => {
                    Self::from_signed_text(note, text, verifier)
                }
                _ => Self::open(note, verifier),
            })
            .collect()
    }

    /// The checkpoint in `text`, the part of `note` whose signature was checked.
    fn from_signed_text(
        note: &str,
        text: &str,
        verifier: &NoteVerifier,
    ) -> Result<Self, CheckpointError> {
        let (origin, size, root) = parse_body(text)?;
        if origin != verifier.name() {
            return Err(CheckpointError::OriginMismatch {
                expected: verifier.name().to_string(),
                found: origin,
            });
        }
        Ok(SignedCheckpoint {
            origin,
            size,
            root,
            note: note.to_string(),
        })
    }

    /// Reads a checkpoint note WITHOUT checking its signature (for display, or
    /// for rows this node wrote itself). Use [`SignedCheckpoint::open`] for
    /// anything received from elsewhere.
    pub fn parse_unverified(note: &str) -> Result<Self, CheckpointError> {
        let split = note.rfind("\n\n").ok_or_else(|| {
            CheckpointError::Malformed("no blank line before the signatures".into())
        })?;
        let (origin, size, root) = parse_body(&note[..=split])?;
        Ok(SignedCheckpoint {
            origin,
            size,
            root,
            note: note.to_string(),
        })
    }

    /// Verifies the note and that it says what this checkpoint's fields say.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), CheckpointError> {
        let opened = SignedCheckpoint::open(&self.note, verifier)?;
        if opened != *self {
            return Err(CheckpointError::FieldsMismatch { size: self.size });
        }
        Ok(())
    }
}

/// Serde helper: a hash as lower-case hex.
pub(crate) mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| D::Error::custom("expected 64 hex digits"))
    }
}
