//! Verifying a module's signature against the keys a node knows.
//!
//! The order of checks keeps every cause distinct: the module must be a
//! module; it must carry a signature (embedded first, or detached); the
//! signature data must decode; some signature must verify under one of the
//! given keys over a set of hashes containing the SHA-256 of the module's
//! signed bytes. A valid signature over other hashes means the module was
//! altered after signing; no valid signature at all means a wrong key or a
//! forged signature.
//!
//! Defends against: unsigned or foreign-signed code reaching the compiler,
//! a single changed byte (any change alters the hash or breaks the
//! framing; a changed key id makes its signature count for no key), trust in
//! key ids (a matching id only selects which key to check; the check itself
//! is always cryptographic), and work amplification (at most `keys × 256`
//! signature checks).

use super::SigningError;
use super::hash::{hash_of, sha256};
use super::keys::PublicKey;
use super::section::SignatureData;
use super::wasm::{misplaced_signature, split};

/// A module whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed it (one of the keys given).
    pub signer: PublicKey,
    /// The signer's key id.
    pub key_id: String,
    /// The module hash (see [`module_hash`](super::module_hash)).
    pub module_hash: String,
}

/// Verifies `module`'s embedded signature, or the `detached` one, against
/// `keys`, and says which of them signed it (the first in `keys` order; see
/// [`signers`] for all of them).
pub fn verify(
    module: &[u8],
    detached: Option<&[u8]>,
    keys: &[PublicKey],
) -> Result<Verified, SigningError> {
    signers(module, detached, keys).map(|mut all| all.swap_remove(0))
}

/// Every key of `keys` whose signature covers `module` (embedded, or the
/// `detached` one), in `keys` order without repeats; an error when none
/// does. Callers that attribute a run to one signer choose among these by
/// a rule that does not depend on the order of `keys`.
pub fn signers(
    module: &[u8],
    detached: Option<&[u8]>,
    keys: &[PublicKey],
) -> Result<Vec<Verified>, SigningError> {
    let parts = split(module)?;
    let (payload, signed) = match (detached, parts.signature) {
        (Some(d), _) => (d, parts.sections),
        (None, Some(p)) => (p, parts.rest),
        (None, None) => return Err(not_signed(parts.sections)),
    };
    let data = SignatureData::decode(payload)?;
    if data.signature_count() == 0 {
        return Err(SigningError::MalformedSignature(
            "it holds no signatures".into(),
        ));
    }
    if keys.is_empty() {
        return Err(SigningError::NoKeys);
    }
    let hash = sha256(signed);
    let mut found: Vec<Verified> = Vec::new();
    for key in keys {
        if found.iter().any(|v| v.signer == *key) {
            continue;
        }
        let signed_it = data
            .sets
            .iter()
            .filter(|set| set.hashes.contains(&hash))
            .any(|set| set.signed_by(key));
        if signed_it {
            found.push(Verified {
                signer: key.clone(),
                key_id: key.key_id(),
                module_hash: hash_of(&parts),
            });
        }
    }
    if !found.is_empty() {
        return Ok(found);
    }
    for key in keys {
        let signed_other = data
            .sets
            .iter()
            .filter(|set| !set.hashes.contains(&hash))
            .any(|set| set.signed_by(key));
        if signed_other {
            return Err(SigningError::HashMismatch {
                key_id: key.key_id(),
            });
        }
    }
    let mut key_ids: Vec<String> = Vec::with_capacity(keys.len());
    for id in keys.iter().map(PublicKey::key_id) {
        if !key_ids.contains(&id) {
            key_ids.push(id);
        }
    }
    Err(SigningError::BadSignature { key_ids })
}

/// Why a module without a leading signature section is unsigned.
fn not_signed(sections: &[u8]) -> SigningError {
    match misplaced_signature(sections) {
        Some(index) => SigningError::MalformedSignature(format!(
            "a `signature` section is at position {index}, but it must be the module's \
             first section"
        )),
        None => SigningError::NotSigned,
    }
}
