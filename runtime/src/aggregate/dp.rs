//! Differentially private release of host aggregates.
//!
//! Every released group's row count is noised (discrete Laplace), and when
//! a sum or mean is asked for, the clamped sum is noised too (Laplace), all
//! by OpenDP. The query's epsilon is split evenly between these releases
//! (sequential composition); groups are disjoint, so the same epsilon
//! covers all of them (parallel composition). Sums need clamp bounds, which
//! fix their sensitivity; min, max and quantiles are refused because they
//! have no bounded-sensitivity release here. Groups whose *noisy* count is
//! under the minimum group size are suppressed.
//!
//! Known limit: which group keys exist is taken from the data as it is, so
//! a key present in the data can be learnt from its presence in the result
//! (unless suppressed); the values, not the key set, are what is protected.

use sluice_host_api::aggregates::{AggregateFn, AggregateResult, Group, Query};
use sluice_host_api::types::Error;

use super::{Acc, KeyPart, fn_name, render_keys};
use crate::engine::Meter;
use crate::privacy::{NoisyValue, noisy_count, noisy_sum};

fn needs_sum(query: &Query) -> bool {
    query
        .functions
        .iter()
        .any(|f| matches!(f, AggregateFn::Sum | AggregateFn::Mean))
}

/// Refuses what cannot be released with differential privacy here.
pub(super) fn check(query: &Query, clamp: Option<(f64, f64)>) -> Result<(), Error> {
    if let Some(f) = query.functions.iter().find(|f| {
        matches!(
            f,
            AggregateFn::Min | AggregateFn::Max | AggregateFn::Quantile(_)
        )
    }) {
        return Err(Error::NotPermitted(format!(
            "{} is not available under this dataset's differential privacy; use count, sum or mean",
            fn_name(f)
        )));
    }
    if needs_sum(query) && clamp.is_none() {
        return Err(Error::Invalid(
            "sum and mean under differential privacy need clamp bounds, from the query or the policy (the sensitivity depends on them)".into(),
        ));
    }
    Ok(())
}

fn private(e: crate::privacy::PrivacyError) -> Error {
    Error::Invalid(format!("differential privacy: {e}"))
}

/// Releases the groups with noise; returns the result and the noise drawn.
pub(super) fn release(
    sorted: Vec<(Vec<KeyPart>, Acc)>,
    query: &Query,
    min_group_size: u64,
    epsilon: f64,
    clamp: Option<(f64, f64)>,
    meter: &mut Meter,
) -> Result<(AggregateResult, Vec<NoisyValue>), Error> {
    let releases = 1 + u32::from(needs_sum(query));
    let eps = epsilon / f64::from(releases);
    let widths: Vec<Option<f64>> = query.group_by.iter().map(|k| k.bin_width).collect();
    let mut noise = Vec::new();
    let mut groups = Vec::new();
    let mut suppressed = 0u64;
    for (key, acc) in sorted {
        meter.check_deadline()?;
        let count = noisy_count(acc.rows, eps).map_err(private)?;
        noise.push(count);
        let n = count.value.max(0.0);
        if n < min_group_size as f64 {
            suppressed += 1;
            continue;
        }
        let sum = match clamp {
            Some((lo, hi)) if releases == 2 => {
                let s = noisy_sum(acc.sum, lo, hi, eps).map_err(private)?;
                noise.push(s);
                Some((s.value, lo, hi))
            }
            _ => None,
        };
        let values = query
            .functions
            .iter()
            .map(|f| match (f, sum) {
                (AggregateFn::Count, _) => Some(n),
                (AggregateFn::Sum, Some((s, _, _))) => Some(s),
                (AggregateFn::Mean, Some((s, lo, hi))) => Some((s / n.max(1.0)).clamp(lo, hi)),
                _ => None,
            })
            .collect();
        groups.push(Group {
            keys: render_keys(&key, &widths),
            count: n as u64,
            values,
        });
    }
    Ok((
        AggregateResult {
            groups,
            suppressed_groups: suppressed,
        },
        noise,
    ))
}
