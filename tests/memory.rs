//! End-to-end: the host's memory stays within the run's memory cap plus a
//! fixed overhead, whatever the guest makes the host hold for it.
//!
//! Each scenario runs in a child process (this test binary, re-executed to
//! run only [`rss_probe`]), which runs the engine in-process and reports its
//! own peak resident set (`VmHWM` from `/proc/self/status`). The bound is
//! `memory_mb` plus [`OVERHEAD`], the figure the README states: the
//! process's code and heap before any run, compiled code, one decoded
//! batch, and the fixed per-call transfer floor.

mod common;

use std::path::Path;
use std::process::Command;

use common::{data, fixture, module, policy};
use sluice_runtime::privacy::DifferenceStore;
use sluice_runtime::signing::PublicKey;
use sluice_runtime::{Dataset, Engine, EngineConfig, Grant, Policy, RunRequest};

/// The stated fixed overhead over `memory_mb` (README, "Limits").
const OVERHEAD: u64 = 64 << 20;

const PROBE: &str = "SLUICE_RSS_PROBE";

/// Peak resident set of this process, bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM value");
    kib << 10
}

/// Runs `guest` with `params` over `dataset` under `policy` in a child
/// process; returns the outcome code and the child's peak RSS.
fn in_child(guest: &str, params: &str, dataset: &str, policy: &Path) -> (String, u64) {
    let spec = [
        module(guest).display().to_string(),
        dataset.to_string(),
        data(dataset).display().to_string(),
        policy.display().to_string(),
        fixture().public.display().to_string(),
        params.to_string(),
    ]
    .join("\n");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rss_probe",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE, spec)
        .output()
        .expect("run the probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(name).map(|(_, v)| v))
            .unwrap_or_else(|| {
                panic!(
                    "probe printed no {name}: {stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string()
    };
    (field("code="), field("peak_rss=").parse().unwrap())
}

#[test]
#[ignore = "the child half of host_memory_stays_within_the_cap_plus_the_overhead"]
fn rss_probe() {
    let Ok(spec) = std::env::var(PROBE) else {
        return;
    };
    let spec: Vec<&str> = spec.split('\n').collect();
    let [module, name, file, policy, buyer, params] = spec[..] else {
        panic!("bad probe spec");
    };
    let policy = Policy::load(Path::new(policy)).unwrap();
    let dataset = Dataset::open(name, Path::new(file))
        .unwrap()
        .declare(policy.declared_types())
        .unwrap();
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let out = engine
        .run(RunRequest {
            module: std::fs::read(module).unwrap(),
            known_keys: vec![PublicKey::from_file(buyer).unwrap()],
            grants: vec![Grant { dataset, policy }],
            params: params.to_string(),
            seed: Some(1),
            differences: Some(std::sync::Arc::new(DifferenceStore::in_memory().unwrap())),
            ..RunRequest::default()
        })
        .unwrap();
    let code = out.reason.as_ref().map_or("released", |r| r.code());
    println!("\ncode={code}");
    println!("peak_rss={}", peak_rss());
}

/// One scenario: guest, params, `memory_mb`, the outcome code expected.
type Scenario = (&'static str, &'static str, u64, &'static str);

#[test]
fn host_memory_stays_within_the_cap_plus_the_overhead() {
    let scenarios: [Scenario; 6] = [
        // ~60,000 groups of 16 functions: refused while it is built.
        ("wide-aggregate", "16", 32, "aborted.guest-error"),
        // The same under a cap it fits in: built and answered.
        ("wide-aggregate", "16", 256, "released"),
        // A 61 MB table (~140 MiB in the guest) the policy would release:
        // lifting it out of the guest does not fit in what is left.
        ("giant-output", "", 192, "aborted.memory"),
        // The same table under a cap it fits in: lifted, converted and
        // released (the old path peaked at 813 MB converting it).
        ("giant-output", "", 512, "released"),
        // The guest fills its own memory.
        ("memory-bomb", "", 256, "aborted.memory"),
        // 6,000,000 functions (96 MB): the host will not copy them out.
        ("host-flood", "transfer", 256, "aborted.memory"),
    ];
    for (guest, params, mb, expected) in scenarios {
        let memory = mb.to_string();
        let overrides = [
            ("memory_mb", memory.as_str()),
            ("fuel", "1_000_000_000_000"),
            ("wall_ms", "60_000"),
            ("output_rows", "100_000_000"),
            ("output_bytes", "1_000_000_000"),
        ];
        let (code, peak) = in_child(guest, params, "sales", &policy("sales", &overrides));
        eprintln!(
            "{guest} {params}: peak RSS {} MiB under {mb} MiB ({code})",
            peak >> 20
        );
        assert_eq!(code, expected, "{guest} {params}");
        assert!(
            peak <= (mb << 20) + OVERHEAD,
            "{guest} {params}: peak RSS {} MiB over {mb} MiB + {} MiB",
            peak >> 20,
            OVERHEAD >> 20
        );
    }
}
