//! Decode ahead: batches arrive in order with the same reported costs
//! whatever the decoder's timing, and the decoder holds no more than its
//! budget (nothing at all with a budget of zero).

use std::time::{Duration, Instant};

use super::write;
use crate::data::feed::SLOTS;
use crate::data::{Dataset, Feed, ScanColumn};

fn dataset(dir: &tempfile::TempDir, rows: usize) -> Dataset {
    let mut text = String::from("k,v\n");
    for i in 0..rows {
        text.push_str(&format!("{},{}\n", ["a", "b", "c"][i % 3], i));
    }
    Dataset::open("f", &write(dir.path(), "f.csv", text.as_bytes())).unwrap()
}

fn start(d: &Dataset, budget: u64) -> Feed {
    let columns = vec![
        ScanColumn {
            index: 0,
            dictionary: true,
        },
        ScanColumn {
            index: 1,
            dictionary: false,
        },
    ];
    Feed::start(
        d,
        columns,
        vec!["k".into(), "v".into()],
        300,
        vec![0],
        budget,
    )
    .unwrap()
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

/// Waits (up to a minute) until the decoder holds something.
fn until_queued(feed: &Feed) -> u64 {
    let until = Instant::now() + Duration::from_secs(60);
    while feed.queued() == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    feed.queued()
}

#[test]
fn batches_come_in_order_with_the_same_costs_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dataset(&dir, 1000);
    let run = |budget: u64| {
        let mut feed = start(&d, budget);
        let mut seen = Vec::new();
        while let Some(p) = feed.next(far()).unwrap() {
            assert_eq!(p.observed.len(), 1);
            seen.push((
                p.fed.batch.rows,
                p.fed.bytes,
                p.fed.dictionary_entries,
                p.fed.dictionary_bytes,
                p.bytes,
            ));
        }
        seen
    };
    let seen = run(u64::MAX);
    let rows: Vec<u32> = seen.iter().map(|s| s.0).collect();
    assert_eq!(rows, [300, 300, 300, 100]);
    assert!(seen.iter().all(|s| s.1 > 0 && s.2 > 0 && s.4 > s.1));
    assert!(seen[0].3 > 0, "the dictionary grew with the first batch");
    assert_eq!(seen[1].3, 0, "and not with later ones (three keys)");
    assert_eq!(run(0), seen, "costs do not depend on the decoder's timing");
}

#[test]
fn the_decoder_holds_no_more_than_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let d = dataset(&dir, 3000);
    let mut on_demand = start(&d, 0);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        on_demand.queued(),
        0,
        "budget 0: nothing is decoded unasked"
    );
    let first = on_demand.next(far()).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(on_demand.queued(), 0);

    let budget = SLOTS * first.bytes;
    let mut ahead = start(&d, budget);
    assert!(until_queued(&ahead) > 0, "a budget lets it decode ahead");
    std::thread::sleep(Duration::from_millis(100));
    assert!(ahead.queued() <= budget, "{} > {budget}", ahead.queued());
    let mut rows = 0;
    while let Some(p) = ahead.next(far()).unwrap() {
        assert!(ahead.queued() <= budget);
        rows += p.fed.batch.rows;
    }
    assert_eq!(rows, 3000);
}
