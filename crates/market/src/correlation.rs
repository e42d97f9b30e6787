//! Several assets driven by correlated normal shocks.
//!
//! A correlation matrix `C` (one row per asset) is checked (square, finite, unit diagonal,
//! off-diagonal within [-1, 1], symmetric, positive definite) and factored as `C = L L^T`
//! (Cholesky, through nalgebra). If `z` is a vector of independent standard normals, `L z` has
//! covariance `L L^T = C`: the standard construction of correlated Gaussian shocks (Glasserman
//! 2003, §2.3.3). Each asset's process then uses its component where it would use its own `Z`.

use crate::error::{CorrelationError, MarketError};
use crate::rng::PathRng;
use nalgebra::{linalg::Cholesky, DMatrix};
use rand::RngExt;
use rand_distr::StandardNormal;

/// Tolerance on `|C_ij - C_ji|` and `|C_ii - 1|`.
pub const SYMMETRY_TOLERANCE: f64 = 1e-9;

/// Checks a correlation matrix given as rows and returns it as a matrix.
///
/// Checks, in this order, naming the first failure: not empty; square; finite entries; unit
/// diagonal (within [`SYMMETRY_TOLERANCE`]); off-diagonal within [-1, 1]; symmetric (within
/// [`SYMMETRY_TOLERANCE`]); positive definite (nalgebra's Cholesky succeeds; the error names the
/// first leading block that fails).
pub fn validate_correlation(rows: &[Vec<f64>]) -> Result<DMatrix<f64>, CorrelationError> {
    let n = rows.len();
    if n == 0 {
        return Err(CorrelationError::Empty);
    }
    for (row, r) in rows.iter().enumerate() {
        if r.len() != n {
            return Err(CorrelationError::NotSquare { row, len: r.len(), n });
        }
    }
    for (row, r) in rows.iter().enumerate() {
        for (col, &value) in r.iter().enumerate() {
            if !value.is_finite() {
                return Err(CorrelationError::NotFinite { row, col, value });
            }
        }
    }
    for (index, r) in rows.iter().enumerate() {
        if (r[index] - 1.0).abs() > SYMMETRY_TOLERANCE {
            return Err(CorrelationError::DiagonalNotOne { index, value: r[index] });
        }
    }
    for (row, r) in rows.iter().enumerate() {
        for (col, &value) in r.iter().enumerate() {
            if row != col && !(-1.0..=1.0).contains(&value) {
                return Err(CorrelationError::OutOfRange { row, col, value });
            }
        }
    }
    for (row, r) in rows.iter().enumerate() {
        for (col, &upper) in r.iter().enumerate().skip(row + 1) {
            let lower = rows[col][row];
            if (upper - lower).abs() > SYMMETRY_TOLERANCE {
                return Err(CorrelationError::NotSymmetric { row, col, upper, lower });
            }
        }
    }
    let m = DMatrix::from_fn(n, n, |i, j| rows[i][j]);
    if Cholesky::new(m.clone()).is_none() {
        let row = (1..=n)
            .find(|&k| Cholesky::new(m.view((0, 0), (k, k)).into_owned()).is_none())
            .map_or(n - 1, |k| k - 1);
        return Err(CorrelationError::NotPositiveDefinite { row });
    }
    Ok(m)
}

/// Turns independent standard normals into normals with a given correlation matrix, through its
/// Cholesky factor `L`: `x = L z`.
#[derive(Clone, Debug)]
pub struct CorrelatedNormals {
    /// The lower triangle of `L`, row by row: row `i` holds `L_i0 .. L_ii`.
    lower: Vec<f64>,
    dim: usize,
}

impl CorrelatedNormals {
    /// Checks `rows` (see [`validate_correlation`]) and factors it.
    pub fn new(rows: &[Vec<f64>]) -> Result<Self, MarketError> {
        let m = validate_correlation(rows)?;
        let n = m.nrows();
        let l = Cholesky::new(m).ok_or(CorrelationError::NotPositiveDefinite { row: n - 1 })?.unpack();
        let mut lower = Vec::with_capacity(n * (n + 1) / 2);
        for i in 0..n {
            for j in 0..=i {
                lower.push(l[(i, j)]);
            }
        }
        Ok(CorrelatedNormals { lower, dim: n })
    }

    /// Number of assets.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The Cholesky factor's entry `L_ij` (0 above the diagonal).
    pub fn factor(&self, i: usize, j: usize) -> f64 {
        if j > i {
            0.0
        } else {
            self.lower[i * (i + 1) / 2 + j]
        }
    }

    /// Replaces the independent standard normals in `z` (length [`Self::dim`]) by correlated ones,
    /// `z <- L z`, in place and without allocating (rows from the last, each uses only the
    /// entries at or before its own index, still untouched).
    ///
    /// # Panics
    /// If `z.len() != self.dim()` (a programming error, not an input error).
    #[inline]
    pub fn correlate_in_place(&self, z: &mut [f64]) {
        assert_eq!(z.len(), self.dim, "correlate_in_place: wrong dimension");
        for i in (0..self.dim).rev() {
            let row = &self.lower[i * (i + 1) / 2..i * (i + 1) / 2 + i + 1];
            z[i] = row.iter().zip(&z[..=i]).map(|(l, x)| l * x).sum();
        }
    }

