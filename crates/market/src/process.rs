//! Exogenous price processes and the shocks layered on them.
//!
//! A [`ProcessSpec`] is the configuration; [`Exogenous::build`] loads what it needs (a CSV) once
//! per experiment; [`Exogenous::start_path`] gives the small per-path state, whose
//! [`ExoPath::next_log_return`] draws the step's exogenous log-return from the path's exogenous
//! stream. Both worlds of a path apply the same returns (common random numbers).

use crate::error::{check_range, MarketError};
use crate::rng::PathRng;
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A price process, as given in an experiment's `[market.process]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessSpec {
    /// Geometric Brownian motion: `ln S` moves by `(mu - sigma^2/2) dt + sigma sqrt(dt) Z`.
    Gbm {
        /// Annualised drift.
        #[serde(default)]
        mu: f64,
        /// Annualised volatility, >= 0.
        sigma: f64,
    },
}

impl ProcessSpec {
    /// Checks the parameters' ranges (files are checked by [`Exogenous::build`]).
    pub fn validate(&self) -> Result<(), MarketError> {
        match *self {
            ProcessSpec::Gbm { mu, sigma } => {
                check_range("mu", mu, -10.0, 10.0)?;
                check_range("sigma", sigma, 0.0, 20.0)
            }
        }
    }
}

/// A built process: the spec with its data loaded, shared read-only by every path.
#[derive(Clone, Debug)]
pub struct Exogenous {
    kind: Kind,
    dt_years: f64,
}

#[derive(Clone, Debug)]
enum Kind {
    Gbm { drift: f64, vol: f64 },
}

impl Exogenous {
    /// Builds the process for steps of `dt_years`; relative file paths resolve against
    /// `base_dir` (the experiment file's folder).
    pub fn build(spec: &ProcessSpec, dt_years: f64, base_dir: &Path) -> Result<Self, MarketError> {
        let _ = base_dir;
        spec.validate()?;
        let kind = match *spec {
            ProcessSpec::Gbm { mu, sigma } => {
                Kind::Gbm { drift: (mu - 0.5 * sigma * sigma) * dt_years, vol: sigma * dt_years.sqrt() }
            }
        };
        Ok(Exogenous { kind, dt_years })
    }

    /// Step length in years.
    pub fn dt_years(&self) -> f64 {
        self.dt_years
    }

    /// The start price the process imposes (a replay starts at its first price), if any.
    pub fn start_price(&self) -> Option<f64> {
        None
    }

    /// The per-path state; draws what the path needs up front (random shock times) from `rng`.
    pub fn start_path(&self, rng: &mut PathRng) -> ExoPath {
        let _ = rng;
        ExoPath { step: 0 }
    }
}

/// Per-path state of an [`Exogenous`] process.
#[derive(Clone, Debug)]
pub struct ExoPath {
    step: usize,
}

impl ExoPath {
    /// The exogenous log-return of the next step.
    #[inline]
    pub fn next_log_return(&mut self, ex: &Exogenous, rng: &mut PathRng) -> f64 {
        self.step += 1;
        match ex.kind {
            Kind::Gbm { drift, vol } => {
                let z: f64 = rng.sample(StandardNormal);
                drift + vol * z
            }
        }
    }
}
