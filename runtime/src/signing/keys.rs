//! Ed25519 key pairs, their files and their key ids.
//!
//! Files use the raw formats of `wasmsign2` (the reference implementation of
//! the WebAssembly tool-conventions signatures), so the same key files work
//! with `wasmsign2 sign -k NAME.key -K NAME.pub` and `wasmsign2 verify -K
//! NAME.pub`:
//!
//! - secret key (`NAME.key`, 65 bytes): `0x81` ‖ 32-byte seed ‖ 32-byte public key;
//! - public key (`NAME.pub`, 33 bytes): `0x01` ‖ 32-byte public key.
//!
//! A public key can also be given as text: 64 hex digits of the raw key (as
//! `sluice keygen` prints it, the form policies use), or 66 hex digits of the
//! 33-byte file form; and as DER (SubjectPublicKeyInfo, 44 bytes).
//!
//! The key id is the first 12 bytes of HMAC-SHA-256 keyed with the raw
//! 32-byte public key over the message `key_id`, as 24 hex digits: the same
//! value `wasmsign2` computes (`attach_default_key_id`) and embeds in
//! signatures.
//!
//! Defends against: secret keys readable by others (files are created with
//! mode 0600) or silently overwritten (created exclusively unless asked);
//! weak (small-order) public keys, which would accept forged signatures; a
//! secret key file whose public half does not belong to its seed; and
//! secrets leaking through `Debug` output.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::SigningError;

/// First byte of a `wasmsign2` public key: the Ed25519 algorithm id.
pub(super) const ED25519_PK_ID: u8 = 0x01;
/// First byte of a `wasmsign2` secret key.
const ED25519_SK_ID: u8 = 0x81;
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An Ed25519 secret (signing) key. Its bytes are wiped from memory when
/// dropped, and `Debug` shows only the key id.
#[derive(Clone)]
pub struct SecretKey {
    inner: SigningKey,
}

impl SecretKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, SigningError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SigningError::Random(e.to_string()))?;
        let inner = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Self { inner })
    }

    /// The key made from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            inner: SigningKey::from_bytes(seed),
        }
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// Decodes the 65-byte `wasmsign2` form: `0x81` ‖ seed ‖ public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SigningError> {
        let [ED25519_SK_ID, rest @ ..] = bytes else {
            return Err(SigningError::BadKey(match bytes.first() {
                None => "the secret key is empty".into(),
                Some(b) => format!(
                    "not an Ed25519 secret key: it starts with 0x{b:02x}, expected 0x81 \
                     (the wasmsign2 secret key format)"
                ),
            }));
        };
        let Ok(all) = <&[u8; 64]>::try_from(rest) else {
            return Err(SigningError::BadKey(format!(
                "a secret key has 65 bytes (0x81, the 32-byte seed, the 32-byte public key); \
                 this has {}",
                bytes.len()
            )));
        };
        let (seed, public) = all.split_at(32);
        let seed: &[u8; 32] = seed.try_into().map_err(|_| bad_len(bytes.len()))?;
        let key = Self::from_seed(seed);
        if key.inner.verifying_key().as_bytes()[..] != public[..] {
            return Err(SigningError::BadKey(
                "the secret key's public half does not belong to its seed".into(),
            ));
        }
        Ok(key)
    }

    /// The 65-byte `wasmsign2` form: `0x81` ‖ seed ‖ public key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(65);
        out.push(ED25519_SK_ID);
        out.extend_from_slice(self.inner.as_bytes());
        out.extend_from_slice(self.inner.verifying_key().as_bytes());
        out
    }

    /// Reads a secret key file (see [`SecretKey::from_bytes`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SigningError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Self::from_bytes(&bytes).map_err(|e| in_file(e, path))
    }

    /// Writes the secret key file with mode 0600. Unless `overwrite`, fails
    /// with [`SigningError::Exists`] if the file exists.
    pub fn to_file(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<(), SigningError> {
        write(path.as_ref(), &self.to_bytes(), overwrite, 0o600)
    }

    /// Signs `message` (Ed25519, deterministic).
    pub(super) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(key id {})", self.public().key_id())
    }
}

/// An Ed25519 public (verifying) key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    inner: VerifyingKey,
}

impl PublicKey {
    /// The key from its raw 32 bytes; refuses points that are not on the
    /// curve and weak (small-order) keys.
    pub fn from_raw(raw: &[u8; 32]) -> Result<Self, SigningError> {
        let inner = VerifyingKey::from_bytes(raw)
            .map_err(|_| SigningError::BadKey("not a valid Ed25519 public key".into()))?;
        if inner.is_weak() {
            return Err(SigningError::BadKey(
                "a weak (small-order) Ed25519 public key; it would accept forged signatures".into(),
            ));
        }
        Ok(Self { inner })
    }

