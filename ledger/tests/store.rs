//! The SQLite store: durability, group commit, idempotency, private records,
//! atomic batches, proofs at old sizes.

mod common;

use std::sync::Arc;

use common::*;
use sluice_ledger::audit::PrivateRecord;
use sluice_ledger::merkle::{verify_consistency, verify_inclusion};
use sluice_ledger::verify::verify_sqlite;
use sluice_ledger::{Ledger, SignedCheckpoint, SqliteLedger, verify_receipt};

#[test]
fn an_append_returns_a_receipt_that_verifies_and_sets_the_sequence() {
    let t = TempLedger::new();
    let l = t.open();
    let v = signer().verifier();
    for i in 0..5 {
        let mut e = run_event(i);
        e.sequence = 999; // whatever the caller says, the ledger assigns it
        let r = l.append(e, None).unwrap();
        assert_eq!((r.index, r.event.sequence), (i, i));
        let ok = verify_receipt(&r, &v).unwrap();
        assert_eq!((ok.tree_size, ok.origin.as_str()), (i + 1, ORIGIN));
    }
    assert_eq!(l.len().unwrap(), 5);
    let stored = l.event(3).unwrap().unwrap();
    assert_eq!(stored.envelope.id, run_event(3).id);
    assert_eq!(l.event_by_id(&run_event(4).id).unwrap().unwrap().index, 4);
    assert_eq!(
        sluice_ledger::canonical::to_vec(&stored.envelope).unwrap(),
        stored.bytes
    );
    verify_receipt(&l.receipt(0).unwrap(), &v).unwrap();
    assert_eq!(
        l.events(1, 2)
            .unwrap()
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[test]
fn appended_events_are_durable_across_reopen() {
    let t = TempLedger::new();
    let root = {
        let l = t.open();
        for i in 0..20 {
            l.append(run_event(i), None).unwrap();
        }
        l.checkpoint().unwrap()
    };
    let l = t.open();
    assert_eq!(l.len().unwrap(), 20);
    assert_eq!(l.checkpoint().unwrap(), root);
    let r = l.append(run_event(20), None).unwrap();
    assert_eq!(r.index, 20);
    verify_receipt(&r, &signer().verifier()).unwrap();
    let report = verify_sqlite(&t.path, &signer().verifier()).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!((report.events, report.checkpoints), (21, 22));
}

#[test]
fn concurrent_appends_are_group_committed_and_all_durable() {
    let t = TempLedger::new();
    let l = Arc::new(t.open());
    let threads: Vec<_> = (0..8u64)
        .map(|th| {
            let l = Arc::clone(&l);
            std::thread::spawn(move || {
                (0..40u64)
                    .map(|i| l.append(run_event(th * 1000 + i), None).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let receipts: Vec<_> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let mut indexes: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indexes.sort();
    assert_eq!(indexes, (0..320).collect::<Vec<_>>());
    let v = signer().verifier();
    receipts
        .iter()
        .for_each(|r| assert!(verify_receipt(r, &v).is_ok()));
    drop(l);
    let report = verify_sqlite(&t.path, &v).unwrap();
    assert!(report.ok && report.events == 320, "{report:?}");
    // Every checkpoint is one committed batch; there are never more than events (+ the empty one).
    assert!(report.checkpoints <= 321);
}

#[test]
fn an_event_id_is_recorded_once() {
    let t = TempLedger::new();
    let l = t.open();
    l.append(run_event(1), None).unwrap();
    let err = l.append(run_event(1), None).unwrap_err();
    assert_eq!(err.code(), "ledger.duplicate-event");
    // A request repeating an id inside itself is refused whole.
    let err = l
        .append_all(vec![(run_event(2), None), (run_event(2), None)])
        .unwrap_err();
    assert_eq!(err.code(), "ledger.duplicate-event");
    assert_eq!(l.len().unwrap(), 1);
}

#[test]
fn invalid_events_are_refused_with_the_reason() {
    let t = TempLedger::new();
    let l = t.open();
    let mut e = run_event(1);
    e.time = "yesterday".into();
    let err = l.append(e, None).unwrap_err();
    assert_eq!(err.code(), "ledger.invalid-event");
    assert!(
        err.to_string().contains("2026-11-26T15:56:00.000Z"),
        "{err}"
    );
    let mut e = run_event(1);
    e.r#type = sluice_ledger::event::TYPE_KEY.into();
    assert_eq!(
        l.append(e, None).unwrap_err().code(),
        "ledger.invalid-event"
    );
}

#[test]
fn private_records_are_stored_with_their_event_and_bound_by_the_commitment() {
    let t = TempLedger::new();
    let l = t.open();
    let record =
        PrivateRecord::seal(serde_json::json!({"fuel_exact": 1234601, "noise": ["0.25", "-1.5"]}))
            .unwrap();
    let bytes = record.to_bytes().unwrap();
    let mut e = run_event(0);
    if let sluice_ledger::EventData::Run(r) = &mut e.data {
        r.audit_commitment = Some(record.commitment().unwrap());
    }
    let id = e.id.clone();
    // Without the record, or with another one, the event is refused.
    assert_eq!(
        l.append(e.clone(), None).unwrap_err().code(),
        "ledger.audit-record"
    );
    let other = PrivateRecord::seal(serde_json::json!({"fuel_exact": 1234601}))
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(
        l.append(e.clone(), Some(other)).unwrap_err().code(),
        "ledger.audit-record"
    );
    assert_eq!(
        l.append(run_event(5), Some(bytes.clone()))
            .unwrap_err()
            .code(),
        "ledger.audit-record"
    );
    l.append(e, Some(bytes.clone())).unwrap();
    assert_eq!(l.private_record(&id).unwrap(), Some(bytes));
    // The record is not in the log: the event's bytes do not contain it.
    let stored = l.event(0).unwrap().unwrap();
    assert!(!String::from_utf8(stored.bytes).unwrap().contains("noise"));
    assert!(verify_sqlite(&t.path, &signer().verifier()).unwrap().ok);
}

#[test]
fn a_failed_batch_leaves_nothing_behind_and_the_ledger_carries_on() {
    let t = TempLedger::new();
    let l = t.open();
    l.append(run_event(0), None).unwrap();
    // Make the transaction fail after some of the batch's rows were inserted.
    t.sql()
        .execute_batch(&format!(
            "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.id = '{}' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
            run_event(3).id
        ))
        .unwrap();
    let batch = (1..5).map(|i| (run_event(i), None)).collect();
    let err = l.append_all(batch).unwrap_err();
    assert_eq!(err.code(), "ledger.write-failed");
    assert_eq!(l.len().unwrap(), 1);
    let n: i64 = t
        .sql()
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "no event of the failed batch may be on disk");
    t.sql().execute_batch("DROP TRIGGER boom;").unwrap();
    let r = l.append(run_event(1), None).unwrap();
    assert_eq!(r.index, 1);
    verify_receipt(&r, &signer().verifier()).unwrap();
    drop(l);
    assert!(verify_sqlite(&t.path, &signer().verifier()).unwrap().ok);
}

#[test]
fn one_writer_per_file() {
    let t = TempLedger::new();
    let first = t.open();
    let err = SqliteLedger::open(&t.path, signer()).err().unwrap();
    assert_eq!(err.code(), "ledger.locked");
    assert!(err.to_string().contains("another process"), "{err}");
    // Auditors read while the node writes.
    first.append(run_event(0), None).unwrap();
    assert!(verify_sqlite(&t.path, &signer().verifier()).unwrap().ok);
    drop(first);
    t.open();
}

#[test]
fn a_file_opens_only_with_its_own_key_and_only_if_untampered() {
    let t = ledger_with(3);
    let other =
        sluice_ledger::NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[1; 32]))
            .unwrap();
    let err = SqliteLedger::open(&t.path, other).err().unwrap();
    assert_eq!(err.code(), "ledger.key-mismatch");
    t.sql()
        .execute(
            "UPDATE events SET leaf_hash = zeroblob(32) WHERE idx = 1",
            [],
        )
        .unwrap();
    let err = SqliteLedger::open(&t.path, signer()).err().unwrap();
    assert_eq!(err.code(), "ledger.corrupt");
    assert!(err.to_string().contains("ledger verify"), "{err}");
}

#[test]
fn proofs_at_old_sizes_verify_against_old_checkpoints() {
    let t = ledger_with(13);
    let l = t.open();
    let cps: Vec<SignedCheckpoint> = l.checkpoints().unwrap();
    assert_eq!(cps.len(), 14);
    let latest = l.checkpoint().unwrap();
    for cp in cps.iter().filter(|c| c.size > 0) {
        let proof = l.consistency_proof(cp.size, latest.size).unwrap();
        verify_consistency(cp.size, &cp.root, latest.size, &latest.root, &proof).unwrap();
        let idx = cp.size / 2;
        let event = l.event(idx).unwrap().unwrap();
        let proof = l.inclusion_proof(idx, cp.size).unwrap();
        verify_inclusion(&event.bytes, idx, cp.size, &cp.root, &proof).unwrap();
    }
    let (a, b) = (&cps[4], &cps[9]);
    let proof = l.consistency_proof(a.size, b.size).unwrap();
    verify_consistency(a.size, &a.root, b.size, &b.root, &proof).unwrap();
    assert_eq!(
        l.inclusion_proof(13, 13).unwrap_err().code(),
        "ledger.bad-proof-request"
    );
    assert_eq!(
        l.consistency_proof(5, 14).unwrap_err().code(),
        "ledger.bad-proof-request"
    );
}
