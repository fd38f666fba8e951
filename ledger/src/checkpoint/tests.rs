//! Known answers from golang.org/x/mod/sumdb/note (note_test.go and its
//! package documentation) and checkpoint round trips.

use super::*;

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_keys_parse_and_hash() {
    let v = NoteVerifier::parse(PETER_VKEY).unwrap();
    assert_eq!(v.name(), "PeterNeumann");
    assert_eq!(v.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(v.vkey(), PETER_VKEY);
    let s = NoteSigner::parse(PETER_SKEY).unwrap();
    assert_eq!(s.verifier(), v);
    assert_eq!(s.skey(), PETER_SKEY);
    // The Go checksum database's key, pinned in every Go toolchain.
    let sum =
        NoteVerifier::parse("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8")
            .unwrap();
    assert_eq!(sum.key_id(), [0x03, 0x3d, 0xe0, 0xae]);
}

#[test]
fn go_note_signature_is_reproduced_byte_for_byte() {
    let s = NoteSigner::parse(PETER_SKEY).unwrap();
    assert_eq!(s.sign(TEXT).unwrap(), SIGNED);
    assert_eq!(s.verifier().open(SIGNED).unwrap(), TEXT);
}

#[test]
fn go_bad_keys_are_refused() {
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
    ] {
        assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn altered_notes_fail_with_the_reason() {
    let v = NoteVerifier::parse(PETER_VKEY).unwrap();
    let altered = SIGNED.replace("cryptography", "cryptograph");
    assert_eq!(v.open(&altered).unwrap_err().code(), "note.bad-signature");
    let other =
        NoteSigner::new("EnochRoot", ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    assert_eq!(
        other.verifier().open(SIGNED).unwrap_err().code(),
        "note.unknown-signer"
    );
    assert_eq!(v.open(TEXT).unwrap_err().code(), "note.malformed");
    // A cosignature by another key is ignored, not trusted.
    let cosigned = format!("{}{}", other.sign(TEXT).unwrap(), "");
    let both = format!("{SIGNED}{}", cosigned.rsplit_once("\n\n").unwrap().1);
    assert_eq!(v.open(&both).unwrap(), TEXT);
    assert_eq!(other.verifier().open(&both).unwrap(), TEXT);
}

#[test]
fn checkpoints_round_trip_and_refuse_changes() {
    let signer = NoteSigner::new(
        "sluice.node/test",
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    let cp = SignedCheckpoint::sign(3, [9; 32], &signer).unwrap();
    assert!(cp.note.starts_with("sluice.node/test\n3\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} sluice.node/test "));
    let v = signer.verifier();
    assert_eq!(SignedCheckpoint::open(&cp.note, &v).unwrap(), cp);
    cp.verify(&v).unwrap();
    let mut wrong = cp.clone();
    wrong.size = 4;
    assert_eq!(
        wrong.verify(&v).unwrap_err().code(),
        "checkpoint.fields-mismatch"
    );
    let forged = cp.note.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(
        SignedCheckpoint::open(&forged, &v).unwrap_err().code(),
        "note.bad-signature"
    );
    let other =
        NoteSigner::new("other.log", ed25519_dalek::SigningKey::from_bytes(&[1; 32])).unwrap();
    let foreign = other.sign(&body("sluice.node/test", 3, &[9; 32])).unwrap();
    assert_eq!(
        SignedCheckpoint::open(&foreign, &other.verifier())
            .unwrap_err()
            .code(),
        "checkpoint.origin-mismatch"
    );
}

#[test]
fn batch_opening_gives_exactly_what_opening_one_by_one_gives() {
    let signer = NoteSigner::new(
        "sluice.node/test",
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    let v = signer.verifier();
    let rogue = NoteSigner::new(
        "sluice.node/test",
        ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    )
    .unwrap();
    let cosigner =
        NoteSigner::new("witness", ed25519_dalek::SigningKey::from_bytes(&[3; 32])).unwrap();
    let good = |size: u64| {
        SignedCheckpoint::sign(size, [size as u8; 32], &signer)
            .unwrap()
            .note
    };
    let sig_block = |note: &str| note.rsplit_once("\n\n").unwrap().1.to_string();
    let mut notes: Vec<String> = (0..300).map(good).collect();
    // Every kind of bad note, scattered through the batch.
    notes[3] = good(3).replacen("\n3\n", "\n4\n", 1);
    notes[77] = SignedCheckpoint::sign(77, [77; 32], &rogue).unwrap().note;
    notes[78] = format!("{}{}", good(78), sig_block(&good(79)));
    notes[79] = format!(
        "{}{}",
        good(79),
        sig_block(&cosigner.sign(&body("x", 1, &[0; 32])).unwrap())
    );
    notes[150] = good(150).replace("\u{2014} ", "- ");
    notes[151] = good(151).trim_end().to_string();
    notes[200] = signer.sign("another.log\n200\nAAAA\n").unwrap();
    notes[201] = signer.sign(&body("another.log", 201, &[0; 32])).unwrap();
    notes[299] = good(298);
    let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    let one_by_one: Vec<_> = refs.iter().map(|n| SignedCheckpoint::open(n, &v)).collect();
    assert_eq!(SignedCheckpoint::open_each(&refs, &v), one_by_one);
    let failed: Vec<_> = one_by_one
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.code())))
        .collect();
    assert_eq!(
        failed,
        [
            (3, "note.bad-signature"),
            (77, "note.unknown-signer"),
            (150, "note.malformed"),
            (151, "note.malformed"),
            (200, "checkpoint.malformed"),
            (201, "checkpoint.origin-mismatch"),
        ]
    );
    assert!(SignedCheckpoint::open_each(&[], &v).is_empty());
}
