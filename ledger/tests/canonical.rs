//! RFC 8785 known answers: the RFC's own examples (§3.2.2 and §3.2.3) and the
//! number serialisation samples of Appendix B, plus the ledger's rule that an
//! event's stored bytes are its canonical encoding.

mod common;

use sluice_ledger::canonical::{canonicalise_text, to_vec};

#[test]
fn rfc8785_section_3_2_2_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let want = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(
        String::from_utf8(canonicalise_text(input).unwrap()).unwrap(),
        want
    );
}

#[test]
fn rfc8785_section_3_2_3_sorting_by_utf16_code_units() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(
        String::from_utf8(canonicalise_text(input).unwrap()).unwrap(),
        want
    );
}

#[test]
fn rfc8785_appendix_b_numbers() {
    let samples: [(u64, &str); 20] = [
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
    ];
    for (bits, want) in samples {
        assert_eq!(
            String::from_utf8(to_vec(&f64::from_bits(bits)).unwrap()).unwrap(),
            want,
            "{bits:016x}"
        );
    }
    assert!(to_vec(&f64::NAN).is_err());
}

#[test]
fn an_event_encodes_the_same_whatever_the_field_order_or_spacing() {
    let e = common::run_event(7);
    let bytes = to_vec(&e).unwrap();
    let pretty = serde_json::to_string_pretty(&e).unwrap();
    assert_eq!(canonicalise_text(&pretty).unwrap(), bytes);
    let back: sluice_ledger::Envelope = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, e);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with("{\"data\":{\"aggregate_queries\":3,"),
        "{text}"
    );
    assert!(
        text.contains("\"amount\":\"") && !text.contains("\"reason\""),
        "decimals are strings, None fields are omitted: {text}"
    );
}

/// serde_json's compact output of an event equals its RFC 8785 encoding
/// (verify's fast path relies on it), for every event type and for strings
/// that need escaping.
#[test]
fn plain_serde_json_output_of_every_event_type_is_canonical() {
    use sluice_ledger::event::*;
    let nasty: String = (0u32..0x80)
        .filter_map(char::from_u32)
        .chain("é€😀\u{2028}\u{fffd}\"\\/".chars())
        .collect();
    let mut run = common::run_data(1, "released");
    run.reason = Some(nasty.clone());
    run.audit_commitment = Some("ab".repeat(32));
    let payloads = vec![
        EventData::Run(run),
        EventData::Run(common::run_data(2, "denied")),
        EventData::Approval(ApprovalEvent {
            by: "owner".into(),
            dataset: nasty.clone(),
            decision: "approved".into(),
            expires: Some("2027-01-01T00:00:00.000Z".into()),
            module_hash: "ef".repeat(32),
            note: Some(nasty.clone()),
            request_id: Some("r1".into()),
        }),
        EventData::Policy(PolicyEvent {
            by: "owner".into(),
            dataset: "sales".into(),
            policy_hash: "aa".into(),
            version: "4".into(),
        }),
        EventData::Dataset(DatasetEvent {
            by: "owner".into(),
            dataset: "sales".into(),
            snapshot: "bb".into(),
        }),
        EventData::Key(KeyEvent {
            by: "operator".into(),
            key: nasty,
            role: "buyer".into(),
        }),
    ];
    for data in payloads {
        let mut e = sluice_ledger::Envelope::new(
            "id-1",
            "urn:sluice:node:x",
            "2026-11-26T15:56:00.000Z",
            data,
        );
        e.sequence = sluice_ledger::event::MAX_JSON_INTEGER;
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&e).unwrap()).unwrap(),
            to_string_canonical(&e),
            "{}",
            e.r#type
        );
        e.traceparent = Some("00-aa-bb-01".into());
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&e).unwrap()).unwrap(),
            to_string_canonical(&e),
            "{}",
            e.r#type
        );
    }
}

fn to_string_canonical(e: &sluice_ledger::Envelope) -> String {
    sluice_ledger::canonical::to_string(e).unwrap()
}
