use proptest::prelude::*;

use super::*;

const GOOD: &str = r#"
dataset = "patients"
description = "test"

[columns]
patient_id = "none"
age = "raw"
sex = { access = "raw", group_key = false }
zip = { access = "aggregate", group_key = true, type = "utf8" }
income = { access = "aggregate", bounds = [0.0, 250000.0] }

[limits]
fuel = 1_000_000
memory_mb = 64
wall_ms = 2_000

[release]
output_rows = 100
output_bytes = 4096
min_group_size = 5
"#;

#[test]
fn parses_every_field() {
    let p = Policy::parse(GOOD).unwrap();
    assert_eq!(p.dataset, "patients");
    assert_eq!(p.limits.fuel, 1_000_000);
    assert_eq!(p.limits.memory_bytes, 64 << 20);
    assert_eq!(p.limits.wall_ms, 2_000);
    assert_eq!(p.limits.output_rows, 100);
    assert_eq!(p.limits.output_bytes, 4096);
    assert_eq!(p.limits.log_bytes, Limits::default().log_bytes);
    assert_eq!(p.min_group_size, 5);
    let rule = |access, group_key, declared| ColumnRule {
        access,
        group_key,
        declared,
        ..ColumnRule::default()
    };
    assert_eq!(p.rule("age"), rule(Access::Raw, true, None));
    assert_eq!(p.rule("sex"), rule(Access::Raw, false, None));
    assert_eq!(
        p.rule("zip"),
        rule(Access::Aggregate, true, Some(ColumnType::Utf8))
    );
    assert_eq!(p.rule("income").bounds, Some((0.0, 250_000.0)));
    assert_eq!(
        p.declared_types().collect::<Vec<_>>(),
        [("zip", ColumnType::Utf8)]
    );
}

#[test]
fn unlisted_columns_are_none() {
    let p = Policy::parse(GOOD).unwrap();
    assert_eq!(p.rule("diagnosis").access, Access::None);
    assert_eq!(p.rule("patient_id").access, Access::None);
    assert!(!p.rule("patient_id").group_key);
}

#[test]
fn hash_identifies_the_exact_text() {
    let a = Policy::parse(GOOD).unwrap();
    let b = Policy::parse(&GOOD.replace("fuel = 1_000_000", "fuel = 1_000_001")).unwrap();
    assert_eq!(a.hash.len(), 64);
    assert_ne!(a.hash, b.hash);
    assert_eq!(a.hash, Policy::parse(GOOD).unwrap().hash);
}

fn err(text: &str) -> String {
    Policy::parse(text).unwrap_err().to_string()
}

#[test]
fn unknown_key_names_key_and_line() {
    let e = err(&GOOD.replace("wall_ms = 2_000", "wall_ms = 2_000\nwal_ms = 3"));
    assert!(e.contains("line 16"), "{e}");
    assert!(e.contains("unknown field `wal_ms`"), "{e}");
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let e = err(&format!("{GOOD}\n[pricing]\nper_run = 1\n"));
    assert!(e.contains("unknown field `pricing`"), "{e}");
}

#[test]
fn bad_access_value_is_an_error() {
    let e = err(&GOOD.replace("age = \"raw\"", "age = \"rwa\""));
    assert!(e.contains("line 7"), "{e}");
}

#[test]
fn out_of_range_values_name_key_and_line() {
    let e = err(&GOOD.replace("memory_mb = 64", "memory_mb = 0"));
    assert_eq!(
        e,
        "policy error at line 14: `limits.memory_mb`: 0 is out of range; expected 1 to 65536"
    );
    let e = err(&GOOD.replace("fuel = 1_000_000", "fuel = -5"));
    assert!(e.contains("`limits.fuel`") && e.contains("line 13"), "{e}");
    let e = err(&GOOD.replace("min_group_size = 5", "min_group_size = 0"));
    assert!(
        e.contains("`release.min_group_size`")
            && e.contains("line 20")
            && e.contains("expected 1 or more"),
        "{e}"
    );
}

#[test]
fn wrong_type_is_an_error() {
    let e = err(&GOOD.replace("wall_ms = 2_000", "wall_ms = \"2s\""));
    assert!(e.contains("line 15"), "{e}");
}

#[test]
fn missing_dataset_is_an_error() {
    let e = err("[limits]\nfuel = 5\n");
    assert!(e.contains("missing field `dataset`"), "{e}");
}

