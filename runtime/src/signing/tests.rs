//! Unit and property tests of module signing: keys and their files, the
//! section format, sign/verify round trips, every refusal, and hostile
//! input (never a panic, never a pass).

use proptest::prelude::*;

use super::reader::{Reader, put_slice, put_var};
use super::section::{MAX_SETS, SignatureData};
use super::wasm::{COMPONENT, CORE_MODULE, signature_section};
use super::*;

/// A fixed key, so failures reproduce.
fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn section(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![id];
    put_slice(&mut out, payload);
    out
}

fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put_slice(&mut body, name.as_bytes());
    body.extend_from_slice(payload);
    section(0, &body)
}

/// A small valid core module: one function `() -> ()` and a custom section.
fn core_module() -> Vec<u8> {
    let mut m = CORE_MODULE.to_vec();
    m.extend(section(1, &[1, 0x60, 0, 0]));
    m.extend(section(3, &[1, 0]));
    m.extend(section(10, &[1, 2, 0, 0x0b]));
    m.extend(custom("producers", b"\0"));
    m
}

/// Component-shaped bytes (sections are not validated, only framed).
fn component() -> Vec<u8> {
    let mut m = COMPONENT.to_vec();
    m.extend(custom("component-type", &[7; 40]));
    m.extend(section(1, &core_module()));
    m
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(super::hash::sha256(bytes))
}

// ---- keys ----

