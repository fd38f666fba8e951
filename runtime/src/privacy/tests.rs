//! Tests of the privacy module: the noise has the scale it claims and is
//! really random, bad parameters are refused, and the budget store never lets
//! spending exceed a budget (sequentially, across restarts, under threads and
//! across connections). Defends against a change that would quietly weaken
//! privacy (less noise than claimed, a constant or replayable draw, an
//! overspent or forgotten budget) while everything else still works.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::budget::{Round, from_units, to_units};
use super::*;

const DAY: Duration = Duration::from_secs(86_400);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A fixed "now": 2026-01-01T00:00:00Z.
fn t0() -> SystemTime {
    at(1_767_225_600)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

// ---------------------------------------------------------------- noise

#[test]
fn count_noise_is_discrete_laplace_with_the_claimed_scale() {
    let eps = 0.1;
    let draws: Vec<NoisyValue> = (0..20_000)
        .map(|_| noisy_count(1_000, eps).unwrap())
        .collect();
    let first = draws[0];
    assert!((first.scale - 10.0).abs() < 1e-9, "scale {}", first.scale);
    assert!(first.epsilon <= eps && first.epsilon > eps * (1.0 - 1e-9));
    assert_eq!(first.sensitivity, 1.0);
    for d in &draws {
        assert_eq!(d.exact, 1_000.0);
        assert_eq!(d.value, d.exact + d.noise);
        assert_eq!(d.value.fract(), 0.0, "a noisy count is an integer");
    }
    let noise: Vec<f64> = draws.iter().map(|d| d.noise).collect();
    // Discrete Laplace with scale t: E|X| = 2 e^(-1/t) / (1 - e^(-2/t)).
    let t = first.scale;
    let expected = 2.0 * (-1.0 / t).exp() / (1.0 - (-2.0 / t).exp());
    let mad = mean(&noise.iter().map(|x| x.abs()).collect::<Vec<_>>());
    assert!(
        (mad - expected).abs() < 0.05 * expected,
        "mean |noise| {mad}, expected {expected}"
    );
    // Unbiased: std. dev. of the mean is t*sqrt(2)/sqrt(n) ~ 0.1.
    assert!(mean(&noise).abs() < 0.6, "mean noise {}", mean(&noise));
    let distinct: HashSet<i64> = noise.iter().map(|x| *x as i64).collect();
    assert!(
        distinct.len() > 50,
        "only {} distinct noises",
        distinct.len()
    );
}

#[test]
fn sum_noise_is_laplace_with_the_claimed_scale() {
    // Sensitivity max(|-2|, |5|) = 5; scale 5 / 0.5 = 10.
    let eps = 0.5;
    let draws: Vec<NoisyValue> = (0..20_000)
        .map(|_| noisy_sum(123.25, -2.0, 5.0, eps).unwrap())
        .collect();
    let first = draws[0];
    assert_eq!(first.sensitivity, 5.0);
    assert!((first.scale - 10.0).abs() < 1e-9, "scale {}", first.scale);
    assert!(first.epsilon <= eps);
    for d in &draws {
        assert_eq!(d.exact, 123.25);
        assert_eq!(d.noise, d.value - d.exact);
    }
    let noise: Vec<f64> = draws.iter().map(|d| d.noise).collect();
    let mad = mean(&noise.iter().map(|x| x.abs()).collect::<Vec<_>>());
    assert!((mad - 10.0).abs() < 0.5, "mean |noise| {mad}, expected 10");
    assert!(mean(&noise).abs() < 0.6, "mean noise {}", mean(&noise));
    let distinct: HashSet<u64> = noise.iter().map(|x| x.to_bits()).collect();
    assert!(distinct.len() > 19_000, "noise repeats: {}", distinct.len());
    // Continuous-looking: most draws are not whole numbers.
    assert!(noise.iter().filter(|x| x.fract() != 0.0).count() > 19_000);
}

#[test]
fn scale_follows_sensitivity_over_epsilon() {
    for (lower, upper, eps) in [(0.0, 1.0, 1.0), (-100.0, 3.0, 0.01), (0.0, 1e6, 2.5)] {
        let v = noisy_sum(0.0, lower, upper, eps).unwrap();
        let sens = f64::max(f64::abs(lower), f64::abs(upper));
        assert_eq!(v.sensitivity, sens);
        let ideal = sens / eps;
        assert!(v.scale >= ideal * (1.0 - 1e-15) && v.scale <= ideal * (1.0 + 1e-12));
        assert!(v.epsilon <= eps);
    }
    // Tighter epsilon, more noise.
    let loose = noisy_count(10, 10.0).unwrap();
    let tight = noisy_count(10, 0.01).unwrap();
    assert!(tight.scale > loose.scale * 999.0);
}

#[test]
fn zero_bounds_release_the_data_independent_sum() {
    let v = noisy_sum(0.0, 0.0, 0.0, 1.0).unwrap();
    assert_eq!((v.value, v.noise, v.scale, v.epsilon), (0.0, 0.0, 0.0, 0.0));
}

#[test]
fn invalid_epsilon_is_refused() {
    for eps in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = noisy_count(5, eps).unwrap_err();
        assert!(
            matches!(e, PrivacyError::InvalidEpsilon { .. }),
            "{eps}: {e}"
        );
        assert!(e.to_string().contains("greater than 0"), "{e}");
        let e = noisy_sum(5.0, 0.0, 1.0, eps).unwrap_err();
        assert!(
            matches!(e, PrivacyError::InvalidEpsilon { .. }),
            "{eps}: {e}"
        );
    }
}

