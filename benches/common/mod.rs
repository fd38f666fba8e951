//! What the comparison harness and the criterion benches share: the bench
//! data file, the guests, the sales grant, the native baseline of
//! `mean-by-group` and the check that two results agree.
//!
//! The native baseline is the guest's own code path compiled for the host:
//! the Parquet Arrow reader (the reader the host feeds guests from), the
//! same 65,536-row batches, dictionary codes made stable for the whole scan
//! exactly as the host does before feeding a guest, and the very same
//! `sluice_guest::kernels` calls as `examples/mean-by-group`.

#![allow(dead_code)] // each bench target uses a different part of this module

pub(crate) mod python;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{Array, ArrayRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice::{example_data, guests};
use sluice_guest::kernels;
use sluice_runtime::output::OutputTable;
use sluice_runtime::policy::Approval;
use sluice_runtime::signing::{self, SecretKey};
use sluice_runtime::{Dataset, Grant, Policy, RunRequest};

/// Rows per batch: what `mean-by-group` asks for and `policies/sales.toml` allows.
pub(crate) const BATCH_ROWS: usize = 65_536;
/// Seed of the bench data (the default seed of `sluice example-data`).
pub(crate) const SEED: u64 = 20_261_126;

/// `target/bench-data/sales-<rows>.parquet`, written once and reused.
pub(crate) fn data_file(rows: usize) -> Result<PathBuf> {
    let dir = guests::repo_root().join("target").join("bench-data");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("sales-{rows}.parquet"));
    if !path.exists() {
        let started = Instant::now();
        eprintln!("writing {} ...", path.display());
        let partial = dir.join(format!("sales-{rows}.parquet.partial"));
        example_data::write_sales_parquet(&partial, rows, SEED)?;
        std::fs::rename(&partial, &path)?;
        eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(path)
}

/// The benchmark buyer's signing key (fixed, so module hashes are stable).
pub(crate) fn buyer_key() -> SecretKey {
    SecretKey::from_seed(&[0x5b; 32])
}

/// Builds the example guests and the bench-only guests; returns the
/// component of each crate in `names`, in order, signed by [`buyer_key`].
pub(crate) fn guest_modules(names: &[&str]) -> Result<Vec<Vec<u8>>> {
    let examples = guests::build("examples")?;
    let benches = guests::build("benches/guests")?;
    ensure!(examples == benches, "guests were built into two folders");
    let key = buyer_key();
    names
        .iter()
        .map(|name| {
            let path = guests::component(&examples, name);
            let module =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(signing::sign(&module, &key)?)
        })
        .collect()
}

/// `policies/sales.toml`, with the owner's approval of every module in
/// `approved` (so they get the raw tier and may scan).
pub(crate) fn sales_policy(approved: &[Vec<u8>]) -> Result<Policy> {
    let path = guests::repo_root().join("policies").join("sales.toml");
    let mut policy = Policy::load(&path).with_context(|| format!("loading {}", path.display()))?;
    for module in approved {
        policy.approvals.push(Approval {
            module: signing::module_hash(module)?,
            expires: None,
            note: Some("benchmark guest".into()),
        });
    }
    Ok(policy)
}

/// The `sales` dataset at `path` (hashes the file) under
/// [`sales_policy`]`(approved)`.
pub(crate) fn sales_grant(path: &Path, approved: &[Vec<u8>]) -> Result<Grant> {
    Ok(Grant {
        dataset: Dataset::open("sales", path)?,
        policy: sales_policy(approved)?,
    })
}

/// A run of the signed `module` over `grant` with `params`.
pub(crate) fn request(module: &[u8], grant: &Grant, params: &str) -> RunRequest {
    RunRequest {
        module: module.to_vec(),
        known_keys: vec![buyer_key().public()],
        grants: vec![grant.clone()],
        params: params.to_owned(),
        seed: Some(1),
        ..RunRequest::default()
    }
}

/// One row of a `mean-by-group` result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupMean {
    /// The group (`None` for rows without a key).
    pub key: Option<String>,
    /// Rows with a present value.
    pub count: u64,
    /// Mean of those values.
    pub mean: f64,
}

/// A `mean-by-group` result, sorted by key with the null key last.
pub(crate) type GroupMeans = Vec<GroupMean>;

/// The scan-wide dictionary codes of one string column, assigned in
/// first-seen order as the host's batch encoder does: a batch's dictionary
/// values are mapped once (again only when the reader hands out a new
/// dictionary array), and every row's key goes through that small map.
#[derive(Default)]
pub(crate) struct StableCodes {
    codes: HashMap<String, u32>,
    names: Vec<String>,
    last: Option<(ArrayRef, Vec<u32>)>,
}

impl StableCodes {
    /// The global code of each entry of `values`.
    fn remap(&mut self, values: &ArrayRef) -> &[u32] {
        let fresh = !matches!(&self.last, Some((last, _)) if Arc::ptr_eq(last, values));
        if fresh {
            let map = values
                .as_string::<i32>()
                .iter()
                .map(|s| {
                    let s = s.unwrap_or_default();
                    let next = self.names.len() as u32;
                    *self.codes.entry(s.to_owned()).or_insert_with(|| {
                        self.names.push(s.to_owned());
                        next
                    })
                })
                .collect();
            self.last = Some((values.clone(), map));
        }
        self.last.as_ref().map_or(&[], |(_, map)| map.as_slice())
    }
}