#[test]
fn hmac_matches_rfc_4231_case_2() {
    // The key id is HMAC-SHA-256 (keyed with the public key): check the
    // construction on a known-answer vector.
    let mac = hmac_for_test(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex::encode(mac),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

fn hmac_for_test(key: &[u8], msg: &[u8]) -> [u8; 32] {
    keys::tests_hmac(key, msg)
}

#[test]
fn secret_and_public_keys_round_trip_in_wasmsign2_form() {
    let sk = key(1);
    let bytes = sk.to_bytes();
    assert_eq!(bytes.len(), 65);
    assert_eq!(bytes[0], 0x81);
    let back = SecretKey::from_bytes(&bytes).unwrap();
    assert_eq!(back.public(), sk.public());

    let pk = sk.public();
    let pb = pk.to_bytes();
    assert_eq!(pb.len(), 33);
    assert_eq!(pb[0], 0x01);
    assert_eq!(&pb[1..], &bytes[33..]);
    assert_eq!(PublicKey::from_bytes(&pb).unwrap(), pk);
    assert_eq!(PublicKey::parse(&pb).unwrap(), pk);
    assert_eq!(PublicKey::parse(pk.to_hex()).unwrap(), pk);
    assert_eq!(
        PublicKey::parse(format!(" {}\n", hex::encode(&pb))).unwrap(),
        pk
    );
    assert_eq!(pk.to_hex().parse::<PublicKey>().unwrap(), pk);
    assert_eq!(PublicKey::parse(pk.raw()).unwrap(), pk);
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(&pk.raw());
    assert_eq!(PublicKey::parse(&der).unwrap(), pk);
}

#[test]
fn key_id_is_24_hex_digits_and_stable() {
    let pk = key(1).public();
    let id = pk.key_id();
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(id, hex::encode(pk.key_id_bytes()));
    assert_eq!(id, key(1).public().key_id());
    assert_ne!(id, key(2).public().key_id());
    assert!(format!("{:?}", key(1)).contains(&id));
}

#[test]
fn debug_of_a_secret_key_does_not_show_the_secret() {
    let sk = key(9);
    let shown = format!("{sk:?}");
    assert!(!shown.contains(&hex::encode([9u8; 32])), "{shown}");
}

#[test]
fn malformed_keys_are_refused_with_a_reason() {
    let sk = key(1).to_bytes();
    let mut wrong_prefix = sk.clone();
    wrong_prefix[0] = 0x01;
    let e = SecretKey::from_bytes(&wrong_prefix).unwrap_err();
    assert!(e.to_string().contains("expected 0x81"), "{e}");
    let e = SecretKey::from_bytes(&sk[..40]).unwrap_err();
    assert!(e.to_string().contains("65 bytes"), "{e}");
    let mut inconsistent = sk.clone();
    inconsistent[64] ^= 1;
    let e = SecretKey::from_bytes(&inconsistent).unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");
    assert!(SecretKey::from_bytes(&[]).is_err());

    let e = PublicKey::parse(b"hello").unwrap_err();
    assert!(e.to_string().contains("this has 5 bytes"), "{e}");
    let mut pb = key(1).public().to_bytes();
    pb[0] = 0x02;
    assert!(
        PublicKey::parse(&pb)
            .unwrap_err()
            .to_string()
            .contains("expected 0x01")
    );
    // The identity point is a weak key: any signature "verifies" under it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let e = PublicKey::from_raw(&identity).unwrap_err();
    assert!(e.to_string().contains("weak"), "{e}");
    assert_eq!(e.kind(), "bad_key");
    assert!(!e.is_rejection());
}

#[test]
fn generated_keys_differ() {
    let a = SecretKey::generate().unwrap();
    let b = SecretKey::generate().unwrap();
    assert_ne!(a.public(), b.public());
}

#[cfg(unix)]
#[test]
fn key_files_are_private_and_never_clobbered() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sk_path = dir.path().join("k.key");
    let pk_path = dir.path().join("k.pub");
    let sk = key(3);
    sk.to_file(&sk_path, false).unwrap();
    sk.public().to_file(&pk_path, false).unwrap();
    let mode = std::fs::metadata(&sk_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        SecretKey::from_file(&sk_path).unwrap().public(),
        sk.public()
    );
    assert_eq!(PublicKey::from_file(&pk_path).unwrap(), sk.public());

    let e = key(4).to_file(&sk_path, false).unwrap_err();
    assert!(matches!(e, SigningError::Exists(_)), "{e}");
    assert_eq!(
        SecretKey::from_file(&sk_path).unwrap().public(),
        sk.public()
    );

    std::fs::set_permissions(&sk_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    key(4).to_file(&sk_path, true).unwrap();
    assert_eq!(
        SecretKey::from_file(&sk_path).unwrap().public(),
        key(4).public()
    );
    let mode = std::fs::metadata(&sk_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "overwriting resets the mode");

    let e = PublicKey::from_file(dir.path().join("missing.pub")).unwrap_err();
    assert_eq!(e.kind(), "io");
    assert!(e.to_string().contains("missing.pub"), "{e}");
    std::fs::write(dir.path().join("bad.pub"), b"nope").unwrap();
    let e = PublicKey::from_file(dir.path().join("bad.pub")).unwrap_err();
    assert!(e.to_string().contains("bad.pub"), "{e}");
}

// ---- sign / verify ----

#[test]
fn sign_then_verify_round_trips_for_modules_and_components() {
    for module in [core_module(), component(), CORE_MODULE.to_vec()] {
        let sk = key(1);
        let signed = sign(&module, &sk).unwrap();
        assert_eq!(&signed[..8], &module[..8]);
        assert_eq!(signed[8], 0, "the signature section comes first");
        let ok = verify(&signed, None, &[sk.public()]).unwrap();
        assert_eq!(ok.signer, sk.public());
        assert_eq!(ok.key_id, sk.public().key_id());
        assert_eq!(ok.module_hash, sha256_hex(&module));
        assert!(
            signed.ends_with(&module[8..]),
            "the rest is copied verbatim"
        );
    }
}

#[test]
fn module_hash_is_unchanged_by_signing_and_equals_the_plain_sha256() {
    let module = component();
    let signed = sign(&module, &key(1)).unwrap();
    let cosigned = sign(&signed, &key(2)).unwrap();
    let h = module_hash(&module).unwrap();
    assert_eq!(h, sha256_hex(&module));
    assert_eq!(module_hash(&signed).unwrap(), h);
    assert_eq!(module_hash(&cosigned).unwrap(), h);
    assert_eq!(strip_signature(&signed).unwrap(), module);
    assert_eq!(strip_signature(&cosigned).unwrap(), module);
    assert_eq!(strip_signature(&module).unwrap(), module);
}

#[test]
fn verify_finds_the_signer_among_several_keys() {
    let signed = sign(&core_module(), &key(2)).unwrap();
    let keys = [key(1).public(), key(2).public(), key(3).public()];
    let ok = verify(&signed, None, &keys).unwrap();
    assert_eq!(ok.signer, key(2).public());
}

#[test]
fn co_signing_keeps_earlier_signatures_and_is_idempotent() {
    let once = sign(&core_module(), &key(1)).unwrap();
    let twice = sign(&once, &key(2)).unwrap();
    assert_eq!(sign(&twice, &key(2)).unwrap(), twice);
    assert!(verify(&twice, None, &[key(1).public()]).is_ok());
    assert!(verify(&twice, None, &[key(2).public()]).is_ok());
    let parts = wasm::split(&twice).unwrap();
    let data = SignatureData::decode(parts.signature.unwrap()).unwrap();
    assert_eq!(data.sets.len(), 1, "same hash, one set");
    assert_eq!(data.signature_count(), 2);
}

#[test]
fn signatures_carry_the_key_id() {
    let sk = key(5);
    let signed = sign(&core_module(), &sk).unwrap();
    let data = SignatureData::decode(wasm::split(&signed).unwrap().signature.unwrap()).unwrap();
    let sig = &data.sets[0].signatures[0];
    assert_eq!(sig.key_id.as_deref(), Some(&sk.public().key_id_bytes()[..]));
    assert_eq!(sig.alg, 0x01);
    assert_eq!(sig.bytes.len(), 64);
}

#[test]
fn wrong_key_is_refused_naming_the_key() {
    let signed = sign(&core_module(), &key(1)).unwrap();
    let other = key(2).public();
    let e = verify(&signed, None, std::slice::from_ref(&other)).unwrap_err();
    assert!(matches!(e, SigningError::BadSignature { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("signature does not verify against key {}", other.key_id())
    );
    let e = verify(
        &signed,
        None,
        &[other.clone(), key(3).public(), other.clone()],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "signature does not verify against key {} (or {})",
            other.key_id(),
            key(3).public().key_id()
        )
    );
}

#[test]
fn unsigned_modules_are_refused() {
    let e = verify(&core_module(), None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::NotSigned));
    assert_eq!(e.to_string(), "module is not signed");
    assert_eq!(e.kind(), "not_signed");
    assert!(e.is_rejection());
    let e = verify(&CORE_MODULE, None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::NotSigned));
}

#[test]
fn a_signature_section_that_is_not_first_is_reported() {
    let signed = sign(&core_module(), &key(1)).unwrap();
    let parts = wasm::split(&signed).unwrap();
    let mut moved = CORE_MODULE.to_vec();
    moved.extend_from_slice(parts.rest);
    moved.extend(signature_section(parts.signature.unwrap()));
    let e = verify(&moved, None, &[key(1).public()]).unwrap_err();
    assert!(
        e.to_string().contains(
            "a `signature` section is at position 4, but it must be the module's first section"
        ),
        "{e}"
    );
}

#[test]
fn altering_the_signed_part_is_a_hash_mismatch() {
    let module = core_module();
    let signed = sign(&module, &key(1)).unwrap();
    let start = signed.len() - (module.len() - 8);
    // A byte inside the code section's body.
    let mut altered = signed.clone();
    let i = start + 2 + 4 + 2 + 2 + 2;
    altered[i] ^= 0x01;
    let e = verify(&altered, None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::HashMismatch { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "module was altered after signing (hash mismatch)"
    );
    // Appending a section is an alteration too.
    let mut appended = signed.clone();
    appended.extend(custom("extra", b"x"));
    let e = verify(&appended, None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::HashMismatch { .. }), "{e}");
}

#[test]
fn every_single_flipped_byte_is_refused() {
    let module = core_module();
    let sk = key(1);
    let signed = sign(&module, &sk).unwrap();
    let rest_start = signed.len() - (module.len() - 8);
    for i in 0..signed.len() {
        for bit in [0x01u8, 0x80] {
            let mut m = signed.clone();
            m[i] ^= bit;
            let e = verify(&m, None, &[sk.public()])
                .expect_err(&format!("flip 0x{bit:02x} at byte {i} verified"));
            assert!(e.is_rejection(), "byte {i}: {e}");
            if i >= rest_start {
                assert!(
                    matches!(e, SigningError::HashMismatch { .. }),
                    "byte {i} (signed part): {e}"
                );
            }
        }
    }
}

#[test]
fn detached_signatures_round_trip() {
    let module = component();
    let sk = key(1);
    let sig = sign_detached(&module, &sk).unwrap();
    let ok = verify(&module, Some(&sig), &[sk.public()]).unwrap();
    assert_eq!(ok.module_hash, sha256_hex(&module));
    // Same payload format as an embedded section.
    assert!(SignatureData::decode(&sig).is_ok());
    // Without the detached signature, the module is unsigned.
    assert!(matches!(
        verify(&module, None, &[sk.public()]),
        Err(SigningError::NotSigned)
    ));
    let mut altered = module.clone();
    *altered.last_mut().unwrap() ^= 1;
    let e = verify(&altered, Some(&sig), &[sk.public()]).unwrap_err();
    assert!(matches!(e, SigningError::HashMismatch { .. }), "{e}");
    let e = verify(&module, Some(&sig), &[key(2).public()]).unwrap_err();
    assert!(matches!(e, SigningError::BadSignature { .. }), "{e}");
    let e = verify(&module, Some(b"\x01\x01"), &[sk.public()]).unwrap_err();
    assert!(matches!(e, SigningError::MalformedSignature(_)), "{e}");
}

#[test]
fn a_detached_signature_covers_an_embedded_section_too() {
    let signed = sign(&core_module(), &key(1)).unwrap();
    let sig = sign_detached(&signed, &key(2)).unwrap();
    let ok = verify(&signed, Some(&sig), &[key(2).public()]).unwrap();
    assert_eq!(ok.module_hash, module_hash(&core_module()).unwrap());
}

#[test]
fn no_keys_is_its_own_error() {
    let signed = sign(&core_module(), &key(1)).unwrap();
    let e = verify(&signed, None, &[]).unwrap_err();
    assert!(matches!(e, SigningError::NoKeys), "{e}");
    assert!(!e.is_rejection());
}

#[test]
fn non_webassembly_input_is_refused_everywhere() {
    for (bytes, msg) in [
        (&b""[..], "shorter than the 8-byte"),
        (b"\0asm\x01\0\0", "shorter than the 8-byte"),
        (b"MZ\x90\0\x03\0\0\0\x04\0", "magic"),
        (
            b"\0asm\x02\0\0\0",
            "unsupported version/layer bytes 02000000",
        ),
    ] {
        for e in [
            verify(bytes, None, &[key(1).public()]).unwrap_err(),
            module_hash(bytes).unwrap_err(),
            strip_signature(bytes).unwrap_err(),
            sign(bytes, &key(1)).unwrap_err(),
            sign_detached(bytes, &key(1)).unwrap_err(),
        ] {
            assert!(matches!(e, SigningError::MalformedModule(_)), "{e}");
            assert!(e.to_string().contains(msg), "{e}");
        }
    }
}

#[test]
fn a_truncated_first_section_is_a_malformed_module() {
    let mut m = CORE_MODULE.to_vec();
    m.extend([1, 0x80]);
    let e = module_hash(&m).unwrap_err();
    assert!(
        e.to_string().contains(
            "module is malformed: first section: section size: varint at byte 1 is truncated"
        ),
        "{e}"
    );
}

#[test]
fn a_signature_section_past_the_end_is_malformed() {
    let signed = sign(&core_module(), &key(1)).unwrap();
    let cut = &signed[..40];
    let e = verify(cut, None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::MalformedSignature(_)), "{e}");
    assert!(e.to_string().contains("does not fit in the module"), "{e}");
}

