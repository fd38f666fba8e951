//! Billing reports from the ledger, and their recomputation from an export alone.

mod common;

use common::*;
use sluice_ledger::billing::{GroupBy, recompute, recompute_export, report};
use sluice_ledger::export::write_export;
use sluice_ledger::{Envelope, Ledger};

fn ledger_events(n: u64) -> (TempLedger, Vec<Envelope>) {
    let t = ledger_with(n);
    let l = t.open();
    let events = l
        .events(0, n)
        .unwrap()
        .into_iter()
        .map(|e| e.envelope)
        .collect();
    (t, events)
}

#[test]
fn report_by_dataset_and_buyer_adds_recorded_charges() {
    let (_t, events) = ledger_events(8);
    let by_ds = report(&events, GroupBy::Dataset, None, None).unwrap();
    let keys: Vec<_> = by_ds.lines.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["clinics", "sales"]);
    let sales = &by_ds.lines[1];
    // events 0,2,4,6: released, denied, released, denied
    assert_eq!(
        (sales.runs, sales.denied, sales.bytes_released),
        (4, 2, 2 * 1536)
    );
    let sum: rust_decimal::Decimal = events
        .iter()
        .flat_map(|e| e.run().unwrap().charges.iter().map(|c| c.amount))
        .sum();
    assert_eq!(by_ds.totals[0].amount, sum);
    let by_buyer = report(&events, GroupBy::Buyer, None, None).unwrap();
    assert_eq!(by_buyer.lines.iter().map(|l| l.runs).sum::<u64>(), 8);
    assert_eq!(by_buyer.totals, by_ds.totals);
}

#[test]
fn a_period_is_inclusive_start_exclusive_end() {
    let (_t, events) = ledger_events(8);
    // Event n is at 15:56 + n minutes.
    let r = report(
        &events,
        GroupBy::Dataset,
        Some("2026-11-26T15:58:00.000Z"),
        Some("2026-11-26T16:01:00.000Z"),
    )
    .unwrap();
    assert_eq!(r.lines.iter().map(|l| l.runs).sum::<u64>(), 3);
    let r = report(&events, GroupBy::Dataset, Some("2026-11-27"), None).unwrap();
    assert!(r.lines.is_empty());
    assert_eq!(
        report(&events, GroupBy::Dataset, Some("last week"), None)
            .unwrap_err()
            .code(),
        "billing.bad-period"
    );
}

#[test]
fn csv_and_json_renderings() {
    let (_t, events) = ledger_events(4);
    let r = report(&events, GroupBy::Dataset, None, None).unwrap();
    let csv = r.to_csv();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("key,currency,runs,denied,fuel,bytes_fed,bytes_released,aggregate_queries,amount")
    );
    assert_eq!(csv.lines().count(), 1 + r.lines.len() + r.totals.len());
    assert!(csv.lines().last().unwrap().starts_with("TOTAL,EUR,"));
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["group_by"], "dataset");
    assert!(json["totals"][0]["amount"].is_string());
}

#[test]
fn the_bill_is_recomputed_from_the_export_alone() {
    let (t, events) = ledger_events(12);
    let l = t.open();
    let mut export = Vec::new();
    assert_eq!(
        write_export(&l, &l.verifier().vkey(), &mut export).unwrap(),
        12
    );
    let from_ledger = report(&events, GroupBy::Buyer, None, None).unwrap();
    let checked = recompute_export(&export[..], GroupBy::Buyer, None, None).unwrap();
    assert!(checked.mismatches.is_empty(), "{:?}", checked.mismatches);
    assert_eq!(checked.report, from_ledger);
    // The export also verifies offline, with only the node's key.
    let v = sluice_ledger::verify::verify_export(&export[..], &signer().verifier()).unwrap();
    assert!(v.ok && v.events == 12, "{v:?}");
}

#[test]
fn an_overcharge_is_found() {
    let (_t, mut events) = ledger_events(4);
    if let sluice_ledger::EventData::Run(r) = &mut events[2].data {
        r.charges[0].amount += dec("1");
    }
    let checked = recompute(&events, GroupBy::Dataset, None, None).unwrap();
    assert_eq!(checked.mismatches.len(), 1);
    assert_eq!(
        (
            checked.mismatches[0].index,
            checked.mismatches[0].event_id.as_str()
        ),
        (2, run_event(2).id.as_str())
    );
}

#[test]
fn an_edited_export_fails_verification_at_the_edited_event() {
    let (t, _) = ledger_events(6);
    let l = t.open();
    let mut export = Vec::new();
    write_export(&l, &l.verifier().vkey(), &mut export).unwrap();
    let text = String::from_utf8(export).unwrap();
    let line = text.lines().find(|l| l.contains("\"index\":4,")).unwrap();
    let edited = text.replace(
        line,
        &line.replace("\"bytes_fed\":2500000", "\"bytes_fed\":1"),
    );
    let v = sluice_ledger::verify::verify_export(edited.as_bytes(), &signer().verifier()).unwrap();
    assert_eq!((v.ok, v.first_bad_index), (false, Some(4)), "{v:?}");
}
