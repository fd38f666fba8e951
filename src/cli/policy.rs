//! `sluice policy check`: validate a policy and explain what it allows.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Subcommand;
use sluice_runtime::Policy;
use sluice_runtime::policy::Access;
use sluice_runtime::policy::format_rfc3339;
use sluice_runtime::signing::{self, PublicKey};

use super::Failure;

/// Policy subcommands.
#[derive(Subcommand)]
pub(super) enum PolicyCommand {
    /// Validate a policy file; on success explain it, on error name the line and key.
    Check {
        /// The policy file.
        path: PathBuf,
        /// Also check the policy against this data (a file, folder or
        /// glob): print each column's inferred type, nulls and rejected
        /// values, and fail if a run over it would be refused.
        #[arg(long, value_name = "PATH")]
        data: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve one exact module for raw access: appends an `[[approvals]]`
    /// entry with the module's hash (computed without its signature).
    Approve {
        /// The policy file to extend.
        path: PathBuf,
        /// The reviewed module.
        #[arg(long)]
        module: PathBuf,
        /// When the approval ends (RFC 3339, e.g. 2027-06-30T00:00:00Z).
        #[arg(long)]
        expires: Option<String>,
        /// Who reviewed it and why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Trust a signer for host aggregates: appends a `[[trusted_signers]]` entry.
    Trust {
        /// The policy file to extend.
        path: PathBuf,
        /// The signer's public key file.
        #[arg(long)]
        key: PathBuf,
        /// Who the signer is.
        #[arg(long)]
        note: Option<String>,
    },
}

/// Appends `entry` to the policy at `path`, keeping the file only if the
/// result is still a valid policy.
fn append(path: &PathBuf, entry: &str) -> Result<Policy, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(anyhow!("cannot read policy {}: {e}", path.display())))?;
    let new = format!("{}\n{entry}", text.trim_end());
    let policy =
        Policy::parse(&new).map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())))?;
    std::fs::write(path, new)
        .map_err(|e| Failure::usage(anyhow!("cannot write policy {}: {e}", path.display())))?;
    Ok(policy)
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Appends an approval of `module` to the policy at `path`; returns the hash.
pub(super) fn approve(
    path: &PathBuf,
    module: &PathBuf,
    expires: Option<&str>,
    note: Option<&str>,
) -> Result<String, Failure> {
    let bytes = std::fs::read(module)
        .map_err(|e| Failure::usage(anyhow!("cannot read module {}: {e}", module.display())))?;
    let hash = signing::module_hash(&bytes)
        .map_err(|e| Failure::usage(anyhow!("{}: {e}", module.display())))?;
    let mut entry = format!("\n[[approvals]]\nmodule = \"{hash}\"\n");
    if let Some(e) = expires {
        entry.push_str(&format!("expires = {e}\n"));
    }
    if let Some(n) = note {
        entry.push_str(&format!("note = {}\n", toml_string(n)));
    }
    append(path, &entry)?;
    Ok(hash)
}

/// Appends `key` as a trusted signer to the policy at `path`; returns its key id.
pub(super) fn trust(path: &PathBuf, key: &PathBuf, note: Option<&str>) -> Result<String, Failure> {
    let key = PublicKey::from_file(key)
        .map_err(|e| Failure::usage(anyhow!("--key {}: {e}", key.display())))?;
    let mut entry = format!("\n[[trusted_signers]]\nkey = \"{}\"\n", key.to_hex());
    if let Some(n) = note {
        entry.push_str(&format!("note = {}\n", toml_string(n)));
    }
    append(path, &entry)?;
    Ok(key.key_id())
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
    if p.privacy.is_none() {
        let _ = writeln!(
            out,
            "  and refuse groups that differ from one released earlier to the same buyer by fewer rows (difference checks)"
        );
    }
    explain_columns(&mut out, p);
    explain_trust(&mut out, p);
    out
}

