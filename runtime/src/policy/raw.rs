//! The policy file as written (serde structures mirroring the TOML) and its
//! validation into a [`Policy`]. Every check names the dotted key and the
//! line, because the owner fixes the file, not the program.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

use super::columns::{RawColumn, column_rule};
use super::time::unix_seconds;
use super::{Approval, FuelRounding, Limits, Policy, Prices, PrivacyRules, Rounding, valid_name};
use crate::error::PolicyError;

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    dataset: Spanned<String>,
    version: Option<Spanned<i64>>,
    owner: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, RawColumn>,
    #[serde(default)]
    approvals: Vec<RawApproval>,
    #[serde(default)]
    trusted_signers: Vec<RawSigner>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    release: RawRelease,
    privacy: Option<RawPrivacy>,
    #[serde(default)]
    prices: RawPrices,
    csv: Option<super::csv::RawCsv>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    module: Spanned<String>,
    expires: Option<Spanned<Datetime>>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner {
    key: Spanned<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

type Num = Option<Spanned<i64>>;
type Real = Option<Spanned<f64>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    fuel: Num,
    memory_mb: Num,
    wall_ms: Num,
    log_bytes: Num,
    batch_rows: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    output_rows: Num,
    output_bytes: Num,
    min_group_size: Num,
    raw_values_in_output: Option<bool>,
    round_fuel: Option<Spanned<toml::Value>>,
    round_wall_ms: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    epsilon_per_query: Spanned<f64>,
    budget: Spanned<f64>,
    refresh_days: Num,
    delta: Real,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrices {
    currency: Option<String>,
    per_run: Real,
    per_million_fuel: Real,
    per_mb_fed: Real,
    per_kb_released: Real,
    per_aggregate_query: Real,
}

/// Checks values against ranges and reports the key and line of a bad one.
pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
}

impl Checker<'_> {
    pub(super) fn fail<T>(
        &self,
        key: &str,
        offset: usize,
        message: String,
    ) -> Result<T, PolicyError> {
        Err(PolicyError::Value {
            key: key.to_string(),
            line: line_of(self.text, offset),
            message,
        })
    }

    pub(super) fn int(
        &self,
        key: &str,
        value: &Num,
        range: Range<i64>,
        default: u64,
    ) -> Result<u64, PolicyError> {
        let Some(v) = value else { return Ok(default) };
        let n = *v.get_ref();
        if range.contains(&n) {
            return Ok(n as u64);
        }
        let message = if range.end == i64::MAX {
            format!("{n} is out of range; expected {} or more", range.start)
        } else {
            format!(
                "{n} is out of range; expected {} to {}",
                range.start,
                range.end - 1
            )
        };
        self.fail(key, v.span().start, message)
    }

    pub(super) fn positive(
        &self,
        key: &str,
        v: &Spanned<f64>,
        max: f64,
    ) -> Result<f64, PolicyError> {
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 && x <= max {
            return Ok(x);
        }
        self.fail(
            key,
            v.span().start,
            format!("{x} is out of range; expected more than 0 and at most {max}"),
        )
    }

    fn price(&self, key: &str, value: &Real) -> Result<u64, PolicyError> {
        let Some(v) = value else { return Ok(0) };
        let x = *v.get_ref();
        if x.is_finite() && (0.0..=1e9).contains(&x) {
            return Ok((x * 1e6).round() as u64);
        }
        self.fail(
            key,
            v.span().start,
            format!("{x} is not a price; expected 0 to 1000000000"),
        )
    }
}

/// Parses and validates policy text (the caller sets the hash).
pub(super) fn parse(text: &str) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Syntax {
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    raw.validate(&Checker { text })
}

impl RawPolicy {
    fn validate(self, c: &Checker) -> Result<Policy, PolicyError> {
        let limits = limits(c, &self.limits, &self.release)?;
        let min_group_size = c.int(
            "release.min_group_size",
            &self.release.min_group_size,
            1..i64::MAX,
            10,
        )?;
        let version = c.int("version", &self.version, 1..i64::MAX, 1)?;
        if !valid_name(self.dataset.get_ref()) {
            let message = format!(
                "{:?} is not a valid dataset name; use letters, digits, '_' and '-'",
                self.dataset.get_ref()
            );
            return c.fail("dataset", self.dataset.span().start, message);
        }
        let owner = self.owner.map(|o| public_key(c, "owner", o)).transpose()?;
        let trusted_signers = self
            .trusted_signers
            .into_iter()
            .map(|s| public_key(c, "trusted_signers.key", s.key))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            dataset: self.dataset.into_inner(),
            version,
            owner,
            description: self.description,
            columns: self
                .columns
                .into_iter()
                .map(|(n, col)| Ok((n.get_ref().clone(), column_rule(c, &n, col)?)))
                .collect::<Result<_, PolicyError>>()?,
            approvals: self
                .approvals
                .into_iter()
                .map(|a| approval(c, a))
                .collect::<Result<_, _>>()?,
            trusted_signers,
            limits,
            min_group_size,
            rounding: rounding(c, &self.release)?,
            raw_values_in_output: self.release.raw_values_in_output.unwrap_or(true),
            privacy: self.privacy.map(|p| privacy(c, p)).transpose()?,
            prices: prices(c, self.prices)?,
            csv: super::csv::csv_options(c.text, self.csv)?,
            hash: String::new(),
        })
    }
}

