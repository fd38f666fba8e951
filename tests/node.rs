//! The node: its data directory, dataset registry and policy versions, keys,
//! stored modules, the record-then-release rule of `Node::run` (a ledger
//! that cannot append yields no output at all), what of a run that is not
//! released reaches its public event, and replay of runs with noise and
//! difference checks.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use common::{
    Trust, data, fixture, fresh_data_dir, module, policy, policy_without_privacy, repo_policy,
    sluice,
};
use sluice_ledger::{
    Envelope, Ledger, LedgerError, NoteSigner, Receipt, SignedCheckpoint, SqliteLedger, StoredEvent,
};
use sluice_node::{ModuleSource, Node, NodeConfig, ReplayStatus, Role, RunRequest};
use sluice_runtime::Decision;
use sluice_runtime::privacy::BudgetStore;

/// The shared compiled-module cache of the tests.
fn config(dir: &Path) -> NodeConfig {
    let mut c = NodeConfig::new(dir);
    c.engine.cache_dir = Some(
        sluice::guests::repo_root()
            .join("target")
            .join("test-module-cache"),
    );
    c
}

/// A node with `sales` registered (every test module approved) and the test buyer known.
fn node_with_sales(dir: &Path) -> Node {
    node_with(dir, "sales", &policy("sales", &[]))
}

/// A node with `dataset` registered under the policy file `policy` and the test buyer known.
fn node_with(dir: &Path, dataset: &str, policy: &Path) -> Node {
    let node = Node::open(config(dir)).unwrap();
    let text = std::fs::read_to_string(policy).unwrap();
    node.register(dataset, &data(dataset), &text, None).unwrap();
    node.add_key(&fixture().key.public(), Role::Buyer, &[], None)
        .unwrap();
    node
}

fn run_request(guest: &str) -> RunRequest {
    request(guest, "sales")
}

fn request(guest: &str, dataset: &str) -> RunRequest {
    let mut r = RunRequest::new(
        ModuleSource::Bytes(std::fs::read(module(guest)).unwrap()),
        vec![dataset.into()],
    );
    r.seed = Some(3);
    r
}

/// A ledger that refuses run events while `fail` is set (a full disk, a
/// broken database), and otherwise is the real SQLite ledger.
struct FailingLedger {
    inner: SqliteLedger,
    fail: Arc<AtomicBool>,
}

