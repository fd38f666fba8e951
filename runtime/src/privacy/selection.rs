//! Private partition selection: which group keys a differentially private
//! aggregate may release when the policy declares no public key set.
//!
//! Defends against the key set itself giving people away. Counting patients
//! by zip code with noise on the counts still shows *which* zip codes exist,
//! and a zip code with one patient exists only because of that patient. Here
//! every group's count gets discrete Laplace noise and only groups whose
//! noisy count reaches a threshold are released (OpenDP's
//! `make_laplace_threshold`, the "propose-test-release" mechanism of
//! Rogers 2023). The threshold is the smallest one for which OpenDP's own
//! privacy map certifies the policy's δ, and never below the policy's
//! minimum group size: a key with one record is released with probability
//! at most δ.
//!
//! # Privacy semantics
//!
//! One row belongs to one group, so adding or removing it changes one
//! group's count by one: `(l0, l1, l∞) = (1, 1, 1)`. The release is
//! (ε, δ)-differentially private for the counts *and* the key set, where ε
//! and δ are what OpenDP's privacy map reports for these distances.

use std::collections::HashMap;

use opendp::domains::{AtomDomain, MapDomain};
use opendp::measurements::make_laplace_threshold;
use opendp::measures::{Approximate, MaxDivergence};
use opendp::metrics::{AbsoluteDistance, L0PInfDistance};

use super::error::PrivacyError;
use super::noise::{check_epsilon, mechanism};

/// The noisy counts of the kept groups, by index into the counts given.
pub type Selected = HashMap<u32, i64>;

/// OpenDP's thresholded discrete Laplace over group index → count.
type Thresholded = opendp::core::Measurement<
    MapDomain<AtomDomain<u32>, AtomDomain<i64>>,
    L0PInfDistance<1, AbsoluteDistance<i64>>,
    Approximate<MaxDivergence>,
    HashMap<u32, i64>,
>;

/// A thresholded Laplace mechanism calibrated for one query.
pub struct Selection {
    measurement: Thresholded,
    /// Noise scale.
    pub scale: f64,
    /// Noisy counts below this are dropped.
    pub threshold: i64,
    /// ε certified by OpenDP.
    pub epsilon: f64,
    /// δ certified by OpenDP.
    pub delta: f64,
}

/// Most doublings of the threshold tried before giving up.
const THRESHOLD_DOUBLINGS: u32 = 62;

/// Calibrates the mechanism: the smallest scale `>= 1/eps` with a certified
/// ε `<= eps`, then the smallest threshold `>= max(min_threshold, 2)` with a
/// certified δ `<= delta`.
pub fn calibrate(eps: f64, delta: f64, min_threshold: u64) -> Result<Selection, PrivacyError> {
    check_epsilon(eps)?;
    if !(delta.is_finite() && delta > 0.0 && delta < 1.0) {
        return Err(PrivacyError::InvalidDelta { delta });
    }
    let floor = i64::try_from(min_threshold.max(2)).unwrap_or(i64::MAX);
    let mut scale = 1.0 / eps;
    for _ in 0..64 {
        let (e, _) = privacy_at(scale, floor)?;
        if e <= eps {
            break;
        }
        scale = scale.next_up();
    }
    let fits = |t: i64| -> Result<bool, PrivacyError> {
        let (e, d) = privacy_at(scale, t)?;
        Ok(e <= eps && d <= delta)
    };
    if privacy_at(scale, floor)?.0 > eps {
        return Err(PrivacyError::Mechanism(format!(
            "could not calibrate the noise scale for epsilon {eps}"
        )));
    }
    // Exponential search for a threshold that fits, then binary search for
    // the smallest one.
    let (mut lo, mut hi) = (floor, floor);
    let mut doublings = 0;
    while !fits(hi)? {
        lo = hi;
        hi = hi.saturating_mul(2);
        doublings += 1;
        if doublings > THRESHOLD_DOUBLINGS {
            return Err(PrivacyError::InvalidDelta { delta });
        }
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid)? { hi = mid } else { lo = mid + 1 }
    }
    let threshold = hi;
    let measurement = build(scale, threshold)?;
    let (epsilon, delta) = measurement.map(&(1, 1, 1)).map_err(mechanism)?;
    Ok(Selection {
        measurement,
        scale,
        threshold,
        epsilon,
        delta,
    })
}

fn build(scale: f64, threshold: i64) -> Result<Thresholded, PrivacyError> {
    make_laplace_threshold(
        MapDomain::new(AtomDomain::<u32>::default(), AtomDomain::<i64>::default()),
        L0PInfDistance(AbsoluteDistance::<i64>::default()),
        scale,
        threshold,
        None,
    )
    .map_err(mechanism)
}

fn privacy_at(scale: f64, threshold: i64) -> Result<(f64, f64), PrivacyError> {
    build(scale, threshold)?.map(&(1, 1, 1)).map_err(mechanism)
}

impl Selection {
    /// Noises every count and keeps those that reach the threshold.
    pub fn invoke(&self, counts: &[u64]) -> Result<Selected, PrivacyError> {
        let input = counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let count = i64::try_from(*c).map_err(|_| PrivacyError::CountTooLarge {
                    count: *c,
                    max: super::MAX_COUNT,
                })?;
                Ok((i as u32, count))
            })
            .collect::<Result<HashMap<u32, i64>, PrivacyError>>()?;
        self.measurement.invoke(&input).map_err(mechanism)
    }
}
