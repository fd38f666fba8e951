//! The audit commands end to end, on a node that ran every example and a few
//! refused runs: `ledger verify` catches every hand edit of the SQLite file
//! and names the index, `ledger replay` reproduces every run, receipts verify
//! offline with the node's public key alone, and billing reproduces from an
//! exported ledger.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Outcome, fresh_data_dir, module, policy, run, run_module, sluice, unsigned_module};
use rusqlite::{Connection, params};

/// A node that ran the examples and some refused runs.
struct Audited {
    dir: PathBuf,
    node_pub: PathBuf,
    runs: Vec<(Outcome, PathBuf)>,
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn audited() -> &'static Audited {
    static A: OnceLock<Audited> = OnceLock::new();
    A.get_or_init(|| {
        let dir = fresh_data_dir();
        let d = s(&dir).to_string();
        let sales = policy("sales", &[]);
        let patients = policy("patients", &[]);
        let small_fuel = policy("patients", &[("fuel", "50_000_000")]);
        let few_bytes = policy("sales", &[("output_bytes", "100")]);
        let plan: Vec<(PathBuf, &str, &PathBuf, Vec<&str>, &str)> = vec![
            (module("mean-by-group"), "sales", &sales, vec![], "released"),
            (
                module("top-products"),
                "sales",
                &sales,
                vec!["--params", r#"{"n":5}"#],
                "released",
            ),
            (
                module("linear-regression"),
                "patients",
                &patients,
                vec![],
                "released",
            ),
            (
                module("histogram"),
                "patients",
                &patients,
                vec![],
                "released",
            ),
            (
                unsigned_module("mean-by-group"),
                "sales",
                &sales,
                vec![],
                "denied",
            ),
            (
                module("infinite-loop"),
                "patients",
                &small_fuel,
                vec![],
                "aborted",
            ),
            (
                module("mean-by-group"),
                "sales",
                &few_bytes,
                vec![],
                "withheld",
            ),
        ];
        let mut runs = Vec::new();
        for (i, (m, dataset, p, extra, expect)) in plan.into_iter().enumerate() {
            let receipt = dir.with_extension(format!("receipt-{i}.json"));
            let mut args = vec!["--data-dir", d.as_str(), "--receipt", s(&receipt)];
            args.extend(extra);
            let r = run_module(&m, dataset, p, &args);
            assert_eq!(r.decision(), expect, "{}", r.stderr);
            runs.push((r, receipt));
        }
        let node_pub = dir.with_extension("node.pub");
        let k = sluice(&["--data-dir", &d, "node", "key", "--out", s(&node_pub)]);
        assert_eq!(k.code, 0, "{}", k.stderr);
        Audited {
            dir,
            node_pub,
            runs,
        }
    })
}

/// A copy of the audited node's data directory, to tamper with.
fn copy() -> PathBuf {
    let from = &audited().dir;
    let to = fresh_data_dir();
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    to
}

fn verify(dir: &Path) -> Outcome {
    sluice(&["--data-dir", s(dir), "ledger", "verify"])
}

fn tampered(edit: impl FnOnce(&Connection)) -> Outcome {
    let dir = copy();
    let conn = Connection::open(dir.join("ledger.sqlite")).unwrap();
    edit(&conn);
    drop(conn);
    verify(&dir)
}

fn body(conn: &Connection, idx: i64) -> Vec<u8> {
    conn.query_row("SELECT body FROM events WHERE idx = ?1", [idx], |r| {
        r.get(0)
    })
    .unwrap()
}

fn assert_caught(r: &Outcome, index: u64) {
    assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("first bad event at index {index}")),
        "{}",
        r.stdout
    );
}

/// Index of the event of the `n`th planned run.
fn index_of(n: usize) -> i64 {
    audited().runs[n].0.json["receipt"]["index"]
        .as_i64()
        .unwrap()
}

#[test]
fn an_untouched_ledger_verifies() {
    let r = verify(&audited().dir);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("ledger OK:"), "{}", r.stdout);
    let j = sluice(&[
        "--data-dir",
        s(&audited().dir),
        "ledger",
        "verify",
        "--json",
    ]);
    assert_eq!(j.json["ok"], true);
}

