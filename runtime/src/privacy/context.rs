//! The privacy state of one run: where it charges budget, where it checks
//! differences, where its noise comes from, and the private audit trail of
//! what it drew and decided.
//!
//! Defends the order that makes host aggregates safe: a query is charged
//! before any data is read (a refused charge reads nothing), and a group's
//! difference check is decided and recorded before the result reaches the
//! guest. A live run draws fresh noise and writes state; a replayed run
//! ([`RunPrivacy::replay`]) takes both its noise and its difference
//! decisions from a recorded audit trail and writes nothing: no budget is
//! charged twice, no history grows, and a replay that asks for more or other
//! draws than were recorded fails.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::difference::history::History;
use super::difference::{DifferenceDecision, DifferenceStore, Pair};
use super::source::{NoiseDraw, NoiseSource, OpenDpNoise, RecordedNoise};
use super::{BudgetStore, PrivacyError};
use crate::policy::PrivacyRules;
use crate::refusal::Refusal;

/// What a run drew and decided: part of its private audit record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivacyTrail {
    /// Every noise draw, in order.
    pub noise: Vec<NoiseDraw>,
    /// Every difference-check decision, in order.
    pub differences: Vec<DifferenceDecision>,
}

/// Everything a replay needs to reproduce a run's privacy decisions.
pub type Replay = PrivacyTrail;

/// The privacy state of one run.
pub struct RunPrivacy {
    budget: Option<Arc<BudgetStore>>,
    differences: Option<Arc<DifferenceStore>>,
    noise: Box<dyn NoiseSource>,
    /// Recorded decisions, in replay.
    recorded: Option<VecDeque<DifferenceDecision>>,
    histories: HashMap<Pair, History>,
    /// What this run drew and decided.
    pub trail: PrivacyTrail,
    /// Host work done by difference checks (rows looked up and intersected).
    pub work: u64,
    /// Epsilon charged by this run (whether or not its queries then succeeded).
    pub epsilon_spent: f64,
}

impl std::fmt::Debug for RunPrivacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunPrivacy")
            .field("replay", &self.recorded.is_some())
            .field("trail", &self.trail)
            .finish_non_exhaustive()
    }
}

impl RunPrivacy {
    /// A live run: charges `budget`, checks and records in `differences`,
    /// draws fresh noise from OpenDP.
    pub fn live(
        budget: Option<Arc<BudgetStore>>,
        differences: Option<Arc<DifferenceStore>>,
    ) -> Self {
        Self {
            budget,
            differences,
            noise: Box::new(OpenDpNoise),
            recorded: None,
            histories: HashMap::new(),
            trail: PrivacyTrail::default(),
            work: 0,
            epsilon_spent: 0.0,
        }
    }

    /// A replay of a recorded run: noise and decisions from `replay`, no
    /// store touched.
    pub fn replay(replay: Replay) -> Self {
        Self {
            budget: None,
            differences: None,
            noise: Box::new(RecordedNoise::new(replay.noise)),
            recorded: Some(replay.differences.into()),
            histories: HashMap::new(),
            trail: PrivacyTrail::default(),
            work: 0,
            epsilon_spent: 0.0,
        }
    }

    /// Whether this run replays a record.
    pub fn is_replay(&self) -> bool {
        self.recorded.is_some()
    }

    /// Charges one query over `dataset` to `signer`; returns the epsilon
    /// charged. In replay nothing is charged.
    pub(crate) fn charge(
        &mut self,
        signer: &str,
        dataset: &str,
        rules: &PrivacyRules,
    ) -> Result<f64, Refusal> {
        if self.is_replay() {
            self.epsilon_spent += rules.epsilon_per_query;
            return Ok(rules.epsilon_per_query);
        }
        let Some(store) = self.budget.clone() else {
            return Err(Refusal::not_permitted(format!(
                "dataset `{dataset}` requires differential privacy and this node keeps no privacy budget"
            )));
        };
        store
            .charge(
                signer,
                dataset,
                rules.epsilon_per_query,
                rules.budget,
                rules.refresh_seconds.map(Duration::from_secs),
                SystemTime::now(),
            )
            .map(|_| {
                self.epsilon_spent += rules.epsilon_per_query;
                rules.epsilon_per_query
            })
            .map_err(|e| match e {
                PrivacyError::BudgetExhausted { .. } => Refusal::limit_reached(e.to_string())
                    .public(format!(
                        "privacy budget exhausted for dataset `{dataset}`: nothing was charged; wait for the budget's refresh period if the policy has one, or ask the data owner for a larger budget"
                    )),
                other => {
                    tracing::warn!(error = %other, "privacy budget store failed");
                    Refusal::limit_reached(format!(
                        "the privacy budget for dataset `{dataset}` could not be charged; nothing was released"
                    ))
                }
            })
    }

