//! `bench-kernel-loop`: `mean-by-group`'s inner loop, repeated over data
//! already in guest memory, so the harness can time the guest's compute
//! alone, with and without fuel, against the same code compiled natively.
//!
//! Params: `<loop> <repeat>`, e.g. `sdk 10`. The guest first scans
//! `region` (codes) and `amount` of `sales` and keeps every batch, then
//! runs the loop (`sdk`: the SDK kernels as in `examples/mean-by-group`;
//! `scalar`: a per-row loop) `repeat` times over the kept batches. The
//! harness takes `(time(repeat = n) - time(repeat = 0)) / n` as one pass.
//!
//! Output: `region`, `orders`, `mean_amount` from the last pass (no rows
//! when `repeat` is 0), like `mean-by-group` without its null-key group.

mod passes;

use passes::{Cols, scalar_pass, sdk_pass};
use sluice_guest::*;

/// The analytic.
pub struct KernelLoop;

impl Analytic for KernelLoop {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let mut words = params.split_whitespace();
        let pass: fn(&[Cols<'_>]) -> passes::Sums = match words.next() {
            Some("sdk") | None => sdk_pass,
            Some("scalar") => scalar_pass,
            Some(other) => return Err(Error::invalid(format!("unknown loop `{other}`"))),
        };
        let repeat: usize = match words.next() {
            None => 1,
            Some(n) => n
                .parse()
                .map_err(|_| Error::invalid(format!("repeat `{n}` is not a number")))?,
        };
        let mut scan = ctx
            .scan("sales")
            .dictionary("region")
            .column("amount")
            .batch_rows(65_536)
            .open()?;
        let mut kept = Vec::new();
        while let Some(batch) = scan.next_batch()? {
            kept.push(batch);
        }
        let mut cols = Vec::with_capacity(kept.len());
        for b in &kept {
            let (key, value) = (b.dict("region")?, b.f64("amount")?);
            cols.push(Cols {
                codes: key.codes,
                key_validity: key.validity,
                values: value.values,
                validity: value.validity,
            });
        }
        let (mut sums, mut counts) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            (sums, counts) = pass(std::hint::black_box(&cols));
        }
        let names = scan.dictionary("region").unwrap_or_default();
        let mut rows: Vec<(&str, u64, f64)> = names
            .iter()
            .zip(sums.iter().zip(&counts))
            .filter(|(_, (_, n))| **n > 0)
            .map(|(name, (&s, &n))| (name.as_str(), n, s / n as f64))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        Ok(Table::new()
            .utf8("region", rows.iter().map(|r| r.0))
            .i64("orders", rows.iter().map(|r| r.1 as i64))
            .f64("mean_amount", rows.iter().map(|r| r.2)))
    }
}

export!(KernelLoop);
