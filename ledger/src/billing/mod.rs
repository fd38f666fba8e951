//! Billing: exact decimal charges from an event's deterministic figures.
//!
//! The rule, for one run and one dataset's [`PriceSchedule`]:
//!
//! ```text
//! charge = per_run                      (not for denied runs: they never reached the sandbox)
//!        + per_million_fuel    × fuel_consumed / 1 000 000
//!        + per_mb_fed          × bytes_fed     / 1 000 000
//!        + per_kb_released     × output_bytes  / 1 000
//!        + per_aggregate_query × aggregate_queries
//! ```
//!
//! computed exactly in `rust_decimal` and rounded once, at the end, to
//! [`AMOUNT_DECIMALS`] (6) decimal places, half to even (banker's rounding).
//! Report totals add rounded charges, so a report always equals the sum of
//! the charges recorded in the events.
//!
//! What this guards against: bills nobody can check. Every figure used is in
//! the signed event, the prices are copied into the event's charge, and
//! [`recompute`] re-derives each charge from an exported ledger alone.

mod recompute;
mod report;

pub use recompute::{ChargeMismatch, Recomputed, recompute, recompute_export};
pub use report::{BillingReport, CurrencyTotal, GroupBy, ReportLine, report};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::event::RunEvent;

/// Decimal places of every charge (half-to-even rounding at the end).
pub const AMOUNT_DECIMALS: u32 = 6;

/// Prices from a policy version. Decimals are written as strings in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSchedule {
    /// ISO 4217 code or any unit the exchange bills in.
    pub currency: String,
    /// Per host aggregate query.
    pub per_aggregate_query: Decimal,
    /// Per thousand bytes (kB) of output released.
    pub per_kb_released: Decimal,
    /// Per million bytes (MB) fed to the guest.
    pub per_mb_fed: Decimal,
    /// Per million units of fuel consumed.
    pub per_million_fuel: Decimal,
    /// Per run that reached the sandbox.
    pub per_run: Decimal,
}

impl PriceSchedule {
    /// A schedule that charges nothing, in `currency`.
    pub fn free(currency: impl Into<String>) -> Self {
        PriceSchedule {
            currency: currency.into(),
            per_run: Decimal::ZERO,
            per_million_fuel: Decimal::ZERO,
            per_mb_fed: Decimal::ZERO,
            per_kb_released: Decimal::ZERO,
            per_aggregate_query: Decimal::ZERO,
        }
    }
}

/// One dataset's charge for one run, as recorded in the run event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// The charge, rounded to [`AMOUNT_DECIMALS`] places.
    pub amount: Decimal,
    /// Currency of `amount` (the schedule's).
    pub currency: String,
    /// Dataset whose policy set the prices.
    pub dataset: String,
    /// The prices applied.
    pub prices: PriceSchedule,
}

/// The figures a charge is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillableFigures {
    /// False for denied runs (no per-run price).
    pub reached_sandbox: bool,
    /// Fuel consumed (as recorded).
    pub fuel: u64,
    /// Bytes fed to the guest.
    pub bytes_fed: u64,
    /// Bytes released (0 unless released).
    pub output_bytes: u64,
    /// Host aggregate queries.
    pub aggregate_queries: u64,
}

impl BillableFigures {
    /// The figures of a run event.
    pub fn of_run(run: &RunEvent) -> Self {
        BillableFigures {
            reached_sandbox: run.decision != "denied",
            fuel: run.fuel_consumed,
            bytes_fed: run.bytes_fed,
            output_bytes: run.output_bytes.unwrap_or(0),
            aggregate_queries: run.aggregate_queries,
        }
    }
}

/// Why a charge could not be computed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BillingError {
    /// A product or sum does not fit a 96-bit decimal.
    #[error("the charge overflows exact decimal arithmetic; check the prices for absurd values")]
    Overflow,
    /// A period bound is not a timestamp.
    #[error("bad period bound: {0}")]
    BadPeriod(String),
    /// The export could not be read.
    #[error("cannot read the export: {0}")]
    Export(String),
}

impl BillingError {
    /// Stable code for callers that branch.
    pub fn code(&self) -> &'static str {
        match self {
            BillingError::Overflow => "billing.overflow",
            BillingError::BadPeriod(_) => "billing.bad-period",
            BillingError::Export(_) => "billing.bad-export",
        }
    }
}

/// The exact charge for `figures` under `prices`, rounded to 6 places half-to-even.
pub fn charge(prices: &PriceSchedule, figures: &BillableFigures) -> Result<Decimal, BillingError> {
    let per = |price: Decimal, amount: u64, unit: u64| -> Result<Decimal, BillingError> {
        let qty = Decimal::from(amount)
            .checked_div(Decimal::from(unit))
            .ok_or(BillingError::Overflow)?;
        price.checked_mul(qty).ok_or(BillingError::Overflow)
    };
    let parts = [
        if figures.reached_sandbox {
            prices.per_run
        } else {
            Decimal::ZERO
        },
        per(prices.per_million_fuel, figures.fuel, 1_000_000)?,
        per(prices.per_mb_fed, figures.bytes_fed, 1_000_000)?,
        per(prices.per_kb_released, figures.output_bytes, 1_000)?,
        per(prices.per_aggregate_query, figures.aggregate_queries, 1)?,
    ];
    let total = parts
        .iter()
        .try_fold(Decimal::ZERO, |acc, p| acc.checked_add(*p))
        .ok_or(BillingError::Overflow)?;
    Ok(round(total))
}

/// Rounds to [`AMOUNT_DECIMALS`] places, half to even.
pub fn round(amount: Decimal) -> Decimal {
    amount
        .round_dp_with_strategy(AMOUNT_DECIMALS, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

/// The charge line for one dataset of a run.
pub fn charge_for(
    dataset: &str,
    prices: &PriceSchedule,
    run: &RunEvent,
) -> Result<Charge, BillingError> {
    Ok(Charge {
        dataset: dataset.to_string(),
        currency: prices.currency.clone(),
        amount: charge(prices, &BillableFigures::of_run(run))?,
        prices: prices.clone(),
    })
}

#[cfg(test)]
mod tests;
