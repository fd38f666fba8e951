//! Kernels against naive per-row loops, with nulls and odd lengths.

use super::*;
use crate::is_valid;

/// Deterministic test data: values exact in binary (so sums are exact in
/// any order), NaN in null slots, and a validity pattern with full, empty
/// and mixed bytes.
fn data(len: usize) -> (Vec<f64>, Vec<f64>, Vec<u32>, Vec<u8>) {
    let mut bits = vec![0u8; len.div_ceil(8)];
    for i in 0..len {
        let byte = i / 8;
        let present = match byte % 4 {
            0 => true,
            1 => false,
            _ => (i * 7 + byte) % 3 != 0,
        };
        if present {
            bits[byte] |= 1 << (i % 8);
        }
    }
    let a = (0..len)
        .map(|i| {
            if is_valid(Some(&bits), i) {
                ((i * 37) % 101) as f64 * 0.5 - 20.0
            } else {
                f64::NAN
            }
        })
        .collect();
    let b = (0..len).map(|i| ((i * 13) % 17) as f64 - 8.0).collect();
    let codes = (0..len).map(|i| ((i * 5) % 11) as u32).collect();
    (a, b, codes, bits)
}

fn naive_sum_count(v: &[f64], bits: Option<&[u8]>) -> (f64, u64) {
    let present = (0..v.len()).filter(|&i| is_valid(bits, i));
    present.fold((0.0, 0), |(s, n), i| (s + v[i], n + 1))
}

const LENGTHS: [usize; 8] = [0, 1, 7, 8, 9, 63, 64, 1001];

#[test]
fn reductions_match_naive_loops() {
    for len in LENGTHS {
        let (a, b, _, bits) = data(len);
        let v = Some(bits.as_slice());
        assert_eq!(sum_count(&a, v), naive_sum_count(&a, v), "len {len}");
        assert_eq!(sum_count(&b, None), naive_sum_count(&b, None), "len {len}");
        assert_eq!(count_valid(len, v) as u64, naive_sum_count(&a, v).1);
        let present: Vec<f64> = (0..len).filter(|&i| is_valid(v, i)).map(|i| a[i]).collect();
        let expected = present.iter().fold(None, |acc: Option<(f64, f64)>, &x| {
            Some(acc.map_or((x, x), |(lo, hi)| (lo.min(x), hi.max(x))))
        });
        assert_eq!(min_max(&a, v), expected, "len {len}");
        let naive_dot: f64 = (0..len)
            .filter(|&i| is_valid(v, i))
            .map(|i| a[i] * b[i])
            .sum();
        assert_eq!(dot(&a, &b, v), naive_dot, "len {len}");
        assert_eq!(
            mean(&a, v),
            (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
        );
    }
}

#[test]
fn group_kernels_match_naive_loops() {
    for len in LENGTHS {
        let (a, _, codes, bits) = data(len);
        let v = Some(bits.as_slice());
        let (mut sums, mut counts, mut only) = (vec![0.0; 2], vec![0; 2], Vec::new());
        group_sum_count(&codes, &a, v, &mut sums, &mut counts);
        group_count(&codes, v, &mut only);
        let groups = codes.iter().max().map_or(2, |&m| (m as usize + 1).max(2));
        let (mut ns, mut nc) = (vec![0.0; groups], vec![0u64; groups]);
        for i in (0..len).filter(|&i| is_valid(v, i)) {
            ns[codes[i] as usize] += a[i];
            nc[codes[i] as usize] += 1;
        }
        assert_eq!((&sums, &counts), (&ns, &nc), "len {len}");
        assert_eq!(only, nc[..only.len()], "len {len}");
    }
}

#[test]
fn group_kernels_accumulate_across_batches() {
    let (mut sums, mut counts) = (Vec::new(), Vec::new());
    group_sum_count(&[0, 0], &[1.0, 2.0], None, &mut sums, &mut counts);
    group_sum_count(
        &[5; 20],
        &[1.0; 20],
        Some(&[0xFF, 0x0F, 0]),
        &mut sums,
        &mut counts,
    );
    assert_eq!(sums, [3.0, 0.0, 0.0, 0.0, 0.0, 12.0]);
    assert_eq!(counts, [2, 0, 0, 0, 0, 12]);
}

#[test]
fn short_bitmaps_count_missing_rows_as_null() {
    let values = [1.0; 20];
    assert_eq!(sum_count(&values, Some(&[0xFF])), (8.0, 8));
    assert_eq!(count_valid(20, Some(&[0xFF])), 8);
    assert_eq!(min_max(&values, Some(&[])), None);
}

#[test]
fn bitmap_algebra() {
    assert_eq!(
        bitmap_and(Some(&[0xFF, 0xFF]), None, 10),
        Some(vec![0xFF, 0b11])
    );
    assert_eq!(
        bitmap_and(Some(&[0xF0]), Some(&[0x3C]), 8),
        Some(vec![0x30])
    );
    assert_eq!(bitmap_not(&[0xFF], 12), vec![0, 0x0F]);
    assert_eq!(bitmap_from_bools(&[]), Vec::<u8>::new());
    assert_eq!(max_code(&[1, 2, 3, 4, 5, 6, 7, 8, 40, 9]), Some(40));
}
