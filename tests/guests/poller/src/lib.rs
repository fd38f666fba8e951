//! `poller`: waits on WASI pollables directly (`wasi:clocks/monotonic-clock`
//! and `wasi:io/poll`), in the mode its parameters name:
//!
//! - `forever` (default): `poll` on `subscribe-duration(u64::MAX)`;
//! - `block`: `block` on `subscribe-duration(u64::MAX)`;
//! - `instant`: `block` on `subscribe-instant(u64::MAX)`;
//! - `select`: `poll` on a never-ending and a 5 ms timer; returns `ready`
//!   (the indices `poll` returned) and `now_ns` (the clock after it);
//! - `spin`: blocks on zero-length timers forever (host calls that never
//!   advance time);
//! - `now`: reads the clock forever (the cheapest host call there is);
//! - `hoard`: keeps subscribing timers without dropping any (each one is a
//!   host-side resource).
//!
//! Under a real clock `forever` hung the node. With virtual time the first
//! three end the run with `aborted.wall-clock` at once, `select` returns the
//! short timer 5 ms later in virtual time, and `spin` runs until a cap stops it.

use sluice_guest::*;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll;

/// The analytic.
pub struct Poller;

impl Analytic for Poller {
    fn run(_: &mut Ctx, params: &str) -> Result<Table> {
        match params.trim() {
            "block" => monotonic_clock::subscribe_duration(u64::MAX).block(),
            "instant" => monotonic_clock::subscribe_instant(u64::MAX).block(),
            "select" => {
                let long = monotonic_clock::subscribe_duration(u64::MAX);
                let short = monotonic_clock::subscribe_duration(5_000_000);
                let ready = poll::poll(&[&long, &short]);
                let now = monotonic_clock::now();
                return Ok(Table::new()
                    .i64("ready", ready.iter().map(|i| Some(i64::from(*i))))
                    .i64("now_ns", ready.iter().map(|_| i64::try_from(now).ok())));
            }
            "spin" => loop {
                monotonic_clock::subscribe_duration(0).block();
            },
            "now" => loop {
                std::hint::black_box(monotonic_clock::now());
            },
            "hoard" => {
                let mut kept = Vec::new();
                loop {
                    kept.push(monotonic_clock::subscribe_duration(1));
                }
            }
            _ => {
                let p = monotonic_clock::subscribe_duration(u64::MAX);
                poll::poll(&[&p]);
            }
        }
        Ok(Table::new().i64("woke", [Some(1)]))
    }
}

export!(Poller);
