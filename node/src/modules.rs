//! Stored modules: `modules/<hash>.wasm`, content-addressed by module hash.
//!
//! Every module a run was attempted with is kept as first submitted (signed
//! bytes), so any recorded run can be replayed from exactly its code. The
//! module hash is the SHA-256 of the module without its signature section
//! (what approvals name and the engine compiles); bytes that are not
//! WebAssembly at all are addressed by the SHA-256 of the bytes.
//!
//! Defends against storage exhaustion (modules above the node's cap are
//! refused, not stored), torn files (atomic, fsync'd writes), and a stored
//! module altered on disk (it must hash to its name when read back).

use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_runtime::signing;

use crate::datadir::{read, write_atomic};
use crate::error::NodeError;
use crate::node::Node;
use crate::state::ModuleRow;

/// A stored module.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleRecord {
    /// Module hash (SHA-256 without the signature section), hex.
    pub hash: String,
    /// Size of the stored bytes.
    pub size: u64,
    /// Key id of the signer, when the signature verified against a buyer key
    /// this node knew when it was stored.
    pub signer: Option<String>,
    /// When it was first stored.
    pub stored_at: String,
}

impl From<ModuleRow> for ModuleRecord {
    fn from(r: ModuleRow) -> Self {
        Self {
            hash: r.hash,
            size: r.size,
            signer: r.signer,
            stored_at: r.stored_at,
        }
    }
}

/// The address of `bytes` in the module store.
pub(crate) fn address(bytes: &[u8]) -> String {
    signing::module_hash(bytes).unwrap_or_else(|_| hex::encode(Sha256::digest(bytes)))
}

fn valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Node {
    /// Stores a module (signed bytes) and says what it is. Storing a module
    /// already stored keeps the first copy.
    pub fn put_module(&self, bytes: &[u8]) -> Result<ModuleRecord, NodeError> {
        self.check_module_size(bytes.len() as u64)?;
        let keys = self.buyer_keys(&[])?;
        let signer = signing::verify(bytes, None, &keys).ok().map(|v| v.key_id);
        let hash = address(bytes);
        self.store_module(&hash, bytes, signer)?;
        self.module_record(&hash)
    }

    /// The stored bytes of module `hash`.
    pub fn module(&self, hash: &str) -> Result<Vec<u8>, NodeError> {
        if !valid_hash(hash) {
            return Err(NodeError::UnknownModule(hash.into()));
        }
        let path = self.module_path(hash);
        if !path.exists() {
            return Err(NodeError::UnknownModule(hash.into()));
        }
        let bytes = read(&path)?;
        // Bytes the runtime could not frame as a module (garbage, or a core
        // module it refused at the header) are addressed by their SHA-256.
        if address(&bytes) != hash && hex::encode(Sha256::digest(&bytes)) != hash {
            return Err(NodeError::Corrupt { path });
        }
        Ok(bytes)
    }

    /// What the node knows of module `hash`.
    pub fn module_record(&self, hash: &str) -> Result<ModuleRecord, NodeError> {
        ModuleRow::get(&self.state.conn(), hash)?
            .map(ModuleRecord::from)
            .ok_or_else(|| NodeError::UnknownModule(hash.into()))
    }

    /// Every stored module, oldest first.
    pub fn modules(&self) -> Result<Vec<ModuleRecord>, NodeError> {
        Ok(ModuleRow::list(&self.state.conn())?
            .into_iter()
            .map(ModuleRecord::from)
            .collect())
    }

    pub(crate) fn check_module_size(&self, size: u64) -> Result<(), NodeError> {
        if size > self.max_module_bytes {
            return Err(NodeError::InvalidRequest(format!(
                "the module is {size} bytes; this node accepts at most {}",
                self.max_module_bytes
            )));
        }
        Ok(())
    }

    /// Writes `bytes` under `hash` unless a copy is stored, and indexes it.
    pub(crate) fn store_module(
        &self,
        hash: &str,
        bytes: &[u8],
        signer: Option<String>,
    ) -> Result<(), NodeError> {
        let path = self.module_path(hash);
        if path.exists() {
            return Ok(());
        }
        // Index first: a crash between the two leaves a row whose file the
        // next submission writes, never a file nobody can list.
        ModuleRow {
            hash: hash.into(),
            size: bytes.len() as u64,
            signer,
            stored_at: sluice_ledger::time::now(),
        }
        .insert(&self.state.conn())?;
        write_atomic(&path, bytes, 0o600)
    }

    fn module_path(&self, hash: &str) -> PathBuf {
        self.dir.modules().join(format!("{hash}.wasm"))
    }
}
