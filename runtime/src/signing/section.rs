//! The signature section's payload: the WebAssembly tool-conventions
//! signature format, byte for byte as `wasmsign2` writes it.
//!
//! ```text
//! payload    = version:u8(0x01) content_type:u8(0x01) hash_fn:u8(0x01 = SHA-256)
//!              count:varuint32 (len:varuint32 signed_hashes)*
//! signed_hashes = count:varuint32 hash:[u8; 32]*
//!                 count:varuint32 (len:varuint32 signature)*
//! signature  = key_id_len:varuint32 key_id:[u8]* (empty = no key id)
//!              alg:u8 (0x01 = Ed25519) len:varuint32 sig:[u8]*
//! signed message = "wasmsig" ‖ version ‖ content_type ‖ hash_fn ‖ hash*
//! ```
//!
//! A set of hashes is signed together; a module verifies when a valid
//! signature covers a set that contains the SHA-256 of its signed bytes.
//!
//! Defends against hostile payloads: every count is capped before anything
//! is allocated (64 hash sets, 64 hashes per set, 256 signatures in all),
//! every length is checked against what is left, trailing bytes are
//! refused, and errors say which field of which set was wrong. Signatures
//! with algorithms other than Ed25519 are kept (so co-signing preserves
//! them) but never trusted. The key id in a signature is not itself signed;
//! a signature naming a key id is therefore only checked against the key
//! with that id, so a changed key id invalidates the signature.

use super::SigningError;
use super::keys::{ED25519_PK_ID, PublicKey, SecretKey};
use super::reader::{Reader, put_slice, put_var};

/// Specification version of the format.
const VERSION: u8 = 0x01;
/// Content type: a WebAssembly module (components use the same value).
const CONTENT_TYPE: u8 = 0x01;
/// Hash function: SHA-256.
const HASH_FN: u8 = 0x01;
/// Domain separation prefix of the signed message.
const DOMAIN: &[u8] = b"wasmsig";
/// At most this many sets of signed hashes (as `wasmsign2`).
pub(super) const MAX_SETS: usize = 64;
/// At most this many hashes in one set (as `wasmsign2`).
pub(super) const MAX_HASHES: usize = 64;
/// At most this many signatures in the whole section: bounds the work of
/// verification to `keys × 256` signature checks.
pub(super) const MAX_SIGNATURES: usize = 256;

/// A decoded signature section payload.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct SignatureData {
    /// The sets of hashes and their signatures.
    pub sets: Vec<SignedHashes>,
}

/// Hashes signed together, and the signatures over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SignedHashes {
    /// SHA-256 hashes.
    pub hashes: Vec<[u8; 32]>,
    /// Signatures over [`SignedHashes::message`].
    pub signatures: Vec<Signature>,
}

/// One signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Signature {
    /// Identifier of the signing key, if recorded.
    pub key_id: Option<Vec<u8>>,
    /// Algorithm id (0x01 is Ed25519).
    pub alg: u8,
    /// Signature bytes (64 for Ed25519).
    pub bytes: Vec<u8>,
}

impl Signature {
    /// The Ed25519 signature, if this is one.
    pub(super) fn ed25519(&self) -> Option<&[u8; 64]> {
        if self.alg != ED25519_PK_ID {
            return None;
        }
        <&[u8; 64]>::try_from(self.bytes.as_slice()).ok()
    }
}

impl SignedHashes {
    /// The message the signatures sign.
    pub(super) fn message(&self) -> Vec<u8> {
        let mut msg = Vec::with_capacity(DOMAIN.len() + 3 + 32 * self.hashes.len());
        msg.extend_from_slice(DOMAIN);
        msg.extend_from_slice(&[VERSION, CONTENT_TYPE, HASH_FN]);
        for h in &self.hashes {
            msg.extend_from_slice(h);
        }
        msg
    }

    /// True when `key` made a valid signature over this set. A signature
    /// that names a key id counts only for the key with that id (as in
    /// `wasmsign2` for keys with an id), so even the unsigned key-id bytes
    /// cannot be altered unnoticed.
    pub(super) fn signed_by(&self, key: &PublicKey) -> bool {
        let msg = self.message();
        let id = key.key_id_bytes();
        self.signatures
            .iter()
            .filter(|sig| sig.key_id.as_deref().is_none_or(|k| k == id))
            .filter_map(Signature::ed25519)
            .any(|sig| key.verifies(&msg, sig))
    }
}

