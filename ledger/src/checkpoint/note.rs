//! C2SP signed notes with Ed25519 keys (the format of Go's `sumdb/note`).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature
//! lines `— <name> <base64(key hash || signature)>`. The key hash is the first
//! four bytes of `SHA-256(name || "\n" || 0x01 || public key)`. A verifier key
//! is written `<name>+<key hash hex>+<base64(0x01 || public key)>`, a signer
//! key `PRIVATE+KEY+<name>+<key hash hex>+<base64(0x01 || seed)>`.
//!
//! What this guards against: forged or altered checkpoints. A note opens only
//! when a signature line names this verifier's key (name and hash) and the
//! Ed25519 signature over the exact text verifies; other signers' lines
//! (witness cosignatures) are ignored, never trusted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2_v011::{Digest, Sha256};

const ALG_ED25519: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a key or a note was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// A key name is empty, has spaces or a `+`.
    #[error("invalid key name {0:?}: a name must be non-empty, without spaces or '+'")]
    BadName(String),
    /// A verifier or signer key string is malformed.
    #[error("malformed key: {0}")]
    BadKey(String),
    /// The note's text or signature block is malformed.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// No signature line from this verifier's key.
    #[error("the note has no signature by {0}; check you have this node's public key")]
    NotSignedByKey(String),
    /// A signature line from this key does not verify.
    #[error("the signature by {0} does not verify: the note text or signature was altered")]
    BadSignature(String),
}

impl NoteError {
    /// Stable code for callers that branch.
    pub fn code(&self) -> &'static str {
        match self {
            NoteError::BadName(_) => "note.bad-name",
            NoteError::BadKey(_) => "note.bad-key",
            NoteError::Malformed(_) => "note.malformed",
            NoteError::NotSignedByKey(_) => "note.unknown-signer",
            NoteError::BadSignature(_) => "note.bad-signature",
        }
    }
}

/// The signing half of a note key: a name and an Ed25519 key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

/// The verifying half of a note key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    key: VerifyingKey,
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::BadName(name.to_string()));
    }
    Ok(())
}

/// The four-byte key hash of an Ed25519 note key.
pub(crate) fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Splits `name+hash+key` and checks the name and the hash's form.
fn split_key(text: &str) -> Result<(&str, [u8; 4], Vec<u8>), NoteError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadKey("expected <name>+<hash>+<key>".into()));
    };
    check_name(name)?;
    let id = (hash.len() == 8 && hash.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| hex::decode(hash).ok())
        .flatten()
        .ok_or_else(|| {
            NoteError::BadKey(format!("key hash {hash:?} is not 8 lower-case hex digits"))
        })?;
    let key = B64
        .decode(key)
        .map_err(|e| NoteError::BadKey(format!("key is not base64: {e}")))?;
    if key.len() != 33 || key[0] != ALG_ED25519 {
        return Err(NoteError::BadKey(
            "key is not an Ed25519 key (0x01 followed by 32 bytes)".into(),
        ));
    }
    Ok((name, [id[0], id[1], id[2], id[3]], key[1..].to_vec()))
}

impl NoteSigner {
    /// A signer named `name` (for checkpoints, the log's origin).
    pub fn new(name: impl Into<String>, key: SigningKey) -> Result<Self, NoteError> {
        let name = name.into();
        check_name(&name)?;
        Ok(NoteSigner { name, key })
    }

    /// Reads a signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::BadKey("a signer key starts with PRIVATE+KEY+".into()))?;
        let (name, id, seed) = split_key(rest)?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::BadKey("seed is not 32 bytes".into()))?;
        let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed))?;
        if key_id(name, &signer.key.verifying_key()) != id {
            return Err(NoteError::BadKey(
                "the key hash does not match the key".into(),
            ));
        }
        Ok(signer)
    }

    /// The signer key text (keep it secret).
    pub fn skey(&self) -> String {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(self.key.as_bytes());
        let id = key_id(&self.name, &self.key.verifying_key());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(id),
            B64.encode(k)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::from_key(self.name.clone(), self.key.verifying_key())
            .expect("the name was checked when the signer was made")
    }

    /// Signs `text` (which must end in a newline) and returns the whole note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = key_id(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            B64.encode(blob)
        ))
    }
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the text must end with a newline".into(),
        ));
    }
    if text.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(NoteError::Malformed(
            "the text has control characters other than newline".into(),
        ));
    }
    Ok(())
}

