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
//!
//! Files: `spec` (the table and its ranges), `csv_series` (what the CSV processes take from a
//! file), `windows` (historical simulation over every window of a file), `tests`.

mod csv_series;
mod spec;
mod windows;

pub use spec::ProcessSpec;
pub use windows::{Window, WindowsInfo, LOOKBACK_DAYS};

use crate::correlation::CorrelatedNormals;
use crate::error::{check_positive, MarketError};
use crate::oracle::HOURS_PER_YEAR;
use crate::rng::PathRng;
use crate::series;
use crate::shock::{ShockPlan, ShockSpec, MAX_SHOCKS};
use csv_series::{bootstrap_tables, file_step, realised_vol, replay_window, step_ranges, trailing_vol};
use rand::RngExt;
use rand_distr::{Poisson, StandardNormal};
use std::path::Path;
use std::sync::Arc;

/// Seconds in a year of 365 days.
const SECS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Formats a time of a price file (seconds since 1970-01-01 00:00 UTC, as in [`Window`]) as
/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: i64) -> String {
    series::format_timestamp(t)
}

/// Reads a time of the form `YYYY-MM-DDTHH:MM:SSZ` (as price files and [`format_time`] write
/// it) into seconds since 1970-01-01 00:00 UTC.
pub fn parse_time(text: &str) -> Option<i64> {
    series::parse_timestamp(text)
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
    known_vol: Option<f64>,
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
        /// Each step's range from the file's candles, when it has them.
        ranges: Option<Arc<[(f64, f64)]>>,
    },
    Windows(Arc<windows::Table>),
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
        let mut known_vol = None;
        let lookback_secs = (LOOKBACK_DAYS * 86_400.0) as i64;
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
                let step_secs = (dt_years * SECS_PER_YEAR).round() as i64;
                known_vol =
                    Some(trailing_vol(&s, first, step_secs, lookback_secs, dt_years, &mut Vec::new()));
                let ranges = step_ranges(&s).map(|r| r[first..first + steps].into());
                (Kind::Replay { returns: returns.into(), ranges }, vol)
            }
            ProcessSpec::Windows { file, stride_hours, first, last } => {
                let path = base_dir.join(file);
                let s = series::load(&path)?;
                let table =
                    windows::build(&s, *stride_hours, first.as_deref(), last.as_deref(), dt_years, steps)?;
                known_vol = Some(None);
                // The realised volatility of every return the windows cover (gaps skipped).
                let lo = table.rows[0] as usize;
                let hi = table.rows[table.rows.len() - 1] as usize + steps;
                let step = file_step(&s, dt_years)?;
                let covered: Vec<f64> = (lo..hi)
                    .filter(|&i| s.times[i + 1] - s.times[i] == step)
                    .map(|i| table.returns[i])
                    .collect();
                (Kind::Windows(Arc::new(table)), realised_vol(&covered, dt_years))
            }
        };
        let known_vol = known_vol.unwrap_or(Some(annual_vol));
        Ok(Exogenous { kind, dt_years, steps, shocks, annual_vol, start_price, known_vol })
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
    /// they draw from (sample standard deviation; `|r| / sqrt(dt)` for a single return); windows
    /// the realised volatility of every return from the first window's start to the last one's
    /// end.
    pub fn annual_vol(&self) -> f64 {
        self.annual_vol
    }

    /// The volatility a trader knew at the start of every path, the P/N split's default pricing
    /// volatility (never hindsight): [`Self::annual_vol`] for the simulated processes and the
    /// bootstrap (the whole file's realised volatility); for a replay the realised volatility of
    /// the [`LOOKBACK_DAYS`] of rows before its start, `None` when the file does not reach back
    /// that far; `None` for windows, whose paths each know their own ([`Self::window`]).
    pub fn known_vol(&self) -> Option<f64> {
        self.known_vol
    }

    /// Whether the paths have candles: a replay, or windows, of a file with `high` and `low`
    /// columns. Then [`ExoPath::step_range`] gives every step's range, and the runner passes it
    /// to each world's market ([`crate::WorldMarket::set_exogenous_range`]).
    pub fn has_ranges(&self) -> bool {
        match &self.kind {
            Kind::Replay { ranges, .. } => ranges.is_some(),
            Kind::Windows(t) => t.ranges.is_some(),
            _ => false,
        }
    }

    /// The windows of a `windows` process (`None` for the others).
    pub fn windows(&self) -> Option<&WindowsInfo> {
        match &self.kind {
            Kind::Windows(t) => Some(&t.info),
            _ => None,
        }
    }

    /// Window `i` of a `windows` process: the start and what was known then (`None` for the
    /// other processes, or `i` past the last window).
    pub fn window(&self, i: u64) -> Option<Window> {
        match &self.kind {
            Kind::Windows(t) => usize::try_from(i).ok().and_then(|i| t.windows.get(i)).copied(),
            _ => None,
        }
    }

    /// [`Self::start_path`] for global path `path`: a `windows` process replays window `path`
    /// (which must exist: the experiment checks the number of paths against the windows); the
    /// others ignore the index.
    pub fn start_path_at(&self, path: u64, rng: &mut PathRng) -> ExoPath {
        let mut p = self.start_path(rng);
        if let Kind::Windows(t) = &self.kind {
            p.pos = t.rows[path as usize] as usize;
        }
        p
    }

    /// The per-path state; draws what the path needs up front (a random start regime, random
    /// shock times) from `rng`, the path's exogenous stream. A `windows` process starts window 0
    /// ([`Self::start_path_at`] starts any).
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

