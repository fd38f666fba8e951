//! `sluice demo`: the main job end to end on the example data. It plays
//! every part: the buyer (a key pair, signed analytics), the owner (policies
//! that approve some modules for raw access and trust the buyer's key for
//! differentially private aggregates), the node (registered datasets, runs,
//! refusals, every attempt recorded) and the auditor (ledger verification,
//! replay of every run, billing, an offline receipt check).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Args;
use sluice::example_data::{DataSpec, generate};
use sluice::{guests, render};
use sluice_ledger::billing::GroupBy;
use sluice_node::{ModuleSource, Node, Role, RunRequest};
use sluice_runtime::Decision;
use sluice_runtime::signing::{self, SecretKey};

use super::policy::{approve, trust};
use super::{Failure, NodeArgs};

/// How the demo presents a module to the node.
#[derive(Clone, Copy, PartialEq)]
enum Signing {
    Signed,
    Unsigned,
}

struct Step {
    title: &'static str,
    guest: &'static str,
    dataset: &'static str,
    params: &'static str,
    signing: Signing,
    expect: Decision,
}

const fn step(
    title: &'static str,
    guest: &'static str,
    dataset: &'static str,
    expect: Decision,
) -> Step {
    Step {
        title,
        guest,
        dataset,
        params: "",
        signing: Signing::Signed,
        expect,
    }
}

const STEPS: &[Step] = &[
    step(
        "approved: mean order amount per region (raw columns, Parquet)",
        "mean-by-group",
        "sales",
        Decision::Released,
    ),
    Step {
        params: r#"{"n":5}"#,
        ..step(
            "approved: top products by revenue (raw columns, Parquet)",
            "top-products",
            "sales",
            Decision::Released,
        )
    },
    step(
        "approved: blood pressure ~ age + BMI (raw columns, CSV)",
        "linear-regression",
        "patients",
        Decision::Released,
    ),
    step(
        "trusted signer: age histogram with mean income (host aggregates, differential privacy)",
        "histogram",
        "patients",
        Decision::Released,
    ),
    step(
        "trusted signer, not approved: scanning a raw column is refused",
        "forbidden-raw",
        "patients",
        Decision::Aborted,
    ),
    step(
        "hostile: an infinite loop, stopped by fuel",
        "infinite-loop",
        "patients",
        Decision::Aborted,
    ),
    Step {
        signing: Signing::Unsigned,
        ..step(
            "refused: an unsigned module never reaches the compiler",
            "mean-by-group",
            "sales",
            Decision::Denied,
        )
    },
];

fn data_file(dir: &Path, dataset: &str) -> PathBuf {
    match dataset {
        "sales" => dir.join("sales.parquet"),
        _ => dir.join(format!("{dataset}.csv")),
    }
}

/// The buyer signs every module the demo runs.
fn sign_all(wasm: &Path, dir: &Path, key: &SecretKey) -> anyhow::Result<()> {
    for step in STEPS {
        let module = std::fs::read(guests::component(wasm, step.guest))?;
        let signed = signing::sign(&module, key)?;
        std::fs::write(guests::component(dir, step.guest), signed)?;
    }
    Ok(())
}

/// The owners' policies: the repository's, plus approvals and trust.
fn owner_policies(dir: &Path, wasm: &Path, buyer_pub: &PathBuf) -> Result<(), Failure> {
    for dataset in ["sales", "patients"] {
        let from = guests::repo_root()
            .join("policies")
            .join(format!("{dataset}.toml"));
        let to = dir.join(format!("{dataset}.toml"));
        std::fs::copy(&from, &to).map_err(Failure::internal)?;
    }
    let note = Some("reviewed by the data owner for the demo");
    for (guest, dataset) in [
        ("mean-by-group", "sales"),
        ("top-products", "sales"),
        ("linear-regression", "patients"),
    ] {
        let policy = dir.join(format!("{dataset}.toml"));
        approve(
            &policy,
            &guests::component(wasm, guest),
            Some("2099-12-31T00:00:00Z"),
            note,
        )?;
    }
    trust(&dir.join("patients.toml"), buyer_pub, Some("demo buyer"))?;
    Ok(())
}

/// Arguments of `sluice demo`.
#[derive(Args)]
pub(super) struct DemoArgs {
    /// Where to put the example data, keys, signed modules and policies.
    #[arg(long, value_name = "DIR", default_value = "target/demo-data")]
    example_dir: PathBuf,
}

