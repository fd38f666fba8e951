//! Host work is fuel: the meter every host call charges, and the store
//! call hook that settles those charges with the guest's fuel.
//!
//! Defends against a guest that makes the *host* work for it for free: one
//! cheap guest call asking for a huge aggregate, many tiny scan batches, a
//! flood of random bytes or log writes. Each costs the guest fuel by the
//! deterministic schedule in [`super::schedule`], from the same budget as
//! its own instructions, so the bill shows all the compute a run caused and
//! running out of fuel stops long host work *inside* the host.
//!
//! How it settles: wasmtime calls [`call_hook`] whenever control crosses
//! between guest and host. Entering the host, the meter takes the guest's
//! remaining fuel as the budget of this host call and charges the fixed
//! cost of a call; host code then calls [`Meter::charge`] as it works,
//! which fails with [`HostAbort::Fuel`] once the budget is spent (and with
//! [`HostAbort::WallClock`] once the run's deadline has passed). The charges
//! are subtracted from the store's fuel where compiled wasm reloads its fuel
//! counter: when the host calls into wasm (the export, `cabi_realloc` while
//! results are lowered) and when a component import returns. wasmtime's own
//! libcalls (`memory.grow` and the like) also pass through the hook, but
//! wasm does not reload fuel after them, so their charges are carried to
//! the next such point rather than lost. The meter tells imports from
//! libcalls by the store-data accessor every import calls
//! ([`Meter::mark_import`]). A tripped meter turns the host call into a
//! trap carrying the [`HostAbort`], which `run.rs` maps to `aborted.fuel`,
//! `aborted.wall-clock` or `aborted.memory`, whatever the host function
//! itself returned.
//!
//! The meter also sets wasmtime's per-call transfer budget ("hostcall fuel",
//! the bytes a guest may make the host lift out of its memory in one call)
//! from the run's free memory, so arguments and the returned table cannot
//! make the host allocate past the memory cap before any Sluice code runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sluice_host_api::types::Error as GuestError;
use wasmtime::{CallHook, StoreContextMut};

use super::HostState;
use super::memory::{MemoryAccount, Reservation};
use super::schedule;

/// Why the host stopped (or refused) work for the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostAbort {
    /// The run's fuel (guest instructions plus host work) is spent.
    #[error("the run's fuel is exhausted")]
    Fuel,
    /// The run's wall-clock deadline has passed (or its virtual time ran out).
    #[error("the run's wall-clock time is spent")]
    WallClock,
    /// Guest and host memory together would pass the run's memory cap.
    #[error("the run's memory cap would be exceeded")]
    Memory,
}

/// A [`HostAbort`] seen by code that returns guest-visible errors. When the
/// meter has tripped, the guest never sees this: the call becomes a trap.
impl From<HostAbort> for GuestError {
    fn from(a: HostAbort) -> Self {
        GuestError::LimitReached(a.to_string())
    }
}

/// The same for code that returns refusals (the guest's error and the
/// buyer's public text are the limit's fixed description).
impl From<HostAbort> for crate::refusal::Refusal {
    fn from(a: HostAbort) -> Self {
        crate::refusal::Refusal::limit_reached(a.to_string())
    }
}

/// Host fuel charged between two readings of the clock by [`Meter::charge`]
/// (about a millisecond of host work): reading the clock costs as much as
/// a small host call, so cheap calls do not read it at all.
const DEADLINE_CHECK_UNITS: u64 = 5_000_000;

/// Smallest transfer budget (bytes a guest may pass to the host in one
/// call), whatever the free memory: part of the stated fixed overhead.
pub const MIN_TRANSFER_BYTES: u64 = 64 << 10;
/// wasmtime's own default transfer budget, the largest the meter allows.
pub const MAX_TRANSFER_BYTES: u64 = 128 << 20;

/// Fuel units of work the WASI implementation did for the guest (run-log
/// writes, random numbers), counted where the work happens and charged by
/// the call hook when the call returns.
#[derive(Debug, Clone, Default)]
pub struct WasiWork(Arc<AtomicU64>);

