//! Ledger benchmarks: durable appends per second with group commit, verify
//! throughput, inclusion-proof time at 1,000,000 events, and rebuilding the
//! tree from stored leaf hashes (what opening a ledger costs).
//!
//! CI size by default (verify over 20,000 events). Full size with
//! `SLUICE_LEDGER_BENCH_FULL=1`: verify over 1,000,000 events, plus opening a
//! 1,000,000-event SQLite ledger and a receipt from it. Verify also prints its
//! CPU time per event (all threads), which a busy shared machine hardly
//! changes. Results and exact commands: benches/RESULTS.md, section "Ledger".

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use sluice_ledger::merkle::MerkleTree;
use sluice_ledger::verify::verify_sqlite;
use sluice_ledger::{Ledger, SqliteLedger};

fn full() -> bool {
    std::env::var_os("SLUICE_LEDGER_BENCH_FULL").is_some_and(|v| v != "0")
}

/// Events per checkpoint when building a ledger for the verify bench (as a
/// busy node's group commit makes them).
const BATCH: u64 = 16;

fn build(path: &std::path::Path, n: u64) -> SqliteLedger {
    let l = SqliteLedger::open(path, common::signer()).unwrap();
    let mut next = l.len().unwrap();
    while next < n {
        let end = (next + BATCH).min(n);
        l.append_all((next..end).map(|i| (common::run_event(i), None)).collect())
            .unwrap();
        next = end;
    }
    l
}

fn appends(c: &mut Criterion) {
    let mut g = c.benchmark_group("durable_append");
    g.throughput(Throughput::Elements(1))
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for threads in [1u64, 8, 32] {
        let t = common::TempLedger::new();
        let l = Arc::new(t.open());
        let mut next = 0u64;
        g.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(threads);
                let base = next;
                next += per * threads;
                let start = Instant::now();
                let hs: Vec<_> = (0..threads)
                    .map(|th| {
                        let l = Arc::clone(&l);
                        std::thread::spawn(move || {
                            (0..per).for_each(|i| {
                                drop(
                                    l.append(common::run_event(base + th * per + i), None)
                                        .unwrap(),
                                )
                            })
                        })
                    })
                    .collect();
                hs.into_iter().for_each(|h| h.join().unwrap());
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * threads) as f64)
            })
        });
    }
    g.finish();
}

fn verify(c: &mut Criterion) {
    let n: u64 = if full() { 1_000_000 } else { 20_000 };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let started = Instant::now();
    drop(build(&path, n));
    eprintln!(
        "built a {n}-event ledger ({BATCH} events per checkpoint) in {:?}",
        started.elapsed()
    );
    let v = common::signer().verifier();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(n)).sample_size(10);
    g.bench_function(BenchmarkId::new("sqlite_events", n), |b| {
        b.iter(|| {
            let r = verify_sqlite(&path, &v).unwrap();
            assert!(r.ok && r.events == n);
        })
    });
    g.finish();
    let runs = if full() { 2 } else { 20 };
    if let Some(cpu) = cpu_time(|| {
        for _ in 0..runs {
            assert!(verify_sqlite(&path, &v).unwrap().ok);
        }
    }) {
        eprintln!(
            "verify over {n} events: {:.2} us of CPU per event, all threads ({runs} runs)",
            cpu.as_secs_f64() * 1e6 / (n * runs) as f64
        );
    }
    if full() {
        let mut g = c.benchmark_group("store_1m");
        g.sample_size(10);
        g.bench_function("open", |b| {
            b.iter(|| drop(SqliteLedger::open(&path, common::signer()).unwrap()))
        });
        let l = SqliteLedger::open(&path, common::signer()).unwrap();
        let mut i = 0u64;
        g.bench_function("receipt", |b| {
            b.iter(|| {
                i = (i + 7919) % n;
                l.receipt(i).unwrap()
            })
        });
        g.finish();
    }
}

/// The CPU time (user and system, all threads) this process spends in `f`,
/// from /proc/self/stat at 100 ticks per second (Linux only). Unlike wall
/// time it hardly depends on how busy a shared machine is.
fn cpu_time(f: impl FnOnce()) -> Option<Duration> {
    fn ticks() -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 2..)?
            .split_whitespace()
            .collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }
    let start = ticks()?;
    f();
    Some(Duration::from_millis((ticks()? - start) * 10))
}

fn proofs(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let mut hashes = Vec::with_capacity(N as usize);
    for i in 0..N {
        hashes.push(sluice_ledger::merkle::leaf_hash(&i.to_be_bytes()));
    }
    let tree = MerkleTree::from_leaf_hashes(&hashes).unwrap();
    let mut g = c.benchmark_group("merkle_1m");
    let mut i = 0u64;
    g.bench_function("inclusion_proof", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            tree.inclusion_proof(i).unwrap()
        })
    });
    g.bench_function("consistency_proof", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            tree.consistency_proof(i.max(1)).unwrap()
        })
    });
    g.sample_size(10);
    g.bench_function("rebuild_from_leaf_hashes", |b| {
        b.iter(|| MerkleTree::from_leaf_hashes(&hashes).unwrap())
    });
    g.finish();
}

mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::appends, super::verify, super::proofs);
}
use group::benches;
criterion_main!(benches);
