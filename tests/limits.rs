//! End-to-end: every cost a guest causes is bounded and metered. Sleeping
//! and polling run on virtual time and never hold a host thread; host work
//! (aggregates, scans, WASI calls) is charged as fuel by a deterministic
//! schedule and stops at the fuel limit or the deadline inside the host;
//! compilation has its own caps.
//!
//! Timing assertions are upper bounds with a margin far above the stated
//! 100 ms (`sluice_runtime::engine::WALL_MARGIN`), so they hold on a loaded
//! machine; each one would fail by seconds (or hang) without its defence.

mod common;

use std::time::{Duration, Instant};

use common::{Outcome, data, fixture, module, policy, run};
use sluice_runtime::engine::schedule;
use sluice_runtime::outcome::Reason;
use sluice_runtime::{Dataset, Decision, Engine, EngineConfig, Grant, Policy, RunRequest};

/// Slack over `wall_ms` the tests allow: the stated margin plus scheduling
/// delays of a shared 2-core machine.
const SLACK_MS: u64 = 1_500;

fn timed(
    guest: &str,
    dataset: &str,
    overrides: &[(&str, &str)],
    params: &str,
) -> (Outcome, Duration) {
    let p = policy(dataset, overrides);
    let started = Instant::now();
    let r = run(guest, dataset, &p, &["--params", params]);
    (r, started.elapsed())
}

fn assert_wall_clock(r: &Outcome, wall_ms: u64) {
    assert_eq!(r.outcome_code(), "aborted.wall-clock", "{}", r.stdout);
    assert_eq!(
        r.reason(),
        format!("wall-clock limit exceeded: the policy allows {wall_ms} ms")
    );
    assert!(
        r.usage("wall_ms") <= wall_ms + SLACK_MS,
        "run took {} ms",
        r.usage("wall_ms")
    );
}

#[test]
fn sleeping_past_the_wall_clock_ends_the_run_at_once() {
    let (r, took) = timed("sleeper", "patients", &[("wall_ms", "1_000")], "20000");
    assert_wall_clock(&r, 1_000);
    assert!(took < Duration::from_secs(10), "the process took {took:?}");
}

#[test]
fn sleeping_within_the_wall_clock_advances_virtual_time_only() {
    let (r, _) = timed("sleeper", "patients", &[("wall_ms", "10_000")], "9000");
    assert_eq!(r.decision(), "released", "{}", r.stdout);
    assert_eq!(r.column("slept_ns"), [9_000_000_000u64]);
    assert!(
        r.usage("wall_ms") < 9_000,
        "a virtual sleep does not take real time: {} ms",
        r.usage("wall_ms")
    );
}

#[test]
fn waiting_forever_on_a_pollable_ends_at_the_wall_clock() {
    for mode in ["forever", "block", "instant"] {
        let (r, took) = timed("poller", "patients", &[("wall_ms", "1_000")], mode);
        assert_wall_clock(&r, 1_000);
        assert!(took < Duration::from_secs(10), "{mode}: {took:?}");
    }
}

#[test]
fn poll_returns_the_timer_that_fires_first_in_virtual_time() {
    let (r, _) = timed("poller", "patients", &[], "select");
    assert_eq!(r.decision(), "released", "{}", r.stdout);
    assert_eq!(r.column("ready"), [1]);
    assert_eq!(r.column("now_ns"), [5_000_000]);
}

#[test]
fn zero_length_waits_cost_fuel_and_end_at_the_caps() {
    let (r, _) = timed("poller", "patients", &[("fuel", "20_000_000")], "spin");
    assert_eq!(r.outcome_code(), "aborted.fuel", "{}", r.stdout);
    assert!(
        r.usage("host_fuel") > 10_000_000,
        "{}",
        r.usage("host_fuel")
    );
    let (r, _) = timed(
        "poller",
        "patients",
        &[("fuel", "9_000_000_000_000_000"), ("wall_ms", "500")],
        "spin",
    );
    assert_wall_clock(&r, 500);
}

#[test]
fn hoarding_host_resources_is_capped() {
    let (r, _) = timed("poller", "patients", &[], "hoard");
    assert_eq!(r.outcome_code(), "aborted.trap", "{}", r.stdout);
    assert_eq!(
        r.reason(),
        "guest trapped: the guest held more than 10000 WASI and Sluice resources at once"
    );
}

