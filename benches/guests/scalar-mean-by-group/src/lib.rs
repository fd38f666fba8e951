//! `bench-scalar-mean-by-group`: `mean-by-group` written as the per-row
//! loop an analyst might write first, without the SDK's column kernels.
//!
//! Same scan, same output (`region`, `orders`, `mean_amount`, the null
//! group last) as the `mean-by-group` example, but every row goes through
//! `code(i)` / `get(i)` and a bounds-checked accumulator update. The
//! comparison harness runs it to show what fuel metering costs a tight
//! scalar loop, next to the kernel-based example.

use sluice_guest::*;

/// The analytic.
pub struct ScalarMeanByGroup;

impl Analytic for ScalarMeanByGroup {
    fn run(ctx: &mut Ctx, _params: &str) -> Result<Table> {
        let mut scan = ctx
            .scan("sales")
            .dictionary("region")
            .column("amount")
            .batch_rows(65_536)
            .open()?;
        let (mut sums, mut counts): (Vec<f64>, Vec<u64>) = (Vec::new(), Vec::new());
        let (mut null_sum, mut null_count) = (0.0, 0u64);
        while let Some(batch) = scan.next_batch()? {
            let key = batch.dict("region")?;
            let value = batch.numeric("amount")?;
            for i in 0..batch.rows() {
                let Some(v) = value.get(i) else { continue };
                match key.code(i) {
                    Some(code) => {
                        let g = code as usize;
                        if g >= sums.len() {
                            sums.resize(g + 1, 0.0);
                            counts.resize(g + 1, 0);
                        }
                        sums[g] += v;
                        counts[g] += 1;
                    }
                    None => {
                        null_sum += v;
                        null_count += 1;
                    }
                }
            }
        }
        let names = scan.dictionary("region").unwrap_or_default();
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
            .utf8("region", rows.iter().map(|r| r.0))
            .i64("orders", rows.iter().map(|r| r.1 as i64))
            .f64("mean_amount", rows.iter().map(|r| r.2)))
    }
}

export!(ScalarMeanByGroup);
