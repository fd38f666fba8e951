//! What a run produced: the decision, the released output (if any), and the
//! exact usage figures billing and audit are built on.

mod reason;

use serde::Serialize;

pub use reason::{Abort, Denial, GuestErrorKind, Reason, Withholding};

use crate::grant::Tier;
use crate::output::OutputTable;
use crate::privacy::NoisyValue;

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
/// wall time and peak memory are measurements.
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Bytes of the canonical output (whether released or not).
    pub output_bytes: u64,
    /// Bytes the guest wrote to stdout/stderr (kept in the run log).
    pub log_bytes: u64,
    /// Whether the compiled module came from the cache.
    pub compile_cached: bool,
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
    /// SHA-256 of the canonical output, when the guest returned one.
    pub output_hash: Option<String>,
    /// Usage figures.
    pub usage: Usage,
    /// SHA-256 of the module.
    pub module_hash: String,
    /// The datasets and policies of the run.
    pub data_snapshots: Vec<Snapshot>,
    /// Seed of the guest's randomness.
    pub seed: u64,
    /// Key id of the module's signer (the buyer), once the signature verified.
    pub buyer: Option<String>,
    /// The engine and its deterministic configuration.
    pub engine: String,
    /// Captured guest stdout/stderr: for the node's operator, never released.
    #[serde(skip)]
    pub log: Vec<u8>,
    /// Noise drawn for differentially private answers (exact values and
    /// draws): the node's private audit record, never released.
    #[serde(skip)]
    pub noise: Vec<NoisyValue>,
}
