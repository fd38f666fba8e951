//! `sluice-node`: a Sluice node — one data directory and everything in it.
//!
//! The [`Node`] owns the node's Ed25519 key, the registry of datasets and
//! their policy versions, the keys it knows, the stored modules, the privacy
//! budgets, the compiled-module cache and the usage ledger, and it is the one
//! entry point for a run: [`Node::run`] resolves datasets and policies, runs
//! the engine, records the usage event, and only then returns the result
//! with a receipt. The CLI and the HTTP server are thin shells over it.
//!
//! Modules read as the node's parts: [`datadir`] (the layout, the writer
//! lock, durable writes), [`identity`] (the node key and checkpoint
//! verifier), [`registry`] (datasets and policy versions), [`keys`],
//! [`modules`] (the module store), [`run`] (the run entry point), `event`
//! (outcome → usage event and private audit record), [`replay`] and
//! [`audit`] (verification, export and billing over the ledger),
//! [`approvals`] (buyers ask owners to approve modules), [`imports`] (a
//! component's WIT imports, for review) and [`http`] (the node as a service).

pub mod approvals;
pub mod audit;
mod data;
pub mod datadir;
mod error;
mod event;
pub mod http;
pub mod identity;
pub mod imports;
pub mod keys;
pub mod modules;
mod node;
pub mod registry;
pub mod replay;
pub mod run;
mod state;

pub use approvals::{ApprovalRequest, ApprovalStatus};
pub use datadir::DataDir;
pub use error::NodeError;
pub use keys::{KeyRecord, Role};
pub use modules::ModuleRecord;
pub use node::{DEFAULT_MAX_MODULE_BYTES, Node, NodeConfig};
pub use registry::{ColumnView, DatasetRecord, PolicyVersion};
pub use replay::{Difference, ReplayReport, ReplayStatus};
pub use run::{ModuleSource, RunRequest, RunResult};
pub use sluice_ledger;
pub use sluice_runtime;