/// A module whose leading signature section carries `payload`.
fn with_payload(payload: &[u8]) -> Vec<u8> {
    let mut m = CORE_MODULE.to_vec();
    m.extend(signature_section(payload));
    m.extend_from_slice(&core_module()[8..]);
    m
}

fn malformed(payload: &[u8]) -> String {
    let e = verify(&with_payload(payload), None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::MalformedSignature(_)), "{e}");
    e.to_string()
}

#[test]
fn malformed_signature_payloads_are_explained() {
    assert!(malformed(&[]).contains("specification version: unexpected end of data"));
    assert!(malformed(&[2, 1, 1, 0]).contains("unsupported specification version 0x02"));
    assert!(malformed(&[1, 2, 1, 0]).contains("unsupported content type 0x02"));
    assert!(malformed(&[1, 1, 2, 0]).contains("unsupported hash function 0x02"));
    assert!(malformed(&[1, 1, 1, 0]).contains("it holds no signatures"));
    assert!(malformed(&[1, 1, 1, 0x80]).contains("truncated"));
    assert!(
        malformed(&[1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x7f]).contains("does not fit in 32 bits")
    );
    assert!(
        malformed(&[1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]).contains("more than the 64 allowed")
    );
    assert!(malformed(&[1, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]).contains("runs past the end"));
    assert!(malformed(&[1, 1, 1, 1, 0]).contains("hash set 0"));
    assert!(malformed(&[1, 1, 1, 0, 9]).contains("1 unexpected bytes after the last hash set"));

    // A set claiming many signatures, and one with a short Ed25519 signature.
    let mut set = Vec::new();
    put_var(&mut set, 1);
    set.extend([0u8; 32]);
    put_var(&mut set, 100_000);
    let mut p = vec![1, 1, 1, 1];
    put_slice(&mut p, &set);
    assert!(malformed(&p).contains("more than the 256 signatures allowed"));

    let mut sig = Vec::new();
    put_slice(&mut sig, b"");
    sig.push(1);
    put_slice(&mut sig, &[0; 10]);
    let mut set = Vec::new();
    put_var(&mut set, 1);
    set.extend([0u8; 32]);
    put_var(&mut set, 1);
    put_slice(&mut set, &sig);
    let mut p = vec![1, 1, 1, 1];
    put_slice(&mut p, &set);
    assert!(
        malformed(&p).contains(
            "hash set 0: signature 0: an Ed25519 signature has 64 bytes, this one has 10"
        )
    );
}

