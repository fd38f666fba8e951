//! Errors of module signing and verification.
//!
//! Every refusal names its cause precisely — unsigned, wrong key, altered
//! bytes, malformed signature data — so that an admission denial can be
//! explained to the buyer and recorded, and so that no two causes are
//! confused (an altered module must never be reported as "unsigned").

use std::path::PathBuf;

use thiserror::Error;

/// Why a key could not be used, or a module could not be signed or verified.
#[derive(Debug, Error)]
pub enum SigningError {
    /// The module carries no signature section (and no detached signature was given).
    #[error("module is not signed")]
    NotSigned,
    /// No signature in the module verifies against any of the given keys.
    #[error("signature does not verify against key {}", key_list(.key_ids))]
    BadSignature {
        /// Key ids of the keys that were tried.
        key_ids: Vec<String>,
    },
    /// A signature by one of the keys verifies, but over different bytes:
    /// the module was changed after it was signed.
    #[error("module was altered after signing (hash mismatch)")]
    HashMismatch {
        /// Key id of the key whose signature verified.
        key_id: String,
    },
    /// The signature section (or detached signature) cannot be decoded.
    #[error("signature section is malformed: {0}")]
    MalformedSignature(String),
    /// The bytes are not a WebAssembly module or component Sluice can read.
    #[error("module is malformed: {0}")]
    MalformedModule(String),
    /// No keys were given to verify against.
    #[error("no public keys to verify against")]
    NoKeys,
    /// A key file or key text cannot be decoded.
    #[error("key is malformed: {0}")]
    BadKey(String),
    /// A key file exists and overwriting was not asked for.
    #[error("{} already exists; refusing to overwrite it", .0.display())]
    Exists(PathBuf),
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("cannot obtain randomness from the operating system: {0}")]
    Random(String),
}

impl SigningError {
    /// A stable, machine-readable name for the cause (for JSON output and
    /// recorded denials): `not_signed`, `bad_signature`, `hash_mismatch`,
    /// `malformed_signature`, `malformed_module`, `no_keys`, `bad_key`,
    /// `exists`, `io`, `random`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotSigned => "not_signed",
            Self::BadSignature { .. } => "bad_signature",
            Self::HashMismatch { .. } => "hash_mismatch",
            Self::MalformedSignature(_) => "malformed_signature",
            Self::MalformedModule(_) => "malformed_module",
            Self::NoKeys => "no_keys",
            Self::BadKey(_) => "bad_key",
            Self::Exists(_) => "exists",
            Self::Io { .. } => "io",
            Self::Random(_) => "random",
        }
    }

    /// True when the module itself was refused (unsigned, bad signature,
    /// altered, malformed), false when the inputs could not be used (keys,
    /// files, randomness).
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Self::NotSigned
                | Self::BadSignature { .. }
                | Self::HashMismatch { .. }
                | Self::MalformedSignature(_)
                | Self::MalformedModule(_)
        )
    }
}

/// `abc`, or `abc (or def, ghi)` when several keys were tried.
fn key_list(ids: &[String]) -> String {
    match ids {
        [] => "(none)".to_string(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (or {})", rest.join(", ")),
    }
}
