//! Checks a query against the policy before any data is read, and turns it
//! into a plan: the value column, its functions and clamp, the group keys
//! with their bins and public key sets, and how differential privacy will
//! release it.
//!
//! Defends against queries shaped to isolate people: functions the column
//! does not allow (an exact `max` is one person's value), bins the owner did
//! not list (a bin edge moved by one row), clamps the buyer chose on exact
//! aggregates (two sums clamped just apart give the largest value), group
//! keys that are not keys, and, under `[privacy]`, key sets that would
//! reveal who is in the data.
//! Refusals never echo numbers the guest sent (see [`crate::refusal`]).

use sluice_host_api::aggregates::{AggregateFn, Query};

use super::MAX_GROUPS;
use crate::data::ColumnType;
use crate::grant::{Grant, Tier, VisibleColumn};
use crate::policy::{Access, Function, Functions, KeySet};
use crate::refusal::Refusal;

/// Most functions one query may ask for.
pub const MAX_FUNCTIONS: usize = 16;
/// Most group keys one query may have.
pub const MAX_KEYS: usize = 8;

/// The column the functions apply to.
#[derive(Debug, Clone)]
pub(super) struct Value {
    pub(super) name: String,
    pub(super) column: VisibleColumn,
}

/// How one group key's values become key parts.
#[derive(Debug, Clone)]
pub(super) struct Key {
    pub(super) name: String,
    pub(super) column: VisibleColumn,
    /// `(width, origin)` when binned.
    pub(super) bin: Option<(f64, f64)>,
    /// Under `[privacy]`: the public key set, if the policy declares one.
    pub(super) public: Option<Public>,
}

/// A public key set, as the aggregate enumerates it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Public {
    /// Exactly these rendered values.
    Listed(Vec<String>),
    /// Every value the column has (the owner declared them public).
    AllValues,
    /// Bins `first..=last` covering the column's bounds (values are
    /// clamped to the bounds first).
    Bins {
        first: i64,
        last: i64,
        bounds: (f64, f64),
    },
}

/// How a differentially private query releases its keys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum KeyRelease {
    /// Every key is public: release the cross product of the key sets.
    Public,
    /// Select keys privately with this δ.
    Select { delta: f64 },
}

/// Differential privacy for this query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Private {
    pub(super) epsilon: f64,
    pub(super) keys: KeyRelease,
}

/// A checked query.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) value: Option<Value>,
    pub(super) functions: Vec<AggregateFn>,
    /// Values are clamped to this (query clamp within the policy bounds).
    pub(super) clamp: Option<(f64, f64)>,
    pub(super) keys: Vec<Key>,
    /// Whether groups keep their values (for quantiles, minima, maxima).
    pub(super) wants_values: bool,
    pub(super) private: Option<Private>,
}

