//! Tests of the example-data generator.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::patients::{DIAGNOSES, csv_str};
use super::*;

/// Reads a Parquet file back: its batches and the row count of each row group.
fn read_parquet(path: &Path) -> (SchemaRef, Vec<RecordBatch>, Vec<i64>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let groups = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    let reader = builder.with_batch_size(4096).build().unwrap();
    let schema = reader.schema();
    (schema, reader.map(|b| b.unwrap()).collect(), groups)
}

fn i64s(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            b[name]
                .as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect()
}

fn f64s(batches: &[RecordBatch], name: &str) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            b[name]
                .as_primitive::<Float64Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect()
}

fn bools(batches: &[RecordBatch], name: &str) -> Vec<Option<bool>> {
    batches
        .iter()
        .flat_map(|b| b[name].as_boolean().iter().collect::<Vec<_>>())
        .collect()
}

/// Values of a `Dictionary(Int32, Utf8)` column, panicking on any other type.
fn strs(batches: &[RecordBatch], name: &str) -> Vec<String> {
    let mut out = vec![];
    for b in batches {
        let dict = b[name].as_dictionary::<Int32Type>();
        let values = dict.values().as_string::<i32>();
        out.extend(
            dict.keys()
                .iter()
                .map(|k| values.value(k.unwrap() as usize).to_string()),
        );
    }
    out
}

fn null_share<T>(values: &[Option<T>]) -> f64 {
    values.iter().filter(|v| v.is_none()).count() as f64 / values.len() as f64
}

fn assert_near(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual:.4}, expected {expected} ± {tolerance}"
    );
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let spec = DataSpec {
        sales_rows: 20_000,
        patients_rows: 5_000,
        ..DataSpec::default()
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let first = generate(&a.path().join("nested"), &spec).unwrap();
    let second = generate(b.path(), &spec).unwrap();
    let other = generate(
        c.path(),
        &DataSpec {
            seed: spec.seed + 1,
            ..spec.clone()
        },
    )
    .unwrap();
    assert_eq!(first.len(), 2);
    for ((x, y), z) in first.iter().zip(&second).zip(&other) {
        assert_eq!(x.file_name(), y.file_name());
        assert_eq!(
            fs::read(x).unwrap(),
            fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
        assert_ne!(
            fs::read(x).unwrap(),
            fs::read(z).unwrap(),
            "{} ignores the seed",
            x.display()
        );
    }
}

#[test]
fn default_and_scaled_specs() {
    let d = DataSpec::default();
    assert_eq!(
        (d.seed, d.sales_rows, d.patients_rows),
        (20_261_126, 60_000, 25_000)
    );
    let s = DataSpec::scaled(0.5);
    assert_eq!(
        (s.seed, s.sales_rows, s.patients_rows),
        (20_261_126, 30_000, 12_500)
    );
    assert_eq!(DataSpec::scaled(0.0).sales_rows, 1);
}

#[test]
fn sales_columns_types_nulls_and_skew() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.parquet");
    write_sales_parquet(&path, 60_000, 20_261_126).unwrap();
    let (schema, batches, groups) = read_parquet(&path);
    assert_eq!(groups, vec![60_000]);
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    for name in ["region", "product", "channel"] {
        assert_eq!(
            schema.field_with_name(name).unwrap().data_type(),
            &dict,
            "{name}"
        );
    }
    assert_eq!(schema.fields().len(), 11);

    let ids = i64s(&batches, "order_id");
    assert_eq!(ids.len(), 60_000);
    assert!(ids.windows(2).all(|w| w[0].unwrap() < w[1].unwrap()));
    let customers = i64s(&batches, "customer_id");
    let mut per_customer: HashMap<i64, usize> = HashMap::new();
    customers
        .iter()
        .for_each(|c| *per_customer.entry(c.unwrap()).or_default() += 1);
    assert!(
        (6_000..=8_000).contains(&per_customer.len()),
        "{} customers",
        per_customer.len()
    );
    assert!(
        per_customer.values().max().unwrap() > &500,
        "no big customer"
    );

    let count =
        |values: &[String], v: &str| values.iter().filter(|x| *x == v).count() as f64 / 60_000.0;
    let regions = strs(&batches, "region");
    assert_eq!(regions.iter().collect::<HashSet<_>>().len(), 8);
    assert!(count(&regions, "north") > 2.0 * count(&regions, "islands"));
    let products = strs(&batches, "product");
    assert_eq!(products.iter().collect::<HashSet<_>>().len(), 40);
    let channels = strs(&batches, "channel");
    assert_near("web share", count(&channels, "web"), 0.55, 0.01);
    assert_near("store share", count(&channels, "store"), 0.35, 0.01);
    assert_near("partner share", count(&channels, "partner"), 0.10, 0.01);

    let quantity: Vec<i64> = i64s(&batches, "quantity")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert!(quantity.iter().all(|q| (1..=20).contains(q)));
    assert!(
        quantity.iter().filter(|q| **q == 1).count() > quantity.iter().filter(|q| **q >= 5).count()
    );
    let discount = f64s(&batches, "discount");
    assert_near("discount nulls", null_share(&discount), 0.05, 0.005);
    assert!(discount.iter().flatten().all(|d| (0.0..=0.3).contains(d)));
    let amount = f64s(&batches, "amount");
    assert_near("amount nulls", null_share(&amount), 0.015, 0.003);
    let price = f64s(&batches, "unit_price");
    for i in 0..60_000 {
        let expected = quantity[i] as f64 * price[i].unwrap() * (1.0 - discount[i].unwrap_or(0.0));
        if let Some(a) = amount[i] {
            assert!(
                (a - expected).abs() <= 0.005 + 1e-9,
                "row {i}: {a} vs {expected}"
            );
        }
    }
    let days: Vec<i64> = i64s(&batches, "day")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!((days[0], days[59_999]), (1, 365));
    assert!(days.windows(2).all(|w| w[0] <= w[1]));
    let on = |d: i64| days.iter().filter(|x| **x == d).count();
    assert!(
        on(10) > on(12),
        "Saturday 10 January should outsell Monday 12 January"
    );
    let returned = bools(&batches, "returned");
    assert_eq!(null_share(&returned), 0.0);
    assert_near(
        "returns",
        returned.iter().filter(|r| r.unwrap()).count() as f64 / 60_000.0,
        0.04,
        0.005,
    );
    for name in ["order_id", "customer_id", "quantity", "unit_price", "day"] {
        assert!(
            batches.iter().all(|b| b[name].null_count() == 0),
            "{name} has nulls"
        );
    }
}

