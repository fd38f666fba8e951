//! `sluice receipt verify`: what a buyer runs offline, with nothing but the
//! receipt and the node's public key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use sluice_ledger::{Receipt, verify_receipt};

use super::{EXIT_NOT_RELEASED, Failure, print_json, read_file};

/// Receipt subcommands.
#[derive(Subcommand)]
pub(super) enum ReceiptCommand {
    /// Check a receipt: the event's hash, the inclusion proof and the node's
    /// signature on the checkpoint. Exit 3 naming what does not check out.
    Verify {
        /// The receipt (`sluice run --receipt FILE`, or the `--json` output of a run).
        receipt: PathBuf,
        /// The node's public key: `node.pub` (`sluice node key --out`), hex,
        /// or its checkpoint verifier key.
        #[arg(long = "node", value_name = "NODE.pub")]
        node: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Reads a receipt from a receipt file or a run's `--json` output.
fn load(path: &Path) -> Result<Receipt, Failure> {
    let bytes = read_file(path, "receipt")?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::usage(anyhow!("{} is not JSON: {e}", path.display())))?;
    let value = match value.get("receipt") {
        Some(inner) => inner.clone(),
        None => value,
    };
    serde_json::from_value(value)
        .map_err(|e| Failure::usage(anyhow!("{} is not a receipt: {e}", path.display())))
}

/// Runs a receipt subcommand.
pub(super) fn run(cmd: ReceiptCommand) -> Result<ExitCode, Failure> {
    let ReceiptCommand::Verify {
        receipt,
        node,
        json,
    } = cmd;
    let verifier = sluice_node::identity::parse_verifier(&read_file(&node, "node key")?)
        .map_err(Failure::node)?;
    let r = load(&receipt)?;
    match verify_receipt(&r, &verifier) {
        Ok(v) => {
            if json {
                print_json(&serde_json::json!({"valid": true, "verified": v}))?;
            } else {
                println!(
                    "receipt OK: event {} is entry {} of {}'s log, included in its signed checkpoint of {} events (root {})",
                    v.event_id, v.index, v.origin, v.tree_size, v.root
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                print_json(&serde_json::json!({
                    "valid": false,
                    "code": e.code(),
                    "error": e.to_string(),
                }))?;
            }
            Err(Failure {
                error: anyhow!("{}: {e}", receipt.display()),
                code: EXIT_NOT_RELEASED,
            })
        }
    }
}
