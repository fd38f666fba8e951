//! Group-bys over integer codes (dictionary codes, bins, small ids).
//!
//! Accumulators are plain vectors indexed by code. They grow as larger
//! codes appear and stay at the largest code seen so far plus one; a group
//! whose count is 0 had no present rows. Internally the accumulators are
//! sized to a power of two for the duration of a call, so a masked index
//! needs no bounds check per row.

use super::{LANES, full_chunks};
use crate::is_valid;

/// Largest code, `None` for an empty slice.
///
/// ```
/// use sluice_guest::kernels::max_code;
/// assert_eq!(max_code(&[3, 9, 1]), Some(9));
/// assert_eq!(max_code(&[]), None);
/// ```
pub fn max_code(codes: &[u32]) -> Option<u32> {
    let (chunks, tail) = codes.as_chunks::<LANES>();
    let mut m = [0u32; LANES];
    for c in chunks {
        for (m, &c) in m.iter_mut().zip(c) {
            *m = if c > *m { c } else { *m };
        }
    }
    let lanes = m.into_iter().chain(tail.iter().copied()).max();
    lanes.filter(|_| !codes.is_empty())
}

/// Most groups a group-by kernel supports (2^31; the accumulators alone
/// would need 16 GiB long before that).
const MAX_GROUPS: usize = 1 << 31;

/// The accumulator length after seeing `codes` (at least `current`), and
/// the power-of-two working length used during a call.
fn sizes(codes: &[u32], current: usize) -> (usize, usize) {
    let used = max_code(codes).map_or(0, |m| m as usize + 1);
    let keep = used.max(current);
    let work = keep.next_power_of_two();
    // Also tells the optimiser that `mask + 1` cannot overflow, which lets
    // it drop the per-row bounds checks on `accumulator[code & mask]`.
    assert!(
        work <= MAX_GROUPS,
        "group-by kernels support at most 2^31 groups"
    );
    (keep, work)
}

/// Per-code sum and count of the present values: for every row `i` present
/// in `validity`, `sums[codes[i]] += values[i]` and `counts[codes[i]] += 1`.
/// Accumulates across calls (one call per batch); rows beyond the shorter of
/// `codes` and `values` are ignored.
///
/// ```
/// use sluice_guest::kernels::group_sum_count;
/// let (mut sums, mut counts) = (Vec::new(), Vec::new());
/// group_sum_count(&[0, 1, 0], &[1.0, 5.0, 3.0], None, &mut sums, &mut counts);
/// group_sum_count(&[2, 1], &[7.0, f64::NAN], Some(&[0b01]), &mut sums, &mut counts);
/// assert_eq!(sums, [4.0, 5.0, 7.0]);
/// assert_eq!(counts, [2, 1, 1]);
/// ```
pub fn group_sum_count(
    codes: &[u32],
    values: &[f64],
    validity: Option<&[u8]>,
    sums: &mut Vec<f64>,
    counts: &mut Vec<u64>,
) {
    let len = codes.len().min(values.len());
    let (codes, values) = (&codes[..len], &values[..len]);
    let (keep, work) = sizes(codes, sums.len().max(counts.len()));
    sums.resize(work, 0.0);
    counts.resize(work, 0);
    let mask = work - 1;
    let (s, n) = (&mut sums[..work], &mut counts[..work]);
    let full = full_chunks(len, validity);
    let (cc, _) = codes[..full * LANES].as_chunks::<LANES>();
    let (cv, _) = values[..full * LANES].as_chunks::<LANES>();
    match validity {
        None => {
            for (c, v) in cc.iter().zip(cv) {
                for (&c, &v) in c.iter().zip(v) {
                    let g = c as usize & mask;
                    s[g] += v;
                    n[g] += 1;
                }
            }
        }
        Some(bits) => {
            for ((c, v), &b) in cc.iter().zip(cv).zip(bits) {
                if b == u8::MAX {
                    for (&c, &v) in c.iter().zip(v) {
                        let g = c as usize & mask;
                        s[g] += v;
                        n[g] += 1;
                    }
                } else if b != 0 {
                    for (k, (&c, &v)) in c.iter().zip(v).enumerate() {
                        let bit = (b >> k) & 1;
                        let g = c as usize & mask;
                        s[g] += if bit == 1 { v } else { 0.0 };
                        n[g] += u64::from(bit);
                    }
                }
            }
        }
    }
    for i in full * LANES..len {
        if is_valid(validity, i) {
            let g = codes[i] as usize & mask;
            s[g] += values[i];
            n[g] += 1;
        }
    }
    sums.truncate(keep);
    counts.truncate(keep);
}

/// Per-code count of the present rows: `counts[codes[i]] += 1` for every
/// row `i` present in `validity`. Accumulates across calls.
///
/// ```
/// use sluice_guest::kernels::group_count;
/// let mut counts = Vec::new();
/// group_count(&[1, 1, 0, 3], Some(&[0b1011]), &mut counts);
/// assert_eq!(counts, [0, 2, 0, 1]);
/// ```
pub fn group_count(codes: &[u32], validity: Option<&[u8]>, counts: &mut Vec<u64>) {
    let (keep, work) = sizes(codes, counts.len());
    counts.resize(work, 0);
    let mask = work - 1;
    let n = &mut counts[..work];
    let full = full_chunks(codes.len(), validity);
    let (cc, _) = codes[..full * LANES].as_chunks::<LANES>();
    match validity {
        None => {
            for c in cc {
                for &c in c {
                    n[c as usize & mask] += 1;
                }
            }
        }
        Some(bits) => {
            for (c, &b) in cc.iter().zip(bits) {
                if b != 0 {
                    for (k, &c) in c.iter().enumerate() {
                        n[c as usize & mask] += u64::from((b >> k) & 1);
                    }
                }
            }
        }
    }
    for (i, &c) in codes.iter().enumerate().skip(full * LANES) {
        if is_valid(validity, i) {
            n[c as usize & mask] += 1;
        }
    }
    counts.truncate(keep);
}