    /// Decodes binary forms: the 33-byte `wasmsign2` form (`0x01` ‖ key),
    /// 32 raw bytes, or a 44-byte DER SubjectPublicKeyInfo.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SigningError> {
        let raw = match bytes.len() {
            33 if bytes[0] == ED25519_PK_ID => &bytes[1..],
            33 => {
                return Err(SigningError::BadKey(format!(
                    "not an Ed25519 public key: it starts with 0x{:02x}, expected 0x01 \
                     (the wasmsign2 public key format)",
                    bytes[0]
                )));
            }
            32 => bytes,
            44 if bytes[..12] == SPKI_PREFIX => &bytes[12..],
            n => {
                return Err(SigningError::BadKey(format!(
                    "a public key has 33 bytes (0x01 then the 32-byte key), 32 raw bytes, \
                     64 hex digits or 44 bytes of DER; this has {n} bytes"
                )));
            }
        };
        let raw: &[u8; 32] = raw.try_into().map_err(|_| bad_len(bytes.len()))?;
        Self::from_raw(raw)
    }

    /// Decodes a key given as text or bytes: 64 hex digits (the raw key),
    /// 66 hex digits (the 33-byte file form), surrounding whitespace allowed,
    /// or any form [`PublicKey::from_bytes`] reads.
    pub fn parse(input: impl AsRef<[u8]>) -> Result<Self, SigningError> {
        let input = input.as_ref();
        let text = input.trim_ascii();
        if (text.len() == 64 || text.len() == 66) && text.iter().all(u8::is_ascii_hexdigit) {
            let bytes =
                hex::decode(text).map_err(|e| SigningError::BadKey(format!("bad hex: {e}")))?;
            return Self::from_bytes(&bytes);
        }
        Self::from_bytes(input)
    }

    /// The 33-byte `wasmsign2` form: `0x01` ‖ key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(33);
        out.push(ED25519_PK_ID);
        out.extend_from_slice(self.inner.as_bytes());
        out
    }

    /// The raw 32-byte key.
    pub fn raw(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The raw key as 64 lowercase hex digits (also what `Display` prints).
    pub fn to_hex(&self) -> String {
        hex::encode(self.inner.as_bytes())
    }

    /// The key id as 24 hex digits (see the module docs).
    pub fn key_id(&self) -> String {
        hex::encode(self.key_id_bytes())
    }

    /// The 12-byte key id embedded in signatures.
    pub fn key_id_bytes(&self) -> [u8; 12] {
        let mac = hmac_sha256(self.inner.as_bytes(), b"key_id");
        let mut id = [0u8; 12];
        id.copy_from_slice(&mac[..12]);
        id
    }

    /// Reads a public key file in any form [`PublicKey::parse`] reads.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SigningError> {
        let path = path.as_ref();
        let bytes = read(path)?;
        Self::parse(&bytes).map_err(|e| in_file(e, path))
    }

    /// Writes the 33-byte public key file (mode 0644). Unless `overwrite`,
    /// fails with [`SigningError::Exists`] if the file exists.
    pub fn to_file(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<(), SigningError> {
        write(path.as_ref(), &self.to_bytes(), overwrite, 0o644)
    }

    /// True when `signature` is a valid Ed25519 signature of `message`
    /// (strict verification: no malleable or small-order components).
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.inner
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, key id {})", self.to_hex(), self.key_id())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for PublicKey {
    type Err = SigningError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// HMAC-SHA-256 (RFC 2104) for keys of at most one 64-byte block, which is
/// all the key id needs (its key is a 32-byte public key).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    let key = &key[..key.len().min(64)];
    block[..key.len()].copy_from_slice(key);
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn bad_len(n: usize) -> SigningError {
    SigningError::BadKey(format!("unexpected key length {n}"))
}

fn read(path: &Path) -> Result<Vec<u8>, SigningError> {
    // Key files are tiny; refuse to slurp anything large by mistake.
    const MAX: u64 = 64 * 1024;
    let io = |source| SigningError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX {
        return Err(SigningError::BadKey(format!(
            "{} is {len} bytes, too large to be a key file",
            path.display()
        )));
    }
    std::fs::read(path).map_err(io)
}

fn in_file(e: SigningError, path: &Path) -> SigningError {
    match e {
        SigningError::BadKey(m) => SigningError::BadKey(format!("{}: {m}", path.display())),
        other => other,
    }
}

fn write(path: &Path, bytes: &[u8], overwrite: bool, mode: u32) -> Result<(), SigningError> {
    let io = |source| SigningError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            SigningError::Exists(path.to_path_buf())
        } else {
            io(e)
        }
    })?;
    // An overwritten file keeps its old mode: set it explicitly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
    }
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// HMAC-SHA-256, exposed to the unit tests for a known-answer test.
#[cfg(test)]
pub(super) fn tests_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac_sha256(key, message)
}