    /// Fills `out` (length [`Self::dim`]) with correlated standard normals drawn from `rng`
    /// (`dim` standard normals, in order, then `L z`).
    #[inline]
    pub fn sample(&self, rng: &mut PathRng, out: &mut [f64]) {
        for x in out.iter_mut() {
            *x = rng.sample(StandardNormal);
        }
        self.correlate_in_place(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Purpose};
    use crate::testutil::assert_within_4se;

    fn rows(a: &[&[f64]]) -> Vec<Vec<f64>> {
        a.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn sample_correlation_is_recovered() {
        let c = rows(&[&[1.0, 0.6, -0.3], &[0.6, 1.0, 0.2], &[-0.3, 0.2, 1.0]]);
        let cn = CorrelatedNormals::new(&c).unwrap();
        let n = 20_000;
        let mut rng = stream(61, 0, Purpose::Exogenous);
        let mut xs = vec![[0.0; 3]; n];
        for x in xs.iter_mut() {
            cn.sample(&mut rng, x);
        }
        for i in 0..3 {
            for j in 0..3 {
                let mean = |k: usize| xs.iter().map(|x| x[k]).sum::<f64>() / n as f64;
                let (mi, mj) = (mean(i), mean(j));
                let cov: f64 = xs.iter().map(|x| (x[i] - mi) * (x[j] - mj)).sum();
                let vi: f64 = xs.iter().map(|x| (x[i] - mi).powi(2)).sum();
                let vj: f64 = xs.iter().map(|x| (x[j] - mj).powi(2)).sum();
                let r = cov / (vi * vj).sqrt();
                if i == j {
                    assert!((r - 1.0).abs() < 1e-12);
                    // Unit variance: Var of a sample variance of normals is 2 / n.
                    assert_within_4se("variance", vi / (n as f64 - 1.0), (2.0 / n as f64).sqrt(), 1.0);
                } else {
                    // The standard error of a sample correlation, (1 - rho^2) / sqrt(n).
                    let rho = c[i][j];
                    let se = (1.0 - rho * rho) / (n as f64).sqrt();
                    assert_within_4se(&format!("corr[{i}][{j}]"), r, se, rho);
                }
            }
        }
    }

    #[test]
    fn factor_by_hand() {
        // [[1, r], [r, 1]]: L = [[1, 0], [r, sqrt(1 - r^2)]].
        let cn = CorrelatedNormals::new(&rows(&[&[1.0, 0.8], &[0.8, 1.0]])).unwrap();
        assert_eq!(cn.dim(), 2);
        assert!((cn.factor(1, 0) - 0.8).abs() < 1e-15 && (cn.factor(1, 1) - 0.6).abs() < 1e-15);
        assert_eq!(cn.factor(0, 1), 0.0);
        let mut z = [2.0, -1.0];
        cn.correlate_in_place(&mut z);
        assert!((z[0] - 2.0).abs() < 1e-15 && (z[1] - (1.6 - 0.6)).abs() < 1e-15, "{z:?}");
    }

    #[test]
    fn bad_matrices_are_typed_errors() {
        let check = |m: Vec<Vec<f64>>, want: CorrelationError| {
            assert_eq!(validate_correlation(&m).unwrap_err(), want);
            let e = CorrelatedNormals::new(&m).unwrap_err();
            assert!(matches!(e, MarketError::Correlation(ref c) if *c == want), "{e:?}");
        };
        check(vec![], CorrelationError::Empty);
        check(rows(&[&[1.0, 0.5], &[0.5]]), CorrelationError::NotSquare { row: 1, len: 1, n: 2 });
        let inf = f64::INFINITY;
        check(rows(&[&[1.0, inf], &[0.5, 1.0]]), CorrelationError::NotFinite { row: 0, col: 1, value: inf });
        let e = validate_correlation(&rows(&[&[1.0, 0.5], &[f64::NAN, 1.0]])).unwrap_err();
        assert!(matches!(e, CorrelationError::NotFinite { row: 1, col: 0, .. }), "{e:?}");
        check(rows(&[&[1.0, 0.5], &[0.5, 0.9]]), CorrelationError::DiagonalNotOne { index: 1, value: 0.9 });
        check(rows(&[&[1.0, 1.5], &[1.5, 1.0]]), CorrelationError::OutOfRange { row: 0, col: 1, value: 1.5 });
        check(
            rows(&[&[1.0, 0.5], &[0.4, 1.0]]),
            CorrelationError::NotSymmetric { row: 0, col: 1, upper: 0.5, lower: 0.4 },
        );
        // Pairwise fine, jointly impossible: x, y, z with corr(x,y) = corr(y,z) = 0.9 and
        // corr(x,z) = -0.9. The first two rows are fine, the third fails.
        check(
            rows(&[&[1.0, 0.9, -0.9], &[0.9, 1.0, 0.9], &[-0.9, 0.9, 1.0]]),
            CorrelationError::NotPositiveDefinite { row: 2 },
        );
        // Perfect correlation is only semi-definite.
        check(rows(&[&[1.0, 1.0], &[1.0, 1.0]]), CorrelationError::NotPositiveDefinite { row: 1 });
        let e = MarketError::from(CorrelationError::NotPositiveDefinite { row: 2 }).to_string();
        assert!(e.starts_with("correlation matrix: not positive definite"), "{e}");
    }
}
