//! End-to-end: nothing leaves a run except what the policy releases. Each
//! test runs a hostile guest (`tests/guests/`) through the `sluice` binary
//! along one route a buyer could use to get protected values out, and
//! checks what the buyer receives; each fails if its defence is removed.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use common::{
    Trust, data, fixture, module, policy, policy_with, policy_without_privacy, run, sluice,
};

/// A fresh node data directory (privacy budget, difference checks) for one test.
fn state() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    (dir, path)
}

/// Every value of `columns` in the example `patients` file, row by row.
fn patients(columns: &[&str]) -> Vec<Vec<Option<String>>> {
    let ds = sluice_runtime::Dataset::open("patients", &data("patients")).unwrap();
    let ds = ds
        .declare([("zip", sluice_runtime::data::ColumnType::Utf8)])
        .unwrap();
    let idx: Vec<usize> = columns.iter().map(|c| ds.column(c).unwrap().0).collect();
    let mut rows = Vec::new();
    for b in ds.read(&idx, 8192).unwrap() {
        let b = b.unwrap();
        for i in 0..b.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| {
                        let a = b.column_by_name(c).unwrap();
                        a.is_valid(i).then(|| match a.data_type() {
                            arrow_schema::DataType::Float64 => {
                                format!("{:.1}", a.as_primitive::<Float64Type>().value(i))
                            }
                            arrow_schema::DataType::Int64 => {
                                a.as_primitive::<Int64Type>().value(i).to_string()
                            }
                            _ => a.as_string::<i32>().value(i).to_string(),
                        })
                    })
                    .collect(),
            );
        }
    }
    rows
}

#[test]
fn a_guest_error_reaches_the_buyer_as_its_kind_or_the_hosts_public_text_only() {
    let values: Vec<String> = patients(&["bmi"])
        .into_iter()
        .filter_map(|r| r[0].clone())
        .take(40)
        .collect();
    let secret = values.join(",");
    let dir = tempfile::tempdir().unwrap();
    for (mode, reason, logged) in [
        (
            "guest-text",
            "the guest returned an error: invalid (its text is in the operator's run log)",
            true,
        ),
        (
            "echo-column",
            "the guest returned an error: not-found: dataset `patients` has no column of the name the module asked for that is visible to it",
            false,
        ),
        (
            "echo-dataset",
            "the guest returned an error: not-found: the module asked for a dataset that was not given to this run",
            false,
        ),
        (
            "stdout",
            "the guest returned an error: invalid (its text is in the operator's run log)",
            true,
        ),
    ] {
        let log = dir.path().join(format!("{mode}.log"));
        let r = run(
            "error-exfiltration",
            "patients",
            &policy("patients", &[]),
            &["--params", mode, "--log", log.to_str().unwrap()],
        );
        assert_eq!(r.decision(), "aborted", "{mode}: {}", r.json);
        assert_eq!(r.outcome_code(), "aborted.guest-error", "{mode}");
        assert_eq!(r.reason(), reason, "{mode}");
        let seen = format!("{}{}", r.stdout, r.stderr);
        assert!(
            !seen.contains(&values[..5].join(",")),
            "{mode}: values leaked"
        );
        let log = std::fs::read_to_string(&log).unwrap();
        assert_eq!(log.contains(&secret), logged, "{mode}: the operator's log");
    }
}

fn assert_rounded(r: &common::Outcome, what: &str) {
    let usage = &r.json["usage"];
    assert_eq!(usage["rounded"], true, "{what}: {usage}");
    assert!(r.json["output_hash"].is_null(), "{what}: output hash shown");
    assert!(usage["output_bytes"].is_null(), "{what}: output size shown");
    assert!(usage["log_bytes"].is_null(), "{what}: log size shown");
    let fuel = r.usage("fuel_consumed");
    assert!(
        fuel.is_power_of_two() || fuel == r.usage("fuel_limit"),
        "{what}: fuel {fuel} is not rounded"
    );
    assert_eq!(
        r.usage("wall_ms") % 1000,
        0,
        "{what}: wall time not rounded"
    );
    for key in [
        "memory_peak_bytes",
        "rows_fed",
        "bytes_fed",
        "aggregate_queries",
    ] {
        let v = r.usage(key);
        assert!(
            v == 0 || v.is_power_of_two(),
            "{what}: {key} {v} is not rounded"
        );
    }
}

