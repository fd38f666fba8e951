//! Load test of the node over HTTP on loopback: concurrent buyers, each
//! with its own key and its own approved, signed `mean-by-group` module,
//! submit small cached runs (a 1,000-row sales file) through `POST
//! /v1/runs` with real RFC 9421 signatures.
//!
//! Phase 1 stays below the queue bound: every answer must be a released
//! result, and the ledger must have grown by exactly the number of
//! results given. Phase 2 goes past it (many more clients than workers +
//! queue): answers are results or `503 busy.queue-full` with `Retry-After`,
//! and again events recorded == results given. Prints p50/p99 latency and
//! runs/s for `benches/RESULTS.md`.
//!
//! `cargo bench --bench http_load` (env: `SLUICE_LOAD_RUNS`, default 4000;
//! `SLUICE_LOAD_BUYERS`, default 8).

#[path = "../tests/http_support/mod.rs"]
mod http_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_node::http::{Client, Method};
use sluice_runtime::signing::{self, SecretKey};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `module` with a custom section `name` appended: same code, another hash.
fn variant(module: &[u8], name: &str) -> Vec<u8> {
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name.as_bytes());
    let mut out = module.to_vec();
    out.push(0);
    out.push(section.len() as u8);
    out.extend(section);
    out
}

struct Buyer {
    client: Client,
    hash: String,
}

fn buyers(s: &http_support::Served, n: usize) -> Vec<Arc<Buyer>> {
    let base = http_support::component("mean-by-group");
    let operator = s.client(&s.keys.operator);
    (0..n)
        .map(|i| {
            let key = SecretKey::from_seed(&[100 + i as u8; 32]);
            // Through the API, so the server knows the key at once.
            let added =
                s.rt.block_on(operator.json(
                    Method::POST,
                    "/v1/keys",
                    Some(&json!({"key": key.public().to_hex(), "role": "buyer"})),
                ))
                .unwrap();
            assert_eq!(added.status, 201);
            let module = signing::sign(&variant(&base, &format!("load-{i}")), &key).unwrap();
            let hash = s.node.put_module(&module).unwrap().hash;
            let r = s
                .node
                .request_approval(&key.public(), "sales", &hash, None)
                .unwrap();
            s.node
                .approve(&r.id, &s.keys.owner.public(), None, None)
                .unwrap();
            Arc::new(Buyer {
                client: s.client(&key),
                hash,
            })
        })
        .collect()
}

struct Tally {
    latencies: Vec<Duration>,
    ok: u64,
    busy: u64,
    other: Vec<String>,
    elapsed: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// `clients` concurrent loops, `total` runs in all, spread over `buyers`.
fn phase(s: &http_support::Served, buyers: &[Arc<Buyer>], clients: usize, total: usize) -> Tally {
    let started = Instant::now();
    let per = total / clients;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let b = buyers[c % buyers.len()].clone();
            s.rt.spawn(async move {
                let mut t = Vec::with_capacity(per);
                let (mut ok, mut busy, mut other) = (0u64, 0u64, Vec::new());
                let body = json!({"module_hash": b.hash, "datasets": ["sales"]});
                for _ in 0..per {
                    let at = Instant::now();
                    let a = b.client.json(Method::POST, "/v1/runs", Some(&body)).await;
                    t.push(at.elapsed());
                    match a {
                        Ok(a) if a.status == 200 => ok += 1,
                        Ok(a) if a.status == 503 || a.status == 429 => {
                            assert!(a.headers.contains_key("retry-after"));
                            busy += 1;
                        }
                        Ok(a) => {
                            other.push(format!("{} {}", a.status, String::from_utf8_lossy(&a.body)))
                        }
                        Err(e) => other.push(e.to_string()),
                    }
                }
                (t, ok, busy, other)
            })
        })
        .collect();
    let mut tally = Tally {
        latencies: Vec::new(),
        ok: 0,
        busy: 0,
        other: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for h in handles {
        let (t, ok, busy, other) = s.rt.block_on(h).unwrap();
        tally.latencies.extend(t);
        tally.ok += ok;
        tally.busy += busy;
        tally.other.extend(other);
    }
    tally.elapsed = started.elapsed();
    tally.latencies.sort();
    tally
}

fn report(name: &str, t: &Tally) {
    println!(
        "| {name} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} |",
        t.latencies.len(),
        t.ok,
        t.busy,
        t.other.len(),
        percentile(&t.latencies, 0.5),
        percentile(&t.latencies, 0.99),
        t.ok as f64 / t.elapsed.as_secs_f64(),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and
    // only checks that the harness builds.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs = env("SLUICE_LOAD_RUNS", 4000);
    let n = env("SLUICE_LOAD_BUYERS", 8);
    let workers = env("SLUICE_LOAD_WORKERS", 0);
    let s = http_support::start(|c| {
        c.queue = 64;
        c.per_key_runs = 64;
        if workers > 0 {
            c.workers = workers;
        }
    });
    println!(
        "workers: {}",
        if workers > 0 {
            workers.to_string()
        } else {
            "2".into()
        }
    );
    let buyers = buyers(&s, n);
    // Warm up: compile every module once (cached afterwards).
    phase(&s, &buyers, n, n * 2);
    println!("| phase | requests | released | busy (429/503) | other | p50 ms | p99 ms | runs/s |");
    println!("|---|---|---|---|---|---|---|---|");
    let before = s.node.ledger().len().unwrap();
    let below = phase(&s, &buyers, n, runs);
    report(&format!("{n} buyers, below the bound"), &below);
    let mid = s.node.ledger().len().unwrap();
    assert_eq!(mid - before, below.ok, "events recorded == results given");
    assert!(
        below.other.is_empty() && below.busy == 0,
        "errors below the bound: {:?}",
        below.other.first()
    );
    let over = phase(&s, &buyers, 256, runs);
    report("256 clients, past the bound (workers + 64 queued)", &over);
    let after = s.node.ledger().len().unwrap();
    assert_eq!(after - mid, over.ok, "events recorded == results given");
    assert!(
        over.other.is_empty(),
        "only results and busy answers: {:?}",
        over.other.first()
    );
    assert_eq!(s.shutdown(), 0);
}
