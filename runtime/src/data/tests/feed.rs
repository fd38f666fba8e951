//! Decode ahead: batches arrive in order with deterministic cost reports,
//! held memory is counted, and a cap stops the feed.

use std::time::{Duration, Instant};

use super::write;
use crate::data::feed::{AHEAD, CappedMeter};
use crate::data::{BatchWork, Dataset, Feed, FeedMeter, FeedStop, NoMeter, ScanColumn};
use crate::outcome::Abort;

fn dataset(dir: &tempfile::TempDir, rows: usize) -> Dataset {
    let mut text = String::from("k,v\n");
    for i in 0..rows {
        text.push_str(&format!("{},{}\n", ["a", "b", "c"][i % 3], i));
    }
    Dataset::open("f", &write(dir.path(), "f.csv", text.as_bytes())).unwrap()
}

#[derive(Default)]
struct Recording(Vec<BatchWork>, Vec<u32>);

impl FeedMeter for Recording {
    fn batch(&mut self, _: u32, work: &BatchWork) -> Result<(), Abort> {
        self.0.push(*work);
        Ok(())
    }
    fn closed(&mut self, scan: u32) {
        self.1.push(scan);
    }
}

fn columns() -> (Vec<ScanColumn>, Vec<String>) {
    (
        vec![
            ScanColumn {
                index: 0,
                dictionary: true,
            },
            ScanColumn {
                index: 1,
                dictionary: false,
            },
        ],
        vec!["k".into(), "v".into()],
    )
}

#[test]
fn batches_come_in_order_with_the_same_costs_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dataset(&dir, 1000);
    let run = || {
        let (cols, names) = columns();
        let mut feed = Feed::start(7, &d, cols, names, 300, vec![0]).unwrap();
        let mut meter = Recording::default();
        let mut rows = Vec::new();
        while let Some(p) = feed.next(&mut meter).unwrap() {
            assert_eq!(p.observed.len(), 1);
            rows.push(p.fed.batch.rows);
        }
        (rows, meter.0, meter.1)
    };
    let (rows, work, closed) = run();
    assert_eq!(rows, [300, 300, 300, 100]);
    assert_eq!(closed, [7]);
    assert!(
        work.iter()
            .all(|w| w.hashed_bytes > 0 && w.encoded_bytes > 0 && w.decoded_bytes > 0)
    );
    let largest = work.iter().map(|w| w.encoded_bytes).max().unwrap();
    assert!(work[3].held_bytes >= AHEAD as u64 * largest);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(run().1, work, "costs do not depend on the decoder's timing");
}

#[test]
fn the_memory_cap_stops_a_feed_and_closing_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dataset(&dir, 1000);
    let (cols, names) = columns();
    let mut feed = Feed::start(1, &d, cols, names, 300, vec![]).unwrap();
    let mut meter = CappedMeter::new(100, Instant::now() + Duration::from_secs(60));
    match feed.next(&mut meter) {
        Err(FeedStop::Meter(Abort::Memory { limit_bytes: 100 })) => {}
        other => panic!(
            "expected a memory stop, got {:?}",
            other.map(|p| p.map(|p| p.work))
        ),
    }
    assert!(meter.held() > 100);
    feed.close(&mut meter);
    assert_eq!(meter.held(), 0);
    let (cols, names) = columns();
    let mut open = Feed::start(2, &d, cols, names, 300, vec![]).unwrap();
    assert!(open.next(&mut NoMeter).unwrap().is_some());
}
