//! Command-line interface: argument parsing and dispatch to one module per
//! command. Every command that touches a node opens it in `--data-dir` and
//! calls its methods; the CLI assembles no run of its own. Every refusal
//! prints a clear message and exits non-zero.

mod billing;
mod client;
mod dataset;
mod demo;
mod example_data;
mod inspect;
mod keys;
mod ledger;
mod node;
mod policy;
mod receipt;
mod run;
mod serve;
mod serve_demo;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_node::{Node, NodeConfig, NodeError};

/// Exit code when the run was not released (or a check failed).
pub(crate) const EXIT_NOT_RELEASED: u8 = 3;

/// A failed command: what went wrong and the exit code it earns.
pub(crate) struct Failure {
    /// What went wrong.
    pub error: anyhow::Error,
    /// 2 for usage errors, 1 for internal errors, 3 for a failed check.
    pub code: u8,
}

impl Failure {
    /// A usage error: the caller gave something unusable (exit 2).
    pub(crate) fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            error: error.into(),
            code: 2,
        }
    }

    /// An internal error (exit 1).
    pub(crate) fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self {
            error: error.into(),
            code: 1,
        }
    }

    /// A node error: the caller's fault (exit 2) or the node's (exit 1).
    pub(crate) fn node(error: NodeError) -> Self {
        let code = if error.is_caller_error() { 2 } else { 1 };
        Self {
            error: error.into(),
            code,
        }
    }
}

/// The data directory when `--data-dir` is not given.
pub(crate) const DEFAULT_DATA_DIR: &str = "sluice-data";

/// Where the node's data directory is, for every command that uses one.
#[derive(clap::Args, Clone)]
pub(crate) struct NodeArgs {
    /// The node's data directory (key, registry, ledger, budgets, modules).
    /// [default: ./sluice-data]
    #[arg(long, global = true, value_name = "DIR", env = "SLUICE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep compiled modules here instead of DIR/cache (shared by several nodes).
    #[arg(long, global = true, value_name = "DIR", env = "SLUICE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

impl NodeArgs {
    /// Opens the node, creating it on first use.
    pub(crate) fn open(&self) -> Result<Node, Failure> {
        self.open_with(true)
    }

    /// Opens an existing node (read commands: a mistyped directory is an error).
    pub(crate) fn open_existing(&self) -> Result<Node, Failure> {
        self.open_with(false)
    }

    /// The data directory asked for, if one was.
    pub(crate) fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// Opens the node in `dir`, whatever `--data-dir` says.
    pub(crate) fn open_in(&self, dir: &std::path::Path) -> Result<Node, Failure> {
        let mut config = NodeConfig::new(dir);
        config.engine.cache_dir = self.cache_dir.clone();
        Node::open(config).map_err(Failure::node)
    }

    /// The data directory: `--data-dir`, or the default.
    pub(crate) fn resolved_data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }

    fn open_with(&self, create: bool) -> Result<Node, Failure> {
        let mut config = NodeConfig::new(self.resolved_data_dir());
        config.create = create;
        config.engine.cache_dir = self.cache_dir.clone();
        Node::open(config).map_err(Failure::node)
    }
}

/// Sluice: a WebAssembly sandbox for analytics next to raw data.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    node: NodeArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a module once over datasets (registered, or given with their
    /// policies), record it in the ledger, print the result and its receipt.
    Run(run::RunArgs),
    /// Register datasets with their policies, list and show them.
    Dataset {
        #[command(subcommand)]
        command: dataset::DatasetCommand,
    },
    /// Keys the node knows (buyers' keys are what signatures verify against).
    Key {
        #[command(subcommand)]
        command: node::KeyCommand,
    },
    /// The node itself: its public key.
    Node {
        #[command(subcommand)]
        command: node::NodeCommand,
    },
    /// Audit the usage ledger: verify, show, export, checkpoints, proofs, replay.
    Ledger {
        #[command(subcommand)]
        command: ledger::LedgerCommand,
    },
    /// Verify receipts offline.
    Receipt {
        #[command(subcommand)]
        command: receipt::ReceiptCommand,
    },
    /// Billing reports from the ledger (or from an export).
    Billing {
        #[command(subcommand)]
        command: billing::BillingCommand,
    },
    /// Validate and explain release policies.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Build the examples, generate the example data, and play every part:
    /// buyer, owners, node and auditor.
    Demo(demo::DemoArgs),
    /// Write the fixed-seed example datasets.
    ExampleData(example_data::ExampleDataArgs),
    /// Serve the node over HTTP (signed requests, roles, OpenAPI at /openapi.json).
    Serve(serve::ServeArgs),
    /// Talk to a node over HTTP with signed requests: buyers, owners, auditors, the operator.
    Client(client::ClientArgs),
    /// Make an Ed25519 key pair: NAME.key (secret, 0600) and NAME.pub.
    Keygen(keys::KeygenArgs),
    /// Sign a module: embed the signature (or write it detached).
    Sign(keys::SignArgs),
    /// Verify a module's signature; exit 3 naming the cause if it fails.
    Verify(keys::VerifyArgs),
}

impl Cli {
    /// Whether the command installs its own tracing subscriber (`serve`:
    /// logs plus OpenTelemetry when configured).
    pub(crate) fn owns_tracing(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

/// Runs the parsed command.
pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let node = cli.node;
    match cli.command {
        Command::Run(args) => run::run(&node, args),
        Command::Dataset { command } => dataset::run(&node, command),
        Command::Key { command } => node::key(&node, command),
        Command::Node { command } => node::node(&node, command),
        Command::Ledger { command } => ledger::run(&node, command),
        Command::Receipt { command } => receipt::run(command),
        Command::Billing { command } => billing::run(&node, command),
        Command::Policy { command } => policy::run(command),
        Command::Demo(args) => demo::run(&node, args),
        Command::ExampleData(args) => example_data::run(args),
        Command::Serve(args) => serve::run(&node, args),
        Command::Client(args) => client::run(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::Sign(args) => keys::sign(args),
        Command::Verify(args) => keys::verify(args),
    }
}

/// Prints `value` as pretty JSON.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::internal)?;
    println!("{text}");
    Ok(())
}

/// Writes `text` to `path`, naming the file on failure (a usage error).
pub(crate) fn write_file(path: &std::path::Path, text: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure::usage(anyhow::anyhow!("cannot write {}: {e}", path.display())))
}

/// Reads `path`, naming it and what it is on failure (a usage error).
pub(crate) fn read_file(path: &std::path::Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::usage(anyhow::anyhow!(
            "cannot read {what} {}: {e}",
            path.display()
        ))
    })
}