#[test]
fn a_huge_aggregate_runs_out_of_fuel_inside_the_host() {
    let (r, took) = timed(
        "quantile-flood",
        "sales",
        &[("fuel", "2_000_000_000")],
        "200000",
    );
    assert_eq!(r.outcome_code(), "aborted.fuel", "{}", r.stdout);
    assert_eq!(r.usage("fuel_consumed"), 2_000_000_000);
    assert!(
        r.usage("host_fuel") > 1_000_000_000,
        "most of the fuel is the host's work: {}",
        r.usage("host_fuel")
    );
    assert!(
        took < Duration::from_secs(10),
        "stopped before the work: {took:?}"
    );
}

#[test]
fn a_huge_aggregate_stops_at_the_deadline_inside_the_host() {
    let (r, _) = timed(
        "quantile-flood",
        "sales",
        &[("fuel", "9_000_000_000_000_000"), ("wall_ms", "1_000")],
        "200000",
    );
    assert_wall_clock(&r, 1_000);
    assert!(
        r.usage("host_fuel") > 1_000_000_000,
        "{}",
        r.usage("host_fuel")
    );
}

#[test]
fn host_work_is_charged_the_same_fuel_every_time() {
    // Same seed: the guest's own randomness (its hash maps') is the same too.
    let same = |guest: &str, params: &str| {
        run(
            guest,
            "sales",
            &policy("sales", &[]),
            &["--params", params, "--seed", "7"],
        )
    };
    for (guest, params) in [("quantile-flood", "160"), ("tiny-batches", "1000")] {
        let (a, b) = (same(guest, params), same(guest, params));
        assert_eq!(a.decision(), "released", "{guest}: {}", a.stdout);
        assert!(a.usage("host_fuel") > 0, "{guest}");
        assert_eq!(a.usage("host_fuel"), b.usage("host_fuel"), "{guest}");
        assert!(a.usage("host_fuel") < a.usage("fuel_consumed"), "{guest}");
        assert_eq!(
            a.usage("fuel_consumed"),
            b.usage("fuel_consumed"),
            "{guest}"
        );
    }
}

#[test]
fn every_scan_batch_and_dictionary_entry_is_charged() {
    let big = timed("tiny-batches", "sales", &[], "65536").0;
    let tiny = timed("tiny-batches", "sales", &[], "1").0;
    assert_eq!(big.decision(), "released", "{}", big.stdout);
    assert_eq!(tiny.decision(), "released", "{}", tiny.stdout);
    assert_eq!(tiny.column("rows"), [60_000]);
    // One-row batches: 60,000 batches, each with its own batch cost.
    assert!(
        tiny.usage("host_fuel") >= 60_000 * (schedule::SCAN_BATCH + schedule::HOST_CALL),
        "{}",
        tiny.usage("host_fuel")
    );
    assert!(tiny.usage("host_fuel") > 20 * big.usage("host_fuel"));
    let limit = (big.usage("fuel_consumed") * 4).to_string();
    let capped = timed("tiny-batches", "sales", &[("fuel", &limit)], "1").0;
    assert_eq!(capped.outcome_code(), "aborted.fuel", "{}", capped.stdout);
}

#[test]
fn cheap_wasi_calls_that_make_the_host_work_are_charged() {
    for mode in ["random", "log", "lookup"] {
        let (r, took) = timed("host-flood", "patients", &[("fuel", "200_000_000")], mode);
        assert_eq!(r.outcome_code(), "aborted.fuel", "{mode}: {}", r.stdout);
        assert!(
            r.usage("host_fuel") <= r.usage("fuel_consumed"),
            "{mode}: {} > {}",
            r.usage("host_fuel"),
            r.usage("fuel_consumed")
        );
        assert!(
            r.usage("host_fuel") * 2 > r.usage("fuel_consumed"),
            "{mode}: host work is most of the bill: {} of {}",
            r.usage("host_fuel"),
            r.usage("fuel_consumed")
        );
        assert!(took < Duration::from_secs(10), "{mode}: {took:?}");
    }
}