#[test]
fn invalid_bounds_and_values_are_refused() {
    for (lower, upper) in [
        (1.0, 0.0),
        (f64::NAN, 1.0),
        (0.0, f64::NAN),
        (f64::NEG_INFINITY, 0.0),
        (0.0, f64::INFINITY),
    ] {
        let e = noisy_sum(0.5, lower, upper, 1.0).unwrap_err();
        assert!(
            matches!(e, PrivacyError::InvalidBounds { .. }),
            "[{lower}, {upper}]: {e}"
        );
        assert!(e.to_string().contains("lower <= upper"), "{e}");
    }
    for sum in [f64::NAN, f64::INFINITY] {
        let e = noisy_sum(sum, 0.0, 1.0, 1.0).unwrap_err();
        assert!(matches!(e, PrivacyError::InvalidAggregate { .. }), "{e}");
    }
    let e = noisy_sum(0.0, -f64::MAX, f64::MAX, 1e-300).unwrap_err();
    assert!(matches!(e, PrivacyError::ScaleOverflow { .. }), "{e}");
    let e = noisy_count(u64::MAX, 1.0).unwrap_err();
    assert!(matches!(e, PrivacyError::CountTooLarge { .. }), "{e}");
    assert!(noisy_count(MAX_COUNT, 1.0).is_ok());
}

// ---------------------------------------------------------------- units

#[test]
fn epsilon_units_are_exact_decimals_rounded_safely() {
    assert_eq!(to_units(0.1, Round::Up), Some(100_000_000));
    assert_eq!(to_units(0.3, Round::Up), Some(300_000_000));
    assert_eq!(to_units(0.7, Round::Down), Some(700_000_000));
    assert_eq!(to_units(1.0, Round::Down), Some(1_000_000_000));
    assert_eq!(to_units(0.0, Round::Down), Some(0));
    assert_eq!(to_units(1.0 / 3.0, Round::Up), Some(333_333_334));
    assert_eq!(to_units(1.0 / 3.0, Round::Down), Some(333_333_333));
    assert_eq!(to_units(1e-10, Round::Up), Some(1));
    assert_eq!(to_units(1e-10, Round::Down), Some(0));
    assert_eq!(
        to_units(MAX_EPSILON, Round::Down),
        Some(1_000_000_000_000_000_000)
    );
    assert_eq!(to_units(MAX_EPSILON * 2.0, Round::Up), None);
    assert_eq!(to_units(-1.0, Round::Up), None);
    assert_eq!(to_units(f64::NAN, Round::Up), None);
    assert_eq!(from_units(900_000_000), 0.9);
}

// ---------------------------------------------------------------- budget

