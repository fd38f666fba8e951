//! `sluice`: run a buyer's analytics next to the raw data, release only what
//! the dataset's policy allows, and report exact usage.
//!
//! Exit codes: 0 released (or command succeeded), 3 withheld / denied /
//! aborted, 2 usage errors (bad flags, unreadable files, malformed policy),
//! 1 internal errors.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    if !args.owns_tracing() {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_writer(std::io::stderr)
            .init();
    }
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            ExitCode::from(e.code)
        }
    }
}
