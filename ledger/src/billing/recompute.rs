//! Recomputing every recorded charge from the events alone.
//!
//! What this guards against: a node that billed more (or less) than its own
//! prices say. For each run event, each recorded charge is recomputed from the
//! prices recorded with it and the event's figures; any difference, or a
//! currency that is not the schedule's, is listed. Works on an exported JSON
//! Lines file, so the exchange needs nothing from the node but the export.

use std::io::BufRead;

use rust_decimal::Decimal;
use serde::Serialize;

use super::{BillableFigures, BillingError, BillingReport, GroupBy, charge, report};
use crate::event::Envelope;

/// A recorded charge that is not what the prices give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargeMismatch {
    /// The event (and idempotency) id.
    pub event_id: String,
    /// Ledger index.
    pub index: u64,
    /// Dataset of the charge.
    pub dataset: String,
    /// Amount recorded.
    pub recorded: Decimal,
    /// Amount recomputed (zero when the currency was wrong).
    pub recomputed: Decimal,
    /// What is wrong.
    pub problem: String,
}

/// The result of a recomputation: the report and every mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recomputed {
    /// The report built from the events.
    pub report: BillingReport,
    /// Charges that did not recompute (empty when the bill checks out).
    pub mismatches: Vec<ChargeMismatch>,
}

/// Checks every recorded charge in `events` and builds the report.
pub fn recompute(
    events: &[Envelope],
    group_by: GroupBy,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Recomputed, BillingError> {
    let mut mismatches = Vec::new();
    for env in events {
        let Some(run) = env.run() else { continue };
        let figures = BillableFigures::of_run(run);
        for c in &run.charges {
            let mismatch = |recomputed, problem: String| ChargeMismatch {
                event_id: env.id.clone(),
                index: env.sequence,
                dataset: c.dataset.clone(),
                recorded: c.amount,
                recomputed,
                problem,
            };
            if c.currency != c.prices.currency {
                mismatches.push(mismatch(
                    Decimal::ZERO,
                    format!(
                        "charged in {} but priced in {}",
                        c.currency, c.prices.currency
                    ),
                ));
                continue;
            }
            let want = charge(&c.prices, &figures)?;
            if want != c.amount {
                mismatches.push(mismatch(
                    want,
                    format!("recorded {} but the prices give {want}", c.amount),
                ));
            }
        }
    }
    Ok(Recomputed {
        report: report(events, group_by, from, to)?,
        mismatches,
    })
}

/// [`recompute`] over an exported JSON Lines ledger (see [`crate::export`]).
pub fn recompute_export(
    reader: impl BufRead,
    group_by: GroupBy,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Recomputed, BillingError> {
    let events =
        crate::export::read_events(reader).map_err(|e| BillingError::Export(e.to_string()))?;
    recompute(&events, group_by, from, to)
}
