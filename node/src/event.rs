//! From a run's outcome to its usage event and private audit record: the
//! one place that decides what of a run is public (signed into the ledger,
//! shown in receipts) and what stays in the node's private audit table.
//!
//! Public: the figures the buyer was shown — exact for a released run,
//! rounded up to the policy's buckets otherwise (`figures_rounded`) — the
//! decision and its code, the output hash and size *only when released*,
//! and one charge per dataset computed from the policy version's prices
//! over those same public figures. Private (committed to by the event's
//! `audit_commitment`, so it cannot be swapped later): the params, the exact
//! figures, the output hash and size of a run that was not released, the
//! log size, the differential-privacy draws and difference-check decisions
//! (which a replay re-applies), and what replay needs to rebuild the exact
//! submission (its signature bytes, the time approvals were evaluated at).
//!
//! Defends against guest-controlled figures reaching a buyer through the
//! event of a run that was not released, against figures JSON cannot carry
//! exactly (capped at 2^53 - 1 in the event; exact in the private record),
//! and against floats in signed bytes (epsilon is decimal text).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sluice_ledger::Envelope;
use sluice_ledger::audit::PrivateRecord;
use sluice_ledger::billing::{PriceSchedule, charge_for};
use sluice_ledger::event::{DatasetUse, EventData, MAX_JSON_INTEGER, RunEvent};
use sluice_runtime::grant::Tier;
use sluice_runtime::outcome::{AuditRecord, Denial, Snapshot};
use sluice_runtime::policy::Prices;
use sluice_runtime::privacy::PrivacyTrail;
use sluice_runtime::run::strictest;
use sluice_runtime::signing::PublicKey;
use sluice_runtime::{Decision, Grant, RunOutcome, Usage};

use crate::error::NodeError;

/// What a replay needs to rebuild the exact submission: the stored module's
/// code (which its module hash identifies) with this signature.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Submission {
    /// The leading signature section as submitted, hex (empty: none).
    pub(crate) signature_section: String,
    /// The detached signature, hex, when one was given.
    pub(crate) detached_signature: Option<String>,
}

/// The private audit record of one run (the `data` of a salted
/// [`PrivateRecord`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditData {
    /// Format of this record.
    pub(crate) format: String,
    /// The buyer's parameters.
    pub(crate) params: String,
    /// Unix seconds approvals were evaluated at.
    pub(crate) at: i64,
    /// How the module was submitted.
    pub(crate) submission: Submission,
    /// Keys admission knew, when the signer could not be identified (hex).
    pub(crate) known_keys: Vec<String>,
    /// Exact fuel consumed.
    pub(crate) fuel_consumed: u64,
    /// Exact wall time.
    pub(crate) wall_ms: u64,
    /// Exact peak memory.
    pub(crate) memory_peak_bytes: u64,
    /// Exact rows fed.
    pub(crate) rows_fed: u64,
    /// Exact bytes fed.
    pub(crate) bytes_fed: u64,
    /// Exact aggregate queries answered.
    pub(crate) aggregate_queries: u64,
    /// Exact groups suppressed.
    pub(crate) groups_suppressed: u64,
    /// Hash of the output the guest returned, released or not.
    pub(crate) output_hash: Option<String>,
    /// Its canonical size.
    pub(crate) output_bytes: Option<u64>,
    /// Bytes the guest wrote to stdout and stderr.
    pub(crate) log_bytes: u64,
    /// Differential-privacy draws and difference-check decisions, in order:
    /// what a replay re-applies.
    pub(crate) privacy: PrivacyTrail,
    /// Host work spent on difference checks.
    pub(crate) difference_work: u64,
}

/// [`AuditData::format`] of this version.
pub(crate) const AUDIT_FORMAT: &str = "sluice-run-audit/2";

/// Everything about a run that is not in its outcome.
pub(crate) struct RunContext<'a> {
    pub(crate) node_id: String,
    pub(crate) source: String,
    /// When the run started, milliseconds since the Unix epoch.
    pub(crate) started_ms: i64,
    pub(crate) params: &'a str,
    pub(crate) traceparent: Option<String>,
    /// The signer's key, when admission identified it.
    pub(crate) buyer: Option<PublicKey>,
    /// Each dataset's prices (datasets the node does not have have none).
    pub(crate) prices: Vec<(String, Prices)>,
    pub(crate) submission: Submission,
    pub(crate) known_keys: Vec<String>,
}

/// The decision as the event writes it.
pub(crate) fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Released => "released",
        Decision::Withheld => "withheld",
        Decision::Denied => "denied",
        Decision::Aborted => "aborted",
    }
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Approved => "approved",
        Tier::TrustedSigner => "trusted-signer",
    }
}

/// A figure as the event can carry it exactly.
fn cap(v: u64) -> u64 {
    v.min(MAX_JSON_INTEGER)
}

