//! `Node::run`: the one entry point for a run, for the CLI and the server.
//!
//! Step by step: resolve the module (submitted bytes, or a stored module by
//! hash); resolve every dataset by name in the registry and open it under
//! its current policy; run the engine (admission, sandbox, release rules);
//! keep the module so the run can be replayed; map the outcome to its usage
//! event and private audit record; append both to the ledger, durably; and
//! only then return the outcome (with its output, if released) and the
//! receipt.
//!
//! Defends the record-then-release rule: no outcome leaves this function
//! unless its event is on disk under a signed checkpoint — if the ledger
//! fails, the caller gets an error and no output. Every attempt is recorded,
//! refusals included: an unknown dataset, an unreadable file or an oversized
//! module is a recorded denial, decided by the node before the engine runs.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_ledger::Receipt;
use sluice_runtime::outcome::{Denial, Snapshot};
use sluice_runtime::policy::Prices;
use sluice_runtime::signing::{self, PublicKey};
use sluice_runtime::{Grant, RunOutcome};

use crate::error::NodeError;
use crate::event::{self, RunContext, Submission};
use crate::modules::address;
use crate::node::Node;
use crate::state::DatasetRow;

/// Where the module of a run comes from.
#[derive(Debug, Clone)]
pub enum ModuleSource {
    /// The module's bytes, signed (or with `detached_signature`).
    Bytes(Vec<u8>),
    /// A module stored on the node, by module hash.
    Stored(String),
}

/// A run as a caller asks for it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The module.
    pub module: ModuleSource,
    /// A detached signature, when the module does not embed one.
    pub detached_signature: Option<Vec<u8>>,
    /// Registered dataset names.
    pub datasets: Vec<String>,
    /// The buyer's parameters, passed to the guest as text.
    pub params: String,
    /// Seed of the guest's randomness; `None` lets the host pick (and record) one.
    pub seed: Option<u64>,
    /// W3C trace context of the caller, recorded with the event.
    pub traceparent: Option<String>,
}

impl RunRequest {
    /// A request to run `module` over `datasets` with no params.
    pub fn new(module: ModuleSource, datasets: Vec<String>) -> Self {
        Self {
            module,
            detached_signature: None,
            datasets,
            params: String::new(),
            seed: None,
            traceparent: None,
        }
    }
}

/// What a recorded run returns.
#[derive(Debug)]
pub struct RunResult {
    /// The outcome: decision, reason, output only when released, usage.
    /// Its `log` is the operator's and must not be shown to the buyer.
    pub outcome: RunOutcome,
    /// The receipt of its usage event: event, index, checkpoint, proof.
    pub receipt: Receipt,
}

