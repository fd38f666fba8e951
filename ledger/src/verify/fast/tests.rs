//! The fast path agrees with the full check: it takes every event a node
//! writes, and never accepts a body (or reads facts from it) that the full
//! check would refuse or read differently.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::matcher::{first_special, special};
use super::*;
use crate::billing::{PriceSchedule, charge_for};
use crate::event::{ApprovalEvent, DatasetEvent, KeyEvent, PolicyEvent, RunEvent};
use crate::event::{DatasetUse, MAX_JSON_INTEGER};
use serde::Serialize;

fn run(n: u64, decision: &str, full: bool) -> RunEvent {
    let released = decision == "released";
    let prices = PriceSchedule {
        currency: "EUR".into(),
        per_run: Decimal::from_str("0.05").unwrap(),
        per_million_fuel: Decimal::from_str("0.002").unwrap(),
        per_mb_fed: Decimal::from_str("0.01").unwrap(),
        per_kb_released: Decimal::from_str("0.001").unwrap(),
        per_aggregate_query: Decimal::from_str("0.0005").unwrap(),
    };
    let mut run = RunEvent {
        aggregate_queries: 3,
        audit_commitment: full.then(|| "ab".repeat(32)),
        buyer: full.then(|| format!("{:064x}", n % 3)),
        buyer_key_id: full.then(|| format!("buyer-{}", n % 3)),
        bytes_fed: 2_500_000,
        charges: vec![],
        code: (!released).then(|| format!("{decision}.example")),
        datasets: vec![DatasetUse {
            dataset: "sales".into(),
            policy_hash: "cd".repeat(32),
            policy_version: "3".into(),
            snapshot: "ab".repeat(32),
            tier: full.then(|| "approved".into()),
        }],
        decision: decision.into(),
        engine: "wasmtime 48.0.8; fuel on".into(),
        epsilon_spent: "0.5".into(),
        figures_rounded: !released,
        fuel_consumed: 1_234_567 + n,
        fuel_limit: 1_000_000_000,
        groups_suppressed: 1,
        memory_peak_bytes: 1 << 20,
        module_hash: "ef".repeat(32),
        node_id: "5f1c0e2a".into(),
        output_bytes: released.then_some(1536),
        output_hash: released.then(|| "12".repeat(32)),
        params_hash: "01".repeat(32),
        reason: full.then(|| "a reason, for people".into()),
        rows_fed: 1000,
        seed: u64::MAX - n,
        trace_id: full.then(|| format!("{n:032x}")),
        wall_ms: 12,
    };
    run.charges = vec![charge_for("sales", &prices, &run).unwrap()];
    run
}

fn envelope(n: u64, data: EventData) -> Envelope {
    let mut e = Envelope::new(
        format!("00000000-0000-4000-8000-{n:012}"),
        "urn:sluice:node:5f1c0e2a",
        "2026-11-26T15:56:00.000Z",
        data,
    );
    e.sequence = n;
    if n.is_multiple_of(2) {
        e.traceparent = Some(format!("00-{n:032x}-{:016x}-01", n + 1));
    }
    e
}

fn samples() -> Vec<Envelope> {
    let payloads = [
        EventData::Run(run(0, "released", true)),
        EventData::Run(run(1, "denied", false)),
        EventData::Approval(ApprovalEvent {
            by: "owner".into(),
            dataset: "sales".into(),
            decision: "approved".into(),
            expires: Some("2027-01-01T00:00:00.000Z".into()),
            module_hash: "ef".repeat(32),
            note: Some("é€😀\u{2028}".into()),
            request_id: None,
        }),
        EventData::Policy(PolicyEvent {
            by: "owner".into(),
            dataset: "sales".into(),
            policy_hash: "aa".repeat(32),
            version: "4".into(),
        }),
        EventData::Dataset(DatasetEvent {
            by: "owner".into(),
            dataset: "sales".into(),
            snapshot: "bb".repeat(32),
        }),
        EventData::Key(KeyEvent {
            by: "operator".into(),
            key: "cc".repeat(32),
            role: "buyer".into(),
        }),
    ];
    let mut out: Vec<Envelope> = payloads
        .into_iter()
        .enumerate()
        .map(|(i, d)| envelope(i as u64, d))
        .collect();
    out[1].sequence = MAX_JSON_INTEGER;
    out
}

/// The fast path's verdict, read into a fresh event.
fn fast(bytes: &[u8]) -> Option<Envelope> {
    canonical_event(bytes, &mut scratch_event()).cloned()
}

/// The full check's verdict: the event, when the body is one in canonical form.
fn full_check(bytes: &[u8]) -> Option<Envelope> {
    serde_json::from_slice::<Envelope>(bytes)
        .ok()
        .filter(|e| crate::canonical::is_canonical_event(e, bytes))
}

