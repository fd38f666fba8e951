//! The two ways of writing `mean-by-group`'s inner loop that the benchmark
//! compares, shared verbatim by the guest and the native harness
//! (`benches/compare.rs` includes this file), so both run the same code.
//!
//! Plain Rust over `sluice_guest` only: no host imports.

use sluice_guest::{is_valid, kernels};

/// One batch's columns: `region` codes, `amount` values and both bitmaps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cols<'a> {
    /// Scan-stable dictionary codes of the group key.
    pub codes: &'a [u32],
    /// Validity of the key (`None`: no nulls).
    pub key_validity: Option<&'a [u8]>,
    /// The values.
    pub values: &'a [f64],
    /// Validity of the values (`None`: no nulls).
    pub validity: Option<&'a [u8]>,
}

/// Per-group sums and counts of the present values with a present key.
pub(crate) type Sums = (Vec<f64>, Vec<u64>);

/// `examples/mean-by-group`'s loop: the SDK's column kernels.
pub(crate) fn sdk_pass(batches: &[Cols<'_>]) -> Sums {
    let (mut sums, mut counts) = (Vec::new(), Vec::new());
    for b in batches {
        let keyed = kernels::bitmap_and(b.key_validity, b.validity, b.codes.len());
        kernels::group_sum_count(b.codes, b.values, keyed.as_deref(), &mut sums, &mut counts);
    }
    (sums, counts)
}

/// The same, as the per-row loop an analyst might write first.
pub(crate) fn scalar_pass(batches: &[Cols<'_>]) -> Sums {
    let (mut sums, mut counts): Sums = (Vec::new(), Vec::new());
    for b in batches {
        for i in 0..b.codes.len().min(b.values.len()) {
            if is_valid(b.key_validity, i) && is_valid(b.validity, i) {
                let g = b.codes[i] as usize;
                if g >= sums.len() {
                    sums.resize(g + 1, 0.0);
                    counts.resize(g + 1, 0);
                }
                sums[g] += b.values[i];
                counts[g] += 1;
            }
        }
    }
    (sums, counts)
}
