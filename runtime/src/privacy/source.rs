//! Where differential-privacy noise comes from: drawn fresh by OpenDP with
//! secure randomness, or replayed from a run's private audit record.
//!
//! Defends two things. Live runs must never reuse or predict noise, so
//! [`OpenDpNoise`] has no seed and draws through OpenDP, whose randomness is
//! OpenSSL's `RAND_priv_bytes`. An auditor replaying a recorded run must get
//! exactly the released values back without drawing new noise (which would
//! differ) or spending budget, so [`RecordedNoise`] hands back the recorded
//! draws in order and refuses as soon as the run asks for something the
//! record does not hold (the replayed run diverged).
//!
//! # The seam for replay
//!
//! Every noisy release goes through [`NoiseSource`], one call per draw, in
//! a deterministic order (queries in the order the guest made them, groups
//! in key order, within a group: count, sum, then each quantile). A live run
//! records each returned [`NoiseDraw`] in its audit record
//! ([`crate::outcome::AuditRecord::noise`]); replay builds a
//! [`RecordedNoise`] from that list and passes it as the run's source. The
//! exact value each draw was computed from is checked on replay, so a
//! replay over different data or code fails instead of silently re-using
//! noise.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::error::PrivacyError;
use super::noise::{noisy_count, noisy_sum};
use super::quantile::{exact_quantile, private_quantile};
use super::selection;

/// Which mechanism made a draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// Discrete Laplace on a count.
    Count,
    /// Laplace on a clamped sum.
    Sum,
    /// Exponential mechanism over quantile candidates.
    Quantile,
    /// Thresholded discrete Laplace on a group's count (partition selection).
    Selection,
}

/// One noisy release and what was drawn: the node's private audit record.
/// Only `value` is ever released, and only when it is `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseDraw {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The exact aggregate it was computed from. Private.
    pub exact: f64,
    /// What was released; `None` when partition selection dropped the group.
    pub value: Option<f64>,
    /// Noise scale.
    pub scale: f64,
    /// Privacy loss certified by OpenDP.
    pub epsilon: f64,
    /// δ certified by OpenDP (0 for pure mechanisms).
    pub delta: f64,
}

/// A source of noisy releases; see the module docs for the order of calls.
pub trait NoiseSource: Send {
    /// A noisy count (sensitivity 1).
    fn count(&mut self, exact: u64, eps: f64) -> Result<NoiseDraw, PrivacyError>;
    /// A noisy sum of values clamped to `[lower, upper]`.
    fn sum(
        &mut self,
        exact: f64,
        lower: f64,
        upper: f64,
        eps: f64,
    ) -> Result<NoiseDraw, PrivacyError>;
    /// A private `alpha`-quantile of `values` over candidates in `[lower, upper]`.
    fn quantile(
        &mut self,
        values: &[f64],
        alpha: f64,
        bounds: (f64, f64),
        eps: f64,
    ) -> Result<NoiseDraw, PrivacyError>;
    /// Partition selection over every group's count: one draw per group,
    /// in the order given.
    fn select(
        &mut self,
        counts: &[u64],
        eps: f64,
        delta: f64,
        min_threshold: u64,
    ) -> Result<Vec<NoiseDraw>, PrivacyError>;
}

/// Fresh noise from OpenDP (live runs).
#[derive(Debug, Default)]
pub struct OpenDpNoise;

impl NoiseSource for OpenDpNoise {
    fn count(&mut self, exact: u64, eps: f64) -> Result<NoiseDraw, PrivacyError> {
        let v = noisy_count(exact, eps)?;
        Ok(NoiseDraw {
            mechanism: Mechanism::Count,
            exact: v.exact,
            value: Some(v.value),
            scale: v.scale,
            epsilon: v.epsilon,
            delta: 0.0,
        })
    }

    fn sum(
        &mut self,
        exact: f64,
        lower: f64,
        upper: f64,
        eps: f64,
    ) -> Result<NoiseDraw, PrivacyError> {
        let v = noisy_sum(exact, lower, upper, eps)?;
        Ok(NoiseDraw {
            mechanism: Mechanism::Sum,
            exact: v.exact,
            value: Some(v.value),
            scale: v.scale,
            epsilon: v.epsilon,
            delta: 0.0,
        })
    }

    fn quantile(
        &mut self,
        values: &[f64],
        alpha: f64,
        (lower, upper): (f64, f64),
        eps: f64,
    ) -> Result<NoiseDraw, PrivacyError> {
        let q = private_quantile(values, alpha, lower, upper, eps)?;
        Ok(NoiseDraw {
            mechanism: Mechanism::Quantile,
            exact: exact_quantile(values, alpha).unwrap_or(f64::NAN),
            value: Some(q.value),
            scale: q.scale,
            epsilon: q.epsilon,
            delta: 0.0,
        })
    }

    fn select(
        &mut self,
        counts: &[u64],
        eps: f64,
        delta: f64,
        min_threshold: u64,
    ) -> Result<Vec<NoiseDraw>, PrivacyError> {
        let s = selection::calibrate(eps, delta, min_threshold)?;
        let kept = s.invoke(counts)?;
        Ok(counts
            .iter()
            .enumerate()
            .map(|(i, c)| NoiseDraw {
                mechanism: Mechanism::Selection,
                exact: *c as f64,
                value: kept.get(&(i as u32)).map(|v| *v as f64),
                scale: s.scale,
                epsilon: s.epsilon,
                delta: s.delta,
            })
            .collect())
    }
}

/// The draws of a recorded run, handed back in order (replay).
#[derive(Debug, Default)]
pub struct RecordedNoise {
    draws: VecDeque<NoiseDraw>,
}

impl RecordedNoise {
    /// Replays `draws`, as recorded in a run's audit record.
    pub fn new(draws: Vec<NoiseDraw>) -> Self {
        Self {
            draws: draws.into(),
        }
    }

    /// Draws not asked for (yet): a complete replay leaves none.
    pub fn remaining(&self) -> usize {
        self.draws.len()
    }

    fn next(&mut self, mechanism: Mechanism, exact: f64) -> Result<NoiseDraw, PrivacyError> {
        let draw = self
            .draws
            .pop_front()
            .ok_or(PrivacyError::ReplayExhausted)?;
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        if draw.mechanism != mechanism || !same(draw.exact, exact) {
            return Err(PrivacyError::ReplayDiverged {
                recorded: format!("{:?} of {}", draw.mechanism, draw.exact),
                asked: format!("{mechanism:?} of {exact}"),
            });
        }
        Ok(draw)
    }
}

impl NoiseSource for RecordedNoise {
    fn count(&mut self, exact: u64, _eps: f64) -> Result<NoiseDraw, PrivacyError> {
        self.next(Mechanism::Count, exact as f64)
    }

    fn sum(&mut self, exact: f64, _: f64, _: f64, _: f64) -> Result<NoiseDraw, PrivacyError> {
        self.next(Mechanism::Sum, exact)
    }

    fn quantile(
        &mut self,
        values: &[f64],
        alpha: f64,
        _: (f64, f64),
        _: f64,
    ) -> Result<NoiseDraw, PrivacyError> {
        let exact = exact_quantile(values, alpha).unwrap_or(f64::NAN);
        self.next(Mechanism::Quantile, exact)
    }

    fn select(
        &mut self,
        counts: &[u64],
        _: f64,
        _: f64,
        _: u64,
    ) -> Result<Vec<NoiseDraw>, PrivacyError> {
        counts
            .iter()
            .map(|c| self.next(Mechanism::Selection, *c as f64))
            .collect()
    }
}