#[test]
fn a_run_that_is_not_released_shows_no_hash_no_sizes_and_rounded_figures() {
    let p = policy(
        "patients",
        &[("fuel", "20_000_000_000"), ("wall_ms", "60_000")],
    );
    let ages = patients(&["age"]);
    // Two rows with different ages, so the figures would differ if exact.
    let first = ages
        .iter()
        .position(|r| r[0].as_deref() == Some("30"))
        .unwrap();
    let second = ages
        .iter()
        .position(|r| r[0].as_deref() == Some("61"))
        .unwrap();
    for mode in ["withheld", "log", "fuel", "memory", "rows"] {
        let a = run(
            "covert-channels",
            "patients",
            &p,
            &["--params", &format!("{mode} {first}")],
        );
        let expected = if mode == "withheld" {
            "withheld"
        } else {
            "aborted"
        };
        assert_eq!(a.decision(), expected, "{mode}: {}", a.json);
        assert_rounded(&a, mode);
        if mode != "withheld" {
            let b = run(
                "covert-channels",
                "patients",
                &p,
                &["--params", &format!("{mode} {second}")],
            );
            assert_rounded(&b, mode);
        }
    }
    // A released run shows its exact figures, hash and sizes.
    let released = run("mean-by-group", "sales", &policy("sales", &[]), &[]);
    assert_eq!(released.decision(), "released");
    assert_eq!(released.json["usage"]["rounded"], false);
    assert!(released.json["output_hash"].is_string());
    assert!(released.json["usage"]["output_bytes"].is_u64());
}

#[test]
fn the_fuel_bucket_hides_which_of_two_secrets_a_guest_burnt() {
    let p = policy(
        "patients",
        &[("fuel", "20_000_000_000"), ("wall_ms", "60_000")],
    );
    let ages = patients(&["age"]);
    let row = |age: &str| {
        ages.iter()
            .position(|r| r[0].as_deref() == Some(age))
            .unwrap()
    };
    // At about 12 million fuel per year of age, ages 50 and 70 both land in
    // the bucket (2^29, 2^30].
    let a = run(
        "covert-channels",
        "patients",
        &p,
        &["--params", &format!("fuel {}", row("50"))],
    );
    let b = run(
        "covert-channels",
        "patients",
        &p,
        &["--params", &format!("fuel {}", row("70"))],
    );
    assert_eq!(a.outcome_code(), "aborted.guest-error", "{}", a.json);
    for key in [
        "fuel_consumed",
        "memory_peak_bytes",
        "rows_fed",
        "bytes_fed",
    ] {
        assert_eq!(a.usage(key), b.usage(key), "{key}");
    }
}

