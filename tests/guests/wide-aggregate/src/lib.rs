//! `wide-aggregate`: one host aggregate over `sales` grouped by `region`
//! and `product` (320 groups), asking for the given number of functions of
//! `amount` (100,000 when no parameters are given: count, sum, mean, min,
//! max in turn); returns the number of groups it got (column `groups`).
//!
//! Host memory grows with groups × functions: unaccounted, this drove the
//! host to 2.74 GB under a 1 GiB cap. The host must count the query's state
//! against the run's memory cap and refuse the query before building it.

use sluice_guest::*;

/// The analytic.
pub struct WideAggregate;

impl Analytic for WideAggregate {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let n: usize = params.trim().parse().unwrap_or(100_000);
        let mut query = ctx
            .aggregate("sales")
            .column("amount")
            .group_by("region")
            .group_by("product");
        for i in 0..n {
            query = match i % 5 {
                0 => query.count(),
                1 => query.sum(),
                2 => query.mean(),
                3 => query.min(),
                _ => query.max(),
            };
        }
        let result = query.run()?;
        Ok(Table::new().i64("groups", [i64::try_from(result.groups.len()).ok()]))
    }
}

export!(WideAggregate);
