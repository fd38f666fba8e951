//! The role model: who may do what, decided from the caller's key record.
//!
//! | role | may |
//! |---|---|
//! | operator | everything: register datasets, manage keys, read everything |
//! | owner | for the datasets named in its key record (none if the list is empty): read them, upload policy versions, decide approval requests, read their usage and bills |
//! | buyer | see the catalog of datasets in its scope (empty: all), upload modules, ask for approvals, run its own signed modules, read its own runs, receipts, jobs and bills |
//! | auditor | read the whole ledger, proofs and exports, replay runs, read bills |
//!
//! Every handler asks [`Caller`] before acting; a refusal is 403
//! `forbidden.*` naming the role that would be allowed. Defends against role
//! escalation (the role comes from the node's key record, never from the
//! request) and against an owner reaching another owner's datasets.

use sluice_runtime::signing::PublicKey;

use crate::http::problem::ApiError;
use crate::keys::{KeyRecord, Role};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's public key.
    pub key: PublicKey,
    /// What the node knows of it.
    pub record: KeyRecord,
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        self.record.role
    }

    /// The caller's public key, hex.
    pub fn hex(&self) -> &str {
        &self.record.key
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role()) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden(
            "role",
            format!(
                "this needs the {} role; your key {} is a {}",
                names.join(" or "),
                self.record.key_id,
                self.role().as_str()
            ),
        ))
    }

    /// Whether the caller manages `dataset` (its owner, or the operator).
    pub fn owns(&self, dataset: &str) -> bool {
        match self.role() {
            Role::Operator => true,
            Role::Owner => self.record.datasets.iter().any(|d| d == dataset),
            _ => false,
        }
    }

    /// Refuses unless the caller manages `dataset`.
    pub fn require_owner_of(&self, dataset: &str) -> Result<(), ApiError> {
        if self.owns(dataset) {
            return Ok(());
        }
        Err(ApiError::forbidden(
            "not-owner",
            format!(
                "your key {} does not own dataset `{dataset}`; only its owner or the operator may do this",
                self.record.key_id
            ),
        ))
    }

    /// Whether a buyer's scope covers `dataset`.
    pub fn in_scope(&self, dataset: &str) -> bool {
        self.record.datasets.is_empty() || self.record.datasets.iter().any(|d| d == dataset)
    }

    /// Whether the caller may read every dataset's records (operator, auditor).
    pub fn reads_everything(&self) -> bool {
        matches!(self.role(), Role::Operator | Role::Auditor)
    }

    /// Whether the caller may see `dataset` in the catalog.
    pub fn sees_dataset(&self, dataset: &str) -> bool {
        match self.role() {
            Role::Operator | Role::Auditor => true,
            Role::Owner => self.owns(dataset),
            Role::Buyer => self.in_scope(dataset),
        }
    }
}
