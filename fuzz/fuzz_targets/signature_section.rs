//! Fuzzes the signature-section parser and the module framing with
//! arbitrary bytes: `verify` (embedded and detached), `module_hash`,
//! `strip_signature` and key parsing must never panic, and must agree with
//! each other on whatever they accept.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::signing::{self, PublicKey, SecretKey};

/// A fixed signer, so the fuzzer can find its way to a valid signature.
fn key() -> SecretKey {
    SecretKey::from_seed(&[7; 32])
}

fuzz_target!(|data: &[u8]| {
    let sk = key();
    let keys = [sk.public()];

    // The input as a whole module.
    let verified = signing::verify(data, None, &keys);
    let hash = signing::module_hash(data);
    let stripped = signing::strip_signature(data);
    if let Ok(v) = &verified {
        assert_eq!(Some(&v.module_hash), hash.as_ref().ok());
    }
    if let (Ok(h), Ok(s)) = (&hash, &stripped) {
        // The hash is the hash of what gets compiled, which has no signature.
        assert_eq!(signing::module_hash(s).ok().as_ref(), Some(h));
        assert!(signing::verify(s, None, &keys).is_err());
    }

    // The input as the payload of a leading signature section.
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    let mut body = vec![9u8];
    body.extend_from_slice(b"signature");
    body.extend_from_slice(data);
    module.push(0);
    let mut len = body.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend_from_slice(&body);
    let _ = signing::verify(&module, None, &keys);
    let _ = signing::sign(&module, &sk);

    // The input as a detached signature of a small module.
    let _ = signing::verify(b"\0asm\x01\0\0\0", Some(data), &keys);

    // The input as key material.
    let _ = PublicKey::parse(data);
    let _ = SecretKey::from_bytes(data);

    // Whatever Sluice signs verifies, and signing never changes the hash.
    if let Ok(signed) = signing::sign(data, &sk) {
        let v = signing::verify(&signed, None, &keys).expect("a fresh signature verifies");
        assert_eq!(Some(v.module_hash), hash.ok());
    }
});
