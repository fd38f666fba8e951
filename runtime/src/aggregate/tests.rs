use sluice_host_api::aggregates::{Bounds, GroupKey};

use super::*;
use crate::data::Dataset;
use crate::policy::Policy;

/// 30 rows: group `a` has 20 rows, `b` 7, `c` 3; `v` is the row number, null every 10th row.
fn grant(dir: &tempfile::TempDir, min_group_size: u64) -> Grant {
    grant_with(dir, min_group_size, "\"aggregate\"")
}

fn grant_with(dir: &tempfile::TempDir, min_group_size: u64, v_rule: &str) -> Grant {
    let mut text = String::from("g,v,age,secret,k\n");
    for i in 0..30 {
        let g = if i < 20 {
            "a"
        } else if i < 27 {
            "b"
        } else {
            "c"
        };
        let v = if i % 10 == 9 {
            String::new()
        } else {
            i.to_string()
        };
        text.push_str(&format!("{g},{v},{},{i},{i}\n", 20 + i));
    }
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).unwrap();
    let policy = Policy::parse(&format!(
        "dataset = \"t\"\n[columns]\ng = \"raw\"\nv = {v_rule}\nage = \"raw\"\nk = \"aggregate\"\n[release]\nmin_group_size = {min_group_size}\n"
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

#[test]
fn groups_below_the_minimum_are_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 5);
    let r = run(
        &g,
        &query(
            Some("v"),
            vec![AggregateFn::Count, AggregateFn::Sum],
            &[("g", None)],
        ),
        8,
        None,
        || Ok(()),
    )
    .unwrap();
    assert_eq!(r.rows_scanned, 30);
    assert_eq!(r.result.suppressed_groups, 1, "group c has 3 rows");
    let keys: Vec<_> = r
        .result
        .groups
        .iter()
        .map(|g| g.keys[0].clone().unwrap())
        .collect();
    assert_eq!(keys, ["a", "b"]);
    let a = &r.result.groups[0];
    assert_eq!(a.count, 20);
    assert_eq!(a.values[0], Some(18.0), "count(v) skips the two nulls");
    assert_eq!(
        a.values[1],
        Some((0..20).filter(|i| i % 10 != 9).sum::<i32>() as f64)
    );
}

#[test]
fn a_whole_table_smaller_than_the_minimum_is_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &grant(&dir, 31),
        &query(None, vec![AggregateFn::Count], &[]),
        8,
        None,
        || Ok(()),
    )
    .unwrap();
    assert!(r.result.groups.is_empty());
    assert_eq!(r.result.suppressed_groups, 1);
}

#[test]
fn mean_min_max_quantile_and_clamp() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1);
    let fns = vec![
        AggregateFn::Mean,
        AggregateFn::Min,
        AggregateFn::Max,
        AggregateFn::Quantile(0.5),
    ];
    let mut q = query(Some("v"), fns, &[]);
    let r = run(&g, &q, 7, None, || Ok(())).unwrap();
    let values: Vec<f64> = (0..30).filter(|i| i % 10 != 9).map(f64::from).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert_eq!(
        r.result.groups[0].values,
        [Some(mean), Some(0.0), Some(28.0), Some(14.0)]
    );
    q.clamp = Some(Bounds {
        lower: 5.0,
        upper: 10.0,
    });
    let r = run(&g, &q, 7, None, || Ok(())).unwrap();
    assert_eq!(r.result.groups[0].values[1..3], [Some(5.0), Some(10.0)]);
}

#[test]
fn numeric_keys_can_be_binned() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &grant(&dir, 1),
        &query(None, vec![AggregateFn::Count], &[("age", Some(10.0))]),
        64,
        None,
        || Ok(()),
    )
    .unwrap();
    let bins: Vec<(String, u64)> = r
        .result
        .groups
        .iter()
        .map(|g| (g.keys[0].clone().unwrap(), g.count))
        .collect();
    assert_eq!(
        bins,
        [("20".into(), 10), ("30".into(), 10), ("40".into(), 10)]
    );
}