#[test]
fn charges_accumulate_exactly() {
    let store = BudgetStore::in_memory().unwrap();
    let mut remaining = Vec::new();
    for _ in 0..10 {
        remaining.push(store.charge("b", "d", 0.1, 1.0, None, t0()).unwrap());
    }
    assert_eq!(remaining[2], 0.7);
    assert_eq!(remaining[9], 0.0);
    assert_eq!(store.spent("b", "d", None, t0()).unwrap(), 1.0);
    let charges = store.charges("b", "d").unwrap();
    assert_eq!(charges.len(), 10);
    assert!(charges.iter().all(|c| c.epsilon_nano == 100_000_000
        && c.epsilon() == 0.1
        && c.budget_nano == 1_000_000_000
        && c.at == t0()
        && c.refresh.is_none()
        && c.period_start == UNIX_EPOCH));
    assert!(charges.windows(2).all(|w| w[0].id < w[1].id));
}

#[test]
fn exhaustion_refuses_and_records_nothing() {
    let store = BudgetStore::in_memory().unwrap();
    for eps in [0.5, 0.4] {
        store.charge("B", "D", eps, 1.0, None, t0()).unwrap();
    }
    let e = store.charge("B", "D", 0.2, 1.0, None, t0()).unwrap_err();
    assert_eq!(
        e.to_string().split(';').next().unwrap(),
        "privacy budget exhausted for buyer B on dataset D: spent 0.9 of 1.0, this query needs 0.2"
    );
    match e {
        PrivacyError::BudgetExhausted {
            spent,
            budget,
            asked,
            ..
        } => assert_eq!((spent, budget, asked), (0.9, 1.0, 0.2)),
        other => panic!("wrong error {other}"),
    }
    assert_eq!(store.charges("B", "D").unwrap().len(), 2);
    assert_eq!(store.spent("B", "D", None, t0()).unwrap(), 0.9);
    // What is left still fits exactly.
    assert_eq!(store.charge("B", "D", 0.1, 1.0, None, t0()).unwrap(), 0.0);
    // A zero budget admits nothing.
    assert!(matches!(
        store.charge("B", "other", 1e-9, 0.0, None, t0()),
        Err(PrivacyError::BudgetExhausted { .. })
    ));
}

#[test]
fn buyers_and_datasets_have_separate_budgets() {
    let store = BudgetStore::in_memory().unwrap();
    store
        .charge("alice", "sales", 1.0, 1.0, None, t0())
        .unwrap();
    assert!(
        store
            .charge("alice", "sales", 0.1, 1.0, None, t0())
            .is_err()
    );
    assert_eq!(
        store.charge("bob", "sales", 1.0, 1.0, None, t0()).unwrap(),
        0.0
    );
    assert_eq!(
        store
            .charge("alice", "visits", 0.25, 1.0, None, t0())
            .unwrap(),
        0.75
    );
    assert_eq!(store.spent("carol", "sales", None, t0()).unwrap(), 0.0);
}

#[test]
fn refresh_period_resets_the_budget() {
    let store = BudgetStore::in_memory().unwrap();
    let refresh = Some(DAY);
    // t0 is a midnight, so the period is [t0, t0 + 1 day).
    let noon = t0() + DAY / 2;
    store.charge("b", "d", 1.0, 1.0, refresh, noon).unwrap();
    let last_ns = t0() + DAY - Duration::from_nanos(1);
    assert!(matches!(
        store.charge("b", "d", 0.1, 1.0, refresh, last_ns),
        Err(PrivacyError::BudgetExhausted { .. })
    ));
    assert_eq!(store.spent("b", "d", refresh, t0() + DAY).unwrap(), 0.0);
    assert_eq!(
        store
            .charge("b", "d", 0.3, 1.0, refresh, t0() + DAY)
            .unwrap(),
        0.7
    );
    assert_eq!(
        store
            .spent("b", "d", refresh, t0() + DAY * 2 - Duration::from_secs(1))
            .unwrap(),
        0.3
    );
    // Without refresh every charge counts.
    assert_eq!(store.spent("b", "d", None, t0() + DAY * 10).unwrap(), 1.3);
    let charges = store.charges("b", "d").unwrap();
    assert_eq!(charges[0].period_start, t0());
    assert_eq!(charges[1].period_start, t0() + DAY);
    assert_eq!(charges[1].refresh, refresh);
    // A clock stepped back into an earlier period still sees later charges.
    assert_eq!(store.spent("b", "d", refresh, t0() - DAY).unwrap(), 1.3);
}

