//! One run, step by step: hash the module, compile (or reuse) it, give it a
//! sandbox with the policy's limits, call it, check its output against the
//! release rules, and report the decision with exact usage figures.
//!
//! Every way a run can end maps to one decision with a precise reason: a
//! bad module is `denied` before it executes, a guest stopped by fuel,
//! memory, time, stack or a trap is `aborted` with that cause, and an output
//! breaking a release rule is `withheld` with the rule named.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use sluice_host_api::Analytic;
use sluice_host_api::types::Error as GuestError;
use wasmtime::{Store, Trap};

use crate::admission;
use crate::engine::{EPOCH_TICK, Engine, HostState, RunLog, sandbox_ctx};
use crate::error::EngineError;
use crate::grant::Grant;
use crate::guard::RawValueGuard;
use crate::outcome::{
    Abort, Decision, Denial, GuestErrorKind, Reason, RunOutcome, Snapshot, Usage,
};
use crate::output::OutputTable;
use crate::policy::Limits;
use crate::policy::unix_now;
use crate::privacy::BudgetStore;
use crate::signing::PublicKey;

/// What to run, over what.
#[derive(Default)]
pub struct RunRequest {
    /// The component's bytes, with its embedded signature (or see `detached_signature`).
    pub module: Vec<u8>,
    /// A detached signature, when the module does not embed one.
    pub detached_signature: Option<Vec<u8>>,
    /// Buyer keys the node knows (the policies' trusted signers are known too).
    pub known_keys: Vec<PublicKey>,
    /// The datasets with their policies.
    pub grants: Vec<Grant>,
    /// The buyer's parameters, passed to the guest as text.
    pub params: String,
    /// Seed of the guest's randomness; `None` lets the host pick one.
    pub seed: Option<u64>,
    /// Where privacy budgets are charged (needed when a policy asks for
    /// differential privacy).
    pub budget: Option<Arc<BudgetStore>>,
}

/// SHA-256 of a module's bytes, hex.
pub fn module_hash(module: &[u8]) -> String {
    hex::encode(Sha256::digest(module))
}

/// The strictest of the limits of every policy in the run.
pub fn strictest(grants: &[Grant]) -> Limits {
    let all = grants.iter().map(|g| &g.policy.limits);
    let min = |f: fn(&Limits) -> u64| all.clone().map(f).min().unwrap_or(0);
    Limits {
        fuel: min(|l| l.fuel),
        memory_bytes: min(|l| l.memory_bytes),
        wall_ms: min(|l| l.wall_ms),
        output_rows: min(|l| l.output_rows),
        output_bytes: min(|l| l.output_bytes),
        log_bytes: min(|l| l.log_bytes),
        batch_rows: min(|l| l.batch_rows.into()) as u32,
    }
}

impl Engine {
    /// Runs `request` and reports the outcome. Only an inconsistent request
    /// is an `Err`; everything the module or guest does is an outcome.
    pub fn run(&self, request: RunRequest) -> Result<RunOutcome, EngineError> {
        if request.grants.is_empty() {
            return Err(EngineError::Request(
                "a run needs at least one dataset".into(),
            ));
        }
        let limits = strictest(&request.grants);
        let seed = request.seed.unwrap_or_else(rand::random);
        let started = Instant::now();
        let mut outcome = RunOutcome {
            run_id: uuid::Uuid::new_v4().to_string(),
            decision: Decision::Denied,
            reason: None,
            output: None,
            output_hash: None,
            usage: Usage {
                fuel_limit: limits.fuel,
                ..Usage::default()
            },
            module_hash: module_hash(&request.module),
            data_snapshots: request
                .grants
                .iter()
                .map(|g| Snapshot {
                    dataset: g.name().to_string(),
                    snapshot: g.dataset.snapshot.clone(),
                    policy_version: g.policy.version,
                    policy_hash: g.policy.hash.clone(),
                    tier: None,
                })
                .collect(),
            seed,
            buyer: None,
            engine: self.description.clone(),
            log: Vec::new(),
            noise: Vec::new(),
        };
        let _span =
            tracing::info_span!("run", run_id = %outcome.run_id, module = %outcome.module_hash)
                .entered();
        self.execute(request, &limits, &mut outcome);
        outcome.usage.wall_ms = started.elapsed().as_millis() as u64;
        tracing::info!(decision = ?outcome.decision, reason = ?outcome.reason, fuel = outcome.usage.fuel_consumed, "run finished");
        Ok(outcome)
    }

