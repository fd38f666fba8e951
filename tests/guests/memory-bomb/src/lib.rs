//! `memory-bomb`: allocates 16 MiB chunks forever and keeps them all.
//!
//! Every page of every chunk is written so the memory is really used. The
//! run must end when the memory cap refuses to grow linear memory.

use std::hint::black_box;

use sluice_guest::*;

/// The analytic.
pub struct MemoryBomb;

/// Bytes per allocation.
pub const CHUNK: usize = 16 << 20;

impl Analytic for MemoryBomb {
    fn run(_: &mut Ctx, _: &str) -> Result<Table> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; CHUNK];
            let mark = hoard.len() as u8 | 1;
            for byte in chunk.iter_mut().step_by(4096) {
                *byte = mark;
            }
            hoard.push(black_box(chunk));
        }
    }
}

export!(MemoryBomb);
