//! `exact-extremes`: a trusted signer's module asking host aggregates for
//! order statistics, each of which is one person's exact value unless
//! noised.
//!
//! Params: `patients` (min, median and max `income` per `region`) or
//! `sales` (min and max `customer_id` per `day`). Output: `key`, `min`,
//! `median` (patients only, else null), `max`, one row per released group.
//!
//! Params `clamp` instead sums `income` per `region` twice, clamped to
//! `[0, 500000]` and to `[0, 120000]`: the difference is what the richest
//! patients earn above 120000, the top value exactly when one is above.
//! Output: `key`, `above` (the difference).

use sluice_guest::*;

/// The analytic.
pub struct ExactExtremes;

fn clamped(ctx: &mut Ctx, upper: f64) -> Result<Vec<Option<f64>>> {
    let r = ctx
        .aggregate("patients")
        .column("income")
        .sum()
        .group_by("region")
        .clamp(0.0, upper)
        .run()?;
    Ok(r.values(AggregateFn::Sum)?.collect())
}

impl Analytic for ExactExtremes {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        if params.trim() == "clamp" {
            let all = clamped(ctx, 500_000.0)?;
            let below = clamped(ctx, 120_000.0)?;
            let above = all
                .iter()
                .zip(&below)
                .map(|(a, b)| Some(a.unwrap_or(0.0) - b.unwrap_or(0.0)));
            return Ok(Table::new().f64("above", above));
        }
        let (dataset, column, key) = match params.trim() {
            "sales" => ("sales", "customer_id", "day"),
            _ => ("patients", "income", "region"),
        };
        let mut q = ctx
            .aggregate(dataset)
            .column(column)
            .min()
            .max()
            .group_by(key);
        if dataset == "patients" {
            q = q.quantile(0.5);
        }
        let r = q.run()?;
        let min: Vec<_> = r.values(AggregateFn::Min)?.collect();
        let max: Vec<_> = r.values(AggregateFn::Max)?.collect();
        let median: Vec<_> = match r.values(AggregateFn::Quantile(0.5)) {
            Ok(v) => v.collect(),
            Err(_) => vec![None; r.len()],
        };
        Ok(Table::new()
            .utf8("key", r.keys(key)?.map(|k| k.map(str::to_owned)))
            .f64("min", min)
            .f64("median", median)
            .f64("max", max))
    }
}

export!(ExactExtremes);
