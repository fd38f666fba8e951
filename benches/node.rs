//! What the node adds to one warm run: `Node::run` (registry lookups, the
//! run itself, the module-store check, the usage event and its private
//! record, and the durable, fsync'd ledger append under a new signed
//! checkpoint) against the same engine running the same module over the
//! same freshly opened dataset, with nothing recorded.
//!
//! Both sides open (and hash) the dataset per run and share one warm engine
//! and compiled module, so the difference is what recording costs. A third
//! variant runs `Node::run` with an in-memory ledger (encoding, tree,
//! signed checkpoint, receipt; no SQLite, no fsync): what the node costs
//! apart from durability. A
//! 1,000-row file keeps the run itself short enough that the difference is
//! not lost in its noise; the 60,000-row example size shows it in proportion.
//!
//! The bench also measures one fsync of 4 KiB on the same disk: recording
//! is durable, so it costs at least that, whatever the node does.
//!
//! `cargo bench --bench node`.

mod common;

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_main};
use sluice::guests;
use sluice_ledger::merkle::{self, MerkleTree};
use sluice_ledger::{
    Envelope, Ledger, LedgerError, NoteSigner, Receipt, SignedCheckpoint, StoredEvent, canonical,
};
use sluice_node::{ModuleSource, Node, NodeConfig, Role, RunRequest};
use sluice_runtime::signing;
use sluice_runtime::{Dataset, Decision, Grant, Policy};

/// The ledger's work without its storage: canonical encoding, the Merkle
/// tree, a signed checkpoint and the receipt, all in memory and never
/// fsync'd. Run through it, `Node::run` shows what the node costs apart from
/// making the event durable.
struct MemoryLedger {
    signer: NoteSigner,
    state: Mutex<Memory>,
}

/// The tree, the events and the latest checkpoint.
type Memory = (MerkleTree, Vec<StoredEvent>, Option<SignedCheckpoint>);

impl Ledger for MemoryLedger {
    fn append(&self, mut event: Envelope, _: Option<Vec<u8>>) -> Result<Receipt, LedgerError> {
        event.validate()?;
        let mut state = self.state.lock().expect("lock");
        let (tree, events, latest) = &mut *state;
        event.sequence = tree.len();
        let bytes = canonical::to_vec(&event).map_err(|e| LedgerError::Encoding(e.to_string()))?;
        tree.push(&bytes);
        let cp = SignedCheckpoint::sign(tree.len(), tree.root(), &self.signer)?;
        let proof = tree.inclusion_proof(event.sequence)?;
        let leaf = merkle::leaf_hash(&bytes);
        let receipt = Receipt::new(event.clone(), leaf, &cp, &proof);
        events.push(StoredEvent {
            index: event.sequence,
            bytes,
            envelope: event,
            leaf_hash: leaf,
        });
        *latest = Some(cp);
        Ok(receipt)
    }
    fn len(&self) -> Result<u64, LedgerError> {
        Ok(self.state.lock().expect("lock").0.len())
    }
    fn event(&self, index: u64) -> Result<Option<StoredEvent>, LedgerError> {
        Ok(self
            .state
            .lock()
            .expect("lock")
            .1
            .get(index as usize)
            .cloned())
    }
    fn event_by_id(&self, id: &str) -> Result<Option<StoredEvent>, LedgerError> {
        let state = self.state.lock().expect("lock");
        Ok(state.1.iter().find(|e| e.envelope.id == id).cloned())
    }
    fn events(&self, from: u64, limit: u64) -> Result<Vec<StoredEvent>, LedgerError> {
        let state = self.state.lock().expect("lock");
        let events = state.1.iter().skip(from as usize).take(limit as usize);
        Ok(events.cloned().collect())
    }
    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError> {
        let state = self.state.lock().expect("lock");
        state.2.clone().ok_or(LedgerError::NotFound(0))
    }
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError> {
        Ok(self.checkpoint().into_iter().collect())
    }
    fn receipt(&self, index: u64) -> Result<Receipt, LedgerError> {
        Err(LedgerError::NotFound(index))
    }
    fn inclusion_proof(&self, index: u64, _: u64) -> Result<Vec<[u8; 32]>, LedgerError> {
        Err(LedgerError::NotFound(index))
    }
    fn consistency_proof(&self, from: u64, _: u64) -> Result<Vec<[u8; 32]>, LedgerError> {
        Err(LedgerError::NotFound(from))
    }
    fn private_record(&self, _: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(None)
    }
}

