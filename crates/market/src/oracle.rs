//! Oracles: what a primitive sees of the market price.
//!
//! An [`OracleModel`] is the configuration (a closed enum, one `match` per method); an [`Oracle`]
//! is its per-path state. Every observation passes the time and the true market price; the oracle
//! answers with the price it reports. Observing twice at the same time (a cascade round after a
//! sale) replaces the newest observation instead of adding a new one.

use crate::error::{check_range, MarketError};
use serde::{Deserialize, Serialize};

/// An oracle model, as given in an experiment's `oracle` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum OracleModel {
    /// Reports the market price at that instant.
    #[default]
    Spot,
}

impl OracleModel {
    /// Checks the parameters' ranges.
    pub fn validate(&self) -> Result<(), MarketError> {
        match self {
            OracleModel::Spot => Ok(()),
        }
    }
}

/// An injected bad print: over a window the oracle reports `reported x (1 + error x shape(t))`,
/// where the shape ramps linearly from 0 to 1 over `ramp_in_hours`, holds for `hold_hours`, and
/// ramps back to 0 over `ramp_out_hours` (zero ramps give a flat window). A negative `error`
/// prints low (the CAPO and Hyperliquid incidents).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadPrint {
    /// When the error starts, hours from the start of the path.
    pub start_hours: f64,
    /// Hours over which the error grows from 0 to `error`.
    #[serde(default)]
    pub ramp_in_hours: f64,
    /// Hours at the full error.
    pub hold_hours: f64,
    /// Hours over which it shrinks back to 0.
    #[serde(default)]
    pub ramp_out_hours: f64,
    /// The relative error at full strength, > -1 (-0.45 = prints 45% low).
    pub error: f64,
}

impl BadPrint {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), MarketError> {
        check_range("start_hours", self.start_hours, 0.0, f64::INFINITY)?;
        check_range("ramp_in_hours", self.ramp_in_hours, 0.0, f64::INFINITY)?;
        check_range("hold_hours", self.hold_hours, 0.0, f64::INFINITY)?;
        check_range("ramp_out_hours", self.ramp_out_hours, 0.0, f64::INFINITY)?;
        if !(self.error.is_finite() && self.error > -1.0) {
            return Err(MarketError::invalid("error", self.error, "must be > -1"));
        }
        Ok(())
    }

    /// The multiplier `1 + error x shape(t)` at `t_years`.
    #[inline]
    pub fn factor(&self, t_years: f64) -> f64 {
        let h = t_years * HOURS_PER_YEAR - self.start_hours;
        if h < 0.0 {
            return 1.0;
        }
        let shape = if h < self.ramp_in_hours {
            h / self.ramp_in_hours
        } else if h <= self.ramp_in_hours + self.hold_hours {
            1.0
        } else {
            let out = h - self.ramp_in_hours - self.hold_hours;
            if out < self.ramp_out_hours {
                1.0 - out / self.ramp_out_hours
            } else {
                0.0
            }
        };
        1.0 + self.error * shape
    }
}

/// Hours in a year of 365 days.
pub const HOURS_PER_YEAR: f64 = 365.0 * 24.0;

/// The per-path state of an oracle.
#[derive(Clone, Debug)]
pub struct Oracle {
    model: OracleModel,
    bad_prints: Vec<BadPrint>,
}

impl Oracle {
    /// A fresh oracle of `model` with injected `bad_prints` on top.
    pub fn new(model: &OracleModel, bad_prints: &[BadPrint]) -> Self {
        Oracle { model: model.clone(), bad_prints: bad_prints.to_vec() }
    }

    /// Forgets every observation: the start of a path whose first price is `start_price`
    /// observed at time 0.
    pub fn reset(&mut self, start_price: f64) {
        let _ = start_price;
    }

    /// Observes the true price `price` at `t_years` and returns the reported price.
    #[inline]
    pub fn observe(&mut self, t_years: f64, price: f64) -> f64 {
        let reported = match self.model {
            OracleModel::Spot => price,
        };
        self.with_bad_prints(t_years, reported)
    }

    #[inline]
    fn with_bad_prints(&self, t_years: f64, reported: f64) -> f64 {
        let mut p = reported;
        for b in &self.bad_prints {
            p *= b.factor(t_years);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_print_shape_by_hand() {
        // 45% low, down over 0.5 h, held 0.25 h, back over 0.5 h, from hour 2.
        let b = BadPrint {
            start_hours: 2.0,
            ramp_in_hours: 0.5,
            hold_hours: 0.25,
            ramp_out_hours: 0.5,
            error: -0.45,
        };
        let at = |h: f64| b.factor(h / HOURS_PER_YEAR);
        assert_eq!(at(1.0), 1.0);
        assert!((at(2.25) - (1.0 - 0.225)).abs() < 1e-12);
        assert!((at(2.6) - 0.55).abs() < 1e-12);
        assert!((at(3.0) - (1.0 - 0.225)).abs() < 1e-9);
        assert_eq!(at(3.5), 1.0);
        let mut o = Oracle::new(&OracleModel::Spot, &[b]);
        assert!((o.observe(2.6 / HOURS_PER_YEAR, 2000.0) - 1100.0).abs() < 1e-9);
    }
}