impl Ledger for FailingLedger {
    fn append(&self, event: Envelope, private: Option<Vec<u8>>) -> Result<Receipt, LedgerError> {
        if self.fail.load(Ordering::SeqCst) && event.run().is_some() {
            return Err(LedgerError::WriteFailed("disk full (test double)".into()));
        }
        self.inner.append(event, private)
    }
    fn len(&self) -> Result<u64, LedgerError> {
        self.inner.len()
    }
    fn event(&self, index: u64) -> Result<Option<StoredEvent>, LedgerError> {
        self.inner.event(index)
    }
    fn event_by_id(&self, id: &str) -> Result<Option<StoredEvent>, LedgerError> {
        self.inner.event_by_id(id)
    }
    fn events(&self, from: u64, limit: u64) -> Result<Vec<StoredEvent>, LedgerError> {
        self.inner.events(from, limit)
    }
    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError> {
        self.inner.checkpoint()
    }
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError> {
        self.inner.checkpoints()
    }
    fn receipt(&self, index: u64) -> Result<Receipt, LedgerError> {
        self.inner.receipt(index)
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>, LedgerError> {
        self.inner.inclusion_proof(index, size)
    }
    fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<[u8; 32]>, LedgerError> {
        self.inner.consistency_proof(from, to)
    }
    fn private_record(&self, id: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.inner.private_record(id)
    }
}

#[test]
fn no_output_leaves_the_node_unless_its_event_is_recorded() {
    let dir = fresh_data_dir();
    let fail = Arc::new(AtomicBool::new(false));
    let switch = fail.clone();
    let node = Node::open_with_ledger(config(&dir), move |d, signer: NoteSigner| {
        let inner = SqliteLedger::open(&d.ledger(), signer)?;
        Ok(Arc::new(FailingLedger {
            inner,
            fail: switch,
        }) as Arc<dyn Ledger>)
    })
    .unwrap();
    let text = std::fs::read_to_string(policy("sales", &[])).unwrap();
    node.register("sales", &data("sales"), &text, None).unwrap();
    node.add_key(&fixture().key.public(), Role::Buyer, &[], None)
        .unwrap();
    let before = node.ledger().len().unwrap();

    fail.store(true, Ordering::SeqCst);
    let err = node.run(run_request("mean-by-group")).unwrap_err();
    assert_eq!(err.code(), "internal.ledger");
    assert!(err.to_string().contains("nothing was released"), "{err}");
    assert_eq!(node.ledger().len().unwrap(), before, "nothing was recorded");

    fail.store(false, Ordering::SeqCst);
    let ok = node.run(run_request("mean-by-group")).unwrap();
    assert_eq!(ok.outcome.decision, Decision::Released);
    assert!(ok.outcome.output.is_some());
    let recorded = node.event_by_id(&ok.outcome.run_id).unwrap();
    assert_eq!(recorded.index, ok.receipt.index);
    assert_eq!(recorded.envelope, ok.receipt.event);
    ok.receipt.verify(&node.note_verifier()).unwrap();
}

#[test]
fn every_attempt_is_recorded_including_node_denials() {
    let dir = fresh_data_dir();
    let node = node_with_sales(&dir);
    let unknown = node
        .run(RunRequest::new(
            ModuleSource::Bytes(std::fs::read(module("mean-by-group")).unwrap()),
            vec!["nope".into()],
        ))
        .unwrap();
    assert_eq!(unknown.outcome.decision, Decision::Denied);
    let reason = unknown.outcome.reason.as_ref().unwrap();
    assert_eq!(reason.code(), "denied.unknown-dataset");
    let event = node.event_by_id(&unknown.outcome.run_id).unwrap();
    let run = event.envelope.run().unwrap();
    assert_eq!(run.code.as_deref(), Some("denied.unknown-dataset"));
    assert_eq!(run.datasets[0].dataset, "nope");
    assert!(run.charges.is_empty(), "an unknown dataset has no prices");

    let garbage = node
        .run(RunRequest::new(
            ModuleSource::Bytes(b"not wasm at all".to_vec()),
            vec!["sales".into()],
        ))
        .unwrap();
    let run = node
        .event_by_id(&garbage.outcome.run_id)
        .unwrap()
        .envelope
        .run()
        .cloned()
        .unwrap();
    assert_eq!(run.code.as_deref(), Some("denied.not-a-component"));
    assert_eq!(run.charges[0].amount.to_string(), "0", "denials are free");
    let replay = node.replay(&garbage.outcome.run_id).unwrap();
    assert!(replay.ok(), "{replay:?}");
    let replay = node.replay(&unknown.outcome.run_id).unwrap();
    assert_eq!(replay.status, sluice_node::ReplayStatus::DecidedByNode);
    assert_eq!(
        node.run(RunRequest::new(
            ModuleSource::Bytes(vec![]),
            vec!["sales".into(), "sales".into()]
        ))
        .unwrap_err()
        .code(),
        "invalid.request"
    );
}

#[test]
fn stored_modules_run_by_hash_and_are_content_addressed() {
    let dir = fresh_data_dir();
    let node = node_with_sales(&dir);
    let bytes = std::fs::read(module("mean-by-group")).unwrap();
    let rec = node.put_module(&bytes).unwrap();
    assert_eq!(
        rec.hash,
        sluice_runtime::signing::module_hash(&bytes).unwrap()
    );
    assert_eq!(rec.signer, Some(fixture().key.public().key_id()));
    assert_eq!(node.module(&rec.hash).unwrap(), bytes);
    let mut req = run_request("mean-by-group");
    req.module = ModuleSource::Stored(rec.hash.clone());
    let r = node.run(req).unwrap();
    assert_eq!(r.outcome.decision, Decision::Released);
    assert_eq!(
        node.module("00".repeat(32).as_str()).unwrap_err().code(),
        "not-found.module"
    );

    // A stored module altered on disk is refused, not run.
    let path = dir.join("modules").join(format!("{}.wasm", rec.hash));
    let mut altered = bytes.clone();
    let at = altered.len() - 10;
    altered[at] ^= 1;
    std::fs::write(&path, altered).unwrap();
    assert_eq!(
        node.module(&rec.hash).unwrap_err().code(),
        "internal.corrupt"
    );
}

#[test]
fn policy_versions_are_kept_by_hash_and_recorded() {
    let dir = fresh_data_dir();
    let node = node_with_sales(&dir);
    let v1 = node.dataset("sales").unwrap().policy;
    let text = std::fs::read_to_string(policy("sales", &[("output_rows", "1")])).unwrap();
    let v2 = node.put_policy("sales", &text, None).unwrap();
    assert_ne!(v1.hash, v2.hash);
    let versions = node.policy_versions("sales").unwrap();
    assert_eq!(versions.len(), 2);
    assert!(!versions[0].current && versions[1].current);
    assert_eq!(node.policy_by_hash(&v1.hash).unwrap().text, v1.text);
    // Re-putting the current policy changes nothing.
    let len = node.ledger().len().unwrap();
    node.put_policy("sales", &text, None).unwrap();
    assert_eq!(node.ledger().len().unwrap(), len);
    // A policy for another dataset is refused.
    let other = std::fs::read_to_string(repo_policy("patients")).unwrap();
    assert_eq!(
        node.put_policy("sales", &other, None).unwrap_err().code(),
        "invalid.policy-dataset"
    );
    // Runs record the version they ran under; replay uses it even now.
    let r = node.run(run_request("mean-by-group")).unwrap();
    assert_eq!(r.outcome.decision, Decision::Withheld, "1 row allowed");
    node.put_policy("sales", &v1.text, None).unwrap();
    let replay = node.replay(&r.outcome.run_id).unwrap();
    assert!(replay.ok(), "{replay:?}");
    assert_eq!(replay.replayed_decision.as_deref(), Some("withheld"));
}

#[test]
fn one_node_serves_concurrent_runs() {
    let dir = fresh_data_dir();
    let node = Arc::new(node_with_sales(&dir));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let node = node.clone();
            std::thread::spawn(move || node.run(run_request("mean-by-group")).unwrap())
        })
        .collect();
    let mut indexes: Vec<u64> = runs
        .into_iter()
        .map(|t| t.join().unwrap().receipt.index)
        .collect();
    indexes.sort();
    indexes.dedup();
    assert_eq!(indexes.len(), 4, "each run has its own event");
    assert!(node.verify_ledger().unwrap().ok);
}

