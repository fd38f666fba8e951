//! Replay: re-run a recorded run and report any difference.
//!
//! A replay rebuilds the exact submitted bytes (the stored module plus the
//! signature recorded in the private audit record), checks each dataset's
//! current snapshot against the recorded one (changed data is reported,
//! never silently used), takes the policy version by its recorded hash, and
//! runs the engine with the recorded params and seed, evaluating approvals
//! at the recorded time. It then compares the decision, the outcome code,
//! the exact fuel, the rows, bytes and queries fed, the output hash, and
//! the privacy trail.
//!
//! The engine replays the run's privacy trail from the private record: each
//! noise draw is handed back in order (after checking it is asked for by the
//! same mechanism over the same exact aggregate), and each difference check
//! gets its recorded decision. So a differentially private run reproduces
//! its released bytes, and an exact aggregate is released or refused as it
//! was then, whatever the buyer has been released since. Replay never
//! charges a privacy budget, never adds to the difference-check history, and
//! records nothing in the ledger.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_ledger::RunEvent;
use sluice_runtime::privacy::PrivacyTrail;
use sluice_runtime::signing::{self, PublicKey};
use sluice_runtime::{Grant, RunOutcome};

use crate::error::NodeError;
use crate::event::{AuditData, decision_name, read_audit};
use crate::node::Node;
use crate::state::DatasetRow;

/// How a replay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayStatus {
    /// Everything compared is identical.
    Match,
    /// Something compared differs (listed in `differences`).
    Differs,
    /// A dataset's file is not the recorded snapshot any more; not re-run.
    DataChanged,
    /// The run cannot be re-run (its module, policy or dataset is gone).
    NotReplayable,
    /// The node refused the run before the sandbox (unknown dataset,
    /// unreadable file, oversized module): there is nothing to re-execute.
    DecidedByNode,
}

/// One field that differs between the record and the replay.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// What differs: `decision`, `code`, `fuel`, `output_hash`, ...
    pub field: String,
    /// As recorded.
    pub recorded: String,
    /// As replayed.
    pub replayed: String,
}

/// The result of replaying one run.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The run (event) id.
    pub run_id: String,
    /// Its ledger index.
    pub index: u64,
    /// How the replay ended.
    pub status: ReplayStatus,
    /// The recorded decision.
    pub recorded_decision: String,
    /// The replay's decision, when it ran.
    pub replayed_decision: Option<String>,
    /// What was compared.
    pub checked: Vec<String>,
    /// What differs.
    pub differences: Vec<Difference>,
    /// Why something was not compared or not re-run.
    pub note: Option<String>,
}

impl ReplayReport {
    /// True unless the replay found a difference or could not check the run.
    pub fn ok(&self) -> bool {
        matches!(
            self.status,
            ReplayStatus::Match | ReplayStatus::DecidedByNode
        )
    }
}

/// Codes of denials the node decides before the engine runs.
const NODE_DENIALS: &[&str] = &[
    "denied.unknown-dataset",
    "denied.data-unavailable",
    "denied.module-too-large",
];

