//! Tampering with the SQLite file by hand is caught by `verify`, which names
//! the first bad index (or the checkpoint).

mod common;

use common::*;
use sluice_ledger::Ledger;
use sluice_ledger::verify::{VerifyReport, verify_sqlite};

fn audit(t: &TempLedger) -> VerifyReport {
    verify_sqlite(&t.path, &signer().verifier()).unwrap()
}

fn codes(r: &VerifyReport) -> Vec<&str> {
    r.problems.iter().map(|p| p.code).collect()
}

#[test]
fn an_untouched_ledger_verifies() {
    let t = ledger_with(10);
    let r = audit(&t);
    assert!(r.ok, "{r:?}");
    assert_eq!(
        (r.events, r.checkpoints, r.first_bad_index, r.verified_size),
        (10, 11, None, Some(10))
    );
}

#[test]
fn an_edited_body_is_caught_at_its_index() {
    let t = ledger_with(10);
    let body: Vec<u8> = t
        .sql()
        .query_row("SELECT body FROM events WHERE idx = 4", [], |r| r.get(0))
        .unwrap();
    let edited = String::from_utf8(body)
        .unwrap()
        .replace("\"bytes_fed\":2500000", "\"bytes_fed\":2400000");
    t.sql()
        .execute(
            "UPDATE events SET body = ?1 WHERE idx = 4",
            [edited.as_bytes()],
        )
        .unwrap();
    let r = audit(&t);
    assert!(!r.ok);
    assert_eq!(r.first_bad_index, Some(4), "{r:?}");
    assert!(codes(&r).contains(&"verify.leaf-hash-mismatch"));
}

#[test]
fn an_edit_that_also_fixes_the_leaf_hash_is_caught_by_the_signed_roots() {
    let t = ledger_with(10);
    let body: Vec<u8> = t
        .sql()
        .query_row("SELECT body FROM events WHERE idx = 6", [], |r| r.get(0))
        .unwrap();
    let edited = String::from_utf8(body)
        .unwrap()
        .replace("\"wall_ms\":12", "\"wall_ms\":13");
    let leaf = sluice_ledger::merkle::leaf_hash(edited.as_bytes());
    t.sql()
        .execute(
            "UPDATE events SET body = ?1, leaf_hash = ?2 WHERE idx = 6",
            rusqlite::params![edited.as_bytes(), &leaf[..]],
        )
        .unwrap();
    let r = audit(&t);
    assert_eq!(
        (r.ok, r.first_bad_index, r.bad_checkpoint),
        (false, Some(6), Some(7)),
        "{r:?}"
    );
    assert!(codes(&r).contains(&"verify.root-mismatch"));
}

#[test]
fn a_non_canonical_rewrite_is_caught() {
    let t = ledger_with(5);
    let body: Vec<u8> = t
        .sql()
        .query_row("SELECT body FROM events WHERE idx = 2", [], |r| r.get(0))
        .unwrap();
    let spaced = format!(" {}", String::from_utf8(body).unwrap());
    let leaf = sluice_ledger::merkle::leaf_hash(spaced.as_bytes());
    t.sql()
        .execute(
            "UPDATE events SET body = ?1, leaf_hash = ?2 WHERE idx = 2",
            rusqlite::params![spaced.as_bytes(), &leaf[..]],
        )
        .unwrap();
    let r = audit(&t);
    assert_eq!(r.first_bad_index, Some(2));
    assert!(codes(&r).contains(&"verify.not-canonical"), "{r:?}");
}

#[test]
fn a_deleted_row_is_caught_at_its_index() {
    let t = ledger_with(10);
    t.sql()
        .execute("DELETE FROM events WHERE idx = 3", [])
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(3)), "{r:?}");
    assert!(codes(&r).contains(&"verify.missing-event"));
}

#[test]
fn a_deleted_last_row_is_caught() {
    let t = ledger_with(10);
    t.sql()
        .execute("DELETE FROM events WHERE idx = 9", [])
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(9)), "{r:?}");
    assert!(codes(&r).contains(&"verify.missing-tail"));
}

#[test]
fn swapped_rows_are_caught_at_the_first() {
    let t = ledger_with(10);
    let c = t.sql();
    c.execute_batch(
        "UPDATE events SET idx = -1 WHERE idx = 2; UPDATE events SET idx = 2 WHERE idx = 7; UPDATE events SET idx = 7 WHERE idx = -1;",
    )
    .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(2)), "{r:?}");
    assert!(codes(&r).contains(&"verify.out-of-order"));
}

