//! The streamed size equals the canonical encoding, the caps are checked
//! before converting, and conversion is charged and reserved.

use proptest::prelude::*;
use sluice_host_api::types::{ColumnValues, OutputColumn as WitColumn, Table as WitTable};

use super::*;

fn values() -> impl Strategy<Value = ColumnValues> {
    let n = 0..12usize;
    prop_oneof![
        proptest::collection::vec(proptest::option::of(any::<i64>()), n.clone())
            .prop_map(ColumnValues::Int64),
        proptest::collection::vec(
            proptest::option::of(prop_oneof![
                any::<f64>(),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(-0.0)
            ]),
            n.clone()
        )
        .prop_map(ColumnValues::Float64),
        proptest::collection::vec(proptest::option::of(any::<bool>()), n.clone())
            .prop_map(ColumnValues::Boolean),
        proptest::collection::vec(proptest::option::of(".{0,8}"), n).prop_map(ColumnValues::Utf8),
    ]
}

fn table() -> impl Strategy<Value = WitTable> {
    proptest::collection::vec(("[a-z\"\\\\é]{0,4}", values()), 0..4).prop_map(|cols| WitTable {
        columns: cols
            .into_iter()
            .map(|(name, values)| WitColumn { name, values })
            .collect(),
    })
}

proptest! {
    #[test]
    fn the_streamed_size_is_the_canonical_size(t in table()) {
        let bytes = OutputTable::from(t.clone()).canonical_bytes();
        prop_assert_eq!(canonical_size(&t, u64::MAX), Some(bytes.len()));
        let n = bytes.len() as u64;
        prop_assert_eq!(canonical_size(&t, n), Some(bytes.len()));
        if n > 0 {
            prop_assert_eq!(canonical_size(&t, n - 1), None);
        }
    }

    #[test]
    fn shape_checks_agree_with_the_release_rules(t in table()) {
        let rows = t.columns.first().map_or(0, |c| len(&c.values));
        let host = OutputTable::from(t.clone());
        let limits = Limits { output_rows: u64::MAX, output_bytes: u64::MAX, ..Limits::default() };
        let rule = host.check(0, &limits);
        prop_assert_eq!(malformed(&t, rows), rule == Err(Withholding::MalformedOutput));
    }
}

fn utf8(name: &str, rows: usize, value: &str) -> WitTable {
    WitTable {
        columns: vec![WitColumn {
            name: name.into(),
            values: ColumnValues::Utf8(vec![Some(value.to_string()); rows]),
        }],
    }
}

fn limits(rows: u64, bytes: u64) -> Limits {
    Limits {
        output_rows: rows,
        output_bytes: bytes,
        ..Limits::default()
    }
}

#[test]
fn rows_are_checked_before_anything_is_converted() {
    let mut meter = Meter::unlimited();
    let r = convert(utf8("a", 11, "x"), &limits(10, u64::MAX), &mut meter).unwrap();
    assert_eq!(r.err(), Some(Withholding::OutputRows { limit: 10 }));
    assert_eq!(meter.host_fuel(), 0, "nothing converted, nothing charged");
}

#[test]
fn bytes_are_measured_without_converting() {
    let mut meter = Meter::unlimited();
    let t = utf8("a", 100, "0123456789");
    let r = convert(t, &limits(1000, 500), &mut meter).unwrap();
    assert_eq!(r.err(), Some(Withholding::OutputBytes { limit: 500 }));
    assert_eq!(meter.memory().host_used(), 0, "reservations are given back");
}

#[test]
fn a_table_within_the_caps_is_converted_and_charged() {
    let mut meter = Meter::unlimited();
    let t = utf8("a", 100, "0123456789");
    let expected = OutputTable::from(t.clone()).canonical_bytes();
    let c = convert(t, &limits(1000, 10_000), &mut meter)
        .unwrap()
        .unwrap();
    assert_eq!(c.bytes, expected);
    assert_eq!(
        meter.host_fuel(),
        100 * (schedule::OUTPUT_VALUE + schedule::OUTPUT_STRING)
            + schedule::bytes(expected.len() as u64)
    );
}

#[test]
fn conversion_that_would_pass_the_memory_cap_stops_the_run() {
    let far = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let account = super::super::memory::MemoryAccount::new(20_000);
    let mut meter = Meter::new(account, far, false);
    let t = utf8("a", 200, "0123456789");
    let r = convert(t, &limits(1000, 1 << 20), &mut meter);
    assert_eq!(r.err(), Some(HostAbort::Memory));
    assert_eq!(meter.tripped(), Some(HostAbort::Memory));
}

#[test]
fn lifted_sizes_count_every_heap_block() {
    let t = utf8("ab", 3, "x");
    let expected = heap(3 * 24) + 3 * 32 + heap(2) + heap(size_of::<WitColumn>());
    assert_eq!(lifted_bytes(&t), expected);
}