#[test]
fn oversized_transfers_are_memory_aborts() {
    // 6,000,000 functions: 96 MB to copy out of a guest using ~100 MB of a
    // 256 MiB cap. wasmtime alone would copy it (its limit is 128 MiB); the
    // meter's transfer budget (two fifths of the free memory) refuses it
    // before the host allocates anything for the query.
    let (r, _) = timed(
        "host-flood",
        "sales",
        &[("memory_mb", "256"), ("fuel", "100_000_000_000")],
        "transfer",
    );
    assert_eq!(r.outcome_code(), "aborted.memory", "{}", r.stdout);
    assert_eq!(
        r.reason(),
        "memory limit exceeded: the policy allows 256 MiB"
    );
    assert!(
        r.usage("host_memory_peak_bytes") < 16 << 20,
        "{}",
        r.usage("host_memory_peak_bytes")
    );
}

#[test]
fn an_aggregate_whose_state_would_not_fit_is_refused() {
    let (r, took) = timed(
        "wide-aggregate",
        "sales",
        &[("memory_mb", "32"), ("fuel", "100_000_000_000")],
        "16",
    );
    assert_eq!(r.outcome_code(), "aborted.guest-error", "{}", r.stdout);
    assert_eq!(
        r.reason(),
        "the guest returned an error: limit-reached: the aggregate query's state would exceed this run's memory cap of 32 MiB; ask for fewer functions or group by coarser keys"
    );
    assert!(r.usage("memory_peak_bytes") <= 32 << 20);
    assert!(took < Duration::from_secs(20), "{took:?}");
}

fn grant(dataset: &str, overrides: &[(&str, &str)]) -> Grant {
    let policy = Policy::load(&policy(dataset, overrides)).unwrap();
    let dataset = Dataset::open(dataset, &data(dataset))
        .unwrap()
        .declare(policy.declared_types())
        .unwrap();
    Grant { dataset, policy }
}

fn request(guest: &str, grant: Grant) -> RunRequest {
    RunRequest {
        module: std::fs::read(module(guest)).unwrap(),
        known_keys: vec![fixture().key.public()],
        grants: vec![grant],
        seed: Some(1),
        ..RunRequest::default()
    }
}

fn code(reason: &Option<Reason>) -> &'static str {
    reason.as_ref().map_or("", Reason::code)
}

#[test]
fn modules_over_the_size_cap_are_denied_before_admission() {
    let engine = Engine::new(EngineConfig {
        max_module_bytes: 1_000,
        ..EngineConfig::default()
    })
    .unwrap();
    let out = engine
        .run(request("mean-by-group", grant("sales", &[])))
        .unwrap();
    assert_eq!(out.decision, Decision::Denied);
    assert_eq!(code(&out.reason), "denied.module-too-large");
    assert!(out.reason.unwrap().to_string().ends_with(
        "the node accepts at most 1000; strip debug info or build with `opt-level = \"s\"`"
    ));
    assert!(out.buyer.is_none(), "refused before the signature was read");
}

#[test]
fn compilation_past_the_node_cap_is_denied() {
    let engine = Engine::new(EngineConfig {
        compile_timeout: Duration::from_millis(1),
        ..EngineConfig::default()
    })
    .unwrap();
    let out = engine
        .run(request("mean-by-group", grant("sales", &[])))
        .unwrap();
    assert_eq!(out.decision, Decision::Denied, "{:?}", out.reason);
    assert_eq!(
        out.reason.unwrap().to_string(),
        "compiling the module took longer than the node's 1 ms limit; make it smaller"
    );
}

#[test]
fn compilation_counts_against_the_run_and_finishes_for_the_next_one() {
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let hurried = || request("linear-regression", grant("patients", &[("wall_ms", "1")]));
    let started = Instant::now();
    let out = engine.run(hurried()).unwrap();
    assert_eq!(out.decision, Decision::Aborted, "{:?}", out.reason);
    assert_eq!(code(&out.reason), "aborted.wall-clock");
    assert!(!out.usage.compile_cached);
    assert!(started.elapsed() < Duration::from_millis(1 + SLACK_MS));
    // The abandoned compilation finishes in the background and is cached,
    // so a later run finds it.
    let cached = (0..240).any(|_| {
        std::thread::sleep(Duration::from_millis(250));
        engine.run(hurried()).unwrap().usage.compile_cached
    });
    assert!(cached, "the abandoned compilation was cached");
    let out = engine
        .run(request("linear-regression", grant("patients", &[])))
        .unwrap();
    assert_eq!(out.decision, Decision::Released, "{:?}", out.reason);
    assert!(out.usage.compile_cached);
}
