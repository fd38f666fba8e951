//! Host aggregates: the only way a guest reaches `aggregate` columns, and
//! the only way a trusted signer's module reaches any column.
//!
//! The host computes count / sum / mean (and, where the policy lists them,
//! min / max / quantiles) natively over the whole dataset, grouped by keys
//! the policy permits and binned only at the widths it lists. Then:
//!
//! - without `[privacy]`, every group smaller than the policy's minimum
//!   group size is suppressed and every other group must pass the
//!   difference check against all groups released to the same buyer over
//!   the same snapshot ([`exact`]);
//! - with `[privacy]`, the query is charged to the buyer's budget before
//!   any data is read, group keys are public or privately selected, and
//!   every figure is noised by OpenDP ([`dp`]).
//!
//! A group's figures are over its *contributing* rows: with a value column,
//! the rows where it is not null (so `count` of a column is its non-null
//! values, for every type, with or without noise); without one, all rows.
//! The number of groups a query may build is capped so a near-unique key
//! cannot exhaust host memory; the module docs of [`plan`] and [`groups`]
//! say what each step refuses.
//!
//! The work is metered ([`Meter`]): rows read, keys built, groups created,
//! functions computed, values sorted and rows difference-checked are charged
//! as fuel as the query runs (finalisation up front, before it is done),
//! the run's deadline is checked per batch and per group, and the query's
//! state is reserved against the run's memory cap before it is allocated:
//! a query whose groups would not fit is refused with `limit-reached`.

mod dp;
mod exact;
mod groups;
mod keys;
mod plan;

use sluice_host_api::aggregates::{AggregateResult, Query};

pub use groups::MAX_GROUPS;
pub use plan::{MAX_FUNCTIONS, MAX_KEYS};

use crate::engine::{Meter, Reservation};
use crate::grant::{Grant, Tier};
use crate::privacy::RunPrivacy;
use crate::refusal::Refusal;

/// What a query computed and released.
#[derive(Debug)]
pub struct Computed {
    /// The released groups.
    pub result: AggregateResult,
    /// Rows read to compute it.
    pub rows_scanned: u64,
    /// Privacy loss charged to the buyer's budget.
    pub epsilon: f64,
    /// Host memory reserved for the result until it is handed over.
    pub held: Reservation,
}

/// Who asks: the module's tier for the dataset and the signer whose budget
/// and history the query uses.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// The module's tier for this dataset.
    pub tier: Tier,
    /// Key id of the signer the dataset's state belongs to.
    pub signer: &'a str,
}

/// Answers `query` over `grant` for `asker`, reading in batches of
/// `batch_rows`, charging and checking through `privacy`, metering the
/// work and memory on `meter`. When the meter trips, the refusal returned
/// here is superseded by the run's abort.
pub fn run(
    grant: &Grant,
    asker: Asker<'_>,
    query: &Query,
    batch_rows: usize,
    privacy: &mut RunPrivacy,
    meter: &mut Meter,
) -> Result<Computed, Refusal> {
    let plan = plan::plan(grant, asker.tier, query)?;
    if groups::group_bytes(&plan) > meter.memory().headroom() {
        return Err(groups::too_big(meter));
    }
    let epsilon = match &grant.policy.privacy {
        Some(rules) => privacy.charge(asker.signer, grant.name(), rules)?,
        None => 0.0,
    };
    let mut held = Reservation::empty(meter.memory());
    let scanned = groups::scan(
        grant,
        &plan,
        batch_rows,
        plan.private.is_none(),
        meter,
        &mut held,
    )?;
    meter.charge(groups::finalise_cost(&scanned, &plan))?;
    let rows_scanned = scanned.rows;
    let result = match plan.private {
        Some(p) => dp::release(
            &plan,
            p,
            scanned,
            grant.policy.min_group_size,
            privacy,
            meter,
        )?,
        None => exact::release(grant, &plan, scanned, asker.signer, privacy, meter)?,
    };
    Ok(Computed {
        result,
        rows_scanned,
        epsilon,
        held,
    })
}

#[cfg(test)]
mod tests;
