//! Approval requests: a buyer asks a dataset's owner to approve one exact
//! module for raw access, with a note; the owner reviews what the module is
//! (hash, signer, size, the WIT imports it declares) and approves it, with
//! an optional expiry, or rejects it with a reason.
//!
//! An approval is a new policy version: the current policy text with its
//! `version` raised by one and an `[[approvals]]` entry for the module
//! appended, registered like any policy the owner uploads (old versions stay
//! addressable by hash). Every decision is a `dev.sluice.approval.v1` ledger
//! event naming the request, the owner's key, the module and the expiry.
//!
//! Defends against approving something other than what was reviewed (the
//! request names the module hash; the approval names the same hash), a
//! buyer asking for datasets outside their key's scope or for modules the
//! node does not hold, decisions taken twice (a decided request is final),
//! expiries that are already past, and duplicate approvals of one module in
//! one policy (the owner edits an existing entry by uploading a new version).

use serde::Serialize;
use sluice_ledger::event::{ApprovalEvent, EventData};
use sluice_runtime::Policy;
use sluice_runtime::policy::{format_rfc3339, unix_now};
use sluice_runtime::signing::PublicKey;

use crate::error::NodeError;
use crate::node::Node;
use crate::registry::PolicyVersion;
use crate::state::{ApprovalRow, DatasetRow};

/// Longest note or reason accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 2048;

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for the owner.
    Pending,
    /// Approved: a new policy version approves the module.
    Approved,
    /// Rejected, with the owner's reason.
    Rejected,
}

impl ApprovalStatus {
    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, NodeError> {
        [Self::Pending, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| NodeError::Internal(format!("unknown approval status {s:?}")))
    }
}

/// An approval request, as the buyer and the owner see it.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRequest {
    /// The request id (a UUID).
    pub id: String,
    /// The dataset the module should be approved for.
    pub dataset: String,
    /// The module hash (SHA-256 without the signature section).
    pub module_hash: String,
    /// Size of the stored module, bytes.
    pub module_size: u64,
    /// Key id of the module's signer, when it verified against a known buyer key.
    pub module_signer: Option<String>,
    /// The WIT imports the module declares.
    pub module_imports: Vec<String>,
    /// Hex public key of the buyer who asked.
    pub buyer: String,
    /// Key id of the buyer who asked.
    pub buyer_key_id: String,
    /// The buyer's note to the owner.
    pub note: Option<String>,
    /// Where the request stands.
    pub status: ApprovalStatus,
    /// When it was asked (RFC 3339).
    pub created_at: String,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// Key id of the owner who decided.
    pub decided_by: Option<String>,
    /// The owner's note (approval) or reason (rejection).
    pub decision_note: Option<String>,
    /// When the approval ends (RFC 3339), if it does.
    pub expires: Option<String>,
    /// The policy version the approval produced.
    pub policy_hash: Option<String>,
}

fn request_of(row: ApprovalRow) -> Result<ApprovalRequest, NodeError> {
    Ok(ApprovalRequest {
        status: ApprovalStatus::parse(&row.status)?,
        module_imports: serde_json::from_str(&row.module_imports).map_err(NodeError::internal)?,
        id: row.id,
        dataset: row.dataset,
        module_hash: row.module_hash,
        module_size: row.module_size,
        module_signer: row.module_signer,
        buyer: row.buyer,
        buyer_key_id: row.buyer_key_id,
        note: row.note,
        created_at: row.created_at,
        decided_at: row.decided_at,
        decided_by: row.decided_by,
        decision_note: row.decision_note,
        expires: row.expires,
        policy_hash: row.policy_hash,
    })
}

fn check_note(what: &str, note: Option<&str>) -> Result<Option<String>, NodeError> {
    match note.map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.len() > MAX_NOTE_BYTES => Err(NodeError::InvalidRequest(format!(
            "the {what} is {} bytes; keep it under {MAX_NOTE_BYTES}",
            n.len()
        ))),
        Some(n) => Ok(Some(n.to_string())),
    }
}

