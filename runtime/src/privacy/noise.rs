//! Calibrated Laplace noise for host aggregates, drawn by OpenDP.
//!
//! Defends against releasing an exact aggregate of `aggregate`-tier columns:
//! a buyer who may not see raw values could otherwise difference two exact
//! counts or sums (with and without one person) and learn that person's row.
//!
//! # Privacy semantics
//!
//! Each function here is an ε-differentially private release (pure DP,
//! OpenDP's `MaxDivergence`) of **one group's** aggregate:
//!
//! - *Neighbouring datasets* differ by adding or removing one row.
//! - [`noisy_count`]: one row changes a group's count by at most 1, so the
//!   sensitivity is 1.
//! - [`noisy_sum`]: the caller has clamped every value to `[lower, upper]`;
//!   one row changes the sum by at most `max(|lower|, |upper|)`, the
//!   sensitivity.
//! - *Across groups* of one group-by: the groups are disjoint (each row falls
//!   in exactly one group), so adding or removing a row changes one group
//!   only, and by parallel composition noising every group with ε costs ε in
//!   total, not ε × groups.
//! - *Which groups appear* is not covered by these functions: they protect
//!   the values of groups whose keys are released. Callers use them only
//!   for public key sets, whose groups are released whatever the data holds
//!   (suppressing on the *noisy* count is post-processing); data-dependent
//!   key sets go through [`super::selection`] (OpenDP's thresholded
//!   mechanism, (ε, δ)) instead.
//! - *Within one query*: several aggregates over the same rows (say a count
//!   and a sum) compose sequentially: their epsilons add. The caller splits
//!   the query's ε across them and charges the buyer's budget once, with the
//!   query's total (see [`super::BudgetStore::charge`]).
//!
//! The privacy guarantee is certified by OpenDP, not by arithmetic here: the
//! scale is `sensitivity / ε`, nudged up until OpenDP's own privacy map for
//! the mechanism reports a loss no greater than ε (the reported loss is kept
//! in [`NoisyValue::epsilon`]).
//!
//! # Mechanisms
//!
//! Both use OpenDP's `make_laplace` (feature `contrib`, the only OpenDP
//! feature Sluice enables), which samples *exactly* from the discrete
//! Laplace distribution with integer arithmetic (Canonne, Kamath, Steinke
//! 2020), so no floating-point sampling error can leak the exact value
//! (Mironov 2012):
//!
//! - counts: `AtomDomain<i64>`, `AbsoluteDistance<i64>` — discrete Laplace
//!   on the integers, so a noisy count is still an integer;
//! - sums: `AtomDomain<f64>` (non-NaN), `AbsoluteDistance<f64>` — OpenDP
//!   rounds the sum to a multiple of 2^k and adds discrete Laplace noise on
//!   that lattice. Sluice leaves `k` at OpenDP's default, the f64 subnormal
//!   spacing 2^-1074, where the rounding is exact and adds nothing to the
//!   sensitivity. OpenDP's `floating-point` / `idealized-numerics` features
//!   (continuous-Laplace constructors that assume ideal real arithmetic) are
//!   neither needed nor enabled.
//!
//! # Randomness
//!
//! The noise is drawn by OpenDP's samplers, whose every random byte comes
//! from OpenSSL's `RAND_priv_bytes` (OpenDP's `use-openssl` feature, linked
//! against the system's OpenSSL; see `.cargo/config.toml`). That is the
//! generator OpenDP's documentation vouches for; without the feature OpenDP
//! falls back to a generator it calls non-secure, which Sluice never builds
//! (`privacy::tests::opendp_draws_from_openssl` fails if the feature is
//! dropped). There is no seed, and nothing in Sluice can set or predict it
//! (unlike the guest's WASI randomness, which is seeded and recorded);
//! replay re-applies recorded draws instead (see [`super::source`]).
//!
//! # Caller obligations
//!
//! - Clamp each value to `[lower, upper]` *before* summing, with bounds that
//!   come from the policy or the query, never from the data.
//! - Compute the exact sum without floating-point accumulation error where
//!   possible (integer columns summed in integers, or compensated/exact
//!   summation): a naive f64 sum of many values can move by slightly more
//!   than `max(|lower|, |upper|)` when one row is removed (Casacuberta et
//!   al. 2022), which this function cannot see.
//! - Keep [`NoisyValue::exact`] and [`NoisyValue::noise`] in the node's
//!   private audit record only; releasing either undoes the noise.

use opendp::core::{Domain, Measurement};
use opendp::domains::AtomDomain;
use opendp::error::Fallible;
use opendp::measurements::make_laplace;
use opendp::measures::MaxDivergence;
use opendp::metrics::AbsoluteDistance;
use serde::{Deserialize, Serialize};

use super::error::PrivacyError;

/// A noised value and what was drawn, for the node's private audit record.
///
/// Only [`NoisyValue::value`] may be released to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoisyValue {
    /// The released value: `exact + noise`.
    pub value: f64,
    /// The exact aggregate. Private: never release.
    pub exact: f64,
    /// The noise drawn (`value - exact`). Private: never release.
    pub noise: f64,
    /// Scale `b` of the Laplace noise (mean absolute noise; std. dev. `b·√2`).
    pub scale: f64,
    /// Sensitivity the scale was calibrated for.
    pub sensitivity: f64,
    /// Privacy loss of this release as certified by OpenDP's privacy map;
    /// at most the epsilon asked for.
    pub epsilon: f64,
}

