//! `sluice billing report`: charges grouped by buyer or dataset over a
//! period, from the node's ledger or from an exported ledger alone (every
//! recorded charge is recomputed from its prices and figures).

use std::fmt::Write as _;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Subcommand, ValueEnum};
use sluice_ledger::billing::{self, GroupBy, Recomputed};

use super::{EXIT_NOT_RELEASED, Failure, NodeArgs, print_json};

/// What to group by, on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub(super) enum By {
    /// Per buyer key.
    Buyer,
    /// Per dataset.
    Dataset,
}

/// Billing subcommands.
#[derive(Subcommand)]
pub(super) enum BillingCommand {
    /// Report runs, usage and charges per buyer or dataset; exit 3 if a
    /// recorded charge does not recompute from its prices.
    Report {
        /// Group by buyer or dataset.
        #[arg(long, value_enum, default_value = "buyer")]
        by: By,
        /// Inclusive start (YYYY-MM-DD or RFC 3339, UTC).
        #[arg(long, value_name = "T")]
        from: Option<String>,
        /// Exclusive end (YYYY-MM-DD or RFC 3339, UTC).
        #[arg(long, value_name = "T")]
        to: Option<String>,
        /// Compute from this exported ledger (`sluice ledger export`) instead of the node's.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// Print JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
}

fn text(r: &Recomputed) -> String {
    let rep = &r.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26} {:>6} {:>6} {:>14} {:>12} {:>12} {:>8} {:>14}",
        "key", "runs", "denied", "fuel", "bytes fed", "released", "queries", "amount"
    );
    for l in &rep.lines {
        let _ = writeln!(
            out,
            "{:<26} {:>6} {:>6} {:>14} {:>12} {:>12} {:>8} {:>10} {}",
            l.key,
            l.runs,
            l.denied,
            l.fuel,
            l.bytes_fed,
            l.bytes_released,
            l.aggregate_queries,
            l.amount,
            l.currency
        );
    }
    for t in &rep.totals {
        let _ = writeln!(out, "total {} {}", t.amount, t.currency);
    }
    out
}

/// Runs a billing subcommand.
pub(super) fn run(args: &NodeArgs, cmd: BillingCommand) -> Result<ExitCode, Failure> {
    let BillingCommand::Report {
        by,
        from,
        to,
        export,
        json,
        csv,
    } = cmd;
    let by = match by {
        By::Buyer => GroupBy::Buyer,
        By::Dataset => GroupBy::Dataset,
    };
    let r = match &export {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| Failure::usage(anyhow!("cannot read {}: {e}", path.display())))?;
            billing::recompute_export(BufReader::new(file), by, from.as_deref(), to.as_deref())
                .map_err(Failure::usage)?
        }
        None => args
            .open_existing()?
            .billing_check(by, from.as_deref(), to.as_deref())
            .map_err(Failure::node)?,
    };
    if json {
        print_json(&r)?;
    } else if csv {
        print!("{}", r.report.to_csv());
    } else {
        print!("{}", text(&r));
    }
    for m in &r.mismatches {
        eprintln!(
            "charge mismatch: event {} (index {}), dataset {}: {}",
            m.event_id, m.index, m.dataset, m.problem
        );
    }
    Ok(if r.mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_RELEASED)
    })
}
