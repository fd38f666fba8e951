//! `top-products`: the best-selling products by revenue, net of returns.
//!
//! Scans the raw `product` (string, used as dictionary codes), `amount`
//! (float64), `quantity` (int64 or float64) and `returned` (boolean)
//! columns of the `sales` dataset. Rows where `returned` is true are left
//! out (a null `returned` counts as not returned) by folding them into the
//! validity bitmaps handed to [`kernels::group_sum_count`]; rows without a
//! product are left out too.
//!
//! Params (optional JSON): `{"n": 10}`, how many products to return (a
//! positive integer, default 10).
//!
//! Output, at most `n` rows by revenue descending (ties by product name):
//! `product` (utf8), `revenue` (float64, sum of non-null `amount`) and
//! `units` (int64, sum of non-null `quantity`, rounded).

use serde_json::Value;
use sluice_guest::*;

/// The analytic.
pub struct TopProducts;

/// How many products to return when params do not say.
pub const DEFAULT_N: usize = 10;

/// Parses the run's params into the number of products to return.
pub fn parse_n(text: &str) -> Result<usize> {
    let json: Value = match text.trim() {
        "" => return Ok(DEFAULT_N),
        t => serde_json::from_str(t).map_err(|e| Error::invalid(format!("params: {e}")))?,
    };
    match json.get("n") {
        None if json.is_object() => Ok(DEFAULT_N),
        Some(n) => n
            .as_u64()
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Error::invalid("params: `n` must be a positive integer")),
        None => Err(Error::invalid("params must be a JSON object")),
    }
}

/// Per-product totals, indexed by dictionary code.
#[derive(Debug, Default)]
pub struct Totals {
    revenue: (Vec<f64>, Vec<u64>),
    units: (Vec<f64>, Vec<u64>),
}

impl Totals {
    /// Adds one batch.
    pub fn add(&mut self, batch: &Batch) -> Result<()> {
        let rows = batch.rows();
        let product = batch.dict("product")?;
        let amount = batch.f64("amount")?;
        let quantity = batch.numeric("quantity")?;
        let kept = kernels::bitmap_not(&batch.bool("returned")?.true_bitmap(), rows);
        let keep = kernels::bitmap_and(Some(&kept), product.validity, rows);
        let revenue_rows = kernels::bitmap_and(keep.as_deref(), amount.validity, rows);
        let units_rows = kernels::bitmap_and(keep.as_deref(), quantity.validity, rows);
        let (s, c) = &mut self.revenue;
        kernels::group_sum_count(product.codes, amount.values, revenue_rows.as_deref(), s, c);
        let (s, c) = &mut self.units;
        kernels::group_sum_count(
            product.codes,
            quantity.values(),
            units_rows.as_deref(),
            s,
            c,
        );
        Ok(())
    }

    /// The top `n` products with a kept row, by revenue then name.
    pub fn top<'a>(&self, names: &'a [String], n: usize) -> Vec<(&'a str, f64, i64)> {
        let at = |v: &Vec<f64>, i: usize| v.get(i).copied().unwrap_or(0.0);
        let seen = |v: &Vec<u64>, i: usize| v.get(i).is_some_and(|&c| c > 0);
        let mut rows: Vec<(&str, f64, i64)> = names
            .iter()
            .enumerate()
            .filter(|&(i, _)| seen(&self.revenue.1, i) || seen(&self.units.1, i))
            .map(|(i, name)| {
                (
                    name.as_str(),
                    at(&self.revenue.0, i),
                    at(&self.units.0, i).round() as i64,
                )
            })
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        rows.truncate(n);
        rows
    }
}

impl Analytic for TopProducts {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let n = parse_n(params)?;
        let mut scan = ctx
            .scan("sales")
            .dictionary("product")
            .columns(&["amount", "quantity", "returned"])
            .batch_rows(65_536)
            .open()?;
        let mut totals = Totals::default();
        while let Some(batch) = scan.next_batch()? {
            totals.add(&batch)?;
        }
        let top = totals.top(scan.dictionary("product").unwrap_or_default(), n);
        Ok(Table::new()
            .utf8("product", top.iter().map(|r| r.0))
            .f64("revenue", top.iter().map(|r| r.1))
            .i64("units", top.iter().map(|r| r.2)))
    }
}

export!(TopProducts);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        assert_eq!(parse_n(""), Ok(10));
        assert_eq!(parse_n("{}"), Ok(10));
        assert_eq!(parse_n(r#"{"n": 3}"#), Ok(3));
        assert!(parse_n(r#"{"n": 0}"#).is_err());
        assert!(parse_n(r#"{"n": "x"}"#).is_err());
        assert!(parse_n("7").is_err());
    }

    #[test]
    fn ranks_by_revenue_then_name() {
        let totals = Totals {
            revenue: (vec![5.0, 9.0, 5.0, 0.0], vec![1, 2, 1, 0]),
            units: (vec![1.0, 3.0, 2.0, 0.0], vec![1, 2, 1, 0]),
        };
        let names: Vec<String> = ["b", "a", "a2", "never"].map(String::from).to_vec();
        assert_eq!(totals.top(&names, 2), [("a", 9.0, 3), ("a2", 5.0, 2)]);
        assert_eq!(totals.top(&names, 10).len(), 3);
    }
}
