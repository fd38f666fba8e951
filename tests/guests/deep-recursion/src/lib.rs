//! `deep-recursion`: recurses without bound until the stack overflows.
//!
//! Each frame is small and keeps its state in wasm locals, not in linear
//! memory, and the recursion is not a tail call (work follows the call),
//! so it is the wasm call stack that overflows and the engine's stack cap
//! that must stop it.

use std::hint::black_box;

use sluice_guest::*;

/// The analytic.
pub struct DeepRecursion;

/// Goes one level deeper, forever (the exit condition never holds).
#[inline(never)]
pub fn dive(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    dive(depth + 1).wrapping_mul(3) ^ depth
}

impl Analytic for DeepRecursion {
    fn run(_: &mut Ctx, _: &str) -> Result<Table> {
        let deepest = black_box(dive(black_box(0)));
        Ok(Table::new().i64("depth", [deepest as i64]))
    }
}

export!(DeepRecursion);
