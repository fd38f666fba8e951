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

/// True when `bytes` is the canonical encoding of `event`.
///
/// Fast path: serde_json's compact output, canonical because every event
/// struct declares its fields in RFC 8785 key order, keys are ASCII, events
/// hold no floats, and serde_json escapes strings exactly as RFC 8785 does.
/// When the fast path disagrees, the RFC 8785 encoder decides.
pub(crate) fn is_canonical_event(event: &crate::event::Envelope, bytes: &[u8]) -> bool {
    serde_json::to_vec(event).is_ok_and(|fast| fast == bytes)
        || to_vec(event).is_ok_and(|slow| slow == bytes)
}
