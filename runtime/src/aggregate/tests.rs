use std::sync::Arc;

use sluice_host_api::aggregates::{AggregateFn, Bounds, GroupKey};

use super::*;
use crate::data::Dataset;
use crate::outcome::GuestErrorKind;
use crate::policy::Policy;
use crate::privacy::{BudgetStore, DifferenceStore};

/// 30 rows: group `g` = `a` for rows 0..20, `b` for 20..27, `c` for 27..30;
/// `v` is the row number, null every 10th row; `age` is 20 + row; `z` is
/// unique per row; `name` is a string, null every 3rd row.
fn grant(dir: &tempfile::TempDir, min_group_size: u64, extra: &str) -> Grant {
    let mut text = String::from("g,v,age,secret,k,z,name\n");
    for i in 0..30 {
        let g = match i {
            0..20 => "a",
            20..27 => "b",
            _ => "c",
        };
        let v = if i % 10 == 9 {
            String::new()
        } else {
            i.to_string()
        };
        let name = if i % 3 == 0 {
            String::new()
        } else {
            format!("n{i}")
        };
        text.push_str(&format!("{g},{v},{},{i},{i},z{i},{name}\n", 20 + i));
    }
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).unwrap();
    let policy = Policy::parse(&format!(
        "dataset = \"t\"\n[columns]\ng = \"raw\"\nv = {{ access = \"aggregate\", bounds = [0.0, 40.0] }}\n\
         age = {{ access = \"raw\", bins = [10.0], bounds = [0.0, 100.0] }}\nk = \"aggregate\"\n\
         z = {{ access = \"aggregate\", group_key = true }}\nname = \"aggregate\"\n\
         [release]\nmin_group_size = {min_group_size}\n{extra}"
    ))
    .unwrap();
    Grant {
        dataset: Dataset::open("t", &path).unwrap(),
        policy,
    }
}

fn query(
    column: Option<&str>,
    functions: Vec<AggregateFn>,
    group_by: &[(&str, Option<f64>)],
) -> Query {
    Query {
        dataset: "t".into(),
        column: column.map(Into::into),
        functions,
        group_by: group_by
            .iter()
            .map(|(c, w)| GroupKey {
                column: (*c).into(),
                bin_width: *w,
            })
            .collect(),
        clamp: None,
    }
}

fn stores() -> RunPrivacy {
    RunPrivacy::live(
        Some(Arc::new(BudgetStore::in_memory().unwrap())),
        Some(Arc::new(DifferenceStore::in_memory().unwrap())),
    )
}

const SIGNER: Asker<'static> = Asker {
    tier: Tier::TrustedSigner,
    signer: "buyer",
};

fn ask(g: &Grant, q: &Query, privacy: &mut RunPrivacy) -> Result<Computed, Refusal> {
    run(g, SIGNER, q, 8, privacy, &mut Meter::unlimited())
}

fn keys(r: &Computed) -> Vec<(String, u64)> {
    r.result
        .groups
        .iter()
        .map(|g| (g.keys[0].clone().unwrap_or_default(), g.count))
        .collect()
}

#[test]
fn groups_below_the_minimum_are_suppressed_and_count_is_of_contributing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 5, "");
    let q = query(
        Some("v"),
        vec![AggregateFn::Count, AggregateFn::Sum],
        &[("g", None)],
    );
    let r = ask(&g, &q, &mut stores()).unwrap();
    assert_eq!(r.rows_scanned, 30);
    assert_eq!(r.result.suppressed_groups, 1, "group c has 2 values");
    assert_eq!(keys(&r), [("a".into(), 18), ("b".into(), 7)]);
    let a = &r.result.groups[0];
    assert_eq!(a.values[0], Some(18.0), "count(v) skips the two nulls");
    assert_eq!(
        a.values[1],
        Some((0..20).filter(|i| i % 10 != 9).sum::<i32>() as f64)
    );
}

#[test]
fn count_of_a_string_column_counts_its_non_null_values() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    let r = ask(
        &g,
        &query(Some("name"), vec![AggregateFn::Count], &[]),
        &mut stores(),
    )
    .unwrap();
    assert_eq!(r.result.groups[0].values, [Some(20.0)]);
    assert_eq!(r.result.groups[0].count, 20);
}