#[test]
fn bad_dataset_name_is_an_error() {
    let e = err("dataset = \"../etc\"\n");
    assert!(
        e.contains("`dataset`") && e.contains("not a valid dataset name"),
        "{e}"
    );
}

proptest! {
    #[test]
    fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,200}") {
        let _ = Policy::parse(&text);
    }

    #[test]
    fn limits_round_trip(fuel in 1i64..i64::MAX, mem in 1i64..=65_536, wall in 1i64..=86_400_000, rows in 0i64..1_000_000) {
        let text = format!("dataset = \"d\"\n[limits]\nfuel = {fuel}\nmemory_mb = {mem}\nwall_ms = {wall}\n[release]\noutput_rows = {rows}\n");
        let p = Policy::parse(&text).unwrap();
        prop_assert_eq!(p.limits.fuel, fuel as u64);
        prop_assert_eq!(p.limits.memory_bytes, (mem as u64) << 20);
        prop_assert_eq!(p.limits.wall_ms, wall as u64);
        prop_assert_eq!(p.limits.output_rows, rows as u64);
    }

    #[test]
    fn out_of_range_memory_is_refused(mem in prop_oneof![i64::MIN..=0, 65_537i64..i64::MAX]) {
        let text = format!("dataset = \"d\"\n[limits]\nmemory_mb = {mem}\n");
        let e = Policy::parse(&text).unwrap_err().to_string();
        prop_assert!(e.contains("line 3") && e.contains("limits.memory_mb"), "{}", e);
    }
}

const FULL: &str = r#"
dataset = "sales"
version = 4
owner = "OWNER"

[columns]
amount = "raw"

[[approvals]]
module = "0000000000000000000000000000000000000000000000000000000000000abc"
expires = 2030-01-01T00:00:00Z
note = "reviewed by the owner"

[[approvals]]
module = "1111111111111111111111111111111111111111111111111111111111111111"

[[trusted_signers]]
key = "SIGNER1"
note = "ACME analytics"

[[trusted_signers]]
key = "SIGNER2"

[release]
raw_values_in_output = false

[privacy]
epsilon_per_query = 0.25
budget = 2.0
refresh_days = 30

[prices]
currency = "EUR"
per_run = 0.05
per_million_fuel = 0.000001
per_aggregate_query = 0.1
"#;

fn key(seed: u8) -> String {
    crate::signing::SecretKey::from_seed(&[seed; 32])
        .public()
        .to_hex()
}

fn full() -> String {
    FULL.replace("OWNER", &key(1))
        .replace("SIGNER1", &key(2))
        .replace("SIGNER2", &key(3))
}

#[test]
fn parses_approvals_trust_privacy_and_prices() {
    let p = Policy::parse(&full()).unwrap();
    assert_eq!(p.version, 4);
    assert_eq!(p.owner, Some(key(1)));
    assert_eq!(p.approvals.len(), 2);
    let a = p
        .approval("0000000000000000000000000000000000000000000000000000000000000abc")
        .unwrap();
    assert_eq!(a.expires, Some(1_893_456_000));
    assert!(a.valid_at(1_893_455_999) && !a.valid_at(1_893_456_000));
    assert!(p.approvals[1].valid_at(i64::MAX));
    assert_eq!(p.trusted_signers, [key(2), key(3)]);
    assert!(!p.raw_values_in_output);
    let dp = p.privacy.unwrap();
    assert_eq!(
        (dp.epsilon_per_query, dp.budget, dp.refresh_seconds),
        (0.25, 2.0, Some(30 * 86_400))
    );
    assert_eq!(p.prices.per_run, 50_000);
    assert_eq!(p.prices.per_million_fuel, 1);
    assert_eq!(p.prices.per_aggregate_query, 100_000);
    assert_eq!(p.prices.per_mb_fed, 0);
}

#[test]
fn defaults_without_the_new_sections() {
    let p = Policy::parse("dataset = \"d\"\n").unwrap();
    assert_eq!(p.version, 1);
    assert!(p.approvals.is_empty() && p.trusted_signers.is_empty() && p.privacy.is_none());
    assert!(p.raw_values_in_output);
    assert_eq!(p.prices.currency, "EUR");
}