#[test]
fn signatures_of_other_algorithms_are_kept_but_not_trusted() {
    let module = core_module();
    let h = super::hash::sha256(&module[8..]);
    let mut sig = Vec::new();
    put_slice(&mut sig, b"");
    sig.push(0x02);
    put_slice(&mut sig, &[7; 99]);
    let mut set = Vec::new();
    put_var(&mut set, 1);
    set.extend(h);
    put_var(&mut set, 1);
    put_slice(&mut set, &sig);
    let mut p = vec![1, 1, 1, 1];
    put_slice(&mut p, &set);
    let m = with_payload(&p);
    let e = verify(&m, None, &[key(1).public()]).unwrap_err();
    assert!(matches!(e, SigningError::BadSignature { .. }), "{e}");
    let cosigned = sign(&m, &key(1)).unwrap();
    assert!(verify(&cosigned, None, &[key(1).public()]).is_ok());
    let data = SignatureData::decode(wasm::split(&cosigned).unwrap().signature.unwrap()).unwrap();
    assert_eq!(data.signature_count(), 2, "the foreign signature is kept");
}

#[test]
fn signing_over_a_malformed_section_is_refused_until_stripped() {
    let m = with_payload(&[1, 1, 9]);
    let e = sign(&m, &key(1)).unwrap_err();
    assert!(e.to_string().contains("strip them first"), "{e}");
    let stripped = strip_signature(&m).unwrap();
    assert_eq!(stripped, core_module());
    let signed = sign(&stripped, &key(1)).unwrap();
    assert!(verify(&signed, None, &[key(1).public()]).is_ok());
}

