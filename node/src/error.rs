//! What can go wrong in the node, as one enum with stable codes.
//!
//! Callers branch on [`NodeError::code`], never on the text: the CLI maps
//! `invalid.*`, `not-found.*` and `conflict.*` to its usage exit code and
//! `internal.*` to its internal one; the HTTP server maps them to statuses.
//! Messages say what was wrong and what to do about it.
//!
//! A run the node *refuses* (unknown dataset, bad signature, expired
//! approval, ...) is not an error: it is a recorded outcome. These errors are
//! for requests the node cannot even record (a module hash it does not hold,
//! an empty dataset list) and for failures of the node itself.

use std::path::PathBuf;

use sluice_ledger::LedgerError;
use sluice_runtime::error::{DataError, EngineError, PolicyError};
use sluice_runtime::signing::SigningError;
use thiserror::Error;

/// Why a node operation failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// No dataset is registered under this name.
    #[error("this node has no dataset `{0}`; `sluice dataset list` shows the registered ones")]
    UnknownDataset(String),
    /// No policy version has this hash.
    #[error(
        "no policy version has hash {0}; `sluice dataset show NAME` lists a dataset's versions"
    )]
    UnknownPolicy(String),
    /// No stored module has this hash.
    #[error("no module with hash {0} is stored on this node; submit the module's bytes first")]
    UnknownModule(String),
    /// No run with this id is recorded.
    #[error(
        "no run with id {0} is recorded in this node's ledger; `sluice ledger show` lists them"
    )]
    UnknownRun(String),
    /// No event at this ledger index.
    #[error("the ledger has no event at index {index} (it holds {len}); indexes start at 0")]
    UnknownEvent {
        /// The index asked for.
        index: u64,
        /// How many events the ledger holds.
        len: u64,
    },
    /// No approval request has this id.
    #[error("no approval request has id {0}; `sluice client approvals list` shows them")]
    UnknownApproval(String),
    /// The approval request was decided already.
    #[error(
        "approval request {id} is already {status}; a decision is final, ask again with a new request"
    )]
    ApprovalDecided {
        /// The request.
        id: String,
        /// `approved` or `rejected`.
        status: String,
    },
    /// The dataset's current policy already has an approval entry for the module.
    #[error(
        "the current policy of `{dataset}` already approves module {module}; to change its expiry, upload a new policy version with the entry edited"
    )]
    AlreadyApproved {
        /// The dataset.
        dataset: String,
        /// The module hash.
        module: String,
    },
    /// A dataset with this name exists already.
    #[error(
        "dataset `{name}` is already registered (at {path}); add a policy version with `sluice dataset policy {name} P.toml`"
    )]
    DatasetExists {
        /// The name.
        name: String,
        /// Where it is registered.
        path: String,
    },
    /// A policy file could not be used.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// The policy governs another dataset than the one it was given for.
    #[error(
        "the policy is for dataset `{found}`, not `{expected}`; set `dataset = \"{expected}\"` in it"
    )]
    PolicyForOtherDataset {
        /// The dataset it was given for.
        expected: String,
        /// The dataset the policy names.
        found: String,
    },
    /// The dataset file cannot be used as registered.
    #[error("{0}")]
    Data(#[from] DataError),
    /// A name (dataset) is not acceptable.
    #[error("{0:?} is not a valid dataset name; use 1 to 128 letters, digits, '_' and '-'")]
    InvalidName(String),
    /// A key cannot be used.
    #[error("{0}")]
    Key(SigningError),
    /// The request is inconsistent (e.g. no dataset).
    #[error("invalid run request: {0}")]
    InvalidRequest(String),
    /// The data directory cannot be used.
    #[error("data directory {path}: {message}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file of the data directory could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stored file does not match the hash it is stored under.
    #[error(
        "{path} does not hash to the name it is stored under: the data directory was altered; restore it from a backup"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
    },
    /// The registry database failed.
    #[error("the node's registry (state.sqlite) failed: {0}")]
    State(#[from] rusqlite::Error),
    /// The ledger failed; nothing was released.
    #[error("the ledger failed, so nothing was released: {0}")]
    Ledger(#[from] LedgerError),
    /// The engine could not be set up.
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// Something the node could not encode or decode.
    #[error("internal error: {0}")]
    Internal(String),
}

impl NodeError {
    /// The stable code: `not-found.*`, `invalid.*`, `conflict.*` or `internal.*`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownDataset(_) => "not-found.dataset",
            Self::UnknownPolicy(_) => "not-found.policy",
            Self::UnknownModule(_) => "not-found.module",
            Self::UnknownRun(_) => "not-found.run",
            Self::UnknownEvent { .. } => "not-found.event",
            Self::UnknownApproval(_) => "not-found.approval",
            Self::ApprovalDecided { .. } => "conflict.approval-decided",
            Self::AlreadyApproved { .. } => "conflict.already-approved",
            Self::DatasetExists { .. } => "conflict.dataset-exists",
            Self::Policy(_) => "invalid.policy",
            Self::PolicyForOtherDataset { .. } => "invalid.policy-dataset",
            Self::Data(_) => "invalid.dataset",
            Self::InvalidName(_) => "invalid.name",
            Self::Key(_) => "invalid.key",
            Self::InvalidRequest(_) => "invalid.request",
            Self::DataDir { .. } => "invalid.data-dir",
            Self::Io { .. } => "internal.io",
            Self::Corrupt { .. } => "internal.corrupt",
            Self::State(_) => "internal.state",
            Self::Ledger(_) => "internal.ledger",
            Self::Engine(EngineError::Request(_)) => "invalid.request",
            Self::Engine(_) => "internal.engine",
            Self::Internal(_) => "internal",
        }
    }

    /// True when the caller asked for something unusable (not the node's fault).
    pub fn is_caller_error(&self) -> bool {
        !self.code().starts_with("internal")
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}