#[test]
fn bad_approvals_privacy_and_prices_name_key_and_line() {
    let e = err(&full().replace(
        "0000000000000000000000000000000000000000000000000000000000000abc",
        "abc",
    ));
    assert!(
        e.contains("line 10: `approvals.module`") && e.contains("64 lowercase hex"),
        "{e}"
    );
    let e = err(&full().replace("epsilon_per_query = 0.25", "epsilon_per_query = 0.0"));
    assert!(e.contains("line 28: `privacy.epsilon_per_query`"), "{e}");
    let e = err(&full().replace("budget = 2.0", "budget = 0.1"));
    assert!(
        e.contains("line 29: `privacy.budget`") && e.contains("no query could ever run"),
        "{e}"
    );
    let e = err(&full().replace("per_run = 0.05", "per_run = -1.0"));
    assert!(e.contains("line 34: `prices.per_run`"), "{e}");
    let e = err(&full().replace("note = ", "note_ = "));
    assert!(
        e.contains("unknown field `note_`") && e.contains("line 12"),
        "{e}"
    );
    let e = err(&full().replace(&key(2), "not-a-key"));
    assert!(
        e.contains("line 18: `trusted_signers.key`: not a public key"),
        "{e}"
    );
}

#[test]
fn column_bounds_must_be_a_range() {
    let e = err(&GOOD.replace("bounds = [0.0, 250000.0]", "bounds = [5.0, 1.0]"));
    assert!(
        e.contains("line 10: `columns.income.bounds`: [5, 1] is not a range"),
        "{e}"
    );
}

#[test]
fn new_column_keys_parse_into_the_rule() {
    let p = Policy::parse(
        "dataset = \"d\"\n[columns]\nage = { access = \"raw\", bins = [10.0, 5], bin_origin = 1.5 }\n\
         sex = { access = \"raw\", keys = [\"F\", \"M\"] }\nregion = { access = \"raw\", keys = \"all\" }\n\
         income = { access = \"aggregate\", functions = [\"count\", \"max\"] }\n\
         [release]\nround_fuel = 1000\nround_wall_ms = 250\n\
         [privacy]\nepsilon_per_query = 1.0\nbudget = 2.0\ndelta = 1e-7\n",
    )
    .unwrap();
    let bins = p.rule("age").bins.unwrap();
    assert_eq!((bins.widths, bins.origin), (vec![10.0, 5.0], 1.5));
    assert_eq!(
        p.rule("sex").keys,
        Some(KeySet::Listed(vec!["F".into(), "M".into()]))
    );
    assert_eq!(p.rule("region").keys, Some(KeySet::AllValues));
    assert_eq!(p.rule("income").functions.names(), ["count", "max"]);
    assert_eq!(p.rule("sex").functions, Functions::default());
    assert_eq!(p.rule("sex").functions.names(), ["count", "sum", "mean"]);
    assert_eq!(
        p.rounding,
        Rounding {
            fuel: FuelRounding::Multiple(1000),
            wall_ms: 250
        }
    );
    assert_eq!(p.privacy.unwrap().delta, Some(1e-7));
    assert_eq!(
        Policy::parse("dataset = \"d\"").unwrap().rounding,
        Rounding::default()
    );
}

#[test]
fn rounding_buckets() {
    let r = Rounding::default();
    assert_eq!(
        (r.fuel(0), r.fuel(1), r.fuel(5), r.fuel(1024), r.fuel(1025)),
        (0, 1, 8, 1024, 2048)
    );
    assert_eq!(
        (r.wall_ms(0), r.wall_ms(1), r.wall_ms(1000), r.wall_ms(1001)),
        (0, 1000, 1000, 2000)
    );
    let m = Rounding {
        fuel: FuelRounding::Multiple(100),
        wall_ms: 1,
    };
    assert_eq!((m.fuel(1), m.fuel(100), m.fuel(101)), (100, 100, 200));
    assert_eq!(m.wall_ms(1234), 1234);
}

#[test]
fn bad_new_keys_name_the_key_and_say_what_is_accepted() {
    let e = err(
        "dataset = \"d\"\n[columns]\nx = { access = \"aggregate\", functions = [\"median\"] }\n",
    );
    assert!(e.contains("`columns.x.functions`: `median` is not a host aggregate function; expected some of count, sum, mean, min, max, quantile"), "{e}");
    let e = err("dataset = \"d\"\n[release]\nround_fuel = \"pow2\"\n");
    assert!(e.contains("`release.round_fuel`"), "{e}");
    let e = err("dataset = \"d\"\n[privacy]\nepsilon_per_query = 1.0\nbudget = 1.0\ndelta = 0.1\n");
    assert!(e.contains("`privacy.delta`: 0.1 is out of range"), "{e}");
}