/// Largest count [`noisy_count`] accepts: counts are noised as `i64`.
pub const MAX_COUNT: u64 = i64::MAX as u64;

/// How many times the scale is nudged up (by one ulp) before giving up on
/// OpenDP's privacy map reporting at most the epsilon asked for.
const CALIBRATION_STEPS: usize = 64;

/// Noisy count of one group: sensitivity 1, privacy loss `eps`.
///
/// Discrete Laplace noise on the integers with scale `1 / eps`, so the
/// released value is an integer; it may be negative (clamping it at zero
/// afterwards is post-processing and costs no privacy).
pub fn noisy_count(count: u64, eps: f64) -> Result<NoisyValue, PrivacyError> {
    check_epsilon(eps)?;
    let exact = i64::try_from(count).map_err(|_| PrivacyError::CountTooLarge {
        count,
        max: MAX_COUNT,
    })?;
    let Calibrated {
        measurement,
        scale,
        epsilon,
    } = calibrate(
        |scale| {
            make_laplace::<_, _, MaxDivergence>(
                AtomDomain::<i64>::default(),
                AbsoluteDistance::<i64>::default(),
                scale,
                None,
            )
        },
        1i64,
        1.0,
        eps,
    )?;
    let noisy = measurement.invoke(&exact).map_err(mechanism)?;
    // i128 so that the difference of two i64 cannot overflow.
    let noise = i128::from(noisy) - i128::from(exact);
    Ok(NoisyValue {
        value: noisy as f64,
        exact: exact as f64,
        noise: noise as f64,
        scale,
        sensitivity: 1.0,
        epsilon,
    })
}

/// Noisy sum of one group's values, already clamped to `[lower, upper]`:
/// sensitivity `max(|lower|, |upper|)`, privacy loss `eps`.
///
/// Laplace noise with scale `sensitivity / eps`. When both bounds are zero the
/// sum cannot depend on the data and is released as it is, with no noise.
pub fn noisy_sum(sum: f64, lower: f64, upper: f64, eps: f64) -> Result<NoisyValue, PrivacyError> {
    check_epsilon(eps)?;
    if !(lower.is_finite() && upper.is_finite() && lower <= upper) {
        return Err(PrivacyError::InvalidBounds { lower, upper });
    }
    if !sum.is_finite() {
        return Err(PrivacyError::InvalidAggregate {
            what: "sum",
            value: sum,
        });
    }
    let sensitivity = lower.abs().max(upper.abs());
    if sensitivity == 0.0 {
        // Every clamped value is 0, so the sum is data-independent.
        return Ok(NoisyValue {
            value: sum,
            exact: sum,
            noise: 0.0,
            scale: 0.0,
            sensitivity,
            epsilon: 0.0,
        });
    }
    let Calibrated {
        measurement,
        scale,
        epsilon,
    } = calibrate(
        |scale| {
            make_laplace::<_, _, MaxDivergence>(
                AtomDomain::<f64>::new_non_nan(),
                AbsoluteDistance::<f64>::default(),
                scale,
                None,
            )
        },
        sensitivity,
        sensitivity,
        eps,
    )?;
    let value = measurement.invoke(&sum).map_err(mechanism)?;
    Ok(NoisyValue {
        value,
        exact: sum,
        noise: value - sum,
        scale,
        sensitivity,
        epsilon,
    })
}

/// Refuses an epsilon that is not a finite positive number.
pub(crate) fn check_epsilon(eps: f64) -> Result<(), PrivacyError> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(PrivacyError::InvalidEpsilon { epsilon: eps })
    }
}

/// A scalar Laplace measurement over `D` (carrier `T`), pure DP.
type Laplace<D, T> = Measurement<D, AbsoluteDistance<T>, MaxDivergence, T>;

/// A mechanism calibrated for one release.
struct Calibrated<D: Domain, T> {
    measurement: Laplace<D, T>,
    /// Noise scale the mechanism was built with.
    scale: f64,
    /// OpenDP's privacy map at the sensitivity: the certified loss.
    epsilon: f64,
}

/// Builds the mechanism with the smallest scale `>= sensitivity / eps` whose
/// OpenDP privacy map at `d_in` reports a loss `<= eps`.
fn calibrate<D, T>(
    build: impl Fn(f64) -> Fallible<Laplace<D, T>>,
    d_in: T,
    sensitivity: f64,
    eps: f64,
) -> Result<Calibrated<D, T>, PrivacyError>
where
    D: Domain<Carrier = T>,
{
    let mut scale = sensitivity / eps;
    if !scale.is_finite() {
        return Err(PrivacyError::ScaleOverflow {
            sensitivity,
            epsilon: eps,
        });
    }
    for _ in 0..CALIBRATION_STEPS {
        let measurement = build(scale).map_err(mechanism)?;
        let loss = measurement.map(&d_in).map_err(mechanism)?;
        if loss <= eps {
            return Ok(Calibrated {
                measurement,
                scale,
                epsilon: loss,
            });
        }
        scale = scale.next_up();
    }
    Err(PrivacyError::Mechanism(format!(
        "could not calibrate the noise scale for sensitivity {sensitivity} and epsilon {eps}"
    )))
}

pub(crate) fn mechanism(e: opendp::error::Error) -> PrivacyError {
    match e.message {
        Some(message) => PrivacyError::Mechanism(format!("{}: {message}", e.variant)),
        None => PrivacyError::Mechanism(e.variant.to_string()),
    }
}