/// Per-path state of an [`Exogenous`] process (a few words; no allocation).
#[derive(Clone, Debug)]
pub struct ExoPath {
    step: usize,
    /// GARCH: the variance of the next step's shock.
    h: f64,
    /// Regime switch: the current regime.
    regime: u8,
    /// Bootstrap: index of the next return; replay: unused (the step is the index); windows: the
    /// window's first row (its returns are read from there by offset).
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

    /// The range of the exogenous log price within step `k` of this path, relative to its level
    /// at the step's start: `(ln(high / S_k), ln(low / S_k))`, from the file's candles, for a
    /// replay or a window of a file with `high` and `low` columns (`None` otherwise, or past the
    /// last step). The range holds both ends of the step (docs/MODEL.md, `windows`); a shock in
    /// the step widens it to hold the shocked end too. For passive fills, which trade when the
    /// market goes through a resting order within a step.
    pub fn step_range(&self, ex: &Exogenous, k: usize) -> Option<(f64, f64)> {
        if k >= ex.steps {
            return None;
        }
        let ((high, low), r) = match &ex.kind {
            Kind::Replay { ranges: Some(ranges), returns } => (ranges[k], returns[k]),
            Kind::Windows(t) => (t.ranges.as_ref()?[self.pos + k], t.returns[self.pos + k]),
            _ => return None,
        };
        let shock: f64 =
            ex.shocks.iter().zip(&self.shock_first).map(|(plan, &first)| plan.offset(k, first)).sum();
        if shock == 0.0 {
            Some((high, low))
        } else {
            Some((high.max(r + shock), low.min(r + shock)))
        }
    }

    /// The exogenous log-return of the next step: the process's, plus every shock's.
    ///
    /// Draws per step: GBM one normal; Merton one normal, one Poisson count and, when it is not
    /// zero, one more normal (the sum of `N` jumps is `N m + s sqrt(N) Z'`); GARCH one normal;
    /// regime switch one normal then one uniform (the switch); bootstrap one uniform integer at
    /// the start of each block; replay and windows nothing. Past the last step of a replay or a
    /// window the return is 0.
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
            Kind::Replay { returns, .. } => returns.get(k).copied().unwrap_or(0.0),
            Kind::Windows(t) => {
                if k < ex.steps {
                    t.returns[self.pos + k]
                } else {
                    0.0
                }
            }
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
