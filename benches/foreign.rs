//! Comparison harness on foreign files: `mean-by-group` over the same rows
//! as written by the harness itself (Sluice's Parquet writer), by DuckDB,
//! by pyarrow, and as a CSV with `NA` for nulls, each against DuckDB with
//! `threads = 1` and `threads = 2` on the same file and query.
//!
//! `cargo bench --bench foreign` (env `SLUICE_BENCH_ROWS`, default
//! 3,000,000, `SLUICE_BENCH_RUNS`, default 5, and `SLUICE_BENCH_FILES`, a
//! comma list of `own,duckdb,pyarrow,csv`, default all; the `× own` column
//! needs `own` first). The variants take turns round by round. For every
//! file it measures:
//!
//! - **in-process**: `Engine::run` of the signed, approved component
//!   (engine warm, module compiled once, dataset opened once);
//! - **process**: a whole `sluice run` process as an owner would start it,
//!   warm: compiled module in `--cache-dir`, snapshot remembered in
//!   `--state-dir` (the first, untimed run fills both);
//! - **fuel per row** of the run, against the harness's own file;
//! - **DuckDB** 1 and 2 threads (timed inside Python, warm).
//!
//! Results are checked, not just timed: every Sluice run must be released
//! with DuckDB's groups, counts and means (1e-9 relative). The markdown it
//! prints is what `benches/RESULTS.md` records; it is also written to
//! `target/bench-results/foreign-<rows>.md`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use common::{GroupMean, GroupMeans, check_same, median, python};
use sluice_runtime::data::{MemorySnapshotMemo, SnapshotMemo};
use sluice_runtime::{Dataset, Decision, Engine, EngineConfig, Grant};

/// Relative tolerance for means computed in a different order.
const REL: f64 = 1e-9;
/// Target: fuel per row on a foreign file over the harness's own file.
const FUEL_TARGET: f64 = 1.5;
/// Target: a warm `sluice run` process over DuckDB with one thread.
const PROCESS_TARGET: f64 = 2.0;
/// Target: the in-process run over DuckDB with one thread.
const IN_PROCESS_TARGET: f64 = 1.2;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// DuckDB's timings on one file with some threads, and its groups.
struct Duck {
    version: String,
    times: Vec<Duration>,
    groups: GroupMeans,
}

fn duckdb(py: &Path, path: &Path, runs: usize, threads: usize) -> Result<Duck> {
    let script = sluice::guests::repo_root().join("benches/foreign_files.py");
    let out = python::checked(
        Command::new(py)
            .arg(&script)
            .arg("time")
            .arg(path)
            .arg(runs.to_string())
            .arg(threads.to_string()),
    )
    .map_err(anyhow::Error::msg)?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let times = json["times_ms"]
        .as_array()
        .context("no times")?
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .map(|t| Duration::from_secs_f64(t / 1000.0))
        .collect();
    let groups = json["groups"]
        .as_array()
        .context("no groups")?
        .iter()
        .map(|g| GroupMean {
            key: g[0].as_str().map(str::to_owned),
            count: g[1].as_u64().unwrap_or(0),
            mean: g[2].as_f64().unwrap_or(f64::NAN),
        })
        .collect();
    Ok(Duck {
        version: json["duckdb"].as_str().unwrap_or("?").into(),
        times,
        groups,
    })
}

/// One file and what was measured on it.
struct Row {
    label: &'static str,
    path: PathBuf,
    bytes: u64,
    fuel: u64,
    grant: Grant,
    args: Vec<String>,
    groups: GroupMeans,
    in_process: Vec<Duration>,
    process: Vec<Duration>,
    open_cold: Duration,
    duck1: Vec<Duration>,
    duck2: Vec<Duration>,
    duck_version: String,
}

