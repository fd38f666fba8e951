//! `sluice run`: one run through the node, recorded in its ledger.
//!
//! Datasets are registered ones (`--dataset NAME`) or given ad hoc with their
//! policies (`--data NAME=PATH --policy P.toml`), which registers them (or
//! updates their path and policy) first, recorded like any registration.
//! `--buyer` keys become buyer keys of the node. Everything else is
//! `Node::run`: this module only reads files, pairs arguments and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use sluice::render;
use sluice_node::{ModuleSource, Node, Role, RunRequest, RunResult};
use sluice_runtime::signing::PublicKey;
use sluice_runtime::{Decision, Policy};

use super::{EXIT_NOT_RELEASED, Failure, NodeArgs, print_json, read_file, write_file};

/// Arguments of `sluice run`.
#[derive(Args)]
pub(super) struct RunArgs {
    /// The guest component (.wasm).
    #[arg(long)]
    module: PathBuf,
    /// A registered dataset, by name; repeat for several.
    #[arg(long = "dataset", value_name = "NAME")]
    dataset: Vec<String>,
    /// A dataset given ad hoc as NAME=PATH (.csv or .parquet), registered
    /// with the --policy naming it; repeat for several.
    #[arg(
        long = "data",
        value_name = "NAME=PATH",
        required_unless_present = "dataset"
    )]
    data: Vec<String>,
    /// The release policy (TOML) of a --data dataset.
    #[arg(long = "policy", value_name = "P.toml")]
    policy: Vec<PathBuf>,
    /// A buyer public key for the node to know (repeatable; kept as a buyer key).
    #[arg(long = "buyer", value_name = "NAME.pub")]
    buyer: Vec<PathBuf>,
    /// A detached signature of the module (default: the signature embedded in it).
    #[arg(long, value_name = "SIG")]
    signature: Option<PathBuf>,
    /// Parameters passed to the analytic (JSON text).
    #[arg(long, default_value = "")]
    params: String,
    /// Seed for the guest's randomness (default: chosen by the host and recorded).
    #[arg(long)]
    seed: Option<u64>,
    /// W3C trace context to record with the run.
    #[arg(long, value_name = "TRACEPARENT")]
    traceparent: Option<String>,
    /// Print one JSON object (the outcome and its `receipt`) instead of a summary.
    #[arg(long)]
    json: bool,
    /// Write the run's receipt (event, index, checkpoint, inclusion proof) here.
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Write the guest's captured stdout/stderr here (never part of the output).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// An ad-hoc dataset: name, path and policy text.
struct AdHoc {
    name: String,
    path: PathBuf,
    policy: String,
}

/// Pairs each `--data NAME=PATH` with the `--policy` naming it.
fn ad_hoc(data: &[String], policies: &[PathBuf]) -> Result<Vec<AdHoc>, Failure> {
    let policies = policies
        .iter()
        .map(|p| {
            let text = String::from_utf8(read_file(p, "policy")?)
                .map_err(|_| Failure::usage(anyhow!("policy {} is not UTF-8 text", p.display())))?;
            let policy = Policy::parse(&text)
                .map_err(|e| Failure::usage(anyhow!("{}: {e}", p.display())))?;
            Ok((policy.dataset, text))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    data.iter()
        .map(|spec| {
            let (name, path) = spec
                .split_once('=')
                .ok_or_else(|| Failure::usage(anyhow!("--data {spec:?}: expected NAME=PATH")))?;
            let (_, policy) = policies.iter().find(|(d, _)| d == name).ok_or_else(|| {
                Failure::usage(anyhow!(
                    "dataset `{name}` has no policy: pass --policy with `dataset = \"{name}\"`"
                ))
            })?;
            Ok(AdHoc {
                name: name.into(),
                path: path.into(),
                policy: policy.clone(),
            })
        })
        .collect()
}

/// Reads the buyer public keys named on the command line.
fn buyer_keys(paths: &[PathBuf]) -> Result<Vec<PublicKey>, Failure> {
    paths
        .iter()
        .map(|p| {
            PublicKey::from_file(p)
                .map_err(|e| Failure::usage(anyhow!("--buyer {}: {e}", p.display())))
        })
        .collect()
}

/// Exit code for a decision.
pub(super) fn exit_code(decision: Decision) -> ExitCode {
    match decision {
        Decision::Released => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_NOT_RELEASED),
    }
}

/// The `--json` object: the outcome's fields plus `receipt`.
pub(super) fn result_json(result: &RunResult) -> Result<serde_json::Value, Failure> {
    let mut value = serde_json::to_value(&result.outcome).map_err(Failure::internal)?;
    let receipt = serde_json::to_value(&result.receipt).map_err(Failure::internal)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("receipt".into(), receipt);
    }
    Ok(value)
}

/// The summary line about the receipt.
pub(super) fn receipt_line(result: &RunResult, node: &Node) -> String {
    format!(
        "recorded: event {} of the ledger in {} (node {}); `sluice ledger show --run {}`\n",
        result.receipt.index,
        node.data_dir().display(),
        node.id(),
        result.outcome.run_id
    )
}

/// Registers the ad-hoc datasets and buyer keys, then runs.
fn execute(
    node: &Node,
    args: &RunArgs,
    ad_hoc: &[AdHoc],
    module: Vec<u8>,
) -> Result<RunResult, Failure> {
    for key in buyer_keys(&args.buyer)? {
        node.add_key(&key, Role::Buyer, &[], None)
            .map_err(Failure::node)?;
    }
    for d in ad_hoc {
        node.register(&d.name, &d.path, &d.policy, None)
            .map_err(Failure::node)?;
    }
    let detached = args
        .signature
        .as_deref()
        .map(|p| read_file(p, "signature"))
        .transpose()?;
    let datasets = ad_hoc
        .iter()
        .map(|d| d.name.clone())
        .chain(args.dataset.iter().cloned())
        .collect();
    node.run(RunRequest {
        module: ModuleSource::Bytes(module),
        detached_signature: detached,
        datasets,
        params: args.params.clone(),
        seed: args.seed,
        traceparent: args.traceparent.clone(),
    })
    .map_err(Failure::node)
}

/// `sluice run`.
pub(super) fn run(node_args: &NodeArgs, args: RunArgs) -> Result<ExitCode, Failure> {
    let ad_hoc = ad_hoc(&args.data, &args.policy)?;
    let module = read_file(&args.module, "module")?;
    let node = node_args.open()?;
    let result = execute(&node, &args, &ad_hoc, module)?;
    if let Some(path) = &args.receipt {
        let text = serde_json::to_vec_pretty(&result.receipt).map_err(Failure::internal)?;
        write_file(path, &text)?;
    }
    if let Some(path) = &args.log {
        write_file(path, &result.outcome.log)?;
    }
    if args.json {
        print_json(&result_json(&result)?)?;
    } else {
        print!("{}", render::outcome(&result.outcome));
        print!("{}", receipt_line(&result, &node));
    }
    Ok(exit_code(result.outcome.decision))
}
