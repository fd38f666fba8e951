//! Calibration of the host fuel schedule (`sluice_runtime::engine::schedule`):
//! does one unit of host fuel take about as long as one unit of guest fuel?
//!
//! 1. The guest's rate: `bench-kernel-loop` repeats `mean-by-group`'s loop
//!    over batches already in guest memory; `(fuel, time)` of 5 passes minus
//!    0 passes is pure guest work. Both loop styles (SDK kernels, scalar)
//!    are measured; their mean rate (guest fuel per nanosecond) is the
//!    reference.
//! 2. Host-heavy runs: hostile guests that make the host do one kind of
//!    work each (scan batches, dictionary re-mapping, grouping, functions,
//!    quantile sorts, random bytes, log writes, output conversion). Each
//!    run's host time is its wall time minus a trivial run's (instantiation
//!    and set-up) minus its guest fuel at the reference rate. The ratio
//!    `host time × rate / host fuel` says how many guest units of time one
//!    charged host unit took: 1 is exact, above 1 means the host work is
//!    undercharged.
//!
//! `cargo bench --bench calibrate` (1,000,000-row sales file, written once
//! to `target/bench-data/`). Prints a markdown table for
//! `benches/RESULTS.md`.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use sluice::guests;
use sluice_runtime::engine::schedule;
use sluice_runtime::policy::Approval;
use sluice_runtime::signing;
use sluice_runtime::{Engine, EngineConfig, Grant, RunOutcome};

const ROWS: usize = 1_000_000;
const RUNS: usize = 5;

/// Signed hostile guests from `tests/guests`.
fn hostile(names: &[&str]) -> Result<Vec<Vec<u8>>> {
    let dir = guests::build("tests/guests")?;
    let key = common::buyer_key();
    names
        .iter()
        .map(|n| {
            let path = guests::component(&dir, n);
            let module = std::fs::read(&path).with_context(|| path.display().to_string())?;
            Ok(signing::sign(&module, &key)?)
        })
        .collect()
}

fn approve(grant: &mut Grant, modules: &[&Vec<u8>]) -> Result<()> {
    for m in modules {
        grant.policy.approvals.push(Approval {
            module: signing::module_hash(m)?,
            expires: None,
            note: None,
        });
    }
    Ok(())
}

/// Median wall time and the (identical) outcome of `RUNS` runs.
fn measure(
    engine: &Engine,
    module: &[u8],
    grant: &Grant,
    params: &str,
) -> Result<(Duration, RunOutcome)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let out = engine.run(common::request(module, grant, params))?;
        times.push(started.elapsed());
        last = Some(out);
    }
    Ok((common::median(&times), last.context("no run")?))
}

/// Output conversion alone (no lifting), timed in the host: the work
/// `sluice_runtime::engine::convert` charges `OUTPUT_VALUE` and `BYTE` for.
fn convert_alone(rate: f64) -> Result<()> {
    use sluice_host_api::types::{ColumnValues, OutputColumn, Table};
    use sluice_runtime::engine::{Meter, convert};
    use sluice_runtime::policy::Limits;

    let limits = Limits {
        output_rows: u64::MAX,
        output_bytes: u64::MAX,
        ..Limits::default()
    };
    let tables = [
        (
            "1,000,000 int64 values",
            ColumnValues::Int64((0..1_000_000).map(Some).collect()),
        ),
        (
            "1,000,000 24-byte strings",
            ColumnValues::Utf8(
                (0..1_000_000)
                    .map(|i| Some(format!("row {i:020}")))
                    .collect(),
            ),
        ),
    ];
    println!("\n| conversion alone (host) | time | host fuel | ns per host unit | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (what, values) in tables {
        let table = Table {
            columns: vec![OutputColumn {
                name: "v".into(),
                values,
            }],
        };
        let mut times = Vec::new();
        let mut units = 0;
        for _ in 0..RUNS {
            let t = table.clone();
            let mut meter = Meter::unlimited();
            let started = Instant::now();
            let converted = convert(t, &limits, &mut meter);
            times.push(started.elapsed());
            ensure!(matches!(converted, Ok(Ok(_))), "{what}: not converted");
            drop(converted);
            units = meter.host_fuel();
        }
        let ns = common::median(&times).as_nanos() as f64;
        println!(
            "| {what} | {:.1} ms | {:.3e} | {:.3} | {:.2} |",
            ns / 1e6,
            units as f64,
            ns / units as f64,
            ns * rate / units as f64
        );
    }
    Ok(())
}