/// A node in a new directory under `scratch`, with the SQLite ledger or
/// (`memory`) a [`MemoryLedger`].
fn open_node(scratch: &Path, memory: bool) -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir_in(scratch).expect("node dir");
    let config = NodeConfig::new(dir.path());
    let node = if memory {
        Node::open_with_ledger(config, |_, signer| {
            Ok(Arc::new(MemoryLedger {
                signer,
                state: Mutex::new((MerkleTree::new(), Vec::new(), None)),
            }) as Arc<dyn Ledger>)
        })
    } else {
        Node::open(config)
    };
    (dir, node.expect("node"))
}

/// `policies/sales.toml` approving `module`.
fn policy_text(module: &[u8]) -> String {
    let path = guests::repo_root().join("policies").join("sales.toml");
    let text = std::fs::read_to_string(path).expect("policy");
    let hash = signing::module_hash(module).expect("hash");
    format!("{text}\n[[approvals]]\nmodule = \"{hash}\"\n")
}

fn recording(c: &mut Criterion) {
    let module = common::guest_modules(&["mean-by-group"])
        .expect("guests build")
        .remove(0);
    let text = policy_text(&module);
    let policy = Policy::parse(&text).expect("policy");
    let scratch = guests::repo_root().join("target").join("bench-data");
    std::fs::create_dir_all(&scratch).expect("bench dir");
    let mut group = c.benchmark_group("warm run: recorded vs not");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    for rows in [1_000, 60_000] {
        let path = common::data_file(rows).expect("bench data");
        let (_dir, node) = open_node(&scratch, false);
        let (_memory_dir, memory) = open_node(&scratch, true);
        for n in [&node, &memory] {
            n.register("sales", &path, &text, None).expect("register");
            n.add_key(&common::buyer_key().public(), Role::Buyer, &[], None)
                .expect("key");
        }
        let unrecorded = || {
            let dataset = Dataset::open("sales", &path)
                .and_then(|d| d.declare(policy.declared_types()))
                .expect("dataset");
            let grant = Grant {
                dataset,
                policy: policy.clone(),
            };
            let outcome = node
                .engine()
                .run(common::request(&module, &grant, ""))
                .expect("run");
            assert_eq!(outcome.decision, Decision::Released, "{:?}", outcome.reason);
            outcome
        };
        let recorded = |node: &Node| {
            let mut request =
                RunRequest::new(ModuleSource::Bytes(module.clone()), vec!["sales".into()]);
            request.seed = Some(1);
            let result = node.run(request).expect("run");
            assert_eq!(result.outcome.decision, Decision::Released);
            result
        };
        // Warm every path (compile once, store the module once).
        black_box(recorded(&node));
        black_box(recorded(&memory));
        black_box(unrecorded());
        group.bench_function(BenchmarkId::new("engine only, not recorded", rows), |b| {
            b.iter(|| black_box(unrecorded()))
        });
        group.bench_function(BenchmarkId::new("Node::run, in-memory ledger", rows), |b| {
            b.iter(|| black_box(recorded(&memory)))
        });
        group.bench_function(BenchmarkId::new("Node::run, recorded", rows), |b| {
            b.iter(|| black_box(recorded(&node)))
        });
        assert!(node.verify_ledger().expect("verify").ok);
    }
    // The disk's floor: one durable write of 4 KiB, measured alongside, since
    // a recorded run cannot be cheaper than the fsync that makes it durable.
    let file_path = scratch.join("fsync-floor.bin");
    let mut file = std::fs::File::create(&file_path).expect("file");
    group.bench_function("one fsync of 4 KiB (the disk's floor)", |b| {
        b.iter(|| {
            file.write_all(&[0u8; 4096]).expect("write");
            file.sync_data().expect("fsync");
        })
    });
    drop(file);
    let _ = std::fs::remove_file(file_path);
    group.finish();
}

/// Private, so the functions criterion's macro generates need no docs.
mod group {
    use super::recording;
    criterion::criterion_group!(benches, recording);
}
criterion_main!(group::benches);
