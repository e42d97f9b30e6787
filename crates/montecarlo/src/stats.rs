//! Summary statistics of per-path values (docs/MODEL.md).
//!
//! Everything is computed from the values in path order, sequentially, so no thread count or
//! sharding can change a byte: `std` with `n - 1`; `se = std / sqrt(n)`; `ci95 = mean +- z se`
//! with `z = 1.96` from 30 values on and Student's `t(0.975, n - 1)` below ([`ci95_multiplier`]);
//! quantiles by linear interpolation between order statistics (numpy's and R's default, Hyndman
//! and Fan type 7); `es95` the mean of the worst `ceil(0.05 n)` values. Over the overlapping
//! windows of a `windows` process `se` comes from batch means instead ([`overlap`]).

pub mod overlap;

/// Which tail is the bad one for the expected shortfall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worst {
    /// Larger values are worse (costs, counts).
    High,
    /// Smaller values are worse (prices).
    Low,
}

/// The statistics of one (primitive, metric).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of values.
    pub n: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); NaN when n < 2.
    pub std: f64,
    /// Standard error of the mean, `std / sqrt(n)`.
    pub se: f64,
    /// `mean - 1.96 se`.
    pub ci95_low: f64,
    /// `mean + 1.96 se`.
    pub ci95_high: f64,
    /// 1st percentile.
    pub p01: f64,
    /// 5th percentile.
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean of the worst `ceil(0.05 n)` values.
    pub es95: f64,
}

/// Fewer values than this take Student's t for their 95% interval rather than the normal 1.96.
pub const STUDENT_BELOW: u64 = 30;

/// The multiplier of the standard error in a 95% interval of the mean of `n` values: Student's
/// `t(0.975, n - 1)` for `2 <= n < 30` (the normal approximation understates small samples'
/// intervals: 2.045 at n = 30, 4.30 at n = 3), 1.96 from 30 on; NaN for `n < 2`.
pub fn ci95_multiplier(n: u64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match n {
        0 | 1 => f64::NAN,
        n if n < STUDENT_BELOW => {
            StudentsT::new(0.0, 1.0, (n - 1) as f64).map(|t| t.inverse_cdf(0.975)).unwrap_or(f64::NAN)
        }
        _ => 1.96,
    }
}

