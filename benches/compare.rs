//! Comparison harness: `mean-by-group` over a large Parquet file in the
//! sandbox, next to the same Rust code compiled natively, bare wasmtime
//! (fuel metering off) and DuckDB with one thread, all in one run.
//!
//! `cargo bench --bench compare` (env `SLUICE_BENCH_ROWS`, default
//! 10,000,000, and `SLUICE_BENCH_RUNS`, default 5). Every variant runs once
//! to warm up (that run also compiles each guest, timed separately), then
//! the variants take turns for `RUNS` rounds so drift hits them all alike;
//! the table shows medians. Results are checked, not just timed: the
//! sandbox must release the native result (same counts, means within 1e-9
//! relative). The markdown printed at the end is what `benches/RESULTS.md`
//! records; it is also written to `target/bench-results/`.
//!
//! Besides the end-to-end runs it times the pieces of a sandboxed run, so a
//! missed target can be traced: the snapshot hash (`Dataset::open`), the
//! host's Parquet decode alone and with the encoding into guest batches, a
//! guest that only scans (`benches/guests/scan-only`), and the native
//! kernel alone over columns already in memory.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use common::{GroupMeans, check_same, from_output, median, native_mean_by_group};
use sluice_guest::kernels;
use sluice_runtime::data::BatchEncoder;
use sluice_runtime::{Decision, Engine, EngineConfig, Grant, RunOutcome, RunRequest};

/// Relative tolerance for means computed in a different order.
const REL: f64 = 1e-9;
/// Target: sandboxed end-to-end time over native time.
const SANDBOX_TARGET: f64 = 1.5;
/// Target: fuel-on time over fuel-off time.
const FUEL_TARGET: f64 = 1.25;

fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .with_context(|| format!("{name}={v} is not a number")),
        Err(_) => Ok(default),
    }
}

/// What one timed call reports besides its time.
#[derive(Default, Clone)]
struct Extra {
    fuel: u64,
    memory_peak: u64,
}

/// One measured thing.
struct Variant<'a> {
    key: &'static str,
    label: &'static str,
    run: Box<dyn FnMut() -> Result<Extra> + 'a>,
    cold: Option<Duration>,
    times: Vec<Duration>,
    extra: Extra,
}

impl<'a> Variant<'a> {
    fn new(
        key: &'static str,
        label: &'static str,
        run: impl FnMut() -> Result<Extra> + 'a,
    ) -> Self {
        Self {
            key,
            label,
            run: Box::new(run),
            cold: None,
            times: Vec::new(),
            extra: Extra::default(),
        }
    }

    fn time(&mut self) -> Result<Duration> {
        let started = Instant::now();
        self.extra = (self.run)().with_context(|| self.label)?;
        Ok(started.elapsed())
    }
}

/// Runs a guest through `Engine::run` and checks it was released.
fn sandbox(engine: &Engine, module: &[u8], grant: &Grant) -> Result<RunOutcome> {
    let outcome = engine.run(RunRequest {
        module: module.to_vec(),
        grants: vec![grant.clone()],
        params: String::new(),
        seed: Some(1),
    })?;
    ensure!(
        outcome.decision == Decision::Released,
        "run was {:?}: {}",
        outcome.decision,
        outcome.reason.as_deref().unwrap_or("no reason")
    );
    Ok(outcome)
}

/// A sandboxed `mean-by-group`-shaped run whose result must equal native's.
fn checked(
    engine: &Engine,
    module: &[u8],
    grant: &Grant,
    want: &GroupMeans,
    what: &str,
) -> Result<Extra> {
    let outcome = sandbox(engine, module, grant)?;
    let table = outcome.output.as_ref().context("released without output")?;
    check_same(what, want, &from_output(table)?, REL)?;
    Ok(Extra {
        fuel: outcome.usage.fuel_consumed,
        memory_peak: outcome.usage.memory_peak_bytes,
    })
}

/// The region codes, amounts and validity of every batch, as the guest gets them.
struct InMemory {
    batches: Vec<(Vec<u32>, Vec<f64>, Option<Vec<u8>>)>,
}

