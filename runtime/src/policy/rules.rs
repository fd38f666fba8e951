//! The parts of a policy beyond column access: approvals, differential
//! privacy, the rounding of figures of runs that are not released, and
//! prices.

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
    /// The δ of private partition selection: the chance, per query, that a
    /// group key is released because of one person. `None`: group keys
    /// must come from public key sets.
    pub delta: Option<f64>,
}

/// How the fuel of a run that is not released is reported and billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FuelRounding {
    /// Up to the next power of two (the default): at most one figure per
    /// doubling, so about log2(fuel limit) possible values.
    PowerOfTwo,
    /// Up to the next multiple of this many units.
    Multiple(u64),
}

/// Coarse buckets for the figures of runs that are not released: exact
/// fuel and time would be a channel for whatever the guest computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rounding {
    /// Fuel bucket.
    pub fuel: FuelRounding,
    /// Wall time is rounded up to a multiple of this many milliseconds.
    pub wall_ms: u64,
}

impl Default for Rounding {
    fn default() -> Self {
        Self {
            fuel: FuelRounding::PowerOfTwo,
            wall_ms: 1_000,
        }
    }
}

impl Rounding {
    /// `fuel` rounded up to its bucket.
    pub fn fuel(&self, fuel: u64) -> u64 {
        match self.fuel {
            FuelRounding::PowerOfTwo => next_power_of_two(fuel),
            FuelRounding::Multiple(n) => round_up(fuel, n),
        }
    }

    /// `wall_ms` rounded up to its bucket.
    pub fn wall_ms(&self, wall_ms: u64) -> u64 {
        round_up(wall_ms, self.wall_ms)
    }
}

/// The smallest power of two `>= x` (0 stays 0; saturates at `u64::MAX`).
pub fn next_power_of_two(x: u64) -> u64 {
    if x == 0 {
        0
    } else {
        x.checked_next_power_of_two().unwrap_or(u64::MAX)
    }
}

/// The smallest multiple of `n >= x` (saturating).
fn round_up(x: u64, n: u64) -> u64 {
    if n <= 1 {
        return x;
    }
    x.div_ceil(n).saturating_mul(n)
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
