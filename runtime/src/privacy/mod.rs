//! Differential privacy for host aggregates: calibrated noise and the
//! buyer's persisted privacy budget.
//!
//! Defends the `aggregate` tier. A buyer who may only see host aggregates
//! could still learn one person's row by differencing exact aggregates, or by
//! asking the same noisy question many times and averaging. Where the policy
//! asks for differential privacy, each released group value is noised
//! ([`noise`]: OpenDP's Laplace mechanisms, cryptographically secure
//! randomness) and each query first charges the buyer's budget for the
//! dataset ([`budget`]: SQLite, exact integer accounting, one row per
//! charge), refusing once it is spent.
//!
//! The order a caller must keep, so that a refused or failed query releases
//! nothing and a released one is paid for:
//!
//! 1. validate the query and its bounds, and compute the exact aggregates;
//! 2. [`BudgetStore::charge`] the query's total epsilon, once; on
//!    [`PrivacyError::BudgetExhausted`] stop, nothing was charged;
//! 3. noise each group with its share of that epsilon ([`noisy_count`],
//!    [`noisy_sum`]); release only [`NoisyValue::value`].

pub mod budget;
pub mod error;
pub mod noise;

#[cfg(test)]
mod tests;

pub use budget::{BudgetStore, Charge, MAX_EPSILON};
pub use error::PrivacyError;
pub use noise::{MAX_COUNT, NoisyValue, noisy_count, noisy_sum};
