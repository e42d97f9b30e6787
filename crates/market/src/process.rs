//! Exogenous price processes and the shocks layered on them.
//!
//! A [`ProcessSpec`] is the configuration; [`Exogenous::build`] checks it, loads what it needs
//! (a CSV) once per experiment and plans the [`ShockSpec`]s; [`Exogenous::start_path`] gives the
//! small per-path state, whose [`ExoPath::next_log_return`] draws the step's exogenous log-return
//! from the path's exogenous stream. Both worlds of a path apply the same returns (common random
//! numbers). Formulas and sources: docs/MODEL.md (Price processes).
//!
//! The draws of a path, in order: at [`Exogenous::start_path`], the start regime of a
//! regime switch without `start_regime` (one uniform), then one step index per random shock
//! (in list order); at each step, the process's draws (see each model).

use crate::correlation::CorrelatedNormals;
use crate::error::{check_above, check_positive, check_range, MarketError};
use crate::oracle::HOURS_PER_YEAR;
use crate::rng::PathRng;
use crate::series::{self, PriceSeries};
use crate::shock::{ShockPlan, ShockSpec, MAX_SHOCKS};
use rand::RngExt;
use rand_distr::{Poisson, StandardNormal};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Seconds in a year of 365 days.
const SECS_PER_YEAR: f64 = 365.0 * 86_400.0;

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
}

