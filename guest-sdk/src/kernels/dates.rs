//! Kernels over dates and timestamps: whole columns to day, month or year
//! keys, and group-bys over integer keys of any range (such as months).

use std::collections::BTreeMap;

use super::group_sum_count;
use crate::is_valid;
use crate::time::{TimeUnit, civil_from_days, per_day};

/// The day number of every timestamp (floor division, so times before
/// 1970 fall on the right day).
///
/// ```
/// use sluice_guest::kernels::days_of;
/// use sluice_guest::time::TimeUnit;
/// assert_eq!(days_of(&[0, 86_399, 86_400, -1], TimeUnit::Second), [0, 0, 1, -1]);
/// ```
pub fn days_of(values: &[i64], unit: TimeUnit) -> Vec<i32> {
    let per_day = per_day(unit);
    values
        .iter()
        .map(|&v| v.div_euclid(per_day) as i32)
        .collect()
}

/// Month keys (months since 1970-01, see
/// [`time::month_index`](crate::time::month_index)) of day numbers.
///
/// ```
/// use sluice_guest::kernels::months_of;
/// use sluice_guest::time::days_from_civil;
/// assert_eq!(months_of(&[days_from_civil(1970, 3, 31), days_from_civil(1969, 12, 1)]), [2, -1]);
/// ```
pub fn months_of(days: &[i32]) -> Vec<i32> {
    days.iter()
        .map(|&d| {
            let (y, m, _) = civil_from_days(d);
            (y - 1970) * 12 + m as i32 - 1
        })
        .collect()
}

/// The year of every day number.
///
/// ```
/// use sluice_guest::kernels::years_of;
/// use sluice_guest::time::days_from_civil;
/// assert_eq!(years_of(&[days_from_civil(2024, 12, 31), 0]), [2024, 1970]);
/// ```
pub fn years_of(days: &[i32]) -> Vec<i32> {
    days.iter().map(|&d| civil_from_days(d).0).collect()
}

/// Widest key range a batch is grouped over with dense accumulators.
const DENSE_RANGE: i64 = 1 << 16;

/// Per-key sum and count of the present values, for integer keys of any
/// range (days, months, years): for every row `i` present in `validity`,
/// `acc[keys[i]] += (values[i], 1)`. Accumulates across calls. Within a
/// batch the keys are shifted to dense codes and summed with
/// [`group_sum_count`], so the cost per row is that of the integer
/// kernel, not of a map lookup.
///
/// ```
/// use std::collections::BTreeMap;
/// use sluice_guest::kernels::keyed_sum_count;
/// let mut acc = BTreeMap::new();
/// keyed_sum_count(&[640, 641, 640], &[1.0, 2.0, 3.0], None, &mut acc);
/// keyed_sum_count(&[-5], &[7.0], None, &mut acc);
/// assert_eq!(acc.into_iter().collect::<Vec<_>>(), [(-5, (7.0, 1)), (640, (4.0, 2)), (641, (2.0, 1))]);
/// ```
pub fn keyed_sum_count(
    keys: &[i32],
    values: &[f64],
    validity: Option<&[u8]>,
    acc: &mut BTreeMap<i32, (f64, u64)>,
) {
    let len = keys.len().min(values.len());
    let present = (0..len).filter(|&i| is_valid(validity, i));
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for i in present.clone() {
        lo = lo.min(keys[i]);
        hi = hi.max(keys[i]);
    }
    if lo > hi {
        return;
    }
    if i64::from(hi) - i64::from(lo) >= DENSE_RANGE {
        for i in present {
            let e = acc.entry(keys[i]).or_insert((0.0, 0));
            e.0 += values[i];
            e.1 += 1;
        }
        return;
    }
    // Null rows may hold any key: clamp so their (masked-out) code stays small.
    let codes: Vec<u32> = keys[..len]
        .iter()
        .map(|&k| (i64::from(k.clamp(lo, hi)) - i64::from(lo)) as u32)
        .collect();
    let (mut sums, mut counts) = (Vec::new(), Vec::new());
    group_sum_count(&codes, &values[..len], validity, &mut sums, &mut counts);
    for (code, (s, n)) in sums.into_iter().zip(counts).enumerate() {
        if n > 0 {
            let e = acc.entry(lo + code as i32).or_insert((0.0, 0));
            e.0 += s;
            e.1 += n;
        }
    }
}
