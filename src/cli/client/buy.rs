//! The buyer's commands: upload a signed module, run it, read runs and jobs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use serde_json::json;

use super::call::{Session, ok, print_value, problem};
use crate::cli::{EXIT_NOT_RELEASED, Failure, read_file, write_file};

/// Module subcommands.
#[derive(Subcommand)]
pub(super) enum ModulesCommand {
    /// Upload a signed component; prints its hash, signer and WIT imports.
    Upload {
        /// The signed component (`sluice sign`).
        file: PathBuf,
    },
    /// What the node knows of a module.
    Show {
        /// The module hash.
        hash: String,
    },
}

/// `sluice client modules ...`.
pub(super) fn modules(s: &Session, command: ModulesCommand) -> Result<ExitCode, Failure> {
    match command {
        ModulesCommand::Upload { file } => {
            let bytes = read_file(&file, "module")?;
            s.show(s.post_bytes("/v1/modules", bytes, "application/wasm")?)
        }
        ModulesCommand::Show { hash } => s.show(s.get(&format!("/v1/modules/{hash}"))?),
    }
}

/// Arguments of `sluice client run`.
#[derive(Args)]
pub(super) struct RunArgs {
    /// The module: a stored module's hash, or a signed component file (uploaded first).
    #[arg(long)]
    module: String,
    /// A dataset to run over (repeatable).
    #[arg(long = "dataset", required = true)]
    datasets: Vec<String>,
    /// Parameters for the guest (text, usually JSON).
    #[arg(long)]
    params: Option<String>,
    /// Seed of the guest's randomness.
    #[arg(long)]
    seed: Option<u64>,
    /// Save the receipt here [default: receipt-RUN_ID.json].
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
}

/// A module hash: given, or the hash of a file after uploading it.
fn module_hash(s: &Session, module: &str) -> Result<String, Failure> {
    let path = PathBuf::from(module);
    if !path.exists() && module.len() == 64 && module.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(module.to_string());
    }
    let bytes = read_file(&path, "module")?;
    let stored = ok(s.post_bytes("/v1/modules", bytes, "application/wasm")?)?;
    stored["hash"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Failure::internal(anyhow!("the node did not answer with a module hash")))
}

/// `sluice client run`.
pub(super) fn run(s: &Session, a: RunArgs) -> Result<ExitCode, Failure> {
    let hash = module_hash(s, &a.module)?;
    let mut body = json!({ "module_hash": hash, "datasets": a.datasets });
    if let Some(p) = &a.params {
        body["params"] = json!(p);
    }
    if let Some(seed) = a.seed {
        body["seed"] = json!(seed);
    }
    let answer = s.post("/v1/runs", &body)?;
    // A run that outlives the node's wait is a job: poll until it finishes.
    if answer.status.as_u16() == 202 {
        let job = answer.json()["job_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let polled = ok(s.get(&format!("/v1/jobs/{job}"))?)?;
            if polled["status"] == "finished" {
                let status = polled["http_status"].as_u64().unwrap_or(500) as u16;
                let value = polled["result"].clone();
                return finish(status, value, a.receipt);
            }
        }
    }
    let status = answer.status.as_u16();
    let value = answer.json();
    if value.get("receipt").is_none() {
        return Err(problem(&answer));
    }
    finish(status, value, a.receipt)
}

fn finish(
    status: u16,
    value: serde_json::Value,
    out: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let run_id = value["run_id"].as_str().unwrap_or("run").to_string();
    let path = out.unwrap_or_else(|| PathBuf::from(format!("receipt-{run_id}.json")));
    if let Some(receipt) = value.get("receipt") {
        let text = serde_json::to_vec_pretty(receipt).map_err(Failure::internal)?;
        write_file(&path, &text)?;
    }
    let mut shown = value.clone();
    if let Some(o) = shown.as_object_mut() {
        o.remove("receipt");
    }
    print_value(&shown)?;
    eprintln!(
        "run {run_id}: {} (receipt saved to {}; check it offline with `sluice client receipt verify {}`)",
        value["decision"].as_str().unwrap_or("?"),
        path.display(),
        path.display()
    );
    Ok(if status == 200 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_RELEASED)
    })
}

/// Run subcommands.
#[derive(Subcommand)]
pub(super) enum RunsCommand {
    /// Runs you may see (usage events), from a ledger index.
    List {
        /// First ledger index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most runs.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// One run's usage event.
    Show {
        /// The run id.
        id: String,
    },
    /// A job that outlived its request.
    Job {
        /// The job id.
        id: String,
    },
}

/// `sluice client runs ...`.
pub(super) fn runs(s: &Session, command: RunsCommand) -> Result<ExitCode, Failure> {
    match command {
        RunsCommand::List { from, limit } => {
            s.show(s.get(&format!("/v1/runs?from={from}&limit={limit}"))?)
        }
        RunsCommand::Show { id } => s.show(s.get(&format!("/v1/runs/{id}"))?),
        RunsCommand::Job { id } => s.show(s.get(&format!("/v1/jobs/{id}"))?),
    }
}
