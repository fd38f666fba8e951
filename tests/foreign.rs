//! Owners' files written by other tools (tests/data/, see its README):
//! DuckDB, pyarrow (every type and codec), Polars, R-style and gzip CSV and
//! a hive-partitioned folder run under a policy that only marks columns,
//! and give what DuckDB itself answers on the same files.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{fixture, module, sluice};
use serde_json::Value;
use sluice::guests::repo_root;
use sluice_runtime::data::ScanColumn;
use sluice_runtime::outcome::{Abort, Denial, Reason};
use sluice_runtime::{Dataset, Decision, Engine, EngineConfig, Grant, Policy, RunRequest};

fn data_dir() -> PathBuf {
    repo_root().join("tests").join("data")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(data_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A policy for the `sales` test files that only marks columns (and
/// approves the test modules), plus `extra` TOML.
fn sales_policy(extra: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let mut text = String::from(
        "dataset = \"sales\"\n[columns]\nid = \"none\"\nregion = \"raw\"\namount = \"raw\"\n\
         quantity = \"raw\"\nprice = \"raw\"\nreturned = \"raw\"\nday = \"raw\"\nordered_at = \"raw\"\n\
         year = \"raw\"\nq1 = \"raw\"\n",
    );
    text.push_str(extra);
    for h in &fixture().hashes {
        text.push_str(&format!("\n[[approvals]]\nmodule = \"{h}\"\n"));
    }
    let path = fixture().dir.path().join(format!(
        "foreign-{}.toml",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_on(guest: &str, data: &Path, policy: &Path) -> common::Outcome {
    let f = fixture();
    let spec = format!("sales={}", data.display());
    let state = f.dir.path().join("foreign-state");
    sluice(&[
        "run",
        "--json",
        "--module",
        module(guest).to_str().unwrap(),
        "--data",
        &spec,
        "--policy",
        policy.to_str().unwrap(),
        "--buyer",
        f.public.to_str().unwrap(),
        "--data-dir",
        state.to_str().unwrap(),
    ])
}

/// Checks a released table against DuckDB's rows `[key, count, mean]`.
fn same_groups(what: &str, r: &common::Outcome, key: &str, mean: &str, want: &Value) {
    assert_eq!(r.code, 0, "{what}: {} {}", r.stdout, r.stderr);
    assert_eq!(r.decision(), "released", "{what}: {}", r.reason());
    let (keys, counts, means) = (r.column(key), r.column("orders"), r.column(mean));
    let want = want.as_array().unwrap();
    assert_eq!(keys.len(), want.len(), "{what}: {keys:?}");
    for (i, w) in want.iter().enumerate() {
        assert_eq!(keys[i], w[0], "{what}: group {i}");
        assert_eq!(counts[i], w[1], "{what}: count of {}", w[0]);
        let (got, exp) = (means[i].as_f64().unwrap(), w[2].as_f64().unwrap());
        assert!(
            ((got - exp) / exp).abs() < 1e-9,
            "{what}: mean of {}: {got} vs {exp}",
            w[0]
        );
    }
}

#[test]
fn every_writer_and_codec_gives_duckdbs_answer() {
    let expected = expected();
    let policy = sales_policy("");
    for (name, want) in expected["files"].as_object().unwrap() {
        if name.contains('#') {
            continue;
        }
        let r = run_on("mean-by-group", &data_dir().join(name), &policy);
        same_groups(name, &r, "region", "mean_amount", &want["mean_by_group"]);
        assert_eq!(
            r.usage("rows_fed"),
            want["rows"].as_u64().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn decoding_ahead_is_charged_the_same_every_time_and_host_encoding_per_entry() {
    let policy = sales_policy("");
    let figures = |file: &str| {
        let r = run_on("mean-by-group", &data_dir().join(file), &policy);
        assert_eq!(r.decision(), "released", "{file}: {}", r.reason());
        [
            "fuel_consumed",
            "host_fuel",
            "memory_peak_bytes",
            "host_memory_peak_bytes",
        ]
        .map(|k| r.usage(k))
    };
    for file in ["pyarrow/sales-plain.parquet", "r-style/sales.csv"] {
        let first = figures(file);
        assert_eq!(
            figures(file),
            first,
            "{file}: whatever the decoder's timing"
        );
    }
    // The same rows with `region` in dictionary pages: the host re-maps a
    // page's few entries instead of encoding every string itself.
    let pages = figures("pyarrow/sales-zstd.parquet");
    let plain = figures("pyarrow/sales-plain.parquet");
    assert!(plain[1] > pages[1], "{plain:?} vs {pages:?}");
}

#[test]
fn na_in_string_columns_is_null_when_the_policy_says_so() {
    let want = &expected()["files"]["r-style/sales.csv#string-na"]["mean_by_group"];
    let policy = sales_policy("[csv]\nstring_null_values = [\"NA\"]\n");
    let r = run_on(
        "mean-by-group",
        &data_dir().join("r-style/sales.csv"),
        &policy,
    );
    same_groups(
        "r-style, NA strings null",
        &r,
        "region",
        "mean_amount",
        want,
    );
    assert!(r.column("region").last().unwrap().is_null());
}

#[test]
fn timestamps_and_dates_group_by_month_like_duckdb() {
    let expected = expected();
    let policy = sales_policy("");
    for name in [
        "duckdb/sales.parquet",
        "polars/sales.parquet",
        "pyarrow/sales-zstd.parquet",
        "r-style/sales.csv",
        "hive",
    ] {
        let r = run_on("orders-by-month", &data_dir().join(name), &policy);
        same_groups(
            name,
            &r,
            "month",
            "mean_amount",
            &expected["files"][name]["orders_by_month"],
        );
    }
}

/// The pyarrow file with one column per flat Arrow type (and nested ones).
fn types_file() -> PathBuf {
    data_dir().join("pyarrow/types.parquet")
}

const NESTED: [&str; 3] = ["list", "st", "map"];

#[test]
fn every_flat_type_reads_with_its_nulls_and_nested_ones_stay_hidden() {
    let expected = expected();
    let want = &expected["types"];
    let ds = Dataset::open("types", &types_file()).unwrap();
    let flat: Vec<(usize, String)> = ds
        .schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !NESTED.contains(&f.name().as_str()))
        .map(|(i, f)| (i, f.name().clone()))
        .collect();
    let mut text = String::from("dataset = \"types\"\n[columns]\n");
    for (_, name) in &flat {
        text.push_str(&format!("{name} = \"raw\"\n"));
    }
    let policy = Policy::parse(&text).unwrap();
    let ds = Dataset::open_for("types", &types_file(), &policy, None).unwrap();
    let columns: Vec<ScanColumn> = flat
        .iter()
        .map(|&(index, _)| ScanColumn {
            index,
            dictionary: false,
        })
        .collect();
    let mut nulls = vec![0usize; flat.len()];
    let mut rows = 0;
    for batch in ds.scan(&columns, 16).unwrap() {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        for (n, column) in nulls.iter_mut().zip(batch.columns()) {
            *n += column.null_count();
        }
    }
    assert_eq!(rows as u64, want["rows"].as_u64().unwrap());
    for ((_, name), n) in flat.iter().zip(nulls) {
        assert_eq!(
            n as u64,
            want["nulls"][name].as_u64().unwrap(),
            "nulls of {name}"
        );
    }
    for nested in NESTED {
        let shown = Policy::parse(&format!("{text}{nested} = \"aggregate\"\n")).unwrap();
        let e = Dataset::open_for("types", &types_file(), &shown, None).unwrap_err();
        assert!(
            e.to_string().contains(&format!("column `{nested}` is a")),
            "{e}"
        );
    }
}

#[test]
fn policy_check_with_data_reports_types_and_refuses_visible_nested_columns() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.toml");
    std::fs::write(
        &ok,
        "dataset = \"types\"\n[columns]\nts_ns = \"raw\"\nlist = \"none\"\n",
    )
    .unwrap();
    let types = types_file();
    let r = sluice(&[
        "policy",
        "check",
        ok.to_str().unwrap(),
        "--data",
        types.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("dec128"), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("ts_ns") && l.contains("timestamp")),
        "{}",
        r.stdout
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "dataset = \"types\"\n[columns]\nlist = \"raw\"\nmissing = \"raw\"\n",
    )
    .unwrap();
    let r = sluice(&[
        "policy",
        "check",
        bad.to_str().unwrap(),
        "--data",
        types.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let problems = r.json["data"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    let csv = data_dir().join("r-style/sales.csv");
    let policy = dir.path().join("csv.toml");
    let text = "dataset = \"sales\"\n[columns]\nregion = \"raw\"\namount = \"raw\"\nordered_at = \"raw\"\n";
    std::fs::write(&policy, text).unwrap();
    let r = sluice(&[
        "policy",
        "check",
        policy.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let columns = r.json["data"]["inspection"]["columns"].as_array().unwrap();
    let amount = columns.iter().find(|c| c["name"] == "amount").unwrap();
    assert_eq!(amount["type"], "float64");
    assert!(amount["nulls"].as_u64().unwrap() > 0);
    let row_names = &columns[0];
    assert_eq!(
        (row_names["name"].as_str(), row_names["type"].as_str()),
        (Some("column_1"), Some("int64"))
    );
    let at = columns.iter().find(|c| c["name"] == "ordered_at").unwrap();
    assert_eq!(at["type"], "timestamp");
}

fn engine_request(guest: &str, grant: Grant) -> RunRequest {
    RunRequest {
        module: std::fs::read(module(guest)).unwrap(),
        known_keys: vec![fixture().key.public()],
        grants: vec![grant],
        seed: Some(1),
        ..RunRequest::default()
    }
}

#[test]
fn a_file_changed_before_or_during_a_run_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    std::fs::copy(data_dir().join("r-style/sales.csv"), &csv).unwrap();
    let policy = Policy::load(&sales_policy(
        "[limits]\nwall_ms = 3000\nfuel = 1_000_000_000_000\n",
    ))
    .unwrap();
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let append = |path: &Path| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(b"\"301\",\"north\",1,1,FALSE,\"2024-01-01\",\"2024-01-01 00:00:00\"\n")
            .unwrap();
    };
    // Changed between opening and the run: refused before the guest starts.
    let grant = Grant {
        dataset: Dataset::open_for("sales", &csv, &policy, None).unwrap(),
        policy: policy.clone(),
    };
    append(&csv);
    let out = engine.run(engine_request("mean-by-group", grant)).unwrap();
    assert_eq!(out.decision, Decision::Denied);
    assert!(
        matches!(
            out.reason,
            Some(Reason::Denied(Denial::DataUnavailable { .. }))
        ),
        "{:?}",
        out.reason
    );
    // Changed while the guest runs: aborted, whatever the guest did.
    let grant = Grant {
        dataset: Dataset::open_for("sales", &csv, &policy, None).unwrap(),
        policy,
    };
    let writer = {
        let csv = csv.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            append(&csv);
        })
    };
    let out = engine.run(engine_request("infinite-loop", grant)).unwrap();
    writer.join().unwrap();
    assert_eq!(out.decision, Decision::Aborted);
    assert_eq!(
        out.reason,
        Some(Reason::Aborted(Abort::DataChanged {
            dataset: "sales".into()
        }))
    );
    assert!(out.output.is_none());
}
