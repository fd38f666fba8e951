//! `sluice policy check`: validate a policy and explain what it allows.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use sluice_runtime::Policy;
use sluice_runtime::policy::Access;

use super::Failure;

/// Policy subcommands.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file; on success explain it, on error name the line and key.
    Check {
        /// The policy file.
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn explain(p: &Policy) -> String {
    let mut out = format!(
        "policy for dataset `{}` is valid (sha256 {})\n",
        p.dataset, p.hash
    );
    for access in [Access::Raw, Access::Aggregate] {
        let cols: Vec<String> = p
            .columns
            .iter()
            .filter(|(_, r)| r.access == access)
            .map(|(n, r)| {
                if r.group_key {
                    format!("{n} (group key)")
                } else {
                    n.clone()
                }
            })
            .collect();
        let label = if access == Access::Raw {
            "raw (scannable)"
        } else {
            "aggregate only"
        };
        let _ = writeln!(
            out,
            "  {label}: {}",
            if cols.is_empty() {
                "-".into()
            } else {
                cols.join(", ")
            }
        );
    }
    let _ = writeln!(out, "  every other column is invisible (none)");
    let l = &p.limits;
    let _ = writeln!(
        out,
        "  limits: fuel {} · memory {} MiB · wall {} ms · output ≤ {} rows and {} bytes · log {} bytes · batches of {} rows",
        l.fuel,
        l.memory_bytes >> 20,
        l.wall_ms,
        l.output_rows,
        l.output_bytes,
        l.log_bytes,
        l.batch_rows
    );
    let _ = writeln!(
        out,
        "  host aggregates suppress groups smaller than {}",
        p.min_group_size
    );
    out
}

/// Runs a policy subcommand.
pub fn run(cmd: PolicyCommand) -> Result<ExitCode, Failure> {
    match cmd {
        PolicyCommand::Check { path, json } => {
            let policy = Policy::load(&path)
                .map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())))?;
            if json {
                let columns: serde_json::Map<String, serde_json::Value> = policy
                    .columns
                    .iter()
                    .map(|(n, r)| {
                        (
                            n.clone(),
                            serde_json::json!({"access": r.access, "group_key": r.group_key}),
                        )
                    })
                    .collect();
                let v = serde_json::json!({
                    "valid": true,
                    "dataset": policy.dataset,
                    "hash": policy.hash,
                    "columns": columns,
                    "limits": policy.limits,
                    "min_group_size": policy.min_group_size,
                });
                println!("{v:#}");
            } else {
                print!("{}", explain(&policy));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
