//! RFC 8785 (JSON Canonicalization Scheme) bytes of any `Serialize` value.
//!
//! The ledger hashes and signs bytes, not values: the Merkle leaf of an event
//! is the canonical bytes of its envelope. JCS makes those bytes a pure
//! function of the value (object members sorted by UTF-16 code units, no
//! whitespace, ECMAScript number and string forms), so a buyer, an auditor and
//! the node all derive the same hash from the same event, in any language.
//!
//! What this guards against: two encodings of one event (key order,
//! whitespace, escapes) hashing differently, and a stored event whose bytes
//! were edited into another valid-looking JSON text. The implementation is the
//! `serde_json_canonicalizer` crate, checked against the RFC's own examples in
//! this crate's tests. Ledger events carry no floats; integers are written as
//! plain decimal integers.

use serde::Serialize;

/// Why a value could not be canonicalised.
#[derive(Debug, thiserror::Error)]
#[error("cannot write canonical JSON: {0} (values must be JSON without NaN or infinities)")]
pub struct CanonicalError(#[from] serde_json::Error);

/// The RFC 8785 canonical JSON bytes of `value`.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    Ok(serde_json_canonicalizer::to_vec(value)?)
}

/// The RFC 8785 canonical JSON text of `value`.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, CanonicalError> {
    Ok(serde_json_canonicalizer::to_string(value)?)
}

/// Re-encodes JSON text canonically (parse, then [`to_vec`]).
pub fn canonicalise_text(json: &str) -> Result<Vec<u8>, CanonicalError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    to_vec(&value)
}