/// The validity bitmap of `array` (LSB-first), `None` without nulls;
/// borrowed from the Arrow buffer for byte-aligned primitive arrays (whose
/// own nulls are their logical nulls), copied otherwise.
fn validity(array: &dyn Array) -> Option<Cow<'_, [u8]>> {
    let bytes = array.len().div_ceil(8);
    match array.nulls() {
        Some(n) if array.data_type().is_primitive() && n.offset() % 8 == 0 => {
            (n.null_count() > 0).then(|| Cow::Borrowed(&n.validity()[n.offset() / 8..][..bytes]))
        }
        _ => copied(array, bytes),
    }
}

fn copied(array: &dyn Array, bytes: usize) -> Option<Cow<'static, [u8]>> {
    let nulls = array.logical_nulls()?;
    if nulls.null_count() == 0 {
        return None;
    }
    Some(Cow::Owned(
        nulls.inner().sliced().as_slice()[..bytes].to_vec(),
    ))
}

/// `mean-by-group` natively: same reader, batches, codes and kernels as
/// the sandboxed guest, no sandbox.
pub(crate) fn native_mean_by_group(path: &Path) -> Result<GroupMeans> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let schema = builder.schema().clone();
    let roots = [schema.index_of("region")?, schema.index_of("amount")?];
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let mut dict = StableCodes::default();
    let (mut sums, mut counts) = (Vec::new(), Vec::new());
    let (mut null_sum, mut null_count) = (0.0, 0u64);
    let mut codes: Vec<u32> = Vec::with_capacity(BATCH_ROWS);
    for batch in reader {
        let batch = batch?;
        let rows = batch.num_rows();
        let (Some(region), Some(amount)) = (
            batch.column_by_name("region"),
            batch.column_by_name("amount"),
        ) else {
            bail!("the file lacks `region` or `amount`");
        };
        let (Some(region), Some(amount)) = (
            region.as_dictionary_opt::<Int32Type>(),
            amount.as_primitive_opt::<Float64Type>(),
        ) else {
            bail!("`region` must be Dictionary(Int32, Utf8) and `amount` Float64");
        };
        let map = dict.remap(region.values());
        codes.clear();
        codes.extend(
            region
                .keys()
                .values()
                .iter()
                .map(|&k| map.get(k as usize).copied().unwrap_or(0)),
        );
        let key_valid = validity(region);
        let value_valid = validity(amount);
        let keyed = kernels::bitmap_and(key_valid.as_deref(), value_valid.as_deref(), rows);
        kernels::group_sum_count(
            &codes,
            amount.values(),
            keyed.as_deref(),
            &mut sums,
            &mut counts,
        );
        if let Some(key_bits) = key_valid.as_deref() {
            let unkeyed = kernels::bitmap_not(key_bits, rows);
            let mask = kernels::bitmap_and(Some(&unkeyed), value_valid.as_deref(), rows);
            let (s, n) = kernels::sum_count(amount.values(), mask.as_deref());
            null_sum += s;
            null_count += n;
        }
    }
    let mut out: GroupMeans = dict
        .names
        .iter()
        .zip(sums.iter().zip(&counts))
        .filter(|(_, (_, n))| **n > 0)
        .map(|(name, (&s, &n))| GroupMean {
            key: Some(name.clone()),
            count: n,
            mean: s / n as f64,
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    if null_count > 0 {
        out.push(GroupMean {
            key: None,
            count: null_count,
            mean: null_sum / null_count as f64,
        });
    }
    Ok(out)
}

/// Reads a `mean-by-group` result back from a sandbox output table.
pub(crate) fn from_output(table: &OutputTable) -> Result<GroupMeans> {
    let column = |i: usize| {
        table
            .columns
            .get(i)
            .map(|c| &c.values)
            .context("output has too few columns")
    };
    let (keys, counts, means) = (column(0)?, column(1)?, column(2)?);
    keys.iter()
        .zip(counts)
        .zip(means)
        .map(|((k, n), m)| {
            Ok(GroupMean {
                key: k.as_str().map(str::to_owned),
                count: n.as_u64().context("`orders` is not an integer")?,
                mean: m.as_f64().context("`mean_amount` is not a number")?,
            })
        })
        .collect()
}

/// Fails unless `got` has the same groups and counts as `want` and every
/// mean within `rel` relative error.
pub(crate) fn check_same(what: &str, want: &GroupMeans, got: &GroupMeans, rel: f64) -> Result<()> {
    ensure!(
        want.len() == got.len(),
        "{what}: {} groups, native has {}",
        got.len(),
        want.len()
    );
    for (w, g) in want.iter().zip(got) {
        ensure!(
            w.key == g.key && w.count == g.count,
            "{what}: group {:?} has {} rows, native has {:?} with {}",
            g.key,
            g.count,
            w.key,
            w.count
        );
        let err = (w.mean - g.mean).abs() / w.mean.abs().max(f64::MIN_POSITIVE);
        ensure!(
            err <= rel,
            "{what}: mean of {:?} is {}, native has {} (relative error {err:e})",
            g.key,
            g.mean,
            w.mean
        );
    }
    Ok(())
}

/// Median of some durations (upper median for an even count).
pub(crate) fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// A `usize` from the environment (`_` separators allowed), or `default`.
pub(crate) fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .with_context(|| format!("{name}={v} is not a number")),
        Err(_) => Ok(default),
    }
}

/// The CPU model and how many cores this process may use.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available")
}

/// Nanoseconds this thread has waited, runnable, for a CPU (Linux schedstat).
pub(crate) fn cpu_wait_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}
