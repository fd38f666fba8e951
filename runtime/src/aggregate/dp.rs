//! Differentially private release of host aggregates.
//!
//! Which groups are released: with public key sets for every group key
//! (the policy's `keys`, or bins within `bounds`), the cross product of
//! those sets, whether or not each key occurs in the data (rows whose key is
//! outside the set are left out); otherwise the keys that survive OpenDP's
//! thresholded partition selection with the policy's δ (see
//! [`crate::privacy::selection`]). Either way the key set says nothing
//! certain about anyone: a key with one record is never released because
//! it exists.
//!
//! What each released group carries: its count with discrete Laplace noise
//! (from the selection itself when keys are selected), its clamped sum with
//! Laplace noise when a sum or mean is asked for, and one private quantile
//! (OpenDP's exponential mechanism over a grid of candidates within the
//! bounds) for each min, max and quantile. The query's ε is split evenly
//! over these releases (sequential composition); groups are disjoint, so
//! the same ε covers all of them (parallel composition). Groups whose noisy
//! count is under the minimum group size are suppressed.
//!
//! Draws are made in a fixed order (groups in key order; count, sum, then
//! each order statistic) so a replay can hand them back (see
//! [`crate::privacy::source`]).

use sluice_host_api::aggregates::{AggregateFn, AggregateResult, Group};

use super::MAX_GROUPS;
use super::groups::{Acc, Scanned};
use super::keys::{KeyPart, parse, render};
use super::plan::{KeyRelease, Plan, Private, Public};
use crate::engine::{Meter, schedule};
use crate::privacy::{PrivacyError, RunPrivacy};
use crate::refusal::Refusal;

fn private(e: PrivacyError) -> Refusal {
    tracing::warn!(error = %e, "differentially private release failed");
    Refusal::invalid(format!("differential privacy: {e}"))
}

fn needs_sum(plan: &Plan) -> bool {
    plan.functions
        .iter()
        .any(|f| matches!(f, AggregateFn::Sum | AggregateFn::Mean))
}

fn order_statistic(f: &AggregateFn) -> Option<f64> {
    match f {
        AggregateFn::Min => Some(0.0),
        AggregateFn::Max => Some(1.0),
        AggregateFn::Quantile(q) => Some(*q),
        _ => None,
    }
}

/// Releases `scanned` with noise.
pub(super) fn release(
    plan: &Plan,
    p: Private,
    scanned: Scanned,
    min_group_size: u64,
    privacy: &mut RunPrivacy,
    meter: &mut Meter,
) -> Result<AggregateResult, Refusal> {
    let quantiles = plan.functions.iter().filter_map(order_statistic).count();
    let releases = 1 + u32::from(needs_sum(plan)) + quantiles as u32;
    let eps = p.epsilon / f64::from(releases);
    let (candidates, counts) = match p.keys {
        KeyRelease::Public => {
            let groups = public_groups(plan, scanned)?;
            meter.charge(groups.len() as u64 * schedule::GROUP)?;
            let mut counts = Vec::with_capacity(groups.len());
            for (_, acc) in &groups {
                let d = privacy.count(acc.n, eps).map_err(private)?;
                counts.push(d.value);
            }
            (groups, counts)
        }
        KeyRelease::Select { delta } => {
            let groups = scanned.groups;
            let exact: Vec<u64> = groups.iter().map(|(_, acc)| acc.n).collect();
            let draws = privacy
                .select(&exact, eps, delta, min_group_size)
                .map_err(private)?;
            (groups, draws.iter().map(|d| d.value).collect())
        }
    };
    let bins: Vec<_> = plan.keys.iter().map(|k| k.bin).collect();
    let total = candidates.len() as u64;
    let mut groups = Vec::new();
    for ((key, acc), noisy) in candidates.into_iter().zip(counts) {
        meter.check_deadline()?;
        let Some(n) = noisy.map(|c| c.max(0.0)) else {
            continue;
        };
        if n < min_group_size as f64 {
            continue;
        }
        let values = group_values(plan, &acc, n, eps, privacy)?;
        groups.push(Group {
            keys: key.iter().zip(&bins).map(|(k, b)| render(k, *b)).collect(),
            count: n as u64,
            values,
        });
    }
    Ok(AggregateResult {
        suppressed_groups: total - groups.len() as u64,
        groups,
    })
}

/// The noisy values of one released group with noisy count `n`.
fn group_values(
    plan: &Plan,
    acc: &Acc,
    n: f64,
    eps: f64,
    privacy: &mut RunPrivacy,
) -> Result<Vec<Option<f64>>, Refusal> {
    let sum = match plan.clamp {
        Some(bounds) if needs_sum(plan) => {
            Some(privacy.sum(acc.sum, bounds, eps).map_err(private)?)
        }
        _ => None,
    };
    let mut values = Vec::with_capacity(plan.functions.len());
    for f in &plan.functions {
        let v = match (f, sum, plan.clamp) {
            (AggregateFn::Count, _, _) => Some(n),
            (AggregateFn::Sum, Some(s), _) => s.value,
            (AggregateFn::Mean, Some(s), Some((lo, hi))) => {
                s.value.map(|s| (s / n.max(1.0)).clamp(lo, hi))
            }
            (f, _, Some(bounds)) => match order_statistic(f) {
                Some(alpha) => {
                    privacy
                        .quantile(&acc.values, alpha, bounds, eps)
                        .map_err(private)?
                        .value
                }
                None => None,
            },
            _ => None,
        };
        values.push(v);
    }
    Ok(values)
}

/// The cross product of the public key sets, each with its group's figures
/// (empty for keys absent from the data). Rows with keys outside the sets
/// are left out.
fn public_groups(plan: &Plan, scanned: Scanned) -> Result<Vec<(Vec<KeyPart>, Acc)>, Refusal> {
    let sets: Vec<Vec<KeyPart>> = plan
        .keys
        .iter()
        .zip(&scanned.distinct)
        .map(|(k, distinct)| match &k.public {
            Some(Public::Listed(l)) => l.iter().map(|s| parse(k.column.column_type, s)).collect(),
            Some(Public::AllValues) => distinct.iter().cloned().collect(),
            Some(Public::Bins { first, last, .. }) => (*first..=*last).map(KeyPart::Bin).collect(),
            None => Vec::new(),
        })
        .collect();
    let size = sets
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.len()))
        .unwrap_or(usize::MAX);
    if size > MAX_GROUPS {
        return Err(Refusal::limit_reached(format!(
            "the public key sets of these group keys make more than {MAX_GROUPS} groups; group by fewer keys"
        )));
    }
    let mut observed: std::collections::HashMap<Vec<KeyPart>, Acc> =
        scanned.groups.into_iter().collect();
    let mut out = Vec::with_capacity(size);
    let mut key = Vec::with_capacity(sets.len());
    product(&sets, &mut key, &mut |key| {
        let acc = observed.remove(key).unwrap_or_default();
        out.push((key.to_vec(), acc));
    });
    Ok(out)
}

fn product(sets: &[Vec<KeyPart>], key: &mut Vec<KeyPart>, f: &mut impl FnMut(&[KeyPart])) {
    match sets.split_first() {
        None => f(key),
        Some((first, rest)) => {
            for part in first {
                key.push(part.clone());
                product(rest, key, f);
                key.pop();
            }
        }
    }
}