/// Runs `sluice run` once; its wall time.
fn process_run(args: &[String]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .context("starting sluice")?;
    let took = started.elapsed();
    ensure!(
        out.status.success(),
        "sluice run failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(took)
}

/// Checks a sandboxed run: released, with DuckDB's groups.
fn check(what: &str, want: &GroupMeans, outcome: &sluice_runtime::RunOutcome) -> Result<()> {
    ensure!(
        outcome.decision == Decision::Released,
        "{what}: {:?} {:?}",
        outcome.decision,
        outcome.reason.as_ref().map(ToString::to_string)
    );
    let table = outcome.output.as_ref().context("no output")?;
    check_same(what, want, &common::from_output(table)?, REL)
}

/// Opens `path`, runs once in-process and once as a process (filling the
/// module cache and the snapshot memo), and asks DuckDB for its answer.
#[allow(clippy::too_many_arguments)]
fn prepare(
    label: &'static str,
    path: PathBuf,
    engine: &Engine,
    module: &[u8],
    module_file: &Path,
    work: &Path,
    py: &Path,
) -> Result<Row> {
    eprintln!("{label}: {} ...", path.display());
    let policy = common::sales_policy(&[module.to_vec()])?;
    let memo: std::sync::Arc<dyn SnapshotMemo> = std::sync::Arc::new(MemorySnapshotMemo::new());
    let started = Instant::now();
    let dataset = Dataset::open_for("sales", &path, &policy, Some(memo))?;
    let open_cold = started.elapsed();
    let grant = Grant { dataset, policy };
    let duck = duckdb(py, &path, 1, 1)?;
    let first = engine.run(common::request(module, &grant, ""))?;
    check(label, &duck.groups, &first)?;
    let policy_file = work.join("sales.toml");
    let mut text =
        std::fs::read_to_string(sluice::guests::repo_root().join("policies/sales.toml"))?;
    text.push_str(&format!(
        "\n[[approvals]]\nmodule = \"{}\"\n",
        sluice_runtime::signing::module_hash(module)?
    ));
    std::fs::write(&policy_file, text)?;
    let key = work.join("buyer.pub");
    common::buyer_key().public().to_file(&key, true)?;
    let s = |p: &Path| p.display().to_string();
    let args: Vec<String> = vec![
        "run".into(),
        "--json".into(),
        "--module".into(),
        s(module_file),
        "--data".into(),
        format!("sales={}", path.display()),
        "--policy".into(),
        s(&policy_file),
        "--buyer".into(),
        s(&key),
        "--cache-dir".into(),
        s(&work.join("cache")),
        "--data-dir".into(),
        s(&work.join("state")),
    ];
    process_run(&args)?;
    Ok(Row {
        label,
        bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
        path,
        fuel: first.usage.fuel_consumed,
        grant,
        args,
        groups: duck.groups,
        in_process: Vec::new(),
        process: Vec::new(),
        open_cold,
        duck1: Vec::new(),
        duck2: Vec::new(),
        duck_version: duck.version,
    })
}

/// One round on one file: in-process, process, DuckDB 1 and 2 threads.
fn round(row: &mut Row, engine: &Engine, module: &[u8], py: &Path) -> Result<()> {
    let t = Instant::now();
    let outcome = engine.run(common::request(module, &row.grant, ""))?;
    row.in_process.push(t.elapsed());
    check(row.label, &row.groups, &outcome)?;
    row.process.push(process_run(&row.args)?);
    row.duck1.extend(duckdb(py, &row.path, 1, 1)?.times);
    row.duck2.extend(duckdb(py, &row.path, 1, 2)?.times);
    Ok(())
}

fn main() -> Result<()> {
    let rows = common::env_usize("SLUICE_BENCH_ROWS", 3_000_000)?;
    let runs = common::env_usize("SLUICE_BENCH_RUNS", 5)?.max(1);
    let own = common::data_file(rows)?;
    let py = python::python(&["duckdb", "pyarrow"]).map_err(|e| anyhow!(e))?;
    let dir = own.parent().context("bench data folder")?;
    eprintln!("writing the foreign files (once) ...");
    python::checked(
        Command::new(&py)
            .arg(sluice::guests::repo_root().join("benches/foreign_files.py"))
            .arg("prepare")
            .arg(&own)
            .arg(dir),
    )
    .map_err(|e| anyhow!(e))?;
    let base = format!("sales-{rows}");
    let module = common::guest_modules(&["mean-by-group"])?.remove(0);
    let work = sluice::guests::repo_root()
        .join("target")
        .join("bench-foreign");
    std::fs::create_dir_all(&work)?;
    let module_file = work.join("mean_by_group.wasm");
    std::fs::write(&module_file, &module)?;
    let engine = Engine::new(EngineConfig::default())?;
    // SLUICE_BENCH_FILES=own,duckdb,pyarrow,csv picks some (default: all).
    let only = std::env::var("SLUICE_BENCH_FILES").unwrap_or_default();
    let files = [
        (
            "own",
            "Sluice's own writer (the harness's file)",
            own.clone(),
        ),
        (
            "duckdb",
            "DuckDB",
            dir.join(format!("duckdb-{base}.parquet")),
        ),
        (
            "pyarrow",
            "pyarrow",
            dir.join(format!("pyarrow-{base}.parquet")),
        ),
        (
            "csv",
            "CSV with `NA` nulls (DuckDB COPY)",
            dir.join(format!("na-{base}.csv")),
        ),
    ];
    let files = files
        .into_iter()
        .filter(|(key, ..)| only.is_empty() || only.split(',').any(|k| k == *key))
        .map(|(_, label, path)| (label, path));
    let mut measured = Vec::new();
    for (label, path) in files {
        let sub = work.join(measured.len().to_string());
        std::fs::create_dir_all(&sub)?;
        measured.push(prepare(
            label,
            path,
            &engine,
            &module,
            &module_file,
            &sub,
            &py,
        )?);
    }
    // The variants take turns, so drift and other load hit them alike.
    let (wait_start, started) = (common::cpu_wait_ns(), Instant::now());
    for r in 1..=runs {
        eprintln!("round {r}/{runs} ...");
        for row in &mut measured {
            round(row, &engine, &module, &py)?;
        }
    }
    let waited = common::cpu_wait_ns()
        .zip(wait_start)
        .map(|(end, start)| (end - start) as f64 / 1e9 / started.elapsed().as_secs_f64());
    let out = report(&measured, rows, runs, waited);
    print!("{out}");
    let results = sluice::guests::repo_root()
        .join("target")
        .join("bench-results");
    std::fs::create_dir_all(&results)?;
    let file = results.join(format!("foreign-{rows}.md"));
    std::fs::write(&file, &out)?;
    eprintln!("written to {}", file.display());
    Ok(())
}

fn report(rows_of: &[Row], rows: usize, runs: usize, waited: Option<f64>) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    // Fuel per row of the harness's own file (the first row when measured).
    let own_fuel = rows_of[0].fuel as f64 / rows as f64;
    line(format!(
        "### `mean-by-group` on foreign files, {rows} rows, medians of {runs} runs after one warm-up"
    ));
    line(String::new());
    line(format!(
        "Machine: {}. The harness thread waited for a CPU {} of the time (other processes competing).",
        common::machine(),
        waited.map_or("an unknown share".into(), |w| format!("{:.1}%", 100.0 * w))
    ));
    line(String::new());
    line(format!(
        "DuckDB {} (Python, warm, query time only). Sluice in-process = `Engine::run`; process = a whole warm `sluice run`.",
        rows_of[0].duck_version
    ));
    line(String::new());
    line("| file | MB | fuel/row | × own | in-process ms | process ms | first open ms | DuckDB 1 thr ms | DuckDB 2 thr ms | in-process ÷ DuckDB 1 | process ÷ DuckDB 1 |".into());
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into());
    for r in rows_of {
        let fuel = r.fuel as f64 / rows as f64;
        let (inp, pro) = (ms(median(&r.in_process)), ms(median(&r.process)));
        let (d1, d2) = (ms(median(&r.duck1)), ms(median(&r.duck2)));
        line(format!(
            "| {} | {:.0} | {fuel:.1} | {:.2} | {inp:.1} | {pro:.1} | {:.0} | {d1:.1} | {d2:.1} | {:.2} | {:.2} |",
            r.label,
            r.bytes as f64 / 1e6,
            fuel / own_fuel,
            ms(r.open_cold),
            inp / d1,
            pro / d1
        ));
    }
    line(String::new());
    line("| target | file | from medians | from minimums | result |".into());
    line("|---|---|---:|---:|---|".into());
    let lo = |t: &[Duration]| ms(t.iter().copied().min().unwrap_or_default());
    for r in rows_of {
        let fuel = r.fuel as f64 / rows as f64 / own_fuel;
        let (d1, d1_lo) = (ms(median(&r.duck1)), lo(&r.duck1));
        for (what, med, min, target) in [
            ("fuel/row ÷ own file's ≤ 1.5", fuel, fuel, FUEL_TARGET),
            (
                "warm `sluice run` ÷ DuckDB 1 thread ≤ 2",
                ms(median(&r.process)) / d1,
                lo(&r.process) / d1_lo,
                PROCESS_TARGET,
            ),
            (
                "in-process ÷ DuckDB 1 thread ≤ 1.2",
                ms(median(&r.in_process)) / d1,
                lo(&r.in_process) / d1_lo,
                IN_PROCESS_TARGET,
            ),
        ] {
            let result = match (med <= target, min <= target) {
                (true, true) => "met",
                (false, false) => "not met",
                _ => "borderline (met on one estimate only)",
            };
            line(format!(
                "| {what} | {} | {med:.2} | {min:.2} | {result} |",
                r.label
            ));
        }
    }
    line(String::new());
    line(format!(
        "Files: {}.",
        rows_of
            .iter()
            .map(|r| format!(
                "`{}`",
                r.path
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}
