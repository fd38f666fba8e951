//! `sluice run`: one local run of a module over datasets under their policies.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Args;
use sluice::render;
use sluice_runtime::{
    Dataset, Decision, Engine, EngineConfig, Grant, Policy, RunOutcome, RunRequest,
};

use super::{EXIT_NOT_RELEASED, Failure};

/// Arguments of `sluice run`.
#[derive(Args)]
pub struct RunArgs {
    /// The guest component (.wasm).
    #[arg(long)]
    module: PathBuf,
    /// A dataset as NAME=PATH (.csv or .parquet); repeat for several.
    #[arg(long = "data", value_name = "NAME=PATH", required = true)]
    data: Vec<String>,
    /// A release policy (TOML); each dataset needs the policy naming it.
    #[arg(long = "policy", value_name = "P.toml", required = true)]
    policy: Vec<PathBuf>,
    /// Parameters passed to the analytic (JSON text).
    #[arg(long, default_value = "")]
    params: String,
    /// Seed for the guest's randomness (default: chosen by the host and reported).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Write the guest's captured stdout/stderr here (never part of the output).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Keep compiled modules in this directory so later runs skip compilation.
    #[arg(long, value_name = "DIR", env = "SLUICE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

/// Loads the datasets and matches each to the policy that names it.
pub fn grants(data: &[String], policies: &[PathBuf]) -> Result<Vec<Grant>, Failure> {
    let policies = policies
        .iter()
        .map(|p| Policy::load(p).map_err(|e| Failure::usage(anyhow!("{}: {e}", p.display()))))
        .collect::<Result<Vec<_>, _>>()?;
    data.iter()
        .map(|spec| {
            let (name, path) = spec
                .split_once('=')
                .ok_or_else(|| Failure::usage(anyhow!("--data {spec:?}: expected NAME=PATH")))?;
            let policy = policies
                .iter()
                .find(|p| p.dataset == name)
                .cloned()
                .ok_or_else(|| {
                    Failure::usage(anyhow!(
                        "dataset `{name}` has no policy: pass --policy with `dataset = \"{name}\"`"
                    ))
                })?;
            let dataset = Dataset::open(name, path.as_ref())
                .and_then(|d| d.declare(policy.declared_types()))
                .map_err(Failure::usage)?;
            Ok(Grant { dataset, policy })
        })
        .collect()
}

/// Executes one run and returns its outcome.
pub fn execute(
    engine: &Engine,
    module: &PathBuf,
    grants: Vec<Grant>,
    params: String,
    seed: Option<u64>,
) -> Result<RunOutcome, Failure> {
    let module = std::fs::read(module)
        .with_context(|| format!("cannot read module {}", module.display()))
        .map_err(Failure::usage)?;
    engine
        .run(RunRequest {
            module,
            grants,
            params,
            seed,
        })
        .map_err(Failure::usage)
}

/// Exit code for a decision.
pub fn exit_code(decision: Decision) -> ExitCode {
    match decision {
        Decision::Released => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_NOT_RELEASED),
    }
}

/// `sluice run`.
pub fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let grants = grants(&args.data, &args.policy)?;
    let engine = Engine::new(EngineConfig {
        cache_dir: args.cache_dir.clone(),
        ..EngineConfig::default()
    })
    .map_err(Failure::internal)?;
    let outcome = execute(&engine, &args.module, grants, args.params, args.seed)?;
    if let Some(path) = &args.log {
        std::fs::write(path, &outcome.log)
            .with_context(|| format!("cannot write the run log to {}", path.display()))
            .map_err(Failure::usage)?;
    }
    if args.json {
        let json = serde_json::to_string_pretty(&outcome).map_err(Failure::internal)?;
        println!("{json}");
    } else {
        print!("{}", render::outcome(&outcome));
    }
    Ok(exit_code(outcome.decision))
}
