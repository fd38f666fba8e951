//! `infinite-loop`: spins forever on trivial arithmetic.
//!
//! The run must end by fuel exhaustion or the wall-clock cap, never by
//! itself. `black_box` keeps the optimiser from removing the loop.

use std::hint::black_box;

use sluice_guest::*;

/// The analytic.
pub struct InfiniteLoop;

impl Analytic for InfiniteLoop {
    fn run(_: &mut Ctx, _: &str) -> Result<Table> {
        let mut x = black_box(1u64);
        loop {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
}

export!(InfiniteLoop);
