//! Fast column kernels: reach for these instead of writing per-row loops
//! (sums, means, min/max, dot products, group-bys over codes or any
//! integer keys, bitmaps, and date keys from timestamps).
//!
//! Inside the sandbox every wasm instruction costs fuel and every loop
//! back-edge carries a fuel check, so these kernels walk columns eight rows
//! at a time: eight independent accumulators, one validity byte per step,
//! a fast path when a byte is `0xFF` (all present) or the column has no
//! bitmap, a skip when a byte is `0x00`, and branch-free selects in between.
//! They are plain safe Rust and give bit-identical results natively and in
//! wasm, so a native baseline can run the very same code.
//!
//! Validity bitmaps are LSB-first with a set bit meaning "present"; `None`
//! means no nulls, and rows past the end of a bitmap count as null. Null
//! slots are never read as values, so they may hold anything (even NaN).

mod bitmap;
mod dates;
mod group;
mod reduce;

pub use bitmap::{bitmap_and, bitmap_from_bools, bitmap_not};
pub use dates::{days_of, keyed_sum_count, months_of, years_of};
pub use group::{group_count, group_sum_count, max_code};
pub use reduce::{count_valid, dot, mean, min_max, sum, sum_count};

/// Rows handled per step: one validity byte.
const LANES: usize = 8;

/// Number of leading 8-row chunks that have a validity byte (all chunks
/// when there is no bitmap).
#[inline]
fn full_chunks(len: usize, validity: Option<&[u8]>) -> usize {
    let chunks = len / LANES;
    validity.map_or(chunks, |bits| chunks.min(bits.len()))
}

/// Sums eight lanes pairwise, in a fixed order.
#[inline]
fn reduce_lanes(a: [f64; LANES]) -> f64 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

#[cfg(test)]
mod tests;