    fn execute(&self, request: RunRequest, limits: &Limits, outcome: &mut RunOutcome) {
        let admitted = match admission::admit(
            &request.module,
            request.detached_signature.as_deref(),
            &request.known_keys,
            &request.grants,
            unix_now(),
        ) {
            Ok(a) => a,
            Err(refusal) => {
                if let Some(h) = refusal.module_hash {
                    outcome.module_hash = h;
                }
                outcome.buyer = refusal.signer;
                outcome.reason = Some(refusal.denial.into());
                return;
            }
        };
        outcome.module_hash = admitted.module_hash.clone();
        outcome.buyer = Some(admitted.signer.key_id());
        for (snapshot, tier) in outcome.data_snapshots.iter_mut().zip(&admitted.tiers) {
            snapshot.tier = Some(*tier);
        }
        if let Some(denial) = data_unavailable(&request.grants) {
            outcome.reason = Some(denial.into());
            return;
        }
        let component = match self
            .cache
            .get(&self.engine, &outcome.module_hash, &admitted.module)
        {
            Ok((c, cached)) => {
                outcome.usage.compile_cached = cached;
                c
            }
            Err(e) => {
                outcome.reason = Some(
                    Denial::InvalidComponent {
                        detail: format!("{e:#}"),
                    }
                    .into(),
                );
                return;
            }
        };
        let log = RunLog::new(limits.log_bytes as usize);
        let state = HostState::new(
            sandbox_ctx(outcome.seed, &log),
            request.grants,
            admitted.tiers,
            limits.clone(),
        )
        .with_privacy(admitted.signer.key_id(), request.budget.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.cap);
        let fuel_set = if self.meter_fuel {
            store.set_fuel(limits.fuel)
        } else {
            Ok(())
        };
        let ticks = limits.wall_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1;
        store.set_epoch_deadline(ticks);
        let result = fuel_set.and_then(|()| {
            let instance = Analytic::instantiate(&mut store, &component, &self.linker)
                .map_err(|e| e.context("cannot instantiate the module"))?;
            instance.call_run(&mut store, &request.params)
        });
        if self.meter_fuel {
            outcome.usage.fuel_consumed = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        }
        let state = store.data();
        outcome.usage.memory_peak_bytes = state.cap.peak as u64;
        outcome.usage.rows_fed = state.counters.rows_fed;
        outcome.usage.bytes_fed = state.counters.bytes_fed;
        outcome.usage.aggregate_queries = state.counters.aggregate_queries;
        outcome.usage.groups_suppressed = state.counters.groups_suppressed;
        outcome.usage.epsilon_spent = state.counters.epsilon_spent;
        outcome.noise = state.counters.noise.clone();
        let (log_bytes, written) = log.take();
        outcome.log = log_bytes;
        outcome.usage.log_bytes = written;
        if let Some(abort) = store.data().stopped.clone() {
            return abort_run(outcome, abort);
        }
        if let Some(dataset) = changed(store.data().grants()) {
            // What was read may mix versions: nothing of it may leave.
            return abort_run(outcome, Abort::DataChanged { dataset });
        }
        match result {
            Ok(Ok(table)) => release(
                OutputTable::from(table),
                limits,
                &store.data().guard,
                outcome,
            ),
            Ok(Err(e)) => {
                tracing::info!(error = %guest_error(&e), "the guest returned an error");
                let host_message = store.data().authored(&e).then(|| message(&e).to_string());
                abort(
                    outcome,
                    Abort::GuestError {
                        kind: error_kind(&e),
                        host_message,
                    },
                )
            }
            Err(e) => {
                let refused = store.data().cap.refused;
                abort(outcome, classify(&e, refused, limits));
            }
        }
    }
}