/// Per-column aggregate rules that differ from the defaults.
fn explain_columns(out: &mut String, p: &Policy) {
    use sluice_runtime::policy::{Functions, KeySet};
    for (name, r) in p.columns.iter().filter(|(_, r)| r.access != Access::None) {
        let mut parts = Vec::new();
        if r.functions != Functions::default() {
            parts.push(format!("functions {}", r.functions.names().join(", ")));
        }
        if let Some(b) = &r.bins {
            parts.push(format!("bins of width {} from {}", b.listed(), b.origin));
        }
        match &r.keys {
            Some(KeySet::Listed(keys)) => parts.push(format!("public keys {}", keys.join(", "))),
            Some(KeySet::AllValues) => parts.push("every value is a public key".into()),
            None => {}
        }
        if !parts.is_empty() {
            let _ = writeln!(out, "  `{name}`: {}", parts.join("; "));
        }
    }
}

fn explain_trust(out: &mut String, p: &Policy) {
    let _ = writeln!(
        out,
        "  version {}; owner key {}",
        p.version,
        p.owner.as_deref().unwrap_or("-")
    );
    for a in &p.approvals {
        let until = a.expires.map_or("no expiry".into(), |e| {
            format!("until {}", format_rfc3339(e))
        });
        let note = a
            .note
            .as_ref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  approved module {} ({until}){note}", a.module);
    }
    for k in &p.trusted_signers {
        let _ = writeln!(out, "  trusted signer {k} (host aggregates only)");
    }
    if p.approvals.is_empty() && p.trusted_signers.is_empty() {
        let _ = writeln!(
            out,
            "  no module is approved and no signer trusted: every run is denied"
        );
    }
    let may = if p.raw_values_in_output {
        "may"
    } else {
        "may not"
    };
    let _ = writeln!(
        out,
        "  outputs {may} contain values of raw columns that are not group keys"
    );
    match &p.privacy {
        Some(dp) => {
            let refresh = dp
                .refresh_seconds
                .map(|s| format!(", refreshed every {} days", s / 86_400));
            let _ = writeln!(
                out,
                "  differential privacy: epsilon {} per aggregate query, budget {} per buyer{}",
                dp.epsilon_per_query,
                dp.budget,
                refresh.unwrap_or_default()
            );
        }
        None => {
            let _ = writeln!(out, "  no differential privacy");
        }
    }
    let pr = &p.prices;
    let m = |v: u64| v as f64 / 1e6;
    let _ = writeln!(
        out,
        "  prices ({}): {} per run, {} per million fuel, {} per MB fed, {} per KB released, {} per aggregate query",
        pr.currency,
        m(pr.per_run),
        m(pr.per_million_fuel),
        m(pr.per_mb_fed),
        m(pr.per_kb_released),
        m(pr.per_aggregate_query)
    );
}

/// Runs a policy subcommand.
pub(super) fn run(cmd: PolicyCommand) -> Result<ExitCode, Failure> {
    match cmd {
        PolicyCommand::Check { path, data, json } => {
            let policy = Policy::load(&path)
                .map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())))?;
            let checked = data
                .as_deref()
                .map(|d| super::inspect::check(d, &policy))
                .transpose()?;
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
                    "version": policy.version,
                    "owner": policy.owner,
                    "approvals": policy.approvals,
                    "trusted_signers": policy.trusted_signers,
                    "raw_values_in_output": policy.raw_values_in_output,
                    "privacy": policy.privacy,
                    "prices_micros": policy.prices,
                    "csv": {
                        "null_values": policy.csv.null_values,
                        "string_null_values": policy.csv.string_null_values,
                        "delimiter": policy.csv.delimiter.map(|d| (d as char).to_string()),
                        "quote": (policy.csv.quote as char).to_string(),
                        "header": policy.csv.header,
                    },
                    "data": checked.as_ref().map(|(i, problems)| serde_json::json!({
                        "inspection": i,
                        "problems": problems,
                    })),
                });
                println!("{v:#}");
            } else {
                print!("{}", explain(&policy));
                if let Some((inspection, problems)) = &checked {
                    print!("{}", super::inspect::render(inspection, Some(&policy)));
                    for p in problems {
                        println!("  problem: {p}");
                    }
                }
            }
            match &checked {
                Some((_, problems)) if !problems.is_empty() => Err(Failure::usage(anyhow!(
                    "{}: the policy does not fit the data ({} problem{})",
                    path.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ))),
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        PolicyCommand::Approve {
            path,
            module,
            expires,
            note,
        } => {
            let hash = approve(&path, &module, expires.as_deref(), note.as_deref())?;
            println!("approved module {hash} in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Trust { path, key, note } => {
            let id = trust(&path, &key, note.as_deref())?;
            println!("trusted signer {id} in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