/// The owner registers both datasets; the buyer's key becomes a buyer key.
fn register(node: &Node, dir: &Path, key: &SecretKey) -> Result<(), Failure> {
    for dataset in ["sales", "patients"] {
        let policy = std::fs::read_to_string(dir.join(format!("{dataset}.toml")))
            .map_err(Failure::internal)?;
        let d = node
            .register(dataset, &data_file(dir, dataset), &policy, None)
            .map_err(Failure::node)?;
        println!(
            "registered {} ({}, {} bytes) under policy v{} {}…",
            d.name,
            d.format,
            d.size_bytes,
            d.policy.version,
            &d.policy.hash[..12]
        );
    }
    node.add_key(&key.public(), Role::Buyer, &[], None)
        .map_err(Failure::node)?;
    Ok(())
}

/// The auditor's part: verify the ledger, replay every run, bill, and check
/// one receipt offline with the node's public key.
fn audit(node: &Node, receipt: Option<&sluice_ledger::Receipt>) -> Result<usize, Failure> {
    let mut problems = 0;
    let report = node.verify_ledger().map_err(Failure::node)?;
    println!(
        "ledger verify: {} ({} events, {} checkpoints)",
        if report.ok { "OK" } else { "FAILED" },
        report.events,
        report.checkpoints
    );
    problems += usize::from(!report.ok);
    let replays = node.replay_all().map_err(Failure::node)?;
    let bad = replays.iter().filter(|r| !r.ok()).count();
    println!(
        "ledger replay --all: {} runs re-run, {} matching the record",
        replays.len(),
        replays.len() - bad
    );
    problems += bad;
    if let Some(r) = receipt {
        let verified = r.verify(&node.note_verifier()).is_ok();
        println!(
            "receipt verify (offline, node key only): {}",
            if verified { "OK" } else { "FAILED" }
        );
        problems += usize::from(!verified);
    }
    let bill = node
        .billing_check(GroupBy::Dataset, None, None)
        .map_err(Failure::node)?;
    for l in &bill.report.lines {
        println!(
            "billing: {} {} runs, {} {}",
            l.key, l.runs, l.amount, l.currency
        );
    }
    problems += bill.mismatches.len();
    Ok(problems)
}

/// `sluice demo`.
pub(super) fn run(node_args: &NodeArgs, args: DemoArgs) -> Result<ExitCode, Failure> {
    let root = guests::repo_root();
    let dir = root.join(&args.example_dir);
    println!("== generating the example data in {}", dir.display());
    generate(&dir, &DataSpec::default()).map_err(Failure::internal)?;
    println!("== building the guest components (cargo build --target wasm32-wasip2)");
    guests::build("examples").map_err(Failure::internal)?;
    let wasm = guests::build("tests/guests").map_err(Failure::internal)?;
    println!("== the buyer makes a key and signs the modules; the owners approve and trust");
    let key = SecretKey::generate().map_err(Failure::internal)?;
    let buyer_pub = dir.join("buyer.pub");
    key.public()
        .to_file(&buyer_pub, true)
        .map_err(Failure::internal)?;
    sign_all(&wasm, &dir, &key)
        .context("signing the demo modules")
        .map_err(Failure::internal)?;
    owner_policies(&dir, &wasm, &buyer_pub)?;
    let node_dir = match node_args.data_dir() {
        Some(d) => d.to_path_buf(),
        None => {
            // The demo's own node starts empty every time.
            let d = dir.join("node");
            let _ = std::fs::remove_dir_all(&d);
            d
        }
    };
    println!(
        "== the node in {} registers the datasets",
        node_dir.display()
    );
    let node = node_args.open_in(&node_dir)?;
    register(&node, &dir, &key)?;
    let mut surprises = 0;
    let mut last_receipt = None;
    for step in STEPS {
        println!("\n== {} [{}]", step.title, step.guest);
        let module = match step.signing {
            Signing::Signed => guests::component(&dir, step.guest),
            Signing::Unsigned => guests::component(&wasm, step.guest),
        };
        let bytes = std::fs::read(&module).map_err(Failure::internal)?;
        let mut request = RunRequest::new(ModuleSource::Bytes(bytes), vec![step.dataset.into()]);
        request.params = step.params.into();
        request.seed = Some(7);
        let result = node.run(request).map_err(Failure::node)?;
        print!("{}", render::outcome(&result.outcome));
        println!(
            "recorded: event {} of the ledger, with a receipt",
            result.receipt.index
        );
        if result.outcome.decision != step.expect {
            surprises += 1;
            eprintln!(
                "unexpected decision for {}: {:?}",
                step.guest, result.outcome.decision
            );
        }
        last_receipt = Some(result.receipt);
    }
    println!("\n== the auditor checks the node");
    surprises += audit(&node, last_receipt.as_ref())?;
    if surprises > 0 {
        return Err(Failure::internal(anyhow!(
            "{surprises} demo steps did not end as expected"
        )));
    }
    println!(
        "\nAll runs ended as the policies require and the ledger checks out. Try `sluice --data-dir {} ledger show` next.",
        node_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
