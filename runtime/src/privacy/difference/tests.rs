use roaring::RoaringBitmap;

use super::history::History;
use super::*;

fn pair(buyer: &str) -> Pair {
    Pair {
        buyer: buyer.into(),
        snapshot: "snap".into(),
        dataset: "patients".into(),
    }
}

fn set(rows: std::ops::Range<u32>) -> RoaringBitmap {
    rows.collect()
}

#[test]
fn released_sets_persist_across_runs_and_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("differences.sqlite");
    {
        let store = DifferenceStore::open(&path).unwrap();
        let mut run = History::new(10);
        let refused = store
            .check_and_record(&pair("b"), &mut run, &[set(0..100), set(100..200)])
            .unwrap();
        assert_eq!(refused, [false, false]);
    }
    // A later run, after a restart: the new history starts empty and loads.
    let store = DifferenceStore::open(&path).unwrap();
    assert_eq!(store.count(&pair("b")).unwrap(), 2);
    let mut later = History::new(10);
    let refused = store
        .check_and_record(&pair("b"), &mut later, &[set(0..101), set(100..200)])
        .unwrap();
    assert_eq!(refused, [true, false], "one row more than a released group");
    // The repeat passes and is not remembered twice; the refused set is not
    // remembered at all.
    assert_eq!(store.count(&pair("b")).unwrap(), 2);
    // Another buyer has its own history.
    let mut other = History::new(10);
    let refused = store
        .check_and_record(&pair("c"), &mut other, &[set(0..101)])
        .unwrap();
    assert_eq!(refused, [false]);
}

#[test]
fn two_runs_at_once_see_each_others_releases() {
    let store = DifferenceStore::in_memory().unwrap();
    // Both runs started before either released anything.
    let mut first = History::new(10);
    let mut second = History::new(10);
    let a = store
        .check_and_record(&pair("b"), &mut first, &[set(0..100)])
        .unwrap();
    let b = store
        .check_and_record(&pair("b"), &mut second, &[set(0..99)])
        .unwrap();
    assert_eq!((a, b), (vec![false], vec![true]));
}

#[test]
fn a_larger_minimum_group_size_recomputes_the_anchors() {
    let store = DifferenceStore::in_memory().unwrap();
    let mut small = History::new(2);
    store
        .check_and_record(&pair("b"), &mut small, &[set(0..100)])
        .unwrap();
    // Under k = 50 the stored 2 anchors are not enough: rows 0..40 missing
    // would hide both of them.
    let mut large = History::new(50);
    let refused = store
        .check_and_record(&pair("b"), &mut large, &[set(40..100)])
        .unwrap();
    assert_eq!(refused, [true]);
}

#[test]
fn a_full_history_refuses_instead_of_answering_unchecked() {
    let store = DifferenceStore::in_memory().unwrap();
    let mut h = History::new(1);
    let sets: Vec<RoaringBitmap> = (0..MAX_SETS as u32 + 1).map(|i| set(i..i + 1)).collect();
    let e = store
        .check_and_record(&pair("b"), &mut h, &sets)
        .unwrap_err();
    assert!(matches!(e, PrivacyError::HistoryFull { .. }), "{e}");
    assert_eq!(store.count(&pair("b")).unwrap(), 0, "nothing recorded");
}