#[test]
fn exact_minima_maxima_and_quantiles_of_an_aggregate_column_are_refused() {
    let signer = policy_with("patients", &[], Trust::SignerOnly);
    let r = run(
        "exact-extremes",
        "patients",
        &signer,
        &["--params", "patients"],
    );
    assert_eq!(r.decision(), "aborted", "{}", r.json);
    assert_eq!(
        r.reason(),
        "the guest returned an error: not-permitted: min is not allowed on column `income` of dataset `patients`; the policy allows count, sum, mean"
    );
    // The shipped sales policy promises no per-customer figures.
    let sales = policy_with("sales", &[], Trust::SignerOnly);
    let r = run("exact-extremes", "sales", &sales, &["--params", "sales"]);
    assert_eq!(
        r.reason(),
        "the guest returned an error: not-permitted: min is not allowed on column `customer_id` of dataset `sales`; the policy allows count"
    );
    // A trusted signer may not ask order statistics of a raw column either.
    let raw = policy_with(
        "patients",
        &[("income", r#"{ access = "raw", bounds = [0.0, 500000.0] }"#)],
        Trust::SignerOnly,
    );
    let r = run(
        "exact-extremes",
        "patients",
        &raw,
        &["--params", "patients"],
    );
    assert_eq!(r.outcome_code(), "aborted.guest-error", "{}", r.json);
}

#[test]
fn sums_under_two_clamps_cannot_be_differenced_without_privacy() {
    let p = policy_without_privacy("patients", &[], Trust::SignerOnly);
    let (_dir, state) = state();
    let r = run(
        "exact-extremes",
        "patients",
        &p,
        &["--params", "clamp", "--data-dir", &state],
    );
    assert_eq!(r.decision(), "aborted", "{}", r.json);
    assert_eq!(
        r.reason(),
        "the guest returned an error: not-permitted: exact aggregates over dataset `patients` clamp values only to the policy's `bounds` for the column; a narrower clamp is available only under differential privacy"
    );
}

#[test]
fn listed_order_statistics_under_privacy_are_grid_points_not_anyones_value() {
    let listed = policy_with(
        "patients",
        &[(
            "income",
            r#"{ access = "aggregate", bounds = [0.0, 500000.0], functions = ["count", "min", "max", "quantile"] }"#,
        )],
        Trust::SignerOnly,
    );
    let (_dir, state) = state();
    let r = run(
        "exact-extremes",
        "patients",
        &listed,
        &["--params", "patients", "--data-dir", &state],
    );
    assert_eq!(r.decision(), "released", "{}", r.json);
    let grid: Vec<f64> = (0..1025).map(|i| 500_000.0 * (i as f64 / 1024.0)).collect();
    let mut exact_min: HashMap<String, f64> = HashMap::new();
    for row in patients(&["region", "income"]) {
        if let (Some(region), Some(income)) = (&row[0], &row[1]) {
            let v: f64 = income.parse().unwrap();
            let m = exact_min.entry(region.clone()).or_insert(f64::MAX);
            *m = m.min(v);
        }
    }
    let keys = r.column("key");
    assert!(keys.len() >= 4, "regions are public keys: {}", r.json);
    for (i, min) in r.column("min").iter().enumerate() {
        let min = min.as_f64().unwrap();
        assert!(
            grid.iter().any(|g| (g - min).abs() < 1e-6),
            "{min} is a candidate"
        );
        let exact = exact_min[keys[i].as_str().unwrap()];
        assert_ne!(min, exact, "the exact minimum of {}", keys[i]);
    }
}

#[test]
fn bins_at_widths_the_policy_does_not_list_are_refused() {
    for p in [
        policy_with("patients", &[], Trust::SignerOnly),
        policy_without_privacy("patients", &[], Trust::SignerOnly),
    ] {
        let (_dir, state) = state();
        // Widths chosen so that [0, w1) and [0, w2) differ by one patient.
        let r = run(
            "bin-differencing",
            "patients",
            &p,
            &["--params", "62.5 62.6", "--data-dir", &state],
        );
        assert_eq!(r.decision(), "aborted", "{}", r.json);
        assert_eq!(
            r.reason(),
            "the guest returned an error: not-permitted: column `age` of dataset `patients` may be binned only at width 10 (bins start at 0); other widths are refused"
        );
        let ok = run(
            "bin-differencing",
            "patients",
            &p,
            &["--params", "10 10", "--data-dir", &state],
        );
        assert_eq!(ok.decision(), "released", "{}", ok.json);
    }
}

/// Zips where grouping by zip and by zip × sex isolates 1 to 9 patients
/// with an income (the groups both have at least 10).
fn isolating_zips() -> usize {
    let mut by: HashMap<(String, Option<String>), u64> = HashMap::new();
    for row in patients(&["zip", "sex", "income"]) {
        if let (Some(zip), Some(_)) = (&row[0], &row[2]) {
            *by.entry((zip.clone(), None)).or_default() += 1;
            *by.entry((zip.clone(), row[1].clone())).or_default() += 1;
        }
    }
    by.iter()
        .filter(|((zip, sex), n)| {
            let total = by[&(zip.clone(), None)];
            sex.is_some() && **n >= 10 && (1..10).contains(&(total - **n))
        })
        .count()
}

#[test]
fn groups_by_a_and_by_a_times_b_cannot_be_differenced() {
    assert!(
        isolating_zips() > 0,
        "the data must hold the attack's targets"
    );
    let p = policy_without_privacy("patients", &[], Trust::SignerOnly);
    let (_dir, state) = state();
    let r = run(
        "pairwise-differencing",
        "patients",
        &p,
        &["--data-dir", &state],
    );
    assert_eq!(r.decision(), "released", "{}", r.json);
    assert!(r.column("zip").is_empty(), "isolated: {}", r.json["output"]);
    assert!(r.usage("groups_suppressed") > 0);
    // Across runs too: a second run over the same snapshot is checked
    // against the first.
    let again = run(
        "pairwise-differencing",
        "patients",
        &p,
        &["--data-dir", &state],
    );
    assert!(again.column("zip").is_empty());
}

#[test]
fn under_privacy_a_zip_with_one_patient_is_never_released_because_it_exists() {
    let mut sizes: HashMap<String, u64> = HashMap::new();
    for row in patients(&["zip"]) {
        *sizes.entry(row[0].clone().unwrap_or_default()).or_default() += 1;
    }
    let singletons = sizes.values().filter(|n| **n == 1).count();
    assert!(singletons > 50, "the data has single-patient zips");
    // Almost no noise, and no minimum group size to hide behind.
    let p = policy_with(
        "patients",
        &[
            ("min_group_size", "1"),
            ("epsilon_per_query", "100.0"),
            ("budget", "10_000.0"),
        ],
        Trust::SignerOnly,
    );
    let (_dir, state) = state();
    let r = run("singleton-groups", "patients", &p, &["--data-dir", &state]);
    assert_eq!(r.decision(), "released", "{}", r.json);
    let zips = r.column("zip");
    assert!(zips.len() > 10, "large zips are released");
    for z in &zips[..zips.len() - 1] {
        let n = sizes[z.as_str().unwrap()];
        assert!(n > 1, "zip {z} with {n} patient released");
    }
    // Without a delta the policy allows no private key selection.
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("delta = 1e-6", "");
    std::fs::write(&p, text).unwrap();
    let r = run("singleton-groups", "patients", &p, &["--data-dir", &state]);
    assert_eq!(r.decision(), "aborted");
    assert!(r.reason().contains("`zip` is not public"), "{}", r.reason());
}

/// Runs `data-error` over `dir/file` as dataset `bad` with `columns`.
fn data_error_run(dir: &Path, file: &str, columns: &str) -> common::Outcome {
    let policy = dir.join("bad.toml");
    let mut p = format!("dataset = \"bad\"\n[columns]\n{columns}");
    for h in &fixture().hashes {
        p.push_str(&format!("[[approvals]]\nmodule = \"{h}\"\n"));
    }
    std::fs::write(&policy, p).unwrap();
    let data = format!("bad={}", dir.join(file).display());
    sluice(&[
        "run",
        "--json",
        "--module",
        module("data-error").to_str().unwrap(),
        "--data",
        &data,
        "--policy",
        policy.to_str().unwrap(),
        "--buyer",
        fixture().public.to_str().unwrap(),
        "--params",
        "bad age,bmi",
        "--data-dir",
        dir.join("state").to_str().unwrap(),
    ])
}

#[test]
fn a_data_error_names_file_row_column_and_type_never_cells() {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("patient_id,age,bmi\n");
    for i in 0..50 {
        text.push_str(&format!("P{i},{},27.5\n", 30 + i));
    }
    text.push_str("PID-0815-SECRET,SECRET-4711,31.0\n");
    std::fs::write(dir.path().join("bad.csv"), text).unwrap();
    // A CSV cell that is not of the declared type: refused when the dataset
    // is opened, before any module runs.
    let declared =
        "patient_id = \"none\"\nage = { access = \"raw\", type = \"int64\" }\nbmi = \"raw\"\n";
    let r = data_error_run(dir.path(), "bad.csv", declared);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("file bad.csv, row 51, column `age`: the value is not a valid int64"),
        "{}",
        r.stderr
    );
    // A Parquet value Sluice cannot represent, found while the guest scans:
    // the guest returns the host's error, which the buyer reads.
    let ages: Vec<u64> = (30..80).chain([(1 << 63) + 4711]).collect();
    let ids: Vec<String> = (0..51).map(|i| format!("PID-0815-SECRET-{i}")).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "patient_id",
            std::sync::Arc::new(StringArray::from(ids)) as ArrayRef,
        ),
        ("age", std::sync::Arc::new(UInt64Array::from(ages))),
        (
            "bmi",
            std::sync::Arc::new(Float64Array::from(vec![27.5; 51])),
        ),
    ])
    .unwrap();
    let file = std::fs::File::create(dir.path().join("bad.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let r = data_error_run(
        dir.path(),
        "bad.parquet",
        "patient_id = \"none\"\nage = \"raw\"\nbmi = \"raw\"\n",
    );
    assert_eq!(r.decision(), "aborted", "{}", r.json);
    assert_eq!(
        r.reason(),
        "the guest returned an error: invalid: dataset bad: file bad.parquet, row 51, column `age` holds an unsigned 64-bit value above 2^63 - 1; mark the column `none` or store it with another type"
    );
    for secret in ["SECRET", "0815", "4711", "922337203685478"] {
        assert!(!r.stdout.contains(secret), "{secret}: {}", r.stdout);
    }
}

