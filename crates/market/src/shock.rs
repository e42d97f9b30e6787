//! Shocks layered on any price process: a gap (an instant jump) or a wick (a move that comes
//! back), at a fixed time or at a random one.
//!
//! A shock adds to the process's log-returns, so it composes with every process, a replay
//! included. With `L = ln(1 + size)`:
//!
//! * **gap** at time `tau`: the step whose interval `(t_k, t_k + dt]` contains `tau` (the first
//!   step when `tau = 0`) gets `+L`; the process continues from the gapped price (the shock is
//!   permanent).
//! * **wick** from time `tau`: over the `n_d = max(1, round(down_hours / dt))` steps starting at
//!   the first step that begins at or after `tau`, each step gets `+L / n_d`; over the next
//!   `n_u = max(1, round(up_hours / dt))` steps each gets `-L / n_u`. The price is
//!   `S_process x (1 + size)` at the bottom and exactly back on the process after `n_d + n_u`
//!   steps: linear in log space, step by step. A wick that runs past the horizon is cut there.
//! * `at = "random"`: the first affected step is drawn uniformly from the path's steps
//!   `0 .. steps - 1`, from the path's exogenous stream when the path starts (one draw per random
//!   shock, in list order), so both worlds of a path see it at the same time.

use crate::error::{check_range, MarketError};
use serde::{Deserialize, Serialize};

/// The most shocks one experiment may layer on its process (the per-path state holds them
/// inline, so starting a path allocates nothing).
pub const MAX_SHOCKS: usize = 16;

/// When a shock happens: a random time (a fixed time is given by `at_hours`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShockTime {
    /// Uniform over the path's steps, drawn from the exogenous stream at the start of each path.
    Random,
}

/// A shock, as given in an experiment's `[[market.shocks]]` list (tagged by `kind`). Exactly
/// one of `at_hours` and `at` gives its time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ShockSpec {
    /// An instant jump of the price by the fraction `size` (-0.3 = a 30% fall), permanent.
    Gap {
        /// Relative size, > -1 (-0.3 multiplies the price by 0.7).
        size: f64,
        /// Time of the jump, hours from the start of the path, within [0, horizon].
        #[serde(default)]
        at_hours: Option<f64>,
        /// `"random"`: at a uniform random step.
        #[serde(default)]
        at: Option<ShockTime>,
    },
    /// A move of `size` over `down_hours`, then back to the process over `up_hours`.
    Wick {
        /// Relative size at the extreme, > -1 (-0.45 = down 45% at the bottom).
        size: f64,
        /// Hours from the start of the move to its extreme, rounded to whole steps (>= 1 step).
        down_hours: f64,
        /// Hours from the extreme back to the process, rounded to whole steps (>= 1 step).
        up_hours: f64,
        /// Start of the move, hours from the start of the path, within [0, horizon].
        #[serde(default)]
        at_hours: Option<f64>,
        /// `"random"`: from a uniform random step.
        #[serde(default)]
        at: Option<ShockTime>,
    },
}

/// Largest relative size of a shock.
const MAX_SIZE: f64 = 100.0;

impl ShockSpec {
    /// Checks the ranges that do not depend on the horizon.
    pub fn validate(&self) -> Result<(), MarketError> {
        let (size, at_hours, at) = match *self {
            ShockSpec::Gap { size, at_hours, at } => (size, at_hours, at),
            ShockSpec::Wick { size, down_hours, up_hours, at_hours, at } => {
                check_range("down_hours", down_hours, 0.0, f64::INFINITY)?;
                check_range("up_hours", up_hours, 0.0, f64::INFINITY)?;
                (size, at_hours, at)
            }
        };
        if !(size.is_finite() && size > -1.0 && size <= MAX_SIZE) {
            return Err(MarketError::invalid("size", size, format!("must be > -1 and <= {MAX_SIZE}")));
        }
        match (at_hours, at) {
            (Some(h), None) => check_range("at_hours", h, 0.0, f64::INFINITY),
            (None, Some(ShockTime::Random)) => Ok(()),
            (Some(h), Some(_)) => {
                Err(MarketError::invalid("at_hours", h, "give either at_hours or at = \"random\", not both"))
            }
            (None, None) => Err(MarketError::invalid(
                "at_hours",
                "(missing)",
                "give at_hours (hours from the start, >= 0) or at = \"random\"",
            )),
        }
    }

