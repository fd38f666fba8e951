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
//! guest that only scans (`benches/guests/scan-only`). And it times the
//! guest's compute alone: `benches/guests/kernel-loop` scans once, keeps
//! the batches in guest memory and repeats `mean-by-group`'s loop over
//! them (`SLUICE_BENCH_REPEAT` times, default 10), with the SDK kernels and
//! as a per-row scalar loop, next to the very same loop code compiled
//! natively over the same batches (`passes.rs` is shared).

mod common;
#[path = "guests/kernel-loop/src/passes.rs"]
mod passes;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use common::{GroupMeans, check_same, from_output, median, native_mean_by_group};
use sluice_runtime::data::{BatchEncoder, ScanColumn};
use sluice_runtime::{Dataset, Decision, Engine, EngineConfig, Grant, RunOutcome};

/// Relative tolerance for means computed in a different order.
const REL: f64 = 1e-9;
/// Target: sandboxed end-to-end time over native time.
const SANDBOX_TARGET: f64 = 1.5;
/// Target: fuel-on time over fuel-off time.
const FUEL_TARGET: f64 = 1.25;

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
fn sandbox(engine: &Engine, module: &[u8], grant: &Grant, params: &str) -> Result<RunOutcome> {
    let outcome = engine.run(common::request(module, grant, params))?;
    ensure!(
        outcome.decision == Decision::Released,
        "run was {:?}: {}",
        outcome.decision,
        outcome
            .reason
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    Ok(outcome)
}

/// A sandboxed `mean-by-group`-shaped run whose result must equal native's.
fn checked(
    engine: &Engine,
    module: &[u8],
    grant: &Grant,
    params: &str,
    want: &GroupMeans,
    what: &str,
) -> Result<Extra> {
    let outcome = sandbox(engine, module, grant, params)?;
    let table = outcome.output.as_ref().context("released without output")?;
    check_same(what, want, &from_output(table)?, REL)?;
    Ok(Extra {
        fuel: outcome.usage.fuel_consumed,
        memory_peak: outcome.usage.memory_peak_bytes,
    })
}

/// Every batch as the host encodes it for the guest:
/// (region codes, region validity, amounts, amount validity).
type Encoded = (Vec<u32>, Option<Vec<u8>>, Vec<f64>, Option<Vec<u8>>);

/// The kept batches as the shared loops take them.
fn cols(batches: &[Encoded]) -> Vec<passes::Cols<'_>> {
    batches
        .iter()
        .map(|(codes, key_validity, values, validity)| passes::Cols {
            codes,
            key_validity: key_validity.as_deref(),
            values,
            validity: validity.as_deref(),
        })
        .collect()
}

fn host_feed(grant: &Grant, encode: bool, keep: bool) -> Result<Vec<Encoded>> {
    use sluice_host_api::data::ColumnData;
    let ds = &grant.dataset;
    let index = |c: &str| ds.column(c).map(|c| c.0).context("missing column");
    let columns = [
        ScanColumn {
            index: index("region")?,
            dictionary: true,
        },
        ScanColumn {
            index: index("amount")?,
            dictionary: false,
        },
    ];
    let mut encoder =
        BatchEncoder::with_dictionaries(vec!["region".into(), "amount".into()], vec![true, false]);
    let mut kept = Vec::new();
    for batch in ds.scan(&columns, common::BATCH_ROWS)? {
        let batch = batch?;
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
            kept.push((codes.codes, region.validity, values, amount.validity));
        } else {
            std::hint::black_box(&fed.batch);
        }
    }
    Ok(kept)
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
    let python = common::python::python(&["duckdb"])?;
    let run = common::python::checked;
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

