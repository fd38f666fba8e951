//! The node's own key: created on first use, kept in the data directory in
//! wasmsign2's raw formats, and used to sign ledger checkpoints.
//!
//! The node id is the key id (24 hex digits, the same id `sluice keygen`
//! prints); the checkpoint origin and signed-note key name is
//! `sluice.node/<node id>`, so a verifier can be rebuilt from the public key
//! alone (`sluice receipt verify --node node.pub`).
//!
//! Defends against a secret key readable by others (0600), a key pair whose
//! halves do not belong together (the public file must match the secret),
//! and two processes creating two keys at once (creation is exclusive; the
//! caller holds the data directory's lock).

use ed25519_dalek::{SigningKey, VerifyingKey};
use sluice_ledger::{NoteSigner, NoteVerifier};
use sluice_runtime::signing::{PublicKey, SecretKey, SigningError};

use crate::datadir::DataDir;
use crate::error::NodeError;

/// Prefix of a node's checkpoint origin and note key name.
pub const ORIGIN_PREFIX: &str = "sluice.node/";

/// The checkpoint origin (and signed-note key name) of the node with `key`.
pub fn origin(key: &PublicKey) -> String {
    format!("{ORIGIN_PREFIX}{}", key.key_id())
}

/// The signed-note verifier of the node with public key `key`.
pub fn verifier(key: &PublicKey) -> Result<NoteVerifier, NodeError> {
    let vk = VerifyingKey::from_bytes(&key.raw())
        .map_err(|_| NodeError::Key(SigningError::BadKey("not an Ed25519 key".into())))?;
    NoteVerifier::from_key(origin(key), vk).map_err(NodeError::internal)
}

/// Reads a node public key given as a file or text: wasmsign2 key forms (a
/// `node.pub` file, hex) or a signed-note verifier key (`name+hash+base64`).
pub fn parse_verifier(input: &[u8]) -> Result<NoteVerifier, NodeError> {
    match PublicKey::parse(input) {
        Ok(key) => verifier(&key),
        Err(key_error) => {
            let text = std::str::from_utf8(input)
                .map(str::trim)
                .unwrap_or_default();
            NoteVerifier::parse(text).map_err(|_| {
                NodeError::Key(SigningError::BadKey(format!(
                    "{key_error}; nor is it a checkpoint verifier key (name+hash+base64)"
                )))
            })
        }
    }
}

/// The node's key pair.
pub(crate) struct Identity {
    pub(crate) public: PublicKey,
    secret: SecretKey,
}

impl Identity {
    /// Loads the key pair, creating it when the directory has none.
    pub(crate) fn load_or_create(dir: &DataDir) -> Result<Self, NodeError> {
        let (sk, pk) = (dir.secret_key(), dir.public_key());
        if !sk.exists() && !pk.exists() {
            let key = SecretKey::generate().map_err(NodeError::Key)?;
            key.to_file(&sk, false).map_err(NodeError::Key)?;
            key.public().to_file(&pk, false).map_err(NodeError::Key)?;
            tracing::info!(node = %key.public().key_id(), "created the node key");
        }
        let secret = SecretKey::from_file(&sk).map_err(NodeError::Key)?;
        let public = PublicKey::from_file(&pk).map_err(NodeError::Key)?;
        if secret.public() != public {
            return Err(NodeError::DataDir {
                path: dir.root().to_path_buf(),
                message: "node.pub is not the public half of node.key; restore both from a backup"
                    .into(),
            });
        }
        Ok(Self { public, secret })
    }

    /// The node id (key id).
    pub(crate) fn id(&self) -> String {
        self.public.key_id()
    }

    /// The checkpoint signer.
    pub(crate) fn note_signer(&self) -> Result<NoteSigner, NodeError> {
        let bytes = self.secret.to_bytes();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[1..33]);
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        NoteSigner::new(origin(&self.public), key).map_err(NodeError::internal)
    }
}
