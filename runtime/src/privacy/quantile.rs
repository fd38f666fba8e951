//! Differentially private quantiles (and minima and maxima, the 0- and
//! 1-quantiles) of one group's values, by OpenDP's `make_private_quantile`.
//!
//! Defends against the exact-value path of order statistics: an exact
//! minimum, maximum or quantile *is* one person's value. Here the answer is
//! chosen among a fixed grid of candidates spread over the column's bounds
//! (never from the data) by the exponential mechanism on OpenDP's quantile
//! scores (Smith 2011; report-noisy-max with Gumbel noise), so the released
//! value is a grid point near the quantile, not anyone's value, and one
//! row changes its distribution by at most a factor `e^ε`.
//!
//! Neighbouring datasets differ by one added or removed row (OpenDP's
//! `SymmetricDistance`, distance 1); the scale is nudged up until OpenDP's
//! privacy map certifies ε.

use opendp::core::Measurement;
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::make_private_quantile;
use opendp::measures::MaxDivergence;
use opendp::metrics::SymmetricDistance;

use super::error::PrivacyError;
use super::noise::{check_epsilon, mechanism};

/// Candidates spread evenly over the bounds, both ends included.
pub const QUANTILE_CANDIDATES: usize = 1_025;

type Quantile = Measurement<VectorDomain<AtomDomain<f64>>, SymmetricDistance, MaxDivergence, f64>;

/// A private quantile and how it was calibrated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrivateQuantile {
    /// The released candidate.
    pub value: f64,
    /// Noise scale (of the integerised scores).
    pub scale: f64,
    /// ε certified by OpenDP.
    pub epsilon: f64,
}

/// The grid of candidates over `[lower, upper]`.
pub fn candidates(lower: f64, upper: f64) -> Vec<f64> {
    if lower >= upper {
        return vec![lower];
    }
    let steps = (QUANTILE_CANDIDATES - 1) as f64;
    let mut grid: Vec<f64> = (0..QUANTILE_CANDIDATES)
        .map(|i| lower + (upper - lower) * (i as f64 / steps))
        .collect();
    grid.dedup();
    grid
}

/// The `alpha`-quantile of `values` (already clamped to `[lower, upper]`),
/// with privacy loss `eps`.
pub fn private_quantile(
    values: &[f64],
    alpha: f64,
    lower: f64,
    upper: f64,
    eps: f64,
) -> Result<PrivateQuantile, PrivacyError> {
    check_epsilon(eps)?;
    if !(lower.is_finite() && upper.is_finite() && lower <= upper) {
        return Err(PrivacyError::InvalidBounds { lower, upper });
    }
    if !(0.0..=1.0).contains(&alpha) {
        return Err(PrivacyError::Mechanism(format!(
            "quantile {alpha} is outside [0, 1]"
        )));
    }
    let grid = candidates(lower, upper);
    let build = |scale: f64| -> Result<Quantile, PrivacyError> {
        make_private_quantile(
            VectorDomain::new(AtomDomain::<f64>::new_non_nan()),
            SymmetricDistance,
            MaxDivergence,
            grid.clone(),
            alpha,
            scale,
        )
        .map_err(mechanism)
    };
    // The loss is proportional to 1/scale: measure it at scale 1, then nudge.
    let unit = build(1.0)?.map(&1).map_err(mechanism)?;
    let mut scale = unit / eps;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(PrivacyError::ScaleOverflow {
            sensitivity: unit,
            epsilon: eps,
        });
    }
    for _ in 0..64 {
        let measurement = build(scale)?;
        let loss = measurement.map(&1).map_err(mechanism)?;
        if loss <= eps {
            let clean: Vec<f64> = values
                .iter()
                .map(|v| v.clamp(lower, upper))
                .filter(|v| !v.is_nan())
                .collect();
            let value = measurement.invoke(&clean).map_err(mechanism)?;
            return Ok(PrivateQuantile {
                value,
                scale,
                epsilon: loss,
            });
        }
        scale = scale.next_up() * (1.0 + 1e-12);
    }
    Err(PrivacyError::Mechanism(format!(
        "could not calibrate the quantile mechanism for epsilon {eps}"
    )))
}

/// The exact linear-interpolation (type 7) `alpha`-quantile of `values`:
/// what non-private aggregates release and audit records keep.
pub fn exact_quantile(values: &[f64], alpha: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = alpha.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}