#[test]
fn set_limits_hold_when_co_signing() {
    let mut data = SignatureData::default();
    for i in 0..MAX_SETS {
        data.add([i as u8; 32], &key(1)).unwrap();
    }
    let e = data.add([255; 32], &key(1)).unwrap_err();
    assert!(e.to_string().contains("64 sets"), "{e}");
    assert_eq!(SignatureData::decode(&data.encode()).unwrap(), data);
}

#[test]
fn the_signed_message_is_the_tool_conventions_one() {
    let sk = key(1);
    let signed = sign(&core_module(), &sk).unwrap();
    let data = SignatureData::decode(wasm::split(&signed).unwrap().signature.unwrap()).unwrap();
    let set = &data.sets[0];
    let mut msg = b"wasmsig\x01\x01\x01".to_vec();
    msg.extend(super::hash::sha256(&core_module()[8..]));
    assert_eq!(set.message(), msg);
    assert_eq!(set.hashes, vec![super::hash::sha256(&core_module()[8..])]);
    let sig: [u8; 64] = set.signatures[0].bytes.clone().try_into().unwrap();
    assert!(sk.public().verifies(&msg, &sig));
}

#[test]
fn reader_rejects_bad_varints_and_lengths() {
    assert_eq!(
        Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x0f])
            .var_u32("x")
            .unwrap(),
        0xf000_0000
    );
    assert_eq!(
        Reader::new(&[0x80, 0x00]).var_u32("x").unwrap(),
        0,
        "padding is allowed"
    );
    assert!(
        Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
            .var_u32("x")
            .is_err()
    );
    assert!(
        Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10])
            .var_u32("x")
            .is_err()
    );
    assert!(
        Reader::new(&[0x05, 1, 2])
            .slice("x")
            .unwrap_err()
            .contains("length 5 at byte 1 runs past the end (2 bytes left)")
    );
    let mut out = Vec::new();
    put_var(&mut out, 624_485);
    assert_eq!(out, [0xe5, 0x8e, 0x26]);
}