#[test]
fn an_edited_event_is_caught_with_its_index() {
    let i = index_of(0);
    let r = tampered(|c| {
        let b = String::from_utf8(body(c, i)).unwrap();
        let edited = b.replacen("\"rows_fed\":60000", "\"rows_fed\":6000", 1);
        assert_ne!(b, edited);
        c.execute(
            "UPDATE events SET body = ?1 WHERE idx = ?2",
            params![edited.as_bytes(), i],
        )
        .unwrap();
    });
    assert_caught(&r, i as u64);
}

#[test]
fn an_edit_that_also_fixes_the_leaf_hash_is_caught() {
    let i = index_of(1);
    let r = tampered(|c| {
        let b = String::from_utf8(body(c, i)).unwrap();
        let edited = b.replacen("\"decision\":\"released\"", "\"decision\":\"withheld\"", 1);
        let leaf = sluice_ledger::merkle::leaf_hash(edited.as_bytes());
        c.execute(
            "UPDATE events SET body = ?1, leaf_hash = ?2 WHERE idx = ?3",
            params![edited.as_bytes(), &leaf[..], i],
        )
        .unwrap();
    });
    assert_caught(&r, i as u64);
}

#[test]
fn a_deleted_event_is_caught_with_its_index() {
    let i = index_of(2);
    let r = tampered(|c| {
        c.execute("DELETE FROM events WHERE idx = ?1", [i]).unwrap();
    });
    assert_caught(&r, i as u64);
}

#[test]
fn reordered_events_are_caught_with_the_first_index() {
    let (a, b) = (index_of(3), index_of(4));
    let r = tampered(|c| {
        let (ba, bb) = (body(c, a), body(c, b));
        c.execute("UPDATE events SET body = ?1 WHERE idx = ?2", params![bb, a])
            .unwrap();
        c.execute("UPDATE events SET body = ?1 WHERE idx = ?2", params![ba, b])
            .unwrap();
    });
    assert_caught(&r, a as u64);
}

#[test]
fn an_inserted_event_is_caught_with_its_index() {
    let i = index_of(5);
    let r = tampered(|c| {
        let forged = String::from_utf8(body(c, i))
            .unwrap()
            .replacen("\"id\":\"", "\"id\":\"f", 1);
        c.execute("UPDATE events SET idx = idx + 1000000 WHERE idx >= ?1", [i])
            .unwrap();
        c.execute(
            "UPDATE events SET idx = idx - 999999 WHERE idx >= 1000000",
            [],
        )
        .unwrap();
        let leaf = sluice_ledger::merkle::leaf_hash(forged.as_bytes());
        c.execute(
            "INSERT INTO events (idx, id, time, body, leaf_hash) VALUES (?1, 'forged', '', ?2, ?3)",
            params![i, forged.as_bytes(), &leaf[..]],
        )
        .unwrap();
    });
    assert_caught(&r, i as u64);
}

#[test]
fn an_event_appended_by_hand_is_caught_with_its_index() {
    let r = tampered(|c| {
        let last: i64 = c
            .query_row("SELECT MAX(idx) FROM events", [], |r| r.get(0))
            .unwrap();
        let b = body(c, last);
        let leaf = sluice_ledger::merkle::leaf_hash(&b);
        c.execute(
            "INSERT INTO events (idx, id, time, body, leaf_hash) VALUES (?1, 'extra', '', ?2, ?3)",
            params![last + 1, b, &leaf[..]],
        )
        .unwrap();
    });
    let last = audited().runs.last().unwrap().0.json["receipt"]["index"]
        .as_u64()
        .unwrap();
    assert_caught(&r, last + 1);
}