    /// The shock's schedule on a grid of `steps` steps of `dt_hours`.
    pub(crate) fn plan(&self, dt_hours: f64, steps: usize) -> Result<ShockPlan, MarketError> {
        self.validate()?;
        let horizon_hours = dt_hours * steps as f64;
        let (size, at_hours, down_steps, up_steps, is_gap) = match *self {
            ShockSpec::Gap { size, at_hours, .. } => (size, at_hours, 1, 0, true),
            ShockSpec::Wick { size, down_hours, up_hours, at_hours, .. } => {
                (size, at_hours, whole_steps(down_hours, dt_hours), whole_steps(up_hours, dt_hours), false)
            }
        };
        let first_step = match at_hours {
            None => None,
            Some(h) => {
                if h > horizon_hours * (1.0 + 1e-12) {
                    return Err(MarketError::invalid(
                        "at_hours",
                        h,
                        format!("must be within [0, {horizon_hours}] (the horizon, hours)"),
                    ));
                }
                // Index of the first step that begins at or after `h`.
                let begins = ((h / dt_hours) - 1e-9).ceil().max(0.0);
                // A gap lands in the step whose interval (t_k, t_k + dt] holds `h`.
                let k = if is_gap { (begins - 1.0).max(0.0) } else { begins };
                Some(k.min(u32::MAX as f64) as u32)
            }
        };
        let log_size = size.ln_1p();
        Ok(ShockPlan {
            first_step,
            down_steps,
            up_steps,
            down_per_step: log_size / down_steps as f64,
            up_per_step: if up_steps > 0 { -log_size / up_steps as f64 } else { 0.0 },
        })
    }
}

/// `max(1, round(hours / dt))`.
fn whole_steps(hours: f64, dt_hours: f64) -> u32 {
    (hours / dt_hours).round().clamp(1.0, u32::MAX as f64) as u32
}

/// A shock's schedule in steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ShockPlan {
    /// The first affected step, or `None` when drawn per path.
    pub first_step: Option<u32>,
    /// Steps of the move.
    pub down_steps: u32,
    /// Steps of the way back (0 for a gap: permanent).
    pub up_steps: u32,
    /// Log-return added on each step of the move.
    pub down_per_step: f64,
    /// Log-return added on each step of the way back.
    pub up_per_step: f64,
}

impl ShockPlan {
    /// The log-return this shock adds to step `step` when it starts at step `first`.
    #[inline]
    pub fn offset(&self, step: usize, first: u32) -> f64 {
        let first = first as usize;
        if step < first {
            return 0.0;
        }
        let k = step - first;
        if k < self.down_steps as usize {
            self.down_per_step
        } else if k < (self.down_steps + self.up_steps) as usize {
            self.up_per_step
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(size: f64, at_hours: f64) -> ShockSpec {
        ShockSpec::Gap { size, at_hours: Some(at_hours), at: None }
    }

    #[test]
    fn gap_lands_in_the_step_holding_its_time() {
        // Hourly steps: a gap at 12 h is in step 11, (11 h, 12 h]; at 0 h in step 0; at 2.5 h in
        // step 2, (2 h, 3 h].
        assert_eq!(gap(-0.3, 12.0).plan(1.0, 24).unwrap().first_step, Some(11));
        assert_eq!(gap(-0.3, 0.0).plan(1.0, 24).unwrap().first_step, Some(0));
        assert_eq!(gap(-0.3, 2.5).plan(1.0, 24).unwrap().first_step, Some(2));
        assert_eq!(gap(-0.3, 24.0).plan(1.0, 24).unwrap().first_step, Some(23));
        let p = gap(-0.3, 12.0).plan(1.0, 24).unwrap();
        assert_eq!(p.offset(10, 11), 0.0);
        assert!((p.offset(11, 11) - 0.7f64.ln()).abs() < 1e-15);
        assert_eq!(p.offset(12, 11), 0.0);
    }

    #[test]
    fn wick_schedule_by_hand() {
        // Down 20% over 2 h from 3 h, back over 4 h: steps 3, 4 get ln(0.8)/2 each, steps 5..8
        // get -ln(0.8)/4 each.
        let w = ShockSpec::Wick { size: -0.2, down_hours: 2.0, up_hours: 4.0, at_hours: Some(3.0), at: None };
        let p = w.plan(1.0, 24).unwrap();
        assert_eq!(p.first_step, Some(3));
        let l = 0.8f64.ln();
        let got: Vec<f64> = (0..11).map(|k| p.offset(k, 3)).collect();
        let want = [0.0, 0.0, 0.0, l / 2.0, l / 2.0, -l / 4.0, -l / 4.0, -l / 4.0, -l / 4.0, 0.0, 0.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
        // Zero durations still take one step each.
        let w = ShockSpec::Wick { size: -0.2, down_hours: 0.0, up_hours: 0.2, at_hours: Some(0.0), at: None };
        let p = w.plan(1.0, 24).unwrap();
        assert_eq!((p.down_steps, p.up_steps), (1, 1));
    }

    #[test]
    fn validation_names_the_key() {
        let e = gap(-1.0, 1.0).validate().unwrap_err();
        assert!(e.to_string().starts_with("size = -1"), "{e}");
        let e = gap(-0.1, 25.0).plan(1.0, 24).unwrap_err();
        assert!(e.to_string().contains("at_hours = 25") && e.to_string().contains("[0, 24]"), "{e}");
        let e = ShockSpec::Gap { size: -0.1, at_hours: None, at: None }.validate().unwrap_err();
        assert!(e.to_string().contains("at_hours"), "{e}");
        let e = ShockSpec::Gap { size: -0.1, at_hours: Some(1.0), at: Some(ShockTime::Random) }
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
        let w = ShockSpec::Wick { size: -0.2, down_hours: -1.0, up_hours: 1.0, at_hours: None, at: None };
        assert!(w.validate().unwrap_err().to_string().contains("down_hours"));
    }
}
