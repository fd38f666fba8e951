//! End-to-end: every example analytic runs through the `sluice` binary over
//! the example data under the repository's policies, is released, and
//! computes what an independent computation on the same files says.

mod common;

use std::collections::BTreeMap;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use common::{data, policy, run};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Per region: (orders with an amount, sum of amounts), read natively.
fn sales_by_region() -> BTreeMap<String, (u64, f64)> {
    let file = std::fs::File::open(data("sales")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let region = batch
            .column_by_name("region")
            .unwrap()
            .as_dictionary::<Int32Type>();
        let names = region.values().as_string::<i32>();
        let keys = region.keys();
        let amount = batch
            .column_by_name("amount")
            .unwrap()
            .as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            if amount.is_valid(i) {
                let e: &mut (u64, f64) = out
                    .entry(names.value(keys.value(i) as usize).to_string())
                    .or_default();
                e.0 += 1;
                e.1 += amount.value(i);
            }
        }
    }
    out
}

#[test]
fn mean_by_group_matches_a_native_computation() {
    let r = run("mean-by-group", "sales", &policy("sales", &[]), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.decision(), "released");
    assert!(r.json["reason"].is_null());
    let expected = sales_by_region();
    let regions = r.column("region");
    let orders = r.column("orders");
    let means = r.column("mean_amount");
    assert_eq!(regions.len(), expected.len());
    for (i, (name, (n, sum))) in expected.iter().enumerate() {
        assert_eq!(regions[i], name.as_str());
        assert_eq!(orders[i].as_u64().unwrap(), *n);
        let mean = means[i].as_f64().unwrap();
        assert!(
            (mean - sum / *n as f64).abs() < 1e-9 * mean.abs(),
            "{name}: {mean}"
        );
    }
    assert_eq!(r.usage("rows_fed"), 60_000);
    assert!(r.usage("bytes_fed") > 60_000 * 8);
    assert!(r.usage("fuel_consumed") > 0);
    assert_eq!(r.json["usage"]["fuel_limit"], 50_000_000_000u64);
    assert_eq!(r.json["module_hash"].as_str().unwrap().len(), 64);
    assert_eq!(r.json["data_snapshots"][0]["dataset"], "sales");
}

