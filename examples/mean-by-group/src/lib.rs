//! `mean-by-group`: how many orders each region has and their mean amount.
//!
//! Scans two `raw` columns of the `sales` dataset in columnar batches, a
//! string group key (`region`) and a numeric value (`amount`, with nulls),
//! and accumulates a per-group sum and count of the non-null values with
//! the SDK kernel [`kernels::group_sum_count`], which works on the
//! dictionary codes rather than on strings.
//!
//! Params (optional JSON, every field optional):
//! `{"dataset": "sales", "group_by": "region", "value": "amount"}`.
//!
//! Output, one row per group that has at least one non-null value, sorted
//! by group name with the null group (rows without a key) last:
//! `region` (utf8; named after `group_by`), `orders` (int64: rows with a
//! non-null value), `mean_amount` (float64; `mean_<value>` when overridden).

use serde_json::Value;
use sluice_guest::*;

/// The analytic.
pub struct MeanByGroup;

/// Names of the dataset and columns to use.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Dataset to scan.
    pub dataset: String,
    /// String column to group by.
    pub group_by: String,
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
            group_by: field("group_by", "region")?,
            value: field("value", "amount")?,
        })
    }
}

impl Analytic for MeanByGroup {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let p = Params::parse(params)?;
        let mut scan = ctx
            .scan(&p.dataset)
            .dictionary(&p.group_by)
            .column(&p.value)
            .batch_rows(65_536)
            .open()?;
        let (mut sums, mut counts) = (Vec::new(), Vec::new());
        let (mut null_sum, mut null_count) = (0.0, 0u64);
        while let Some(batch) = scan.next_batch()? {
            let key = batch.dict(&p.group_by)?;
            let value = batch.numeric(&p.value)?;
            let rows = batch.rows();
            let keyed = kernels::bitmap_and(key.validity, value.validity, rows);
            kernels::group_sum_count(
                key.codes,
                value.values(),
                keyed.as_deref(),
                &mut sums,
                &mut counts,
            );
            if let Some(key_bits) = key.validity {
                let unkeyed = kernels::bitmap_not(key_bits, rows);
                let mask = kernels::bitmap_and(Some(&unkeyed), value.validity, rows);
                let (s, n) = kernels::sum_count(value.values(), mask.as_deref());
                null_sum += s;
                null_count += n;
            }
        }
        let names = scan.dictionary(&p.group_by).unwrap_or_default();
        let mut rows: Vec<(Option<&str>, u64, f64)> = names
            .iter()
            .zip(sums.iter().zip(&counts))
            .filter(|(_, (_, n))| **n > 0)
            .map(|(name, (&s, &n))| (Some(name.as_str()), n, s / n as f64))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        if null_count > 0 {
            rows.push((None, null_count, null_sum / null_count as f64));
        }
        Ok(Table::new()
            .utf8(&p.group_by, rows.iter().map(|r| r.0))
            .i64(
                "orders",
                rows.iter().map(|r| i64::try_from(r.1).unwrap_or(i64::MAX)),
            )
            .f64(&format!("mean_{}", p.value), rows.iter().map(|r| r.2)))
    }
}

export!(MeanByGroup);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_default_and_override() {
        let d = Params::parse("").unwrap();
        assert_eq!(
            (d.dataset.as_str(), d.group_by.as_str(), d.value.as_str()),
            ("sales", "region", "amount")
        );
        let p = Params::parse(r#"{"group_by":"product"}"#).unwrap();
        assert_eq!(
            (p.group_by.as_str(), p.value.as_str()),
            ("product", "amount")
        );
        assert!(Params::parse(r#"{"value":3}"#).is_err());
        assert!(Params::parse("[1]").is_err());
    }
}