#[test]
fn policy_violations_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1);
    let count = || vec![AggregateFn::Count];
    let msg = |q: Query| match run(&g, &q, 8, None, || Ok(())) {
        Err(Error::NotPermitted(m)) => format!("not-permitted: {m}"),
        Err(Error::NotFound(m)) => format!("not-found: {m}"),
        Err(Error::Invalid(m)) => format!("invalid: {m}"),
        Err(Error::LimitReached(m)) => format!("limit-reached: {m}"),
        Ok(_) => "ok".into(),
    };
    assert_eq!(
        msg(query(None, count(), &[("k", None)])),
        "not-permitted: column `k` of dataset `t` is not a permitted group-by key"
    );
    assert_eq!(
        msg(query(Some("secret"), count(), &[])),
        "not-found: dataset `t` has no column `secret` visible to this module"
    );
    assert_eq!(
        msg(query(None, vec![AggregateFn::Sum], &[])),
        "invalid: sum needs a column; only count works without one"
    );
    assert_eq!(
        msg(query(Some("v"), vec![], &[])),
        "invalid: aggregate query asks for no functions"
    );
    assert_eq!(
        msg(query(Some("g"), vec![AggregateFn::Mean], &[])),
        "invalid: mean needs a numeric column, not a string column"
    );
    assert_eq!(
        msg(query(Some("v"), vec![AggregateFn::Quantile(1.5)], &[])),
        "invalid: quantile 1.5 is outside [0, 1]"
    );
    assert!(
        msg(query(None, count(), &[("g", Some(2.0))]))
            .starts_with("invalid: bin width 2 on `g` needs a numeric column")
    );
    let mut q = query(Some("v"), count(), &[]);
    q.clamp = Some(Bounds {
        lower: 2.0,
        upper: 1.0,
    });
    assert_eq!(
        msg(q),
        "invalid: clamp bounds [2, 1] must be finite with lower <= upper"
    );
}

#[test]
fn differential_privacy_noises_counts_and_charges_once_after_validation() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1);
    let mut charges = 0;
    let r = run(
        &g,
        &query(None, vec![AggregateFn::Count], &[("g", None)]),
        8,
        Some(1.0),
        || {
            charges += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(charges, 1);
    assert_eq!(r.noise.len(), 3, "one noisy count per group");
    for (group, n) in r.result.groups.iter().zip(&r.noise) {
        assert_eq!(group.count as f64, n.value.max(0.0));
        assert_eq!(n.value, n.exact + n.noise);
    }
    let refused = run(
        &g,
        &query(Some("v"), vec![AggregateFn::Max], &[]),
        8,
        Some(1.0),
        || {
            charges += 1;
            Ok(())
        },
    );
    assert!(
        matches!(refused, Err(Error::NotPermitted(m)) if m.starts_with("max is not available"))
    );
    let unclamped = run(
        &g,
        &query(Some("v"), vec![AggregateFn::Mean], &[]),
        8,
        Some(1.0),
        || {
            charges += 1;
            Ok(())
        },
    );
    assert!(matches!(unclamped, Err(Error::Invalid(m)) if m.contains("need clamp bounds")));
    assert_eq!(charges, 1, "refused queries are not charged");
    let exhausted = run(
        &g,
        &query(None, vec![AggregateFn::Count], &[]),
        8,
        Some(1.0),
        || Err(Error::LimitReached("budget".into())),
    );
    assert!(matches!(exhausted, Err(Error::LimitReached(_))));
}

#[test]
fn policy_bounds_clamp_values_and_narrow_a_query_clamp() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant_with(&dir, 1, "{ access = \"aggregate\", bounds = [5.0, 10.0] }");
    let fns = vec![AggregateFn::Min, AggregateFn::Max];
    let mut q = query(Some("v"), fns, &[]);
    let r = run(&g, &q, 8, None, || Ok(())).unwrap();
    assert_eq!(r.result.groups[0].values, [Some(5.0), Some(10.0)]);
    q.clamp = Some(Bounds {
        lower: 0.0,
        upper: 8.0,
    });
    let r = run(&g, &q, 8, None, || Ok(())).unwrap();
    assert_eq!(r.result.groups[0].values, [Some(5.0), Some(8.0)]);
    let mean = query(Some("v"), vec![AggregateFn::Mean], &[]);
    assert!(
        run(&g, &mean, 8, Some(1.0), || Ok(())).is_ok(),
        "policy bounds suffice for DP sums"
    );
}
