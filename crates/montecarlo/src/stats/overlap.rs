//! Standard errors of a mean over overlapping windows (historical simulation).
//!
//! The windows of a `windows` process overlap in time: neighbouring windows share most of their
//! returns, so their metrics are strongly correlated and `std / sqrt(n)` understates the
//! sampling error of their mean many times over. Here the paths are cut into blocks of `B`
//! consecutive windows, `B` the number of windows over which one window shares rows of the file
//! (its look-back and its own steps): then only neighbouring blocks share data, the block means
//! form a 1-dependent sequence, and the variance of their mean is estimated with the covariance
//! of neighbours included (docs/MODEL.md, Summary statistics: overlapping windows).

use super::Stats;
use serde_json::{json, Value};

/// How summary.csv's `se` (and so `ci95_low`, `ci95_high`) is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeMethod {
    /// Independent paths: `se = std / sqrt(n)`.
    Iid,
    /// Batch means of blocks of `block` consecutive paths, neighbouring blocks' covariance
    /// included ([`batch_means_se`]): for windows that overlap.
    BatchMeans {
        /// Paths per block.
        block: usize,
    },
}

impl SeMethod {
    /// The manifest's `summary_se` entry.
    pub fn to_json(self) -> Value {
        match self {
            SeMethod::Iid => json!({ "method": "iid" }),
            SeMethod::BatchMeans { block } => json!({ "method": "batch_means_lag1", "block_paths": block }),
        }
    }

    /// Reads a manifest's `summary_se` entry back (absent: [`SeMethod::Iid`]).
    pub fn from_json(v: Option<&Value>) -> Result<Self, String> {
        let Some(v) = v else { return Ok(SeMethod::Iid) };
        match v.get("method").and_then(Value::as_str) {
            Some("iid") => Ok(SeMethod::Iid),
            Some("batch_means_lag1") => match v.get("block_paths").and_then(Value::as_u64) {
                Some(b) if b >= 1 => Ok(SeMethod::BatchMeans { block: b as usize }),
                _ => Err("summary_se: batch_means_lag1 needs a whole block_paths >= 1".into()),
            },
            other => Err(format!("summary_se: unknown method {other:?}: allowed iid, batch_means_lag1")),
        }
    }

    /// The standard error of the mean of `values` (in path order) when this method replaces
    /// `std / sqrt(n)`; `None` for [`SeMethod::Iid`].
    pub fn se(self, values: &[f64]) -> Option<f64> {
        match self {
            SeMethod::Iid => None,
            SeMethod::BatchMeans { block } => Some(batch_means_se(values, block)),
        }
    }
}

impl Stats {
    /// These statistics with the standard error `se` (and `ci95 = mean +- 1.96 se`).
    pub fn with_se(self, se: f64) -> Stats {
        Stats { se, ci95_low: self.mean - 1.96 * se, ci95_high: self.mean + 1.96 * se, ..self }
    }
}

/// Blocks the batch means need at the least (the estimator's divisor `k^2 - 3k - 2` is then
/// positive).
pub const MIN_BLOCKS: usize = 4;

