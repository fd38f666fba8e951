//! One run, step by step: hash the module, compile (or reuse) it, give it a
//! sandbox with the policy's limits, call it, check its output against the
//! release rules, and report the decision with exact usage figures.
//!
//! Every way a run can end maps to one decision with a precise reason: a
//! bad module is `denied` before it executes, a guest stopped by fuel,
//! memory, time, stack or a trap is `aborted` with that cause, and an output
//! breaking a release rule is `withheld` with the rule named. A dataset
//! whose files changed since they were identified is
//! `denied.data-unavailable` before the guest starts and
//! `aborted.data-changed` if it changes during the run: nothing read from
//! two versions of a file leaves.
//!
//! Only host-authored text and figures reach the buyer: an error the guest
//! wrote goes to the operator's run log (the reason names only its kind),
//! and a run that is not released shows no output hash or size, no log
//! size, and rounded figures; the exact ones go to its private
//! [`AuditRecord`](crate::outcome::AuditRecord).
//!
//! The run's wall clock starts when the request arrives and covers every
//! step: admission, compilation (on its own thread, abandoned at the
//! deadline), instantiation, the guest and its host calls (epoch
//! interruption and the meter's deadline checks), and output conversion.
//! Fuel counts the guest's instructions and the host work it caused; memory
//! counts the guest's linear memory and the host memory held for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sluice_host_api::Analytic;
use sluice_host_api::types::Error as GuestError;
use wasmtime::component::ResourceTableError;
use wasmtime::{AsContextMut, Store, Trap};

use crate::admission;
use crate::engine::{
    CompileError, Converted, EPOCH_TICK, Engine, HostAbort, HostState, MAX_HOST_RESOURCES,
    MemoryAccount, Meter, RunLog, call_hook, convert, is_transfer_refused, sandbox_ctx, settle,
};
use crate::error::EngineError;
use crate::grant::Grant;
use crate::guard::RawValueGuard;
use crate::outcome::{
    Abort, AuditRecord, Decision, Denial, GuestErrorKind, Reason, RunOutcome, Snapshot, Usage,
};
use crate::output::OutputTable;
use crate::policy::Limits;
use crate::policy::unix_now;
use crate::privacy::{BudgetStore, DifferenceStore, Replay, RunPrivacy};
use crate::refusal::{kind_of, message_of};
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
    /// The instant (Unix seconds) approvals are evaluated at; `None` is now.
    /// A replay passes the recorded time of the run, so an approval that
    /// has expired since does not change the decision.
    pub at: Option<i64>,
    /// Where released row sets are remembered for difference checks
    /// (needed for host aggregates over a dataset without `[privacy]`).
    /// The caller chooses its location; the runtime has no default.
    pub differences: Option<Arc<DifferenceStore>>,
    /// Replay a recorded run: its noise draws and difference decisions
    /// instead of fresh ones, no budget charged, no store written.
    pub replay: Option<Replay>,
}

