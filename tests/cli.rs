//! End-to-end: the command line's exit codes, messages and formats.

mod common;

use common::{data, fixture, module, policy, repo_policy, sluice};

#[test]
fn policy_check_explains_a_valid_policy() {
    let p = repo_policy("patients");
    let r = sluice(&["policy", "check", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("policy for dataset `patients` is valid"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("aggregate only: income, zip (group key)"),
        "{}",
        r.stdout
    );
    let r = sluice(&["policy", "check", "--json", p.to_str().unwrap()]);
    assert_eq!(r.json["valid"], true);
    assert_eq!(r.json["columns"]["income"]["access"], "aggregate");
    assert_eq!(r.json["hash"].as_str().unwrap().len(), 64);
}

#[test]
fn policy_check_names_line_and_key_of_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(repo_policy("patients"))
        .unwrap()
        .replace("wall_ms = 10_000", "wall_ms = 0");
    std::fs::write(&bad, text).unwrap();
    let r = sluice(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("at line 37: `limits.wall_ms`: 0 is out of range"),
        "{}",
        r.stderr
    );

    let typo = dir.path().join("typo.toml");
    let text = std::fs::read_to_string(repo_policy("patients"))
        .unwrap()
        .replace(
            "income = { access = \"aggregate\"",
            "income = { acess = \"aggregate\"",
        );
    std::fs::write(&typo, text).unwrap();
    let r = sluice(&["policy", "check", typo.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("line 32") && r.stderr.contains("unknown field `acess`"),
        "{}",
        r.stderr
    );
}

#[test]
fn run_refuses_bad_invocations_with_exit_2() {
    let m = module("mean-by-group");
    let m = m.to_str().unwrap();
    let p = repo_policy("sales");
    let p = p.to_str().unwrap();
    let sales = format!("sales={}", data("sales").display());

    let r = sluice(&["run", "--module", m, "--data", "sales", "--policy", p]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("expected NAME=PATH"), "{}", r.stderr);

    let r = sluice(&[
        "run",
        "--module",
        m,
        "--data",
        "sales=/nonexistent.parquet",
        "--policy",
        p,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("dataset sales: cannot read /nonexistent.parquet"),
        "{}",
        r.stderr
    );

    let r = sluice(&[
        "run",
        "--module",
        "/nonexistent.wasm",
        "--data",
        &sales,
        "--policy",
        p,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read module /nonexistent.wasm"),
        "{}",
        r.stderr
    );

    let other = format!("orders={}", data("sales").display());
    let r = sluice(&["run", "--module", m, "--data", &other, "--policy", p]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("dataset `orders` has no policy"),
        "{}",
        r.stderr
    );

    let r = sluice(&["run", "--module", m, "--policy", p]);
    assert_eq!(r.code, 2, "missing --data is a usage error");

    let txt = format!("sales={}", repo_policy("sales").display());
    let r = sluice(&["run", "--module", m, "--data", &txt, "--policy", p]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unsupported file"), "{}", r.stderr);
}

#[test]
fn run_prints_a_readable_summary_without_json() {
    let sales = format!("sales={}", data("sales").display());
    let m = module("mean-by-group");
    let p = policy("sales", &[]);
    let key = fixture().public.to_str().unwrap();
    let r = sluice(&[
        "run",
        "--module",
        m.to_str().unwrap(),
        "--data",
        &sales,
        "--policy",
        p.to_str().unwrap(),
        "--buyer",
        key,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("decision: released\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("region  orders  mean_amount"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("60000 rows"), "{}", r.stdout);
}
