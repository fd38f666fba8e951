//! The table a guest returns, in the host's own form, and the release rules
//! it must pass before anything of it leaves the node.
//!
//! Defends against outputs the policy does not allow: too many rows, too
//! many bytes, or a malformed table (ragged columns, duplicate names).
//! Output size and hash are taken over one canonical JSON encoding so they
//! can be recomputed by anyone holding the output.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_host_api::types::{ColumnValues, Table as WitTable};

use crate::outcome::Withholding;
use crate::policy::Limits;

/// One column of a released table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputColumn {
    /// Column name.
    pub name: String,
    /// `int64`, `float64`, `boolean` or `utf8`.
    #[serde(rename = "type")]
    pub column_type: &'static str,
    /// The values, `null` for nulls (and for non-finite floats).
    pub values: Vec<Value>,
}

/// A table returned by a guest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputTable {
    /// The columns, in the order the guest returned them.
    pub columns: Vec<OutputColumn>,
}

fn values<T: Into<Value>>(v: Vec<Option<T>>) -> Vec<Value> {
    v.into_iter()
        .map(|x| x.map_or(Value::Null, Into::into))
        .collect()
}

impl From<WitTable> for OutputTable {
    fn from(t: WitTable) -> Self {
        let columns = t
            .columns
            .into_iter()
            .map(|c| {
                let (column_type, values) = match c.values {
                    ColumnValues::Int64(v) => ("int64", values(v)),
                    ColumnValues::Float64(v) => ("float64", values(v)),
                    ColumnValues::Boolean(v) => ("boolean", values(v)),
                    ColumnValues::Utf8(v) => ("utf8", values(v)),
                };
                OutputColumn {
                    name: c.name,
                    column_type,
                    values,
                }
            })
            .collect();
        Self { columns }
    }
}

impl OutputTable {
    /// Rows in the table (0 when it has no columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// The canonical encoding: compact JSON of the table.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// SHA-256 of [`Self::canonical_bytes`], hex.
    pub fn hash_of(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Checks the table against the release rules; `Err` names the rule.
    /// The rule never carries a figure or name the guest chose.
    pub fn check(&self, bytes: usize, limits: &Limits) -> Result<(), Withholding> {
        let rows = self.rows();
        if self.columns.iter().any(|c| c.values.len() != rows) {
            return Err(Withholding::MalformedOutput);
        }
        let mut names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(Withholding::MalformedOutput);
        }
        if rows as u64 > limits.output_rows {
            return Err(Withholding::OutputRows {
                limit: limits.output_rows,
            });
        }
        if bytes as u64 > limits.output_bytes {
            return Err(Withholding::OutputBytes {
                limit: limits.output_bytes,
            });
        }
        Ok(())
    }
}
