//! Release of exact host aggregates (no `[privacy]` in the policy): groups
//! below the minimum size are suppressed, and the rest pass the difference
//! check before the guest sees them.
//!
//! Defends against the two ways exact aggregates give a person away: a
//! small group (suppressed) and two large groups that differ by a few rows
//! (refused by [`crate::privacy::difference`], counted as suppressed so the
//! buyer cannot tell which rule removed a group).

use sluice_host_api::aggregates::{AggregateFn, AggregateResult, Group};

use super::groups::{Acc, Scanned};
use super::keys::{KeyPart, render};
use super::plan::Plan;
use crate::engine::{Meter, schedule};
use crate::grant::Grant;
use crate::privacy::RunPrivacy;
use crate::privacy::difference::Pair;
use crate::privacy::quantile::exact_quantile;
use crate::refusal::Refusal;

/// Releases `scanned` exactly, checking differences for `buyer`.
pub(super) fn release(
    grant: &Grant,
    plan: &Plan,
    scanned: Scanned,
    buyer: &str,
    privacy: &mut RunPrivacy,
    meter: &mut Meter,
) -> Result<AggregateResult, Refusal> {
    let k = grant.policy.min_group_size;
    let total = scanned.groups.len() as u64;
    let eligible: Vec<(Vec<KeyPart>, Acc)> = scanned
        .groups
        .into_iter()
        .filter(|(_, acc)| acc.n >= k)
        .collect();
    let sets: Vec<_> = eligible.iter().map(|(_, acc)| acc.rows.clone()).collect();
    let pair = Pair {
        buyer: buyer.to_string(),
        snapshot: grant.dataset.snapshot.clone(),
        dataset: grant.name().to_string(),
    };
    // Charged by the rows of the sets checked, which a replay knows too
    // (the history they are compared with is the node's, not the run's).
    let rows: u64 = sets.iter().map(|s| s.len()).sum();
    meter.charge(rows.saturating_mul(schedule::DIFFERENCE_ROW))?;
    let refused = privacy.check_differences(pair, k, &sets)?;
    let bins: Vec<_> = plan.keys.iter().map(|k| k.bin).collect();
    let mut groups = Vec::new();
    for ((key, acc), refused) in eligible.into_iter().zip(refused) {
        if refused {
            continue;
        }
        meter.check_deadline()?;
        groups.push(Group {
            keys: key.iter().zip(&bins).map(|(k, b)| render(k, *b)).collect(),
            count: acc.n,
            values: plan.functions.iter().map(|f| value(&acc, f)).collect(),
        });
    }
    Ok(AggregateResult {
        suppressed_groups: total - groups.len() as u64,
        groups,
    })
}

/// One function's exact value over a group.
fn value(acc: &Acc, f: &AggregateFn) -> Option<f64> {
    let numeric = acc.n > 0;
    match f {
        AggregateFn::Count => Some(acc.n as f64),
        AggregateFn::Sum => numeric.then_some(acc.sum),
        AggregateFn::Mean => numeric.then(|| acc.sum / acc.n as f64),
        AggregateFn::Min => numeric.then_some(acc.min),
        AggregateFn::Max => numeric.then_some(acc.max),
        AggregateFn::Quantile(q) => exact_quantile(&acc.values, *q),
    }
}