impl Node {
    /// Replays the run `run_id`.
    pub fn replay(&self, run_id: &str) -> Result<ReplayReport, NodeError> {
        let stored = self
            .ledger
            .event_by_id(run_id)?
            .ok_or_else(|| NodeError::UnknownRun(run_id.into()))?;
        let run = stored
            .envelope
            .run()
            .ok_or_else(|| NodeError::UnknownRun(run_id.into()))?;
        let mut report = ReplayReport {
            run_id: run_id.into(),
            index: stored.index,
            status: ReplayStatus::Match,
            recorded_decision: run.decision.clone(),
            replayed_decision: None,
            checked: Vec::new(),
            differences: Vec::new(),
            note: None,
        };
        if run
            .code
            .as_deref()
            .is_some_and(|c| NODE_DENIALS.contains(&c))
        {
            return Ok(report.ended(
                ReplayStatus::DecidedByNode,
                "the node refused this run before the sandbox; there is nothing to re-execute",
            ));
        }
        let Some(private) = self.ledger.private_record(run_id)? else {
            return Ok(report.ended(
                ReplayStatus::NotReplayable,
                "the run has no private audit record",
            ));
        };
        let Some(audit) = read_audit(&private)? else {
            return Ok(report.ended(
                ReplayStatus::NotReplayable,
                "the run's private audit record is in an older format, without the privacy trail a replay needs",
            ));
        };
        let inputs = match self.replay_inputs(run, &audit)? {
            Ok(i) => i,
            Err((status, note)) => return Ok(report.ended(status, &note)),
        };
        let outcome = self.engine.run(sluice_runtime::RunRequest {
            module: inputs.module,
            detached_signature: inputs.detached,
            known_keys: inputs.known_keys,
            grants: inputs.grants,
            params: audit.params.clone(),
            seed: Some(run.seed),
            budget: None,
            differences: None,
            replay: Some(audit.privacy.clone()),
            at: Some(audit.at),
        })?;
        compare(&mut report, run, &audit, &outcome);
        Ok(report)
    }

    /// Replays every recorded run, in ledger order.
    pub fn replay_all(&self) -> Result<Vec<ReplayReport>, NodeError> {
        let mut reports = Vec::new();
        let len = self.ledger.len()?;
        let mut from = 0;
        while from < len {
            let page = self.ledger.events(from, 256)?;
            let Some(last) = page.last() else { break };
            from = last.index + 1;
            for e in page.iter().filter(|e| e.envelope.run().is_some()) {
                reports.push(self.replay(&e.envelope.id)?);
            }
        }
        Ok(reports)
    }

    /// The module, keys and grants of a recorded run, or why it cannot be re-run.
    fn replay_inputs(
        &self,
        run: &RunEvent,
        audit: &AuditData,
    ) -> Result<Result<Inputs, (ReplayStatus, String)>, NodeError> {
        let not = |m: String| Ok(Err((ReplayStatus::NotReplayable, m)));
        let stored = match self.module(&run.module_hash) {
            Ok(b) => b,
            Err(NodeError::UnknownModule(_)) => {
                return not(format!("module {} is not stored", run.module_hash));
            }
            Err(e) => return Err(e),
        };
        let Some(module) = rebuild(&stored, audit) else {
            return not(
                "the submitted module bytes cannot be rebuilt from the stored module".into(),
            );
        };
        let detached = match audit
            .submission
            .detached_signature
            .as_deref()
            .map(hex::decode)
        {
            Some(Ok(d)) => Some(d),
            Some(Err(_)) => return not("the recorded detached signature is not hex".into()),
            None => None,
        };
        let mut grants = Vec::new();
        for used in &run.datasets {
            let policy = match self.policy_by_hash(&used.policy_hash) {
                Ok(v) => v.policy()?,
                Err(NodeError::UnknownPolicy(h)) => {
                    return not(format!("policy version {h} is not stored"));
                }
                Err(e) => return Err(e),
            };
            let Some(row) = DatasetRow::get(&self.state.conn(), &used.dataset)? else {
                return not(format!(
                    "dataset `{}` is no longer registered",
                    used.dataset
                ));
            };
            let changed = |now: &str| {
                Ok(Err((
                    ReplayStatus::DataChanged,
                    format!(
                        "dataset `{}` is not the recorded snapshot {} (now: {now}); the run was not re-run on other data",
                        used.dataset, used.snapshot
                    ),
                )))
            };
            match crate::data::open(
                &used.dataset,
                std::path::Path::new(&row.path),
                &policy,
                &self.memo,
            ) {
                Ok(d) if d.snapshot == used.snapshot => grants.push(Grant { dataset: d, policy }),
                Ok(d) => return changed(&d.snapshot),
                Err(e) => return changed(&format!("unreadable: {e}")),
            }
        }
        let known_keys = match &run.buyer {
            Some(hex) => vec![PublicKey::parse(hex).map_err(NodeError::Key)?],
            None => audit
                .known_keys
                .iter()
                .map(|k| PublicKey::parse(k).map_err(NodeError::Key))
                .collect::<Result<_, _>>()?,
        };
        Ok(Ok(Inputs {
            module,
            detached,
            known_keys,
            grants,
        }))
    }
}

