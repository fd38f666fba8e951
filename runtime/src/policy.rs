//! Release policies: one TOML file per dataset saying which columns a guest
//! may see and how, and the limits every run over that dataset obeys.
//!
//! Defends against a policy that silently means something other than what
//! its owner wrote: unknown keys, wrong types and out-of-range values are
//! errors that name the key and the line; unlisted columns are invisible.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::data::ColumnType;
use crate::error::PolicyError;

/// How a guest may reach one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Values may be scanned as columnar batches.
    Raw,
    /// Only host-computed aggregates over the column are available.
    Aggregate,
    /// The column does not exist for the guest.
    None,
}

/// The policy's rule for one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnRule {
    /// How the column may be reached.
    pub access: Access,
    /// Whether host aggregates may group by this column.
    pub group_key: bool,
    /// The type the owner declared, overriding CSV inference.
    pub declared: Option<ColumnType>,
}

/// Limits every run under this policy obeys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Fuel units a run may consume.
    pub fuel: u64,
    /// Cap on guest linear memory, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock cap, in milliseconds.
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
    /// Free text for people.
    pub description: Option<String>,
    /// Rules for the columns the policy names; every other column is `none`.
    pub columns: BTreeMap<String, ColumnRule>,
    /// Run limits and release caps.
    pub limits: Limits,
    /// Host aggregates suppress every group with fewer rows than this.
    pub min_group_size: u64,
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
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Syntax {
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        raw.validate(text)
    }

    /// The rule for `column`: `none` unless the policy names it.
    pub fn rule(&self, column: &str) -> ColumnRule {
        self.columns.get(column).copied().unwrap_or(ColumnRule {
            access: Access::None,
            group_key: false,
            declared: None,
        })
    }

    /// Column types the policy declares.
    pub fn declared_types(&self) -> impl Iterator<Item = (&str, ColumnType)> {
        self.columns
            .iter()
            .filter_map(|(name, rule)| rule.declared.map(|t| (name.as_str(), t)))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    dataset: Spanned<String>,
    description: Option<String>,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, RawColumn>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    aggregates: RawAggregates,
}

enum RawColumn {
    Access(Access),
    Table(RawColumnTable),
}

/// A column is either an access level or a table with options; written by
/// hand (not `untagged`) so errors inside either form name the bad key.
impl<'de> Deserialize<'de> for RawColumn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, IntoDeserializer, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawColumn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "\"raw\", \"aggregate\", \"none\" or a table { access = ..., group_key = ... }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawColumn, E> {
                Access::deserialize(v.into_deserializer()).map(RawColumn::Access)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawColumn, A::Error> {
                RawColumnTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawColumn::Table)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumnTable {
    access: Access,
    group_key: Option<bool>,
    #[serde(rename = "type")]
    declared: Option<ColumnType>,
}

type Num = Option<Spanned<i64>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    fuel: Num,
    memory_mb: Num,
    wall_ms: Num,
    output_rows: Num,
    output_bytes: Num,
    log_bytes: Num,
    batch_rows: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAggregates {
    min_group_size: Num,
}

/// Checks one numeric setting is within `range` and returns it scaled.
struct Checker<'a> {
    text: &'a str,
}

impl Checker<'_> {
    fn get(
        &self,
        key: &str,
        value: &Num,
        range: Range<i64>,
        default: u64,
    ) -> Result<u64, PolicyError> {
        let Some(v) = value else { return Ok(default) };
        let n = *v.get_ref();
        if range.contains(&n) {
            Ok(n as u64)
        } else {
            Err(PolicyError::Value {
                key: key.to_string(),
                line: line_of(self.text, v.span().start),
                message: format!(
                    "{n} is out of range; expected {} to {}",
                    range.start,
                    range.end - 1
                ),
            })
        }
    }
}

impl RawPolicy {
    fn validate(self, text: &str) -> Result<Policy, PolicyError> {
        let c = Checker { text };
        let d = Limits::default();
        let l = &self.limits;
        let limits = Limits {
            fuel: c.get("limits.fuel", &l.fuel, 1..i64::MAX, d.fuel)?,
            memory_bytes: c.get(
                "limits.memory_mb",
                &l.memory_mb,
                1..65_537,
                d.memory_bytes >> 20,
            )? << 20,
            wall_ms: c.get("limits.wall_ms", &l.wall_ms, 1..86_400_001, d.wall_ms)?,
            output_rows: c.get(
                "limits.output_rows",
                &l.output_rows,
                0..i64::MAX,
                d.output_rows,
            )?,
            output_bytes: c.get(
                "limits.output_bytes",
                &l.output_bytes,
                0..i64::MAX,
                d.output_bytes,
            )?,
            log_bytes: c.get("limits.log_bytes", &l.log_bytes, 0..(1 << 30), d.log_bytes)?,
            batch_rows: c.get(
                "limits.batch_rows",
                &l.batch_rows,
                1..(1 << 24),
                d.batch_rows.into(),
            )? as u32,
        };
        let min_group_size = c.get(
            "aggregates.min_group_size",
            &self.aggregates.min_group_size,
            1..i64::MAX,
            10,
        )?;
        let dataset = self.dataset.into_inner();
        if !valid_name(&dataset) {
            return Err(PolicyError::Value {
                key: "dataset".into(),
                line: 1.max(text.find("dataset").map_or(1, |o| line_of(text, o))),
                message: format!(
                    "{dataset:?} is not a valid dataset name; use letters, digits, '_' and '-'"
                ),
            });
        }
        let columns = self
            .columns
            .into_iter()
            .map(|(name, col)| {
                let rule = match col {
                    RawColumn::Access(access) => ColumnRule {
                        access,
                        group_key: access == Access::Raw,
                        declared: None,
                    },
                    RawColumn::Table(t) => ColumnRule {
                        access: t.access,
                        group_key: t.group_key.unwrap_or(t.access == Access::Raw)
                            && t.access != Access::None,
                        declared: t.declared,
                    },
                };
                (name.into_inner(), rule)
            })
            .collect();
        Ok(Policy {
            dataset,
            description: self.description,
            columns,
            limits,
            min_group_size,
            hash: hex::encode(Sha256::digest(text.as_bytes())),
        })
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
