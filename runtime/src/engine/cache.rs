//! Compiled components, cached by module hash and engine fingerprint so a
//! module is compiled by Cranelift once per engine configuration (compiling
//! itself, with its caps, is [`super::compile`]).
//!
//! The in-memory cache serves a long-running node; the optional on-disk
//! cache serves one-shot CLI runs. Artifacts are keyed by the fingerprint of
//! the exact wasmtime version and configuration, so a changed engine never
//! loads code compiled for another, and wasmtime itself re-checks
//! compatibility when loading.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::error::EngineError;

/// Compiled components by (module hash, engine fingerprint).
pub(crate) struct ComponentCache {
    fingerprint: String,
    memory: Mutex<HashMap<String, Component>>,
    dir: Option<PathBuf>,
}

/// A stable hasher feeding SHA-256, for wasmtime's compatibility hash.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ComponentCache {
    /// A cache for `engine`, persisted under `dir` when given.
    pub(crate) fn new(
        engine: &wasmtime::Engine,
        description: &str,
        dir: Option<PathBuf>,
    ) -> Result<Self, EngineError> {
        let mut h = ShaHasher(Sha256::new());
        description.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        let fingerprint = hex::encode(h.0.finalize());
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).map_err(|e| {
                EngineError::Config(format!(
                    "cannot create cache directory {}: {e}",
                    d.display()
                ))
            })?;
        }
        Ok(Self {
            fingerprint,
            memory: Mutex::new(HashMap::new()),
            dir,
        })
    }

    /// The engine fingerprint, hex.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The cache key of a module.
    pub(crate) fn key(&self, module_hash: &str) -> String {
        format!("{module_hash}-{}", &self.fingerprint[..16])
    }

    /// The compiled component under `key`, from memory or from disk.
    pub(crate) fn lookup(&self, engine: &wasmtime::Engine, key: &str) -> Option<Component> {
        if let Some(c) = self
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return Some(c.clone());
        }
        let path = self.path(key)?;
        let component = path.exists().then(|| load(engine, &path)).flatten()?;
        self.remember(key, &component);
        Some(component)
    }

    /// Keeps a freshly compiled component, in memory and on disk.
    pub(crate) fn insert(&self, key: &str, component: &Component) {
        if let Some(p) = self.path(key) {
            store(component, &p);
        }
        self.remember(key, component);
    }

    fn remember(&self, key: &str, component: &Component) {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), component.clone());
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.cwasm")))
    }
}

/// Loads an artifact this cache wrote; `None` (recompile) if it is unusable.
#[allow(unsafe_code)]
fn load(engine: &wasmtime::Engine, path: &std::path::Path) -> Option<Component> {
    // SAFETY: wasmtime requires `unsafe` to load precompiled code because it
    // trusts the file to be its own output. The file was written by this
    // cache (see `store`), lives in the node operator's cache directory with
    // owner-only permissions, and is named by the module hash and the engine
    // fingerprint; wasmtime additionally checks version and configuration
    // compatibility and rejects a mismatch.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

fn store(component: &Component, path: &std::path::Path) {
    let Ok(bytes) = component.serialize() else {
        return;
    };
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, bytes).and_then(|()| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        std::fs::rename(&tmp, path)
    });
    if let Err(e) = written {
        tracing::warn!("cannot write compiled-module cache {}: {e}", path.display());
    }
}