    /// Decides, for each of `sets` (the row sets of the groups a query
    /// would release, in order), whether it is refused by the difference
    /// check, and records the ones that pass before returning.
    pub(crate) fn check_differences(
        &mut self,
        pair: Pair,
        k: u64,
        sets: &[RoaringBitmap],
    ) -> Result<Vec<bool>, Refusal> {
        if let Some(recorded) = &mut self.recorded {
            let mut refused = Vec::with_capacity(sets.len());
            for set in sets {
                match recorded.pop_front() {
                    Some(d) if d.rows == set.len() => refused.push(d.refused),
                    _ => {
                        return Err(Refusal::invalid(PrivacyError::ReplayExhausted.to_string()));
                    }
                }
            }
            self.record(sets, &refused);
            return Ok(refused);
        }
        let Some(store) = &self.differences else {
            return Err(Refusal::not_permitted(format!(
                "exact aggregates over dataset `{}` need the node's difference-check store, and this node keeps none",
                pair.dataset
            )));
        };
        let history = self
            .histories
            .entry(pair.clone())
            .or_insert_with(|| History::new(k));
        if history.k() != k.max(1) {
            // The policy changed its minimum within one run: start over.
            *history = History::new(k);
        }
        let before = history.work;
        let refused = store
            .check_and_record(&pair, history, sets)
            .map_err(|e| match e {
                PrivacyError::HistoryFull { .. } => Refusal::limit_reached(e.to_string()).public(format!(
                    "the node remembers the most row sets it keeps for this buyer on dataset `{}`, so further exact aggregates over its current snapshot are refused; ask the data owner to enable differential privacy (`[privacy]`)",
                    pair.dataset
                )),
                other => {
                    tracing::warn!(error = %other, "difference-check store failed");
                    Refusal::limit_reached(format!(
                        "the difference check for dataset `{}` could not be made; nothing was released",
                        pair.dataset
                    ))
                }
            })?;
        self.work += history.work - before;
        self.record(sets, &refused);
        Ok(refused)
    }

    fn record(&mut self, sets: &[RoaringBitmap], refused: &[bool]) {
        self.trail
            .differences
            .extend(sets.iter().zip(refused).map(|(s, r)| DifferenceDecision {
                rows: s.len(),
                refused: *r,
            }));
    }

    /// A noisy count, recorded.
    pub(crate) fn count(&mut self, exact: u64, eps: f64) -> Result<NoiseDraw, PrivacyError> {
        let d = self.noise.count(exact, eps)?;
        self.trail.noise.push(d);
        Ok(d)
    }

    /// A noisy sum, recorded.
    pub(crate) fn sum(
        &mut self,
        exact: f64,
        (lower, upper): (f64, f64),
        eps: f64,
    ) -> Result<NoiseDraw, PrivacyError> {
        let d = self.noise.sum(exact, lower, upper, eps)?;
        self.trail.noise.push(d);
        Ok(d)
    }

    /// A private quantile, recorded.
    pub(crate) fn quantile(
        &mut self,
        values: &[f64],
        alpha: f64,
        bounds: (f64, f64),
        eps: f64,
    ) -> Result<NoiseDraw, PrivacyError> {
        let d = self.noise.quantile(values, alpha, bounds, eps)?;
        self.trail.noise.push(d);
        Ok(d)
    }

    /// Partition selection, recorded.
    pub(crate) fn select(
        &mut self,
        counts: &[u64],
        eps: f64,
        delta: f64,
        min_threshold: u64,
    ) -> Result<Vec<NoiseDraw>, PrivacyError> {
        let d = self.noise.select(counts, eps, delta, min_threshold)?;
        self.trail.noise.extend(d.iter().copied());
        Ok(d)
    }
}