#[test]
fn a_whole_table_smaller_than_the_minimum_is_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    let r = ask(
        &grant(&dir, 31, ""),
        &query(None, vec![AggregateFn::Count], &[]),
        &mut stores(),
    )
    .unwrap();
    assert!(r.result.groups.is_empty());
    assert_eq!(r.result.suppressed_groups, 1);
}

#[test]
fn min_max_and_quantiles_need_the_policy_to_list_them() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    for f in [
        AggregateFn::Min,
        AggregateFn::Max,
        AggregateFn::Quantile(0.5),
    ] {
        let e = ask(&g, &query(Some("v"), vec![f], &[]), &mut stores()).unwrap_err();
        assert_eq!(e.kind, GuestErrorKind::NotPermitted);
        assert!(
            e.message.ends_with(
                "is not allowed on column `v` of dataset `t`; the policy allows count, sum, mean"
            ),
            "{}",
            e.message
        );
    }
    // Listed by the owner: exact (no [privacy]), clamped to the bounds.
    let mut listed = g.clone();
    listed.policy.columns.get_mut("v").unwrap().functions = crate::policy::Functions::all();
    let fns = vec![
        AggregateFn::Mean,
        AggregateFn::Min,
        AggregateFn::Max,
        AggregateFn::Quantile(0.5),
    ];
    let mut q = query(Some("v"), fns, &[]);
    let r = ask(&listed, &q, &mut stores()).unwrap();
    let values: Vec<f64> = (0..30).filter(|i| i % 10 != 9).map(f64::from).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert_eq!(
        r.result.groups[0].values,
        [Some(mean), Some(0.0), Some(28.0), Some(14.0)]
    );
    // The policy's bounds clamp too: [0, 40] narrowed to [5, 10].
    listed.policy.columns.get_mut("v").unwrap().bounds = Some((5.0, 10.0));
    q.clamp = None;
    let r = ask(&listed, &q, &mut stores()).unwrap();
    assert_eq!(r.result.groups[0].values[1..3], [Some(5.0), Some(10.0)]);
}

#[test]
fn exact_aggregates_clamp_only_to_the_policy_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    // sum clamped to [0, 40] minus sum clamped to [0, 27] is 28 - 27: the
    // largest value, exactly. Only the policy's own bounds are accepted.
    let sum = |lower: f64, upper: f64| {
        let mut q = query(Some("v"), vec![AggregateFn::Sum], &[]);
        q.clamp = Some(Bounds { lower, upper });
        ask(&g, &q, &mut stores())
    };
    assert!(sum(0.0, 40.0).is_ok(), "the policy's bounds");
    assert!(sum(-5.0, 100.0).is_ok(), "wider: narrowed to the bounds");
    let e = sum(0.0, 27.0).unwrap_err();
    assert_eq!(e.kind, GuestErrorKind::NotPermitted);
    assert!(
        e.message
            .contains("a narrower clamp is available only under differential privacy")
    );
}

#[test]
fn an_approved_module_may_ask_anything_of_a_raw_column_but_not_of_an_aggregate_one() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    let approved = Asker {
        tier: Tier::Approved,
        signer: "buyer",
    };
    let max_age = query(Some("age"), vec![AggregateFn::Max], &[]);
    let r = run(
        &g,
        approved,
        &max_age,
        8,
        &mut stores(),
        &mut Meter::unlimited(),
    )
    .unwrap();
    assert_eq!(r.result.groups[0].values, [Some(49.0)]);
    assert!(
        ask(&g, &max_age, &mut stores()).is_err(),
        "not for a trusted signer"
    );
    let max_v = query(Some("v"), vec![AggregateFn::Max], &[]);
    assert!(
        run(
            &g,
            approved,
            &max_v,
            8,
            &mut stores(),
            &mut Meter::unlimited()
        )
        .is_err()
    );
}

