//! Signing a module: embedded in a leading signature section, or detached.
//!
//! The signature covers the SHA-256 of every byte after the preamble and
//! the signature section, as the tool-conventions format specifies; the
//! rest of the module is copied verbatim, never re-encoded, so signing
//! cannot change what gets compiled. Signatures already in the module are
//! kept (co-signing), so a malformed existing section is refused rather
//! than silently dropped.

use super::SigningError;
use super::hash::sha256;
use super::keys::SecretKey;
use super::section::SignatureData;
use super::wasm::{signature_section, split};

/// The module with `key`'s signature embedded in its signature section,
/// which is placed first (created if missing; other signatures are kept).
pub fn sign(module: &[u8], key: &SecretKey) -> Result<Vec<u8>, SigningError> {
    let parts = split(module)?;
    let mut data = match parts.signature {
        Some(payload) => SignatureData::decode(payload).map_err(|e| match e {
            SigningError::MalformedSignature(m) => SigningError::MalformedSignature(format!(
                "{m} (the module's existing signatures cannot be kept; strip them first)"
            )),
            other => other,
        })?,
        None => SignatureData::default(),
    };
    data.add(sha256(parts.rest), key)?;
    let section = signature_section(&data.encode());
    let mut out = Vec::with_capacity(parts.preamble.len() + section.len() + parts.rest.len());
    out.extend_from_slice(parts.preamble);
    out.extend_from_slice(&section);
    out.extend_from_slice(parts.rest);
    Ok(out)
}

/// A detached signature of `module`: the payload a signature section would
/// hold, covering every byte of the module after its preamble (an embedded
/// signature section included, if there is one). Verify it with
/// [`verify`](fn@super::verify) given the same module bytes.
pub fn sign_detached(module: &[u8], key: &SecretKey) -> Result<Vec<u8>, SigningError> {
    let parts = split(module)?;
    let mut data = SignatureData::default();
    data.add(sha256(parts.sections), key)?;
    Ok(data.encode())
}