/// The standard error of the mean of `x` (in path order) from the means `y_1..y_k` of its
/// `k = floor(n / B)` whole blocks of `B` consecutive values, for a 1-dependent sequence of
/// block means (only neighbours correlated):
///
/// `S = sum (y_j - ybar)^2`, `P = sum_{j<k} (y_j - ybar)(y_{j+1} - ybar)`,
/// `Var(ybar) ~ (S + 2P) / (k^2 - 3k - 2)` (unbiased up to `O(k^-3)`: `E[S + 2P] =
/// (k^2 - 3k - 2) Var(ybar) + 4 (g0 + g1) / k`), and `se = sqrt(Var(ybar) k B / n)`: the mean of
/// all `n` values has the variance of the `k B` blocked ones times `k B / n`. 0 when every block
/// mean is the same (`S = 0`: a constant metric); NaN when there are fewer than [`MIN_BLOCKS`]
/// blocks or when `S + 2P <= 0 < S` (a lag-1 correlation of the block means below -1/2, which a
/// 1-dependent sequence cannot have: the blocks are too few or too short to tell).
pub fn batch_means_se(x: &[f64], block: usize) -> f64 {
    let block = block.max(1);
    let k = x.len() / block;
    if k < MIN_BLOCKS {
        return f64::NAN;
    }
    let means: Vec<f64> =
        x.chunks_exact(block).map(|c| crate::stats::neumaier_sum(c) / block as f64).collect();
    let kf = k as f64;
    let ybar = crate::stats::neumaier_sum(&means) / kf;
    let s: f64 = means.iter().map(|y| (y - ybar) * (y - ybar)).sum();
    if s == 0.0 {
        return 0.0; // every block has the same mean (a constant metric): no spread to report
    }
    let p: f64 = means.windows(2).map(|w| (w[0] - ybar) * (w[1] - ybar)).sum();
    let var_ybar = (s + 2.0 * p) / (kf * kf - 3.0 * kf - 2.0);
    if var_ybar > 0.0 {
        (var_ybar * kf * block as f64 / x.len() as f64).sqrt()
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_market::rng::splitmix64;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// Windows of `LEN` returns, `STRIDE` apart, each also reading the `LOOKBACK` returns before
    /// it: one window shares returns with the `(LOOKBACK + LEN) / STRIDE - 1` after it, as 30-day
    /// windows 24 h apart with a 30-day look-back do (60 windows a block).
    const LEN: usize = 60;
    const STRIDE: usize = 2;
    const LOOKBACK: usize = 60;
    const WINDOWS: usize = 1980;
    const BLOCK: usize = (LOOKBACK + LEN) / STRIDE;
    const REPLICATIONS: usize = 1000;

    /// Per replication: (mean, naive se, batch-means se) of two window metrics: the window's
    /// sum of returns (whose covariances are known: `Cov(m_i, m_j) = max(LEN - |i - j| STRIDE, 0)`)
    /// and a loss that depends on the window's path and on its look-back's volatility.
    fn replicate(seed: u64) -> [(f64, f64, f64); 2] {
        let mut state = seed;
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(splitmix64(&mut state));
        let n = LOOKBACK + (WINDOWS - 1) * STRIDE + LEN;
        let r: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let mut sum = vec![0.0; n + 1];
        let mut sq = vec![0.0; n + 1];
        for i in 0..n {
            sum[i + 1] = sum[i] + r[i];
            sq[i + 1] = sq[i] + r[i] * r[i];
        }
        let (mut a, mut b) = (Vec::with_capacity(WINDOWS), Vec::with_capacity(WINDOWS));
        for w in 0..WINDOWS {
            let s = LOOKBACK + w * STRIDE;
            let total = sum[s + LEN] - sum[s];
            let known = ((sq[s] - sq[s - LOOKBACK]) / LOOKBACK as f64).sqrt();
            a.push(total);
            b.push((-total).max(0.0) * known);
        }
        [&a, &b].map(|x| {
            let s = crate::stats::stats(x, crate::stats::Worst::High);
            (s.mean, s.se, batch_means_se(x, BLOCK))
        })
    }

    fn mean_var(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        (m, x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0))
    }

    #[test]
    fn batch_means_hold_where_the_naive_se_understates() {
        let reps: Vec<[(f64, f64, f64); 2]> = (0..REPLICATIONS as u64).map(|i| replicate(1000 + i)).collect();
        let r = REPLICATIONS as f64;
        // The exact variance of the mean of the window sums.
        let w = WINDOWS as i64;
        let cov = |lag: i64| (LEN as i64 - lag * STRIDE as i64).max(0) as f64;
        let exact: f64 =
            (cov(0) * w as f64 + 2.0 * (1..w).map(|l| (w - l) as f64 * cov(l)).sum::<f64>()) / (w * w) as f64;
        for (m, name) in ["window sum", "loss x known vol"].iter().enumerate() {
            let means: Vec<f64> = reps.iter().map(|x| x[m].0).collect();
            let naive: Vec<f64> = reps.iter().map(|x| x[m].1 * x[m].1).collect();
            let bm: Vec<f64> = reps.iter().map(|x| x[m].2 * x[m].2).collect();
            assert!(bm.iter().all(|v| v.is_finite()), "{name}: every replication has a batch-means se");
            // The truth: exact for the sums, else the variance of the replications' means, whose
            // relative standard error is sqrt(2 / (R - 1)).
            let (_, var_means) = mean_var(&means);
            let (truth, truth_rel_se) =
                if m == 0 { (exact, 0.0) } else { (var_means, (2.0 / (r - 1.0)).sqrt()) };
            if m == 0 {
                // The replications agree with the exact variance (4 SE of a variance estimate).
                let rel = (var_means / exact - 1.0).abs();
                assert!(
                    rel < 4.0 * (2.0 / (r - 1.0)).sqrt(),
                    "{name}: var of means {var_means} vs exact {exact}"
                );
            }
            // Batch means: the average estimate of Var(mean) covers the truth within 4 SE of the
            // comparison (the estimates' own spread over R replications, and the truth's).
            let (bm_mean, bm_var) = mean_var(&bm);
            let rel_se = ((bm_var / r) / (bm_mean * bm_mean) + truth_rel_se * truth_rel_se).sqrt();
            let ratio = bm_mean / truth;
            assert!(
                (ratio - 1.0).abs() < 4.0 * rel_se,
                "{name}: batch-means variance {bm_mean} vs true {truth} (ratio {ratio}, 4 SE = {})",
                4.0 * rel_se
            );
            // The naive se understates: its variance is a small fraction of the truth's (the
            // sums' exact ratio is 1 / (1 + 2 sum_l (1 - l/30)) = 1/30).
            let (naive_mean, _) = mean_var(&naive);
            assert!(naive_mean / truth < 0.25, "{name}: naive {naive_mean} vs true {truth}");
            // And coverage: the batch-means interval holds the known mean (0 for the sums) about
            // 95% of the time, the naive one far less often.
            if m == 0 {
                let cover =
                    |k: usize| reps.iter().filter(|x| x[0].0.abs() <= 1.96 * [x[0].1, x[0].2][k]).count();
                let (naive_cov, bm_cov) = (cover(0) as f64 / r, cover(1) as f64 / r);
                assert!(naive_cov < 0.5, "naive coverage {naive_cov}");
                // The estimate's own noise widens the interval's tails: with Satterthwaite's
                // degrees of freedom `2 E[V]^2 / Var(V)` of the variance estimates, mean +- 1.96
                // se covers `P(|t_df| <= 1.96)`; within 4 SE of a proportion over R replications.
                let df = 2.0 * bm_mean * bm_mean / bm_var;
                let t = statrs::distribution::StudentsT::new(0.0, 1.0, df).unwrap();
                let want = 2.0 * statrs::distribution::ContinuousCDF::cdf(&t, 1.96) - 1.0;
                let se = (want * (1.0 - want) / r).sqrt();
                assert!(
                    (bm_cov - want).abs() < 4.0 * se,
                    "batch-means coverage {bm_cov} vs {want} (df {df})"
                );
            }
        }
    }

    #[test]
    fn batch_means_by_hand() {
        // Blocks of 2: means 1, 3, 2, 6 (the 9th value is left out of the blocks).
        let x = [0.0, 2.0, 3.0, 3.0, 1.0, 3.0, 5.0, 7.0, 100.0];
        // ybar = 3; deviations -2, 0, -1, 3: S = 14, P = 0 + 0 - 3 = -3; S + 2P = 8;
        // k^2 - 3k - 2 = 2; Var(ybar) = 4; se = sqrt(4 * 4 * 2 / 9).
        let se = batch_means_se(&x, 2);
        assert!((se - (32.0f64 / 9.0).sqrt()).abs() < 1e-12, "{se}");
        assert!(batch_means_se(&x, 3).is_nan(), "3 blocks are too few");
        assert_eq!(batch_means_se(&[0.0; 300], 60), 0.0, "a constant has no spread");
        // Alternating block means: lag-1 correlation below -1/2, no estimate.
        assert!(batch_means_se(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0], 1).is_nan());
        assert_eq!(SeMethod::Iid.se(&x), None);
        for m in [SeMethod::Iid, SeMethod::BatchMeans { block: 60 }] {
            assert_eq!(SeMethod::from_json(Some(&m.to_json())), Ok(m));
        }
        assert_eq!(SeMethod::from_json(None), Ok(SeMethod::Iid));
        assert!(SeMethod::from_json(Some(&json!({"method": "hac"}))).unwrap_err().contains("unknown method"));
    }
}
