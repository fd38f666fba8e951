//! `bin-differencing`: isolates one patient by differencing two bins of
//! `age` whose widths the buyer chose, e.g. `[0, w1)` holding every patient
//! but one and `[0, w2)` holding them all.
//!
//! Params: `W1 W2` (bin widths). Output: `width` and, for the first bin
//! `[0, width)` of each query, `patients` and `income` (sum), then a last
//! row (width null) with the differences: one patient's income when the
//! attack works. The policy must refuse any width it does not list.

use sluice_guest::*;

/// The analytic.
pub struct BinDifferencing;

fn first_bin(ctx: &mut Ctx, width: f64) -> Result<(i64, f64)> {
    let r = ctx
        .aggregate("patients")
        .column("income")
        .count()
        .sum()
        .group_by_bins("age", width)
        .run()?;
    let sums: Vec<_> = r.values(AggregateFn::Sum)?.collect();
    let first = r
        .keys_f64("age")?
        .zip(r.counts())
        .zip(sums)
        .find(|((k, _), _)| *k == Some(0.0))
        .map(|((_, n), s)| (n, s.unwrap_or(0.0)))
        .unwrap_or((0, 0.0));
    Ok(first)
}

impl Analytic for BinDifferencing {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let widths: Vec<f64> = params
            .split_whitespace()
            .map(|w| w.parse().map_err(|_| Error::invalid("params: W1 W2")))
            .collect::<Result<_>>()?;
        let [w1, w2] = widths[..] else {
            return Err(Error::invalid("params: W1 W2"));
        };
        let (n1, s1) = first_bin(ctx, w1)?;
        let (n2, s2) = first_bin(ctx, w2)?;
        Ok(Table::new()
            .f64("width", [Some(w1), Some(w2), None])
            .i64("patients", [Some(n1), Some(n2), Some(n2 - n1)])
            .f64("income", [Some(s1), Some(s2), Some(s2 - s1)]))
    }
}

export!(BinDifferencing);