#[test]
fn top_products_ranks_by_revenue_excluding_returns() {
    let r = run(
        "top-products",
        "sales",
        &policy("sales", &[]),
        &["--params", r#"{"n":5}"#],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let revenue: Vec<f64> = r
        .column("revenue")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(revenue.len(), 5);
    assert!(revenue.windows(2).all(|w| w[0] >= w[1]), "{revenue:?}");

    let file = std::fs::File::open(data("sales")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let product = batch
            .column_by_name("product")
            .unwrap()
            .as_dictionary::<Int32Type>();
        let names = product.values().as_string::<i32>();
        let keys = product.keys();
        let amount = batch
            .column_by_name("amount")
            .unwrap()
            .as_primitive::<Float64Type>();
        let returned = batch.column_by_name("returned").unwrap().as_boolean();
        for i in 0..batch.num_rows() {
            if amount.is_valid(i) && !returned.value(i) {
                *totals
                    .entry(names.value(keys.value(i) as usize).to_string())
                    .or_default() += amount.value(i);
            }
        }
    }
    let best = totals.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    assert_eq!(r.column("product")[0], best.0.as_str());
    assert!((revenue[0] - best.1).abs() < 1e-6 * best.1);
}

#[test]
fn linear_regression_recovers_the_generating_model() {
    let r = run(
        "linear-regression",
        "patients",
        &policy("patients", &[]),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let terms = r.column("term");
    let coef: Vec<f64> = r
        .column("coefficient")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(terms, ["intercept", "age", "bmi"]);
    // The generator draws systolic_bp = 90 + 0.45 age + 0.9 bmi + N(0, 8).
    assert!((coef[0] - 90.0).abs() < 2.5, "intercept {}", coef[0]);
    assert!((coef[1] - 0.45).abs() < 0.03, "age {}", coef[1]);
    assert!((coef[2] - 0.9).abs() < 0.08, "bmi {}", coef[2]);

    let ds = sluice_runtime::Dataset::open("patients", &data("patients")).unwrap();
    let idx: Vec<usize> = ["age", "bmi", "systolic_bp"]
        .iter()
        .map(|c| ds.column(c).unwrap().0)
        .collect();
    let complete: u64 = ds
        .read(&idx, 8192)
        .unwrap()
        .map(|b| {
            let b = b.unwrap();
            let age = b.column_by_name("age").unwrap();
            let bmi = b.column_by_name("bmi").unwrap();
            let bp = b.column_by_name("systolic_bp").unwrap();
            (0..b.num_rows())
                .filter(|&i| age.is_valid(i) && bmi.is_valid(i) && bp.is_valid(i))
                .count() as u64
        })
        .sum();
    assert_eq!(r.column("n")[0].as_u64().unwrap(), complete);
    let r2 = r.column("r_squared")[0].as_f64().unwrap();
    assert!(r2 > 0.3 && r2 < 0.9, "r² {r2}");
}

#[test]
fn histogram_uses_only_host_aggregates_and_suppresses_small_groups() {
    // A very large epsilon makes the noise on counts vanish, so the counts can
    // be checked exactly; the privacy tests cover realistic epsilons.
    let exact = policy(
        "patients",
        &[("epsilon_per_query", "100.0"), ("budget", "10_000.0")],
    );
    // Its own state directory: this epsilon would spend the shared budget
    // other tests in this binary draw on.
    let state = tempfile::tempdir().unwrap();
    let r = run(
        "histogram",
        "patients",
        &exact,
        &["--state-dir", state.path().to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.usage("rows_fed"), 0, "the histogram must not scan");
    assert_eq!(r.usage("aggregate_queries"), 1);
    let counts = r.column("patients");
    let suppressed = r.column("suppressed_groups");
    let rows = counts.len();
    assert!(counts[..rows - 1].iter().all(|c| c.as_u64().unwrap() >= 10));
    assert_eq!(
        suppressed[rows - 1].as_u64().unwrap(),
        r.usage("groups_suppressed")
    );

    // A group's count is of its contributing rows: those with an income.
    let ds = sluice_runtime::Dataset::open("patients", &data("patients")).unwrap();
    let idx: Vec<usize> = ["age", "sex", "income"]
        .iter()
        .map(|c| ds.column(c).unwrap().0)
        .collect();
    let mut women_in_their_forties = 0u64;
    for b in ds.read(&idx, 8192).unwrap() {
        let b = b.unwrap();
        let age = b.column_by_name("age").unwrap().as_primitive::<Int64Type>();
        let sex = b.column_by_name("sex").unwrap().as_string::<i32>();
        let income = b.column_by_name("income").unwrap();
        women_in_their_forties += (0..b.num_rows())
            .filter(|&i| {
                age.is_valid(i)
                    && (40..50).contains(&age.value(i))
                    && sex.value(i) == "F"
                    && income.is_valid(i)
            })
            .count() as u64;
    }
    let sexes = r.column("sex");
    let from = r.column("age_from");
    let row = (0..rows)
        .find(|&i| sexes[i] == "F" && from[i] == 40)
        .expect("F/40 row");
    assert_eq!(counts[row].as_u64().unwrap(), women_in_their_forties);
}

#[test]
fn a_stricter_minimum_group_size_suppresses_more() {
    let strict = policy("patients", &[("min_group_size", "200")]);
    let r = run("histogram", "patients", &strict, &[]);
    assert_eq!(r.code, 0, "{}", r.json);
    let counts = r.column("patients");
    assert!(
        counts[..counts.len() - 1]
            .iter()
            .all(|c| c.as_u64().unwrap() >= 200)
    );
    assert!(r.usage("groups_suppressed") >= 4, "{}", r.json);
}
