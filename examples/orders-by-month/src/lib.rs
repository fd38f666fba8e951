//! `orders-by-month`: how many orders each calendar month has and their
//! mean amount, from a `date` or `timestamp` column.
//!
//! Scans the time column and the value column of a dataset in columnar
//! batches, turns each batch's dates or timestamps into month keys with
//! the SDK kernels ([`kernels::months_of`] over [`Batch::days`]: the day
//! each timestamp falls on, in UTC for zoned timestamps, then its month),
//! and sums per month with [`kernels::keyed_sum_count`], which groups
//! integer keys of any range without a per-row map lookup.
//!
//! Params (optional JSON, every field optional):
//! `{"dataset": "sales", "time": "ordered_at", "value": "amount"}`.
//!
//! Output, one row per month with at least one row having both a time and
//! a value, in calendar order: `month` (utf8, `YYYY-MM`), `orders` (int64)
//! and `mean_amount` (float64; `mean_<value>` when overridden).

use std::collections::BTreeMap;

use serde_json::Value;
use sluice_guest::*;

/// The analytic.
pub struct OrdersByMonth;

/// Names of the dataset and columns to use.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Dataset to scan.
    pub dataset: String,
    /// The `date` or `timestamp` column.
    pub time: String,
    /// Numeric column to average.
    pub value: String,
}

impl Params {
    /// Parses the run's params; empty text means all defaults.
    pub fn parse(text: &str) -> Result<Params> {
        let json: Value = match text.trim() {
            "" => Value::Null,
            t => serde_json::from_str(t).map_err(|e| Error::invalid(format!("params: {e}")))?,
        };
        if !(json.is_null() || json.is_object()) {
            return Err(Error::invalid("params must be a JSON object"));
        }
        let field = |name: &str, default: &str| match json.get(name) {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::invalid(format!("params: `{name}` must be a string"))),
        };
        Ok(Params {
            dataset: field("dataset", "sales")?,
            time: field("time", "ordered_at")?,
            value: field("value", "amount")?,
        })
    }
}

/// Per-month (key: months since 1970-01) sums and counts of one batch's
/// values, added to `acc`.
pub fn add_batch(batch: &Batch, p: &Params, acc: &mut BTreeMap<i32, (f64, u64)>) -> Result<()> {
    let days = batch.days(&p.time)?;
    let value = batch.numeric(&p.value)?;
    let months = kernels::months_of(&days.values);
    let valid = kernels::bitmap_and(days.validity, value.validity, batch.rows());
    kernels::keyed_sum_count(&months, value.values(), valid.as_deref(), acc);
    Ok(())
}

/// The result table from the per-month sums.
pub fn table(acc: &BTreeMap<i32, (f64, u64)>, p: &Params) -> Table {
    Table::new()
        .utf8("month", acc.keys().map(|&m| time::format_month(m)))
        .i64(
            "orders",
            acc.values()
                .map(|&(_, n)| i64::try_from(n).unwrap_or(i64::MAX)),
        )
        .f64(
            &format!("mean_{}", p.value),
            acc.values().map(|&(s, n)| s / n as f64),
        )
}

impl Analytic for OrdersByMonth {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let p = Params::parse(params)?;
        let scan = ctx
            .scan(&p.dataset)
            .columns(&[&p.time, &p.value])
            .batch_rows(65_536)
            .open()?;
        let mut acc = BTreeMap::new();
        for batch in scan {
            add_batch(&batch?, &p, &mut acc)?;
        }
        Ok(table(&acc, &p))
    }
}

export!(OrdersByMonth);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_default_and_override() {
        let d = Params::parse("").unwrap();
        assert_eq!(
            (d.time.as_str(), d.value.as_str()),
            ("ordered_at", "amount")
        );
        let p = Params::parse(r#"{"time":"day"}"#).unwrap();
        assert_eq!(p.time, "day");
        assert!(Params::parse(r#"{"time":1}"#).is_err());
    }

    #[test]
    fn months_come_out_in_calendar_order() {
        let p = Params::parse("").unwrap();
        let mut acc = BTreeMap::new();
        let jan = time::days_from_civil(2024, 1, 31);
        let dec = time::days_from_civil(2023, 12, 1);
        let keys = kernels::months_of(&[jan, dec, jan]);
        kernels::keyed_sum_count(&keys, &[1.0, 2.0, 3.0], None, &mut acc);
        let t = table(&acc, &p);
        assert_eq!((t.rows(), t.error()), (2, None));
        assert_eq!(
            acc.values().copied().collect::<Vec<_>>(),
            [(2.0, 1), (4.0, 2)]
        );
        assert_eq!(time::format_month(*acc.keys().next().unwrap()), "2023-12");
    }
}
