//! `sluice example-data`: write the fixed-seed example datasets.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sluice::example_data::{DataSpec, generate};

use super::Failure;

/// Arguments of `sluice example-data`.
#[derive(Args)]
pub(super) struct ExampleDataArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Generator seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Rows of `sales.parquet`.
    #[arg(long)]
    sales_rows: Option<usize>,
    /// Rows of `patients.csv`.
    #[arg(long)]
    patients_rows: Option<usize>,
}

/// `sluice example-data`.
pub(super) fn run(args: ExampleDataArgs) -> Result<ExitCode, Failure> {
    let d = DataSpec::default();
    let spec = DataSpec {
        seed: args.seed.unwrap_or(d.seed),
        sales_rows: args.sales_rows.unwrap_or(d.sales_rows),
        patients_rows: args.patients_rows.unwrap_or(d.patients_rows),
    };
    for path in generate(&args.out, &spec).map_err(Failure::usage)? {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
