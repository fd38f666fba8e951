//! The module hash: what approvals, the ledger and replays refer to.
//!
//! The module hash is the SHA-256 (lowercase hex) of the module with its
//! signature section removed — exactly the bytes [`strip_signature`]
//! returns and the engine compiles. So signing, re-signing or co-signing a
//! module never changes its hash, an owner's approval survives a new
//! signature, and for an unsigned module it equals `sha256sum M.wasm`.
//!
//! Defends against approving one thing and running another: the hash
//! covers the preamble and every section that reaches the compiler, and
//! only the leading `signature` section (which the compiler ignores) is
//! left out.

use sha2::{Digest, Sha256};

use super::SigningError;
use super::wasm::{Parts, split};

/// SHA-256 hex of the module without its signature section.
pub fn module_hash(module: &[u8]) -> Result<String, SigningError> {
    Ok(hash_of(&split(module)?))
}

/// The module without its signature section: what gets compiled.
pub fn strip_signature(module: &[u8]) -> Result<Vec<u8>, SigningError> {
    let parts = split(module)?;
    let mut out = Vec::with_capacity(parts.preamble.len() + parts.rest.len());
    out.extend_from_slice(parts.preamble);
    out.extend_from_slice(parts.rest);
    Ok(out)
}

/// The module hash of a split module.
pub(super) fn hash_of(parts: &Parts<'_>) -> String {
    let digest = Sha256::new()
        .chain_update(parts.preamble)
        .chain_update(parts.rest)
        .finalize();
    hex::encode(digest)
}

/// SHA-256 of `bytes`.
pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
