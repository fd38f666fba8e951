//! End-to-end: the sandbox's limits trip exactly their own error, runs are
//! deterministic, nothing crosses the WASI wall, compiled modules are
//! cached, and one engine stays healthy across hostile runs.

mod common;

use common::{data, fixture, module, policy, run};
use sluice_runtime::{Dataset, Decision, Engine, EngineConfig, Grant, Policy, RunRequest};

#[test]
fn the_wall_clock_cap_trips_on_its_own() {
    let p = policy(
        "patients",
        &[("fuel", "9_000_000_000_000_000"), ("wall_ms", "300")],
    );
    let r = run("infinite-loop", "patients", &p, &[]);
    assert_eq!(r.decision(), "aborted");
    assert_eq!(
        r.reason(),
        "wall-clock limit exceeded: the policy allows 300 ms"
    );
    assert!(r.usage("wall_ms") >= 300);
    assert!(r.usage("fuel_consumed") < 9_000_000_000_000_000);
}

#[test]
fn same_inputs_and_seed_give_identical_output_and_fuel() {
    let a = run(
        "mean-by-group",
        "sales",
        &policy("sales", &[]),
        &["--seed", "42"],
    );
    let b = run(
        "mean-by-group",
        "sales",
        &policy("sales", &[]),
        &["--seed", "42"],
    );
    assert_eq!(a.decision(), "released");
    assert_eq!(a.json["output"], b.json["output"]);
    assert_eq!(a.json["output_hash"], b.json["output_hash"]);
    assert_eq!(a.usage("fuel_consumed"), b.usage("fuel_consumed"));
    assert_eq!(a.usage("bytes_fed"), b.usage("bytes_fed"));
    assert_ne!(a.json["run_id"], b.json["run_id"]);
}

fn probe(seed: &str, log: Option<&std::path::Path>) -> std::collections::BTreeMap<String, String> {
    let log_arg = log.map(|p| p.to_str().unwrap().to_string());
    let mut extra = vec!["--seed", seed];
    if let Some(l) = &log_arg {
        extra.extend(["--log", l.as_str()]);
    }
    let r = run(
        "sandbox-probe",
        "patients",
        &policy("patients", &[]),
        &extra,
    );
    assert_eq!(r.decision(), "released", "{}", r.stdout);
    assert!(
        !r.stdout.contains("sandbox-probe: stdout line"),
        "the run log is never released"
    );
    let names = r.column("probe");
    let results = r.column("result");
    names
        .iter()
        .zip(results)
        .map(|(n, v)| {
            (
                n.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn nothing_crosses_the_wasi_wall() {
    let log = fixture().dir.path().join("probe.log");
    let p = probe("1", Some(&log));
    for denied in [
        "read /etc/passwd",
        "list /",
        "list .",
        "write probe.txt",
        "tcp connect 127.0.0.1:80",
        "resolve localhost",
    ] {
        assert!(p[denied].starts_with("error"), "{denied}: {}", p[denied]);
    }
    assert_eq!(p["env vars"], "ok: 0");
    assert_eq!(p["args"], "ok: 0");
    assert_eq!(p["system time ns"], "ok: 946684800000000000");
    assert_eq!(p["instant elapsed ns"], "ok: 0");
    assert_eq!(p["stdout"], "ok: ()");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("sandbox-probe: stdout line") && log.contains("sandbox-probe: stderr line"),
        "{log}"
    );
}

#[test]
fn randomness_comes_from_the_recorded_seed() {
    let a = probe("7", None);
    let b = probe("7", None);
    let c = probe("8", None);
    assert_eq!(a["random u64 x4"], b["random u64 x4"]);
    assert_ne!(a["random u64 x4"], c["random u64 x4"]);
    let r = run("sandbox-probe", "patients", &policy("patients", &[]), &[]);
    assert!(r.json["seed"].is_u64(), "a host-picked seed is reported");
}

#[test]
fn a_second_run_reuses_the_compiled_module() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    let first = run(
        "linear-regression",
        "patients",
        &policy("patients", &[]),
        &["--cache-dir", dir],
    );
    let second = run(
        "linear-regression",
        "patients",
        &policy("patients", &[]),
        &["--cache-dir", dir],
    );
    assert_eq!(first.json["usage"]["compile_cached"], false);
    assert_eq!(second.json["usage"]["compile_cached"], true);
    assert_eq!(first.json["output_hash"], second.json["output_hash"]);
    assert_eq!(first.usage("fuel_consumed"), second.usage("fuel_consumed"));
}

fn grant(dataset: &str, policy: &std::path::Path) -> Grant {
    let policy = Policy::load(policy).unwrap();
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

#[test]
fn one_engine_survives_every_hostile_guest_and_then_runs_normally() {
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let small = policy("patients", &[("fuel", "20_000_000"), ("memory_mb", "64")]);
    let hostile = [
        "infinite-loop",
        "memory-bomb",
        "deep-recursion",
        "giant-output",
        "forbidden-raw",
        "hidden-column",
    ];
    for guest in hostile {
        let out = engine
            .run(request(guest, grant("patients", &small)))
            .unwrap();
        assert!(
            matches!(out.decision, Decision::Aborted | Decision::Withheld),
            "{guest}: {:?} {:?}",
            out.decision,
            out.reason
        );
        assert!(out.output.is_none(), "{guest}");
    }
    let good = engine
        .run(request(
            "mean-by-group",
            grant("sales", &policy("sales", &[])),
        ))
        .unwrap();
    assert_eq!(good.decision, Decision::Released, "{:?}", good.reason);
    assert_eq!(good.usage.rows_fed, 60_000);
}

#[test]
fn concurrent_runs_share_a_new_privacy_budget_store() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap().to_string();
    let p = common::policy_with("patients", &[], common::Trust::SignerOnly);
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let (p, dir) = (p.clone(), dir.clone());
            std::thread::spawn(move || run("histogram", "patients", &p, &["--data-dir", &dir]))
        })
        .collect();
    for r in runs {
        let r = r.join().unwrap();
        assert_eq!(r.decision(), "released", "{}", r.stderr);
        assert_eq!(r.json["usage"]["epsilon_spent"], 0.5);
    }
}
