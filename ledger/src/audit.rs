//! Private audit records and the salted commitment that ties them to events.
//!
//! A run's private record holds what buyers must not see but auditors must be
//! able to check later: exact figures behind rounded ones, the output hash of
//! a withheld run, differential-privacy noise draws and pre-noise values. It
//! is stored next to the event, in the same transaction, in a table that is
//! not part of the Merkle log; the event carries
//! `audit_commitment = hex(SHA-256("sluice.audit.v1\n" || record bytes))`.
//!
//! What this guards against: swapping the record later (the commitment is in
//! the signed log) and guessing it from the commitment (the record carries a
//! 32-byte random salt, so low-entropy figures such as a fuel count cannot be
//! brute-forced from the hash).

use serde::{Deserialize, Serialize};
use sha2_v011::{Digest, Sha256};

const DOMAIN: &[u8] = b"sluice.audit.v1\n";

/// Why a private record was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The record is not `{"salt": <64 hex>, "data": ...}` JSON.
    #[error("malformed private audit record: {0}")]
    Malformed(String),
    /// The operating system gave no randomness for the salt.
    #[error("no randomness for the audit salt: {0}")]
    Random(String),
}

/// A private audit record: a random salt and whatever the node must keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateRecord {
    /// 32 random bytes, hex.
    pub salt: String,
    /// The private figures (free-form JSON; no floats if it must hash stably).
    pub data: serde_json::Value,
}

impl PrivateRecord {
    /// Wraps `data` with a fresh random salt.
    pub fn seal(data: serde_json::Value) -> Result<Self, AuditError> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(|e| AuditError::Random(e.to_string()))?;
        Ok(PrivateRecord {
            salt: hex::encode(salt),
            data,
        })
    }

    /// The bytes to store: RFC 8785 canonical JSON.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AuditError> {
        crate::canonical::to_vec(self).map_err(|e| AuditError::Malformed(e.to_string()))
    }

    /// Reads stored bytes and checks the salt.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        let r: PrivateRecord =
            serde_json::from_slice(bytes).map_err(|e| AuditError::Malformed(e.to_string()))?;
        let salt_ok = r.salt.len() == 64 && r.salt.bytes().all(|c| c.is_ascii_hexdigit());
        if !salt_ok {
            return Err(AuditError::Malformed(
                "the salt is not 32 bytes of hex".into(),
            ));
        }
        Ok(r)
    }

    /// The commitment to put in the event's `audit_commitment`.
    pub fn commitment(&self) -> Result<String, AuditError> {
        Ok(commitment(&self.to_bytes()?))
    }
}

/// `hex(SHA-256("sluice.audit.v1\n" || record_bytes))`.
pub fn commitment(record_bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(record_bytes);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_differ_and_commitments_bind_the_bytes() {
        let data = serde_json::json!({"fuel_exact": 12345});
        let (a, b) = (
            PrivateRecord::seal(data.clone()).unwrap(),
            PrivateRecord::seal(data).unwrap(),
        );
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.commitment().unwrap(), b.commitment().unwrap());
        let bytes = a.to_bytes().unwrap();
        assert_eq!(PrivateRecord::from_bytes(&bytes).unwrap(), a);
        assert_eq!(commitment(&bytes), a.commitment().unwrap());
        assert!(PrivateRecord::from_bytes(br#"{"salt":"00","data":1}"#).is_err());
    }
}