/// `histogram` signed by the test buyer and by a second key.
fn co_signed(other: &sluice_runtime::signing::SecretKey) -> PathBuf {
    let bytes = std::fs::read(module("histogram")).unwrap();
    let twice = sluice_runtime::signing::sign(&bytes, other).unwrap();
    let path = fixture().dir.path().join("histogram-co-signed.wasm");
    std::fs::write(&path, twice).unwrap();
    path
}

#[test]
fn the_budget_belongs_to_the_trusted_signer_whatever_the_key_order_or_directory() {
    use sluice_runtime::signing::SecretKey;
    let other = SecretKey::from_seed(&[9; 32]);
    let other_pub = fixture().dir.path().join("other.pub");
    other.public().to_file(&other_pub, true).unwrap();
    let module = co_signed(&other);
    let p = policy_with("patients", &[], Trust::SignerOnly);
    let (_dir, state) = state();
    let trusted = fixture().key.public().key_id();
    let cwd_a = tempfile::tempdir().unwrap();
    let cwd_b = tempfile::tempdir().unwrap();
    for (cwd, buyers) in [
        (
            cwd_a.path(),
            vec![other_pub.clone(), fixture().public.clone()],
        ),
        (
            cwd_b.path(),
            vec![fixture().public.clone(), other_pub.clone()],
        ),
    ] {
        let r = run_in(cwd, &module, &p, &buyers, &state);
        assert_eq!(r.decision(), "released", "{}", r.json);
        assert_eq!(r.json["buyer"], trusted.as_str());
        assert_eq!(r.json["data_snapshots"][0]["signer"], trusted.as_str());
    }
    let store =
        sluice_runtime::privacy::BudgetStore::open(&Path::new(&state).join("privacy.sqlite"))
            .unwrap();
    let spent = |key: &str| {
        store
            .spent(key, "patients", None, std::time::SystemTime::now())
            .unwrap()
    };
    assert_eq!(spent(&trusted), 1.0, "both runs charged the trusted signer");
    assert_eq!(spent(&other.public().key_id()), 0.0);
}