#[test]
fn invalid_budget_parameters_are_refused() {
    let store = BudgetStore::in_memory().unwrap();
    let err = |r: Result<f64, PrivacyError>| r.unwrap_err();
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            err(store.charge("b", "d", eps, 1.0, None, t0())),
            PrivacyError::InvalidEpsilon { .. }
        ));
    }
    for budget in [-0.5, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            err(store.charge("b", "d", 0.1, budget, None, t0())),
            PrivacyError::InvalidBudget { .. }
        ));
    }
    assert!(matches!(
        err(store.charge("b", "d", 2e9, 3e9, None, t0())),
        PrivacyError::OutOfRange {
            what: "epsilon",
            ..
        }
    ));
    assert!(matches!(
        err(store.charge("b", "d", 0.1, 3e9, None, t0())),
        PrivacyError::OutOfRange { what: "budget", .. }
    ));
    assert!(matches!(
        err(store.charge("b", "d", 0.1, 1.0, Some(Duration::ZERO), t0())),
        PrivacyError::InvalidRefresh
    ));
    assert!(matches!(
        err(store.charge("b", "d", 0.1, 1.0, None, UNIX_EPOCH - DAY)),
        PrivacyError::BadClock
    ));
    assert!(store.charges("b", "d").unwrap().is_empty());
}

#[test]
fn budget_persists_across_reopen_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.sqlite");
    {
        let store = BudgetStore::open(&path).unwrap();
        {
            let conn = store.conn.lock().unwrap();
            let mode: String = conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            let sync: i64 = conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            assert_eq!(
                (mode.as_str(), sync),
                ("wal", 2),
                "WAL with synchronous=FULL"
            );
        }
        store.charge("b", "d", 0.6, 1.0, None, t0()).unwrap();
    }
    let store = BudgetStore::open(&path).unwrap();
    assert_eq!(store.spent("b", "d", None, t0()).unwrap(), 0.6);
    assert!(store.charge("b", "d", 0.5, 1.0, None, t0()).is_err());
    assert_eq!(store.charge("b", "d", 0.4, 1.0, None, t0()).unwrap(), 0.0);
    assert_eq!(store.charges("b", "d").unwrap().len(), 2);
}

#[test]
fn a_store_from_a_newer_sluice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = BudgetStore::open(&path).unwrap_err();
    assert!(
        matches!(e, PrivacyError::StoreVersion { found: 99, .. }),
        "{e}"
    );
}

#[test]
fn an_unopenable_store_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("budget.sqlite");
    let e = BudgetStore::open(&path).unwrap_err();
    assert!(matches!(e, PrivacyError::StoreOpen { .. }), "{e}");
    assert!(e.to_string().contains("missing-dir"), "{e}");
}

#[test]
fn concurrent_charges_never_exceed_the_budget() {
    // 8 threads x 10 attempts of 0.05 against a budget of 1.0: exactly 20 fit.
    let store = Arc::new(BudgetStore::in_memory().unwrap());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                (0..10)
                    .filter(|_| store.charge("b", "d", 0.05, 1.0, None, t0()).is_ok())
                    .count()
            })
        })
        .collect();
    let ok: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ok, 20);
    assert_eq!(store.spent("b", "d", None, t0()).unwrap(), 1.0);
}

#[test]
fn concurrent_connections_to_one_file_never_exceed_the_budget() {
    // Separate connections, as separate node processes would have: the
    // BEGIN IMMEDIATE transaction, not the in-process mutex, must hold.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.sqlite");
    drop(BudgetStore::open(&path).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = BudgetStore::open(&path).unwrap();
                (0..15)
                    .filter(|_| match store.charge("b", "d", 0.1, 2.5, None, t0()) {
                        Ok(_) => true,
                        Err(PrivacyError::BudgetExhausted { .. }) => false,
                        Err(other) => panic!("unexpected error: {other}"),
                    })
                    .count()
            })
        })
        .collect();
    let ok: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ok, 25);
    let store = BudgetStore::open(&path).unwrap();
    assert_eq!(store.spent("b", "d", None, t0()).unwrap(), 2.5);
    assert_eq!(store.charges("b", "d").unwrap().len(), 25);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the sequence of charges (over up to four daily periods, in
    /// time order), spending never exceeds the budget, and a charge is
    /// accepted exactly when it fits.
    #[test]
    fn spent_never_exceeds_budget(
        budget in prop_oneof![0.0..5.0f64, Just(1.0), Just(0.0)],
        mut charges in proptest::collection::vec(
            (prop_oneof![1e-12..2.0f64, Just(0.1), Just(1.0 / 3.0)], 0u64..4),
            0..40,
        ),
    ) {
        charges.sort_by_key(|&(_, day)| day);
        let store = BudgetStore::in_memory().unwrap();
        let refresh = Some(DAY);
        let limit = to_units(budget, Round::Down).unwrap();
        let mut spent_units = [0i64; 4];
        for (eps, day) in charges {
            let now = t0() + DAY * day as u32;
            let asked = to_units(eps, Round::Up).unwrap();
            let fits = spent_units[day as usize] + asked <= limit;
            let result = store.charge("b", "d", eps, budget, refresh, now);
            prop_assert_eq!(result.is_ok(), fits, "eps {} budget {}", eps, budget);
            if fits {
                spent_units[day as usize] += asked;
            } else {
                let is_exhausted = matches!(result, Err(PrivacyError::BudgetExhausted { .. }));
                prop_assert!(is_exhausted);
            }
            let spent = store.spent("b", "d", refresh, now).unwrap();
            prop_assert!(spent <= budget, "spent {} > budget {}", spent, budget);
        }
    }
}