fn main() -> Result<()> {
    let rows = common::env_usize("SLUICE_BENCH_ROWS", 10_000_000)?;
    let runs = common::env_usize("SLUICE_BENCH_RUNS", 5)?.max(1);
    let repeat = common::env_usize("SLUICE_BENCH_REPEAT", 10)?.max(1);
    let path = common::data_file(rows)?;
    let file_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    eprintln!("building guests ...");
    let modules =
        common::guest_modules(&["mean-by-group", "bench-scan-only", "bench-kernel-loop"])?;
    let (mbg, scan_only, kernel_loop) = (&modules[0], &modules[1], &modules[2]);
    let grant = common::sales_grant(&path, &modules)?;
    let tiny = common::sales_grant(&common::data_file(1_000)?, &modules)?;
    let fuel = Engine::new(EngineConfig::default())?;
    let bare = Engine::new(EngineConfig {
        meter_fuel: false,
        ..EngineConfig::default()
    })?;
    eprintln!("native reference result ...");
    let want = native_mean_by_group(&path)?;
    let keyed: GroupMeans = want.iter().filter(|g| g.key.is_some()).cloned().collect();
    let total: u64 = keyed.iter().map(|g| g.count).sum();
    eprintln!(
        "  {} groups, {total} keyed rows with an amount",
        keyed.len()
    );
    let encoded = host_feed(&grant, true, true)?;
    let batches = cols(&encoded);
    for (name, pass) in [
        (
            "sdk",
            passes::sdk_pass as fn(&[passes::Cols<'_>]) -> passes::Sums,
        ),
        ("scalar", passes::scalar_pass),
    ] {
        let (_, counts) = pass(&batches);
        ensure!(
            counts.iter().sum::<u64>() == total,
            "native {name} loop over the encoded batches disagrees with the native run"
        );
    }

    let (want, keyed, grant, tiny, batches) = (&want, &keyed, &grant, &tiny, &batches);
    let stats = |o: RunOutcome| Extra {
        fuel: o.usage.fuel_consumed,
        memory_peak: o.usage.memory_peak_bytes,
    };
    let none = || Ok(Extra::default());
    let sdk_params = format!("sdk {repeat}");
    let scalar_params = format!("scalar {repeat}");
    let (sdk_params, scalar_params) = (sdk_params.as_str(), scalar_params.as_str());
    let mut variants = vec![
        Variant::new(
            "native",
            "native (same Rust code: Parquet reader + SDK kernels)",
            || {
                native_mean_by_group(&path)
                    .and_then(|got| check_same("native", want, &got, 0.0))
                    .and_then(|()| none())
            },
        ),
        Variant::new(
            "sandbox",
            "sandbox, fuel on (`Engine::run`, default config)",
            || checked(&fuel, mbg, grant, "", want, "sandbox"),
        ),
        Variant::new("bare", "sandbox, fuel off (bare wasmtime)", || {
            checked(&bare, mbg, grant, "", want, "sandbox without fuel")
        }),
        Variant::new(
            "snapshot",
            "snapshot: `Dataset::open` (SHA-256 of the file + schema)",
            || {
                Dataset::open("sales", &path)
                    .map(|d| drop(std::hint::black_box(d)))
                    .map_err(anyhow::Error::from)
                    .and_then(|()| none())
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
        Variant::new("scan_fuel", "sandbox, scan-only guest, fuel on", || {
            sandbox(&fuel, scan_only, grant, "").map(stats)
        }),
        Variant::new("scan_bare", "sandbox, scan-only guest, fuel off", || {
            sandbox(&bare, scan_only, grant, "").map(stats)
        }),
        Variant::new("native_sdk", "native SDK-kernel loop, in memory", || {
            std::hint::black_box(passes::sdk_pass(batches));
            none()
        }),
        Variant::new("native_scalar", "native scalar loop, in memory", || {
            std::hint::black_box(passes::scalar_pass(batches));
            none()
        }),
        Variant::new(
            "keep_fuel",
            "kernel-loop, keep batches only, fuel on",
            || sandbox(&fuel, kernel_loop, grant, "sdk 0").map(stats),
        ),
        Variant::new(
            "keep_bare",
            "kernel-loop, keep batches only, fuel off",
            || sandbox(&bare, kernel_loop, grant, "sdk 0").map(stats),
        ),
        Variant::new("sdk_fuel", "kernel-loop, SDK kernels, fuel on", || {
            checked(&fuel, kernel_loop, grant, sdk_params, keyed, "sdk loop")
        }),
        Variant::new("sdk_bare", "kernel-loop, SDK kernels, fuel off", || {
            checked(&bare, kernel_loop, grant, sdk_params, keyed, "sdk loop")
        }),
        Variant::new("scalar_fuel", "kernel-loop, scalar loop, fuel on", || {
            checked(
                &fuel,
                kernel_loop,
                grant,
                scalar_params,
                keyed,
                "scalar loop",
            )
        }),
        Variant::new("scalar_bare", "kernel-loop, scalar loop, fuel off", || {
            checked(
                &bare,
                kernel_loop,
                grant,
                scalar_params,
                keyed,
                "scalar loop",
            )
        }),
        Variant::new(
            "fixed",
            "sandbox, scan-only guest over 1,000 rows, fuel on",
            || sandbox(&fuel, scan_only, tiny, "").map(stats),
        ),
    ];
    // Rows of the first table; the kernel-loop runs go in their own table.
    const END_TO_END: usize = 8;

    eprintln!("warm-up (also compiles each guest once per engine) ...");
    for v in &mut variants {
        let t = v.time()?;
        v.cold = Some(t);
        eprintln!("  {:<14} {:>9.1} ms", v.key, ms(t));
    }
    let (wait_start, rounds_start) = (common::cpu_wait_ns(), Instant::now());
    for round in 1..=runs {
        eprintln!("round {round}/{runs} ...");
        for v in &mut variants {
            let t = v.time()?;
            v.times.push(t);
        }
    }
    let waited = common::cpu_wait_ns()
        .zip(wait_start)
        .map(|(end, start)| (end - start) as f64 / 1e9 / rounds_start.elapsed().as_secs_f64());
    let find = |k: &str| variants.iter().find(|v| v.key == k).expect("variant");
    let m = |k: &str| ms(median(&find(k).times));
    let fuel_of = |k: &str| find(k).extra.fuel as f64;

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
    line(format!("Machine: {}.", common::machine()));
    line(String::new());
    line(match waited {
        Some(w) => format!(
            "Contention: during the timed rounds the harness thread waited for a CPU \
             {:.1}% of the time{}",
            100.0 * w,
            if w > 0.02 {
                " (other processes competed for the cores: expect noise; the minimums \
                 are the less disturbed figures)."
            } else {
                "."
            }
        ),
        None => "Contention: unknown (no /proc/thread-self/schedstat).".into(),
    });
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
    for v in &variants[..END_TO_END] {
        line(row(v.label, &v.times));
    }
    let with_snapshot: Vec<Duration> = find("sandbox")
        .times
        .iter()
        .zip(&find("snapshot").times)
        .map(|(a, b)| *a + *b)
        .collect();
    line(row(
        "sandbox, fuel on, + snapshot hash (what one `sluice run` pays)",
        &with_snapshot,
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

    // Where the time goes.
    let sb = m("sandbox");
    let feed = m("feed");
    line("Where the sandboxed run's time goes (medians):".into());
    line(String::new());
    line("| piece | ms | share |".into());
    line("|---|---:|---:|".into());
    let piece = |label: &str, v: f64| format!("| {label} | {v:.1} | {:.0}% |", 100.0 * v / sb);
    line(piece("host: Parquet decode", m("decode")));
    line(piece(
        "host: encode into guest batches (code remap, copies)",
        feed - m("decode"),
    ));
    line(piece(
        "copy into the guest, SDK checks, instantiation (scan-only guest − host feed)",
        m("scan_fuel") - feed,
    ));
    line(piece(
        "  of which per-run fixed cost (instantiation etc.: scan-only guest over 1,000 rows)",
        m("fixed"),
    ));
    line(piece(
        "kernels in the guest (mean-by-group − scan-only guest)",
        sb - m("scan_fuel"),
    ));
    line(piece("= sandbox, fuel on", sb));
    line(String::new());

    // The guest's compute alone.
    let per_pass = |with: &str, without: &str| (m(with) - m(without)) / repeat as f64;
    let fuel_per_row =
        |with: &str, without: &str| (fuel_of(with) - fuel_of(without)) / (repeat * rows) as f64;
    line(format!(
        "The loop alone, per pass over all {rows} rows already in memory \
         (kernel-loop guest: (time with {repeat} passes − time with 0) / {repeat}):"
    ));
    line(String::new());
    line("| loop | native ms | fuel off ms | fuel on ms | fuel on / off | fuel on / native | fuel per row |".into());
    line("|---|---:|---:|---:|---:|---:|---:|".into());
    for (name, native_key, on, off) in [
        (
            "SDK kernels (`group_sum_count`)",
            "native_sdk",
            "sdk_fuel",
            "sdk_bare",
        ),
        (
            "scalar per-row loop",
            "native_scalar",
            "scalar_fuel",
            "scalar_bare",
        ),
    ] {
        let (on_ms, off_ms) = (per_pass(on, "keep_fuel"), per_pass(off, "keep_bare"));
        line(format!(
            "| {name} | {:.1} | {off_ms:.1} | {on_ms:.1} | {:.2} | {:.2} | {:.2} |",
            m(native_key),
            on_ms / off_ms,
            on_ms / m(native_key),
            fuel_per_row(on, "keep_fuel")
        ));
    }
    line(String::new());
    line("| guest (fuel on) | fuel | fuel per row | peak guest memory MiB | compile ms (first run − median) |".into());
    line("|---|---:|---:|---:|---:|".into());
    for (name, key) in [
        ("mean-by-group", "sandbox"),
        ("bench-scan-only", "scan_fuel"),
        ("bench-kernel-loop, 0 passes", "keep_fuel"),
        ("bench-kernel-loop, SDK kernels", "sdk_fuel"),
        ("bench-kernel-loop, scalar loop", "scalar_fuel"),
    ] {
        let v = find(key);
        let compile = v
            .cold
            .map_or(String::from("–"), |c| format!("{:.0}", ms(c) - m(key)));
        let compile = if matches!(key, "sandbox" | "scan_fuel" | "keep_fuel") {
            compile
        } else {
            "(cached)".into()
        };
        line(format!(
            "| {name} | {:.3e} | {:.2} | {:.1} | {compile} |",
            fuel_of(key),
            fuel_of(key) / rows as f64,
            v.extra.memory_peak as f64 / (1 << 20) as f64,
        ));
    }
    line(String::new());

    // Targets, from medians and (less disturbed by other load) minimums.
    let lo = |k: &str| ms(*find(k).times.iter().min().expect("timed"));
    let lo_pass = |with: &str, without: &str| (lo(with) - lo(without)) / repeat as f64;
    let snapshot_med = ms(median(&with_snapshot)) / native;
    let snapshot_min = ms(*with_snapshot.iter().min().expect("timed")) / lo("native");
    let targets = [
        (
            format!("sandboxed end-to-end / native ≤ {SANDBOX_TARGET}"),
            sb / native,
            lo("sandbox") / lo("native"),
            SANDBOX_TARGET,
        ),
        (
            "(the same, counting the snapshot hash)".to_string(),
            snapshot_med,
            snapshot_min,
            SANDBOX_TARGET,
        ),
        (
            format!("fuel on / fuel off, end-to-end run ≤ {FUEL_TARGET}"),
            sb / m("bare"),
            lo("sandbox") / lo("bare"),
            FUEL_TARGET,
        ),
        (
            format!("fuel on / fuel off, the guest's loop alone (SDK kernels) ≤ {FUEL_TARGET}"),
            per_pass("sdk_fuel", "keep_fuel") / per_pass("sdk_bare", "keep_bare"),
            lo_pass("sdk_fuel", "keep_fuel") / lo_pass("sdk_bare", "keep_bare"),
            FUEL_TARGET,
        ),
    ];
    line("| target | from medians | from minimums | result |".into());
    line("|---|---:|---:|---|".into());
    for (label, med_ratio, min_ratio, target) in targets {
        let result = match (med_ratio <= target, min_ratio <= target) {
            (true, true) => "met",
            (false, false) => "not met",
            _ => "borderline (met on one estimate only)",
        };
        line(format!(
            "| {label} | {med_ratio:.2} | {min_ratio:.2} | {result} |"
        ));
    }
    line(String::new());
    match &duck {
        Ok(d) => line(format!(
            "DuckDB result check: {}. DuckDB / native = {:.2}; sandbox / DuckDB = {:.2}.",
            d.check,
            ms(median(&d.times)) / native,
            sb / ms(median(&d.times))
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