#[test]
fn replay_of_every_recorded_run_matches() {
    let r = sluice(&[
        "--data-dir",
        s(&audited().dir),
        "ledger",
        "replay",
        "--all",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let reports = r.json["reports"].as_array().unwrap();
    assert_eq!(reports.len(), audited().runs.len());
    for rep in reports {
        assert_eq!(rep["status"], "match", "{rep}");
        assert_eq!(rep["recorded_decision"], rep["replayed_decision"], "{rep}");
    }
    let released: Vec<_> = reports
        .iter()
        .filter(|r| r["recorded_decision"] == "released")
        .collect();
    assert_eq!(released.len(), 4);
    let checked =
        |r: &serde_json::Value, f: &str| r["checked"].as_array().unwrap().iter().any(|c| c == f);
    assert!(released.iter().all(|r| checked(r, "output_hash")));
    // The DP run (noisy histogram over `patients`) reproduces its released
    // bytes: the recorded noise is re-applied, so the output hash matches.
    let dp: Vec<_> = released
        .iter()
        .filter(|r| checked(r, "noise_draws"))
        .collect();
    assert_eq!(dp.len(), 1, "the DP run");
    assert_eq!(dp[0]["status"], "match", "{}", dp[0]);
    assert!(checked(dp[0], "privacy_trail"), "{}", dp[0]);
    assert!(
        reports
            .iter()
            .all(|r| checked(r, "decision") && checked(r, "code"))
    );
}

#[test]
fn replay_reports_changed_data_instead_of_using_it() {
    let dir = fresh_data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("patients-copy.csv");
    std::fs::copy(common::data("patients"), &csv).unwrap();
    let p = policy("patients", &[]);
    let data = format!("patients={}", csv.display());
    let m = module("linear-regression");
    let r = sluice(&[
        "--data-dir",
        s(&dir),
        "run",
        "--json",
        "--module",
        s(&m),
        "--data",
        &data,
        "--policy",
        s(&p),
        "--buyer",
        s(&common::fixture().public),
    ]);
    assert_eq!(r.decision(), "released", "{}", r.stderr);
    let id = r.json["run_id"].as_str().unwrap();
    let same = sluice(&["--data-dir", s(&dir), "ledger", "replay", "--run", id]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let line = text.lines().nth(1).unwrap().to_string();
    text.push_str(&line);
    text.push('\n');
    std::fs::write(&csv, text).unwrap();
    let changed = sluice(&[
        "--data-dir",
        s(&dir),
        "ledger",
        "replay",
        "--run",
        id,
        "--json",
    ]);
    assert_eq!(changed.code, 3);
    assert_eq!(changed.json["reports"][0]["status"], "data-changed");
    let note = changed.json["reports"][0]["note"].as_str().unwrap();
    assert!(note.contains("not the recorded snapshot"), "{note}");
}

#[test]
fn receipts_verify_offline_and_any_change_is_refused() {
    let a = audited();
    for (r, receipt) in &a.runs {
        let v = sluice(&["receipt", "verify", s(receipt), "--node", s(&a.node_pub)]);
        assert_eq!(v.code, 0, "{} {}", v.stdout, v.stderr);
        assert!(v.stdout.starts_with("receipt OK"), "{}", v.stdout);
        let id = r.json["run_id"].as_str().unwrap();
        assert!(v.stdout.contains(id), "{}", v.stdout);
    }
    // The `--json` output of a run carries the same receipt.
    let json_out = a.dir.with_extension("run.json");
    std::fs::write(&json_out, a.runs[0].0.stdout.as_bytes()).unwrap();
    let v = sluice(&["receipt", "verify", s(&json_out), "--node", s(&a.node_pub)]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    let mut receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&a.runs[0].1).unwrap()).unwrap();
    receipt["event"]["data"]["fuel_consumed"] = serde_json::json!(1);
    let edited = a.dir.with_extension("edited-receipt.json");
    std::fs::write(&edited, receipt.to_string()).unwrap();
    let v = sluice(&[
        "receipt",
        "verify",
        s(&edited),
        "--node",
        s(&a.node_pub),
        "--json",
    ]);
    assert_eq!(v.code, 3);
    assert_eq!(v.json["code"], "receipt.leaf-mismatch");

    let other = fresh_data_dir();
    let other_pub = other.with_extension("pub");
    sluice(&[
        "--data-dir",
        s(&other),
        "node",
        "key",
        "--out",
        s(&other_pub),
    ]);
    let v = sluice(&[
        "receipt",
        "verify",
        s(&a.runs[0].1),
        "--node",
        s(&other_pub),
    ]);
    assert_eq!(v.code, 3);
    assert!(v.stderr.contains("checkpoint"), "{}", v.stderr);
}

#[test]
fn billing_reproduces_from_an_export() {
    let a = audited();
    let d = s(&a.dir);
    let export = a.dir.with_extension("export.jsonl");
    let e = sluice(&["--data-dir", d, "ledger", "export", "--out", s(&export)]);
    assert_eq!(e.code, 0, "{}", e.stderr);
    for by in ["buyer", "dataset"] {
        let live = sluice(&["--data-dir", d, "billing", "report", "--by", by, "--json"]);
        let offline = sluice(&[
            "billing",
            "report",
            "--by",
            by,
            "--export",
            s(&export),
            "--json",
        ]);
        assert_eq!(live.code, 0, "{}", live.stderr);
        assert_eq!(offline.code, 0, "{}", offline.stderr);
        assert_eq!(live.json["report"], offline.json["report"]);
        assert_eq!(offline.json["mismatches"], serde_json::json!([]));
    }
    let by_dataset = sluice(&[
        "billing",
        "report",
        "--by",
        "dataset",
        "--export",
        s(&export),
        "--json",
    ]);
    let lines = by_dataset.json["report"]["lines"].as_array().unwrap();
    let sales = lines.iter().find(|l| l["key"] == "sales").unwrap();
    assert_eq!(sales["runs"], 4);
    assert_eq!(sales["denied"], 1);
    // The export verifies offline too.
    let v = sluice(&[
        "ledger",
        "verify",
        "--export",
        s(&export),
        "--node",
        s(&a.node_pub),
    ]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    // A charge edited in the export no longer recomputes.
    let text = std::fs::read_to_string(&export).unwrap();
    let amount = sales_amount(&text);
    let forged = text.replacen(&format!("\"amount\":\"{amount}\""), "\"amount\":\"99\"", 1);
    let forged_path = a.dir.with_extension("forged.jsonl");
    std::fs::write(&forged_path, forged).unwrap();
    let r = sluice(&["billing", "report", "--export", s(&forged_path)]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("charge mismatch"), "{}", r.stderr);
}

/// The first recorded charge amount in an export.
fn sales_amount(export: &str) -> String {
    let at = export.find("\"amount\":\"").unwrap() + 10;
    export[at..].split('"').next().unwrap().to_string()
}

#[test]
fn show_checkpoint_and_proofs() {
    let a = audited();
    let d = s(&a.dir);
    let (r, _) = &a.runs[2];
    let id = r.json["run_id"].as_str().unwrap();
    let shown = sluice(&["--data-dir", d, "ledger", "show", "--run", id]);
    assert_eq!(shown.json["event"]["id"], id);
    assert_eq!(shown.json["event"]["type"], "dev.sluice.run.v1");
    let table = sluice(&["--data-dir", d, "ledger", "show"]);
    assert!(
        table.stdout.contains(&format!("run {id} released")),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("policy sales v1"), "{}", table.stdout);

    let cp = sluice(&["--data-dir", d, "ledger", "checkpoint", "--json"]);
    let size = cp.json["size"].as_u64().unwrap();
    assert!(
        cp.json["note"]
            .as_str()
            .unwrap()
            .starts_with("sluice.node/")
    );

    let index = r.json["receipt"]["index"].as_u64().unwrap();
    let proof = sluice(&[
        "--data-dir",
        d,
        "ledger",
        "prove",
        "--index",
        &index.to_string(),
    ]);
    let file = a.dir.with_extension("proof.json");
    std::fs::write(&file, &proof.stdout).unwrap();
    let v = sluice(&["receipt", "verify", s(&file), "--node", s(&a.node_pub)]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    let c = sluice(&[
        "--data-dir",
        d,
        "ledger",
        "prove",
        "--from",
        &(index + 1).to_string(),
        "--to",
        &size.to_string(),
    ]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_eq!(c.json["verified_against_checkpoints"], true);
}

#[test]
fn the_run_json_keeps_its_fields_and_adds_the_receipt() {
    let r = run("mean-by-group", "sales", &policy("sales", &[]), &[]);
    for field in [
        "run_id",
        "decision",
        "output",
        "output_hash",
        "usage",
        "module_hash",
        "data_snapshots",
        "seed",
        "buyer",
        "engine",
        "receipt",
    ] {
        assert!(r.json.get(field).is_some(), "{field} missing: {}", r.json);
    }
    let receipt = &r.json["receipt"];
    assert_eq!(receipt["event"]["id"], r.json["run_id"]);
    assert_eq!(
        receipt["event"]["data"]["output_hash"],
        r.json["output_hash"]
    );
    assert_eq!(receipt["event"]["data"]["decision"], "released");
    assert!(receipt["inclusion_proof"].is_array());
    assert!(
        receipt["checkpoint"]
            .as_str()
            .unwrap()
            .contains("sluice.node/")
    );
}
