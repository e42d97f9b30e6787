//! The `[market.process]` table: [`ProcessSpec`] and its range checks.

use super::MAX_BASKET_ASSETS;
use crate::correlation::CorrelatedNormals;
use crate::error::{check_above, check_range, MarketError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A price process, as given in an experiment's `[market.process]` table (tagged by `model`).
/// Rates and volatilities are annualised (a year is 365 days); `dt` is the experiment's step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessSpec {
    /// Geometric Brownian motion: `ln S` moves by `(mu - sigma^2/2) dt + sigma sqrt(dt) Z`
    /// (exact in distribution for any `dt`; Glasserman 2003, §3.2). `E[S_T] = S_0 e^{mu T}`.
    Gbm {
        /// Annualised drift, within [-10, 10].
        #[serde(default)]
        mu: f64,
        /// Annualised volatility, within [0, 20].
        sigma: f64,
    },
    /// Merton (1976) jump-diffusion: GBM plus compound-Poisson jumps of the log-price,
    /// `N ~ Poisson(lambda dt)` jumps per step, each `Y ~ N(jump_mean, jump_std^2)`; the drift is
    /// compensated, `(mu - sigma^2/2 - lambda k) dt` with `k = e^{m + s^2/2} - 1`, so that
    /// `E[S_T] = S_0 e^{mu T}` and `Var[ln S_T] = (sigma^2 + lambda (m^2 + s^2)) T`.
    Merton {
        /// Annualised drift of the price (jumps compensated), within [-10, 10].
        #[serde(default)]
        mu: f64,
        /// Annualised diffusion volatility, within [0, 20].
        sigma: f64,
        /// Expected jumps per year `lambda`, within [0, 10000].
        jump_intensity: f64,
        /// Mean `m` of one jump of the log-price, within [-5, 5] (-0.1 = about a 10% fall).
        jump_mean: f64,
        /// Standard deviation `s` of one jump of the log-price, within [0, 5].
        jump_std: f64,
    },
    /// GARCH(1,1) (Bollerslev 1986) on the per-step returns, parametrised by its unconditional
    /// annualised volatility: `eps_t = sqrt(h_t) Z_t`,
    /// `h_{t+1} = omega + alpha eps_t^2 + beta h_t` with
    /// `omega = (1 - alpha - beta) annual_vol^2 dt`, `h_0 = annual_vol^2 dt`, and the log-return
    /// `mu dt - h_t / 2 + eps_t` (so `E[S_{t+1} / S_t | h_t] = e^{mu dt}`). `alpha` and `beta`
    /// are per step of the experiment: volatility shocks decay by `alpha + beta` a step.
    Garch {
        /// Annualised drift, within [-10, 10].
        #[serde(default)]
        mu: f64,
        /// Unconditional annualised volatility `sqrt(E[h] / dt)`, within (0, 20].
        annual_vol: f64,
        /// Reaction to the last squared shock, >= 0.
        alpha: f64,
        /// Persistence of the variance, >= 0, with `alpha + beta < 1`.
        beta: f64,
    },
    /// A two-state Markov regime switch (Hamilton 1989, in continuous time): in regime `i` the
    /// log-return is `(mu_i - sigma_i^2/2) dt + sigma_i sqrt(dt) Z`; the regime is left at
    /// intensity `switch_intensity[i]` per year. The chain is sampled exactly at the step: after
    /// each step's return the regime switches with probability
    /// `P(0 -> 1) = pi_1 (1 - e^{-(q_0 + q_1) dt})`, `P(1 -> 0) = pi_0 (1 - e^{-(q_0 + q_1) dt})`,
    /// where `q_i` are the intensities and `pi_1 = q_0 / (q_0 + q_1)` is the stationary share of
    /// time in regime 1.
    RegimeSwitch {
        /// Annualised drift in regimes 0 and 1, each within [-10, 10]; default `[0, 0]`.
        #[serde(default)]
        mu: [f64; 2],
        /// Annualised volatility in regimes 0 and 1, each within [0, 20].
        sigma: [f64; 2],
        /// Intensity of leaving regime 0 and of leaving regime 1, per year, each within
        /// [0, 100000].
        switch_intensity: [f64; 2],
        /// The regime at the start of every path (0 or 1); absent: drawn from the stationary
        /// distribution, once per path.
        #[serde(default)]
        start_regime: Option<u8>,
    },
    /// Bootstrap of historical log-returns `ln(close_{i+1} / close_i)` from a CSV with columns
    /// `timestamp_utc` and `close` (Efron 1979; in blocks, Künsch 1989): each path draws blocks
    /// of `block_hours / dt` consecutive returns, each block's start uniform among those whose
    /// returns are all present. A return across a missing row (two rows further apart than the
    /// file's step, the smallest gap between rows) is dropped and no block spans it. The
    /// experiment's step must equal the file's step. `block_hours = 1` on an hourly file is the
    /// iid bootstrap. The returns keep their historical drift.
    Bootstrap {
        /// The CSV, relative to the experiment file's folder.
        file: PathBuf,
        /// Hours of a block, a whole positive number of the file's steps; default 1.
        #[serde(default = "one")]
        block_hours: f64,
    },
    /// A basket of correlated GBM assets (a collateral index, e.g. several liquid staking
    /// tokens): asset `i` follows GBM with `mu[i]`, `sigma[i]`, their normals correlated through
    /// the Cholesky factor of `correlation`; the process is the basket value
    /// `B = sum_i w_i S_i / S_i(0)` with weights `w` normalised to sum to 1 (value shares at the
    /// start), and the step's return is `ln(B_t / B_{t-1})`. At most [`MAX_BASKET_ASSETS`] assets.
    Basket {
        /// Annualised drift of each asset (default all 0).
        #[serde(default)]
        mu: Vec<f64>,
        /// Annualised volatility of each asset.
        sigma: Vec<f64>,
        /// Correlation matrix (symmetric, unit diagonal, positive definite), one row per asset.
        correlation: Vec<Vec<f64>>,
        /// Value share of each asset at the start, > 0 (normalised to sum to 1).
        weights: Vec<f64>,
    },
    /// Exact replay of a price series from a CSV (`timestamp_utc`, `close`): step `k`'s return is
    /// `ln(close_{s+k+1} / close_{s+k})` from the row `s` whose time is `start`, and the path
    /// starts at `close_s`. The file needs `steps + 1` rows from `start`, `dt` apart: a missing
    /// row inside the window is an error (a replay does not bridge gaps).
    Replay {
        /// The CSV, relative to the experiment file's folder.
        file: PathBuf,
        /// The `timestamp_utc` of the first row replayed (e.g. `"2020-03-12T00:00:00Z"`);
        /// default the file's first row.
        #[serde(default)]
        start: Option<String>,
    },
    /// Historical simulation over every window of a CSV (`timestamp_utc`, `close`, and `high`,
    /// `low` for each step's range): path `i` replays the `i`-th window of `steps + 1`
    /// consecutive rows, `dt` apart, among candidates that start `stride_hours` after one
    /// another, from `first` (default, and at the earliest: [`super::LOOKBACK_DAYS`] after the
    /// file's first row, so that every window has its look-back) to windows ending by `last`
    /// (default the last row). A candidate that spans a missing row is skipped (and counted);
    /// each window starts at its first close and knows the realised volatility of the
    /// look-back before it. The experiment's step must equal the file's.
    Windows {
        /// The CSV, relative to the experiment file's folder.
        file: PathBuf,
        /// Hours between the starts of two candidate windows, a whole positive number of the
        /// file's steps; default 24.
        #[serde(default = "twenty_four")]
        stride_hours: f64,
        /// The earliest start, the `timestamp_utc` of a row (e.g. `"2020-01-01T00:00:00Z"`);
        /// the grid of starts begins there.
        #[serde(default)]
        first: Option<String>,
        /// The latest end of a window, a UTC time within the file.
        #[serde(default)]
        last: Option<String>,
    },
}