fn one() -> f64 {
    1.0
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

/// A built process: the spec with its data loaded and its shocks planned, shared read-only by
/// every path (cloning it shares the loaded data).
#[derive(Clone, Debug)]
pub struct Exogenous {
    kind: Kind,
    dt_years: f64,
    steps: usize,
    shocks: Vec<ShockPlan>,
    annual_vol: f64,
    start_price: Option<f64>,
}

#[derive(Clone, Debug)]
enum Kind {
    Gbm {
        drift: f64,
        vol: f64,
    },
    Merton {
        drift: f64,
        vol: f64,
        /// `None` when `lambda dt = 0`.
        jumps: Option<Poisson<f64>>,
        jump_mean: f64,
        jump_std: f64,
    },
    Garch {
        mu_dt: f64,
        omega: f64,
        alpha: f64,
        beta: f64,
        h0: f64,
    },
    Regime {
        drift: [f64; 2],
        vol: [f64; 2],
        /// Probability of leaving regime `i` during one step.
        leave: [f64; 2],
        start: Option<u8>,
        /// Stationary probability of regime 1.
        pi1: f64,
    },
    Bootstrap {
        /// Returns of every run of consecutive rows, runs concatenated.
        returns: Arc<[f64]>,
        /// Indices into `returns` where a block may start (its `block` returns in one run).
        starts: Arc<[u32]>,
        block: usize,
    },
    Replay {
        returns: Arc<[f64]>,
    },
    Basket {
        n: usize,
        drift: [f64; MAX_BASKET_ASSETS],
        vol: [f64; MAX_BASKET_ASSETS],
        weights: [f64; MAX_BASKET_ASSETS],
        normals: CorrelatedNormals,
    },
}

/// The most assets a basket may hold (their state lives on the stack).
pub const MAX_BASKET_ASSETS: usize = 8;

impl Exogenous {
    /// Builds the process for `steps` steps of `dt_years`, with `shocks` layered on it; relative
    /// file paths resolve against `base_dir` (the experiment file's folder).
    ///
    /// Errors: a parameter out of range ([`MarketError::InvalidParameter`] naming the key: those
    /// of the process, `dt_years`, `steps`, `shocks`, or a shock's own keys), a CSV that cannot
    /// be read ([`MarketError::Io`]) or has a bad row ([`MarketError::Csv`] with its line).
    pub fn build(
        spec: &ProcessSpec,
        shocks: &[ShockSpec],
        dt_years: f64,
        steps: usize,
        base_dir: &Path,
    ) -> Result<Self, MarketError> {
        check_positive("dt_years", dt_years)?;
        if steps == 0 || steps > u32::MAX as usize {
            return Err(MarketError::invalid("steps", steps, format!("must be within [1, {}]", u32::MAX)));
        }
        spec.validate()?;
        if shocks.len() > MAX_SHOCKS {
            return Err(MarketError::invalid("shocks", shocks.len(), format!("at most {MAX_SHOCKS} shocks")));
        }
        let dt_hours = dt_years * HOURS_PER_YEAR;
        let shocks = shocks.iter().map(|s| s.plan(dt_hours, steps)).collect::<Result<Vec<_>, _>>()?;
        let mut start_price = None;
        let (kind, annual_vol) = match spec {
            &ProcessSpec::Gbm { mu, sigma } => (
                Kind::Gbm { drift: (mu - 0.5 * sigma * sigma) * dt_years, vol: sigma * dt_years.sqrt() },
                sigma,
            ),
            &ProcessSpec::Merton { mu, sigma, jump_intensity, jump_mean, jump_std } => {
                let k = (jump_mean + 0.5 * jump_std * jump_std).exp_m1();
                let rate = jump_intensity * dt_years;
                let jumps = if rate > 0.0 {
                    Some(Poisson::new(rate).map_err(|e| {
                        MarketError::invalid("jump_intensity", jump_intensity, format!("x dt gives {e}"))
                    })?)
                } else {
                    None
                };
                let kind = Kind::Merton {
                    drift: (mu - 0.5 * sigma * sigma - jump_intensity * k) * dt_years,
                    vol: sigma * dt_years.sqrt(),
                    jumps,
                    jump_mean,
                    jump_std,
                };
                let var = sigma * sigma + jump_intensity * (jump_mean * jump_mean + jump_std * jump_std);
                (kind, var.sqrt())
            }
            &ProcessSpec::Garch { mu, annual_vol, alpha, beta } => {
                let h0 = annual_vol * annual_vol * dt_years;
                let kind =
                    Kind::Garch { mu_dt: mu * dt_years, omega: (1.0 - alpha - beta) * h0, alpha, beta, h0 };
                (kind, annual_vol)
            }
            &ProcessSpec::RegimeSwitch { mu, sigma, switch_intensity: q, start_regime } => {
                let total = q[0] + q[1];
                let (pi1, moved) =
                    if total > 0.0 { (q[0] / total, -(-total * dt_years).exp_m1()) } else { (0.0, 0.0) };
                let pi = [1.0 - pi1, pi1];
                let annual_vol = if total > 0.0 {
                    (pi[0] * sigma[0] * sigma[0] + pi[1] * sigma[1] * sigma[1]).sqrt()
                } else {
                    sigma[usize::from(start_regime.unwrap_or(0))]
                };
                let kind = Kind::Regime {
                    drift: [0, 1].map(|i| (mu[i] - 0.5 * sigma[i] * sigma[i]) * dt_years),
                    vol: [0, 1].map(|i| sigma[i] * dt_years.sqrt()),
                    leave: [pi[1] * moved, pi[0] * moved],
                    start: start_regime,
                    pi1,
                };
                (kind, annual_vol)
            }
            ProcessSpec::Bootstrap { file, block_hours } => {
                let path = base_dir.join(file);
                let s = series::load_cached(&path)?;
                let step = file_step(&s, dt_years)?;
                let block = *block_hours * 3600.0 / step as f64;
                if (block - block.round()).abs() > 1e-9 || block.round() < 1.0 {
                    return Err(MarketError::invalid(
                        "block_hours",
                        block_hours,
                        format!(
                            "must be a whole positive number of the file's steps ({} h)",
                            step as f64 / 3600.0
                        ),
                    ));
                }
                let block = block.round() as usize;
                let (returns, starts) = bootstrap_tables(&s, step, block)?;
                let vol = realised_vol(&returns, dt_years);
                (Kind::Bootstrap { returns: returns.into(), starts: starts.into(), block }, vol)
            }
            ProcessSpec::Basket { mu, sigma, correlation, weights } => {
                let n = sigma.len();
                let normals = CorrelatedNormals::new(correlation)?;
                let total: f64 = weights.iter().sum();
                let (mut d, mut v, mut w) =
                    ([0.0; MAX_BASKET_ASSETS], [0.0; MAX_BASKET_ASSETS], [0.0; MAX_BASKET_ASSETS]);
                let mut var = 0.0;
                for i in 0..n {
                    let m = mu.get(i).copied().unwrap_or(0.0);
                    d[i] = (m - 0.5 * sigma[i] * sigma[i]) * dt_years;
                    v[i] = sigma[i] * dt_years.sqrt();
                    w[i] = weights[i] / total;
                    for j in 0..n {
                        var +=
                            weights[i] / total * weights[j] / total * sigma[i] * sigma[j] * correlation[i][j];
                    }
                }
                (Kind::Basket { n, drift: d, vol: v, weights: w, normals }, var.sqrt())
            }
            ProcessSpec::Replay { file, start } => {
                let path = base_dir.join(file);
                let s = series::load_cached(&path)?;
                let (first, returns) = replay_window(&s, start.as_deref(), dt_years, steps)?;
                start_price = Some(s.closes[first]);
                let vol = realised_vol(&returns, dt_years);
                (Kind::Replay { returns: returns.into() }, vol)
            }
        };
        Ok(Exogenous { kind, dt_years, steps, shocks, annual_vol, start_price })
    }

    /// Step length in years.
    pub fn dt_years(&self) -> f64 {
        self.dt_years
    }

    /// Number of steps the process was built for.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The start price the process imposes (a replay starts at its first close), if any.
    pub fn start_price(&self) -> Option<f64> {
        self.start_price
    }

    /// The process's annualised volatility, shocks excluded: GBM `sigma`; Merton
    /// `sqrt(sigma^2 + lambda (m^2 + s^2))`; GARCH `annual_vol` (unconditional); regime switch
    /// `sqrt(pi_0 sigma_0^2 + pi_1 sigma_1^2)` (stationary; the start regime's sigma without
    /// switching); bootstrap and replay the realised volatility `sd(r) / sqrt(dt)` of the returns
    /// they draw from (sample standard deviation; `|r| / sqrt(dt)` for a single return).
    pub fn annual_vol(&self) -> f64 {
        self.annual_vol
    }

    /// The per-path state; draws what the path needs up front (a random start regime, random
    /// shock times) from `rng`, the path's exogenous stream.
    pub fn start_path(&self, rng: &mut PathRng) -> ExoPath {
        let mut path = ExoPath {
            step: 0,
            h: 0.0,
            regime: 0,
            pos: 0,
            left: 0,
            shock_first: [0; MAX_SHOCKS],
            assets: [0.0; MAX_BASKET_ASSETS],
            basket_log: 0.0,
        };
        match self.kind {
            Kind::Garch { h0, .. } => path.h = h0,
            Kind::Regime { start, pi1, .. } => {
                path.regime = match start {
                    Some(r) => r,
                    None => u8::from(rng.random::<f64>() < pi1),
                }
            }
            _ => {}
        }
        for (i, s) in self.shocks.iter().enumerate() {
            path.shock_first[i] = match s.first_step {
                Some(k) => k,
                None => rng.random_range(0..self.steps) as u32,
            };
        }
        path
    }
}

/// The file's step in seconds; it must equal `dt_years`.
fn file_step(s: &PriceSeries, dt_years: f64) -> Result<i64, MarketError> {
    let dt_secs = dt_years * SECS_PER_YEAR;
    let file = s.file.display().to_string();
    let step = s
        .step_secs()
        .ok_or_else(|| MarketError::invalid("file", &file, "must have at least two rows (one return)"))?;
    if (dt_secs - step as f64).abs() > 1e-3 {
        return Err(MarketError::invalid(
            "file",
            &file,
            format!(
                "its rows are {step} s apart but a step of the experiment is {dt_secs} s: the step must \
                 equal the file's"
            ),
        ));
    }
    Ok(step)
}

/// The bootstrap's returns (runs of consecutive rows, concatenated) and the indices where a block
/// of `block` returns may start without leaving its run.
fn bootstrap_tables(s: &PriceSeries, step: i64, block: usize) -> Result<(Vec<f64>, Vec<u32>), MarketError> {
    let mut returns = Vec::with_capacity(s.closes.len());
    let mut starts = Vec::with_capacity(s.closes.len());
    let mut run_start = 0usize;
    let close_run = |returns: &Vec<f64>, starts: &mut Vec<u32>, run_start: usize| {
        let end = returns.len();
        if end >= run_start + block {
            starts.extend((run_start..=end - block).map(|i| i as u32));
        }
    };
    for i in 1..s.closes.len() {
        if s.times[i] - s.times[i - 1] == step {
            returns.push((s.closes[i] / s.closes[i - 1]).ln());
        } else {
            close_run(&returns, &mut starts, run_start);
            run_start = returns.len();
        }
    }
    close_run(&returns, &mut starts, run_start);
    if returns.len() > u32::MAX as usize {
        return Err(MarketError::invalid("file", s.file.display(), "must have fewer than 2^32 rows"));
    }
    if starts.is_empty() {
        return Err(MarketError::invalid(
            "block_hours",
            block as f64 * step as f64 / 3600.0,
            format!("no run of {block} consecutive returns in {} (gaps cut the runs)", s.file.display()),
        ));
    }
    Ok((returns, starts))
}

/// The replay's first row and its `steps` returns.
fn replay_window(
    s: &PriceSeries,
    start: Option<&str>,
    dt_years: f64,
    steps: usize,
) -> Result<(usize, Vec<f64>), MarketError> {
    let file = s.file.display().to_string();
    let first = match start {
        None => 0,
        Some(text) => {
            let t = series::parse_timestamp(text).ok_or_else(|| {
                MarketError::invalid("start", text, "must be a UTC time of the form YYYY-MM-DDTHH:MM:SSZ")
            })?;
            s.find(t).ok_or_else(|| {
                MarketError::invalid("start", text, format!("must be a timestamp_utc of a row of {file}"))
            })?
        }
    };
    let rows = s.closes.len() - first;
    if rows < steps + 1 {
        return Err(MarketError::invalid(
            "file",
            &file,
            format!("has {rows} rows from the start: a replay of {steps} steps needs {}", steps + 1),
        ));
    }
    let dt_secs = dt_years * SECS_PER_YEAR;
    let mut returns = Vec::with_capacity(steps);
    for i in first + 1..=first + steps {
        let gap = (s.times[i] - s.times[i - 1]) as f64;
        if (gap - dt_secs).abs() > 1e-3 {
            return Err(MarketError::Csv {
                file: s.file.clone(),
                line: s.lines[i],
                message: format!(
                    "this row is {gap} s after the previous one but a step is {dt_secs} s: a replay needs \
                     consecutive rows one step apart (choose another start, or fill the gap)"
                ),
            });
        }
        returns.push((s.closes[i] / s.closes[i - 1]).ln());
    }
    Ok((first, returns))
}

/// `sd(r) / sqrt(dt)` with the sample standard deviation (`|r| / sqrt(dt)` for one return).
fn realised_vol(returns: &[f64], dt_years: f64) -> f64 {
    let n = returns.len() as f64;
    if returns.len() < 2 {
        return returns.first().map_or(0.0, |r| r.abs() / dt_years.sqrt());
    }
    let mean = returns.iter().sum::<f64>() / n;
    let ss: f64 = returns.iter().map(|r| (r - mean) * (r - mean)).sum();
    (ss / (n - 1.0) / dt_years).sqrt()
}

/// Per-path state of an [`Exogenous`] process (a few words; no allocation).
#[derive(Clone, Debug)]
pub struct ExoPath {
    step: usize,
    /// GARCH: the variance of the next step's shock.
    h: f64,
    /// Regime switch: the current regime.
    regime: u8,
    /// Bootstrap: index of the next return; replay: unused (the step is the index).
    pos: usize,
    /// Bootstrap: returns left in the current block.
    left: usize,
    /// First step of each shock on this path.
    shock_first: [u32; MAX_SHOCKS],
    /// Basket: each asset's log price relative to its start.
    assets: [f64; MAX_BASKET_ASSETS],
    /// Basket: log of the basket value (0 at the start).
    basket_log: f64,
}

impl ExoPath {
    /// Fills `out` with the log-returns of the next `out.len()` steps: exactly the values (and
    /// the draws) of as many calls of [`ExoPath::next_log_return`], computed in one tight loop
    /// for GBM (the hot case of every benchmark) and by those calls otherwise.
    pub fn fill_log_returns(&mut self, ex: &Exogenous, rng: &mut PathRng, out: &mut [f64]) {
        match ex.kind {
            Kind::Gbm { drift, vol } => {
                let k0 = self.step;
                for r in out.iter_mut() {
                    let z: f64 = rng.sample(StandardNormal);
                    *r = drift + vol * z;
                }
                self.step += out.len();
                for (plan, &first) in ex.shocks.iter().zip(&self.shock_first) {
                    for (i, r) in out.iter_mut().enumerate() {
                        *r += plan.offset(k0 + i, first);
                    }
                }
            }
            _ => {
                for r in out.iter_mut() {
                    *r = self.next_log_return(ex, rng);
                }
            }
        }
    }

    /// [`ExoPath::fill_log_returns`], and the running exogenous log level after each step:
    /// `levels[i] = start + out[0] + ... + out[i]`, added one return at a time in order (the
    /// very sums a market makes adding the returns step by step). The sums are a second pass:
    /// folded into the draw loop, the running level is spilled around the sampler's rare slow
    /// path and the loop runs slower (measured on benchmark B1).
    pub fn fill_log_returns_and_levels(
        &mut self,
        ex: &Exogenous,
        rng: &mut PathRng,
        start: f64,
        out: &mut [f64],
        levels: &mut [f64],
    ) {
        debug_assert_eq!(out.len(), levels.len());
        match ex.kind {
            Kind::Gbm { drift, vol } if ex.shocks.is_empty() => {
                // The draw loop is written out here, not taken from `fill_log_returns`: through
                // that call the loop is not inlined into the runner's and B1 takes about 15%
                // more time (measured; same bytes).
                for r in out.iter_mut() {
                    let z: f64 = rng.sample(StandardNormal);
                    *r = drift + vol * z;
                }
                self.step += out.len();
            }
            _ => self.fill_log_returns(ex, rng, out),
        }
        let mut level = start;
        for (r, l) in out.iter().zip(levels.iter_mut()) {
            level += *r;
            *l = level;
        }
    }

    /// The exogenous log-return of the next step: the process's, plus every shock's.
    ///
    /// Draws per step: GBM one normal; Merton one normal, one Poisson count and, when it is not
    /// zero, one more normal (the sum of `N` jumps is `N m + s sqrt(N) Z'`); GARCH one normal;
    /// regime switch one normal then one uniform (the switch); bootstrap one uniform integer at
    /// the start of each block; replay nothing. Past the last step of a replay the return is 0.
    #[inline]
    pub fn next_log_return(&mut self, ex: &Exogenous, rng: &mut PathRng) -> f64 {
        let k = self.step;
        self.step += 1;
        let mut r = match &ex.kind {
            &Kind::Gbm { drift, vol } => {
                let z: f64 = rng.sample(StandardNormal);
                drift + vol * z
            }
            Kind::Merton { drift, vol, jumps, jump_mean, jump_std } => {
                let z: f64 = rng.sample(StandardNormal);
                let mut r = drift + vol * z;
                if let Some(p) = jumps {
                    let n: f64 = rng.sample(p);
                    if n > 0.0 {
                        let z2: f64 = rng.sample(StandardNormal);
                        r += n * jump_mean + jump_std * n.sqrt() * z2;
                    }
                }
                r
            }
            &Kind::Garch { mu_dt, omega, alpha, beta, .. } => {
                let z: f64 = rng.sample(StandardNormal);
                let h = self.h;
                let eps = h.sqrt() * z;
                self.h = omega + alpha * eps * eps + beta * h;
                mu_dt - 0.5 * h + eps
            }
            Kind::Regime { drift, vol, leave, .. } => {
                let i = usize::from(self.regime);
                let z: f64 = rng.sample(StandardNormal);
                let r = drift[i] + vol[i] * z;
                if rng.random::<f64>() < leave[i] {
                    self.regime = 1 - self.regime;
                }
                r
            }
            Kind::Bootstrap { returns, starts, block } => {
                if self.left == 0 {
                    self.pos = starts[rng.random_range(0..starts.len())] as usize;
                    self.left = *block;
                }
                let r = returns[self.pos];
                self.pos += 1;
                self.left -= 1;
                r
            }
            Kind::Replay { returns } => returns.get(k).copied().unwrap_or(0.0),
            Kind::Basket { n, drift, vol, weights, normals } => {
                let mut z = [0.0; MAX_BASKET_ASSETS];
                normals.sample(rng, &mut z[..*n]);
                let mut value = 0.0;
                for i in 0..*n {
                    self.assets[i] += drift[i] + vol[i] * z[i];
                    value += weights[i] * self.assets[i].exp();
                }
                let r = value.ln() - self.basket_log;
                self.basket_log = value.ln();
                r
            }
        };
        for (plan, &first) in ex.shocks.iter().zip(&self.shock_first) {
            r += plan.offset(k, first);
        }
        r
    }
}

#[cfg(test)]
mod tests;
