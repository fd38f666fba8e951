//! `sleeper`: sleeps through WASI's monotonic clock with
//! `std::thread::sleep`, for the number of milliseconds in its parameters
//! (20,000 when none are given), and returns how long `Instant` says it
//! slept (column `slept_ns`).
//!
//! Under a real clock this held its run (and a host thread) for the whole
//! sleep. With virtual time a sleep returns at once: a sleep that fits in
//! the run's `wall_ms` reports exactly its length, a longer one ends the
//! run with `aborted.wall-clock` without waiting.

use std::time::{Duration, Instant};

use sluice_guest::*;

/// The analytic.
pub struct Sleeper;

impl Analytic for Sleeper {
    fn run(_: &mut Ctx, params: &str) -> Result<Table> {
        let ms: u64 = params.trim().parse().unwrap_or(20_000);
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(ms));
        let slept = start.elapsed().as_nanos();
        Ok(Table::new().i64("slept_ns", [i64::try_from(slept).ok()]))
    }
}

export!(Sleeper);
