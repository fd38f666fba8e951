//! `bench-host-work`: makes the host do one kind of work, for the fuel
//! calibration (`benches/calibrate.rs`), and does as little as it can
//! itself. Params (space-separated):
//!
//! - `scan <batch_rows> <col,col,...>`: scans `sales`, counting rows;
//! - `aggregate <column|-> <key,key,...|-> <fn,fn,...>`: one host aggregate
//!   over `sales`; a function is `count`, `sum`, `mean`, `min`, `max` or
//!   `q` (a quantile), optionally repeated as `fn*N` (quantiles spread over
//!   [0, 1]);
//! - `output <rows> <int|str>`: returns a one-column table of `rows` rows;
//! - `built <rows> <int|str>`: builds that table, returns one row of it
//!   (the guest's own share of `output`).
//!
//! Output: one row, `n` (rows scanned, groups received, or rows built),
//! except for `output`.

use sluice_guest::*;

/// The analytic.
pub struct HostWork;

fn functions(spec: &str) -> Vec<(String, usize)> {
    spec.split(',')
        .map(|f| match f.split_once('*') {
            Some((name, n)) => (name.to_string(), n.parse().unwrap_or(1)),
            None => (f.to_string(), 1),
        })
        .collect()
}

fn aggregate(ctx: &mut Ctx, column: &str, keys: &str, fns: &str) -> Result<usize> {
    let mut q = ctx.aggregate("sales");
    if column != "-" {
        q = q.column(column);
    }
    if keys != "-" {
        for k in keys.split(',') {
            q = q.group_by(k);
        }
    }
    for (name, n) in functions(fns) {
        for i in 0..n {
            q = match name.as_str() {
                "sum" => q.sum(),
                "mean" => q.mean(),
                "min" => q.min(),
                "max" => q.max(),
                "q" => q.quantile(i as f64 / n.max(2) as f64),
                _ => q.count(),
            };
        }
    }
    Ok(q.run()?.groups.len())
}

fn table(rows: usize, kind: &str) -> Table {
    if kind == "int" {
        Table::new().i64("v", (0..rows as i64).map(Some))
    } else {
        Table::new().utf8("v", (0..rows).map(|i| Some(format!("row {i:020}"))))
    }
}

impl Analytic for HostWork {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let words: Vec<&str> = params.split_whitespace().collect();
        let n = match words.as_slice() {
            ["scan", rows, cols] => {
                let cols: Vec<&str> = cols.split(',').collect();
                let mut scan = ctx
                    .scan("sales")
                    .columns(&cols)
                    .batch_rows(rows.parse().unwrap_or(65_536))
                    .open()?;
                let mut n = 0;
                while let Some(b) = scan.next_batch()? {
                    n += b.rows();
                }
                n
            }
            ["aggregate", column, keys, fns] => aggregate(ctx, column, keys, fns)?,
            ["output", rows, kind] => return Ok(table(rows.parse().unwrap_or(0), kind)),
            ["built", rows, kind] => {
                let t = table(rows.parse().unwrap_or(0), kind);
                std::hint::black_box(&t);
                t.rows()
            }
            _ => return Err(Error::invalid("unknown params")),
        };
        Ok(Table::new().i64("n", [Some(n as i64)]))
    }
}

export!(HostWork);