struct Inputs {
    module: Vec<u8>,
    detached: Option<Vec<u8>>,
    known_keys: Vec<PublicKey>,
    grants: Vec<Grant>,
}

impl ReplayReport {
    fn ended(mut self, status: ReplayStatus, note: &str) -> Self {
        self.status = status;
        self.note = Some(note.into());
        self
    }

    fn check(&mut self, field: &str, recorded: impl ToString, replayed: impl ToString) {
        self.checked.push(field.into());
        let (recorded, replayed) = (recorded.to_string(), replayed.to_string());
        if recorded != replayed {
            self.status = ReplayStatus::Differs;
            self.differences.push(Difference {
                field: field.into(),
                recorded,
                replayed,
            });
        }
    }
}

/// The exact submitted bytes: the stored module's code (checked against its
/// module hash when read) with the recorded signature section.
fn rebuild(stored: &[u8], audit: &AuditData) -> Option<Vec<u8>> {
    let code = signing::strip_signature(stored).unwrap_or_else(|_| stored.to_vec());
    let section = hex::decode(&audit.submission.signature_section).ok()?;
    if section.is_empty() {
        return Some(code);
    }
    let (preamble, rest) = code.split_at_checked(8)?;
    Some([preamble, &section, rest].concat())
}

fn compare(report: &mut ReplayReport, run: &RunEvent, audit: &AuditData, replayed: &RunOutcome) {
    let decision = decision_name(replayed.decision);
    report.replayed_decision = Some(decision.into());
    let code = |c: Option<&str>| c.unwrap_or("-").to_string();
    report.check("decision", &run.decision, decision);
    report.check(
        "code",
        code(run.code.as_deref()),
        code(replayed.reason.as_ref().map(|r| r.code())),
    );
    if run.code.as_deref() == Some("aborted.wall-clock") {
        report.note = Some(
            "stopped by the wall clock: fuel and output depend on timing and are not compared"
                .into(),
        );
        return;
    }
    let exact = &replayed.audit;
    let u = &exact.usage;
    report.check("fuel", audit.fuel_consumed, u.fuel_consumed);
    report.check("rows_fed", audit.rows_fed, u.rows_fed);
    report.check("bytes_fed", audit.bytes_fed, u.bytes_fed);
    report.check(
        "aggregate_queries",
        audit.aggregate_queries,
        u.aggregate_queries,
    );
    let hash = |h: Option<&String>| h.cloned().unwrap_or_else(|| "-".into());
    report.check(
        "output_hash",
        hash(audit.output_hash.as_ref()),
        hash(exact.output_hash.as_ref()),
    );
    if audit.privacy.noise.is_empty() && audit.privacy.differences.is_empty() {
        return;
    }
    report.check(
        "noise_draws",
        audit.privacy.noise.len(),
        exact.privacy.noise.len(),
    );
    report.check(
        "difference_checks",
        audit.privacy.differences.len(),
        exact.privacy.differences.len(),
    );
    report.check(
        "privacy_trail",
        trail(&audit.privacy),
        trail(&exact.privacy),
    );
    if !audit.privacy.noise.is_empty() {
        report.note = Some(
            "differentially private: the recorded noise draws were re-applied to the recomputed aggregates".into(),
        );
    }
}

/// The trail as comparable text (its hash: draws can be many).
fn trail(t: &PrivacyTrail) -> String {
    serde_json::to_vec(t)
        .map(|b| hex::encode(Sha256::digest(b)))
        .unwrap_or_else(|e| format!("unserialisable: {e}"))
}
