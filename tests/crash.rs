//! Crash safety: a stream of `sluice run` processes on one node, each killed
//! with SIGKILL at a random moment (while opening the node, compiling,
//! running, appending to the ledger, or printing). Afterwards:
//!
//! - `sluice ledger verify` passes: no event is half-written, the tree and
//!   every checkpoint still hold;
//! - every run whose output (any of it) reached the client has its event in
//!   the ledger: output is printed only after the event is durable;
//! - the node keeps working (the killed process's lock is released).
//!
//! CI runs a small stream; set `SLUICE_CRASH_RUNS` for a longer one
//! (`SLUICE_CRASH_RUNS=300 cargo test --release --test crash`), and
//! `SLUICE_CRASH_SEED` to repeat a schedule.

#![cfg(unix)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{data, fixture, fresh_data_dir, module, policy, sluice};

/// xorshift64*: a reproducible schedule from a printed seed.
struct Schedule(u64);

impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The run id in whatever part of a run's `--json` output was printed.
fn run_id(partial: &str) -> Option<String> {
    let at = partial.find("\"run_id\": \"")? + 11;
    let id = partial.get(at..at + 36)?;
    (id.len() == 36).then(|| id.to_string())
}

#[test]
fn killing_runs_at_random_moments_loses_nothing_that_was_released() {
    let runs = env_u64("SLUICE_CRASH_RUNS").unwrap_or(12);
    let seed = env_u64("SLUICE_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1
    });
    eprintln!("crash schedule: SLUICE_CRASH_RUNS={runs} SLUICE_CRASH_SEED={seed}");
    let mut schedule = Schedule(seed);
    let dir = fresh_data_dir();
    let d = dir.to_str().unwrap().to_string();
    let p = policy("sales", &[]);
    let sales = format!("sales={}", data("sales").display());
    let m = module("mean-by-group");
    let args = [
        "--data-dir",
        &d,
        "run",
        "--json",
        "--module",
        m.to_str().unwrap(),
        "--data",
        &sales,
        "--policy",
        p.to_str().unwrap(),
        "--buyer",
        fixture().public.to_str().unwrap(),
    ];
    // Two undisturbed runs: the first registers the dataset and warms the
    // compiled-module cache, the second measures how long a run takes; kill
    // moments are drawn from that span, so most land before the output.
    let first = sluice(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let started = Instant::now();
    let second = sluice(&args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let span = started.elapsed().as_millis() as u64 + 1;

    let cache = sluice::guests::repo_root()
        .join("target")
        .join("test-module-cache");
    let mut received: Vec<String> = [&first, &second]
        .iter()
        .map(|r| r.json["run_id"].as_str().unwrap().to_string())
        .collect();
    let mut killed = 0;
    for _ in 0..runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .env("SLUICE_CACHE_DIR", &cache)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(schedule.next() % span));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        if !out.is_empty() {
            let id = run_id(&out)
                .unwrap_or_else(|| panic!("output reached the client without a run id: {out:?}"));
            received.push(id);
        }
    }
    eprintln!(
        "{killed} of {runs} runs killed; {} outputs received",
        received.len()
    );

    let verify = sluice(&["--data-dir", &d, "ledger", "verify", "--json"]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    assert_eq!(verify.json["ok"], true);
    for id in &received {
        let shown = sluice(&["--data-dir", &d, "ledger", "show", "--run", id]);
        assert_eq!(
            shown.code, 0,
            "run {id} was received but not recorded: {}",
            shown.stderr
        );
        assert_eq!(shown.json["event"]["data"]["decision"], "released");
    }
    let after = sluice(&args);
    assert_eq!(
        after.code, 0,
        "the node works after the crashes: {}",
        after.stderr
    );
    let events = verify.json["events"].as_u64().unwrap();
    assert!(events >= received.len() as u64);
}
