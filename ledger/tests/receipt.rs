//! Receipts verify offline with only the receipt and the node's verifier key
//! text, and every changed field fails with a precise error.

mod common;

use common::*;
use sluice_ledger::event::EventData;
use sluice_ledger::{Ledger, NoteVerifier, Receipt, verify_receipt};

fn receipt_json() -> (String, String) {
    let t = TempLedger::new();
    let l = t.open();
    for i in 0..6 {
        l.append(run_event(i), None).unwrap();
    }
    let r = l.receipt(3).unwrap();
    (
        serde_json::to_string_pretty(&r).unwrap(),
        signer().verifier().vkey(),
    )
}

fn check(r: &Receipt, vkey: &str) -> Result<(), &'static str> {
    verify_receipt(r, &NoteVerifier::parse(vkey).unwrap())
        .map(|_| ())
        .map_err(|e| e.code())
}

#[test]
fn a_receipt_verifies_from_its_json_and_the_key_text_alone() {
    let (json, vkey) = receipt_json();
    let r: Receipt = serde_json::from_str(&json).unwrap();
    let ok = verify_receipt(&r, &NoteVerifier::parse(&vkey).unwrap()).unwrap();
    assert_eq!(
        (ok.index, ok.tree_size, ok.event_id),
        (3, 6, run_event(3).id)
    );
}

#[test]
fn every_changed_field_fails_with_a_precise_error() {
    let (json, vkey) = receipt_json();
    let good: Receipt = serde_json::from_str(&json).unwrap();
    let with = |f: &dyn Fn(&mut Receipt)| {
        let mut r = good.clone();
        f(&mut r);
        check(&r, &vkey)
    };
    let run = |f: &dyn Fn(&mut sluice_ledger::RunEvent)| {
        with(&|r: &mut Receipt| {
            if let EventData::Run(run) = &mut r.event.data {
                f(run)
            }
        })
    };
    assert_eq!(run(&|r| r.fuel_consumed += 1), Err("receipt.leaf-mismatch"));
    assert_eq!(
        run(&|r| r.decision = "released".into()),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        run(&|r| r.charges[0].amount = dec("0")),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(run(&|r| r.buyer = None), Err("receipt.leaf-mismatch"));
    assert_eq!(
        run(&|r| r.output_hash = Some("00".repeat(32))),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        with(&|r| r.event.id.push('x')),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        with(&|r| r.event.time = "2030-01-01T00:00:00.000Z".into()),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        with(&|r| r.event.traceparent = None),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        with(&|r| r.event.source.push('x')),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(with(&|r| r.index = 2), Err("receipt.index-mismatch"));
    assert_eq!(
        with(&|r| {
            r.index = 2;
            r.event.sequence = 2
        }),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        with(&|r| r.leaf_hash = "00".repeat(32)),
        Err("receipt.leaf-mismatch")
    );
    assert_eq!(
        with(&|r| r.leaf_hash = "zz".into()),
        Err("receipt.bad-hash")
    );
    assert_eq!(
        with(&|r| r.checkpoint = r.checkpoint.replacen("\n6\n", "\n7\n", 1)),
        Err("receipt.bad-checkpoint")
    );
    assert_eq!(
        with(&|r| r.checkpoint.push('x')),
        Err("receipt.bad-checkpoint")
    );
    assert_eq!(
        with(&|r| r.inclusion_proof[0] = "11".repeat(32)),
        Err("receipt.bad-proof")
    );
    assert_eq!(
        with(&|r| r.inclusion_proof.reverse()),
        Err("receipt.bad-proof")
    );
    assert_eq!(
        with(&|r| r.inclusion_proof.pop().map(drop).unwrap_or(())),
        Err("receipt.bad-proof")
    );
    assert_eq!(
        with(&|r| r.inclusion_proof.push("11".repeat(32))),
        Err("receipt.bad-proof")
    );
    // An event and leaf hash changed together still fail: the proof no longer reaches the root.
    let forged = with(&|r| {
        if let EventData::Run(run) = &mut r.event.data {
            run.fuel_consumed = 1;
        }
        let bytes = sluice_ledger::canonical::to_vec(&r.event).unwrap();
        r.leaf_hash = hex::encode(sluice_ledger::merkle::leaf_hash(&bytes));
    });
    assert_eq!(forged, Err("receipt.bad-proof"));
    // Another node's key does not open it.
    let other =
        sluice_ledger::NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
            .unwrap();
    assert_eq!(
        check(&good, &other.verifier().vkey()),
        Err("receipt.bad-checkpoint")
    );
    // Unknown fields in the JSON are refused rather than ignored.
    let padded = json.replacen("{", "{\"extra\": 1,", 1);
    assert!(serde_json::from_str::<Receipt>(&padded).is_err());
}

#[test]
fn a_receipt_error_says_what_was_wrong() {
    let (json, vkey) = receipt_json();
    let mut r: Receipt = serde_json::from_str(&json).unwrap();
    r.inclusion_proof[1] = "22".repeat(32);
    let err = verify_receipt(&r, &NoteVerifier::parse(&vkey).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("inclusion proof does not lead to the checkpoint's root"),
        "{err}"
    );
}
