//! Virtual time: the guest's `wasi:clocks/monotonic-clock` and
//! `wasi:io/poll`, bound to a clock owned by the run.
//!
//! Defends against guests that block a host thread through WASI. wasmtime-wasi
//! would make `subscribe-duration` and `poll` wait on the host's real clock,
//! which epoch interruption cannot stop: a guest sleeping 20 s held its run
//! for 20 s, and one polling `subscribe-duration(u64::MAX)` hung the node.
//! Here the monotonic clock starts at 0 and moves only when the guest waits:
//! waiting on a timer advances virtual time to the timer's deadline and
//! returns at once. Once a wait would take virtual time past the run's
//! `wall_ms`, the run ends with `aborted.wall-clock` (the sleep counts as if
//! it had been real). A wait on anything that is not ready and never can be
//! (nothing outside the sandbox ever signals it) ends the run the same way.
//! Virtual time counts only the guest's waits, so it is deterministic:
//! replay sees the same readings and the same outcome.

use std::collections::HashMap;

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::sync::io::poll;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

use super::meter::{HostAbort, Meter};

/// Fuel units per pollable a `poll` call inspects.
const POLL_ENTRY: u64 = 20;

/// The run's virtual monotonic clock and the timers subscribed to it.
#[derive(Debug)]
pub struct VirtualClock {
    now: u64,
    budget: u64,
    /// Timer pollables by resource index, with their deadlines.
    timers: HashMap<u32, u64>,
}

impl VirtualClock {
    /// A clock at 0 whose waits may take it to `budget_ns` at most.
    pub fn new(budget_ns: u64) -> Self {
        Self {
            now: 0,
            budget: budget_ns,
            timers: HashMap::new(),
        }
    }

    /// Virtual nanoseconds the guest has waited.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Moves the clock to `to` (never backwards), or fails once that is
    /// past the budget, leaving the clock at the budget.
    fn advance(&mut self, to: u64) -> Result<(), HostAbort> {
        if to > self.budget {
            self.now = self.budget;
            return Err(HostAbort::WallClock);
        }
        self.now = self.now.max(to);
        Ok(())
    }
}

/// A timer's place in the resource table. It carries nothing: deadlines
/// live in [`VirtualClock`], and only this module's `poll` waits on it.
struct Timer;

#[wasmtime_wasi::async_trait]
impl Pollable for Timer {
    async fn ready(&mut self) {}
}

/// What the virtual clock and poll implementations reach in the host state.
pub(crate) struct VirtualIo<'a> {
    pub(crate) clock: &'a mut VirtualClock,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) meter: &'a mut Meter,
}

/// [`HasData`] marker for the virtual clock and poll interfaces.
pub(crate) struct VirtualTime;

impl HasData for VirtualTime {
    type Data<'a> = VirtualIo<'a>;
}

fn abort(meter: &mut Meter, a: HostAbort) -> wasmtime::Error {
    wasmtime::Error::new(meter.trip(a))
}

impl VirtualIo<'_> {
    fn timer(&mut self, deadline: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let timer = self.table.push(Timer)?;
        let pollable = subscribe(self.table, timer)?;
        self.clock.timers.insert(pollable.rep(), deadline);
        Ok(pollable)
    }

    /// Whether a pollable that is not a timer is ready now (never waits).
    fn other_ready(&mut self, rep: u32) -> wasmtime::Result<bool> {
        poll::HostPollable::ready(&mut *self.table, Resource::new_borrow(rep))
    }

    /// Waits (virtually) until `deadline`, or ends the run.
    fn wait_until(&mut self, deadline: u64) -> wasmtime::Result<()> {
        self.clock
            .advance(deadline)
            .map_err(|a| abort(self.meter, a))
    }

    /// A wait nothing can end: virtual time runs out.
    fn wait_forever(&mut self) -> wasmtime::Error {
        let budget = self.clock.budget;
        let _ = self.clock.advance(budget);
        abort(self.meter, HostAbort::WallClock)
    }
}

impl monotonic_clock::Host for VirtualIo<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(self.clock.now)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(1)
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.timer(when)
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let deadline = self.clock.now.saturating_add(duration);
        self.timer(deadline)
    }
}

impl poll::Host for VirtualIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        if pollables.is_empty() {
            return Err(wasmtime::format_err!("empty poll list"));
        }
        self.meter
            .charge(POLL_ENTRY.saturating_mul(pollables.len() as u64))
            .map_err(wasmtime::Error::new)?;
        let mut ready = Vec::new();
        let mut earliest: Option<u64> = None;
        for (i, p) in pollables.iter().enumerate() {
            let i = u32::try_from(i)?;
            match self.clock.timers.get(&p.rep()).copied() {
                Some(d) if d <= self.clock.now => ready.push(i),
                Some(d) => earliest = Some(earliest.map_or(d, |e| e.min(d))),
                None if self.other_ready(p.rep())? => ready.push(i),
                None => {}
            }
        }
        if !ready.is_empty() {
            return Ok(ready);
        }
        let Some(next) = earliest else {
            return Err(self.wait_forever());
        };
        self.wait_until(next)?;
        Ok(pollables
            .iter()
            .enumerate()
            .filter(|(_, p)| self.clock.timers.get(&p.rep()).is_some_and(|d| *d <= next))
            .map(|(i, _)| i as u32)
            .collect())
    }
}

impl poll::HostPollable for VirtualIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        match self.clock.timers.get(&pollable.rep()) {
            Some(d) => Ok(*d <= self.clock.now),
            None => self.other_ready(pollable.rep()),
        }
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        match self.clock.timers.get(&pollable.rep()).copied() {
            Some(d) => self.wait_until(d),
            None if self.other_ready(pollable.rep())? => Ok(()),
            None => Err(self.wait_forever()),
        }
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        self.clock.timers.remove(&pollable.rep());
        poll::HostPollable::drop(&mut *self.table, pollable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_advance_virtual_time_up_to_the_budget() {
        let mut c = VirtualClock::new(1_000);
        c.advance(400).unwrap();
        c.advance(100).unwrap();
        assert_eq!(c.now(), 400, "never backwards");
        assert_eq!(c.advance(1_001), Err(HostAbort::WallClock));
        assert_eq!(c.now(), 1_000);
    }
}
