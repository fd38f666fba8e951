//! Privacy of host aggregates: calibrated noise, private key selection and
//! quantiles, the buyer's persisted privacy budget, and difference checks
//! on exact aggregates.
//!
//! Defends the `aggregate` tier. A buyer who may only see host aggregates
//! could still learn one person's row by differencing aggregates, by
//! asking the same noisy question many times and averaging, by reading an
//! exact minimum or quantile, or by seeing which group keys exist.
//!
//! - Where the policy asks for differential privacy, each released figure
//!   is noised by OpenDP ([`noise`]: Laplace counts and sums; [`quantile`]:
//!   private quantiles, minima and maxima), group keys are either public or
//!   selected privately ([`selection`]), and each query first charges the
//!   buyer's budget for the dataset ([`budget`]), refusing once it is spent.
//! - Without it, exact aggregates are checked against every group released
//!   to the same buyer over the same snapshot ([`difference`]).
//! - [`source`] is where noise comes from (fresh, or replayed from a
//!   record); [`context`] holds one run's stores, source and audit trail.
//!
//! The order a caller keeps, so that a refused or failed query releases
//! nothing and a released one is paid for and remembered:
//!
//! 1. validate the query against the policy;
//! 2. charge the query's epsilon once ([`RunPrivacy`]); on refusal stop,
//!    nothing was charged or read;
//! 3. compute the exact aggregates, then release them through noise
//!    (recorded in the run's trail) or through the difference check
//!    (recorded in its store) before the guest sees them.

pub mod budget;
pub mod context;
pub mod difference;
pub mod error;
pub mod noise;
pub mod quantile;
pub mod selection;
pub mod source;
mod store;

#[cfg(test)]
mod tests;

pub use budget::{BudgetStore, Charge, MAX_EPSILON};
pub use context::{PrivacyTrail, Replay, RunPrivacy};
pub use difference::{DifferenceDecision, DifferenceStore};
pub use error::PrivacyError;
pub use noise::{MAX_COUNT, NoisyValue, noisy_count, noisy_sum};
pub use source::{Mechanism, NoiseDraw, NoiseSource, OpenDpNoise, RecordedNoise};
