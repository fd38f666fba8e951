//! Datasets and their policy versions.
//!
//! A dataset is registered by name with the path of the owner's file (which
//! is never copied) and a policy. Every policy version is kept, addressed by
//! the SHA-256 of its text (`policies/<hash>.toml`), so a recorded run can be
//! replayed under exactly the policy it ran under, even after the owner
//! changed it. Each registration, path change and new policy version is
//! recorded in the ledger.
//!
//! Defends against a policy that governs another dataset than it is given
//! for, a policy whose declared types do not fit the file (refused before it
//! becomes current), and a policy text altered on disk (it must hash to its
//! name when read back).

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_ledger::event::{DatasetEvent, EventData, PolicyEvent};
use sluice_runtime::policy::{Access, valid_name};
use sluice_runtime::signing::PublicKey;
use sluice_runtime::{Dataset, Policy};

use crate::datadir::{read, write_atomic};
use crate::error::NodeError;
use crate::node::Node;
use crate::state::{DatasetRow, PolicyRow};

/// One version of a dataset's policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVersion {
    /// The dataset it governs.
    pub dataset: String,
    /// The owner's version number (`version` in the policy).
    pub version: u64,
    /// SHA-256 of the policy text, hex: the version's address.
    pub hash: String,
    /// When the node registered it.
    pub added_at: String,
    /// Key id of whoever registered it (the node's id for its operator).
    pub added_by: String,
    /// Whether it is the dataset's current policy.
    pub current: bool,
    /// The policy text.
    pub text: String,
}

impl PolicyVersion {
    /// The parsed policy.
    pub fn policy(&self) -> Result<Policy, NodeError> {
        Ok(Policy::parse(&self.text)?)
    }
}

/// A column of a dataset as its current policy treats it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnView {
    /// Column name.
    pub name: String,
    /// Its type (`int64`, `float64`, `boolean`, `utf8`).
    #[serde(rename = "type")]
    pub column_type: String,
    /// `raw`, `aggregate` or `none` (invisible to guests).
    pub access: Access,
    /// Whether host aggregates may group by it.
    pub group_key: bool,
}

/// A registered dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetRecord {
    /// Its name.
    pub name: String,
    /// The owner's file.
    pub path: PathBuf,
    /// `csv` or `parquet`.
    pub format: String,
    /// SHA-256 of the file's content when last opened.
    pub snapshot: String,
    /// File size when last opened.
    pub size_bytes: u64,
    /// Every column, with what the current policy allows.
    pub columns: Vec<ColumnView>,
    /// The current policy version.
    pub policy: PolicyVersion,
    /// When it was registered.
    pub registered_at: String,
    /// Who registered it.
    pub registered_by: String,
    /// When its path, snapshot or policy last changed.
    pub updated_at: String,
    /// Why the file cannot be opened now, if it cannot.
    pub problem: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredColumn {
    name: String,
    #[serde(rename = "type")]
    column_type: String,
}

fn columns_json(dataset: &Dataset) -> String {
    let columns: Vec<StoredColumn> = dataset
        .schema
        .fields()
        .iter()
        .map(|f| StoredColumn {
            name: f.name().clone(),
            column_type: dataset
                .column(f.name())
                .map(|(_, t)| type_name(t))
                .unwrap_or("unsupported")
                .into(),
        })
        .collect();
    serde_json::to_string(&columns).unwrap_or_else(|_| "[]".into())
}

fn type_name(t: sluice_runtime::data::ColumnType) -> &'static str {
    use sluice_runtime::data::ColumnType::*;
    match t {
        Int64 => "int64",
        Float64 => "float64",
        Boolean => "boolean",
        Utf8 => "utf8",
        Date => "date",
        Timestamp => "timestamp",
    }
}

