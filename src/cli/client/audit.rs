//! Auditors' and everyone's checking commands: receipts (fetched, and
//! verified offline with only the node's verifier key), the billing
//! report, and the ledger (checkpoint, consistency, events, export, a full
//! verification done here on the exported ledger, replay on the node).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use sluice_ledger::{NoteVerifier, Receipt, verify_receipt};

use super::call::{Session, ok, print_value};
use crate::cli::{EXIT_NOT_RELEASED, Failure, read_file, write_file};

/// Receipt subcommands.
#[derive(Subcommand)]
pub(super) enum ReceiptCommand {
    /// Fetch a run's receipt (against the latest checkpoint).
    Get {
        /// The run id.
        id: String,
        /// Save it here instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verify a receipt offline: the event, its inclusion proof and the
    /// node's signature on the checkpoint.
    Verify {
        /// The receipt file.
        file: PathBuf,
        /// The node's note verifier key (`sluice client node` shows it); when
        /// absent it is fetched from the node, which then has to be trusted for it.
        #[arg(long, env = "SLUICE_NODE_VKEY")]
        vkey: Option<String>,
    },
}

fn vkey(s: &Session, given: Option<String>) -> Result<NoteVerifier, Failure> {
    let text = match given {
        Some(v) => v,
        None => {
            let node = ok(s.get("/v1/node")?)?;
            eprintln!(
                "note: using the verifier key the node reports; pass --vkey to check against one you trust"
            );
            node["note_verifier"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    NoteVerifier::parse(text.trim()).map_err(|e| Failure::usage(anyhow!("--vkey: {e}")))
}

/// `sluice client receipt ...`.
pub(super) fn receipt(s: &Session, command: ReceiptCommand) -> Result<ExitCode, Failure> {
    match command {
        ReceiptCommand::Get { id, out } => {
            let value = ok(s.get(&format!("/v1/runs/{id}/receipt"))?)?;
            match out {
                Some(path) => {
                    let text = serde_json::to_vec_pretty(&value).map_err(Failure::internal)?;
                    write_file(&path, &text)?;
                    eprintln!("receipt saved to {}", path.display());
                }
                None => print_value(&value)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        ReceiptCommand::Verify { file, vkey: given } => {
            let bytes = read_file(&file, "receipt")?;
            let r: Receipt = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::usage(anyhow!("{} is not a receipt: {e}", file.display())))?;
            let verifier = vkey(s, given)?;
            match verify_receipt(&r, &verifier) {
                Ok(v) => {
                    print_value(&serde_json::to_value(&v).map_err(Failure::internal)?)?;
                    eprintln!(
                        "receipt OK: event {} is in the node's signed log of {} events",
                        r.index, v.tree_size
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("receipt FAILED: {e}");
                    Ok(ExitCode::from(EXIT_NOT_RELEASED))
                }
            }
        }
    }
}

/// Arguments of `sluice client bill`.
#[derive(Args)]
pub(super) struct BillArgs {
    /// `buyer` or `dataset`.
    #[arg(long, default_value = "buyer")]
    group_by: String,
    /// Start, inclusive (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// End, exclusive.
    #[arg(long)]
    to: Option<String>,
}

/// `sluice client bill`.
pub(super) fn bill(s: &Session, a: BillArgs) -> Result<ExitCode, Failure> {
    let mut path = format!("/v1/billing?group_by={}", a.group_by);
    for (k, v) in [("from", &a.from), ("to", &a.to)] {
        if let Some(v) = v {
            path.push_str(&format!("&{k}={v}"));
        }
    }
    s.show(s.get(&path)?)
}

/// Ledger subcommands.
#[derive(Subcommand)]
pub(super) enum LedgerCommand {
    /// The latest signed checkpoint.
    Checkpoint,
    /// Proof that the log at `--to` extends the log at `--from`.
    Consistency {
        /// The older size.
        #[arg(long)]
        from: u64,
        /// The newer size [default: now].
        #[arg(long)]
        to: Option<u64>,
    },
    /// Events in ledger order (auditors).
    Events {
        /// First index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most events.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Download the whole ledger as JSON Lines (auditors).
    Export {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Download the ledger and verify it here, against the node's verifier
    /// key: every event, the tree, every checkpoint (auditors).
    Verify {
        /// The node's note verifier key [default: as the node reports it].
        #[arg(long, env = "SLUICE_NODE_VKEY")]
        vkey: Option<String>,
    },
    /// Re-run a recorded run on the node and compare (auditors).
    Replay {
        /// The run id, or a receipt file of the run.
        run: String,
    },
}

/// A run id, or the id of the run a receipt file is for.
fn run_id(run: &str) -> Result<String, Failure> {
    let path = PathBuf::from(run);
    if !path.is_file() {
        return Ok(run.to_string());
    }
    let r: Receipt = serde_json::from_slice(&read_file(&path, "receipt")?)
        .map_err(|e| Failure::usage(anyhow!("{} is not a receipt: {e}", path.display())))?;
    Ok(r.event.id)
}

/// `sluice client ledger ...`.
pub(super) fn ledger(s: &Session, command: LedgerCommand) -> Result<ExitCode, Failure> {
    match command {
        LedgerCommand::Checkpoint => s.show(s.get("/v1/ledger/checkpoint")?),
        LedgerCommand::Consistency { from, to } => s.show(s.get(&match to {
            Some(to) => format!("/v1/ledger/consistency?from={from}&to={to}"),
            None => format!("/v1/ledger/consistency?from={from}"),
        })?),
        LedgerCommand::Events { from, limit } => {
            s.show(s.get(&format!("/v1/ledger/events?from={from}&limit={limit}"))?)
        }
        LedgerCommand::Export { out } => {
            let answer = s.get("/v1/ledger/export")?;
            if !answer.status.is_success() {
                return Err(super::call::problem(&answer));
            }
            write_file(&out, &answer.body)?;
            eprintln!("ledger exported to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Verify { vkey: given } => {
            let verifier = vkey(s, given)?;
            let answer = s.get("/v1/ledger/export")?;
            if !answer.status.is_success() {
                return Err(super::call::problem(&answer));
            }
            let report = sluice_ledger::verify::verify_export(&answer.body[..], &verifier)
                .map_err(|e| Failure::usage(anyhow!("the export cannot be audited: {e}")))?;
            print_value(&serde_json::to_value(&report).map_err(Failure::internal)?)?;
            if report.ok {
                eprintln!(
                    "ledger OK: {} events and {} checkpoints verified here",
                    report.events, report.checkpoints
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("ledger FAILED verification");
                Ok(ExitCode::from(EXIT_NOT_RELEASED))
            }
        }
        LedgerCommand::Replay { run } => {
            let id = run_id(&run)?;
            let report = ok(s.post(&format!("/v1/runs/{id}/replay"), &serde_json::json!({}))?)?;
            print_value(&report)?;
            let status = report["status"].as_str().unwrap_or("");
            Ok(if status == "match" || status == "decided-by-node" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_NOT_RELEASED)
            })
        }
    }
}