/// `text` with its top-level `version` raised to `next` and `entry` appended.
fn next_version_text(text: &str, next: u64, entry: &str) -> String {
    let mut out = String::with_capacity(text.len() + entry.len() + 32);
    let mut replaced = false;
    let mut in_table = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        in_table |= trimmed.starts_with('[');
        let is_version = !in_table
            && trimmed
                .strip_prefix("version")
                .is_some_and(|r| r.trim_start().starts_with('='));
        if is_version && !replaced {
            out.push_str(&format!("version = {next}\n"));
            replaced = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        out = format!("version = {next}\n{out}");
    }
    format!("{}\n{entry}", out.trim_end())
}

impl Node {
    /// Records `buyer`'s request that module `module_hash` (stored on this
    /// node) be approved for `dataset`. Asking again while a request for the
    /// same module and dataset is pending returns that request.
    pub fn request_approval(
        &self,
        buyer: &PublicKey,
        dataset: &str,
        module_hash: &str,
        note: Option<&str>,
    ) -> Result<ApprovalRequest, NodeError> {
        let note = check_note("note", note)?;
        if DatasetRow::get(&self.state.conn(), dataset)?.is_none() {
            return Err(NodeError::UnknownDataset(dataset.into()));
        }
        let record = self.module_record(module_hash)?;
        let imports = crate::imports::wit_imports(&self.module(module_hash)?)
            .map_err(NodeError::InvalidRequest)?;
        let conn = self.state.conn();
        if let Some(row) = ApprovalRow::pending(&conn, dataset, module_hash, &buyer.to_hex())? {
            return request_of(row);
        }
        let row = ApprovalRow {
            id: uuid::Uuid::new_v4().to_string(),
            dataset: dataset.into(),
            module_hash: module_hash.into(),
            module_size: record.size,
            module_signer: record.signer,
            module_imports: serde_json::to_string(&imports).map_err(NodeError::internal)?,
            buyer: buyer.to_hex(),
            buyer_key_id: buyer.key_id(),
            note,
            status: ApprovalStatus::Pending.as_str().into(),
            created_at: sluice_ledger::time::now(),
            ..ApprovalRow::default()
        };
        row.upsert(&conn)?;
        request_of(row)
    }

    /// Every approval request, oldest first.
    pub fn approval_requests(&self) -> Result<Vec<ApprovalRequest>, NodeError> {
        ApprovalRow::list(&self.state.conn())?
            .into_iter()
            .map(request_of)
            .collect()
    }

    /// The approval request `id`.
    pub fn approval_request(&self, id: &str) -> Result<ApprovalRequest, NodeError> {
        ApprovalRow::get(&self.state.conn(), id)?
            .ok_or_else(|| NodeError::UnknownApproval(id.into()))
            .and_then(request_of)
    }

    fn pending_row(&self, id: &str) -> Result<ApprovalRow, NodeError> {
        let row = ApprovalRow::get(&self.state.conn(), id)?
            .ok_or_else(|| NodeError::UnknownApproval(id.into()))?;
        if row.status != ApprovalStatus::Pending.as_str() {
            return Err(NodeError::ApprovalDecided {
                id: id.into(),
                status: row.status,
            });
        }
        Ok(row)
    }

