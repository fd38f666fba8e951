//! `histogram`: patients by sex and ten-year age band, with mean income.
//!
//! Uses host aggregates only and never scans, so it works for a guest
//! that may not read a single raw value of `patients` (the trusted-signer
//! tier). One query asks the host for the row count and the mean of the
//! aggregate-only column `income` (clamped to `[0, 500000]`), grouped by
//! `sex` and by `age` in bins of width 10. The host suppresses every group
//! smaller than the policy's minimum and says how many it suppressed.
//!
//! No params (any params text is ignored).
//!
//! Output columns: `sex` (utf8), `age_from` (int64, the bin's lower
//! bound), `patients` (int64), `mean_income` (float64, null when the host
//! had no income value for the group) and `suppressed_groups` (int64).
//! Released groups come first, sorted by sex then age (nulls first), with
//! `suppressed_groups` null; one final summary row carries the number of
//! suppressed groups in `suppressed_groups` and nulls everywhere else. That
//! row is always present, so even a run whose groups were all suppressed
//! reports how many there were.

use sluice_guest::*;

/// The analytic.
pub struct Histogram;

/// Width of an age band, in years.
pub const AGE_BAND: f64 = 10.0;
/// Incomes are clamped to this range before averaging.
pub const INCOME_BOUNDS: (f64, f64) = (0.0, 500_000.0);

/// One output row of a released group.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The group's sex (null key: `None`).
    pub sex: Option<String>,
    /// Lower bound of the age band (null key: `None`).
    pub age_from: Option<i64>,
    /// Patients in the group.
    pub patients: i64,
    /// Mean clamped income.
    pub mean_income: Option<f64>,
}

/// Turns the host's answer into sorted rows.
pub fn rows(result: &AggregateResult) -> Result<Vec<Row>> {
    let sexes = result.keys("sex")?;
    let ages = result.keys_f64("age")?;
    let means = result.values(AggregateFn::Mean)?;
    let mut rows: Vec<Row> = sexes
        .zip(ages)
        .zip(means)
        .zip(result.counts())
        .map(|(((sex, age), mean), patients)| Row {
            sex: sex.map(str::to_owned),
            age_from: age.map(|a| a.floor() as i64),
            patients,
            mean_income: mean,
        })
        .collect();
    rows.sort_by(|a, b| (&a.sex, a.age_from).cmp(&(&b.sex, b.age_from)));
    Ok(rows)
}

/// The output table: the group rows, then the summary row.
pub fn table(rows: &[Row], suppressed_groups: u64) -> Table {
    let summary = i64::try_from(suppressed_groups).unwrap_or(i64::MAX);
    Table::new()
        .utf8("sex", rows.iter().map(|r| r.sex.as_deref()).chain([None]))
        .i64("age_from", rows.iter().map(|r| r.age_from).chain([None]))
        .i64(
            "patients",
            rows.iter().map(|r| Some(r.patients)).chain([None]),
        )
        .f64(
            "mean_income",
            rows.iter().map(|r| r.mean_income).chain([None]),
        )
        .i64(
            "suppressed_groups",
            rows.iter().map(|_| None).chain([Some(summary)]),
        )
}

impl Analytic for Histogram {
    fn run(ctx: &mut Ctx, _params: &str) -> Result<Table> {
        let result = ctx
            .aggregate("patients")
            .column("income")
            .mean()
            .group_by("sex")
            .group_by_bins("age", AGE_BAND)
            .clamp(INCOME_BOUNDS.0, INCOME_BOUNDS.1)
            .run()?;
        Ok(table(&rows(&result)?, result.suppressed_groups))
    }
}

export!(Histogram);

#[cfg(test)]
mod tests {
    use super::*;

    fn group(sex: Option<&str>, age: &str, count: u64, mean: Option<f64>) -> Group {
        Group {
            keys: vec![sex.map(str::to_owned), Some(age.to_owned())],
            count,
            values: vec![mean],
        }
    }

    #[test]
    fn groups_are_sorted_and_summarised() {
        let result = AggregateResult {
            groups: vec![
                group(Some("M"), "30", 12, Some(40_000.0)),
                group(Some("F"), "40.0", 15, None),
                group(None, "20", 11, Some(1.0)),
                group(Some("F"), "20", 13, Some(35_000.0)),
            ],
            suppressed_groups: 4,
            functions: vec![AggregateFn::Mean],
            group_by: vec!["sex".into(), "age".into()],
        };
        let rows = rows(&result).unwrap();
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.sex.as_deref(), r.age_from))
            .collect();
        assert_eq!(
            keys,
            [
                (None, Some(20)),
                (Some("F"), Some(20)),
                (Some("F"), Some(40)),
                (Some("M"), Some(30))
            ]
        );
        let t = table(&rows, 4);
        assert_eq!((t.rows(), t.error()), (5, None));
        assert_eq!(
            t.column("suppressed_groups"),
            Some(&table::ColumnValues::Int64(vec![
                None,
                None,
                None,
                None,
                Some(4)
            ]))
        );
    }
}