fn host_feed(grant: &Grant, encode: bool, keep: bool) -> Result<(usize, Option<InMemory>)> {
    use sluice_host_api::data::ColumnData;
    let ds = &grant.dataset;
    let index = |c: &str| ds.column(c).map(|c| c.0).context("missing column");
    let mut projection = vec![index("region")?, index("amount")?];
    projection.sort_unstable();
    let mut encoder = BatchEncoder::new(vec!["region".into(), "amount".into()]);
    let mut rows = 0;
    let mut kept = InMemory {
        batches: Vec::new(),
    };
    for batch in ds.read(&projection, common::BATCH_ROWS)? {
        let batch = batch?;
        rows += batch.num_rows();
        if !encode {
            std::hint::black_box(&batch);
            continue;
        }
        let fed = encoder.encode(&batch).map_err(anyhow::Error::msg)?;
        if keep {
            let mut cols = fed.batch.columns.into_iter();
            let (Some(region), Some(amount)) = (cols.next(), cols.next()) else {
                bail!("encoded batch lacks columns");
            };
            let (ColumnData::Dictionary(codes), ColumnData::Float64(values)) =
                (region.data, amount.data)
            else {
                bail!("unexpected encoded types");
            };
            kept.batches
                .push((codes.codes, values, amount.validity.clone()));
        } else {
            std::hint::black_box(&fed.batch);
        }
    }
    Ok((rows, keep.then_some(kept)))
}

/// The guest's per-batch kernel calls over columns already in memory.
fn native_kernel(data: &InMemory) -> (Vec<f64>, Vec<u64>) {
    let (mut sums, mut counts) = (Vec::new(), Vec::new());
    for (codes, values, validity) in &data.batches {
        let keyed = kernels::bitmap_and(None, validity.as_deref(), codes.len());
        kernels::group_sum_count(codes, values, keyed.as_deref(), &mut sums, &mut counts);
    }
    (sums, counts)
}

/// DuckDB's timings and result, or why it was not measured.
struct DuckDb {
    version: String,
    threads: String,
    times: Vec<Duration>,
    check: String,
}