#[test]
fn an_inserted_row_is_caught() {
    // At the end: a well-formed event with the right sequence and leaf hash, but no signed checkpoint.
    let t = ledger_with(6);
    let mut forged = run_event(100);
    forged.sequence = 6;
    let body = sluice_ledger::canonical::to_vec(&forged).unwrap();
    let leaf = sluice_ledger::merkle::leaf_hash(&body);
    t.sql()
        .execute(
            "INSERT INTO events (idx, id, time, body, leaf_hash) VALUES (6, ?1, ?2, ?3, ?4)",
            rusqlite::params![forged.id, forged.time, body, &leaf[..]],
        )
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(6)), "{r:?}");
    assert!(codes(&r).contains(&"verify.uncovered-events"));

    // In the middle: later rows shifted up by one to make room.
    let t = ledger_with(6);
    let c = t.sql();
    c.execute_batch("UPDATE events SET idx = idx + 100 WHERE idx >= 3; UPDATE events SET idx = idx - 99 WHERE idx >= 100;").unwrap();
    let mut forged = run_event(200);
    forged.sequence = 3;
    let body = sluice_ledger::canonical::to_vec(&forged).unwrap();
    let leaf = sluice_ledger::merkle::leaf_hash(&body);
    c.execute(
        "INSERT INTO events (idx, id, time, body, leaf_hash) VALUES (3, ?1, ?2, ?3, ?4)",
        rusqlite::params![forged.id, forged.time, body, &leaf[..]],
    )
    .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(3)), "{r:?}");
}

#[test]
fn an_edited_checkpoint_is_named() {
    let t = ledger_with(5);
    let note: String = t
        .sql()
        .query_row("SELECT note FROM checkpoints WHERE size = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    let forged = note.replacen("\n3\n", "\n4\n", 1);
    t.sql()
        .execute("UPDATE checkpoints SET note = ?1 WHERE size = 3", [forged])
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.bad_checkpoint), (false, Some(3)), "{r:?}");
    assert!(codes(&r).contains(&"verify.bad-checkpoint"));
    // A root column changed under a valid note is caught too.
    let t = ledger_with(5);
    t.sql()
        .execute(
            "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 2",
            [],
        )
        .unwrap();
    assert_eq!(audit(&t).bad_checkpoint, Some(2));
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let t = ledger_with(4);
    let rogue =
        sluice_ledger::NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[9; 32]))
            .unwrap();
    let l = t.open();
    let cp = l.checkpoint().unwrap();
    drop(l);
    let forged = sluice_ledger::SignedCheckpoint::sign(cp.size, cp.root, &rogue).unwrap();
    t.sql()
        .execute(
            "UPDATE checkpoints SET note = ?1 WHERE size = 4",
            [forged.note],
        )
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.bad_checkpoint), (false, Some(4)), "{r:?}");
}

#[test]
fn a_swapped_private_record_is_caught() {
    let t = TempLedger::new();
    let l = t.open();
    for i in 0..2 {
        let rec = sluice_ledger::audit::PrivateRecord::seal(serde_json::json!({"fuel_exact": i}))
            .unwrap();
        let mut e = run_event(i);
        if let sluice_ledger::EventData::Run(r) = &mut e.data {
            r.audit_commitment = Some(rec.commitment().unwrap());
        }
        l.append(e, Some(rec.to_bytes().unwrap())).unwrap();
    }
    drop(l);
    let other =
        sluice_ledger::audit::PrivateRecord::seal(serde_json::json!({"fuel_exact": 99})).unwrap();
    t.sql()
        .execute(
            "UPDATE private_records SET record = ?1 WHERE event_id = ?2",
            rusqlite::params![other.to_bytes().unwrap(), run_event(1).id],
        )
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(1)), "{r:?}");
    assert!(codes(&r).contains(&"verify.private-record"));
}

#[test]
fn large_ledgers_are_checked_in_order_across_parallel_chunks() {
    let t = TempLedger::new();
    let l = t.open();
    for start in (0..9000u64).step_by(500) {
        l.append_all((start..start + 500).map(|i| (run_event(i), None)).collect())
            .unwrap();
    }
    drop(l);
    let r = audit(&t);
    assert!(r.ok && r.events == 9000 && r.checkpoints == 19, "{r:?}");
    // Swap two events on either side of a chunk boundary (4096).
    t.sql()
        .execute_batch("UPDATE events SET idx = -1 WHERE idx = 4095; UPDATE events SET idx = 4095 WHERE idx = 8191; UPDATE events SET idx = 8191 WHERE idx = -1;")
        .unwrap();
    let r = audit(&t);
    assert_eq!((r.ok, r.first_bad_index), (false, Some(4095)), "{r:?}");
    let bad: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.code == "verify.out-of-order")
        .filter_map(|p| p.index)
        .collect();
    assert_eq!(bad, [4095, 8191]);
}

#[test]
fn the_audit_through_the_ledger_trait_finds_the_same_edit() {
    let t = ledger_with(8);
    let l = t.open();
    let v = signer().verifier();
    assert!(sluice_ledger::verify::verify_ledger(&l, &v).unwrap().ok);
    let body: Vec<u8> = t
        .sql()
        .query_row("SELECT body FROM events WHERE idx = 5", [], |r| r.get(0))
        .unwrap();
    let edited = String::from_utf8(body)
        .unwrap()
        .replace("\"rows_fed\":1000", "\"rows_fed\":1001");
    t.sql()
        .execute(
            "UPDATE events SET body = ?1 WHERE idx = 5",
            [edited.as_bytes()],
        )
        .unwrap();
    let r = sluice_ledger::verify::verify_ledger(&l, &v).unwrap();
    assert_eq!((r.ok, r.first_bad_index), (false, Some(5)), "{r:?}");
}
