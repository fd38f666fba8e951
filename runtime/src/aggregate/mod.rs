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

mod dp;
mod exact;
mod groups;
mod plan;

use sluice_host_api::aggregates::{AggregateResult, Query};

pub use groups::MAX_GROUPS;
pub use plan::{MAX_FUNCTIONS, MAX_KEYS};

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
/// `batch_rows`, charging and checking through `privacy`.
pub fn run(
    grant: &Grant,
    asker: Asker<'_>,
    query: &Query,
    batch_rows: usize,
    privacy: &mut RunPrivacy,
) -> Result<Computed, Refusal> {
    let plan = plan::plan(grant, asker.tier, query)?;
    let epsilon = match &grant.policy.privacy {
        Some(rules) => privacy.charge(asker.signer, grant.name(), rules)?,
        None => 0.0,
    };
    let scanned = groups::scan(grant, &plan, batch_rows, plan.private.is_none())?;
    let rows_scanned = scanned.rows;
    let result = match plan.private {
        Some(p) => dp::release(&plan, p, scanned, grant.policy.min_group_size, privacy)?,
        None => exact::release(grant, &plan, scanned, asker.signer, privacy)?,
    };
    Ok(Computed {
        result,
        rows_scanned,
        epsilon,
    })
}

#[cfg(test)]
mod tests;
