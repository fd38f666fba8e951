//! `wide-aggregate`: one host aggregate over `sales` grouped by `day`,
//! `amount`, `quantity`, `unit_price` and `discount` (nearly one group per
//! row: about 60,000), asking for the given number of functions of `amount`
//! (16, the most a query may ask for, when no parameters are given: count,
//! sum, mean, min, max and quantiles in turn); returns the number of groups
//! it got (column `groups`).
//!
//! Host memory grows with groups × (keys + functions): unaccounted, a query
//! like this drove the host to 2.74 GB under a 1 GiB cap. The host must
//! count the query's state against the run's memory cap and refuse the
//! query as soon as it would not fit.

use sluice_guest::*;

/// The analytic.
pub struct WideAggregate;

impl Analytic for WideAggregate {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let n: usize = params.trim().parse().unwrap_or(16);
        let mut query = ctx.aggregate("sales").column("amount");
        for key in ["day", "amount", "quantity", "unit_price", "discount"] {
            query = query.group_by(key);
        }
        for i in 0..n {
            query = match i % 6 {
                0 => query.count(),
                1 => query.sum(),
                2 => query.mean(),
                3 => query.min(),
                4 => query.max(),
                _ => query.quantile(i as f64 / n as f64),
            };
        }
        let result = query.run()?;
        Ok(Table::new().i64("groups", [i64::try_from(result.groups.len()).ok()]))
    }
}

export!(WideAggregate);
