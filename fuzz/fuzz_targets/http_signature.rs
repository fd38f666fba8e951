//! Arbitrary method, target, headers and body through the node's RFC 9421
//! signature parser and verifier: never a panic, and never accepted (the
//! fuzzer does not hold the key).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>)| {
    let (method, target, headers, body) = input;
    assert!(sluice_node::http::fuzzing::signature(&method, &target, &headers, &body).is_err());
});