fn format_name(dataset: &Dataset) -> String {
    serde_json::to_value(dataset.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn absolute(path: &Path) -> Result<PathBuf, NodeError> {
    std::path::absolute(path).map_err(NodeError::io("resolve", path))
}

impl Node {
    /// Registers dataset `name` at `path` under the policy `policy_toml`.
    /// Refused if the name is taken (add a policy version with [`Node::put_policy`]).
    pub fn add_dataset(
        &self,
        name: &str,
        path: &Path,
        policy_toml: &str,
        by: Option<&PublicKey>,
    ) -> Result<DatasetRecord, NodeError> {
        if let Some(row) = DatasetRow::get(&self.state.conn(), name)? {
            return Err(NodeError::DatasetExists {
                name: name.into(),
                path: row.path,
            });
        }
        self.register(name, path, policy_toml, by)
    }

    /// Registers `name`, or brings an existing registration up to date: a new
    /// path and a new policy version are recorded; identical ones change
    /// nothing. This is what an ad-hoc `sluice run --data NAME=PATH --policy
    /// P.toml` does.
    pub fn register(
        &self,
        name: &str,
        path: &Path,
        policy_toml: &str,
        by: Option<&PublicKey>,
    ) -> Result<DatasetRecord, NodeError> {
        if !valid_name(name) {
            return Err(NodeError::InvalidName(name.into()));
        }
        let policy = self.check_policy(name, policy_toml)?;
        let path = absolute(path)?;
        let dataset = crate::data::open(name, &path, &policy, &self.memo)?;
        let by = self.by(by);
        let now = sluice_ledger::time::now();
        self.store_policy_text(&policy, policy_toml)?;
        let conn = self.state.conn();
        let tx = conn.unchecked_transaction()?;
        let old = DatasetRow::get(&tx, name)?;
        let path_text = path.to_string_lossy().into_owned();
        let changed_file = old
            .as_ref()
            .is_none_or(|o| o.path != path_text || o.snapshot != dataset.snapshot);
        let changed_policy = old.as_ref().is_none_or(|o| o.policy_hash != policy.hash);
        if changed_policy {
            self.insert_policy_row(&tx, &policy, &now, &by)?;
        }
        let row = DatasetRow {
            name: name.into(),
            path: path_text,
            policy_hash: policy.hash.clone(),
            snapshot: dataset.snapshot.clone(),
            size_bytes: dataset.size_bytes,
            format: format_name(&dataset),
            columns: columns_json(&dataset),
            registered_at: old
                .as_ref()
                .map_or(now.clone(), |o| o.registered_at.clone()),
            registered_by: old.as_ref().map_or(by.clone(), |o| o.registered_by.clone()),
            updated_at: if changed_file || changed_policy {
                now.clone()
            } else {
                old.as_ref().map_or(now.clone(), |o| o.updated_at.clone())
            },
        };
        row.upsert(&tx)?;
        if changed_file {
            self.record(EventData::Dataset(DatasetEvent {
                by: by.clone(),
                dataset: name.into(),
                snapshot: dataset.snapshot.clone(),
            }))?;
        }
        if changed_policy {
            self.record(policy_event(&policy, &by))?;
        }
        tx.commit()?;
        drop(conn);
        self.record_of(row, None)
    }

    /// Makes `policy_toml` the current policy of `dataset` (a new version,
    /// recorded; the old ones are kept by hash). Re-putting the current
    /// policy changes nothing.
    pub fn put_policy(
        &self,
        dataset: &str,
        policy_toml: &str,
        by: Option<&PublicKey>,
    ) -> Result<PolicyVersion, NodeError> {
        let row = DatasetRow::get(&self.state.conn(), dataset)?
            .ok_or_else(|| NodeError::UnknownDataset(dataset.into()))?;
        let policy = self.check_policy(dataset, policy_toml)?;
        crate::data::open(dataset, Path::new(&row.path), &policy, &self.memo)?;
        if row.policy_hash != policy.hash {
            let by = self.by(by);
            let now = sluice_ledger::time::now();
            self.store_policy_text(&policy, policy_toml)?;
            let conn = self.state.conn();
            let tx = conn.unchecked_transaction()?;
            self.insert_policy_row(&tx, &policy, &now, &by)?;
            DatasetRow {
                policy_hash: policy.hash.clone(),
                updated_at: now,
                ..row
            }
            .upsert(&tx)?;
            self.record(policy_event(&policy, &by))?;
            tx.commit()?;
        }
        self.policy_by_hash(&policy.hash)
    }

    /// Every registered dataset, by name, as last seen (files are not reopened).
    pub fn datasets(&self) -> Result<Vec<DatasetRecord>, NodeError> {
        let rows = DatasetRow::list(&self.state.conn())?;
        rows.into_iter().map(|r| self.record_of(r, None)).collect()
    }

    /// Dataset `name`, with its file reopened: current snapshot and schema,
    /// or the reason it cannot be opened.
    pub fn dataset(&self, name: &str) -> Result<DatasetRecord, NodeError> {
        let mut row = DatasetRow::get(&self.state.conn(), name)?
            .ok_or_else(|| NodeError::UnknownDataset(name.into()))?;
        let policy = self.policy_by_hash(&row.policy_hash)?.policy()?;
        let problem = match crate::data::open(name, Path::new(&row.path), &policy, &self.memo) {
            Ok(d) => {
                row.snapshot = d.snapshot.clone();
                row.size_bytes = d.size_bytes;
                row.columns = columns_json(&d);
                None
            }
            Err(e) => Some(e.to_string()),
        };
        self.record_of(row, problem)
    }

    /// Every policy version of `dataset`, oldest first.
    pub fn policy_versions(&self, dataset: &str) -> Result<Vec<PolicyVersion>, NodeError> {
        let (rows, current) = {
            let conn = self.state.conn();
            let current = DatasetRow::get(&conn, dataset)?
                .ok_or_else(|| NodeError::UnknownDataset(dataset.into()))?
                .policy_hash;
            (PolicyRow::of_dataset(&conn, dataset)?, current)
        };
        rows.into_iter()
            .map(|r| {
                let is_current = r.hash == current;
                self.version_of(r, is_current)
            })
            .collect()
    }

    /// The policy version with `hash`.
    pub fn policy_by_hash(&self, hash: &str) -> Result<PolicyVersion, NodeError> {
        let (row, current) = {
            let conn = self.state.conn();
            let row = PolicyRow::get(&conn, hash)?
                .ok_or_else(|| NodeError::UnknownPolicy(hash.into()))?;
            let current =
                DatasetRow::get(&conn, &row.dataset)?.is_some_and(|d| d.policy_hash == hash);
            (row, current)
        };
        self.version_of(row, current)
    }

    fn check_policy(&self, dataset: &str, text: &str) -> Result<Policy, NodeError> {
        let policy = Policy::parse(text)?;
        if policy.dataset != dataset {
            return Err(NodeError::PolicyForOtherDataset {
                expected: dataset.into(),
                found: policy.dataset,
            });
        }
        Ok(policy)
    }

    fn policy_path(&self, hash: &str) -> PathBuf {
        self.dir.policies().join(format!("{hash}.toml"))
    }

    fn store_policy_text(&self, policy: &Policy, text: &str) -> Result<(), NodeError> {
        let path = self.policy_path(&policy.hash);
        if path.exists() {
            return Ok(());
        }
        write_atomic(&path, text.as_bytes(), 0o600)
    }

    fn insert_policy_row(
        &self,
        conn: &rusqlite::Connection,
        policy: &Policy,
        now: &str,
        by: &str,
    ) -> Result<(), NodeError> {
        if PolicyRow::get(conn, &policy.hash)?.is_none() {
            PolicyRow::insert(conn, &policy.hash, &policy.dataset, policy.version, now, by)?;
        }
        Ok(())
    }

    fn version_of(&self, row: PolicyRow, current: bool) -> Result<PolicyVersion, NodeError> {
        let path = self.policy_path(&row.hash);
        let bytes = read(&path)?;
        if hex::encode(Sha256::digest(&bytes)) != row.hash {
            return Err(NodeError::Corrupt { path });
        }
        Ok(PolicyVersion {
            dataset: row.dataset,
            version: row.version,
            hash: row.hash,
            added_at: row.added_at,
            added_by: row.added_by,
            current,
            text: String::from_utf8(bytes).map_err(|_| NodeError::Corrupt { path })?,
        })
    }

    fn record_of(
        &self,
        row: DatasetRow,
        problem: Option<String>,
    ) -> Result<DatasetRecord, NodeError> {
        let policy = self.policy_by_hash(&row.policy_hash)?;
        let parsed = policy.policy()?;
        let stored: Vec<StoredColumn> = serde_json::from_str(&row.columns).unwrap_or_default();
        let columns = stored
            .into_iter()
            .map(|c| {
                let rule = parsed.rule(&c.name);
                ColumnView {
                    access: rule.access,
                    group_key: rule.group_key,
                    name: c.name,
                    column_type: c.column_type,
                }
            })
            .collect();
        Ok(DatasetRecord {
            name: row.name,
            path: PathBuf::from(row.path),
            format: row.format,
            snapshot: row.snapshot,
            size_bytes: row.size_bytes,
            columns,
            policy,
            registered_at: row.registered_at,
            registered_by: row.registered_by,
            updated_at: row.updated_at,
            problem,
        })
    }
}

fn policy_event(policy: &Policy, by: &str) -> EventData {
    EventData::Policy(PolicyEvent {
        by: by.into(),
        dataset: policy.dataset.clone(),
        policy_hash: policy.hash.clone(),
        version: policy.version.to_string(),
    })
}
