//! `sluice ledger verify|show|export|checkpoint|prove|replay`: what an
//! auditor does with a node's usage ledger. Built on the `sluice-ledger`
//! crate through the node; `verify --export FILE --node NODE.pub` needs no
//! node at all.

use std::fmt::Write as _;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;
use sluice_ledger::merkle;
use sluice_ledger::{EventData, SignedCheckpoint, StoredEvent, VerifyReport};
use sluice_node::{Node, ReplayReport};

use super::{EXIT_NOT_RELEASED, Failure, NodeArgs, print_json, read_file};

/// Ledger subcommands.
#[derive(Subcommand)]
pub(super) enum LedgerCommand {
    /// Check every event, the Merkle tree and every signed checkpoint; exit 3
    /// naming the first bad index if anything was changed, removed,
    /// reordered or inserted.
    Verify {
        /// Verify this JSON Lines export instead of the node's ledger (offline).
        #[arg(long, value_name = "FILE", requires = "node_key")]
        export: Option<PathBuf>,
        /// The node's public key (with --export): node.pub or its verifier key.
        #[arg(long = "node", value_name = "NODE.pub")]
        node_key: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show events: all of them as a table, or one in full.
    Show {
        /// The event at this index.
        #[arg(long, conflicts_with = "run")]
        index: Option<u64>,
        /// The event of this run id.
        #[arg(long)]
        run: Option<String>,
        /// First index of the table.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most events in the table.
        #[arg(long, default_value_t = u64::MAX)]
        limit: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the whole ledger (checkpoints and events) as JSON Lines.
    Export {
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the latest signed checkpoint (a C2SP signed note).
    Checkpoint {
        /// Print JSON instead of the note.
        #[arg(long)]
        json: bool,
    },
    /// Print an inclusion proof (`--index N`: a receipt, verifiable with
    /// `sluice receipt verify`) or a consistency proof (`--from A --to B`).
    Prove {
        /// The event to prove included.
        #[arg(long, conflicts_with_all = ["from", "to"], required_unless_present_all = ["from", "to"])]
        index: Option<u64>,
        /// Prove inclusion in the tree of this many events (default: the latest).
        #[arg(long, requires = "index")]
        size: Option<u64>,
        /// Size of the older tree.
        #[arg(long, requires = "to")]
        from: Option<u64>,
        /// Size of the newer tree.
        #[arg(long, requires = "from")]
        to: Option<u64>,
    },
    /// Re-run recorded runs and report any difference in decision, code,
    /// fuel, data fed or output; exit 3 if any run does not match.
    Replay {
        /// The run to replay.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        run: Option<String>,
        /// Replay every recorded run.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a ledger subcommand.
pub(super) fn run(args: &NodeArgs, cmd: LedgerCommand) -> Result<ExitCode, Failure> {
    match cmd {
        LedgerCommand::Verify {
            export: Some(file),
            node_key: Some(key),
            json,
        } => {
            let verifier = sluice_node::identity::parse_verifier(&read_file(&key, "node key")?)
                .map_err(Failure::node)?;
            let reader = std::fs::File::open(&file)
                .map_err(|e| Failure::usage(anyhow!("cannot read {}: {e}", file.display())))?;
            let report = sluice_ledger::verify::verify_export(BufReader::new(reader), &verifier)
                .map_err(Failure::usage)?;
            verified(&report, json)
        }
        LedgerCommand::Verify { json, .. } => {
            let report = sluice_node::audit::verify_data_dir(&args.resolved_data_dir())
                .map_err(Failure::node)?;
            verified(&report, json)
        }
        LedgerCommand::Show {
            index,
            run,
            from,
            limit,
            json,
        } => {
            let node = args.open_existing()?;
            show(&node, index, run, from, limit, json)
        }
        LedgerCommand::Export { out } => {
            let node = args.open_existing()?;
            let n = match &out {
                Some(path) => {
                    let file = std::fs::File::create(path).map_err(|e| {
                        Failure::usage(anyhow!("cannot write {}: {e}", path.display()))
                    })?;
                    let mut w = std::io::BufWriter::new(file);
                    let n = node.export(&mut w).map_err(Failure::node)?;
                    w.flush().map_err(Failure::internal)?;
                    n
                }
                None => node
                    .export(&mut std::io::stdout().lock())
                    .map_err(Failure::node)?,
            };
            if let Some(path) = out {
                eprintln!("exported {n} events to {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Checkpoint { json } => {
            let node = args.open_existing()?;
            let cp = node.ledger().checkpoint().map_err(ledger_err)?;
            if json {
                print_json(&cp)?;
            } else {
                print!("{}", cp.note);
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Prove {
            index,
            size,
            from,
            to,
        } => {
            let node = args.open_existing()?;
            match (index, from, to) {
                (Some(i), _, _) => prove_inclusion(&node, i, size),
                (None, Some(a), Some(b)) => prove_consistency(&node, a, b),
                _ => Err(Failure::usage(anyhow!(
                    "pass --index N, or --from A --to B"
                ))),
            }
        }
        LedgerCommand::Replay { run, all, json } => {
            let node = args.open_existing()?;
            let reports = match (run, all) {
                (Some(id), _) => vec![node.replay(&id).map_err(Failure::node)?],
                _ => node.replay_all().map_err(Failure::node)?,
            };
            replayed(&reports, json)
        }
    }
}

fn ledger_err(e: sluice_ledger::LedgerError) -> Failure {
    Failure::node(e.into())
}

fn verified(report: &VerifyReport, json: bool) -> Result<ExitCode, Failure> {
    if json {
        print_json(report)?;
    } else if report.ok {
        println!(
            "ledger OK: {} events and {} checkpoints verified; root {} at size {}",
            report.events,
            report.checkpoints,
            report.verified_root.as_deref().unwrap_or("-"),
            report.verified_size.unwrap_or(0)
        );
    } else {
        let mut out = match report.first_bad_index {
            Some(i) => format!("ledger FAILED verification: first bad event at index {i}\n"),
            None => "ledger FAILED verification\n".to_string(),
        };
        for p in &report.problems {
            let at = match (p.index, p.checkpoint) {
                (Some(i), _) => format!("index {i}: "),
                (None, Some(c)) => format!("checkpoint at size {c}: "),
                _ => String::new(),
            };
            let _ = writeln!(out, "  [{}] {at}{}", p.code, p.message);
        }
        if report.more_problems > 0 {
            let _ = writeln!(out, "  ... and {} more problems", report.more_problems);
        }
        print!("{out}");
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_RELEASED)
    })
}

/// One line of the event table.
fn line(e: &StoredEvent) -> String {
    let env = &e.envelope;
    let what = match &env.data {
        EventData::Run(r) => {
            let datasets: Vec<&str> = r.datasets.iter().map(|d| d.dataset.as_str()).collect();
            let charge: Vec<String> = r
                .charges
                .iter()
                .map(|c| format!("{} {}", c.amount, c.currency))
                .collect();
            format!(
                "run {} {}{} buyer {} datasets {} fuel {} charge {}",
                env.id,
                r.decision,
                r.code
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default(),
                r.buyer_key_id.as_deref().unwrap_or("-"),
                datasets.join(","),
                r.fuel_consumed,
                if charge.is_empty() {
                    "-".into()
                } else {
                    charge.join(" + ")
                }
            )
        }
        EventData::Policy(p) => format!(
            "policy {} v{} sha256 {} by {}",
            p.dataset, p.version, p.policy_hash, p.by
        ),
        EventData::Dataset(d) => {
            format!("dataset {} snapshot {} by {}", d.dataset, d.snapshot, d.by)
        }
        EventData::Key(k) => format!("key {} as {} by {}", k.key, k.role, k.by),
        EventData::Approval(a) => format!(
            "approval {} {} for {} by {}",
            a.decision, a.module_hash, a.dataset, a.by
        ),
    };
    format!("#{:<5} {}  {what}", e.index, env.time)
}

fn one(e: &StoredEvent) -> serde_json::Value {
    json!({"index": e.index, "leaf_hash": hex::encode(e.leaf_hash), "event": e.envelope})
}

fn show(
    node: &Node,
    index: Option<u64>,
    run: Option<String>,
    from: u64,
    limit: u64,
    json: bool,
) -> Result<ExitCode, Failure> {
    let single = match (index, run) {
        (Some(i), _) => Some(node.event(i).map_err(Failure::node)?),
        (None, Some(id)) => Some(node.event_by_id(&id).map_err(Failure::node)?),
        _ => None,
    };
    if let Some(e) = single {
        print_json(&one(&e))?;
        return Ok(ExitCode::SUCCESS);
    }
    let events = node.events(from, limit).map_err(Failure::node)?;
    if json {
        print_json(&events.iter().map(one).collect::<Vec<_>>())?;
    } else if events.is_empty() {
        println!("no events from index {from}");
    } else {
        // Stop quietly when the reader goes away (`sluice ledger show | head`).
        let mut out = std::io::stdout().lock();
        for e in &events {
            if writeln!(out, "{}", line(e)).is_err() {
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn prove_inclusion(node: &Node, index: u64, size: Option<u64>) -> Result<ExitCode, Failure> {
    let ledger = node.ledger();
    let latest = ledger.checkpoint().map_err(ledger_err)?;
    match size {
        None => print_json(&ledger.receipt(index).map_err(ledger_err)?)?,
        Some(s) if s == latest.size => print_json(&ledger.receipt(index).map_err(ledger_err)?)?,
        Some(s) => {
            let proof = ledger.inclusion_proof(index, s).map_err(ledger_err)?;
            let e = node.event(index).map_err(Failure::node)?;
            print_json(&json!({
                "index": index,
                "size": s,
                "leaf_hash": hex::encode(e.leaf_hash),
                "inclusion_proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
                "checkpoint": checkpoint_at(node, s)?.map(|c| c.note),
            }))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn checkpoint_at(node: &Node, size: u64) -> Result<Option<SignedCheckpoint>, Failure> {
    let all = node.ledger().checkpoints().map_err(ledger_err)?;
    let Some(cp) = all.into_iter().find(|c| c.size == size) else {
        return Ok(None);
    };
    cp.verify(&node.note_verifier())
        .map_err(|e| Failure::internal(anyhow!("the checkpoint at size {size}: {e}")))?;
    Ok(Some(cp))
}

fn prove_consistency(node: &Node, from: u64, to: u64) -> Result<ExitCode, Failure> {
    let proof = node
        .ledger()
        .consistency_proof(from, to)
        .map_err(ledger_err)?;
    let (old, new) = (checkpoint_at(node, from)?, checkpoint_at(node, to)?);
    let verified = match (&old, &new) {
        (Some(o), Some(n)) => {
            Some(merkle::verify_consistency(from, &o.root, to, &n.root, &proof).is_ok())
        }
        _ => None,
    };
    print_json(&json!({
        "from": from,
        "to": to,
        "consistency_proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        "from_checkpoint": old.map(|c| c.note),
        "to_checkpoint": new.map(|c| c.note),
        "verified_against_checkpoints": verified,
    }))?;
    Ok(if verified == Some(false) {
        ExitCode::from(EXIT_NOT_RELEASED)
    } else {
        ExitCode::SUCCESS
    })
}

fn replayed(reports: &[ReplayReport], json: bool) -> Result<ExitCode, Failure> {
    let bad = reports.iter().filter(|r| !r.ok()).count();
    if json {
        print_json(&json!({"runs": reports.len(), "not_matching": bad, "reports": reports}))?;
    } else {
        for r in reports {
            let status = serde_json::to_value(r.status).map_err(Failure::internal)?;
            let mut out = format!(
                "#{} run {}: {} (recorded {}",
                r.index,
                r.run_id,
                status.as_str().unwrap_or("?"),
                r.recorded_decision
            );
            if let Some(d) = &r.replayed_decision {
                let _ = write!(out, ", replayed {d}");
            }
            out.push(')');
            if !r.checked.is_empty() {
                let _ = write!(out, "; compared {}", r.checked.join(", "));
            }
            println!("{out}");
            for d in &r.differences {
                println!(
                    "    {} differs: recorded {}, replayed {}",
                    d.field, d.recorded, d.replayed
                );
            }
            if let Some(n) = &r.note {
                println!("    note: {n}");
            }
        }
        println!(
            "{} runs replayed, {} matching, {bad} not matching",
            reports.len(),
            reports.len() - bad
        );
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_RELEASED)
    })
}
