//! `quantile-flood`: one host aggregate asking for the given number of
//! quantiles (200,000 when no parameters are given) of `amount` over all of
//! `sales`; returns the number of groups it got (column `groups`).
//!
//! One cheap guest call, a great deal of host work: every quantile passes
//! over the whole column. Unmetered, it ran 15 s in the host under a 1 s
//! wall cap and was charged only the guest's few instructions. The host
//! must charge the work as fuel (stopping it when fuel runs out) and stop
//! it at the run's deadline.

use sluice_guest::*;

/// The analytic.
pub struct QuantileFlood;

impl Analytic for QuantileFlood {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let n: usize = params.trim().parse().unwrap_or(200_000);
        let mut query = ctx.aggregate("sales").column("amount");
        for i in 0..n {
            query = query.quantile((i % 1000) as f64 / 1000.0);
        }
        let result = query.run()?;
        Ok(Table::new().i64("groups", [i64::try_from(result.groups.len()).ok()]))
    }
}

export!(QuantileFlood);
