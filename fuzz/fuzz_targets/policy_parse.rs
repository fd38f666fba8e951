//! Fuzzes the release-policy parser with arbitrary UTF-8: it must return a
//! policy or an error naming what is wrong, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = sluice_runtime::Policy::parse(text);
});