/// `sluice run` of `module` over `patients` from working directory `cwd`.
fn run_in(
    cwd: &Path,
    module: &Path,
    policy: &Path,
    buyers: &[PathBuf],
    state: &str,
) -> common::Outcome {
    let data = format!("patients={}", data("patients").display());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.current_dir(cwd).args([
        "run",
        "--json",
        "--module",
        module.to_str().unwrap(),
        "--data",
        &data,
        "--policy",
        policy.to_str().unwrap(),
        "--data-dir",
        state,
    ]);
    for b in buyers {
        cmd.args(["--buyer", b.to_str().unwrap()]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    common::Outcome {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_difference_history_lives_in_the_nodes_data_directory() {
    // The runtime has no default location: the node keeps the store in its
    // data directory, whatever the working directory.
    let p = policy_without_privacy("patients", &[], Trust::SignerOnly);
    let (_dir, state) = state();
    let cwd = tempfile::tempdir().unwrap();
    let r = run_in(
        cwd.path(),
        &module("pairwise-differencing"),
        &p,
        &[fixture().public.clone()],
        &state,
    );
    assert_eq!(r.decision(), "released", "{}", r.json);
    assert!(Path::new(&state).join("differences.sqlite").exists());
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing is kept relative to the working directory"
    );
}