fn one() -> f64 {
    1.0
}

fn twenty_four() -> f64 {
    24.0
}

impl ProcessSpec {
    /// Checks the parameters' ranges (files are checked by [`Exogenous::build`]).
    pub fn validate(&self) -> Result<(), MarketError> {
        match *self {
            ProcessSpec::Gbm { mu, sigma } => {
                check_range("mu", mu, -10.0, 10.0)?;
                check_range("sigma", sigma, 0.0, 20.0)
            }
            ProcessSpec::Merton { mu, sigma, jump_intensity, jump_mean, jump_std } => {
                check_range("mu", mu, -10.0, 10.0)?;
                check_range("sigma", sigma, 0.0, 20.0)?;
                check_range("jump_intensity", jump_intensity, 0.0, 10_000.0)?;
                check_range("jump_mean", jump_mean, -5.0, 5.0)?;
                check_range("jump_std", jump_std, 0.0, 5.0)
            }
            ProcessSpec::Garch { mu, annual_vol, alpha, beta } => {
                check_range("mu", mu, -10.0, 10.0)?;
                check_above("annual_vol", annual_vol, 0.0, 20.0)?;
                check_range("alpha", alpha, 0.0, 1.0)?;
                check_range("beta", beta, 0.0, 1.0)?;
                if alpha + beta >= 1.0 {
                    return Err(MarketError::invalid(
                        "beta",
                        beta,
                        format!(
                            "alpha + beta must be < 1 (alpha = {alpha}): the variance must be stationary"
                        ),
                    ));
                }
                Ok(())
            }
            ProcessSpec::RegimeSwitch { mu, sigma, switch_intensity, start_regime } => {
                for i in 0..2 {
                    check_range(&format!("mu[{i}]"), mu[i], -10.0, 10.0)?;
                    check_range(&format!("sigma[{i}]"), sigma[i], 0.0, 20.0)?;
                    check_range(&format!("switch_intensity[{i}]"), switch_intensity[i], 0.0, 100_000.0)?;
                }
                match start_regime {
                    Some(r) if r > 1 => Err(MarketError::invalid("start_regime", r, "must be 0 or 1")),
                    None if switch_intensity[0] + switch_intensity[1] == 0.0 => Err(MarketError::invalid(
                        "start_regime",
                        "(missing)",
                        "must be given (0 or 1) when both switch intensities are 0: there is no \
                         stationary distribution to draw it from",
                    )),
                    _ => Ok(()),
                }
            }
            ProcessSpec::Bootstrap { block_hours, .. } => check_above("block_hours", block_hours, 0.0, 1e7),
            ProcessSpec::Replay { .. } => Ok(()),
            ProcessSpec::Windows { stride_hours, .. } => check_above("stride_hours", stride_hours, 0.0, 1e7),
            ProcessSpec::Basket { ref mu, ref sigma, ref correlation, ref weights } => {
                let n = sigma.len();
                if n == 0 || n > MAX_BASKET_ASSETS {
                    return Err(MarketError::invalid(
                        "sigma",
                        n,
                        format!("must list 1 to {MAX_BASKET_ASSETS} assets"),
                    ));
                }
                if !mu.is_empty() && mu.len() != n {
                    return Err(MarketError::invalid(
                        "mu",
                        mu.len(),
                        format!("must list {n} drifts, one per asset (or be omitted)"),
                    ));
                }
                if weights.len() != n {
                    return Err(MarketError::invalid(
                        "weights",
                        weights.len(),
                        format!("must list {n} weights, one per asset"),
                    ));
                }
                for (i, &m) in mu.iter().enumerate() {
                    check_range(&format!("mu[{i}]"), m, -10.0, 10.0)?;
                }
                for (i, &v) in sigma.iter().enumerate() {
                    check_range(&format!("sigma[{i}]"), v, 0.0, 20.0)?;
                }
                for (i, &w) in weights.iter().enumerate() {
                    check_above(&format!("weights[{i}]"), w, 0.0, 1e12)?;
                }
                if correlation.len() != n {
                    return Err(MarketError::invalid(
                        "correlation",
                        correlation.len(),
                        format!("must have {n} rows, one per asset"),
                    ));
                }
                CorrelatedNormals::new(correlation).map(|_| ())
            }
        }
    }
}