/// The datasets of a request as the registry resolves them.
#[derive(Default)]
struct Resolved {
    grants: Vec<Grant>,
    snapshots: Vec<Snapshot>,
    prices: Vec<(String, Prices)>,
    denial: Option<Denial>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What replay needs to rebuild exactly these submitted bytes. (No hash of
/// them: the module hash already identifies the code, and hashing a module
/// again would cost more than everything else the node does for a run.)
fn submission(bytes: &[u8], detached: Option<&[u8]>) -> Submission {
    // A leading signature section sits between the 8-byte preamble and the
    // rest, which is exactly what stripping it leaves.
    let section = signing::strip_signature(bytes)
        .ok()
        .map(|stripped| bytes.len() - stripped.len())
        .filter(|n| *n > 0)
        .map(|n| hex::encode(&bytes[8..8 + n]))
        .unwrap_or_default();
    Submission {
        signature_section: section,
        detached_signature: detached.map(hex::encode),
    }
}

impl Node {
    /// Runs `request`, records it, and returns the outcome with its receipt.
    pub fn run(&self, request: RunRequest) -> Result<RunResult, NodeError> {
        let started_ms = now_ms();
        check_datasets(&request.datasets)?;
        let bytes = match &request.module {
            ModuleSource::Bytes(b) => b.clone(),
            ModuleSource::Stored(hash) => self.module(hash)?,
        };
        let _span = tracing::info_span!("node.run", datasets = ?request.datasets).entered();
        let resolved = self.resolve(&request.datasets)?;
        let known = self.buyer_keys(&request.datasets)?;
        let too_large =
            (bytes.len() as u64 > self.max_module_bytes).then_some(Denial::ModuleTooLarge {
                bytes: bytes.len() as u64,
                limit: self.max_module_bytes,
            });
        let outcome = match too_large.or(resolved.denial) {
            Some(denial) => event::denied_outcome(
                denial,
                address(&bytes),
                resolved.snapshots,
                &resolved.grants,
                request.seed.unwrap_or(0),
                self.engine.description(),
            ),
            None => self.engine.run(sluice_runtime::RunRequest {
                module: bytes.clone(),
                detached_signature: request.detached_signature.clone(),
                known_keys: known.clone(),
                grants: resolved.grants.clone(),
                params: request.params.clone(),
                seed: request.seed,
                budget: Some(self.budget.clone()),
                differences: Some(self.differences.clone()),
                replay: None,
                at: Some(started_ms.div_euclid(1000)),
            })?,
        };
        if bytes.len() as u64 <= self.max_module_bytes {
            self.store_module(&outcome.module_hash, &bytes, outcome.buyer.clone())?;
        }
        let buyer = signer_key(&outcome, &known, &resolved.grants);
        let ctx = RunContext {
            node_id: self.id(),
            source: self.source(),
            started_ms,
            params: &request.params,
            traceparent: request.traceparent.clone(),
            known_keys: if buyer.is_none() {
                known.iter().map(PublicKey::to_hex).collect()
            } else {
                Vec::new()
            },
            buyer,
            prices: resolved.prices,
            submission: submission(&bytes, request.detached_signature.as_deref()),
        };
        let (envelope, private) = event::usage_event(&outcome, &ctx)?;
        let receipt = tracing::info_span!("record")
            .in_scope(|| self.ledger.append(envelope, Some(private)))?;
        Ok(RunResult { outcome, receipt })
    }

    /// Looks every dataset up and opens it under its current policy. The
    /// first dataset that is unknown or cannot be opened denies the run.
    fn resolve(&self, names: &[String]) -> Result<Resolved, NodeError> {
        let mut r = Resolved::default();
        for name in names {
            let Some(row) = DatasetRow::get(&self.state.conn(), name)? else {
                r.snapshots.push(unknown_snapshot(name));
                r.denial.get_or_insert(Denial::UnknownDataset {
                    dataset: name.clone(),
                });
                continue;
            };
            let policy = self.policy_by_hash(&row.policy_hash)?.policy()?;
            r.prices.push((name.clone(), policy.prices.clone()));
            let mut snapshot = Snapshot {
                dataset: name.clone(),
                snapshot: row.snapshot.clone(),
                policy_version: policy.version,
                policy_hash: policy.hash.clone(),
                tier: None,
                signer: None,
            };
            match crate::data::open(name, std::path::Path::new(&row.path), &policy, &self.memo) {
                Ok(dataset) => {
                    snapshot.snapshot = dataset.snapshot.clone();
                    r.grants.push(Grant { dataset, policy });
                }
                Err(e) => {
                    tracing::warn!(dataset = %name, error = %e, "a registered dataset cannot be opened");
                    r.denial.get_or_insert(Denial::DataUnavailable {
                        dataset: name.clone(),
                        detail: crate::data::public_detail(&e),
                    });
                }
            }
            r.snapshots.push(snapshot);
        }
        Ok(r)
    }
}

fn check_datasets(names: &[String]) -> Result<(), NodeError> {
    if names.is_empty() {
        return Err(NodeError::InvalidRequest(
            "a run needs at least one dataset".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(NodeError::InvalidRequest(format!(
                "dataset `{n}` is named twice; name each dataset once"
            )));
        }
    }
    Ok(())
}

fn unknown_snapshot(name: &str) -> Snapshot {
    Snapshot {
        dataset: name.into(),
        snapshot: String::new(),
        policy_version: 0,
        policy_hash: String::new(),
        tier: None,
        signer: None,
    }
}

/// The public key of the signer admission identified, among the keys it knew.
fn signer_key(outcome: &RunOutcome, known: &[PublicKey], grants: &[Grant]) -> Option<PublicKey> {
    let id = outcome.buyer.as_deref()?;
    let trusted = grants
        .iter()
        .flat_map(|g| &g.policy.trusted_signers)
        .filter_map(|k| PublicKey::parse(k).ok());
    known
        .iter()
        .cloned()
        .chain(trusted)
        .find(|k| k.key_id() == id)
}
