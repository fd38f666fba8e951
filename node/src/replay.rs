//! Replay: re-run a recorded run and report any difference.
//!
//! A replay rebuilds the exact submitted bytes (the stored module plus the
//! signature recorded in the private audit record), checks each dataset's
//! current snapshot against the recorded one (changed data is reported,
//! never silently used), takes the policy version by its recorded hash, and
//! runs the engine with the recorded params and seed, evaluating approvals
//! at the recorded time. It then compares the decision, the outcome code,
//! the exact fuel, the rows, bytes and queries fed, and the output hash.
//!
//! For differentially private runs the released values are the pre-noise
//! values plus recorded noise: the replay checks the pre-noise values (and
//! their number) against the private record. Replay never charges the
//! buyer's privacy budget (it runs against a throwaway budget store) and
//! records nothing in the ledger.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use sluice_ledger::RunEvent;
use sluice_runtime::privacy::BudgetStore;
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
        let audit = read_audit(&private)?;
        let inputs = match self.replay_inputs(run, &audit)? {
            Ok(i) => i,
            Err((status, note)) => return Ok(report.ended(status, &note)),
        };
        let budget_path = self
            .dir
            .root()
            .join(format!(".replay-{}.sqlite", uuid::Uuid::new_v4()));
        let outcome = (|| {
            let budget = Arc::new(BudgetStore::open(&budget_path).map_err(NodeError::internal)?);
            Ok::<_, NodeError>(self.engine.run(sluice_runtime::RunRequest {
                module: inputs.module,
                detached_signature: inputs.detached,
                known_keys: inputs.known_keys,
                grants: inputs.grants,
                params: audit.params.clone(),
                seed: Some(run.seed),
                budget: Some(budget),
                at: Some(audit.at),
            })?)
        })();
        for suffix in ["", "-wal", "-shm"] {
            let mut p = budget_path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
        compare(&mut report, run, &audit, &outcome?);
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
            match crate::data::open(&used.dataset, std::path::Path::new(&row.path), &policy) {
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
    let u = &replayed.usage;
    report.check("fuel", audit.fuel_consumed, u.fuel_consumed);
    report.check("rows_fed", run.rows_fed, u.rows_fed);
    report.check("bytes_fed", run.bytes_fed, u.bytes_fed);
    report.check(
        "aggregate_queries",
        run.aggregate_queries,
        u.aggregate_queries,
    );
    if audit.noise.is_empty() && replayed.noise.is_empty() {
        let hash = |h: Option<&String>| h.cloned().unwrap_or_else(|| "-".into());
        report.check(
            "output_hash",
            hash(audit.output_hash.as_ref()),
            hash(replayed.output_hash.as_ref()),
        );
        return;
    }
    report.check("noisy_values", audit.noise.len(), replayed.noise.len());
    let exact = |v: &[sluice_runtime::privacy::NoisyValue]| {
        v.iter()
            .map(|n| format!("{:?}", n.exact))
            .collect::<Vec<_>>()
            .join(",")
    };
    report.check(
        "pre_noise_values",
        exact(&audit.noise),
        exact(&replayed.noise),
    );
    report.note = Some(
        "differentially private: the released values are the pre-noise values plus the recorded noise; the pre-noise values were recomputed and compared".into(),
    );
}
