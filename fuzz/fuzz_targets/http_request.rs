//! Arbitrary bytes as every JSON request body and query string of the
//! node's HTTP API: never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, String)| {
    let (body, query) = input;
    let _ = sluice_node::http::fuzzing::request(&body, &query);
});
