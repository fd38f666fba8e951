//! Policy enforcement as data: every file in `tests/scenarios/` names a
//! guest, a dataset, how the module is signed, what the policy approves or
//! trusts, policy overrides, and the decision (with its code and reason) the runtime must
//! reach. One test runs them all through the `sluice` binary, so adding a
//! rule is adding a file.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Trust, data, fixture, module, policy_with, run_module, unsigned_module};
use serde::Deserialize;
use sluice_runtime::signing::{self, SecretKey};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    guest: String,
    dataset: String,
    trust: String,
    #[serde(default = "buyer")]
    signer: String,
    #[serde(default)]
    overrides: BTreeMap<String, String>,
    #[serde(default = "one")]
    runs: usize,
    expect: String,
    code: Option<String>,
    reason: Option<String>,
    tier: Option<String>,
    min_count: Option<MinCount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MinCount {
    column: String,
    at_least: u64,
}

fn buyer() -> String {
    "buyer".into()
}

fn one() -> usize {
    1
}

/// The module as the scenario's signer presents it.
fn module_for(s: &Scenario, dir: &Path) -> std::path::PathBuf {
    match s.signer.as_str() {
        "buyer" => module(&s.guest),
        "none" => unsigned_module(&s.guest),
        "stranger" => {
            let bytes = std::fs::read(unsigned_module(&s.guest)).unwrap();
            let signed = signing::sign(&bytes, &SecretKey::from_seed(&[7; 32])).unwrap();
            let path = dir.join("stranger.wasm");
            std::fs::write(&path, signed).unwrap();
            path
        }
        "tampered" => {
            let mut bytes = std::fs::read(module(&s.guest)).unwrap();
            let at = bytes.len() - 100;
            bytes[at] ^= 0x01;
            let path = dir.join("tampered.wasm");
            std::fs::write(&path, bytes).unwrap();
            path
        }
        other => panic!("unknown signer {other}"),
    }
}

/// The policy: the repository's, with overrides and the scenario's trust.
fn policy_for(s: &Scenario) -> std::path::PathBuf {
    let overrides: Vec<(&str, &str)> = s
        .overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let hash = || signing::module_hash(&std::fs::read(unsigned_module(&s.guest)).unwrap()).unwrap();
    let expired = || {
        format!(
            "\n[[approvals]]\nmodule = \"{}\"\nexpires = 2020-01-01T00:00:00Z\n",
            hash()
        )
    };
    let signer = || {
        format!(
            "\n[[trusted_signers]]\nkey = \"{}\"\n",
            fixture().key.public().to_hex()
        )
    };
    let (base, extra) = match s.trust.as_str() {
        "approve" => (Trust::ApproveAll, String::new()),
        "signer" => (Trust::SignerOnly, String::new()),
        "nothing" => (Trust::Nothing, String::new()),
        "approve-expired" => (Trust::Nothing, expired()),
        "approve-expired-and-signer" => (Trust::Nothing, expired() + &signer()),
        other => panic!("unknown trust {other}"),
    };
    let path = policy_with(&s.dataset, &overrides, base);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&extra);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_scenario_reaches_its_decision() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 12, "scenarios missing");
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let s: Scenario = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let work = fixture().dir.path().join("scenario").join(&name);
        std::fs::create_dir_all(&work).unwrap();
        let module = module_for(&s, &work);
        let policy = policy_for(&s);
        let state = work.join("state");
        assert!(data(&s.dataset).exists());
        let mut last = None;
        for _ in 0..s.runs {
            last = Some(run_module(
                &module,
                &s.dataset,
                &policy,
                &["--data-dir", state.to_str().unwrap()],
            ));
        }
        let r = last.unwrap();
        assert_eq!(r.decision(), s.expect, "{name}: {}", r.json);
        assert_eq!(r.code, if s.expect == "released" { 0 } else { 3 }, "{name}");
        if let Some(code) = &s.code {
            assert_eq!(r.outcome_code(), code, "{name}");
        }
        if let Some(reason) = &s.reason {
            assert!(
                r.reason().contains(reason.as_str()),
                "{name}: reason {:?}",
                r.reason()
            );
        }
        if let Some(tier) = &s.tier {
            assert_eq!(r.json["data_snapshots"][0]["tier"], tier.as_str(), "{name}");
        }
        if let Some(m) = &s.min_count {
            let values = r.column(&m.column);
            let counted: Vec<u64> = values.iter().filter_map(|v| v.as_u64()).collect();
            assert!(!counted.is_empty(), "{name}: no groups released");
            assert!(
                counted.iter().all(|c| *c >= m.at_least),
                "{name}: {counted:?}"
            );
        }
        if s.expect != "released" {
            assert!(r.json["output"].is_null(), "{name}: output leaked");
        }
    }
}
