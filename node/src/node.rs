//! The [`Node`]: one data directory and everything in it, opened once.
//!
//! Opening takes the data directory's writer lock, loads (or creates) the
//! node key, opens the registry, the privacy budgets, the difference-check
//! history, the ledger and the engine. Every store lives in the data
//! directory: nothing is kept relative to the working directory. The CLI and the HTTP server both hold one `Node` and call its
//! methods; neither assembles a run by itself.
//!
//! Defends against a second process appending to the same ledger (the lock),
//! a ledger opened with a key that is not this node's (the ledger refuses it),
//! and changes that reach the registry without reaching the audit trail
//! (every registry change is recorded as a ledger event by [`Node::record`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_ledger::event::EventData;
use sluice_ledger::{
    Envelope, Ledger, LedgerError, NoteSigner, NoteVerifier, Receipt, SqliteLedger,
};
use sluice_runtime::data::{SnapshotMemo, SqliteSnapshotMemo};
use sluice_runtime::privacy::{BudgetStore, DifferenceStore};
use sluice_runtime::signing::PublicKey;
use sluice_runtime::{Engine, EngineConfig};

use crate::datadir::DataDir;
use crate::error::NodeError;
use crate::identity::{self, Identity};
use crate::state::State;

/// Default cap on a submitted module's size.
pub const DEFAULT_MAX_MODULE_BYTES: u64 = 64 << 20;

/// How to open a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The data directory (made absolute once).
    pub data_dir: PathBuf,
    /// Create the directory and the node key when they do not exist; when
    /// false, a directory without a node is an error (read commands use this,
    /// so that a mistyped `--data-dir` is not silently a new, empty node).
    pub create: bool,
    /// Engine settings; its `cache_dir` defaults to `DIR/cache`.
    pub engine: EngineConfig,
    /// Largest module the node accepts and stores.
    pub max_module_bytes: u64,
}

impl NodeConfig {
    /// The defaults for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            create: true,
            engine: EngineConfig::default(),
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
        }
    }
}

/// A Sluice node. `Send + Sync`: share it as `Arc<Node>`; its methods block.
pub struct Node {
    pub(crate) dir: DataDir,
    pub(crate) identity: Identity,
    verifier: NoteVerifier,
    pub(crate) state: State,
    pub(crate) engine: Engine,
    pub(crate) budget: Arc<BudgetStore>,
    pub(crate) differences: Arc<DifferenceStore>,
    /// File hashes remembered by identity, so unchanged files are not re-read.
    pub(crate) memo: Arc<dyn SnapshotMemo>,
    pub(crate) ledger: Arc<dyn Ledger>,
    ledger_file: Option<PathBuf>,
    pub(crate) max_module_bytes: u64,
    /// Declared last, so it is dropped last: the data directory is released
    /// only after the ledger (and its own lock) is closed.
    _lock: File,
}

impl Node {
    /// Opens the node in `config.data_dir` with its SQLite ledger.
    pub fn open(config: NodeConfig) -> Result<Self, NodeError> {
        let mut file = None;
        let node = Self::open_with_ledger(config, |dir, signer| {
            file = Some(dir.ledger());
            let ledger: Arc<dyn Ledger> = Arc::new(SqliteLedger::open(&dir.ledger(), signer)?);
            Ok(ledger)
        })?;
        Ok(Self {
            ledger_file: file,
            ..node
        })
    }

    /// Opens the node with a ledger made by `make` from the node's checkpoint
    /// signer (another backend, or a test double).
    pub fn open_with_ledger(
        config: NodeConfig,
        make: impl FnOnce(&DataDir, NoteSigner) -> Result<Arc<dyn Ledger>, LedgerError>,
    ) -> Result<Self, NodeError> {
        let dir = DataDir::new(&config.data_dir)?;
        if config.create {
            dir.create()?;
        } else {
            dir.require()?;
        }
        let lock = dir.lock()?;
        let identity = Identity::load_or_create(&dir)?;
        let verifier = identity::verifier(&identity.public)?;
        let state = State::open(&dir.state())?;
        let budget = BudgetStore::open(&dir.privacy()).map_err(|e| NodeError::DataDir {
            path: dir.privacy(),
            message: e.to_string(),
        })?;
        let differences =
            DifferenceStore::open(&dir.differences()).map_err(|e| NodeError::DataDir {
                path: dir.differences(),
                message: e.to_string(),
            })?;
        let memo = SqliteSnapshotMemo::open(&dir.snapshots()).map_err(|e| NodeError::DataDir {
            path: dir.snapshots(),
            message: e.to_string(),
        })?;
        let ledger = make(&dir, identity.note_signer()?)?;
        let mut engine_config = config.engine;
        if engine_config.cache_dir.is_none() {
            engine_config.cache_dir = Some(dir.cache());
        }
        let engine = Engine::new(engine_config)?;
        Ok(Self {
            dir,
            identity,
            verifier,
            state,
            engine,
            budget: Arc::new(budget),
            differences: Arc::new(differences),
            memo: Arc::new(memo),
            ledger,
            ledger_file: None,
            max_module_bytes: config.max_module_bytes,
            _lock: lock,
        })
    }

    /// The node id: its key id.
    pub fn id(&self) -> String {
        self.identity.id()
    }

    /// The node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.identity.public.clone()
    }

    /// The verifier of the node's checkpoints (what receipts verify against).
    pub fn note_verifier(&self) -> NoteVerifier {
        self.verifier.clone()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.root()
    }

    /// The data directory's layout.
    pub fn layout(&self) -> &DataDir {
        &self.dir
    }

    /// The ledger.
    pub fn ledger(&self) -> &dyn Ledger {
        self.ledger.as_ref()
    }

    /// The SQLite ledger file, when the ledger is the embedded one.
    pub fn ledger_file(&self) -> Option<&Path> {
        self.ledger_file.as_deref()
    }

    /// The engine (its description is recorded with every run).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// `urn:sluice:node:<id>`, the CloudEvents source of this node's events.
    pub(crate) fn source(&self) -> String {
        format!("urn:sluice:node:{}", self.id())
    }

    /// Who made a change: the caller's key id, or this node's id for its operator.
    pub(crate) fn by(&self, key: Option<&PublicKey>) -> String {
        key.map_or_else(|| self.id(), PublicKey::key_id)
    }

    /// Records a registry change as a ledger event, durably.
    pub(crate) fn record(&self, data: EventData) -> Result<Receipt, NodeError> {
        let event = Envelope::new(
            uuid::Uuid::new_v4().to_string(),
            self.source(),
            sluice_ledger::time::now(),
            data,
        );
        Ok(self.ledger.append(event, None)?)
    }
}