/// OpenDP draws its randomness from OpenSSL only with its `use-openssl`
/// feature; without it, from a generator its documentation calls
/// non-secure. The lockfile lists an optional dependency only when a
/// feature activates it, so this fails if the feature is dropped.
#[test]
fn opendp_draws_from_openssl() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("the workspace lockfile");
    let opendp = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"opendp\""))
        .expect("opendp is locked");
    assert!(
        opendp.contains("\"openssl\""),
        "OpenDP is built without `use-openssl`: its noise would not be cryptographically secure"
    );
}

#[test]
fn partition_selection_never_releases_a_singleton_and_certifies_delta() {
    for (eps, delta, min) in [
        (0.1, 1e-6, 1),
        (1.0, 1e-9, 1),
        (100.0, 1e-6, 1),
        (1.0, 1e-6, 50),
    ] {
        let s = super::selection::calibrate(eps, delta, min).unwrap();
        assert!(
            s.epsilon <= eps && s.delta <= delta,
            "{eps} {delta}: {} {}",
            s.epsilon,
            s.delta
        );
        assert!(s.threshold >= 2 && s.threshold as u64 >= min);
        let kept = s.invoke(&[1; 2000]).unwrap();
        assert!(
            kept.is_empty(),
            "a count of 1 passed threshold {}",
            s.threshold
        );
        let big = s.invoke(&[s.threshold as u64 * 4 + 1000]).unwrap();
        assert_eq!(big.len(), 1, "a large group is kept");
    }
    assert!(matches!(
        super::selection::calibrate(1.0, 0.0, 1),
        Err(PrivacyError::InvalidDelta { .. })
    ));
}

#[test]
fn private_quantiles_are_candidates_near_the_truth() {
    let values: Vec<f64> = (0..1000).map(f64::from).collect();
    for (alpha, truth) in [(0.0, 0.0), (0.5, 500.0), (1.0, 999.0)] {
        let q = super::quantile::private_quantile(&values, alpha, 0.0, 1000.0, 1.0).unwrap();
        assert!(q.epsilon <= 1.0);
        assert!(super::quantile::candidates(0.0, 1000.0).contains(&q.value));
        assert!(
            (q.value - truth).abs() < 50.0,
            "{alpha}: {} vs {truth}",
            q.value
        );
    }
}

#[test]
fn recorded_noise_replays_in_order_and_refuses_to_diverge() {
    let mut live = OpenDpNoise;
    let draws = vec![
        live.count(10, 1.0).unwrap(),
        live.sum(5.0, 0.0, 1.0, 1.0).unwrap(),
    ];
    let mut replay = RecordedNoise::new(draws.clone());
    assert_eq!(replay.count(10, 1.0).unwrap(), draws[0]);
    assert_eq!(replay.sum(5.0, 0.0, 1.0, 1.0).unwrap(), draws[1]);
    assert_eq!(replay.remaining(), 0);
    assert!(matches!(
        replay.count(10, 1.0),
        Err(PrivacyError::ReplayExhausted)
    ));
    let mut wrong = RecordedNoise::new(draws);
    assert!(matches!(
        wrong.count(11, 1.0),
        Err(PrivacyError::ReplayDiverged { .. })
    ));
}