#[test]
fn dataset_commands_register_list_and_show() {
    let dir = fresh_data_dir();
    let d = dir.to_str().unwrap();
    let p = policy("patients", &[]);
    let patients = data("patients");
    let r = sluice(&[
        "--data-dir",
        d,
        "dataset",
        "add",
        "patients",
        patients.to_str().unwrap(),
        "--policy",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("registered patients"), "{}", r.stdout);
    let again = sluice(&[
        "--data-dir",
        d,
        "dataset",
        "add",
        "patients",
        patients.to_str().unwrap(),
        "--policy",
        p.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("already registered"),
        "{}",
        again.stderr
    );
    let wrong = sluice(&[
        "--data-dir",
        d,
        "dataset",
        "add",
        "orders",
        patients.to_str().unwrap(),
        "--policy",
        p.to_str().unwrap(),
    ]);
    assert_eq!(wrong.code, 2);
    assert!(
        wrong
            .stderr
            .contains("the policy is for dataset `patients`, not `orders`"),
        "{}",
        wrong.stderr
    );

    let list = sluice(&["--data-dir", d, "dataset", "list", "--json"]);
    assert_eq!(list.json[0]["name"], "patients");
    let show = sluice(&["--data-dir", d, "dataset", "show", "patients", "--json"]);
    let columns = show.json["dataset"]["columns"].as_array().unwrap();
    let access = |name: &str| {
        columns.iter().find(|c| c["name"] == name).unwrap()["access"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(access("income"), "aggregate");
    assert_eq!(access("diagnosis"), "none");
    assert_eq!(show.json["policy_versions"].as_array().unwrap().len(), 1);
    let text = sluice(&["--data-dir", d, "dataset", "show", "patients"]);
    assert!(
        text.stdout.contains("diagnosis utf8: none (invisible)"),
        "{}",
        text.stdout
    );

    // A registered dataset is run by name; the buyer key is added once.
    let key = fixture().public.to_str().unwrap();
    assert_eq!(sluice(&["--data-dir", d, "key", "add", key]).code, 0);
    let m = module("linear-regression");
    let r = sluice(&[
        "--data-dir",
        d,
        "run",
        "--json",
        "--module",
        m.to_str().unwrap(),
        "--dataset",
        "patients",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.decision(), "released");
    assert_eq!(r.json["receipt"]["event"]["id"], r.json["run_id"]);

    let missing = sluice(&["--data-dir", "/nonexistent/sluice", "dataset", "list"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("it holds no node"),
        "{}",
        missing.stderr
    );
}

#[test]
fn the_node_key_is_made_once_and_kept_private() {
    let dir = fresh_data_dir();
    let d = dir.to_str().unwrap();
    let out = dir.with_extension("pub");
    let a = sluice(&["--data-dir", d, "node", "key", "--json"]);
    let b = sluice(&[
        "--data-dir",
        d,
        "node",
        "key",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert!(b.stdout.contains(a.json["public_key"].as_str().unwrap()));
    let written = sluice_runtime::signing::PublicKey::from_file(&out).unwrap();
    assert_eq!(written.to_hex(), a.json["public_key"]);
    assert_eq!(a.json["node_id"], written.key_id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_withheld_run_is_recorded_and_billed_as_the_buyer_saw_it_and_its_exact_figures_stay_private() {
    let dir = fresh_data_dir();
    let node = node_with(&dir, "sales", &policy("sales", &[("output_bytes", "100")]));
    let r = node.run(run_request("mean-by-group")).unwrap();
    assert_eq!(r.outcome.decision, Decision::Withheld);
    let exact = &r.outcome.audit;
    // The host stops encoding a table at the byte cap: there is no hash or
    // size of a table too large to release, not even a private one.
    assert_eq!(
        (exact.output_hash.as_ref(), exact.output_bytes),
        (None, None)
    );
    let run = r.receipt.event.run().unwrap();
    assert!(run.figures_rounded);
    assert_eq!((run.output_hash.as_ref(), run.output_bytes), (None, None));
    assert_eq!(run.fuel_consumed, r.outcome.usage.fuel_consumed);
    assert!(run.fuel_consumed.is_power_of_two() && run.fuel_consumed >= exact.usage.fuel_consumed);
    // Billed from the figures in the event, which are the rounded ones.
    let recomputed = sluice_ledger::billing::charge_for("sales", &run.charges[0].prices, run);
    assert_eq!(recomputed.unwrap().amount, run.charges[0].amount);
    assert!(
        node.billing_check(sluice_ledger::billing::GroupBy::Buyer, None, None)
            .unwrap()
            .mismatches
            .is_empty()
    );
    // The exact figures are in the private record, which the event commits to.
    let bytes = node
        .ledger()
        .private_record(&r.outcome.run_id)
        .unwrap()
        .unwrap();
    let private = sluice_ledger::audit::PrivateRecord::from_bytes(&bytes).unwrap();
    assert_eq!(private.data["fuel_consumed"], exact.usage.fuel_consumed);
    assert_ne!(private.data["fuel_consumed"], run.fuel_consumed);
    assert_eq!(
        run.audit_commitment.as_deref(),
        Some(sluice_ledger::audit::commitment(&bytes).as_str())
    );
    let replay = node.replay(&r.outcome.run_id).unwrap();
    assert_eq!(replay.status, ReplayStatus::Match, "{replay:?}");
}

#[test]
fn a_differentially_private_run_replays_to_its_released_bytes_and_charges_nothing() {
    let dir = fresh_data_dir();
    let node = node_with(&dir, "patients", &policy("patients", &[]));
    let r = node.run(request("histogram", "patients")).unwrap();
    assert_eq!(r.outcome.decision, Decision::Released);
    assert!(!r.outcome.audit.privacy.noise.is_empty(), "a noisy run");
    let budget = BudgetStore::open(&dir.join("privacy.sqlite")).unwrap();
    let buyer = fixture().key.public().key_id();
    let spent = || {
        budget
            .spent(&buyer, "patients", None, SystemTime::now())
            .unwrap()
    };
    let charged = spent();
    assert!(charged > 0.0);
    for _ in 0..2 {
        let replay = node.replay(&r.outcome.run_id).unwrap();
        assert_eq!(replay.status, ReplayStatus::Match, "{replay:?}");
        for field in ["output_hash", "noise_draws", "privacy_trail"] {
            assert!(
                replay.checked.iter().any(|c| c == field),
                "{field}: {replay:?}"
            );
        }
    }
    assert_eq!(spent(), charged, "replay charged the budget");
}

#[test]
fn exact_aggregates_replay_their_recorded_difference_checks_and_remember_nothing_new() {
    let dir = fresh_data_dir();
    let p = policy_without_privacy("patients", &[], Trust::SignerOnly);
    let node = node_with(&dir, "patients", &p);
    let first = node
        .run(request("pairwise-differencing", "patients"))
        .unwrap();
    assert_eq!(first.outcome.decision, Decision::Released);
    assert!(!first.outcome.audit.privacy.differences.is_empty());
    let second = node
        .run(request("pairwise-differencing", "patients"))
        .unwrap();
    let remembered = || {
        rusqlite::Connection::open(dir.join("differences.sqlite"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM released_set", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
    };
    let before = remembered();
    assert!(
        before > 0,
        "the node keeps its history in its data directory"
    );
    for r in [&first, &second] {
        let replay = node.replay(&r.outcome.run_id).unwrap();
        assert_eq!(replay.status, ReplayStatus::Match, "{replay:?}");
        assert!(
            replay.checked.iter().any(|c| c == "difference_checks"),
            "{replay:?}"
        );
    }
    assert_eq!(remembered(), before, "replay added to the history");
}
