//! End-to-end: hostile guests are stopped with a precise reason, nothing of
//! their output leaks, and malformed modules are refused before they run.

mod common;

use common::{Trust, fixture, module, policy, policy_with, run};
use sluice_runtime::signing;

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let r = run(
        "infinite-loop",
        "patients",
        &policy("patients", &[("fuel", "50_000_000")]),
        &[],
    );
    assert_eq!(r.code, 3);
    assert_eq!(r.decision(), "aborted");
    assert_eq!(r.outcome_code(), "aborted.fuel");
    assert_eq!(
        r.reason(),
        "fuel exhausted: the run used all 50000000 fuel the policy allows"
    );
    assert_eq!(r.usage("fuel_consumed"), 50_000_000);
    assert!(r.json["output"].is_null());
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let p = policy(
        "patients",
        &[
            ("memory_mb", "64"),
            ("fuel", "100_000_000_000"),
            ("wall_ms", "60_000"),
        ],
    );
    let r = run("memory-bomb", "patients", &p, &[]);
    assert_eq!(r.code, 3);
    assert_eq!(r.decision(), "aborted");
    assert_eq!(r.outcome_code(), "aborted.memory");
    assert_eq!(
        r.reason(),
        "memory limit exceeded: the policy allows 64 MiB"
    );
    let peak = r.usage("memory_peak_bytes");
    assert!(peak <= 64 << 20 && peak > 32 << 20, "peak {peak}");
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let p = policy(
        "patients",
        &[("fuel", "100_000_000_000"), ("wall_ms", "60_000")],
    );
    let r = run("deep-recursion", "patients", &p, &[]);
    assert_eq!(r.code, 3);
    assert_eq!(r.decision(), "aborted");
    assert_eq!(r.outcome_code(), "aborted.stack");
    assert_eq!(
        r.reason(),
        "stack overflow: the guest exceeded the wasm call-stack limit"
    );
}

#[test]
fn giant_output_is_withheld_and_not_printed() {
    let p = policy(
        "patients",
        &[("memory_mb", "1024"), ("fuel", "100_000_000_000")],
    );
    let r = run("giant-output", "patients", &p, &[]);
    assert_eq!(r.code, 3);
    assert_eq!(r.decision(), "withheld");
    assert_eq!(r.outcome_code(), "withheld.output-rows");
    assert_eq!(
        r.reason(),
        "release rule failed: output_rows: the table has more rows than the policy allows (10000)"
    );
    assert!(r.json["output"].is_null());
    assert!(
        r.stdout.len() < 10_000,
        "withheld output must not be printed"
    );
}

#[test]
fn output_byte_cap_is_its_own_rule() {
    let p = policy("sales", &[("output_bytes", "100")]);
    let r = run("mean-by-group", "sales", &p, &[]);
    assert_eq!(r.decision(), "withheld");
    assert_eq!(r.outcome_code(), "withheld.output-bytes");
    assert_eq!(
        r.reason(),
        "release rule failed: output_bytes: the table is larger than the policy allows (100 bytes)"
    );
}

#[test]
fn scanning_an_aggregate_column_is_not_permitted() {
    let r = run("forbidden-raw", "patients", &policy("patients", &[]), &[]);
    assert_eq!(r.code, 3);
    assert_eq!(r.decision(), "aborted");
    assert_eq!(
        r.reason(),
        "the guest returned an error: not-permitted: column `income` of dataset `patients` is aggregate-only: use host aggregates, not a scan"
    );
    assert_eq!(r.usage("rows_fed"), 0);
}

#[test]
fn a_none_column_does_not_exist() {
    let r = run("hidden-column", "patients", &policy("patients", &[]), &[]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.reason(),
        "the guest returned an error: not-found: dataset `patients` has no column of the name the module asked for that is visible to it"
    );
    assert_eq!(r.usage("rows_fed"), 0);
}

#[test]
fn near_unique_group_keys_are_suppressed() {
    let r = run(
        "singleton-groups",
        "patients",
        &policy("patients", &[]),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let counts = r.column("count");
    let n = counts.len();
    assert!(n >= 2, "some large zips are released");
    assert!(
        counts[..n - 1].iter().all(|c| c.as_u64().unwrap() >= 10),
        "no small group leaks"
    );
    let suppressed = r.column("suppressed_groups")[n - 1].as_u64().unwrap();
    assert!(
        suppressed > 1000,
        "most zips are tiny and must be suppressed: {suppressed}"
    );
    assert_eq!(r.usage("groups_suppressed"), suppressed);
}

#[test]
fn grouping_by_a_column_that_is_not_a_key_is_refused() {
    let p = policy("patients", &[("zip", r#""aggregate""#)]);
    let r = run("singleton-groups", "patients", &p, &[]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.reason(),
        "the guest returned an error: not-permitted: column `zip` of dataset `patients` is not a permitted group-by key"
    );
}

fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = fixture().dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run_module(path: &std::path::Path) -> common::Outcome {
    common::run_module(
        path,
        "patients",
        &policy_with("patients", &[], Trust::SignerOnly),
        &[],
    )
}

fn signed(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    write(name, &signing::sign(bytes, &fixture().key).unwrap())
}

#[test]
fn garbage_is_denied_before_compilation() {
    let r = run_module(&write("garbage.wasm", b"MZ\x90\x00 this is not wasm"));
    assert_eq!(r.code, 3);
    assert_eq!(r.decision(), "denied");
    assert_eq!(
        r.reason(),
        "module is not WebAssembly: it does not start with the `\\0asm` header"
    );
    assert_eq!(r.usage("fuel_consumed"), 0);
}

#[test]
fn core_modules_are_denied() {
    let r = run_module(&write("core.wasm", b"\0asm\x01\0\0\0"));
    assert_eq!(r.decision(), "denied");
    assert!(
        r.reason()
            .starts_with("module is a core WebAssembly module, not a component"),
        "{}",
        r.reason()
    );
}

#[test]
fn signed_but_broken_components_are_denied_at_compilation() {
    let good = std::fs::read(common::unsigned_module("mean-by-group")).unwrap();
    let r = run_module(&signed("truncated.wasm", &good[..good.len() / 2]));
    assert_eq!(r.decision(), "denied");
    assert!(
        r.reason()
            .starts_with("module is not a valid WebAssembly component"),
        "{}",
        r.reason()
    );
}

#[test]
fn any_flipped_byte_of_a_signed_module_is_denied_before_compilation() {
    let good = std::fs::read(module("mean-by-group")).unwrap();
    for at in [9, good.len() / 2, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x01;
        let r = run_module(&write("flipped.wasm", &flipped));
        assert_eq!(r.decision(), "denied", "byte {at}");
        assert!(
            [
                "denied.tampered",
                "denied.malformed-signature",
                "denied.malformed-module"
            ]
            .contains(&r.outcome_code()),
            "byte {at}: {}",
            r.outcome_code()
        );
        assert!(
            r.reason().starts_with("signature check failed:"),
            "byte {at}: {}",
            r.reason()
        );
        assert_eq!(r.usage("fuel_consumed"), 0);
    }
}
