//! `sluice run`: one local run of a module over datasets under their policies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use sluice::render;
use sluice_runtime::data::{SnapshotMemo, SqliteSnapshotMemo};
use sluice_runtime::privacy::{BudgetStore, DifferenceStore};
use sluice_runtime::signing::PublicKey;
use sluice_runtime::{
    Dataset, Decision, Engine, EngineConfig, Grant, Policy, RunOutcome, RunRequest,
};

use super::{EXIT_NOT_RELEASED, Failure};

/// Arguments of `sluice run`.
#[derive(Args)]
pub(super) struct RunArgs {
    /// The guest component (.wasm).
    #[arg(long)]
    module: PathBuf,
    /// A dataset as NAME=PATH: a .parquet or .csv/.tsv(.gz) file, a folder
    /// of them, or a glob (quote it); repeat for several.
    #[arg(long = "data", value_name = "NAME=PATH", required = true)]
    data: Vec<String>,
    /// A release policy (TOML); each dataset needs the policy naming it.
    #[arg(long = "policy", value_name = "P.toml", required = true)]
    policy: Vec<PathBuf>,
    /// A buyer public key the node knows (repeatable); the policies' trusted signers are known too.
    #[arg(long = "buyer", value_name = "NAME.pub")]
    buyer: Vec<PathBuf>,
    /// A detached signature of the module (default: the signature embedded in it).
    #[arg(long, value_name = "SIG")]
    signature: Option<PathBuf>,
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
    /// The node's state directory: privacy budgets, difference-check
    /// history and the hashes of dataset files (so unchanged files are not
    /// re-hashed) are kept here.
    #[arg(
        long,
        value_name = "DIR",
        env = "SLUICE_STATE_DIR",
        default_value = ".sluice"
    )]
    state_dir: PathBuf,
    /// Keep compiled modules in this directory so later runs skip compilation.
    #[arg(long, value_name = "DIR", env = "SLUICE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

/// The snapshot memo in `state_dir` (created if needed), or `None` (with
/// a warning) when it cannot be opened: files are then hashed every run.
pub(super) fn snapshot_memo(state_dir: &Path) -> Option<Arc<dyn SnapshotMemo>> {
    let opened = std::fs::create_dir_all(state_dir)
        .map_err(Into::into)
        .and_then(|()| SqliteSnapshotMemo::open(&state_dir.join("snapshots.sqlite")));
    match opened {
        Ok(memo) => Some(Arc::new(memo)),
        Err(e) => {
            tracing::warn!(error = %e, "no snapshot memo: dataset files are hashed on every run");
            None
        }
    }
}

/// Loads the datasets (a file, folder or glob each) and matches each to
/// the policy that names it; `memo` remembers file hashes.
pub(super) fn grants(
    data: &[String],
    policies: &[PathBuf],
    memo: Option<Arc<dyn SnapshotMemo>>,
) -> Result<Vec<Grant>, Failure> {
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
            let dataset = Dataset::open_for(name, path.as_ref(), &policy, memo.clone())
                .map_err(Failure::usage)?;
            Ok(Grant { dataset, policy })
        })
        .collect()
}

/// Reads the buyer public keys named on the command line.
pub(super) fn buyer_keys(paths: &[PathBuf]) -> Result<Vec<PublicKey>, Failure> {
    paths
        .iter()
        .map(|p| {
            PublicKey::from_file(p)
                .map_err(|e| Failure::usage(anyhow!("--buyer {}: {e}", p.display())))
        })
        .collect()
}

/// What to run and with which keys.
pub(super) struct Invocation<'a> {
    /// The module file.
    pub module: &'a Path,
    /// A detached signature file.
    pub signature: Option<&'a Path>,
    /// Buyer keys the node knows.
    pub known_keys: Vec<PublicKey>,
    /// Datasets with their policies.
    pub grants: Vec<Grant>,
    /// The analytic's parameters.
    pub params: String,
    /// Seed of the guest's randomness.
    pub seed: Option<u64>,
    /// The node's state directory (privacy budgets).
    pub state_dir: &'a Path,
}

/// The per-buyer state stores: the privacy budget (when a policy asks for
/// differential privacy) and the difference-check history (when a policy
/// does not), both in `state_dir`.
pub(super) type Stores = (Option<Arc<BudgetStore>>, Option<Arc<DifferenceStore>>);

/// Opens the stores the grants need.
pub(super) fn state_stores(grants: &[Grant], state_dir: &Path) -> Result<Stores, Failure> {
    let private = grants.iter().any(|g| g.policy.privacy.is_some());
    let exact = grants.iter().any(|g| g.policy.privacy.is_none());
    if private || exact {
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create the state directory {}", state_dir.display()))
            .map_err(Failure::usage)?;
    }
    let budget = private
        .then(|| BudgetStore::open(&state_dir.join("privacy.sqlite")).map(Arc::new))
        .transpose()
        .map_err(Failure::internal)?;
    let differences = exact
        .then(|| DifferenceStore::open(&state_dir.join("differences.sqlite")).map(Arc::new))
        .transpose()
        .map_err(Failure::internal)?;
    Ok((budget, differences))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))
        .map_err(Failure::usage)
}

/// Executes one run and returns its outcome.
pub(super) fn execute(engine: &Engine, inv: Invocation) -> Result<RunOutcome, Failure> {
    let module = read(inv.module, "module")?;
    let detached_signature = inv.signature.map(|p| read(p, "signature")).transpose()?;
    let (budget, differences) = state_stores(&inv.grants, inv.state_dir)?;
    engine
        .run(RunRequest {
            module,
            detached_signature,
            known_keys: inv.known_keys,
            grants: inv.grants,
            params: inv.params,
            seed: inv.seed,
            budget,
            differences,
            replay: None,
        })
        .map_err(Failure::usage)
}

/// Exit code for a decision.
pub(super) fn exit_code(decision: Decision) -> ExitCode {
    match decision {
        Decision::Released => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_NOT_RELEASED),
    }
}

/// `sluice run`.
pub(super) fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let grants = grants(&args.data, &args.policy, snapshot_memo(&args.state_dir))?;
    let engine = Engine::new(EngineConfig {
        cache_dir: args.cache_dir.clone(),
        ..EngineConfig::default()
    })
    .map_err(Failure::internal)?;
    let outcome = execute(
        &engine,
        Invocation {
            module: &args.module,
            signature: args.signature.as_deref(),
            known_keys: buyer_keys(&args.buyer)?,
            grants,
            params: args.params,
            seed: args.seed,
            state_dir: &args.state_dir,
        },
    )?;
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
