//! Release policies: one TOML file per dataset, written by its owner, saying
//! who may run code over the data (approved module hashes, trusted
//! signers), what that code may see (column access), what may leave
//! (release rules, differential privacy), the limits of every run, and the
//! prices billed for it.
//!
//! Defends against a policy that silently means something other than what
//! its owner wrote: unknown keys, wrong types and out-of-range values are
//! errors that name the key and the line; unlisted columns are invisible;
//! the policy's SHA-256 identifies the exact version every run used.

mod columns;
mod csv;
mod raw;
mod rules;
mod time;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

pub use columns::{Bins, Function, Functions, KeySet, MAX_LISTED_KEYS};
pub use rules::{Approval, FuelRounding, Prices, PrivacyRules, Rounding, next_power_of_two};
pub use time::{format_rfc3339, unix_now};

use crate::data::ColumnType;
use crate::error::PolicyError;

/// How a guest may reach one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Values may be scanned as columnar batches (approved modules only).
    Raw,
    /// Only host-computed aggregates over the column are available.
    Aggregate,
    /// The column does not exist for the guest.
    None,
}

/// The policy's rule for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRule {
    /// How the column may be reached.
    pub access: Access,
    /// Whether host aggregates may group by this column.
    pub group_key: bool,
    /// The type the owner declared, overriding CSV inference.
    pub declared: Option<ColumnType>,
    /// Bounds host aggregates clamp this column's values to (a query's own
    /// clamp is intersected with them).
    pub bounds: Option<(f64, f64)>,
    /// Host aggregate functions allowed over this column (for a module
    /// that may not scan it).
    pub functions: Functions,
    /// The bins a host aggregate may group this column into; `None`: it
    /// may not be binned.
    pub bins: Option<Bins>,
    /// The key set differential privacy may release for this group key
    /// without selecting keys privately.
    pub keys: Option<KeySet>,
}

impl Default for ColumnRule {
    /// The rule of a column the policy does not name: `none`.
    fn default() -> Self {
        Self {
            access: Access::None,
            group_key: false,
            declared: None,
            bounds: None,
            functions: Functions::default(),
            bins: None,
            keys: None,
        }
    }
}

/// Limits every run under this policy obeys, and the release caps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Fuel units a run may consume: guest instructions and the host work
    /// charged for it (`engine::schedule`).
    pub fuel: u64,
    /// Cap on guest linear memory plus the host memory held for the guest,
    /// in bytes.
    pub memory_bytes: u64,
    /// Wall-clock cap over the whole run, in milliseconds (also the budget
    /// of the guest's virtual time).
    pub wall_ms: u64,
    /// Release rule: maximum rows of the returned table.
    pub output_rows: u64,
    /// Release rule: maximum bytes of the returned table's canonical JSON.
    pub output_bytes: u64,
    /// Cap on the captured guest stdout and stderr, in bytes.
    pub log_bytes: u64,
    /// Maximum rows per scan batch.
    pub batch_rows: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 1_000_000_000,
            memory_bytes: 256 << 20,
            wall_ms: 10_000,
            output_rows: 10_000,
            output_bytes: 1 << 20,
            log_bytes: 64 << 10,
            batch_rows: 65_536,
        }
    }
}

/// A parsed, validated release policy for one dataset.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The dataset this policy governs.
    pub dataset: String,
    /// The owner's version number of this policy.
    pub version: u64,
    /// The data owner's public key (as written in the policy).
    pub owner: Option<String>,
    /// Free text for people.
    pub description: Option<String>,
    /// Rules for the columns the policy names; every other column is `none`.
    pub columns: BTreeMap<String, ColumnRule>,
    /// Module hashes the owner reviewed and approved for raw access.
    pub approvals: Vec<Approval>,
    /// Public keys whose signed modules may use host aggregates.
    pub trusted_signers: Vec<String>,
    /// Run limits and release caps.
    pub limits: Limits,
    /// Host aggregates suppress every group with fewer rows than this.
    pub min_group_size: u64,
    /// How usage figures of runs that are not released are rounded.
    pub rounding: Rounding,
    /// Whether an approved module's output may contain values of raw
    /// columns that are not group keys.
    pub raw_values_in_output: bool,
    /// Differential privacy for host aggregates, when the owner asks for it.
    pub privacy: Option<PrivacyRules>,
    /// What runs over this dataset cost.
    pub prices: Prices,
    /// How the dataset's CSV files are written (the `[csv]` table).
    pub csv: crate::data::CsvOptions,
    /// SHA-256 of the policy file's bytes, hex: identifies this exact version.
    pub hash: String,
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates policy text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut policy = raw::parse(text)?;
        policy.hash = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(policy)
    }

    /// The rule for `column`: `none` unless the policy names it.
    pub fn rule(&self, column: &str) -> ColumnRule {
        self.columns.get(column).cloned().unwrap_or_default()
    }

    /// Column types the policy declares.
    pub fn declared_types(&self) -> impl Iterator<Item = (&str, ColumnType)> {
        self.columns
            .iter()
            .filter_map(|(name, rule)| rule.declared.map(|t| (name.as_str(), t)))
    }

    /// The approval of `module_hash`, if the policy has one (expired or not).
    pub fn approval(&self, module_hash: &str) -> Option<&Approval> {
        self.approvals.iter().find(|a| a.module == module_hash)
    }
}

/// Dataset names: non-empty, letters, digits, `_` and `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod schema_tests;
