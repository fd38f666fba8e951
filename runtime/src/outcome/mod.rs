//! What a run produced: the decision, the released output (if any), the
//! usage figures billing is built on, and the private audit record.
//!
//! Defends the release guarantee at the last step: the serialised outcome
//! is what the buyer sees and the public ledger records, so for a run that
//! is not released it carries nothing the guest controls (see [`audit`]).

mod audit;
mod reason;

use serde::Serialize;

pub use audit::AuditRecord;
pub use reason::{Abort, Denial, GuestErrorKind, Reason, Withholding};

use crate::grant::Tier;
use crate::output::OutputTable;

/// The outcome of one run attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The output passed every release rule and may leave the node.
    Released,
    /// The guest finished but its output broke a release rule.
    Withheld,
    /// The run was refused before the guest started.
    Denied,
    /// The guest was stopped: fuel, memory, time, trap or guest error.
    Aborted,
}

/// Measured figures of one run. Fuel, rows and bytes are deterministic;
/// wall time and peak memory are measurements. For a run that is not
/// released they are rounded (`rounded` is true; see
/// [`Usage::rounded_for`]) and the exact ones are in [`AuditRecord::usage`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Fuel the run consumed: the guest's instructions plus the host work
    /// charged for it ([`Self::host_fuel`]).
    pub fuel_consumed: u64,
    /// The part of `fuel_consumed` charged for host work (scans,
    /// aggregates, WASI calls, output conversion), by the fuel schedule.
    pub host_fuel: u64,
    /// The policy's fuel limit.
    pub fuel_limit: u64,
    /// Peak of guest linear memory plus host memory held for the guest,
    /// bytes (what the policy's `memory_mb` caps).
    pub memory_peak_bytes: u64,
    /// Peak of the host memory held for the guest, bytes.
    pub host_memory_peak_bytes: u64,
    /// Wall time of the run, milliseconds.
    pub wall_ms: u64,
    /// Rows fed to the guest by scans.
    pub rows_fed: u64,
    /// Bytes fed to the guest by scans.
    pub bytes_fed: u64,
    /// Host aggregate queries answered.
    pub aggregate_queries: u64,
    /// Groups suppressed by the minimum group size, over all queries.
    pub groups_suppressed: u64,
    /// Privacy loss charged to the buyer's budget by this run.
    pub epsilon_spent: f64,
    /// Bytes of the canonical output; absent unless released.
    pub output_bytes: Option<u64>,
    /// Bytes the guest wrote to stdout/stderr (kept in the run log); absent
    /// unless released.
    pub log_bytes: Option<u64>,
    /// Whether the compiled module came from the cache.
    pub compile_cached: bool,
    /// Whether the figures are rounded up to coarse buckets (every run that
    /// is not released).
    pub rounded: bool,
}

/// A dataset's identity at run time.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Dataset name.
    pub dataset: String,
    /// SHA-256 of the file content.
    pub snapshot: String,
    /// The owner's version number of the policy that governed it.
    pub policy_version: u64,
    /// Hash of the policy version that governed it.
    pub policy_hash: String,
    /// The trust tier the module had for this dataset (none when refused).
    pub tier: Option<Tier>,
    /// Key id of the signer whose budget and history this dataset's
    /// aggregates used (none when refused).
    pub signer: Option<String>,
}

/// Everything one run produced.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// Unique id of this run attempt.
    pub run_id: String,
    /// What happened.
    pub decision: Decision,
    /// Why, when not released: serialised as `code` and `reason` (text).
    #[serde(flatten)]
    pub reason: Option<Reason>,
    /// The output, only when released.
    pub output: Option<OutputTable>,
    /// SHA-256 of the canonical output, only when released.
    pub output_hash: Option<String>,
    /// Usage figures.
    pub usage: Usage,
    /// SHA-256 of the module.
    pub module_hash: String,
    /// The datasets and policies of the run.
    pub data_snapshots: Vec<Snapshot>,
    /// Seed of the guest's randomness.
    pub seed: u64,
    /// Key id of the signer the run belongs to (the buyer), once the
    /// signature verified: for the first dataset, the signer whose key its
    /// policy trusts, else the smallest key id among the valid signers (see
    /// [`crate::admission`]); each dataset's own is in its [`Snapshot`].
    pub buyer: Option<String>,
    /// The engine and its deterministic configuration.
    pub engine: String,
    /// Captured guest stdout/stderr, and the text of an error the guest
    /// returned: for the node's operator, never released.
    #[serde(skip)]
    pub log: Vec<u8>,
    /// Exact figures, output hash and size, log size, noise draws and
    /// difference decisions: the node's private audit record, never
    /// released.
    #[serde(skip)]
    pub audit: AuditRecord,
}
