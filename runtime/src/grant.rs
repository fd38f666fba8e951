//! A dataset as one run may see it: the dataset joined with its policy.
//!
//! Every guest request for a column goes through [`Grant::column`], so a
//! `none` column is indistinguishable from a missing one and an
//! `aggregate` column can never be scanned.

use arrow_schema::{DataType, TimeUnit};
use sluice_host_api::types::{
    Access as WitAccess, ColumnInfo, ColumnType as WitType, DatasetInfo, TimeUnit as WitUnit,
    TimestampType,
};

use serde::Serialize;

use crate::data::{ColumnType, Dataset, timestamp_of};
use crate::policy::{Access, ColumnRule, Policy};
use crate::refusal::Refusal;

/// What a module may do with one dataset, decided at admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The owner approved this exact module hash: it may scan `raw` columns.
    Approved,
    /// Signed by a signer the policy trusts: host aggregates only.
    TrustedSigner,
}

/// A column the guest may reach.
#[derive(Debug, Clone)]
pub struct VisibleColumn {
    /// Index in the dataset schema.
    pub index: usize,
    /// Its type.
    pub column_type: ColumnType,
    /// What the policy allows.
    pub rule: ColumnRule,
}

/// A dataset with the policy that governs it.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The dataset.
    pub dataset: Dataset,
    /// Its release policy.
    pub policy: Policy,
}

impl Grant {
    /// The dataset's name.
    pub fn name(&self) -> &str {
        &self.dataset.name
    }

    /// Looks a column up as the guest may see it: `none` columns and columns
    /// the file lacks are both "not found".
    pub fn column(&self, name: &str) -> Result<VisibleColumn, Refusal> {
        let rule = self.policy.rule(name);
        match (self.dataset.column(name), rule.access) {
            (Some((index, column_type)), Access::Raw | Access::Aggregate) => Ok(VisibleColumn {
                index,
                column_type,
                rule,
            }),
            _ => Err(Refusal::not_found(format!(
                "dataset `{}` has no column `{name}` visible to this module",
                self.name()
            ))
            .public(format!(
                "dataset `{}` has no column of the name the module asked for that is visible to it",
                self.name()
            ))),
        }
    }

    /// A column the guest wants to scan: it must be `raw`.
    pub fn raw_column(&self, name: &str) -> Result<VisibleColumn, Refusal> {
        let column = self.column(name)?;
        if column.rule.access != Access::Raw {
            return Err(Refusal::not_permitted(format!(
                "column `{name}` of dataset `{}` is aggregate-only: use host aggregates, not a scan",
                self.name()
            )));
        }
        Ok(column)
    }

    /// The dataset as a guest of `tier` may see it: a trusted-signer guest
    /// sees raw columns as aggregate-only.
    pub fn info(&self, tier: Tier) -> DatasetInfo {
        let columns = self
            .dataset
            .schema
            .fields()
            .iter()
            .filter_map(|f| {
                let c = self.column(f.name()).ok()?;
                Some(ColumnInfo {
                    name: f.name().clone(),
                    type_: wit_type(c.column_type, f.data_type()),
                    access: if c.rule.access == Access::Raw && tier == Tier::Approved {
                        WitAccess::Raw
                    } else {
                        WitAccess::Aggregate
                    },
                    group_key: c.rule.group_key,
                })
            })
            .collect();
        DatasetInfo {
            name: self.name().to_string(),
            columns,
        }
    }
}

/// The WIT type of a column of Sluice type `t` stored as `stored`.
fn wit_type(t: ColumnType, stored: &DataType) -> WitType {
    match t {
        ColumnType::Int64 => WitType::Int64,
        ColumnType::Float64 => WitType::Float64,
        ColumnType::Boolean => WitType::Boolean,
        ColumnType::Utf8 => WitType::Utf8,
        ColumnType::Date => WitType::Date,
        ColumnType::Timestamp => {
            let (unit, zone) = timestamp_of(stored).unwrap_or((TimeUnit::Microsecond, None));
            WitType::Timestamp(TimestampType {
                unit: match unit {
                    TimeUnit::Second => WitUnit::Second,
                    TimeUnit::Millisecond => WitUnit::Millisecond,
                    TimeUnit::Microsecond => WitUnit::Microsecond,
                    TimeUnit::Nanosecond => WitUnit::Nanosecond,
                },
                zone: zone.map(str::to_owned),
            })
        }
    }
}