/// Most bytes of a guest's own error text kept in the run log.
const MAX_GUEST_ERROR_BYTES: usize = 16 << 10;

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
                    signer: None,
                })
                .collect(),
            seed,
            buyer: None,
            engine: self.description.clone(),
            log: Vec::new(),
            audit: AuditRecord::default(),
        };
        let rounding: Vec<_> = request.grants.iter().map(|g| g.policy.rounding).collect();
        let _span =
            tracing::info_span!("run", run_id = %outcome.run_id, module = %outcome.module_hash)
                .entered();
        let deadline = started + Duration::from_millis(limits.wall_ms);
        self.execute(request, &limits, deadline, &mut outcome);
        outcome.usage.wall_ms = started.elapsed().as_millis() as u64;
        tracing::info!(decision = ?outcome.decision, reason = ?outcome.reason, fuel = outcome.usage.fuel_consumed, "run finished");
        publish(&mut outcome, &rounding);
        Ok(outcome)
    }

    fn execute(
        &self,
        request: RunRequest,
        limits: &Limits,
        deadline: Instant,
        outcome: &mut RunOutcome,
    ) {
        if let Err(e) = self.compiler.check_size(request.module.len()) {
            outcome.reason = Some(compile_refusal(e, limits));
            return;
        }
        // One span per phase (admit, approve, compile, execute, release-check),
        // under the run's span: what a trace of the run shows.
        let admitted = match tracing::info_span!("admit").in_scope(|| {
            admission::admit(
                &request.module,
                request.detached_signature.as_deref(),
                &request.known_keys,
                &request.grants,
                request.at.unwrap_or_else(unix_now),
            )
        }) {
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
        let signers: Vec<String> = admitted.signers.iter().map(PublicKey::key_id).collect();
        tracing::info_span!("approve", tiers = ?admitted.tiers).in_scope(|| {
            for ((snapshot, tier), signer) in outcome
                .data_snapshots
                .iter_mut()
                .zip(&admitted.tiers)
                .zip(&signers)
            {
                snapshot.tier = Some(*tier);
                snapshot.signer = Some(signer.clone());
            }
        });
        if let Some(denial) = data_unavailable(&request.grants) {
            outcome.reason = Some(denial.into());
            return;
        }
        let compile = tracing::info_span!("compile", cached = tracing::field::Empty);
        let compiled = compile.in_scope(|| {
            self.compiler.get(
                &self.engine,
                &outcome.module_hash,
                &admitted.module,
                deadline,
            )
        });
        let component = match compiled {
            Ok((c, cached)) => {
                compile.record("cached", cached);
                outcome.usage.compile_cached = cached;
                c
            }
            Err(e) => {
                outcome.reason = Some(compile_refusal(e, limits));
                outcome.decision = outcome
                    .reason
                    .as_ref()
                    .map_or(Decision::Denied, Reason::decision);
                return;
            }
        };
        let memory = MemoryAccount::new(limits.memory_bytes);
        let meter = Meter::new(memory.clone(), deadline, self.meter_fuel);
        let work = meter.wasi_work();
        let log = RunLog::new(
            limits.log_bytes as usize,
            Some(memory.clone()),
            work.clone(),
        );
        let privacy = match request.replay {
            Some(replay) => RunPrivacy::replay(replay),
            None => RunPrivacy::live(request.budget.clone(), request.differences.clone()),
        };
        let state = HostState::new(
            sandbox_ctx(outcome.seed, &log, &work),
            request.grants,
            admitted.tiers,
            limits.clone(),
            meter,
        )
        .with_privacy(signers, privacy);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.cap);
        store.call_hook(call_hook);
        store.set_max_component_handles(MAX_HOST_RESOURCES);
        let fuel_set = if self.meter_fuel {
            store.set_fuel(limits.fuel)
        } else {
            Ok(())
        };
        let left = deadline.saturating_duration_since(Instant::now());
        store.set_epoch_deadline(epoch_ticks(left));
        let result = tracing::info_span!("execute").in_scope(|| {
            fuel_set.and_then(|()| {
                let instance = Analytic::instantiate(&mut store, &component, &self.linker)
                    .map_err(|e| e.context("cannot instantiate the module"))?;
                instance.call_run(&mut store, &request.params)
            })
        });
        let (log_bytes, written) = log.take();
        outcome.log = log_bytes;
        outcome.audit.log_bytes = written;
        let changed = store
            .data()
            .changed
            .clone()
            .or_else(|| changed(store.data().grants()));
        match (changed, result) {
            // What was read may mix file versions: nothing of it may leave.
            (Some(dataset), _) => abort(outcome, Abort::DataChanged { dataset }),
            (None, Ok(Ok(table))) => tracing::info_span!("release-check").in_scope(|| {
                let converted = convert(table, limits, &mut store.data_mut().meter);
                let settled = settle(&mut store.as_context_mut());
                match (converted, settled) {
                    (Ok(Ok(c)), Ok(())) => release(c, limits, &store.data().guard, outcome),
                    (Ok(Err(rule)), Ok(())) => {
                        outcome.decision = Decision::Withheld;
                        outcome.reason = Some(Reason::Withheld(rule));
                    }
                    (Err(a), _) => abort(outcome, host_abort(a, limits)),
                    (_, Err(e)) => abort(outcome, classify(&e, &store, limits)),
                }
            }),
            (None, Ok(Err(e))) => {
                let host_message = store.data().authored(&e).map(str::to_string);
                if host_message.is_none() {
                    keep_guest_error(&mut outcome.log, &e);
                }
                abort(
                    outcome,
                    Abort::GuestError {
                        kind: error_kind(&e),
                        host_message,
                    },
                )
            }
            (None, Err(e)) => abort(outcome, classify(&e, &store, limits)),
        }
        record_usage(&mut store, limits, self.meter_fuel, outcome);
    }
}

/// Epoch ticks until `left` has passed: the deadline falls between `left`
/// and `left` + two ticks.
fn epoch_ticks(left: Duration) -> u64 {
    (left.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64).saturating_add(1)
}

fn record_usage(
    store: &mut Store<HostState>,
    limits: &Limits,
    metered: bool,
    outcome: &mut RunOutcome,
) {
    // Charges still owed (a libcall's, or the conversion's) are taken now.
    let _ = settle(&mut store.as_context_mut());
    let state = store.data();
    if metered {
        outcome.usage.fuel_consumed = match state.meter.tripped() {
            Some(HostAbort::Fuel) => limits.fuel,
            _ => limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
        };
    }
    outcome.usage.host_fuel = state.meter.host_fuel();
    let memory = state.meter.memory();
    outcome.usage.memory_peak_bytes = memory.peak();
    outcome.usage.host_memory_peak_bytes = memory.host_peak();
    outcome.usage.rows_fed = state.counters.rows_fed;
    outcome.usage.bytes_fed = state.counters.bytes_fed;
    outcome.usage.aggregate_queries = state.counters.aggregate_queries;
    outcome.usage.groups_suppressed = state.counters.groups_suppressed;
    outcome.usage.epsilon_spent = state.counters.epsilon_spent;
    outcome.audit.privacy = state.privacy.trail.clone();
    outcome.audit.difference_work = state.privacy.work;
}