/// Checks `query` over `grant` for a module of `tier`.
pub(super) fn plan(grant: &Grant, tier: Tier, query: &Query) -> Result<Plan, Refusal> {
    if query.functions.is_empty() {
        return Err(Refusal::invalid("aggregate query asks for no functions"));
    }
    if query.functions.len() > MAX_FUNCTIONS || query.group_by.len() > MAX_KEYS {
        return Err(Refusal::invalid(format!(
            "an aggregate query may ask for at most {MAX_FUNCTIONS} functions and {MAX_KEYS} group keys"
        )));
    }
    let value = query
        .column
        .as_deref()
        .map(|name| {
            grant.column(name).map(|column| Value {
                name: name.to_string(),
                column,
            })
        })
        .transpose()?;
    for f in &query.functions {
        check_function(grant, tier, f, value.as_ref())?;
    }
    let bounds = value.as_ref().and_then(|v| v.column.rule.bounds);
    let clamp = intersect(check_clamp(query)?, bounds);
    let private = grant.policy.privacy.as_ref();
    if private.is_none() && clamp != bounds {
        // Sums of one group under two clamps differ by what lies between
        // them: clamping just under the largest value reveals that value.
        return Err(Refusal::not_permitted(format!(
            "exact aggregates over dataset `{}` clamp values only to the policy's `bounds` for the column; a narrower clamp is available only under differential privacy",
            grant.name()
        )));
    }
    let keys = query
        .group_by
        .iter()
        .map(|k| key(grant, &k.column, k.bin_width, private.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let wants_values = query.functions.iter().any(|f| {
        matches!(
            f,
            AggregateFn::Min | AggregateFn::Max | AggregateFn::Quantile(_)
        )
    });
    let private = match private {
        None => None,
        Some(rules) => Some(private_plan(
            grant,
            query,
            clamp,
            &keys,
            rules.epsilon_per_query,
            rules.delta,
        )?),
    };
    Ok(Plan {
        value,
        functions: query.functions.clone(),
        clamp,
        keys,
        wants_values,
        private,
    })
}

fn check_function(
    grant: &Grant,
    tier: Tier,
    f: &AggregateFn,
    value: Option<&Value>,
) -> Result<(), Refusal> {
    let function = Function::of(f);
    let Some(v) = value else {
        if function == Function::Count {
            return Ok(());
        }
        return Err(Refusal::invalid(format!(
            "{} needs a column; only count works without one",
            function.name()
        )));
    };
    if let AggregateFn::Quantile(q) = f
        && !(0.0..=1.0).contains(q)
    {
        return Err(Refusal::invalid(
            "a quantile must be between 0 and 1 (0.5 is the median)",
        ));
    }
    let holds = match v.column.column_type {
        ColumnType::Utf8 => Some("strings"),
        ColumnType::Date => Some("dates"),
        ColumnType::Timestamp => Some("timestamps"),
        ColumnType::Int64 | ColumnType::Float64 | ColumnType::Boolean => None,
    };
    if let Some(holds) = holds.filter(|_| function != Function::Count) {
        return Err(Refusal::invalid(format!(
            "{} needs a numeric column; `{}` holds {holds} (count works on any column; group by a date or timestamp column instead)",
            function.name(),
            v.name
        )));
    }
    // An approved module may scan a raw column, so nothing is gained by
    // restricting what the host computes over it.
    let allowed = if tier == Tier::Approved && v.column.rule.access == Access::Raw {
        Functions::all()
    } else {
        v.column.rule.functions
    };
    if !allowed.allows(function) {
        let names = allowed.names();
        return Err(Refusal::not_permitted(format!(
            "{} is not allowed on column `{}` of dataset `{}`; the policy allows {}",
            function.name(),
            v.name,
            grant.name(),
            if names.is_empty() {
                "no functions on it".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    Ok(())
}

fn check_clamp(query: &Query) -> Result<Option<(f64, f64)>, Refusal> {
    match &query.clamp {
        None => Ok(None),
        Some(b) if b.lower.is_finite() && b.upper.is_finite() && b.lower <= b.upper => {
            Ok(Some((b.lower, b.upper)))
        }
        Some(_) => Err(Refusal::invalid(
            "clamp bounds must be finite numbers with lower <= upper",
        )),
    }
}

/// The query's clamp within the policy's bounds for the column.
fn intersect(query: Option<(f64, f64)>, policy: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (query, policy) {
        (Some((a, b)), Some((lo, hi))) => Some((a.clamp(lo, hi), b.clamp(lo, hi))),
        (q, p) => q.or(p),
    }
}

fn key(grant: &Grant, name: &str, width: Option<f64>, private: bool) -> Result<Key, Refusal> {
    let column = grant.column(name)?;
    let rule = &column.rule;
    if !rule.group_key {
        return Err(Refusal::not_permitted(format!(
            "column `{name}` of dataset `{}` is not a permitted group-by key",
            grant.name()
        )));
    }
    let bin = match width {
        None => None,
        Some(_) if matches!(column.column_type, ColumnType::Date | ColumnType::Timestamp) => {
            return Err(Refusal::not_permitted(format!(
                "column `{name}` of dataset `{}` holds {}s, which host aggregates group by their value and do not bin; only int64 and float64 columns are binned",
                grant.name(),
                column.column_type
            )));
        }
        Some(w) => {
            let numeric = matches!(column.column_type, ColumnType::Int64 | ColumnType::Float64);
            match &rule.bins {
                Some(bins) if numeric && bins.allows(w) => Some((w, bins.origin)),
                Some(bins) if numeric => {
                    return Err(Refusal::not_permitted(format!(
                        "column `{name}` of dataset `{}` may be binned only at width {} (bins start at {}); other widths are refused",
                        grant.name(),
                        bins.listed(),
                        bins.origin
                    )));
                }
                _ => {
                    return Err(Refusal::not_permitted(format!(
                        "column `{name}` of dataset `{}` may not be binned: the policy lists no bin widths for it",
                        grant.name()
                    )));
                }
            }
        }
    };
    let public = if private {
        public_keys(rule.keys.as_ref(), bin, rule.bounds)?
    } else {
        None
    };
    Ok(Key {
        name: name.to_string(),
        column,
        bin,
        public,
    })
}

fn public_keys(
    keys: Option<&KeySet>,
    bin: Option<(f64, f64)>,
    bounds: Option<(f64, f64)>,
) -> Result<Option<Public>, Refusal> {
    Ok(match (bin, keys, bounds) {
        (Some((w, origin)), _, Some((lo, hi))) => {
            let first = ((lo - origin) / w).floor();
            let last = ((hi - origin) / w).floor();
            if last - first >= MAX_GROUPS as f64 {
                return Err(Refusal::limit_reached(format!(
                    "the policy's bounds hold more than {MAX_GROUPS} bins of that width; use a wider bin"
                )));
            }
            Some(Public::Bins {
                first: first as i64,
                last: last as i64,
                bounds: (lo, hi),
            })
        }
        (Some(_), _, None) => None,
        (None, Some(KeySet::Listed(l)), _) => Some(Public::Listed(l.clone())),
        (None, Some(KeySet::AllValues), _) => Some(Public::AllValues),
        (None, None, _) => None,
    })
}

fn needs_bounds(f: &AggregateFn) -> bool {
    !matches!(f, AggregateFn::Count)
}

fn private_plan(
    grant: &Grant,
    query: &Query,
    clamp: Option<(f64, f64)>,
    keys: &[Key],
    epsilon: f64,
    delta: Option<f64>,
) -> Result<Private, Refusal> {
    if clamp.is_none() && query.functions.iter().any(needs_bounds) {
        return Err(Refusal::invalid(
            "under differential privacy, sum, mean, min, max and quantiles need bounds, from the query's clamp or the policy's `bounds` (the noise is calibrated to them)",
        ));
    }
    let keys = if keys.iter().all(|k| k.public.is_some()) {
        KeyRelease::Public
    } else if let Some(delta) = delta {
        KeyRelease::Select { delta }
    } else {
        let private: Vec<&str> = keys
            .iter()
            .filter(|k| k.public.is_none())
            .map(|k| k.name.as_str())
            .collect();
        return Err(Refusal::not_permitted(format!(
            "under the differential privacy of dataset `{}`, group keys must be public (the policy's `keys`, or bins within `bounds`) unless the policy sets `privacy.delta` for private key selection; `{}` is not public",
            grant.name(),
            private.join("`, `")
        )));
    };
    Ok(Private { epsilon, keys })
}
