//! The private half of a run outcome, and the rounding that makes the
//! public half safe to show for runs that are not released.
//!
//! Defends against a run that is not released still describing what its
//! guest computed. Everything a guest controls can carry data: the hash of
//! a withheld table confirms a guessed table, its size or the size of the
//! log spells a value, and exact fuel, time or memory can be steered by
//! a secret. So for a withheld, aborted or denied run the public outcome
//! (what the buyer sees and the public ledger records) carries no output
//! hash or size and no log size, and its other guest-steered figures are
//! rounded up to coarse buckets ([`Usage::rounded_for`]). The exact figures,
//! the output's hash and size, the log size and the differential-privacy
//! trail go to [`AuditRecord`], which is never serialised with the outcome
//! and which the node keeps in its private audit table.

use crate::policy::{Rounding, next_power_of_two};
use crate::privacy::PrivacyTrail;

use super::Usage;

/// What the node keeps about a run and never shows the buyer.
#[derive(Debug, Clone, Default)]
pub struct AuditRecord {
    /// The exact usage figures (the public ones of a run that is not
    /// released are rounded).
    pub usage: Usage,
    /// SHA-256 of the canonical output, whenever the guest returned a table.
    pub output_hash: Option<String>,
    /// Bytes of that canonical output.
    pub output_bytes: Option<u64>,
    /// Bytes the guest wrote to stdout and stderr (also past the log cap).
    pub log_bytes: u64,
    /// The noise drawn and the difference checks decided, in order: what a
    /// replay re-applies ([`crate::privacy::RunPrivacy::replay`]).
    pub privacy: PrivacyTrail,
    /// Host work spent on difference checks (rows looked up and compared).
    pub difference_work: u64,
}

impl Usage {
    /// The public figures of a run that is not released: fuel and wall time
    /// rounded up to the buckets of every policy in `rounding` (applied in
    /// turn, so the coarsest wins), memory, rows and bytes fed, aggregate
    /// queries and suppressed groups rounded up to a power of two, output
    /// and log sizes absent. The privacy budget spent stays exact: it is
    /// what the buyer was charged.
    pub fn rounded_for<'a>(&self, rounding: impl IntoIterator<Item = &'a Rounding>) -> Usage {
        let (mut fuel, mut host_fuel, mut wall_ms) =
            (self.fuel_consumed, self.host_fuel, self.wall_ms);
        for r in rounding {
            fuel = r.fuel(fuel);
            host_fuel = r.fuel(host_fuel);
            wall_ms = r.wall_ms(wall_ms);
        }
        if self.fuel_limit > 0 {
            fuel = fuel.min(self.fuel_limit);
        }
        Usage {
            // Never above the limit: a bucket past it says no more than
            // the limit itself.
            fuel_consumed: fuel,
            fuel_limit: self.fuel_limit,
            // The host's share of the fuel, in the same buckets and never
            // above the total shown.
            host_fuel: host_fuel.min(fuel),
            memory_peak_bytes: next_power_of_two(self.memory_peak_bytes),
            host_memory_peak_bytes: next_power_of_two(self.host_memory_peak_bytes),
            wall_ms,
            rows_fed: next_power_of_two(self.rows_fed),
            bytes_fed: next_power_of_two(self.bytes_fed),
            aggregate_queries: next_power_of_two(self.aggregate_queries),
            groups_suppressed: next_power_of_two(self.groups_suppressed),
            epsilon_spent: self.epsilon_spent,
            output_bytes: None,
            log_bytes: None,
            compile_cached: self.compile_cached,
            rounded: true,
        }
    }
}