/// Epsilon as exact decimal text with at most 9 decimals (the budget
/// store's nano-epsilon), e.g. `"0.5"`.
pub(crate) fn epsilon_text(eps: f64) -> String {
    if !eps.is_finite() || eps <= 0.0 {
        return "0".into();
    }
    Decimal::from_str(&format!("{eps}"))
        .map(|d| d.round_dp(9).normalize().to_string())
        .unwrap_or_else(|_| "0".into())
}

/// The policy's prices (millionths) as a schedule of exact decimals.
pub(crate) fn schedule(p: &Prices) -> PriceSchedule {
    let d = |micros: u64| Decimal::new(micros.min(i64::MAX as u64) as i64, 6).normalize();
    PriceSchedule {
        currency: p.currency.clone(),
        per_run: d(p.per_run),
        per_million_fuel: d(p.per_million_fuel),
        per_mb_fed: d(p.per_mb_fed),
        per_kb_released: d(p.per_kb_released),
        per_aggregate_query: d(p.per_aggregate_query),
    }
}

/// The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`).
fn trace_id(traceparent: Option<&str>) -> Option<String> {
    let id = traceparent?.split('-').nth(1)?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// SHA-256 hex of the params text.
pub(crate) fn params_hash(params: &str) -> String {
    hex::encode(Sha256::digest(params.as_bytes()))
}

/// The usage event of `outcome` and its private record's bytes.
pub(crate) fn usage_event(
    outcome: &RunOutcome,
    ctx: &RunContext<'_>,
) -> Result<(Envelope, Vec<u8>), NodeError> {
    let private = PrivateRecord::seal(
        serde_json::to_value(audit_data(outcome, ctx)).map_err(NodeError::internal)?,
    )
    .map_err(NodeError::internal)?;
    let private_bytes = private.to_bytes().map_err(NodeError::internal)?;
    let released = outcome.decision == Decision::Released;
    let u = &outcome.usage;
    let mut run = RunEvent {
        aggregate_queries: cap(u.aggregate_queries),
        audit_commitment: Some(sluice_ledger::audit::commitment(&private_bytes)),
        buyer: ctx.buyer.as_ref().map(PublicKey::to_hex),
        buyer_key_id: outcome.buyer.clone(),
        bytes_fed: cap(u.bytes_fed),
        charges: Vec::new(),
        code: outcome.reason.as_ref().map(|r| r.code().to_string()),
        datasets: outcome
            .data_snapshots
            .iter()
            .map(|s| DatasetUse {
                dataset: s.dataset.clone(),
                policy_hash: s.policy_hash.clone(),
                policy_version: if s.policy_hash.is_empty() {
                    String::new()
                } else {
                    s.policy_version.to_string()
                },
                snapshot: s.snapshot.clone(),
                tier: s.tier.map(|t| tier_name(t).to_string()),
            })
            .collect(),
        decision: decision_name(outcome.decision).into(),
        engine: outcome.engine.clone(),
        epsilon_spent: epsilon_text(u.epsilon_spent),
        figures_rounded: u.rounded,
        fuel_consumed: cap(u.fuel_consumed),
        fuel_limit: cap(u.fuel_limit),
        groups_suppressed: cap(u.groups_suppressed),
        memory_peak_bytes: cap(u.memory_peak_bytes),
        module_hash: outcome.module_hash.clone(),
        node_id: ctx.node_id.clone(),
        output_bytes: if released {
            u.output_bytes.map(cap)
        } else {
            None
        },
        output_hash: if released {
            outcome.output_hash.clone()
        } else {
            None
        },
        params_hash: params_hash(ctx.params),
        reason: outcome.reason.as_ref().map(|r| r.to_string()),
        rows_fed: cap(u.rows_fed),
        seed: outcome.seed,
        trace_id: trace_id(ctx.traceparent.as_deref()),
        wall_ms: cap(u.wall_ms),
    };
    run.charges = ctx
        .prices
        .iter()
        .map(|(dataset, prices)| charge_for(dataset, &schedule(prices), &run))
        .collect::<Result<_, _>>()
        .map_err(NodeError::internal)?;
    let mut envelope = Envelope::new(
        outcome.run_id.clone(),
        ctx.source.clone(),
        sluice_ledger::time::format_millis(ctx.started_ms),
        EventData::Run(run),
    );
    envelope.traceparent = ctx.traceparent.clone();
    Ok((envelope, private_bytes))
}

fn audit_data(outcome: &RunOutcome, ctx: &RunContext<'_>) -> AuditData {
    let a = &outcome.audit;
    let u = &a.usage;
    AuditData {
        format: AUDIT_FORMAT.into(),
        params: ctx.params.to_string(),
        at: ctx.started_ms.div_euclid(1000),
        submission: ctx.submission.clone(),
        known_keys: ctx.known_keys.clone(),
        fuel_consumed: u.fuel_consumed,
        wall_ms: u.wall_ms,
        memory_peak_bytes: u.memory_peak_bytes,
        rows_fed: u.rows_fed,
        bytes_fed: u.bytes_fed,
        aggregate_queries: u.aggregate_queries,
        groups_suppressed: u.groups_suppressed,
        output_hash: a.output_hash.clone(),
        output_bytes: a.output_bytes,
        log_bytes: a.log_bytes,
        privacy: a.privacy.clone(),
        difference_work: a.difference_work,
    }
}

/// The outcome of a run the node refused before the engine ran (unknown
/// dataset, unreadable file, oversized module): no guest ran, nothing was
/// fed, no fuel was used. Its public figures are rounded like those of any
/// run that is not released.
pub(crate) fn denied_outcome(
    denial: Denial,
    module_hash: String,
    data_snapshots: Vec<Snapshot>,
    grants: &[Grant],
    seed: u64,
    engine: &str,
) -> RunOutcome {
    let exact = Usage {
        fuel_limit: if grants.is_empty() {
            0
        } else {
            strictest(grants).fuel
        },
        ..Usage::default()
    };
    RunOutcome {
        run_id: uuid::Uuid::new_v4().to_string(),
        decision: Decision::Denied,
        reason: Some(denial.into()),
        output: None,
        output_hash: None,
        usage: exact.rounded_for(grants.iter().map(|g| &g.policy.rounding)),
        module_hash,
        data_snapshots,
        seed,
        buyer: None,
        engine: engine.into(),
        log: Vec::new(),
        audit: AuditRecord {
            usage: exact,
            ..AuditRecord::default()
        },
    }
}

/// Reads a run's private audit record; `Ok(None)` when it was written in
/// another format than [`AUDIT_FORMAT`].
pub(crate) fn read_audit(bytes: &[u8]) -> Result<Option<AuditData>, NodeError> {
    let record = PrivateRecord::from_bytes(bytes).map_err(NodeError::internal)?;
    if record.data.get("format").and_then(|f| f.as_str()) != Some(AUDIT_FORMAT) {
        return Ok(None);
    }
    serde_json::from_value(record.data)
        .map(Some)
        .map_err(NodeError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_is_exact_decimal_text() {
        assert_eq!(epsilon_text(0.5), "0.5");
        assert_eq!(epsilon_text(0.1 + 0.2), "0.3");
        assert_eq!(epsilon_text(1e-10), "0");
        assert_eq!(epsilon_text(0.0), "0");
        assert_eq!(epsilon_text(100.0), "100");
    }

    #[test]
    fn prices_in_millionths_become_exact_decimals() {
        let s = schedule(&Prices {
            currency: "EUR".into(),
            per_run: 50_000,
            per_million_fuel: 2_000,
            per_mb_fed: 10_000,
            per_kb_released: 1_000,
            per_aggregate_query: 500,
        });
        assert_eq!(s.per_run.to_string(), "0.05");
        assert_eq!(s.per_aggregate_query.to_string(), "0.0005");
        assert_eq!(s.per_million_fuel.to_string(), "0.002");
    }

    #[test]
    fn the_private_record_reads_back_every_draw_including_a_quantile_of_no_values() {
        use sluice_runtime::privacy::{Mechanism, NoiseDraw};
        let draw = |mechanism, exact| NoiseDraw {
            mechanism,
            exact,
            value: Some(0.25),
            scale: 1.5,
            epsilon: 0.1,
            delta: 0.0,
        };
        let mut outcome = denied_outcome(
            Denial::ModuleTooLarge { bytes: 2, limit: 1 },
            String::new(),
            Vec::new(),
            &[],
            7,
            "engine",
        );
        outcome.audit.privacy.noise = vec![
            draw(Mechanism::Sum, 0.1 + 0.2),
            draw(Mechanism::Quantile, f64::NAN),
        ];
        let ctx = RunContext {
            node_id: "node".into(),
            source: "sluice://node".into(),
            started_ms: 1_000,
            params: "p",
            traceparent: None,
            buyer: None,
            prices: Vec::new(),
            submission: Submission::default(),
            known_keys: Vec::new(),
        };
        let (_, private) = usage_event(&outcome, &ctx).unwrap();
        let back = read_audit(&private).unwrap().expect("this format");
        assert_eq!(back.privacy.noise[0], outcome.audit.privacy.noise[0]);
        assert!(back.privacy.noise[1].exact.is_nan());
        assert_eq!(back.params, "p");
    }

    #[test]
    fn trace_ids_come_from_well_formed_traceparents_only() {
        let tp = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id(Some(tp)).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id(Some("garbage")), None);
        assert_eq!(trace_id(None), None);
    }
}