impl WasiWork {
    /// Adds `units` of fuel.
    pub fn add(&self, units: u64) {
        self.0.fetch_add(units, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One host call in progress.
#[derive(Default)]
struct Frame {
    /// A component import (`true`) or a wasmtime libcall.
    import: bool,
    /// Host memory held until this call returns (its results are lowered
    /// into the guest after the host function itself has returned, possibly
    /// through nested libcalls).
    held: Option<Reservation>,
}

/// The fuel, deadline and memory meter of one run.
pub struct Meter {
    metered: bool,
    /// Guest fuel left when the current host call started.
    available: u64,
    /// Host fuel charged since then, not yet taken from the store.
    pending: u64,
    /// All host fuel charged in this run.
    host_fuel: u64,
    /// Host fuel charged since the clock was last read.
    unchecked: u64,
    deadline: Instant,
    tripped: Option<HostAbort>,
    memory: Arc<MemoryAccount>,
    /// Guest calls in progress (the export, plus `cabi_realloc` during lowering).
    wasm_depth: u32,
    /// Host calls in progress, innermost last.
    frames: Vec<Frame>,
    wasi: WasiWork,
    wasi_charged: u64,
}

impl Meter {
    /// A meter for a run ending at `deadline`, counting memory in `memory`;
    /// with `metered` false, fuel is counted but never limits.
    pub fn new(memory: Arc<MemoryAccount>, deadline: Instant, metered: bool) -> Self {
        Self {
            metered,
            available: u64::MAX,
            pending: 0,
            host_fuel: 0,
            unchecked: 0,
            deadline,
            tripped: None,
            memory,
            wasm_depth: 0,
            frames: Vec::new(),
            wasi: WasiWork::default(),
            wasi_charged: 0,
        }
    }

    /// A meter that never stops anything (for computing outside a run).
    pub fn unlimited() -> Self {
        let far = Instant::now() + std::time::Duration::from_secs(100 * 365 * 86_400);
        Self::new(MemoryAccount::new(u64::MAX), far, false)
    }

    /// Charges `units` of host fuel. Fails (and trips the meter) once the
    /// run's fuel is spent or, checked at least every
    /// [`DEADLINE_CHECK_UNITS`] charged, its deadline has passed; every
    /// later charge fails too.
    pub fn charge(&mut self, units: u64) -> Result<(), HostAbort> {
        if let Some(a) = self.tripped {
            return Err(a);
        }
        let left = self.available.saturating_sub(self.pending);
        if self.metered && units > left {
            self.pending += left;
            self.host_fuel += left;
            return Err(self.trip(HostAbort::Fuel));
        }
        self.pending = self.pending.saturating_add(units);
        self.host_fuel = self.host_fuel.saturating_add(units);
        self.unchecked = self.unchecked.saturating_add(units);
        if self.unchecked >= DEADLINE_CHECK_UNITS {
            return self.check_deadline();
        }
        Ok(())
    }

    /// Fails (and trips the meter) once the run's deadline has passed.
    pub fn check_deadline(&mut self) -> Result<(), HostAbort> {
        if let Some(a) = self.tripped {
            return Err(a);
        }
        self.unchecked = 0;
        if Instant::now() >= self.deadline {
            return Err(self.trip(HostAbort::WallClock));
        }
        Ok(())
    }

    /// Stops the run with `abort` at the end of the current host call (the
    /// first cause recorded wins). Returns the recorded cause.
    pub fn trip(&mut self, abort: HostAbort) -> HostAbort {
        *self.tripped.get_or_insert(abort)
    }

    /// Why the host stopped the run, if it did.
    pub fn tripped(&self) -> Option<HostAbort> {
        self.tripped
    }

    /// The run's deadline (wall-clock cap from the start of the run).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// All host fuel charged so far.
    pub fn host_fuel(&self) -> u64 {
        self.host_fuel
    }

    /// The run's memory account (shareable with other threads).
    pub fn memory(&self) -> &Arc<MemoryAccount> {
        &self.memory
    }

    /// Reserves `bytes` of host memory for the rest of the run; on refusal
    /// the meter trips with [`HostAbort::Memory`] (the run is aborted).
    /// Use [`MemoryAccount::reserve`] directly to refuse without aborting.
    pub fn reserve_or_abort(&mut self, bytes: u64) -> Result<Reservation, HostAbort> {
        self.memory.reserve(bytes).map_err(|a| self.trip(a))
    }

    /// Keeps `reservation` until the current host call has returned (its
    /// result has been copied into the guest). Outside a host call it is
    /// given back at once.
    pub fn hold_until_return(&mut self, reservation: Reservation) {
        if let Some(frame) = self.frames.last_mut() {
            match &mut frame.held {
                Some(r) => r.absorb(reservation),
                None => frame.held = Some(reservation),
            }
        }
    }

    /// The counter WASI work is added to.
    pub fn wasi_work(&self) -> WasiWork {
        self.wasi.clone()
    }

    /// Bytes a guest may make the host lift in one transfer: two fifths of
    /// the free memory (lifted values take up to ~2.3 times the bytes
    /// wasmtime counts), within [`MIN_TRANSFER_BYTES`, `MAX_TRANSFER_BYTES`].
    fn transfer_budget(&self) -> usize {
        let budget = (self.memory.headroom() / 5 * 2).clamp(MIN_TRANSFER_BYTES, MAX_TRANSFER_BYTES);
        usize::try_from(budget).unwrap_or(usize::MAX)
    }

    /// Records that the current host call is a component import (called
    /// by the accessor through which every import reaches the host state).
    pub(crate) fn mark_import(&mut self) {
        if let Some(f) = self.frames.last_mut() {
            f.import = true;
        }
    }

    /// Entering the host: the guest's fuel (less what is still owed) is
    /// this call's budget.
    fn enter_host(&mut self, fuel: Option<u64>) -> Result<(), HostAbort> {
        self.available = fuel.unwrap_or(u64::MAX);
        self.frames.push(Frame::default());
        self.charge(schedule::HOST_CALL)
    }

    /// Leaving the host: charges the WASI work done and drops memory held
    /// for the call's results. Returns whether the call was an import (so
    /// the charges can be settled now).
    fn leave_host(&mut self) -> (Result<(), HostAbort>, bool) {
        let import = self.frames.pop().is_none_or(|f| f.import);
        let done = self.wasi.get();
        let work = done - self.wasi_charged;
        self.wasi_charged = done;
        (self.charge(work), import)
    }

    /// The fuel the store should have now; clears the pending charges.
    fn settle(&mut self, fuel: u64) -> u64 {
        let left = fuel.saturating_sub(self.pending);
        self.pending = 0;
        self.available = left;
        left
    }
}

fn store_fuel(store: &StoreContextMut<'_, HostState>) -> Option<u64> {
    store.get_fuel().ok()
}

/// Takes the host fuel charged since the last crossing from the store's
/// fuel (also used after the guest returned, for output conversion).
pub(crate) fn settle(store: &mut StoreContextMut<'_, HostState>) -> wasmtime::Result<()> {
    if let Some(fuel) = store_fuel(store) {
        let left = store.data_mut().meter.settle(fuel);
        store.set_fuel(left)?;
    } else {
        store.data_mut().meter.pending = 0;
    }
    Ok(())
}

fn stop(abort: HostAbort) -> wasmtime::Error {
    wasmtime::Error::new(abort)
}

/// The store's call hook: settles host fuel at every guest/host crossing
/// and turns a tripped meter into a trap.
pub(crate) fn call_hook(
    mut store: StoreContextMut<'_, HostState>,
    kind: CallHook,
) -> wasmtime::Result<()> {
    match kind {
        CallHook::CallingHost => {
            let fuel = store_fuel(&store);
            let entered = store.data_mut().meter.enter_host(fuel);
            let budget = store.data().meter.transfer_budget();
            store.set_hostcall_fuel(budget);
            entered.map_err(stop)
        }
        CallHook::ReturningFromHost => {
            let (left, import) = store.data_mut().meter.leave_host();
            if import {
                settle(&mut store)?;
            }
            if let Some(a) = store.data().meter.tripped() {
                return Err(stop(a));
            }
            left.map_err(stop)
        }
        CallHook::CallingWasm => {
            settle(&mut store)?;
            store.data_mut().meter.wasm_depth += 1;
            Ok(())
        }
        CallHook::ReturningFromWasm => {
            let fuel = store_fuel(&store);
            let meter = &mut store.data_mut().meter;
            meter.wasm_depth = meter.wasm_depth.saturating_sub(1);
            meter.available = fuel.unwrap_or(u64::MAX);
            // The export returned: its result is lifted next, under the
            // transfer budget of the memory left now.
            if meter.wasm_depth == 0 {
                let budget = meter.transfer_budget();
                store.set_hostcall_fuel(budget);
            }
            Ok(())
        }
    }
}

/// Whether `e` is wasmtime refusing to lift more bytes out of guest memory
/// than the transfer budget the meter set. wasmtime 48.0.8 (pinned) raises a
/// private error type for this, so it is recognised by its text; the test
/// `oversized_transfers_are_memory_aborts` pins the behaviour.
pub(crate) fn is_transfer_refused(e: &wasmtime::Error) -> bool {
    e.chain().any(|c| {
        c.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(fuel: u64) -> Meter {
        let far = Instant::now() + std::time::Duration::from_secs(3600);
        let mut m = Meter::new(MemoryAccount::new(1 << 20), far, true);
        m.enter_host(Some(fuel)).unwrap();
        m
    }

    #[test]
    fn charges_add_up_and_settle_against_the_guest_fuel() {
        let mut m = meter(10_000);
        m.charge(1_000).unwrap();
        m.charge(2_000).unwrap();
        assert_eq!(m.host_fuel(), schedule::HOST_CALL + 3_000);
        assert_eq!(m.settle(10_000), 10_000 - 3_000 - schedule::HOST_CALL);
        assert_eq!(m.tripped(), None);
    }

    #[test]
    fn exhausting_the_fuel_trips_and_stays_tripped() {
        let mut m = meter(schedule::HOST_CALL + 500);
        assert_eq!(m.charge(501), Err(HostAbort::Fuel));
        assert_eq!(m.charge(1), Err(HostAbort::Fuel));
        assert_eq!(m.check_deadline(), Err(HostAbort::Fuel));
        assert_eq!(m.tripped(), Some(HostAbort::Fuel));
        assert_eq!(
            m.host_fuel(),
            schedule::HOST_CALL + 500,
            "never more than the budget"
        );
        assert_eq!(m.settle(schedule::HOST_CALL + 500), 0);
    }

    #[test]
    fn a_passed_deadline_trips_the_wall_clock() {
        let mut m = Meter::new(MemoryAccount::new(1 << 20), Instant::now(), true);
        m.available = u64::MAX;
        m.charge(1).unwrap();
        assert_eq!(
            m.charge(DEADLINE_CHECK_UNITS),
            Err(HostAbort::WallClock),
            "long work reads the clock"
        );
        assert_eq!(
            m.trip(HostAbort::Fuel),
            HostAbort::WallClock,
            "the first cause wins"
        );
    }

    #[test]
    fn unmetered_runs_count_but_never_run_out() {
        let mut m = Meter::unlimited();
        m.enter_host(None).unwrap();
        m.charge(u64::MAX / 2).unwrap();
        m.charge(u64::MAX / 2).unwrap();
        assert!(m.host_fuel() > u64::MAX / 2);
    }

    #[test]
    fn wasi_work_is_charged_on_return() {
        let mut m = meter(1_000_000);
        m.wasi_work().add(4096);
        m.leave_host().0.unwrap();
        assert_eq!(m.host_fuel(), schedule::HOST_CALL + 4096);
        m.leave_host().0.unwrap();
        assert_eq!(m.host_fuel(), schedule::HOST_CALL + 4096, "charged once");
    }

    #[test]
    fn call_scoped_memory_is_released_when_its_call_returns() {
        let mut m = meter(1_000_000);
        m.mark_import();
        let r = m.memory().reserve(1000).unwrap();
        m.hold_until_return(r);
        let r = m.memory().reserve(24).unwrap();
        m.hold_until_return(r);
        assert_eq!(m.memory().host_used(), 1024);
        // A libcall while the results are lowered (memory.grow in realloc).
        m.enter_host(Some(1_000_000)).unwrap();
        assert!(!m.leave_host().1, "a libcall");
        assert_eq!(m.memory().host_used(), 1024, "still being lowered");
        assert!(m.leave_host().1, "the import");
        assert_eq!(m.memory().host_used(), 0);
    }

    #[test]
    fn the_transfer_budget_follows_free_memory() {
        let far = Instant::now() + std::time::Duration::from_secs(3600);
        let m = Meter::new(MemoryAccount::new(100 << 20), far, true);
        assert_eq!(m.transfer_budget(), 40 << 20);
        let _r = m.memory().reserve(100 << 20).unwrap();
        assert_eq!(m.transfer_budget() as u64, MIN_TRANSFER_BYTES);
    }
}
