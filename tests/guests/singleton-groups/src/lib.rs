//! `singleton-groups`: asks the host for counts grouped by `zip`, a
//! near-unique key of `patients`, and returns every group it got.
//!
//! The host must have suppressed each group below the policy's minimum
//! size, so the released groups are the large ones only. Output columns:
//! `zip` (utf8), `count` (int64) and `suppressed_groups` (int64): one row
//! per released group with `suppressed_groups` null, then one summary row
//! with nulls everywhere except `suppressed_groups`, the number of groups
//! the host suppressed.

use sluice_guest::*;

/// The analytic.
pub struct SingletonGroups;

impl Analytic for SingletonGroups {
    fn run(ctx: &mut Ctx, _: &str) -> Result<Table> {
        let result = ctx.aggregate("patients").count().group_by("zip").run()?;
        let summary = i64::try_from(result.suppressed_groups).unwrap_or(i64::MAX);
        Ok(Table::new()
            .utf8("zip", result.keys("zip")?.chain([None]))
            .i64("count", result.counts().map(Some).chain([None]))
            .i64(
                "suppressed_groups",
                result.groups.iter().map(|_| None).chain([Some(summary)]),
            ))
    }
}

export!(SingletonGroups);