/// One host-heavy run: what it exercises, the guest, its params, the data
/// (rows), the fuel limit, and optionally a run to subtract (same guest
/// work without the host work).
struct Scenario {
    what: &'static str,
    guest: &'static str,
    params: &'static str,
    rows: usize,
    fuel: u64,
    minus: Option<&'static str>,
}

const fn s(what: &'static str, guest: &'static str, params: &'static str) -> Scenario {
    Scenario {
        what,
        guest,
        params,
        rows: ROWS,
        fuel: 1_000_000_000_000,
        minus: None,
    }
}

const SCENARIOS: [Scenario; 21] = [
    s(
        "scan, 65,536-row batches, 2 numeric columns",
        "bench-host-work",
        "scan 65536 amount,quantity",
    ),
    s(
        "scan, 65,536-row batches, 2 dictionary columns",
        "bench-host-work",
        "scan 65536 region,product",
    ),
    Scenario {
        rows: 100_000,
        ..s(
            "scan, 1-row batches (100,000 rows)",
            "bench-host-work",
            "scan 1 region,product",
        )
    },
    s(
        "scan, 100-row batches",
        "bench-host-work",
        "scan 100 amount",
    ),
    s(
        "aggregate count, no keys",
        "bench-host-work",
        "aggregate - - count",
    ),
    s(
        "aggregate mean of a column, no keys",
        "bench-host-work",
        "aggregate amount - mean",
    ),
    s(
        "aggregate count by 1 string key",
        "bench-host-work",
        "aggregate - region count",
    ),
    s(
        "aggregate count by 1 integer key",
        "bench-host-work",
        "aggregate - day count",
    ),
    s(
        "aggregate count by 2 string keys",
        "bench-host-work",
        "aggregate - region,product count",
    ),
    s(
        "aggregate count by 3 keys (~29,000 groups)",
        "bench-host-work",
        "aggregate - day,quantity,region count",
    ),
    Scenario {
        minus: Some("aggregate amount region,product mean"),
        ..s(
            "aggregate 5,000 functions x 320 groups (less 1 function)",
            "bench-host-work",
            "aggregate amount region,product mean*5000",
        )
    },
    s(
        "aggregate 1 quantile (sort 1M values)",
        "bench-host-work",
        "aggregate amount - q*1",
    ),
    s(
        "aggregate 21 quantiles",
        "bench-host-work",
        "aggregate amount - q*21",
    ),
    Scenario {
        minus: Some("built 1000000 int"),
        ..s(
            "output 1,000,000 int64 values",
            "bench-host-work",
            "output 1000000 int",
        )
    },
    Scenario {
        minus: Some("built 1000000 str"),
        ..s(
            "output 1,000,000 24-byte strings",
            "bench-host-work",
            "output 1000000 str",
        )
    },
    Scenario {
        fuel: 2_000_000_000,
        ..s("random bytes, 64 KiB a call", "host-flood", "random")
    },
    Scenario {
        fuel: 2_000_000_000,
        ..s("log writes, 64 KiB a call", "host-flood", "log")
    },
    Scenario {
        fuel: 2_000_000_000,
        ..s("name lookups, 1 MiB names", "host-flood", "lookup")
    },
    Scenario {
        fuel: 2_000_000_000,
        ..s("host calls (clock reads)", "poller", "now")
    },
    Scenario {
        fuel: 2_000_000_000,
        ..s(
            "host calls (zero-length timers: subscribe, block, drop)",
            "poller",
            "spin",
        )
    },
    Scenario {
        fuel: 2_000_000_000,
        ..s(
            "guest only (infinite loop), for comparison",
            "infinite-loop",
            "",
        )
    },
];