#[test]
fn every_event_type_takes_the_fast_path() {
    for e in samples() {
        let bytes = crate::canonical::to_vec(&e).unwrap();
        assert_eq!(fast(&bytes).as_ref(), Some(&e), "{}", e.r#type);
        assert_eq!(full_check(&bytes).as_ref(), Some(&e));
    }
}

#[test]
fn the_fast_path_accepts_nothing_the_full_check_refuses() {
    let mut taken = 0;
    let mut declined = 0;
    // One event read into throughout, as the audit does: nothing of an
    // earlier body may leak into the verdict on a later one.
    let mut place = scratch_event();
    for e in samples() {
        let good = crate::canonical::to_vec(&e).unwrap();
        let mut mutants = Vec::new();
        for i in 0..=good.len() {
            let mut removed = good.clone();
            if i < good.len() {
                removed.remove(i);
                mutants.push(removed);
            }
            for b in [
                b' ', b'"', b'\\', b'0', b'7', b'f', b'n', b'{', b'[', b',', b':', 0x1f, 0xc3,
            ] {
                let mut inserted = good.clone();
                inserted.insert(i, b);
                mutants.push(inserted);
                if i < good.len() {
                    let mut replaced = good.clone();
                    replaced[i] = b;
                    mutants.push(replaced);
                }
            }
        }
        for m in &mutants {
            let verdict = full_check(m);
            if let Some(read) = canonical_event(m, &mut place) {
                taken += 1;
                assert_eq!(
                    Some(read),
                    verdict.as_ref(),
                    "{}",
                    String::from_utf8_lossy(m)
                );
            } else if verdict.is_some() {
                declined += 1;
                assert!(m.contains(&b'\\'), "{}", String::from_utf8_lossy(m));
            }
        }
    }
    // Many mutants are other canonical events (a changed digit or letter):
    // the fast path takes all of them but those with an escape sequence.
    assert!(
        taken > 1000 && declined > 0,
        "taken {taken}, declined {declined}"
    );
}

#[test]
fn non_canonical_forms_take_the_full_check() {
    let e = envelope(0, EventData::Run(run(0, "released", true)));
    let good = String::from_utf8(crate::canonical::to_vec(&e).unwrap()).unwrap();
    let cases = [
        good.replacen("{\"data\":", "{ \"data\":", 1),
        good.replacen("\"rows_fed\":1000", "\"rows_fed\":01000", 1),
        good.replacen("\"wall_ms\":12", "\"wall_ms\":12.0", 1),
        good.replacen(
            "\"node_id\":\"5f1c0e2a\"",
            "\"node_id\":\"5f1c0e2\\u0061\"",
            1,
        ),
        good.replacen("\"per_run\":\"0.05\"", "\"per_run\":\"+0.05\"", 1),
        good.replacen(
            &format!("\"seed\":\"{}\"", u64::MAX),
            &format!("\"seed\":\"0{}\"", u64::MAX),
            1,
        ),
        good.replacen(
            "\"bytes_fed\":2500000,",
            "\"bytes_fed\":2500000,\"code\":null,",
            1,
        ),
        good.replacen(
            "\"bytes_fed\":2500000,",
            "\"bytes_fed\":2500000,\"extra\":1,",
            1,
        ),
        good.replacen(
            "\"aggregate_queries\":3,\"audit_commitment\"",
            "\"audit_commitment\"",
            1,
        )
        .replacen("\"bytes_fed\"", "\"aggregate_queries\":3,\"bytes_fed\"", 1),
        good.replacen("dev.sluice.run.v1", "dev.sluice.key.v1", 1),
        good.replacen("\"datacontenttype\"", "\"id\":\"x\",\"datacontenttype\"", 1),
        format!("{good}\n"),
    ];
    for case in &cases {
        assert_ne!(case, &good);
        assert!(fast(case.as_bytes()).is_none(), "{case}");
        assert!(full_check(case.as_bytes()).is_none(), "{case}");
    }
}

#[test]
fn strings_with_escapes_are_left_to_the_full_check() {
    let mut r = run(0, "withheld", true);
    r.reason = Some("line\nbreak, \"quoted\", back\\slash, \u{1}".into());
    let e = envelope(1, EventData::Run(r));
    let bytes = crate::canonical::to_vec(&e).unwrap();
    assert!(fast(&bytes).is_none());
    assert_eq!(full_check(&bytes), Some(e));
}

#[test]
fn the_matcher_is_held_to_serde_jsons_bytes() {
    fn agrees<T: Serialize>(v: &T) {
        let bytes = serde_json::to_vec(v).unwrap();
        assert!(
            is_encoding_of(&bytes, v),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let mut longer = bytes.clone();
        longer.push(b' ');
        assert!(!is_encoding_of(&longer, v));
        assert!(!is_encoding_of(&bytes[..bytes.len() - 1], v));
    }
    for c in (0u32..0x100)
        .filter_map(char::from_u32)
        .chain("é€😀\u{2028}\u{fffd}".chars())
    {
        agrees(&format!("{c}"));
        agrees(&format!("abcdefgh{c}ijklmnopq{c}"));
    }
    agrees(&(0u32..0x80).filter_map(char::from_u32).collect::<String>());
    agrees(&[u64::MAX, 0, 1, 10, 9_007_199_254_740_991]);
    agrees(&[i64::MIN, -1, 0, i64::MAX]);
    agrees(&(
        u128::MAX,
        i128::MIN,
        u8::MAX,
        i8::MIN,
        u16::MAX,
        i16::MIN,
        u32::MAX,
        i32::MIN,
    ));
    agrees(&vec![Some(true), None, Some(false)]);
    agrees(&Vec::<Vec<u8>>::from([vec![], vec![1, 2]]));
    agrees(&samples());
    assert!(!is_encoding_of(b"1.5", &1.5f64));
    assert!(!is_encoding_of(b"\"a\"", &'a'));
}

#[test]
fn the_word_scan_finds_the_first_special_byte() {
    for b in 0..=255u8 {
        for len in 1..24 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b;
                let want = bytes.iter().position(|&c| special(c));
                assert_eq!(first_special(&bytes), want, "byte {b:#x} at {at} of {len}");
            }
        }
    }
    assert_eq!(first_special(b""), None);
}
