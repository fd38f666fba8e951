//! Host aggregates under `[privacy]`.

use super::*;
use crate::privacy::{Mechanism, PrivacyTrail};

const DP: &str = "[privacy]\nepsilon_per_query = 1.0\nbudget = 100.0\n";

fn budget(privacy: &RunPrivacy) -> f64 {
    privacy.epsilon_spent
}

#[test]
fn counts_are_noised_and_each_query_is_charged_once_after_validation() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, &format!("{DP}delta = 1e-6\n"));
    let mut p = stores();
    let r = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("g", None)]),
        &mut p,
    )
    .unwrap();
    assert_eq!(r.epsilon, 1.0);
    assert_eq!(p.trail.noise.len(), 3, "one selection draw per group");
    assert!(
        p.trail
            .noise
            .iter()
            .all(|d| d.mechanism == Mechanism::Selection)
    );
    for group in &r.result.groups {
        let draw = p
            .trail
            .noise
            .iter()
            .find(|d| d.value == Some(group.count as f64))
            .expect("released count is a drawn value");
        assert!(draw.epsilon <= 1.0 && draw.delta <= 1e-6);
    }
    let refused = ask(&g, &query(Some("v"), vec![AggregateFn::Max], &[]), &mut p);
    assert_eq!(refused.unwrap_err().kind, GuestErrorKind::NotPermitted);
    let mut unbounded = g.clone();
    unbounded.policy.columns.get_mut("v").unwrap().bounds = None;
    let e = ask(
        &unbounded,
        &query(Some("v"), vec![AggregateFn::Mean], &[]),
        &mut p,
    )
    .unwrap_err();
    assert!(e.message.contains("need bounds"), "{}", e.message);
    assert_eq!(budget(&p), 1.0, "refused queries are not charged");
}

#[test]
fn a_spent_budget_refuses_before_reading_and_says_no_figures_publicly() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(
        &dir,
        1,
        "[privacy]\nepsilon_per_query = 1.0\nbudget = 1.0\ndelta = 1e-6\n",
    );
    let mut p = stores();
    let q = query(None, vec![AggregateFn::Count], &[]);
    ask(&g, &q, &mut p).unwrap();
    let e = ask(&g, &q, &mut p).unwrap_err();
    assert_eq!(e.kind, GuestErrorKind::LimitReached);
    assert!(e.message.contains("spent"), "{}", e.message);
    assert!(
        !e.public.contains("spent") && !e.public.contains("buyer"),
        "{}",
        e.public
    );
}

#[test]
fn group_keys_without_a_public_set_need_delta() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(&dir, 1, DP);
    let e = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("z", None)]),
        &mut stores(),
    )
    .unwrap_err();
    assert_eq!(e.kind, GuestErrorKind::NotPermitted);
    assert!(e.message.contains("`z` is not public"), "{}", e.message);
}

#[test]
fn a_key_with_one_record_is_never_released_because_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    // Almost no noise: what protects the singletons is the threshold.
    let g = grant(
        &dir,
        1,
        "[privacy]\nepsilon_per_query = 100.0\nbudget = 10000.0\ndelta = 1e-6\n",
    );
    let mut p = stores();
    for _ in 0..20 {
        let r = ask(
            &g,
            &query(None, vec![AggregateFn::Count], &[("z", None)]),
            &mut p,
        )
        .unwrap();
        assert!(r.result.groups.is_empty(), "{:?}", r.result.groups);
        assert_eq!(r.result.suppressed_groups, 30);
    }
    // Groups with many rows are released.
    let r = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("g", None)]),
        &mut p,
    )
    .unwrap();
    assert!(keys(&r).contains(&("a".into(), 20)), "{:?}", keys(&r));
}

#[test]
fn public_keys_are_released_whether_or_not_they_occur() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = grant(
        &dir,
        1,
        "[privacy]\nepsilon_per_query = 100.0\nbudget = 10000.0\n",
    );
    g.policy.columns.get_mut("g").unwrap().keys =
        Some(crate::policy::KeySet::Listed(vec!["a".into(), "x".into()]));
    let q = query(None, vec![AggregateFn::Count], &[("g", None)]);
    let r = ask(&g, &q, &mut stores()).unwrap();
    // `x` never occurs: its noisy count is 0, under the minimum; `b` and `c`
    // are not listed: their rows are left out.
    assert_eq!(keys(&r), [("a".into(), 20)]);
    assert_eq!(r.result.suppressed_groups, 1);
    // Bins within the bounds are public too: ages 0..100 in bands of 10.
    let bands = query(None, vec![AggregateFn::Count], &[("age", Some(10.0))]);
    let r = ask(&g, &bands, &mut stores()).unwrap();
    assert_eq!(
        keys(&r),
        [("20".into(), 10), ("30".into(), 10), ("40".into(), 10)]
    );
    assert_eq!(
        r.result.suppressed_groups, 8,
        "the 8 empty bands of 0..=100"
    );
}

#[test]
fn private_quantiles_come_from_a_grid_within_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = grant(&dir, 1, &format!("{DP}delta = 1e-6\n"));
    g.policy.columns.get_mut("v").unwrap().functions = crate::policy::Functions::all();
    let q = query(
        Some("v"),
        vec![
            AggregateFn::Min,
            AggregateFn::Quantile(0.5),
            AggregateFn::Max,
        ],
        &[],
    );
    let mut p = stores();
    let r = ask(&g, &q, &mut p).unwrap();
    let grid = crate::privacy::quantile::candidates(0.0, 40.0);
    for v in r.result.groups[0].values.iter().flatten() {
        assert!(grid.contains(v), "{v} is a candidate");
    }
    let quantiles: Vec<_> = p
        .trail
        .noise
        .iter()
        .filter(|d| d.mechanism == Mechanism::Quantile)
        .collect();
    assert_eq!(quantiles.len(), 3);
    assert_eq!(quantiles[0].exact, 0.0);
    assert_eq!(quantiles[2].exact, 28.0);
}

#[test]
fn a_replay_reproduces_the_release_without_charging_or_drawing() {
    let dir = tempfile::tempdir().unwrap();
    let g = grant(
        &dir,
        1,
        "[privacy]\nepsilon_per_query = 20.0\nbudget = 100.0\ndelta = 1e-6\n",
    );
    let q = query(
        Some("v"),
        vec![AggregateFn::Count, AggregateFn::Mean],
        &[("g", None)],
    );
    let mut live = stores();
    let original = ask(&g, &q, &mut live).unwrap();
    assert!(
        !original.result.groups.is_empty(),
        "groups a and b are released"
    );
    let trail: PrivacyTrail = live.trail.clone();
    let mut replay = RunPrivacy::replay(trail.clone());
    let again = ask(&g, &q, &mut replay).unwrap();
    assert_eq!(
        format!("{:?}", again.result),
        format!("{:?}", original.result)
    );
    assert_eq!(replay.trail, trail, "the same draws, in the same order");
    // A replay over other data diverges instead of re-using noise.
    let mut shifted = g.clone();
    shifted.policy.columns.get_mut("v").unwrap().bounds = Some((0.0, 10.0));
    let e = ask(&shifted, &q, &mut RunPrivacy::replay(trail)).unwrap_err();
    assert!(e.message.contains("replay diverged"), "{}", e.message);
}
