//! The data directory: where every file of a node lives, one process at a
//! time, and how files are written so that a crash never leaves half of one.
//!
//! ```text
//! DIR/node.key, node.pub     the node's Ed25519 key (0600), wasmsign2 raw formats
//! DIR/node.lock              held (flock) by the one process that writes
//! DIR/state.sqlite           registry: datasets, policy versions, keys, modules
//! DIR/ledger.sqlite          the usage ledger
//! DIR/privacy.sqlite         privacy budgets
//! DIR/differences.sqlite     row sets released by exact aggregates (difference checks)
//! DIR/modules/<hash>.wasm    stored modules, content-addressed by module hash
//! DIR/policies/<hash>.toml   every policy version, content-addressed by SHA-256
//! DIR/cache/                 compiled components
//! ```
//!
//! Defends against two writers (the ledger keeps its Merkle tree in memory,
//! so a second appending process would fork it: an exclusive lock on
//! `node.lock` makes a second writer wait, and the kernel releases it when a
//! process dies), against relative paths that change meaning with the
//! working directory (the directory is made absolute once), and against torn
//! files (content is written to a temporary file, fsync'd, renamed into
//! place, and the directory fsync'd).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::NodeError;

/// The paths of one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The layout rooted at `root`, made absolute (not canonicalised: a
    /// symlinked data directory keeps its name).
    pub fn new(root: &Path) -> Result<Self, NodeError> {
        let root = std::path::absolute(root).map_err(|e| NodeError::DataDir {
            path: root.to_path_buf(),
            message: format!("cannot make the path absolute: {e}"),
        })?;
        Ok(Self { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `node.key`: the node's secret key.
    pub fn secret_key(&self) -> PathBuf {
        self.root.join("node.key")
    }

    /// `node.pub`: the node's public key.
    pub fn public_key(&self) -> PathBuf {
        self.root.join("node.pub")
    }

    /// `state.sqlite`: the registry.
    pub fn state(&self) -> PathBuf {
        self.root.join("state.sqlite")
    }

    /// `ledger.sqlite`: the usage ledger.
    pub fn ledger(&self) -> PathBuf {
        self.root.join("ledger.sqlite")
    }

    /// `privacy.sqlite`: privacy budgets.
    pub fn privacy(&self) -> PathBuf {
        self.root.join("privacy.sqlite")
    }

    /// `differences.sqlite`: the row sets exact aggregates released, per
    /// buyer and dataset snapshot, for difference checks.
    pub fn differences(&self) -> PathBuf {
        self.root.join("differences.sqlite")
    }

    /// Dataset files' hashes remembered by file identity.
    pub fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots.sqlite")
    }

    /// `modules/`: stored modules.
    pub fn modules(&self) -> PathBuf {
        self.root.join("modules")
    }

    /// `policies/`: policy versions.
    pub fn policies(&self) -> PathBuf {
        self.root.join("policies")
    }

    /// `cache/`: compiled components.
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Creates the directory and its subdirectories (owner-only on Unix).
    pub(crate) fn create(&self) -> Result<(), NodeError> {
        for dir in [self.root.clone(), self.modules(), self.policies()] {
            create_private_dir(&dir)?;
        }
        Ok(())
    }

    /// Checks the directory exists, for read-only use.
    pub(crate) fn require(&self) -> Result<(), NodeError> {
        if self.state().is_file() && self.public_key().is_file() {
            return Ok(());
        }
        Err(NodeError::DataDir {
            path: self.root.clone(),
            message: "it holds no node (no node.pub or state.sqlite); run a command that writes, \
                      such as `sluice dataset add`, to create one, or pass the right --data-dir"
                .into(),
        })
    }

    /// Takes the writer's lock, waiting while another process holds it.
    pub(crate) fn lock(&self) -> Result<File, NodeError> {
        let path = self.root.join("node.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(NodeError::io("open", &path))?;
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::warn!(
                    "another process is using the data directory {}; waiting for it",
                    self.root.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(NodeError::io("lock", &path)(e)),
        }
        file.lock().map_err(NodeError::io("lock", &path))?;
        Ok(file)
    }
}

fn create_private_dir(dir: &Path) -> Result<(), NodeError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(NodeError::io("create", dir))
}

/// Writes `bytes` to `path` durably and atomically: a temporary file in the
/// same directory, fsync'd, renamed over `path`, then the directory fsync'd.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), NodeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(NodeError::io("write", path))
}

/// fsyncs a directory, so a rename in it survives a crash.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a file, naming it on failure.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, NodeError> {
    std::fs::read(path).map_err(NodeError::io("read", path))
}