impl SignatureData {
    /// Adds `key`'s signature over `hash`: to the set holding exactly that
    /// hash if there is one, else as a new set. Signing twice with the same
    /// key changes nothing (Ed25519 signatures are deterministic).
    pub(super) fn add(&mut self, hash: [u8; 32], key: &SecretKey) -> Result<(), SigningError> {
        let public = key.public();
        let index = match self.sets.iter().position(|s| s.hashes == [hash]) {
            Some(i) => i,
            None => {
                if self.sets.len() >= MAX_SETS {
                    return Err(SigningError::MalformedSignature(format!(
                        "it already holds {MAX_SETS} sets of hashes, the most allowed"
                    )));
                }
                self.sets.push(SignedHashes {
                    hashes: vec![hash],
                    signatures: Vec::new(),
                });
                self.sets.len() - 1
            }
        };
        let set = &mut self.sets[index];
        let signature = Signature {
            key_id: Some(public.key_id_bytes().to_vec()),
            alg: ED25519_PK_ID,
            bytes: key.sign_raw(&set.message()).to_vec(),
        };
        if set.signatures.iter().any(|s| s.bytes == signature.bytes) {
            return Ok(());
        }
        let total: usize = self.sets.iter().map(|s| s.signatures.len()).sum();
        if total >= MAX_SIGNATURES {
            return Err(SigningError::MalformedSignature(format!(
                "it already holds {MAX_SIGNATURES} signatures, the most allowed"
            )));
        }
        self.sets[index].signatures.push(signature);
        Ok(())
    }

    /// Number of signatures in all sets.
    pub(super) fn signature_count(&self) -> usize {
        self.sets.iter().map(|s| s.signatures.len()).sum()
    }

    /// The payload bytes.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION, CONTENT_TYPE, HASH_FN];
        put_var(&mut out, self.sets.len() as u64);
        for set in &self.sets {
            let mut s = Vec::new();
            put_var(&mut s, set.hashes.len() as u64);
            for h in &set.hashes {
                s.extend_from_slice(h);
            }
            put_var(&mut s, set.signatures.len() as u64);
            for sig in &set.signatures {
                let mut e = Vec::with_capacity(sig.bytes.len() + 32);
                put_slice(&mut e, sig.key_id.as_deref().unwrap_or_default());
                e.push(sig.alg);
                put_slice(&mut e, &sig.bytes);
                put_slice(&mut s, &e);
            }
            put_slice(&mut out, &s);
        }
        out
    }

    /// Decodes a payload.
    pub(super) fn decode(payload: &[u8]) -> Result<Self, SigningError> {
        decode(payload).map_err(SigningError::MalformedSignature)
    }
}

fn decode(payload: &[u8]) -> Result<SignatureData, String> {
    let mut r = Reader::new(payload);
    expect(&mut r, "specification version", VERSION)?;
    expect(&mut r, "content type", CONTENT_TYPE)?;
    expect(&mut r, "hash function", HASH_FN)?;
    let count = r.var_u32("number of hash sets")? as usize;
    if count > MAX_SETS {
        return Err(format!(
            "{count} hash sets, more than the {MAX_SETS} allowed"
        ));
    }
    let mut data = SignatureData {
        sets: Vec::with_capacity(count),
    };
    let mut total = 0;
    for i in 0..count {
        let bytes = r.slice(&format!("hash set {i}"))?;
        let set = decode_set(bytes, &mut total).map_err(|e| format!("hash set {i}: {e}"))?;
        data.sets.push(set);
    }
    trailing(&r, "the last hash set")?;
    Ok(data)
}

fn decode_set(bytes: &[u8], total: &mut usize) -> Result<SignedHashes, String> {
    let mut r = Reader::new(bytes);
    let count = r.var_u32("number of hashes")? as usize;
    if count > MAX_HASHES {
        return Err(format!(
            "{count} hashes, more than the {MAX_HASHES} allowed"
        ));
    }
    let mut hashes = Vec::with_capacity(count);
    for i in 0..count {
        let h = r.bytes(32, &format!("hash {i}"))?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(h);
        hashes.push(hash);
    }
    let count = r.var_u32("number of signatures")? as usize;
    *total = total.saturating_add(count);
    if *total > MAX_SIGNATURES {
        return Err(format!(
            "more than the {MAX_SIGNATURES} signatures allowed in a section"
        ));
    }
    let mut signatures = Vec::with_capacity(count);
    for i in 0..count {
        let entry = r.slice(&format!("signature {i}"))?;
        let sig = decode_signature(entry).map_err(|e| format!("signature {i}: {e}"))?;
        signatures.push(sig);
    }
    trailing(&r, "the last signature")?;
    Ok(SignedHashes { hashes, signatures })
}

fn decode_signature(bytes: &[u8]) -> Result<Signature, String> {
    let mut r = Reader::new(bytes);
    let key_id = r.slice("key id")?;
    let alg = r.byte("algorithm id")?;
    let sig = r.slice("signature bytes")?;
    if alg == ED25519_PK_ID && sig.len() != 64 {
        return Err(format!(
            "an Ed25519 signature has 64 bytes, this one has {}",
            sig.len()
        ));
    }
    trailing(&r, "the signature bytes")?;
    Ok(Signature {
        key_id: (!key_id.is_empty()).then(|| key_id.to_vec()),
        alg,
        bytes: sig.to_vec(),
    })
}

fn expect(r: &mut Reader<'_>, what: &str, want: u8) -> Result<(), String> {
    let got = r.byte(what)?;
    if got != want {
        return Err(format!(
            "unsupported {what} 0x{got:02x} (Sluice reads 0x{want:02x})"
        ));
    }
    Ok(())
}

fn trailing(r: &Reader<'_>, after: &str) -> Result<(), String> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} unexpected bytes after {after} (at byte {})",
            r.remaining(),
            r.position()
        ))
    }
}
