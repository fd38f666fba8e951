//! Billing reports: charges grouped by buyer or dataset over a period, as JSON or CSV.
//!
//! What this guards against: reports that disagree with the ledger. A report
//! is a pure function of the events (it reads the recorded charges and
//! figures, never a price list from elsewhere), its lines are sorted, and its
//! amounts are sums of recorded, already-rounded charges.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::BillingError;
use crate::event::{Envelope, RunEvent};
use crate::time::normalise_bound;

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// The buyer's key id (or public key; `unsigned` when none).
    Buyer,
    /// The dataset whose prices applied.
    Dataset,
}

/// One group in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    /// Buyer or dataset.
    pub key: String,
    /// Currency of `amount`.
    pub currency: String,
    /// Run attempts, denied ones included.
    pub runs: u64,
    /// Of those, denied.
    pub denied: u64,
    /// Fuel consumed.
    pub fuel: u64,
    /// Bytes fed.
    pub bytes_fed: u64,
    /// Bytes released.
    pub bytes_released: u64,
    /// Host aggregate queries.
    pub aggregate_queries: u64,
    /// Sum of recorded charges.
    pub amount: Decimal,
}

/// Total per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyTotal {
    /// Currency.
    pub currency: String,
    /// Sum of the lines' amounts.
    pub amount: Decimal,
}

/// A billing report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingReport {
    /// Grouping.
    pub group_by: GroupBy,
    /// Inclusive start of the period, if any.
    pub from: Option<String>,
    /// Exclusive end of the period, if any.
    pub to: Option<String>,
    /// Lines sorted by key, then currency.
    pub lines: Vec<ReportLine>,
    /// Totals sorted by currency.
    pub totals: Vec<CurrencyTotal>,
}

/// Builds the report of the run events in `[from, to)` (bounds are
/// `YYYY-MM-DD` or full timestamps; `None` is open).
pub fn report<'a>(
    events: impl IntoIterator<Item = &'a Envelope>,
    group_by: GroupBy,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<BillingReport, BillingError> {
    let from = from
        .map(normalise_bound)
        .transpose()
        .map_err(BillingError::BadPeriod)?;
    let to = to
        .map(normalise_bound)
        .transpose()
        .map_err(BillingError::BadPeriod)?;
    let mut lines: BTreeMap<(String, String), ReportLine> = BTreeMap::new();
    for env in events {
        let in_period = from.as_deref().is_none_or(|f| env.time.as_str() >= f)
            && to.as_deref().is_none_or(|t| env.time.as_str() < t);
        if let (Some(run), true) = (env.run(), in_period) {
            add_run(&mut lines, group_by, run)?;
        }
    }
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for line in lines.values() {
        let t = totals.entry(line.currency.clone()).or_default();
        *t = t.checked_add(line.amount).ok_or(BillingError::Overflow)?;
    }
    Ok(BillingReport {
        group_by,
        from,
        to,
        lines: lines.into_values().collect(),
        totals: totals
            .into_iter()
            .map(|(currency, amount)| CurrencyTotal { currency, amount })
            .collect(),
    })
}

fn buyer_key(run: &RunEvent) -> String {
    run.buyer_key_id
        .clone()
        .or_else(|| run.buyer.clone())
        .unwrap_or_else(|| "unsigned".into())
}

fn add_run(
    lines: &mut BTreeMap<(String, String), ReportLine>,
    group_by: GroupBy,
    run: &RunEvent,
) -> Result<(), BillingError> {
    let mut touched = BTreeSet::new();
    for c in &run.charges {
        let key = match group_by {
            GroupBy::Buyer => buyer_key(run),
            GroupBy::Dataset => c.dataset.clone(),
        };
        let id = (key.clone(), c.currency.clone());
        let line = lines
            .entry(id.clone())
            .or_insert_with(|| empty_line(key, c.currency.clone()));
        line.amount = line
            .amount
            .checked_add(c.amount)
            .ok_or(BillingError::Overflow)?;
        if touched.insert(id) {
            add_figures(line, run);
        }
    }
    Ok(())
}

fn empty_line(key: String, currency: String) -> ReportLine {
    ReportLine {
        key,
        currency,
        runs: 0,
        denied: 0,
        fuel: 0,
        bytes_fed: 0,
        bytes_released: 0,
        aggregate_queries: 0,
        amount: Decimal::ZERO,
    }
}

fn add_figures(line: &mut ReportLine, run: &RunEvent) {
    line.runs += 1;
    line.denied += u64::from(run.decision == "denied");
    line.fuel = line.fuel.saturating_add(run.fuel_consumed);
    line.bytes_fed = line.bytes_fed.saturating_add(run.bytes_fed);
    line.bytes_released = line
        .bytes_released
        .saturating_add(run.output_bytes.unwrap_or(0));
    line.aggregate_queries = line.aggregate_queries.saturating_add(run.aggregate_queries);
}

impl BillingReport {
    /// The report as pretty JSON (amounts as decimal strings).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// The report as CSV (RFC 4180): a header, one row per line, then one
    /// `TOTAL` row per currency.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "key,currency,runs,denied,fuel,bytes_fed,bytes_released,aggregate_queries,amount\r\n",
        );
        for l in &self.lines {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\r\n",
                csv_field(&l.key),
                csv_field(&l.currency),
                l.runs,
                l.denied,
                l.fuel,
                l.bytes_fed,
                l.bytes_released,
                l.aggregate_queries,
                l.amount
            ));
        }
        for t in &self.totals {
            out.push_str(&format!(
                "TOTAL,{},,,,,,,{}\r\n",
                csv_field(&t.currency),
                t.amount
            ));
        }
        out
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break, and
/// defuses spreadsheet formulas (a leading `=`, `+`, `-` or `@`).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
