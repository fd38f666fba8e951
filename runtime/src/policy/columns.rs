//! What a policy says about one column beyond its access level: which host
//! aggregate functions it allows, the bins it may be grouped into, and the
//! public key set that differential privacy may release without selecting
//! keys privately.
//!
//! Defends against a buyer choosing the shape of a host aggregate to isolate
//! a person: exact minima and maxima (only where the owner lists them), bins
//! whose edges single out one row (only the widths the owner lists), and key
//! sets that reveal who is in the data (under `[privacy]`, keys are either
//! declared here or selected privately).

use serde::{Deserialize, Serialize};
use sluice_host_api::aggregates::AggregateFn;
use toml::Spanned;

use super::raw::Checker;
use super::{Access, ColumnRule};
use crate::data::ColumnType;
use crate::error::PolicyError;

/// A host aggregate function, as a policy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    /// Non-null values (or rows, without a column).
    Count,
    /// Sum of the clamped values.
    Sum,
    /// Mean of the clamped values.
    Mean,
    /// Smallest value: one person's value unless noised.
    Min,
    /// Largest value: one person's value unless noised.
    Max,
    /// Any quantile.
    Quantile,
}

impl Function {
    /// Every function, in the order the policy documentation lists them.
    pub const ALL: [Function; 6] = [
        Self::Count,
        Self::Sum,
        Self::Mean,
        Self::Min,
        Self::Max,
        Self::Quantile,
    ];

    /// The name a policy and a buyer write.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Mean => "mean",
            Self::Min => "min",
            Self::Max => "max",
            Self::Quantile => "quantile",
        }
    }

    /// The function a policy names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The policy function a query's function falls under.
    pub fn of(f: &AggregateFn) -> Self {
        match f {
            AggregateFn::Count => Self::Count,
            AggregateFn::Sum => Self::Sum,
            AggregateFn::Mean => Self::Mean,
            AggregateFn::Min => Self::Min,
            AggregateFn::Max => Self::Max,
            AggregateFn::Quantile(_) => Self::Quantile,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The host aggregate functions a column allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Functions(u8);

impl Default for Functions {
    /// `count`, `sum` and `mean`: figures over many rows. `min`, `max` and
    /// `quantile` return one row's value and must be listed explicitly.
    fn default() -> Self {
        Self::of(&[Function::Count, Function::Sum, Function::Mean])
    }
}

impl Functions {
    /// Exactly `functions`.
    pub fn of(functions: &[Function]) -> Self {
        Self(functions.iter().fold(0, |bits, f| bits | f.bit()))
    }

    /// Every function (what an approved module may ask of a raw column it
    /// could scan anyway).
    pub fn all() -> Self {
        Self::of(&Function::ALL)
    }

    /// Whether `f` is allowed.
    pub fn allows(self, f: Function) -> bool {
        self.0 & f.bit() != 0
    }

    /// The allowed functions' names, in documentation order.
    pub fn names(self) -> Vec<&'static str> {
        Function::ALL
            .into_iter()
            .filter(|f| self.allows(*f))
            .map(Function::name)
            .collect()
    }
}

impl Serialize for Functions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

/// The bins a numeric group key may be cut into: `[origin + k·w, origin +
/// (k+1)·w)` for one of the listed widths `w`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bins {
    /// The widths the owner allows.
    pub widths: Vec<f64>,
    /// Where bin edges start (default 0).
    pub origin: f64,
}

impl Bins {
    /// Whether `width` is one of the allowed widths (exactly: a width that
    /// differs in the last bit would move every edge).
    pub fn allows(&self, width: f64) -> bool {
        self.widths.contains(&width)
    }