#[test]
fn chunked_writing_bounds_row_groups_without_changing_values() {
    let dir = tempfile::tempdir().unwrap();
    let (small, whole) = (
        dir.path().join("small.parquet"),
        dir.path().join("whole.parquet"),
    );
    sales::write(&small, 2_500, 7, 300, 1_000).unwrap();
    sales::write(&whole, 2_500, 7, 2_500, 1 << 20).unwrap();
    let (_, a, groups) = read_parquet(&small);
    assert_eq!(groups, vec![1_000, 1_000, 500]);
    let (_, b, _) = read_parquet(&whole);
    assert_eq!(i64s(&a, "customer_id"), i64s(&b, "customer_id"));
    assert_eq!(i64s(&a, "day"), i64s(&b, "day"));
    assert_eq!(f64s(&a, "amount"), f64s(&b, "amount"));
    assert_eq!(strs(&a, "product"), strs(&b, "product"));
    assert_eq!(bools(&a, "returned"), bools(&b, "returned"));
    sales::write(&small, 0, 7, 300, 1_000).unwrap();
    assert_eq!(
        read_parquet(&small)
            .1
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        0
    );
}

#[test]
fn patients_csv_shape_nulls_and_near_unique_zips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patients.csv");
    write_patients_csv(&path, 25_000, 20_261_126).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "patient_id,age,sex,zip,region,bmi,systolic_bp,cholesterol,smoker,income,diagnosis"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 25_000);
    assert!(rows.iter().all(|r| r.len() == 11));
    let column = |i: usize| {
        rows.iter()
            .map(|r| (!r[i].is_empty()).then(|| r[i].parse::<f64>().unwrap()))
            .collect::<Vec<_>>()
    };
    let ids: HashSet<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(ids.len(), 25_000);

    let (age, bmi, bp, chol, income) = (column(1), column(5), column(6), column(7), column(9));
    assert_near("age nulls", null_share(&age), 0.01, 0.003);
    assert_near("bmi nulls", null_share(&bmi), 0.03, 0.005);
    assert_near("cholesterol nulls", null_share(&chol), 0.02, 0.004);
    assert_near("income nulls", null_share(&income), 0.04, 0.006);
    assert_eq!(null_share(&bp), 0.0);
    assert!(
        age.iter()
            .flatten()
            .all(|a| (18.0..=95.0).contains(a) && a.fract() == 0.0)
    );
    assert!(bmi.iter().flatten().all(|b| (15.0..=55.0).contains(b)));
    assert!(income.iter().flatten().all(|i| i % 100.0 == 0.0));
    let mean_bp = |keep: &dyn Fn(f64) -> bool| {
        let v: Vec<f64> = age
            .iter()
            .zip(&bp)
            .filter_map(|(a, b)| a.filter(|a| keep(*a)).and(*b))
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean_bp(&|a| a >= 65.0) > mean_bp(&|a| a < 35.0) + 10.0,
        "blood pressure ignores age"
    );

    let female = rows.iter().filter(|r| r[2] == "F").count() as f64 / 25_000.0;
    assert_near("female share", female, 0.51, 0.015);
    assert!(rows.iter().all(|r| r[2] == "F" || r[2] == "M"));
    assert!(rows.iter().all(|r| r[8] == "true" || r[8] == "false"));
    assert_eq!(rows.iter().map(|r| r[4]).collect::<HashSet<_>>().len(), 6);
    assert!(rows.iter().all(|r| DIAGNOSES.iter().any(|d| d.0 == r[10])));

    let mut per_zip: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        assert!(
            r[3].len() == 5 && r[3].bytes().all(|b| b.is_ascii_digit()),
            "zip {}",
            r[3]
        );
        *per_zip.entry(r[3]).or_default() += 1;
    }
    let tiny = per_zip.values().filter(|n| **n <= 3).count();
    assert!(
        (2_000..=3_000).contains(&per_zip.len()),
        "{} zips",
        per_zip.len()
    );
    assert!(
        tiny * 2 > per_zip.len(),
        "only {tiny} of {} zips have 1-3 patients",
        per_zip.len()
    );
    assert!(per_zip.values().max().unwrap() > &1_000, "no crowded zip");
}

#[test]
fn csv_strings_are_quoted_only_when_needed() {
    assert_eq!(csv_str("I10"), "I10");
    assert_eq!(csv_str("a,b"), "\"a,b\"");
    assert_eq!(csv_str("say \"hi\""), "\"say \"\"hi\"\"\"");
}