fn duckdb(path: &Path, runs: usize, want: &GroupMeans) -> Result<DuckDb, String> {
    let root = sluice::guests::repo_root();
    let venv = root.join("target").join("bench-venv");
    let python = venv.join("bin").join("python");
    let run = |cmd: &mut Command| -> Result<std::process::Output, String> {
        let out = cmd
            .output()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(out)
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(5).collect();
            Err(format!(
                "{cmd:?} failed ({}): {}",
                out.status,
                tail.join(" / ")
            ))
        }
    };
    if !python.exists() {
        eprintln!("creating {} ...", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    if run(Command::new(&python).args(["-c", "import duckdb"])).is_err() {
        eprintln!("pip install duckdb ...");
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "duckdb"]))?;
    }
    let script = root.join("benches").join("duckdb_mean_by_group.py");
    let out = run(Command::new(&python)
        .arg(&script)
        .arg(path)
        .arg(runs.to_string()))?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("DuckDB script printed no JSON: {e}"))?;
    let times = json["times_ms"]
        .as_array()
        .ok_or("no times")?
        .iter()
        .filter_map(|t| t.as_f64())
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    let groups: Vec<common::GroupMean> = json["groups"]
        .as_array()
        .ok_or("no groups")?
        .iter()
        .map(|g| common::GroupMean {
            key: g[0].as_str().map(str::to_owned),
            count: g[1].as_u64().unwrap_or(0),
            mean: g[2].as_f64().unwrap_or(f64::NAN),
        })
        .collect();
    // DuckDB has no row for a key whose values are all null, nor do we;
    // its null-key group (if any) sorts last like ours.
    let check = match check_same("DuckDB", want, &groups, REL) {
        Ok(()) => "same groups, counts and means (1e-9) as native".to_string(),
        Err(e) => format!("MISMATCH: {e:#}"),
    };
    Ok(DuckDb {
        version: json["duckdb"].as_str().unwrap_or("?").to_string(),
        threads: json["threads"].to_string(),
        times,
        check,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn met(ratio: f64, target: f64) -> &'static str {
    if ratio <= target { "met" } else { "not met" }
}

fn machine() -> String {
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

fn main() -> Result<()> {
    let rows = env_usize("SLUICE_BENCH_ROWS", 10_000_000)?;
    let runs = env_usize("SLUICE_BENCH_RUNS", 5)?.max(1);
    let path = common::data_file(rows)?;
    let file_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    eprintln!("building guests ...");
    let modules = common::guest_modules(&[
        "mean-by-group",
        "bench-scan-only",
        "bench-scalar-mean-by-group",
    ])?;
    let (mbg, scan_only, scalar) = (&modules[0], &modules[1], &modules[2]);
    let grant = common::sales_grant(&path)?;
    let fuel = Engine::new(EngineConfig::default())?;
    let bare = Engine::new(EngineConfig {
        meter_fuel: false,
        ..EngineConfig::default()
    })?;
    eprintln!("native reference result ...");
    let want = native_mean_by_group(&path)?;
    let total: u64 = want.iter().map(|g| g.count).sum();
    eprintln!("  {} groups, {total} rows with an amount", want.len());
    let (_, in_memory) = host_feed(&grant, true, true)?;
    let in_memory = in_memory.context("no batches kept")?;
    let (ksums, kcounts) = native_kernel(&in_memory);
    ensure!(
        kcounts.iter().sum::<u64>() == total && ksums.len() == kcounts.len(),
        "kernel over in-memory batches disagrees with the native run"
    );

    let want = &want;
    let grant = &grant;
    let none = || Ok(Extra::default());
    let mut variants = vec![
        Variant::new(
            "native",
            "native (same Rust code: Parquet reader + SDK kernel)",
            || {
                native_mean_by_group(&path)
                    .and_then(|got| check_same("native", want, &got, 0.0))
                    .and_then(|()| none())
            },
        ),
        Variant::new(
            "sandbox",
            "sandbox, fuel on (`Engine::run`, default config)",
            || checked(&fuel, mbg, grant, want, "sandbox"),
        ),
        Variant::new("bare", "sandbox, fuel off (bare wasmtime)", || {
            checked(&bare, mbg, grant, want, "sandbox without fuel")
        }),
        Variant::new(
            "snapshot",
            "snapshot: `Dataset::open` (SHA-256 of the file + schema)",
            || {
                common::sales_grant(&path).map(|g| {
                    std::hint::black_box(g);
                    Extra::default()
                })
            },
        ),
        Variant::new(
            "decode",
            "host: Parquet decode of `region`, `amount` only",
            || host_feed(grant, false, false).and_then(|_| none()),
        ),
        Variant::new("feed", "host: decode + encode into guest batches", || {
            host_feed(grant, true, false).and_then(|_| none())
        }),
        Variant::new(
            "kernel",
            "native kernel only (columns already in memory)",
            || {
                std::hint::black_box(native_kernel(&in_memory));
                none()
            },
        ),
        Variant::new("scan_fuel", "sandbox scan-only guest, fuel on", || {
            sandbox(&fuel, scan_only, grant).map(|o| Extra {
                fuel: o.usage.fuel_consumed,
                memory_peak: o.usage.memory_peak_bytes,
            })
        }),
        Variant::new("scan_bare", "sandbox scan-only guest, fuel off", || {
            sandbox(&bare, scan_only, grant).map(|o| Extra {
                fuel: o.usage.fuel_consumed,
                memory_peak: o.usage.memory_peak_bytes,
            })
        }),
        Variant::new("scalar_fuel", "sandbox scalar-loop guest, fuel on", || {
            checked(&fuel, scalar, grant, want, "scalar guest")
        }),
        Variant::new("scalar_bare", "sandbox scalar-loop guest, fuel off", || {
            checked(&bare, scalar, grant, want, "scalar guest without fuel")
        }),
    ];

    eprintln!("warm-up (compiles each guest once per engine) ...");
    for v in &mut variants {
        let t = v.time()?;
        v.cold = Some(t);
        eprintln!("  {:<12} {:>9.1} ms", v.key, ms(t));
    }
    for round in 1..=runs {
        eprintln!("round {round}/{runs} ...");
        for v in &mut variants {
            let t = v.time()?;
            v.times.push(t);
        }
    }
    let med: BTreeMap<&str, Duration> =
        variants.iter().map(|v| (v.key, median(&v.times))).collect();
    let extra: BTreeMap<&str, Extra> = variants.iter().map(|v| (v.key, v.extra.clone())).collect();
    let m = |k: &str| ms(med[k]);

    eprintln!("DuckDB ...");
    let duck = duckdb(&path, runs, want);

    let native = m("native");
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "### `mean-by-group`, {rows} rows ({file_mb:.0} MB Parquet), median of {runs} runs after one warm-up"
    ));
    line(String::new());
    line(format!("Machine: {}.", machine()));
    line(String::new());
    line("| variant | median ms | min ms | max ms | M rows/s | × native |".into());
    line("|---|---:|---:|---:|---:|---:|".into());
    let row = |label: &str, times: &[Duration]| {
        let med = ms(median(times));
        let min = times.iter().min().map_or(0.0, |&t| ms(t));
        let max = times.iter().max().map_or(0.0, |&t| ms(t));
        let mrows = rows as f64 / med / 1000.0;
        format!(
            "| {label} | {med:.1} | {min:.1} | {max:.1} | {mrows:.1} | {:.2} |",
            med / native
        )
    };
    for v in &variants {
        line(row(v.label, &v.times));
    }
    let mut snap_plus: Vec<Duration> = Vec::new();
    for (a, b) in variants[1].times.iter().zip(&variants[3].times) {
        snap_plus.push(*a + *b);
    }
    line(row(
        "sandbox, fuel on, + snapshot hash (what `sluice run` pays)",
        &snap_plus,
    ));
    match &duck {
        Ok(d) => line(row(
            &format!("DuckDB {} (Python), threads = {}", d.version, d.threads),
            &d.times,
        )),
        Err(why) => line(format!(
            "| DuckDB: not measured ({why}) | – | – | – | – | – |"
        )),
    }
    line(String::new());

    // Fuel.
    line("| guest | fuel on ms | fuel off ms | on / off | fuel per row | peak guest memory MiB | compile ms (approx.) |".into());
    line("|---|---:|---:|---:|---:|---:|---:|".into());
    for (name, on, off) in [
        ("mean-by-group (SDK kernels)", "sandbox", "bare"),
        ("bench-scan-only (feed, no maths)", "scan_fuel", "scan_bare"),
        (
            "bench-scalar-mean-by-group (per-row loop)",
            "scalar_fuel",
            "scalar_bare",
        ),
    ] {
        let cold = variants
            .iter()
            .find(|v| v.key == on)
            .and_then(|v| v.cold)
            .map_or(0.0, ms);
        line(format!(
            "| {name} | {:.1} | {:.1} | {:.2} | {:.2} | {:.1} | {:.0} |",
            m(on),
            m(off),
            m(on) / m(off),
            extra[on].fuel as f64 / rows as f64,
            extra[on].memory_peak as f64 / (1 << 20) as f64,
            cold - m(on)
        ));
    }
    line(String::new());

    // Where the time goes.
    let feed = m("feed");
    let guest_on = m("sandbox") - m("scan_fuel");
    let guest_off = m("bare") - m("scan_bare");
    line("Where the sandboxed run's time goes (medians, ms):".into());
    line(String::new());
    line("| piece | ms | share of sandbox (fuel on) |".into());
    line("|---|---:|---:|".into());
    let sb = m("sandbox");
    let piece = |label: &str, v: f64| format!("| {label} | {v:.1} | {:.0}% |", 100.0 * v / sb);
    line(piece("host Parquet decode", m("decode")));
    line(piece(
        "host encode into guest batches (dictionary remap, copies)",
        feed - m("decode"),
    ));
    line(piece(
        "into the guest and SDK decode (scan-only guest − host feed)",
        m("scan_fuel") - feed,
    ));
    line(piece(
        "kernel in the guest (mean-by-group − scan-only)",
        guest_on,
    ));
    line(format!(
        "| (native kernel over the same in-memory columns) | {:.1} | – |",
        m("kernel")
    ));
    line(format!(
        "| (snapshot hash, outside `Engine::run`) | {:.1} | – |",
        m("snapshot")
    ));
    line(String::new());

    // Targets.
    let sandbox_ratio = m("sandbox") / native;
    let with_snapshot = ms(median(&snap_plus)) / native;
    let fuel_ratio = m("sandbox") / m("bare");
    let guest_fuel_ratio = (m("sandbox") - feed) / (m("bare") - feed);
    line("| target | measured | result |".into());
    line("|---|---:|---|".into());
    line(format!(
        "| sandboxed end-to-end / native ≤ {SANDBOX_TARGET} | {sandbox_ratio:.2} | {} |",
        met(sandbox_ratio, SANDBOX_TARGET)
    ));
    line(format!(
        "| (same, with the snapshot hash) | {with_snapshot:.2} | {} |",
        met(with_snapshot, SANDBOX_TARGET)
    ));
    line(format!(
        "| fuel on / fuel off, end-to-end ≤ {FUEL_TARGET} | {fuel_ratio:.2} | {} |",
        met(fuel_ratio, FUEL_TARGET)
    ));
    line(format!(
        "| fuel on / fuel off, guest side only (run − host feed) | {guest_fuel_ratio:.2} | {} |",
        met(guest_fuel_ratio, FUEL_TARGET)
    ));
    line(format!(
        "| fuel on / fuel off, kernel only (mean-by-group − scan-only) | {:.2} | {} |",
        guest_on / guest_off,
        met(guest_on / guest_off, FUEL_TARGET)
    ));
    line(String::new());
    match &duck {
        Ok(d) => line(format!(
            "DuckDB result check: {}. DuckDB / native = {:.2}; sandbox / DuckDB = {:.2}.",
            d.check,
            ms(median(&d.times)) / native,
            m("sandbox") / ms(median(&d.times))
        )),
        Err(why) => line(format!("DuckDB not measured: {why}")),
    }
    print!("{out}");
    let dir: PathBuf = sluice::guests::repo_root()
        .join("target")
        .join("bench-results");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("compare-{rows}.md"));
    std::fs::write(&file, &out)?;
    eprintln!("written to {}", file.display());
    Ok(())
}