// ---- hostile input ----

fn arb_module() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|tail| {
            let mut m = CORE_MODULE.to_vec();
            m.extend(tail);
            m
        }),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|payload| with_payload(&payload)),
        (proptest::collection::vec(any::<u8>(), 0..120), any::<u32>()).prop_map(|(tail, n)| {
            // A structurally plausible payload with random counts and tails.
            let mut p = vec![1, 1, 1];
            put_var(&mut p, u64::from(n % 4));
            p.extend(tail);
            with_payload(&p)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn hostile_bytes_never_panic(bytes in arb_module(), detached in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100))) {
        let keys = [key(1).public(), key(2).public()];
        let _ = verify(&bytes, detached.as_deref(), &keys);
        let _ = module_hash(&bytes);
        let _ = strip_signature(&bytes);
        let _ = sign(&bytes, &key(1));
        let _ = sign_detached(&bytes, &key(1));
        let _ = PublicKey::parse(&bytes);
        let _ = SecretKey::from_bytes(&bytes);
        if let Ok(h) = module_hash(&bytes) {
            // Whatever verifies must report the same module hash.
            if let Ok(v) = verify(&bytes, detached.as_deref(), &keys) {
                prop_assert_eq!(v.module_hash, h);
            }
        }
    }

    #[test]
    fn random_modules_never_verify_under_an_unrelated_key(bytes in arb_module()) {
        prop_assert!(verify(&bytes, None, &[key(7).public()]).is_err());
    }

    #[test]
    fn any_mutation_of_a_signed_module_is_refused(
        tail in proptest::collection::vec(any::<u8>(), 0..100),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut module = core_module();
        module.extend(custom("data", &tail));
        let signed = sign(&module, &key(1)).unwrap();
        let mut m = signed.clone();
        for (at, x) in &edits {
            let i = at.index(m.len());
            m[i] ^= x;
        }
        if let Some(c) = cut {
            m.truncate(c.index(m.len()));
        }
        prop_assume!(m != signed);
        let r = verify(&m, None, &[key(1).public()]);
        prop_assert!(r.is_err(), "mutated module verified");
        prop_assert!(r.unwrap_err().is_rejection());
    }

    #[test]
    fn sign_verify_round_trips_for_any_sections(
        sections in proptest::collection::vec((0u8..13, proptest::collection::vec(any::<u8>(), 0..50)), 0..6),
        component_header in any::<bool>(),
        seed in any::<[u8; 32]>(),
    ) {
        let mut m = if component_header { COMPONENT.to_vec() } else { CORE_MODULE.to_vec() };
        for (id, payload) in &sections {
            if *id == 0 {
                m.extend(custom("x", payload));
            } else {
                m.extend(section(*id, payload));
            }
        }
        let sk = SecretKey::from_seed(&seed);
        let signed = sign(&m, &sk).unwrap();
        let v = verify(&signed, None, &[sk.public()]).unwrap();
        prop_assert_eq!(&v.module_hash, &module_hash(&m).unwrap());
        prop_assert_eq!(strip_signature(&signed).unwrap(), m.clone());
        let d = sign_detached(&m, &sk).unwrap();
        prop_assert!(verify(&m, Some(&d), &[sk.public()]).is_ok());
    }
}
