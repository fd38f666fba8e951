//! Owners' and the operator's commands: approval requests (buyers ask,
//! owners decide), datasets and policy versions, keys.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::call::Session;
use crate::cli::{Failure, read_file};

/// Approval subcommands.
#[derive(Subcommand)]
pub(super) enum ApprovalsCommand {
    /// Buyers: ask the dataset's owner to approve a module for raw access.
    Request {
        /// The dataset.
        #[arg(long)]
        dataset: String,
        /// The module hash (from `modules upload`).
        #[arg(long)]
        module: String,
        /// What the module does and why it needs raw access.
        #[arg(long)]
        note: Option<String>,
    },
    /// Requests you may see (owners: for your datasets; buyers: yours).
    List {
        /// Only `pending`, `approved` or `rejected` ones.
        #[arg(long)]
        status: Option<String>,
    },
    /// One request: the module's hash, signer, size and WIT imports.
    Show {
        /// The request id.
        id: String,
    },
    /// Owners: approve (a new policy version approves the module).
    Approve {
        /// The request id.
        id: String,
        /// When the approval ends (RFC 3339, e.g. 2027-06-30T00:00:00Z).
        #[arg(long)]
        expires: Option<String>,
        /// Who reviewed it and what was checked.
        #[arg(long)]
        note: Option<String>,
    },
    /// Owners: reject, with a reason for the buyer.
    Reject {
        /// The request id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `sluice client approvals ...`.
pub(super) fn approvals(s: &Session, command: ApprovalsCommand) -> Result<ExitCode, Failure> {
    match command {
        ApprovalsCommand::Request {
            dataset,
            module,
            note,
        } => s.show(s.post(
            "/v1/approvals",
            &json!({ "dataset": dataset, "module_hash": module, "note": note }),
        )?),
        ApprovalsCommand::List { status } => s.show(s.get(&match status {
            Some(st) => format!("/v1/approvals?status={st}"),
            None => "/v1/approvals".into(),
        })?),
        ApprovalsCommand::Show { id } => s.show(s.get(&format!("/v1/approvals/{id}"))?),
        ApprovalsCommand::Approve { id, expires, note } => s.show(s.post(
            &format!("/v1/approvals/{id}/approve"),
            &json!({ "expires": expires, "note": note }),
        )?),
        ApprovalsCommand::Reject { id, reason } => s.show(s.post(
            &format!("/v1/approvals/{id}/reject"),
            &json!({ "reason": reason }),
        )?),
    }
}

/// Dataset subcommands.
#[derive(Subcommand)]
pub(super) enum DatasetsCommand {
    /// Datasets you manage (operator, auditor: all).
    List,
    /// One dataset.
    Show {
        /// Its name.
        name: String,
    },
    /// The operator: register a dataset file on the node's disk.
    Add {
        /// Its name.
        name: String,
        /// The file on the node's disk.
        #[arg(long)]
        path: String,
        /// Its policy (a local TOML file).
        #[arg(long)]
        policy: PathBuf,
        /// The owner's public key (hex).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Every policy version of a dataset.
    Policies {
        /// The dataset.
        name: String,
    },
    /// Owners: upload a new policy version (a local TOML file).
    PutPolicy {
        /// The dataset.
        name: String,
        /// The policy file.
        file: PathBuf,
    },
}

fn text(path: &std::path::Path, what: &str) -> Result<String, Failure> {
    String::from_utf8(read_file(path, what)?)
        .map_err(|_| Failure::usage(anyhow::anyhow!("{} is not UTF-8 text", path.display())))
}

/// `sluice client datasets ...`.
pub(super) fn datasets(s: &Session, command: DatasetsCommand) -> Result<ExitCode, Failure> {
    match command {
        DatasetsCommand::List => s.show(s.get("/v1/datasets")?),
        DatasetsCommand::Show { name } => s.show(s.get(&format!("/v1/datasets/{name}"))?),
        DatasetsCommand::Add {
            name,
            path,
            policy,
            owner,
        } => {
            let policy = text(&policy, "policy")?;
            s.show(s.post(
                "/v1/datasets",
                &json!({ "name": name, "path": path, "policy": policy, "owner": owner }),
            )?)
        }
        DatasetsCommand::Policies { name } => {
            s.show(s.get(&format!("/v1/datasets/{name}/policies"))?)
        }
        DatasetsCommand::PutPolicy { name, file } => {
            let policy = text(&file, "policy")?;
            s.show(s.post(
                &format!("/v1/datasets/{name}/policies"),
                &json!({ "policy": policy }),
            )?)
        }
    }
}

/// A role, on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub(super) enum RoleArg {
    Operator,
    Owner,
    Buyer,
    Auditor,
}

/// Key subcommands (operator).
#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// Every key the node knows.
    List,
    /// Add a key or change its role.
    Add {
        /// The public key file (or 64 hex digits).
        key: String,
        /// Its role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Buyers: a dataset it may use; owners: a dataset it owns (repeatable).
        #[arg(long = "dataset")]
        datasets: Vec<String>,
    },
}

/// `sluice client keys ...`.
pub(super) fn keys(s: &Session, command: KeysCommand) -> Result<ExitCode, Failure> {
    match command {
        KeysCommand::List => s.show(s.get("/v1/keys")?),
        KeysCommand::Add {
            key,
            role,
            datasets,
        } => {
            let path = PathBuf::from(&key);
            let key = if path.exists() {
                sluice_runtime::signing::PublicKey::from_file(&path)
                    .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", path.display())))?
                    .to_hex()
            } else {
                key
            };
            let role = match role {
                RoleArg::Operator => "operator",
                RoleArg::Owner => "owner",
                RoleArg::Buyer => "buyer",
                RoleArg::Auditor => "auditor",
            };
            s.show(s.post(
                "/v1/keys",
                &json!({ "key": key, "role": role, "datasets": datasets }),
            )?)
        }
    }
}
