//! What the node adds to one warm run: `Node::run` (registry lookups, the
//! run itself, the module-store check, the usage event and its private
//! record, and the durable, fsync'd ledger append under a new signed
//! checkpoint) against the same engine running the same module over the
//! same freshly opened dataset, with nothing recorded.
//!
//! Both sides open (and hash) the dataset per run and share one warm engine
//! and compiled module, so the difference is what recording costs. A
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
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_main};
use sluice::guests;
use sluice_node::{ModuleSource, Node, NodeConfig, Role, RunRequest};
use sluice_runtime::signing;
use sluice_runtime::{Dataset, Decision, Grant, Policy};

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
        let dir = tempfile::tempdir_in(&scratch).expect("node dir");
        let node = Node::open(NodeConfig::new(dir.path())).expect("node");
        node.register("sales", &path, &text, None)
            .expect("register");
        node.add_key(&common::buyer_key().public(), Role::Buyer, &[], None)
            .expect("key");
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
        let recorded = || {
            let mut request =
                RunRequest::new(ModuleSource::Bytes(module.clone()), vec!["sales".into()]);
            request.seed = Some(1);
            let result = node.run(request).expect("run");
            assert_eq!(result.outcome.decision, Decision::Released);
            result
        };
        // Warm both paths (compile once, store the module once).
        black_box(recorded());
        black_box(unrecorded());
        group.bench_function(BenchmarkId::new("engine only, not recorded", rows), |b| {
            b.iter(|| black_box(unrecorded()))
        });
        group.bench_function(BenchmarkId::new("Node::run, recorded", rows), |b| {
            b.iter(|| black_box(recorded()))
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
