//! Least squares from accumulated cross products.
//!
//! Sums are accumulated around a shift (the first batch's means), which
//! keeps the cross products small and avoids the cancellation of raw
//! `sum(x * x) - n * mean^2`. The slopes solve the centred normal
//! equations by Gaussian elimination with partial pivoting; the intercept
//! follows from the means.

/// Running sums over complete rows, for `k` variables shifted by `shift`:
/// `sums[j] = Σ (v_j - shift_j)`, `cross[j][l] = Σ (v_j - shift_j)(v_l - shift_l)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// Rows accumulated.
    pub n: u64,
    /// Per-variable shift (set from the first batch with complete rows).
    pub shift: Vec<f64>,
    /// Shifted sums.
    pub sums: Vec<f64>,
    /// Shifted cross products (symmetric, full matrix).
    pub cross: Vec<Vec<f64>>,
}

/// A fitted model: intercept first, then one slope per predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Intercept followed by the slopes.
    pub coefficients: Vec<f64>,
    /// Share of the variance explained; `None` when the response is constant.
    pub r_squared: Option<f64>,
}

impl Moments {
    /// Empty sums for `k` variables.
    pub fn new(k: usize) -> Self {
        Moments {
            n: 0,
            shift: Vec::new(),
            sums: vec![0.0; k],
            cross: vec![vec![0.0; k]; k],
        }
    }

    /// Fits the last variable on the others (all but the last are
    /// predictors). Fails if there are too few rows or the predictors are
    /// collinear.
    pub fn fit(&self) -> Result<Fit, String> {
        let k = self.sums.len();
        let p = k - 1;
        if self.n <= k as u64 {
            return Err(format!(
                "{} complete rows are too few to fit {k} coefficients",
                self.n
            ));
        }
        let n = self.n as f64;
        let mean: Vec<f64> = self.sums.iter().map(|s| s / n).collect();
        let centred = |j: usize, l: usize| self.cross[j][l] - n * mean[j] * mean[l];
        let mut a: Vec<Vec<f64>> = (0..p)
            .map(|j| (0..p).map(|l| centred(j, l)).collect())
            .collect();
        let mut b: Vec<f64> = (0..p).map(|j| centred(j, p)).collect();
        let slopes = gauss(&mut a, &mut b).ok_or("the predictors are collinear (or constant)")?;
        let level = |j: usize| self.shift[j] + mean[j];
        let intercept = level(p) - (0..p).map(|j| slopes[j] * level(j)).sum::<f64>();
        let total = centred(p, p);
        let explained: f64 = (0..p).map(|j| slopes[j] * centred(j, p)).sum();
        let r_squared = (total > 0.0).then(|| (explained / total).clamp(0.0, 1.0));
        let mut coefficients = vec![intercept];
        coefficients.extend(slopes);
        Ok(Fit {
            coefficients,
            r_squared,
        })
    }
}

/// Solves `a x = b` in place by Gaussian elimination with partial pivoting;
/// `None` if `a` is (numerically) singular.
pub fn gauss(a: &mut [Vec<f64>], b: &mut [f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let scale = a.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let tiny = scale * 1e-12;
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= tiny || !a[pivot][col].is_finite() {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (done, below) = a.split_at_mut(col + 1);
        let pivot_row = &done[col];
        for (r, row) in below.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accumulates rows directly (what the kernels do per batch).
    fn moments(rows: &[[f64; 3]]) -> Moments {
        let mut m = Moments::new(3);
        m.shift = rows[0].to_vec();
        for r in rows {
            m.n += 1;
            for j in 0..3 {
                m.sums[j] += r[j] - m.shift[j];
                for l in 0..3 {
                    m.cross[j][l] += (r[j] - m.shift[j]) * (r[l] - m.shift[l]);
                }
            }
        }
        m
    }

    #[test]
    fn recovers_an_exact_plane() {
        let rows: Vec<[f64; 3]> = (0..50)
            .map(|i| {
                let (x1, x2) = (20.0 + (i % 7) as f64 * 5.0, 18.0 + (i % 5) as f64 * 2.5);
                [x1, x2, 90.0 + 0.5 * x1 + 1.25 * x2]
            })
            .collect();
        let fit = moments(&rows).fit().unwrap();
        for (got, want) in fit.coefficients.iter().zip([90.0, 0.5, 1.25]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        assert!((fit.r_squared.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn refuses_collinear_predictors_and_too_few_rows() {
        let collinear: Vec<[f64; 3]> = (0..10).map(|i| [i as f64, 2.0 * i as f64, 1.0]).collect();
        assert!(moments(&collinear).fit().is_err());
        assert!(moments(&collinear[..3]).fit().is_err());
    }

    #[test]
    fn gauss_pivots() {
        let mut a = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        let mut b = vec![2.0, 3.0];
        assert_eq!(gauss(&mut a, &mut b), Some(vec![3.0, 2.0]));
    }
}