    /// The allowed widths as a buyer would write them: `10, 5`.
    pub fn listed(&self) -> String {
        self.widths
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Group keys the owner declares public: under differential privacy they are
/// released whether or not (and however often) they occur in the data, so
/// their presence in a result says nothing about anyone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySet {
    /// Exactly these values (as results render them: `"F"`, `"3"`,
    /// `"true"`); rows with any other value, or null, are left out of
    /// differentially private aggregates grouped by this column.
    Listed(Vec<String>),
    /// Every value of this `raw` column: the owner declares the column's
    /// value set public (region names, product names).
    AllValues,
}

/// Most values a listed key set may hold.
pub const MAX_LISTED_KEYS: usize = 10_000;

/// A column as written: an access level, or a table with options.
pub(super) enum RawColumn {
    Access(Access),
    Table(Box<RawColumnTable>),
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
                f.write_str("\"raw\", \"aggregate\", \"none\" or a table { access = ..., group_key = ..., type = ... }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawColumn, E> {
                Access::deserialize(v.into_deserializer()).map(RawColumn::Access)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawColumn, A::Error> {
                RawColumnTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| RawColumn::Table(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawColumnTable {
    access: Access,
    group_key: Option<bool>,
    #[serde(rename = "type")]
    declared: Option<ColumnType>,
    bounds: Option<Spanned<[f64; 2]>>,
    functions: Option<Spanned<Vec<String>>>,
    bins: Option<Spanned<Vec<f64>>>,
    bin_origin: Option<Spanned<f64>>,
    keys: Option<Spanned<toml::Value>>,
}

/// Largest bin width or origin a policy may state.
const MAX_BIN: f64 = 1e15;

/// Validates one column as written into its rule.
pub(super) fn column_rule(
    c: &Checker,
    name: &Spanned<String>,
    col: RawColumn,
) -> Result<ColumnRule, PolicyError> {
    let t = match col {
        RawColumn::Access(access) => {
            return Ok(ColumnRule {
                access,
                group_key: access == Access::Raw,
                ..ColumnRule::default()
            });
        }
        RawColumn::Table(t) => *t,
    };
    let group_key = t.group_key.unwrap_or(t.access == Access::Raw) && t.access != Access::None;
    let key = |k: &str| format!("columns.{}.{k}", name.get_ref());
    let bounds = match t.bounds {
        None => None,
        Some(b) => {
            let [lo, hi] = *b.get_ref();
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                let message = format!(
                    "[{lo}, {hi}] is not a range; expected two finite numbers, lower first"
                );
                return c.fail(&key("bounds"), b.span().start, message);
            }
            Some((lo, hi))
        }
    };
    let functions = match t.functions {
        None => Functions::default(),
        Some(list) => functions(c, &key("functions"), &list)?,
    };
    if let Some(o) = &t.bin_origin
        && t.bins.is_none()
    {
        let message = "a bin origin needs `bins` (the widths the column may be binned at)".into();
        return c.fail(&key("bin_origin"), o.span().start, message);
    }
    let bins = match t.bins {
        None => None,
        Some(widths) => Some(bins(c, &key, group_key, &widths, t.bin_origin.as_ref())?),
    };
    let keys = match t.keys {
        None => None,
        Some(v) => Some(keys(c, &key("keys"), t.access, group_key, &v)?),
    };
    Ok(ColumnRule {
        access: t.access,
        group_key,
        declared: t.declared,
        bounds,
        functions,
        bins,
        keys,
    })
}

fn functions(
    c: &Checker,
    key: &str,
    list: &Spanned<Vec<String>>,
) -> Result<Functions, PolicyError> {
    let mut found = Vec::new();
    for name in list.get_ref() {
        match Function::parse(name) {
            Some(f) if !found.contains(&f) => found.push(f),
            Some(_) => {
                return c.fail(key, list.span().start, format!("`{name}` is listed twice"));
            }
            None => {
                let message = format!(
                    "`{name}` is not a host aggregate function; expected some of {}",
                    Function::ALL.map(Function::name).join(", ")
                );
                return c.fail(key, list.span().start, message);
            }
        }
    }
    Ok(Functions::of(&found))
}

fn bins(
    c: &Checker,
    key: &dyn Fn(&str) -> String,
    group_key: bool,
    widths: &Spanned<Vec<f64>>,
    origin: Option<&Spanned<f64>>,
) -> Result<Bins, PolicyError> {
    let at = widths.span().start;
    if !group_key {
        let message = "bins are group keys, but this column is not a group key; set `group_key = true` or remove `bins`".into();
        return c.fail(&key("bins"), at, message);
    }
    if widths.get_ref().is_empty() {
        let message = "an empty list allows no binning; remove `bins` instead".into();
        return c.fail(&key("bins"), at, message);
    }
    if let Some(w) = widths
        .get_ref()
        .iter()
        .find(|w| !(w.is_finite() && **w > 0.0 && **w <= MAX_BIN))
    {
        let message = format!("{w} is not a bin width; expected more than 0 and at most {MAX_BIN}");
        return c.fail(&key("bins"), at, message);
    }
    let origin = match origin {
        None => 0.0,
        Some(o) if o.get_ref().is_finite() && o.get_ref().abs() <= MAX_BIN => *o.get_ref(),
        Some(o) => {
            let message = format!(
                "{} is not a bin origin; expected a number from -{MAX_BIN} to {MAX_BIN}",
                o.get_ref()
            );
            return c.fail(&key("bin_origin"), o.span().start, message);
        }
    };
    Ok(Bins {
        widths: widths.get_ref().clone(),
        origin,
    })
}

fn keys(
    c: &Checker,
    key: &str,
    access: Access,
    group_key: bool,
    v: &Spanned<toml::Value>,
) -> Result<KeySet, PolicyError> {
    let at = v.span().start;
    if !group_key {
        let message =
            "a key set is for group keys, but this column is not one; set `group_key = true`"
                .into();
        return c.fail(key, at, message);
    }
    match v.get_ref() {
        toml::Value::String(s) if s == "all" => {
            if access != Access::Raw {
                let message = "`keys = \"all\"` declares every value of a raw column public; this column is not raw, so list its public keys instead".into();
                return c.fail(key, at, message);
            }
            Ok(KeySet::AllValues)
        }
        toml::Value::Array(items) => {
            let mut listed = Vec::with_capacity(items.len());
            for item in items {
                let Some(s) = item.as_str() else {
                    let message = format!(
                        "{item} is not a key; list keys as strings, as results show them (\"F\", \"3\", \"true\")"
                    );
                    return c.fail(key, at, message);
                };
                if listed.iter().any(|k| k == s) {
                    return c.fail(key, at, format!("\"{s}\" is listed twice"));
                }
                listed.push(s.to_string());
            }
            if listed.is_empty() || listed.len() > MAX_LISTED_KEYS {
                let message = format!("expected 1 to {MAX_LISTED_KEYS} keys");
                return c.fail(key, at, message);
            }
            Ok(KeySet::Listed(listed))
        }
        other => {
            let message = format!(
                "{other} is not a key set; expected a list of strings or \"all\" (every value of a raw column)"
            );
            c.fail(key, at, message)
        }
    }
}
