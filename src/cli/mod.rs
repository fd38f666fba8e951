//! Command-line interface: argument parsing and dispatch to one module per
//! command. Every refusal prints a clear message and exits non-zero.

mod demo;
mod example_data;
mod inspect;
mod keys;
mod policy;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code when the run was not released.
pub(crate) const EXIT_NOT_RELEASED: u8 = 3;

/// A failed command: what went wrong and the exit code it earns.
pub(crate) struct Failure {
    /// What went wrong.
    pub error: anyhow::Error,
    /// 2 for usage errors, 1 for internal errors.
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
}

/// Sluice: a WebAssembly sandbox for analytics next to raw data.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a module once over local datasets under their policies.
    Run(run::RunArgs),
    /// Validate and explain release policies.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Build the examples, generate the example data and run them, showing
    /// released results and refused hostile runs.
    Demo {
        /// Where to put the example data.
        #[arg(long, default_value = "target/demo-data")]
        data_dir: PathBuf,
    },
    /// Write the fixed-seed example datasets.
    ExampleData(example_data::ExampleDataArgs),
    /// Make an Ed25519 key pair: NAME.key (secret, 0600) and NAME.pub.
    Keygen(keys::KeygenArgs),
    /// Sign a module: embed the signature (or write it detached).
    Sign(keys::SignArgs),
    /// Verify a module's signature; exit 3 naming the cause if it fails.
    Verify(keys::VerifyArgs),
}

/// Runs the parsed command.
pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Policy { command } => policy::run(command),
        Command::Demo { data_dir } => demo::run(&data_dir),
        Command::ExampleData(args) => example_data::run(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::Sign(args) => keys::sign(args),
        Command::Verify(args) => keys::verify(args),
    }
}
