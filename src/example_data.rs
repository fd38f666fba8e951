//! Fixed-seed example datasets for demos, tests and benchmarks.
//!
//! Generates the two datasets a data owner registers in the Sluice demo:
//!
//! - `sales.parquet`: retail orders (one row per order line), Snappy-compressed,
//!   with the string columns `region`, `product` and `channel` stored as
//!   dictionaries, so the Arrow reader hands them back as
//!   `Dictionary(Int32, Utf8)` arrays and guests can group by integer codes.
//! - `patients.csv`: one row per patient with clinical measurements and the
//!   quasi-identifier `zip`, crowded in a few places and sparse elsewhere, so that
//!   many zips hold only one to three patients (what small-group suppression is
//!   for).
//!
//! Every value comes from a `StdRng` seeded from [`DataSpec::seed`] (one stream
//! per file), drawn row by row in a fixed order. The same seed, with the pinned
//! `Cargo.lock` on the same platform, gives byte-identical files, so snapshot
//! hashes, ledger replays and benchmark numbers stay comparable. Chunking never
//! changes the values. The data is synthetic but
//! shaped like real data: Zipf-like skew (big customers, best-selling products),
//! correlated columns (price follows product, blood pressure follows age and BMI,
//! order volume follows the weekday) and nulls where real systems have gaps.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::RngExt;
use rand::rngs::StdRng;

mod patients;
mod sales;
#[cfg(test)]
mod tests;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSpec {
    /// Seed of every random draw: the same seed gives byte-identical files.
    pub seed: u64,
    /// Rows in `sales.parquet`.
    pub sales_rows: usize,
    /// Rows in `patients.csv`.
    pub patients_rows: usize,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            seed: 20_261_126,
            sales_rows: 60_000,
            patients_rows: 25_000,
        }
    }
}

impl DataSpec {
    /// The default spec with both row counts multiplied by `factor` (at least one row each).
    pub fn scaled(factor: f64) -> Self {
        let d = Self::default();
        let scale = |rows: usize| ((rows as f64 * factor).round() as usize).max(1);
        Self {
            sales_rows: scale(d.sales_rows),
            patients_rows: scale(d.patients_rows),
            ..d
        }
    }
}

/// Writes `sales.parquet` and `patients.csv` into `dir` (created if needed); returns the paths written.
pub fn generate(dir: &Path, spec: &DataSpec) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let sales = dir.join("sales.parquet");
    write_sales_parquet(&sales, spec.sales_rows, spec.seed)?;
    let patients = dir.join("patients.csv");
    write_patients_csv(&patients, spec.patients_rows, spec.seed)?;
    Ok(vec![sales, patients])
}

/// Writes a sales Parquet file with `rows` rows to `path`.
///
/// Streams 64Ki-row record batches into row groups of 1Mi rows, so memory stays
/// bounded (one row group in flight) however many rows are asked for.
pub fn write_sales_parquet(path: &Path, rows: usize, seed: u64) -> Result<()> {
    sales::write(path, rows, seed, 64 * 1024, 1024 * 1024)
}

/// Writes a patients CSV file (header row, empty field = null) with `rows` rows to `path`.
pub fn write_patients_csv(path: &Path, rows: usize, seed: u64) -> Result<()> {
    patients::write(path, rows, seed)
}

/// Discrete distribution over `0..n`, sampled by binary search on the cumulative weights.
struct Weighted(Vec<f64>);

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= acc);
        Self(cdf)
    }

    /// Zipf-like: the `k`-th value (1-based) has weight `k^-s`.
    fn zipf(n: usize, s: f64) -> Self {
        Self::new((1..=n).map(|k| (k as f64).powf(-s)))
    }

    /// Index at cumulative share `u` in `[0, 1)`.
    fn at(&self, u: f64) -> usize {
        self.0.partition_point(|&c| c <= u).min(self.0.len() - 1)
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        self.at(rng.random::<f64>())
    }
}

/// Standard normal draw (Box–Muller, cosine branch only).
fn std_normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}
