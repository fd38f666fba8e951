//! Single-column reductions (sum, count, mean, min/max) and the dot
//! product used for regressions.

use super::{LANES, full_chunks, reduce_lanes};
use crate::is_valid;

/// Number of present rows among the first `len`.
///
/// ```
/// use sluice_guest::kernels::count_valid;
/// assert_eq!(count_valid(10, Some(&[0xFF, 0b01])), 9);
/// assert_eq!(count_valid(10, None), 10);
/// ```
pub fn count_valid(len: usize, validity: Option<&[u8]>) -> usize {
    let Some(bits) = validity else { return len };
    let full = full_chunks(len, validity);
    let whole: usize = bits[..full].iter().map(|b| b.count_ones() as usize).sum();
    whole
        + (full * LANES..len)
            .filter(|&i| is_valid(validity, i))
            .count()
}

/// Sum of the present values and how many there are.
///
/// ```
/// use sluice_guest::kernels::sum_count;
/// assert_eq!(sum_count(&[1.0, f64::NAN, 2.0], Some(&[0b101])), (3.0, 2));
/// ```
pub fn sum_count(values: &[f64], validity: Option<&[u8]>) -> (f64, u64) {
    let full = full_chunks(values.len(), validity);
    let (chunks, _) = values[..full * LANES].as_chunks::<LANES>();
    let mut acc = [0.0; LANES];
    let mut count = 0u64;
    match validity {
        None => {
            for c in chunks {
                for k in 0..LANES {
                    acc[k] += c[k];
                }
            }
            count += (full * LANES) as u64;
        }
        Some(bits) => {
            for (c, &b) in chunks.iter().zip(bits) {
                if b == u8::MAX {
                    for k in 0..LANES {
                        acc[k] += c[k];
                    }
                } else if b != 0 {
                    for k in 0..LANES {
                        acc[k] += if (b >> k) & 1 == 1 { c[k] } else { 0.0 };
                    }
                }
                count += u64::from(b.count_ones());
            }
        }
    }
    let mut tail = 0.0;
    for (i, &v) in values.iter().enumerate().skip(full * LANES) {
        if is_valid(validity, i) {
            tail += v;
            count += 1;
        }
    }
    (reduce_lanes(acc) + tail, count)
}

/// Sum of the present values (0 when there are none).
///
/// ```
/// use sluice_guest::kernels::sum;
/// assert_eq!(sum(&[1.0, 2.0, 3.5], None), 6.5);
/// ```
pub fn sum(values: &[f64], validity: Option<&[u8]>) -> f64 {
    sum_count(values, validity).0
}

/// Mean of the present values, `None` when there are none.
///
/// ```
/// use sluice_guest::kernels::mean;
/// assert_eq!(mean(&[1.0, 100.0, 3.0], Some(&[0b101])), Some(2.0));
/// assert_eq!(mean(&[], None), None);
/// ```
pub fn mean(values: &[f64], validity: Option<&[u8]>) -> Option<f64> {
    let (sum, count) = sum_count(values, validity);
    (count > 0).then(|| sum / count as f64)
}

/// Smallest and largest present value, ignoring NaN; `None` if there is
/// no such value.
///
/// ```
/// use sluice_guest::kernels::min_max;
/// assert_eq!(min_max(&[3.0, -1.0, f64::NAN, 7.0], None), Some((-1.0, 7.0)));
/// assert_eq!(min_max(&[3.0], Some(&[0])), None);
/// ```
pub fn min_max(values: &[f64], validity: Option<&[u8]>) -> Option<(f64, f64)> {
    let full = full_chunks(values.len(), validity);
    let (chunks, _) = values[..full * LANES].as_chunks::<LANES>();
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let mut step = |c: &[f64; LANES], b: u8| {
        for k in 0..LANES {
            let present = (b >> k) & 1 == 1;
            lo[k] = if present && c[k] < lo[k] { c[k] } else { lo[k] };
            hi[k] = if present && c[k] > hi[k] { c[k] } else { hi[k] };
        }
    };
    match validity {
        None => chunks.iter().for_each(|c| step(c, u8::MAX)),
        Some(bits) => {
            for (c, &b) in chunks.iter().zip(bits) {
                if b != 0 {
                    step(c, b);
                }
            }
        }
    }
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for k in 0..LANES {
        min = if lo[k] < min { lo[k] } else { min };
        max = if hi[k] > max { hi[k] } else { max };
    }
    for (i, &v) in values.iter().enumerate().skip(full * LANES) {
        if is_valid(validity, i) {
            min = if v < min { v } else { min };
            max = if v > max { v } else { max };
        }
    }
    (min <= max).then_some((min, max))
}

/// Sum of `a[i] * b[i]` over the rows present in `validity` (and present
/// in both slices); the building block of regressions and covariances.
///
/// ```
/// use sluice_guest::kernels::dot;
/// assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], None), 32.0);
/// assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, f64::NAN, 6.0], Some(&[0b101])), 22.0);
/// ```
pub fn dot(a: &[f64], b: &[f64], validity: Option<&[u8]>) -> f64 {
    let len = a.len().min(b.len());
    let full = full_chunks(len, validity);
    let (ca, _) = a[..full * LANES].as_chunks::<LANES>();
    let (cb, _) = b[..full * LANES].as_chunks::<LANES>();
    let mut acc = [0.0; LANES];
    match validity {
        None => {
            for (x, y) in ca.iter().zip(cb) {
                for k in 0..LANES {
                    acc[k] += x[k] * y[k];
                }
            }
        }
        Some(bits) => {
            for ((x, y), &m) in ca.iter().zip(cb).zip(bits) {
                if m == u8::MAX {
                    for k in 0..LANES {
                        acc[k] += x[k] * y[k];
                    }
                } else if m != 0 {
                    for k in 0..LANES {
                        acc[k] += if (m >> k) & 1 == 1 { x[k] * y[k] } else { 0.0 };
                    }
                }
            }
        }
    }
    let mut tail = 0.0;
    for i in full * LANES..len {
        if is_valid(validity, i) {
            tail += a[i] * b[i];
        }
    }
    reduce_lanes(acc) + tail
}