/// Quantile `p` of sorted `xs` by linear interpolation between order statistics (type 7).
pub fn quantile_sorted(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let h = (xs.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

/// The sum of `xs` in order with Neumaier's compensation (Neumaier 1974): the rounding error of
/// each addition is carried and added back at the end.
pub fn neumaier_sum(xs: &[f64]) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for &x in xs {
        let t = sum + x;
        comp += if sum.abs() >= x.abs() { (sum - t) + x } else { (x - t) + sum };
        sum = t;
    }
    sum + comp
}

/// The statistics of `values` (in path order).
pub fn stats(values: &[f64], worst: Worst) -> Stats {
    stats_of_owned(values.to_vec(), worst)
}

/// [`stats`] of `values` (in path order), reordering them in place rather than copying them:
/// one column in memory per metric being summarised.
pub fn stats_of_owned(mut values: Vec<f64>, worst: Worst) -> Stats {
    let n = values.len();
    if n == 0 {
        let nan = f64::NAN;
        return Stats {
            n: 0,
            mean: nan,
            std: nan,
            se: nan,
            ci95_low: nan,
            ci95_high: nan,
            p01: nan,
            p05: nan,
            p50: nan,
            p95: nan,
            p99: nan,
            es95: nan,
        };
    }
    let nf = n as f64;
    // The mean from a compensated (Neumaier) sum, exact for integer counts; the variance by the
    // corrected two-pass algorithm (Chan, Golub and LeVeque 1983), which subtracts the
    // residuals' squared sum, so identical values give a spread of exactly 0.
    let mean = neumaier_sum(&values) / nf;
    let std = if n > 1 {
        let (ss, sr) = values.iter().fold((0.0, 0.0), |(ss, sr), x| {
            let d = x - mean;
            (ss + d * d, sr + d)
        });
        ((ss - sr * sr / nf).max(0.0) / (nf - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let se = std / nf.sqrt();
    // The order statistics the quantiles and the tail need, by selection (O(n)) rather than a
    // full sort; the values are those of the sorted vector, bit for bit. (The path order is
    // not needed any more.)
    let v = &mut values;
    let k = ((0.05 * nf).ceil() as usize).max(1);
    let qs = [0.01, 0.05, 0.50, 0.95, 0.99];
    let mut ranks: Vec<usize> = Vec::with_capacity(2 * qs.len() + 1);
    for p in qs {
        let (lo, hi) = type7_ranks(n, p);
        ranks.extend([lo, hi]);
    }
    let tail_edge = match worst {
        Worst::High => n - k,
        Worst::Low => k - 1,
    };
    ranks.push(tail_edge);
    ranks.sort_unstable();
    ranks.dedup();
    select_ranks(v, &ranks);
    // The tail holds exactly the worst k values; sorted, it is summed in ascending order.
    let tail = match worst {
        Worst::High => &mut v[n - k..],
        Worst::Low => &mut v[..k],
    };
    tail.sort_unstable_by(f64::total_cmp);
    let es95 = tail.iter().sum::<f64>() / k as f64;
    let q = |p: f64| {
        let (lo, hi) = type7_ranks(n, p);
        interpolate(v[lo], v[hi], p, n)
    };
    let z = ci95_multiplier(n as u64);
    Stats {
        n: n as u64,
        mean,
        std,
        se,
        ci95_low: mean - z * se,
        ci95_high: mean + z * se,
        p01: q(0.01),
        p05: q(0.05),
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        es95,
    }
}

/// The two order statistics (0-based ranks) a type-7 quantile `p` of `n > 0` values
/// interpolates between.
pub(crate) fn type7_ranks(n: usize, p: f64) -> (usize, usize) {
    let lo = ((n - 1) as f64 * p).floor() as usize;
    (lo, (lo + 1).min(n - 1))
}

/// Type 7's interpolation between the order statistics `lo` and `hi` of [`type7_ranks`].
pub(crate) fn interpolate(lo_value: f64, hi_value: f64, p: f64, n: usize) -> f64 {
    let h = (n - 1) as f64 * p;
    lo_value + (h - h.floor()) * (hi_value - lo_value)
}

/// Rearranges `v` so that `v[r]` is its `r`-th smallest value (by `total_cmp`) for every `r` in
/// `ranks` (sorted, distinct), with smaller values before it and larger after: recursive
/// selection, O(n log |ranks|).
fn select_ranks(v: &mut [f64], ranks: &[usize]) {
    if ranks.is_empty() || v.len() < 2 {
        return;
    }
    let m = ranks.len() / 2;
    let r = ranks[m];
    v.select_nth_unstable_by(r, f64::total_cmp);
    let (left, right) = v.split_at_mut(r);
    select_ranks(left, &ranks[..m]);
    let shifted: Vec<usize> = ranks[m + 1..].iter().map(|&x| x - r - 1).collect();
    select_ranks(&mut right[1..], &shifted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_type_7() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.01, 0.05, 0.5, 0.95, 0.99]) =
        // [1.04, 1.2, 3.0, 8.8, 9.76]
        let s = stats(&[3.0, 1.0, 10.0, 2.0, 4.0], Worst::High);
        for (got, want) in [(s.p01, 1.04), (s.p05, 1.2), (s.p50, 3.0), (s.p95, 8.8), (s.p99, 9.76)] {
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }
        assert_eq!(s.mean, 4.0);
        // std with n - 1: sum of squares 1+4+36+9+0 = 50, /4 = 12.5
        assert!((s.std - 12.5f64.sqrt()).abs() < 1e-12);
        assert!((s.se - (12.5f64 / 5.0).sqrt()).abs() < 1e-12);
        // Five values: Student's t(0.975, 4) = 2.7764451051977987 (tables: 2.776).
        assert!((s.ci95_high - (4.0 + 2.776_445_105_197_799 * s.se)).abs() < 1e-9);
        // ceil(0.25) = 1 worst value
        assert_eq!(s.es95, 10.0);
        assert_eq!(stats(&[3.0, 1.0, 10.0, 2.0, 4.0], Worst::Low).es95, 1.0);
    }

    #[test]
    fn selection_gives_the_sorted_vectors_quantiles_and_tail() {
        // Against the definitions on a fully sorted copy, for sizes around the interpolation
        // edges, with ties, negative zeros and both tails.
        let mut state = 7u64;
        for n in [1usize, 2, 3, 19, 20, 21, 100, 101, 1000, 4099] {
            let values: Vec<f64> = (0..n)
                .map(|i| {
                    let u = headroom_market::rng::splitmix64(&mut state);
                    match i % 7 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => 3.5,
                        _ => (u >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0,
                    }
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let k = ((0.05 * n as f64).ceil() as usize).max(1);
            for (worst, tail) in [(Worst::High, &sorted[n - k..]), (Worst::Low, &sorted[..k])] {
                let s = stats(&values, worst);
                let es = tail.iter().sum::<f64>() / k as f64;
                assert_eq!(s.es95.to_bits(), es.to_bits(), "n {n}");
                for (got, p) in [(s.p01, 0.01), (s.p05, 0.05), (s.p50, 0.5), (s.p95, 0.95), (s.p99, 0.99)] {
                    assert_eq!(got.to_bits(), quantile_sorted(&sorted, p).to_bits(), "n {n} p {p}");
                }
            }
        }
    }

    #[test]
    fn small_samples_take_students_t_and_large_ones_the_normal() {
        // Student's t(0.975, df) from the tables: df 1 12.706, 2 4.303, 28 2.048.
        assert!((ci95_multiplier(2) - 12.706_204_736_174_7).abs() < 1e-6);
        assert!((ci95_multiplier(3) - 4.302_652_729_749_464).abs() < 1e-6);
        assert!((ci95_multiplier(29) - 2.048_407_141_795_244).abs() < 1e-6);
        assert_eq!(ci95_multiplier(30), 1.96);
        assert_eq!(ci95_multiplier(1_000_000), 1.96);
        assert!(ci95_multiplier(1).is_nan() && ci95_multiplier(0).is_nan());
        // No sampling error: the interval is the mean itself, whatever the multiplier.
        let s = stats(&[7.0; 20], Worst::High);
        assert_eq!((s.ci95_low, s.ci95_high), (7.0, 7.0));
    }

    #[test]
    fn es95_takes_ceil_of_five_percent() {
        let v: Vec<f64> = (1..=41).map(f64::from).collect(); // ceil(2.05) = 3 worst
        assert_eq!(stats(&v, Worst::High).es95, 40.0);
        assert_eq!(stats(&v, Worst::Low).es95, 2.0);
    }

    #[test]
    fn integer_counts_have_their_exact_mean() {
        // 100,000 counts summing to 181,745,322: the mean is the correctly rounded quotient.
        let v: Vec<f64> = (0..100_000u64).map(|i| ((i * 7919) % 3635) as f64).collect();
        let total: u64 = (0..100_000u64).map(|i| (i * 7919) % 3635).sum();
        assert_eq!(stats(&v, Worst::High).mean, total as f64 / 100_000.0);
        assert_eq!(neumaier_sum(&[1e16, 1.0, -1e16]), 1.0);
    }

    #[test]
    fn identical_values_have_no_spread() {
        // A plain sum of 3,000 copies divided by 3,000 misses the value in the last bits.
        let v = vec![309_520.845_434_101_94; 3000];
        let s = stats(&v, Worst::High);
        assert_eq!((s.mean, s.std, s.se), (v[0], 0.0, 0.0));
        let w = vec![0.1; 3001];
        assert_eq!(stats(&w, Worst::High).std, 0.0);
    }

    #[test]
    fn single_value_has_nan_spread() {
        let s = stats(&[5.0], Worst::High);
        assert_eq!((s.n, s.mean, s.p50, s.es95), (1, 5.0, 5.0, 5.0));
        assert!(s.std.is_nan() && s.se.is_nan());
    }
}
