//! `sluice client ...`: signed requests to a node, for buyers, owners,
//! auditors and the operator, so nobody hand-crafts a signature.
//!
//! Every command signs with `--key FILE` (or `SLUICE_KEY`) and talks to
//! `--node URL` (or `SLUICE_NODE`, default `http://127.0.0.1:8080`). It
//! prints the node's JSON answer; a refusal prints the problem's `type` and
//! `detail` and exits non-zero: 3 for a run that was recorded but not
//! released, 2 for a request the node refused (4xx), 1 when the node
//! failed or could not be reached.

mod audit;
mod buy;
mod call;
mod own;
mod proxy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Failure;
use call::Session;

/// Arguments every client command takes.
#[derive(Args)]
pub(crate) struct ClientArgs {
    /// The node's address.
    #[arg(
        long,
        global = true,
        env = "SLUICE_NODE",
        default_value = "http://127.0.0.1:8080"
    )]
    node: String,
    /// Your secret key (wasmsign2 format, from `sluice keygen`).
    #[arg(long, global = true, env = "SLUICE_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
    /// Print only this top-level field of the answer, as plain text (for
    /// scripts: `HASH=$(sluice client ... --get hash)`).
    #[arg(long, global = true, value_name = "FIELD")]
    get: Option<String>,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// The node's identity (id, key, checkpoint verifier).
    Node,
    /// Your key as the node knows it (role, datasets).
    Whoami,
    /// Data products you may use: columns, tiers, prices, remaining privacy budget.
    Catalog,
    /// Buyers: upload signed modules, look them up.
    Modules {
        #[command(subcommand)]
        command: buy::ModulesCommand,
    },
    /// Approval requests: buyers ask; owners list, approve and reject.
    Approvals {
        #[command(subcommand)]
        command: own::ApprovalsCommand,
    },
    /// Buyers: run a module over datasets; prints the result and saves the receipt.
    Run(buy::RunArgs),
    /// Runs you may see (usage), one run, its receipt, a job.
    Runs {
        #[command(subcommand)]
        command: buy::RunsCommand,
    },
    /// Receipts: fetch one, or verify one offline.
    Receipt {
        #[command(subcommand)]
        command: audit::ReceiptCommand,
    },
    /// The billing report over the runs you may see.
    Bill(audit::BillArgs),
    /// Auditors: checkpoint, consistency, events, export, verify, replay.
    Ledger {
        #[command(subcommand)]
        command: audit::LedgerCommand,
    },
    /// Owners and the operator: datasets and policy versions.
    Datasets {
        #[command(subcommand)]
        command: own::DatasetsCommand,
    },
    /// The operator: keys and roles.
    Keys {
        #[command(subcommand)]
        command: own::KeysCommand,
    },
    /// A local proxy that signs every request with your key (for tools
    /// that cannot sign, such as schemathesis or curl).
    Proxy(proxy::ProxyArgs),
}

/// `sluice client`.
pub(super) fn run(args: ClientArgs) -> Result<ExitCode, Failure> {
    if let ClientCommand::Proxy(p) = &args.command {
        return proxy::run(&args.node, args.key.as_deref(), p);
    }
    call::select_field(args.get.clone());
    let session = Session::open(&args.node, args.key.as_deref())?;
    match args.command {
        ClientCommand::Node => session.show(session.get("/v1/node")?),
        ClientCommand::Whoami => session.show(session.get("/v1/whoami")?),
        ClientCommand::Catalog => session.show(session.get("/v1/catalog")?),
        ClientCommand::Modules { command } => buy::modules(&session, command),
        ClientCommand::Approvals { command } => own::approvals(&session, command),
        ClientCommand::Run(a) => buy::run(&session, a),
        ClientCommand::Runs { command } => buy::runs(&session, command),
        ClientCommand::Receipt { command } => audit::receipt(&session, command),
        ClientCommand::Bill(a) => audit::bill(&session, a),
        ClientCommand::Ledger { command } => audit::ledger(&session, command),
        ClientCommand::Datasets { command } => own::datasets(&session, command),
        ClientCommand::Keys { command } => own::keys(&session, command),
        ClientCommand::Proxy(_) => Ok(ExitCode::SUCCESS),
    }
}
