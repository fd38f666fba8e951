//! `sluice node key` and `sluice key add|list`: the node's own key and the
//! keys it knows.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use sluice_node::Role;
use sluice_runtime::signing::PublicKey;

use super::{Failure, NodeArgs, print_json};

/// Node subcommands.
#[derive(Subcommand)]
pub(super) enum NodeCommand {
    /// Print the node's public key (creating the node on first use), or
    /// write it to a file that `sluice receipt verify --node` reads.
    Key {
        /// Write the 33-byte public key file (wasmsign2 format) here.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A key's role, on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub(super) enum RoleArg {
    /// Runs the node.
    Operator,
    /// Owns datasets.
    Owner,
    /// Runs signed modules.
    Buyer,
    /// Reads the ledger and replays runs.
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Operator => Role::Operator,
            RoleArg::Owner => Role::Owner,
            RoleArg::Buyer => Role::Buyer,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

/// Key subcommands.
#[derive(Subcommand)]
pub(super) enum KeyCommand {
    /// Add a key (or change its role and datasets); recorded in the ledger.
    Add {
        /// The public key file (or 64 hex digits).
        key: PathBuf,
        /// What the key may do.
        #[arg(long, value_enum, default_value = "buyer")]
        role: RoleArg,
        /// Limit the key to this dataset (repeatable; default: every dataset).
        #[arg(long = "dataset", value_name = "NAME")]
        datasets: Vec<String>,
    },
    /// List the keys the node knows.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `sluice node ...`.
pub(super) fn node(args: &NodeArgs, cmd: NodeCommand) -> Result<ExitCode, Failure> {
    let NodeCommand::Key { out, json } = cmd;
    let node = args.open()?;
    let key = node.public_key();
    if let Some(path) = &out {
        key.to_file(path, true)
            .map_err(|e| Failure::usage(anyhow!("{e}")))?;
    }
    if json {
        print_json(&json!({
            "node_id": node.id(),
            "public_key": key.to_hex(),
            "origin": sluice_node::identity::origin(&key),
            "vkey": node.note_verifier().vkey(),
            "written": out,
        }))?;
    } else {
        println!("node id: {}", node.id());
        println!("public key: {}", key.to_hex());
        println!("checkpoint verifier key: {}", node.note_verifier().vkey());
        if let Some(path) = out {
            println!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sluice key ...`.
pub(super) fn key(args: &NodeArgs, cmd: KeyCommand) -> Result<ExitCode, Failure> {
    match cmd {
        KeyCommand::Add {
            key,
            role,
            datasets,
        } => {
            let public = if !key.exists()
                && let Some(k) = key.to_str().and_then(|t| PublicKey::parse(t).ok())
            {
                k
            } else {
                PublicKey::from_file(&key)
                    .map_err(|e| Failure::usage(anyhow!("{}: {e}", key.display())))?
            };
            let node = args.open()?;
            let r = node
                .add_key(&public, role.into(), &datasets, None)
                .map_err(Failure::node)?;
            let scope = if r.datasets.is_empty() {
                "every dataset".to_string()
            } else {
                r.datasets.join(", ")
            };
            println!("key {} is a {} for {scope}", r.key_id, r.role.as_str());
        }
        KeyCommand::List { json } => {
            let node = args.open_existing()?;
            let keys = node.keys().map_err(Failure::node)?;
            if json {
                print_json(&keys)?;
            } else {
                for k in keys {
                    let scope = if k.datasets.is_empty() {
                        "*".to_string()
                    } else {
                        k.datasets.join(",")
                    };
                    println!("{}  {:<8} {scope}  {}", k.key_id, k.role.as_str(), k.key);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
