//! `sluice dataset add|list|show|policy`: the node's dataset registry.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use sluice_node::{DatasetRecord, PolicyVersion};
use sluice_runtime::policy::Access;

use super::{Failure, NodeArgs, print_json, read_file};

/// Dataset subcommands.
#[derive(Subcommand)]
pub(super) enum DatasetCommand {
    /// Register a dataset: the owner's file (never copied) under a policy.
    Add {
        /// The name runs use for it (letters, digits, '_' and '-').
        name: String,
        /// The .csv or .parquet file.
        path: PathBuf,
        /// Its release policy (its `dataset` must be NAME).
        #[arg(long, value_name = "P.toml")]
        policy: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the registered datasets.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a dataset: its file, current snapshot, columns and policy versions.
    Show {
        /// The dataset.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a policy the dataset's current one (a new version; old ones are kept).
    Policy {
        /// The dataset.
        name: String,
        /// The new policy.
        policy: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn read_policy(path: &Path) -> Result<String, Failure> {
    String::from_utf8(read_file(path, "policy")?)
        .map_err(|_| Failure::usage(anyhow!("policy {} is not UTF-8 text", path.display())))
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn summary(d: &DatasetRecord) -> String {
    format!(
        "{}  {} ({}, {} bytes, snapshot {}…)  policy v{} {}…\n",
        d.name,
        d.path.display(),
        d.format,
        d.size_bytes,
        short(&d.snapshot),
        d.policy.version,
        short(&d.policy.hash)
    )
}

fn details(d: &DatasetRecord, versions: &[PolicyVersion]) -> String {
    let mut out = summary(d);
    if let Some(p) = &d.problem {
        let _ = writeln!(out, "  PROBLEM: {p}");
    }
    let _ = writeln!(
        out,
        "  registered {} by {}; updated {}",
        d.registered_at, d.registered_by, d.updated_at
    );
    let _ = writeln!(out, "  columns:");
    for c in &d.columns {
        let access = match c.access {
            Access::Raw => "raw",
            Access::Aggregate => "aggregate",
            Access::None => "none (invisible)",
        };
        let key = if c.group_key { ", group key" } else { "" };
        let _ = writeln!(out, "    {} {}: {access}{key}", c.name, c.column_type);
    }
    let _ = writeln!(out, "  policy versions (oldest first):");
    for v in versions {
        let mark = if v.current { " (current)" } else { "" };
        let _ = writeln!(
            out,
            "    v{} sha256 {} added {} by {}{mark}",
            v.version, v.hash, v.added_at, v.added_by
        );
    }
    out
}

/// Runs a dataset subcommand.
pub(super) fn run(node: &NodeArgs, cmd: DatasetCommand) -> Result<ExitCode, Failure> {
    match cmd {
        DatasetCommand::Add {
            name,
            path,
            policy,
            json,
        } => {
            let text = read_policy(&policy)?;
            let node = node.open()?;
            let d = node
                .add_dataset(&name, &path, &text, None)
                .map_err(Failure::node)?;
            if json {
                print_json(&d)?;
            } else {
                print!("registered {}", summary(&d));
            }
        }
        DatasetCommand::List { json } => {
            let node = node.open_existing()?;
            let all = node.datasets().map_err(Failure::node)?;
            if json {
                print_json(&all)?;
            } else if all.is_empty() {
                println!(
                    "no datasets; register one with `sluice dataset add NAME PATH --policy P.toml`"
                );
            } else {
                all.iter().for_each(|d| print!("{}", summary(d)));
            }
        }
        DatasetCommand::Show { name, json } => {
            let node = node.open_existing()?;
            let d = node.dataset(&name).map_err(Failure::node)?;
            let versions = node.policy_versions(&name).map_err(Failure::node)?;
            if json {
                print_json(&serde_json::json!({"dataset": d, "policy_versions": versions}))?;
            } else {
                print!("{}", details(&d, &versions));
            }
        }
        DatasetCommand::Policy { name, policy, json } => {
            let text = read_policy(&policy)?;
            let node = node.open_existing()?;
            let v = node.put_policy(&name, &text, None).map_err(Failure::node)?;
            if json {
                print_json(&v)?;
            } else {
                println!(
                    "dataset {name}: current policy is v{} sha256 {}",
                    v.version, v.hash
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
