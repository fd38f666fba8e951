//! Keys the node knows and the role each plays.
//!
//! Buyers' keys are what admission verifies module signatures against (a
//! policy's trusted signers are known too, for that dataset). A buyer key may
//! be limited to some datasets. Owner, auditor and operator keys are for the
//! HTTP server's roles. Every change is recorded in the ledger.
//!
//! Defends against a buyer key reaching datasets it was not given (admission
//! only knows the buyer keys whose scope covers every dataset of the run),
//! and against unrecorded trust changes.

use serde::{Deserialize, Serialize};
use sluice_ledger::event::{EventData, KeyEvent};
use sluice_runtime::signing::PublicKey;

use crate::error::NodeError;
use crate::node::Node;
use crate::state::KeyRow;

/// What a key may do on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the node.
    Operator,
    /// Owns datasets: registers them, writes their policies, approves modules.
    Owner,
    /// Submits signed modules and runs them.
    Buyer,
    /// Reads the ledger and replays runs.
    Auditor,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Owner => "owner",
            Self::Buyer => "buyer",
            Self::Auditor => "auditor",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Operator, Self::Owner, Self::Buyer, Self::Auditor]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A key the node knows.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRecord {
    /// The public key, hex.
    pub key: String,
    /// Its key id.
    pub key_id: String,
    /// Its role.
    pub role: Role,
    /// The datasets it is limited to; empty: every dataset.
    pub datasets: Vec<String>,
    /// When it was added.
    pub added_at: String,
    /// Who added it.
    pub added_by: String,
}

impl KeyRecord {
    /// The public key.
    pub fn public_key(&self) -> Result<PublicKey, NodeError> {
        PublicKey::parse(&self.key).map_err(NodeError::Key)
    }

    fn covers(&self, datasets: &[String]) -> bool {
        self.datasets.is_empty() || datasets.iter().all(|d| self.datasets.contains(d))
    }
}

fn record_of(row: KeyRow) -> Result<KeyRecord, NodeError> {
    Ok(KeyRecord {
        role: Role::parse(&row.role)
            .ok_or_else(|| NodeError::Internal(format!("unknown role {:?}", row.role)))?,
        datasets: serde_json::from_str(&row.datasets).map_err(NodeError::internal)?,
        key: row.key,
        key_id: row.key_id,
        added_at: row.added_at,
        added_by: row.added_by,
    })
}

impl Node {
    /// Adds `key` with `role`, limited to `datasets` (empty: all), or changes
    /// an existing key's role and datasets. Adding a key exactly as it is
    /// changes nothing and records nothing.
    pub fn add_key(
        &self,
        key: &PublicKey,
        role: Role,
        datasets: &[String],
        by: Option<&PublicKey>,
    ) -> Result<KeyRecord, NodeError> {
        let mut datasets = datasets.to_vec();
        datasets.sort();
        datasets.dedup();
        let conn = self.state.conn();
        let old = KeyRow::get(&conn, &key.to_hex())?;
        let scope = serde_json::to_string(&datasets).map_err(NodeError::internal)?;
        if let Some(old) = old
            .as_ref()
            .filter(|o| o.role == role.as_str() && o.datasets == scope)
        {
            return record_of(old.clone());
        }
        let by = self.by(by);
        let row = KeyRow {
            key: key.to_hex(),
            key_id: key.key_id(),
            role: role.as_str().into(),
            datasets: scope,
            added_at: sluice_ledger::time::now(),
            added_by: by.clone(),
        };
        let tx = conn.unchecked_transaction()?;
        row.upsert(&tx)?;
        self.record(EventData::Key(KeyEvent {
            by,
            key: key.to_hex(),
            role: role.as_str().into(),
        }))?;
        tx.commit()?;
        record_of(row)
    }

    /// Every key the node knows, in the order added.
    pub fn keys(&self) -> Result<Vec<KeyRecord>, NodeError> {
        KeyRow::list(&self.state.conn())?
            .into_iter()
            .map(record_of)
            .collect()
    }

    /// Buyer keys whose scope covers every one of `datasets`.
    pub(crate) fn buyer_keys(&self, datasets: &[String]) -> Result<Vec<PublicKey>, NodeError> {
        self.keys()?
            .into_iter()
            .filter(|k| k.role == Role::Buyer && k.covers(datasets))
            .map(|k| k.public_key())
            .collect()
    }
}