#[test]
fn bins_only_at_the_widths_the_policy_lists() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    let r = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("age", Some(10.0))]),
        &mut stores(),
    )
    .unwrap();
    assert_eq!(
        keys(&r),
        [("20".into(), 10), ("30".into(), 10), ("40".into(), 10)]
    );
    let e = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("age", Some(24.999))]),
        &mut stores(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "column `age` of dataset `t` may be binned only at width 10 (bins start at 0); other widths are refused"
    );
    assert!(!e.public.contains("24.999"));
    let e = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("z", Some(2.0))]),
        &mut stores(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "column `z` of dataset `t` may not be binned: the policy lists no bin widths for it"
    );
}

#[test]
fn refusals_name_the_rule_and_never_echo_what_the_guest_sent() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    let count = || vec![AggregateFn::Count];
    let refuse = |q: Query| ask(&g, &q, &mut stores()).unwrap_err();
    let e = refuse(query(None, count(), &[("k", None)]));
    assert_eq!(
        (e.kind, e.public.as_str()),
        (
            GuestErrorKind::NotPermitted,
            "column `k` of dataset `t` is not a permitted group-by key"
        )
    );
    let e = refuse(query(Some("secret 4711"), count(), &[]));
    assert_eq!(
        e.message,
        "dataset `t` has no column `secret 4711` visible to this module"
    );
    assert!(!e.public.contains("4711"), "{}", e.public);
    let e = refuse(query(None, vec![AggregateFn::Sum], &[]));
    assert_eq!(e.public, "sum needs a column; only count works without one");
    let e = refuse(query(Some("v"), vec![], &[]));
    assert_eq!(e.public, "aggregate query asks for no functions");
    let e = refuse(query(Some("g"), vec![AggregateFn::Mean], &[]));
    assert!(
        e.public.starts_with("mean needs a numeric column"),
        "{}",
        e.public
    );
    let e = refuse(query(Some("v"), vec![AggregateFn::Quantile(1234.5)], &[]));
    assert!(!e.message.contains("1234"), "{}", e.message);
    let mut q = query(Some("v"), count(), &[]);
    q.clamp = Some(Bounds {
        lower: 4711.0,
        upper: 1.0,
    });
    let e = refuse(q);
    assert!(!e.message.contains("4711"), "{}", e.message);
}

#[test]
fn a_group_that_differs_from_a_released_one_by_fewer_than_k_rows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 5, "");
    let differences = Arc::new(DifferenceStore::in_memory().unwrap());
    let mut first = RunPrivacy::live(None, Some(differences.clone()));
    let by_g = query(None, vec![AggregateFn::Count], &[("g", None)]);
    let r = ask(&g, &by_g, &mut first).unwrap();
    assert_eq!(keys(&r), [("a".into(), 20), ("b".into(), 7)]);
    // Age band 40 is rows 20..30: group b (rows 20..27) plus the 3 rows of
    // the suppressed group c. Subtracting b would reveal c.
    let by_age = query(None, vec![AggregateFn::Count], &[("age", Some(10.0))]);
    let r = ask(&g, &by_age, &mut first).unwrap();
    assert_eq!(keys(&r), [("20".into(), 10), ("30".into(), 10)]);
    assert_eq!(
        r.result.suppressed_groups, 1,
        "refused counts as suppressed"
    );
    // The same refusal in a later run over the same snapshot.
    let mut later = RunPrivacy::live(None, Some(differences.clone()));
    let r = ask(&g, &by_age, &mut later).unwrap();
    assert_eq!(r.result.suppressed_groups, 1);
    // Asking the same question again is no difference.
    let r = ask(&g, &by_g, &mut later).unwrap();
    assert_eq!(r.result.suppressed_groups, 1, "only c, as before");
    // Another buyer has a history of its own.
    let other = Asker {
        tier: Tier::TrustedSigner,
        signer: "someone else",
    };
    let mut theirs = RunPrivacy::live(None, Some(differences));
    let r = run(&g, other, &by_age, 8, &mut theirs, &mut Meter::unlimited()).unwrap();
    assert_eq!(r.result.suppressed_groups, 0);
}

#[test]
fn exact_aggregates_need_a_difference_store() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, "");
    let mut none = RunPrivacy::live(None, None);
    let e = ask(&g, &query(None, vec![AggregateFn::Count], &[]), &mut none).unwrap_err();
    assert_eq!(e.kind, GuestErrorKind::NotPermitted);
}

#[cfg(test)]
mod dates;
mod private;
