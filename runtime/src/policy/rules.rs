//! The parts of a policy beyond column access: approvals, differential
//! privacy and prices.

use serde::Serialize;

/// The owner's approval of one exact module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// SHA-256 of the module without its signature section, hex.
    pub module: String,
    /// Unix seconds after which the approval no longer holds.
    pub expires: Option<i64>,
    /// Why it was approved, by whom.
    pub note: Option<String>,
}

impl Approval {
    /// Whether the approval holds at Unix time `now`.
    pub fn valid_at(&self, now: i64) -> bool {
        self.expires.is_none_or(|e| now < e)
    }
}

/// Differential privacy for host aggregates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrivacyRules {
    /// Privacy loss charged for one aggregate query.
    pub epsilon_per_query: f64,
    /// Total a buyer may spend on this dataset per period.
    pub budget: f64,
    /// Period after which the budget refreshes, in seconds; `None` = never.
    pub refresh_seconds: Option<u64>,
}

/// Prices, in millionths of the currency unit so sums are exact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Prices {
    /// Currency code, e.g. `EUR`.
    pub currency: String,
    /// Per run attempt that reached the sandbox.
    pub per_run: u64,
    /// Per million fuel units consumed.
    pub per_million_fuel: u64,
    /// Per MB (10^6 bytes) fed to the guest.
    pub per_mb_fed: u64,
    /// Per KB (10^3 bytes) of released output.
    pub per_kb_released: u64,
    /// Per host aggregate query answered.
    pub per_aggregate_query: u64,
}
