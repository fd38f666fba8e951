//! Criterion micro-benchmarks of the pieces a run is made of, on a
//! 1,000,000-row sales file (`target/bench-data/sales-1000000.parquet`,
//! written on first use): `mean-by-group` end to end in the sandbox with
//! and without fuel, the same code natively, the SDK kernel alone over
//! columns in memory, the snapshot hash, and policy parsing.
//!
//! `cargo bench --bench engine`. The large-file ratios (sandbox vs native
//! vs DuckDB) come from the comparison harness, `benches/compare.rs`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use sluice_guest::kernels;
use sluice_runtime::{Dataset, Decision, Engine, EngineConfig, Policy};

const ROWS: usize = 1_000_000;

fn setup() -> (std::path::PathBuf, Vec<u8>) {
    let path = common::data_file(ROWS).expect("bench data");
    let module = common::guest_modules(&["mean-by-group"])
        .expect("guests build")
        .remove(0);
    (path, module)
}

fn runs(c: &mut Criterion) {
    let (path, module) = setup();
    let grant = common::sales_grant(&path, std::slice::from_ref(&module)).expect("grant");
    let want = common::native_mean_by_group(&path).expect("native result");
    let mut group = c.benchmark_group("mean-by-group 1M rows");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(ROWS as u64));
    for meter_fuel in [true, false] {
        let engine = Engine::new(EngineConfig {
            meter_fuel,
            ..EngineConfig::default()
        })
        .expect("engine");
        let run = || {
            let outcome = engine
                .run(common::request(&module, &grant, ""))
                .expect("run");
            assert_eq!(outcome.decision, Decision::Released, "{:?}", outcome.reason);
            outcome
        };
        let got = common::from_output(run().output.as_ref().expect("output")).expect("result");
        common::check_same("sandbox", &want, &got, 1e-9).expect("sandbox equals native");
        let name = if meter_fuel { "fuel on" } else { "fuel off" };
        group.bench_function(BenchmarkId::new("sandbox", name), |b| {
            b.iter(|| black_box(run()))
        });
    }
    group.bench_function("native", |b| {
        b.iter(|| black_box(common::native_mean_by_group(&path).expect("native")))
    });
    group.bench_function("snapshot hash (Dataset::open)", |b| {
        b.iter(|| black_box(Dataset::open("sales", &path).expect("dataset")))
    });
    group.finish();
}

fn kernel(c: &mut Criterion) {
    // Skewed codes over 8 groups (half in group 0, a quarter in group 1,
    // ...) and values with ~2% nulls, like the sales data.
    let codes: Vec<u32> = (0..ROWS as u32)
        .map(|i| i.wrapping_mul(2_654_435_761).leading_zeros().min(7))
        .collect();
    let values: Vec<f64> = (0..ROWS).map(|i| (i % 977) as f64 * 0.25).collect();
    let validity: Vec<u8> = (0..ROWS.div_ceil(8))
        .map(|i| if i % 7 == 0 { 0b1011_1111 } else { 0xFF })
        .collect();
    let mut group = c.benchmark_group("kernel 1M rows");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(ROWS as u64));
    let batch = common::BATCH_ROWS;
    for (name, bits) in [
        ("no nulls", None),
        ("with nulls", Some(validity.as_slice())),
    ] {
        group.bench_function(BenchmarkId::new("group_sum_count", name), |b| {
            b.iter(|| {
                let (mut sums, mut counts) = (Vec::new(), Vec::new());
                for (k, (c, v)) in codes.chunks(batch).zip(values.chunks(batch)).enumerate() {
                    let bits = bits.map(|all| &all[k * batch / 8..][..c.len().div_ceil(8)]);
                    kernels::group_sum_count(c, v, bits, &mut sums, &mut counts);
                }
                black_box((sums, counts))
            })
        });
    }
    group.finish();
}

fn policy(c: &mut Criterion) {
    let path = sluice::guests::repo_root()
        .join("policies")
        .join("sales.toml");
    let text = std::fs::read_to_string(path).expect("policy");
    c.bench_function("policy parse (policies/sales.toml)", |b| {
        b.iter(|| black_box(Policy::parse(black_box(&text)).expect("policy parses")))
    });
}

/// Private, so the functions criterion's macro generates need no docs.
mod group {
    use super::{kernel, policy, runs};
    criterion::criterion_group!(benches, runs, kernel, policy);
}
criterion_main!(group::benches);