    /// Approves request `id`: a new policy version of its dataset approves
    /// the module (until `expires`, RFC 3339, if given), and the decision is
    /// recorded. Returns the decided request and the new policy version.
    pub fn approve(
        &self,
        id: &str,
        by: &PublicKey,
        expires: Option<&str>,
        note: Option<&str>,
    ) -> Result<(ApprovalRequest, PolicyVersion), NodeError> {
        let mut row = self.pending_row(id)?;
        let note = check_note("note", note)?;
        let current = self.dataset(&row.dataset)?.policy;
        let policy = current.policy()?;
        if policy.approval(&row.module_hash).is_some() {
            return Err(NodeError::AlreadyApproved {
                dataset: row.dataset,
                module: row.module_hash,
            });
        }
        let mut entry = format!("[[approvals]]\nmodule = \"{}\"\n", row.module_hash);
        if let Some(e) = expires {
            let e = e.trim();
            if e.is_empty()
                || !e
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":-.+".contains(&b))
            {
                return Err(NodeError::InvalidRequest(format!(
                    "expires {e:?} is not an RFC 3339 time; write e.g. 2027-06-30T00:00:00Z"
                )));
            }
            entry.push_str(&format!("expires = {e}\n"));
        }
        let text_note = format!(
            "approval request {id}{}",
            note.as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
        entry.push_str(&format!(
            "note = {}\n",
            serde_json::to_string(&text_note).map_err(NodeError::internal)?
        ));
        let text = next_version_text(&current.text, policy.version + 1, &entry);
        let parsed = Policy::parse(&text)?;
        let expires_at = parsed.approval(&row.module_hash).and_then(|a| a.expires);
        if let Some(at) = expires_at.filter(|at| *at <= unix_now()) {
            return Err(NodeError::InvalidRequest(format!(
                "expires {} is already past; give a future time or none",
                format_rfc3339(at)
            )));
        }
        let version = self.put_policy(&row.dataset, &text, Some(by))?;
        row.status = ApprovalStatus::Approved.as_str().into();
        row.expires = expires_at.map(format_rfc3339);
        row.policy_hash = Some(version.hash.clone());
        let decided = self.decide(row, by, note)?;
        Ok((decided, version))
    }

    /// Rejects request `id` with `reason`, recorded.
    pub fn reject(
        &self,
        id: &str,
        by: &PublicKey,
        reason: &str,
    ) -> Result<ApprovalRequest, NodeError> {
        let mut row = self.pending_row(id)?;
        let reason = check_note("reason", Some(reason))?.ok_or_else(|| {
            NodeError::InvalidRequest("a rejection needs a reason for the buyer".into())
        })?;
        row.status = ApprovalStatus::Rejected.as_str().into();
        self.decide(row, by, Some(reason))
    }

    fn decide(
        &self,
        mut row: ApprovalRow,
        by: &PublicKey,
        note: Option<String>,
    ) -> Result<ApprovalRequest, NodeError> {
        row.decided_at = Some(sluice_ledger::time::now());
        row.decided_by = Some(by.key_id());
        row.decision_note = note.clone();
        let conn = self.state.conn();
        let tx = conn.unchecked_transaction()?;
        row.upsert(&tx)?;
        self.record(EventData::Approval(ApprovalEvent {
            by: by.key_id(),
            dataset: row.dataset.clone(),
            decision: row.status.clone(),
            expires: row.expires.clone(),
            module_hash: row.module_hash.clone(),
            note,
            request_id: Some(row.id.clone()),
        }))?;
        tx.commit()?;
        request_of(row)
    }
}

#[cfg(test)]
mod tests {
    use super::next_version_text;

    #[test]
    fn the_version_is_raised_and_the_entry_appended() {
        let text = "# c\ndataset = \"d\"\nversion = 3\n[columns]\nversion = \"raw\"\n";
        let out = next_version_text(text, 4, "[[approvals]]\nmodule = \"x\"\n");
        assert!(out.contains("version = 4\n"));
        assert!(out.contains("[columns]\nversion = \"raw\"\n"), "{out}");
        assert!(out.ends_with("[[approvals]]\nmodule = \"x\"\n"));
    }

    #[test]
    fn a_policy_without_a_version_gets_one() {
        let out = next_version_text("dataset = \"d\"\n", 2, "[[approvals]]\n");
        assert!(out.starts_with("version = 2\n"));
    }
}