fn main() -> Result<()> {
    let path = common::data_file(ROWS)?;
    eprintln!("building guests ...");
    let bench = common::guest_modules(&["bench-kernel-loop", "bench-host-work"])?;
    let names = ["sleeper", "host-flood", "poller", "infinite-loop"];
    let mut modules = hostile(&names)?;
    modules.extend(bench.iter().cloned());
    let names: Vec<&str> = names
        .into_iter()
        .chain(["bench-kernel-loop", "bench-host-work"])
        .collect();
    let module = |name: &str| &modules[names.iter().position(|n| *n == name).unwrap()];
    let mut grant = common::sales_grant(&path, &[])?;
    approve(&mut grant, &modules.iter().collect::<Vec<_>>())?;
    grant.policy.limits.fuel = 1_000_000_000_000;
    grant.policy.limits.wall_ms = 600_000;
    grant.policy.limits.output_rows = u64::MAX;
    grant.policy.limits.output_bytes = u64::MAX;
    let engine = Engine::new(EngineConfig::default())?;

    // 1. The guest's own rate.
    let mut rates = Vec::new();
    println!("| guest loop | fuel per pass | time per pass | guest fuel per ns |");
    println!("|---|---:|---:|---:|");
    for style in ["sdk", "scalar"] {
        let kernel = module("bench-kernel-loop");
        let (t0, o0) = measure(&engine, kernel, &grant, &format!("{style} 0"))?;
        let (t5, o5) = measure(&engine, kernel, &grant, &format!("{style} 5"))?;
        let fuel = (o5.usage.fuel_consumed - o0.usage.fuel_consumed) as f64 / 5.0;
        let ns = t5.saturating_sub(t0).as_nanos() as f64 / 5.0;
        rates.push(fuel / ns);
        println!(
            "| kernel-loop {style} | {:.0} | {:.2} ms | {:.3} |",
            fuel,
            ns / 1e6,
            fuel / ns
        );
    }
    let rate = rates.iter().sum::<f64>() / rates.len() as f64;
    println!("\nReference rate: {rate:.3} guest fuel units per ns.\n");

    // 2. Host-heavy runs.
    let (base, _) = measure(&engine, module("sleeper"), &grant, "0")?;
    println!(
        "Trivial run (instantiation, set-up): {:.2} ms.\n",
        base.as_secs_f64() * 1e3
    );
    println!(
        "| host work | run time | guest fuel | host fuel | host time | ns per host unit | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut small = grant.clone();
    small.dataset = sluice_runtime::Dataset::open("sales", &common::data_file(100_000)?)?;
    for sc in SCENARIOS {
        let mut g = if sc.rows == ROWS {
            grant.clone()
        } else {
            small.clone()
        };
        g.policy.limits.fuel = sc.fuel;
        let (t, o) = measure(&engine, module(sc.guest), &g, sc.params)?;
        let (mut t, mut host, mut guest_fuel) = (
            t.saturating_sub(base).as_nanos() as f64,
            o.usage.host_fuel as f64,
            (o.usage.fuel_consumed - o.usage.host_fuel) as f64,
        );
        if let Some(minus) = sc.minus {
            let (t0, o0) = measure(&engine, module(sc.guest), &g, minus)?;
            t -= t0.saturating_sub(base).as_nanos() as f64;
            host -= o0.usage.host_fuel as f64;
            guest_fuel -= (o0.usage.fuel_consumed - o0.usage.host_fuel) as f64;
        }
        if host == 0.0 {
            println!(
                "| {} | {:.1} ms | {:.3e} | 0 | — | {:.3} ns per guest unit | — |",
                sc.what,
                t / 1e6,
                guest_fuel,
                t / guest_fuel
            );
            continue;
        }
        let host_ns = (t - guest_fuel / rate).max(0.0);
        println!(
            "| {} | {:.1} ms | {:.3e} | {:.3e} | {:.1} ms | {:.3} | {:.2} |",
            sc.what,
            t / 1e6,
            guest_fuel,
            host,
            host_ns / 1e6,
            host_ns / host.max(1.0),
            host_ns * rate / host.max(1.0),
        );
    }
    convert_alone(rate)?;
    println!(
        "\nSchedule {}: HOST_CALL {}, BYTE {}, RANDOM_WORD {}, OPEN_READER {}, SCAN_VALUE {}, SCAN_BATCH {}, DICTIONARY_ENTRY {}, AGGREGATE_ROW {}, AGGREGATE_VALUE {}, AGGREGATE_KEY {}, GROUP {}, GROUP_FUNCTION {}, SORT_VALUE {}, QUANTILE_VALUE {}, OUTPUT_VALUE {}, OUTPUT_STRING {}.",
        schedule::VERSION,
        schedule::HOST_CALL,
        schedule::BYTE,
        schedule::RANDOM_WORD,
        schedule::OPEN_READER,
        schedule::SCAN_VALUE,
        schedule::SCAN_BATCH,
        schedule::DICTIONARY_ENTRY,
        schedule::AGGREGATE_ROW,
        schedule::AGGREGATE_VALUE,
        schedule::AGGREGATE_KEY,
        schedule::GROUP,
        schedule::GROUP_FUNCTION,
        schedule::SORT_VALUE,
        schedule::QUANTILE_VALUE,
        schedule::OUTPUT_VALUE,
        schedule::OUTPUT_STRING,
    );
    Ok(())
}