/// A dataset whose files changed since they were identified, or whose
/// policy makes a column visible that cannot be fed: the run is refused.
fn data_unavailable(grants: &[Grant]) -> Option<Denial> {
    grants.iter().find_map(|g| {
        let checked = g
            .dataset
            .unchanged()
            .and_then(|()| g.dataset.check_policy(&g.policy));
        checked.err().map(|e| Denial::DataUnavailable {
            dataset: g.name().to_string(),
            detail: e.for_guest(),
        })
    })
}

/// The first dataset a file of which changed during the run.
fn changed(grants: &[Grant]) -> Option<String> {
    grants
        .iter()
        .find(|g| g.dataset.unchanged().is_err())
        .map(|g| g.name().to_string())
}

fn abort_run(outcome: &mut RunOutcome, reason: Abort) {
    outcome.output = None;
    outcome.output_hash = None;
    abort(outcome, reason);
}

fn abort(outcome: &mut RunOutcome, abort: Abort) {
    outcome.decision = Decision::Aborted;
    outcome.reason = Some(Reason::Aborted(abort));
}

fn release(table: OutputTable, limits: &Limits, guard: &RawValueGuard, outcome: &mut RunOutcome) {
    let bytes = table.canonical_bytes();
    outcome.usage.output_bytes = bytes.len() as u64;
    outcome.output_hash = Some(OutputTable::hash_of(&bytes));
    match table
        .check(bytes.len(), limits)
        .and_then(|()| guard.check(&table))
    {
        Ok(()) => {
            outcome.decision = Decision::Released;
            outcome.output = Some(table);
        }
        Err(rule) => {
            outcome.decision = Decision::Withheld;
            outcome.reason = Some(Reason::Withheld(rule));
        }
    }
}

/// Renders a guest-visible error as `kind: message`.
pub fn guest_error(e: &GuestError) -> String {
    match e {
        GuestError::NotPermitted(m) => format!("not-permitted: {m}"),
        GuestError::NotFound(m) => format!("not-found: {m}"),
        GuestError::Invalid(m) => format!("invalid: {m}"),
        GuestError::LimitReached(m) => format!("limit-reached: {m}"),
    }
}

/// The text of a guest-visible error.
pub(crate) fn message(e: &GuestError) -> &str {
    match e {
        GuestError::NotPermitted(m)
        | GuestError::NotFound(m)
        | GuestError::Invalid(m)
        | GuestError::LimitReached(m) => m,
    }
}

/// The kind of a guest-visible error.
pub fn error_kind(e: &GuestError) -> GuestErrorKind {
    match e {
        GuestError::NotPermitted(_) => GuestErrorKind::NotPermitted,
        GuestError::NotFound(_) => GuestErrorKind::NotFound,
        GuestError::Invalid(_) => GuestErrorKind::Invalid,
        GuestError::LimitReached(_) => GuestErrorKind::LimitReached,
    }
}

/// Names the cause of a trap or host failure.
fn classify(e: &wasmtime::Error, memory_refused: Option<usize>, limits: &Limits) -> Abort {
    if memory_refused.is_some() {
        return Abort::Memory {
            limit_bytes: limits.memory_bytes,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Abort::Fuel { limit: limits.fuel },
        Some(Trap::Interrupt) => Abort::WallClock {
            limit_ms: limits.wall_ms,
        },
        Some(Trap::StackOverflow) => Abort::Stack,
        Some(Trap::UnreachableCodeReached) => Abort::Trap {
            trap: "unreachable executed (the guest panicked or aborted)".into(),
        },
        Some(trap) => Abort::Trap {
            trap: trap.to_string(),
        },
        None => {
            tracing::warn!(error = %format!("{e:#}"), "run failed in the host");
            Abort::Internal
        }
    }
}