/// The reason a module could not be compiled (or was not accepted).
fn compile_refusal(e: CompileError, limits: &Limits) -> Reason {
    match e {
        CompileError::TooLarge { bytes, limit } => Denial::ModuleTooLarge { bytes, limit }.into(),
        CompileError::Timeout { limit } => Denial::CompileTime {
            limit_ms: limit.as_millis() as u64,
        }
        .into(),
        CompileError::Deadline => Abort::WallClock {
            limit_ms: limits.wall_ms,
        }
        .into(),
        CompileError::Invalid(detail) => Denial::InvalidComponent { detail }.into(),
        CompileError::Spawn(e) => {
            tracing::warn!(error = %e, "cannot start a compile thread");
            Abort::Internal.into()
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

fn abort(outcome: &mut RunOutcome, abort: Abort) {
    outcome.decision = Decision::Aborted;
    outcome.reason = Some(Reason::Aborted(abort));
}

/// Appends the text of an error the guest wrote to the operator's run log
/// (bounded): it never reaches the buyer.
fn keep_guest_error(log: &mut Vec<u8>, e: &GuestError) {
    let text = guest_error(e);
    let mut end = text.len().min(MAX_GUEST_ERROR_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if !log.is_empty() && !log.ends_with(b"\n") {
        log.push(b'\n');
    }
    log.extend_from_slice(b"[sluice] the guest returned an error: ");
    log.extend_from_slice(&text.as_bytes()[..end]);
    log.push(b'\n');
}

/// Makes the outcome safe to show: a run that is not released keeps its
/// exact figures only in the audit record, and shows rounded ones.
fn publish(outcome: &mut RunOutcome, rounding: &[crate::policy::Rounding]) {
    let mut exact = outcome.usage.clone();
    exact.log_bytes = Some(outcome.audit.log_bytes);
    exact.rounded = false;
    outcome.audit.usage = exact.clone();
    if outcome.decision == Decision::Released {
        outcome.usage = exact;
        outcome.output_hash = outcome.audit.output_hash.clone();
    } else {
        outcome.usage = exact.rounded_for(rounding);
        outcome.output_hash = None;
        outcome.output = None;
    }
}

fn release(c: Converted, limits: &Limits, guard: &RawValueGuard, outcome: &mut RunOutcome) {
    let bytes = c.bytes.len() as u64;
    outcome.usage.output_bytes = Some(bytes);
    outcome.audit.output_bytes = Some(bytes);
    outcome.audit.output_hash = Some(OutputTable::hash_of(&c.bytes));
    match c
        .table
        .check(c.bytes.len(), limits)
        .and_then(|()| guard.check(&c.table))
    {
        Ok(()) => {
            outcome.decision = Decision::Released;
            outcome.output = Some(c.table);
        }
        Err(rule) => {
            outcome.decision = Decision::Withheld;
            outcome.reason = Some(Reason::Withheld(rule));
        }
    }
}

/// Renders a guest-visible error as `kind: message` (for the operator's log).
pub fn guest_error(e: &GuestError) -> String {
    format!("{}: {}", kind_of(e).as_str(), message_of(e))
}

/// The kind of a guest-visible error.
pub fn error_kind(e: &GuestError) -> GuestErrorKind {
    kind_of(e)
}

fn host_abort(a: HostAbort, limits: &Limits) -> Abort {
    match a {
        HostAbort::Fuel => Abort::Fuel { limit: limits.fuel },
        HostAbort::WallClock => Abort::WallClock {
            limit_ms: limits.wall_ms,
        },
        HostAbort::Memory => Abort::Memory {
            limit_bytes: limits.memory_bytes,
        },
    }
}

/// Names the cause of a trap or host failure: the host's own stop first
/// (the meter), then the guest's memory cap, then wasmtime's trap.
fn classify(e: &wasmtime::Error, store: &Store<HostState>, limits: &Limits) -> Abort {
    let state = store.data();
    if let Some(a) = state
        .meter
        .tripped()
        .or_else(|| e.downcast_ref::<HostAbort>().copied())
    {
        return host_abort(a, limits);
    }
    if state.cap.refused.is_some() || is_transfer_refused(e) {
        return Abort::Memory {
            limit_bytes: limits.memory_bytes,
        };
    }
    if e.downcast_ref::<ResourceTableError>()
        .is_some_and(|t| matches!(t, ResourceTableError::Full))
    {
        return Abort::Trap {
            trap: format!(
                "the guest held more than {MAX_HOST_RESOURCES} WASI and Sluice resources at once"
            ),
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
