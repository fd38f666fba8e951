//! Validity-bitmap algebra: combine null masks and filters so that one
//! bitmap can be handed to a reduction or group-by kernel.

use super::LANES;

/// Rows present in both `a` and `b`, over `len` rows. `None` when both are
/// `None` (no nulls); rows missing from a bitmap count as absent.
///
/// ```
/// use sluice_guest::kernels::bitmap_and;
/// assert_eq!(bitmap_and(Some(&[0b1100]), Some(&[0b1010]), 4), Some(vec![0b1000]));
/// assert_eq!(bitmap_and(None, Some(&[0b11]), 2), Some(vec![0b11]));
/// assert_eq!(bitmap_and(None, None, 2), None);
/// ```
pub fn bitmap_and(a: Option<&[u8]>, b: Option<&[u8]>, len: usize) -> Option<Vec<u8>> {
    let bytes = len.div_ceil(LANES);
    let byte =
        |bits: Option<&[u8]>, i: usize| bits.map_or(u8::MAX, |b| b.get(i).copied().unwrap_or(0));
    if a.is_none() && b.is_none() {
        return None;
    }
    let mut out: Vec<u8> = (0..bytes).map(|i| byte(a, i) & byte(b, i)).collect();
    clear_tail(&mut out, len);
    Some(out)
}

/// Rows absent from `bits`, over `len` rows (bits past `len` stay clear).
///
/// ```
/// use sluice_guest::kernels::bitmap_not;
/// assert_eq!(bitmap_not(&[0b0000_0101], 4), vec![0b1010]);
/// ```
pub fn bitmap_not(bits: &[u8], len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = (0..len.div_ceil(LANES))
        .map(|i| !bits.get(i).copied().unwrap_or(0))
        .collect();
    clear_tail(&mut out, len);
    out
}

/// A bitmap with the bit set where `values[i] != 0` (booleans as bytes).
///
/// ```
/// use sluice_guest::kernels::bitmap_from_bools;
/// assert_eq!(bitmap_from_bools(&[1, 0, 0, 1, 1, 0, 0, 0, 1]), vec![0b1_1001, 0b1]);
/// ```
pub fn bitmap_from_bools(values: &[u8]) -> Vec<u8> {
    let (chunks, tail) = values.as_chunks::<LANES>();
    let mut out: Vec<u8> = chunks
        .iter()
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |byte, (k, &v)| byte | (u8::from(v != 0) << k))
        })
        .collect();
    if !tail.is_empty() {
        let last = tail
            .iter()
            .enumerate()
            .fold(0u8, |byte, (k, &v)| byte | (u8::from(v != 0) << k));
        out.push(last);
    }
    out
}

/// Clears the bits of the last byte that lie past `len`.
fn clear_tail(bits: &mut [u8], len: usize) {
    let used = len % LANES;
    if let (Some(last), true) = (bits.last_mut(), used != 0) {
        *last &= (1u8 << used) - 1;
    }
}
