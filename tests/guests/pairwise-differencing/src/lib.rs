//! `pairwise-differencing`: isolates people by differencing a group by `A`
//! with a group by `A × B` (here `zip`, then `zip` and `sex`): in a zip of
//! 12 patients, 11 of them women, the zip's income sum minus the women's
//! is the one man's income, though every group has at least 10 patients.
//!
//! Output: `zip`, `rows` and `income` for every zip where both groups were
//! released and differ by 1 to 9 patients (the isolated rows and their
//! income sum). The host's difference checks must leave it empty.

use std::collections::HashMap;

use sluice_guest::*;

/// The analytic.
pub struct PairwiseDifferencing;

type Sums = HashMap<String, (i64, f64)>;

/// One released group: its keys, count and income sum.
type Released = (Vec<Option<String>>, i64, f64);

fn sums(r: &AggregateResult) -> Result<Vec<Released>> {
    let sums: Vec<_> = r.values(AggregateFn::Sum)?.collect();
    Ok(r.groups
        .iter()
        .zip(sums)
        .map(|(g, s)| (g.keys.clone(), g.count as i64, s.unwrap_or(0.0)))
        .collect())
}

impl Analytic for PairwiseDifferencing {
    fn run(ctx: &mut Ctx, _: &str) -> Result<Table> {
        let by_zip = ctx
            .aggregate("patients")
            .column("income")
            .sum()
            .group_by("zip")
            .run()?;
        let by_zip_sex = ctx
            .aggregate("patients")
            .column("income")
            .sum()
            .group_by("zip")
            .group_by("sex")
            .run()?;
        let zips: Sums = sums(&by_zip)?
            .into_iter()
            .filter_map(|(k, n, s)| Some((k[0].clone()?, (n, s))))
            .collect();
        let mut rows = Vec::new();
        for (keys, n, s) in sums(&by_zip_sex)? {
            let Some(zip) = keys[0].clone() else { continue };
            if let Some((total, sum)) = zips.get(&zip) {
                let isolated = total - n;
                if (1..10).contains(&isolated) {
                    rows.push((zip, isolated, sum - s));
                }
            }
        }
        Ok(Table::new()
            .utf8("zip", rows.iter().map(|r| Some(r.0.clone())))
            .i64("rows", rows.iter().map(|r| Some(r.1)))
            .f64("income", rows.iter().map(|r| Some(r.2))))
    }
}

export!(PairwiseDifferencing);