/// A public key as written in the policy, checked and normalised to hex.
fn public_key(c: &Checker, key: &str, s: Spanned<String>) -> Result<String, PolicyError> {
    match crate::signing::PublicKey::parse(s.get_ref().trim()) {
        Ok(k) => Ok(k.to_hex()),
        Err(e) => c.fail(key, s.span().start, format!("not a public key: {e}")),
    }
}

fn limits(c: &Checker, l: &RawLimits, r: &RawRelease) -> Result<Limits, PolicyError> {
    let d = Limits::default();
    Ok(Limits {
        fuel: c.int("limits.fuel", &l.fuel, 1..i64::MAX, d.fuel)?,
        memory_bytes: c.int(
            "limits.memory_mb",
            &l.memory_mb,
            1..65_537,
            d.memory_bytes >> 20,
        )? << 20,
        wall_ms: c.int("limits.wall_ms", &l.wall_ms, 1..86_400_001, d.wall_ms)?,
        log_bytes: c.int("limits.log_bytes", &l.log_bytes, 0..(1 << 30), d.log_bytes)?,
        batch_rows: c.int(
            "limits.batch_rows",
            &l.batch_rows,
            1..(1 << 24),
            d.batch_rows.into(),
        )? as u32,
        output_rows: c.int(
            "release.output_rows",
            &r.output_rows,
            0..i64::MAX,
            d.output_rows,
        )?,
        output_bytes: c.int(
            "release.output_bytes",
            &r.output_bytes,
            0..i64::MAX,
            d.output_bytes,
        )?,
    })
}

fn approval(c: &Checker, a: RawApproval) -> Result<Approval, PolicyError> {
    let module = a.module.get_ref();
    if module.len() != 64
        || !module
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        let message =
            format!("{module:?} is not a module hash; expected 64 lowercase hex digits (SHA-256)");
        return c.fail("approvals.module", a.module.span().start, message);
    }
    let expires = match a.expires {
        None => None,
        Some(e) => match unix_seconds(e.get_ref()) {
            Ok(s) => Some(s),
            Err(m) => return c.fail("approvals.expires", e.span().start, m.to_string()),
        },
    };
    Ok(Approval {
        module: a.module.into_inner(),
        expires,
        note: a.note,
    })
}

fn privacy(c: &Checker, p: RawPrivacy) -> Result<PrivacyRules, PolicyError> {
    let epsilon_per_query = c.positive("privacy.epsilon_per_query", &p.epsilon_per_query, 100.0)?;
    let budget = c.positive("privacy.budget", &p.budget, 10_000.0)?;
    if epsilon_per_query > budget {
        let message = format!(
            "{budget} is smaller than epsilon_per_query ({epsilon_per_query}): no query could ever run"
        );
        return c.fail("privacy.budget", p.budget.span().start, message);
    }
    let days = c.int("privacy.refresh_days", &p.refresh_days, 1..36_501, 0)?;
    let delta = p
        .delta
        .as_ref()
        .map(|d| c.positive("privacy.delta", d, MAX_DELTA))
        .transpose()?;
    Ok(PrivacyRules {
        epsilon_per_query,
        budget,
        refresh_seconds: (days > 0).then_some(days * 86_400),
        delta,
    })
}

/// Largest δ a policy may state: partition selection with a larger one
/// would release single people's keys too often to be called private.
const MAX_DELTA: f64 = 1e-3;

fn rounding(c: &Checker, r: &RawRelease) -> Result<Rounding, PolicyError> {
    let d = Rounding::default();
    let fuel = match &r.round_fuel {
        None => d.fuel,
        Some(v) => match v.get_ref() {
            toml::Value::String(s) if s == "power-of-two" => FuelRounding::PowerOfTwo,
            toml::Value::Integer(n) if *n >= 1 => FuelRounding::Multiple(*n as u64),
            other => {
                let message = format!(
                    "{other} is not a fuel rounding; expected \"power-of-two\" or a positive integer (round up to a multiple of it)"
                );
                return c.fail("release.round_fuel", v.span().start, message);
            }
        },
    };
    let wall_ms = c.int(
        "release.round_wall_ms",
        &r.round_wall_ms,
        1..86_400_001,
        d.wall_ms,
    )?;
    Ok(Rounding { fuel, wall_ms })
}

fn prices(c: &Checker, p: RawPrices) -> Result<Prices, PolicyError> {
    Ok(Prices {
        currency: p.currency.unwrap_or_else(|| "EUR".into()),
        per_run: c.price("prices.per_run", &p.per_run)?,
        per_million_fuel: c.price("prices.per_million_fuel", &p.per_million_fuel)?,
        per_mb_fed: c.price("prices.per_mb_fed", &p.per_mb_fed)?,
        per_kb_released: c.price("prices.per_kb_released", &p.per_kb_released)?,
        per_aggregate_query: c.price("prices.per_aggregate_query", &p.per_aggregate_query)?,
    })
}