impl NoteVerifier {
    /// Reads a verifier key `<name>+<hash>+<base64(0x01 || public key)>`.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, key) = split_key(vkey.trim())?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::BadKey("public key is not 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|e| NoteError::BadKey(format!("not an Ed25519 point: {e}")))?;
        let v = NoteVerifier::from_key(name, key)?;
        if v.key_id != id {
            return Err(NoteError::BadKey(
                "the key hash does not match the name and key".into(),
            ));
        }
        Ok(v)
    }

    /// A verifier for `key` under `name`.
    pub fn from_key(name: impl Into<String>, key: VerifyingKey) -> Result<Self, NoteError> {
        let name = name.into();
        check_name(&name)?;
        Ok(NoteVerifier {
            key_id: key_id(&name, &key),
            name,
            key,
        })
    }

    /// The verifier key text, e.g. `sluice.node/ab12+c74f20a3+AR...`.
    pub fn vkey(&self) -> String {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            B64.encode(k)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The four-byte key hash.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Checks `note`'s signature by this key and returns the signed text.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let (text, sigs) = split_note(note)?;
        let mut found = false;
        for line in sigs.split_terminator('\n') {
            let (name, id, sig) = parse_sig_line(line)?;
            if name != self.name || id != self.key_id {
                continue;
            }
            found = true;
            if self.key.verify(text.as_bytes(), &sig).is_ok() {
                return Ok(text);
            }
        }
        Err(if found {
            NoteError::BadSignature(self.name.clone())
        } else {
            NoteError::NotSignedByKey(self.vkey())
        })
    }

    /// The signed text and this key's signature, when `note` is well formed,
    /// every signature line parses and exactly one is by this key. For such a
    /// note [`NoteVerifier::open`] returns the text if and only if that one
    /// signature verifies, so it can be checked in a batch.
    pub(crate) fn sole_signature<'a>(&self, note: &'a str) -> Option<(&'a str, Signature)> {
        let (text, sigs) = split_note(note).ok()?;
        let mut mine = None;
        for line in sigs.split_terminator('\n') {
            let (name, id, sig) = parse_sig_line(line).ok()?;
            if name == self.name && id == self.key_id && mine.replace(sig).is_some() {
                return None;
            }
        }
        mine.map(|sig| (text, sig))
    }

    /// Whether each signature by this key over its text verifies. Batches are
    /// checked together (ed25519-dalek's `verify_batch`, about three times
    /// cheaper per signature than one by one); a batch that fails is halved
    /// until every bad signature is found, single signatures are checked
    /// exactly as [`NoteVerifier::open`] checks them.
    ///
    /// A batch accepts exactly the sets in which every signature verifies,
    /// except with probability 2^-128, and except for signatures crafted by
    /// the holder of the private key (a nonce point with a small-order
    /// component or a non-canonical encoding), who can sign anything anyway.
    pub(crate) fn verify_each(&self, items: &[(&[u8], Signature)]) -> Vec<bool> {
        let mut ok = vec![false; items.len()];
        self.verify_into(items, &mut ok);
        ok
    }

    fn verify_into(&self, items: &[(&[u8], Signature)], ok: &mut [bool]) {
        match items {
            [] => return,
            [(text, sig)] => {
                ok[0] = self.key.verify(text, sig).is_ok();
                return;
            }
            _ => {}
        }
        let texts: Vec<&[u8]> = items.iter().map(|(t, _)| *t).collect();
        let sigs: Vec<Signature> = items.iter().map(|(_, s)| *s).collect();
        if ed25519_dalek::verify_batch(&texts, &sigs, &vec![self.key; items.len()]).is_ok() {
            ok.fill(true);
            return;
        }
        let half = items.len() / 2;
        let (left, right) = ok.split_at_mut(half);
        self.verify_into(&items[..half], left);
        self.verify_into(&items[half..], right);
    }
}

/// Splits a note into its signed text and its signature block, checking the form of both.
fn split_note(note: &str) -> Result<(&str, &str), NoteError> {
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    check_text(text)?;
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the signature block is empty or lacks its final newline".into(),
        ));
    }
    Ok((text, sigs))
}

/// `— <name> <base64(hash || sig)>`
fn parse_sig_line(line: &str) -> Result<(&str, [u8; 4], Signature), NoteError> {
    let bad = || NoteError::Malformed(format!("bad signature line {line:?}"));
    let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(bad)?;
    let (name, blob) = rest.split_once(' ').ok_or_else(bad)?;
    let blob = B64.decode(blob).map_err(|_| bad())?;
    if blob.len() < 5 {
        return Err(bad());
    }
    let id = [blob[0], blob[1], blob[2], blob[3]];
    // Other algorithms (e.g. witness cosignatures) have other lengths; they are
    // returned with an empty signature and never match an Ed25519 key id.
    let sig = Signature::from_slice(&blob[4..]).unwrap_or_else(|_| Signature::from_bytes(&[0; 64]));
    Ok((name, id, sig))
}
