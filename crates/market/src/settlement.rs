//! The slow settlement oracle of the P/N split: the price history a world keeps, and the
//! settlement price of a maturity read from it once.
//!
//! The settlement price of a maturity `T` is a statistic of the market prices observed in the
//! window `[T - window, T]` (the start price and every step-end price): their mean (`twap`: a
//! time-weighted average of equally spaced samples) or their median (`median`; the mean of the
//! two middle values for an even count). An empty window (a zero window between two steps) uses
//! the last price observed at or before `T`. Then:
//!
//! * **manipulation** (optional, bounded): an attacker moves the latest `ceil(share n)` of the
//!   window's `n` samples by the factor `1 + size` before the statistic is taken; a TWAP moves by
//!   about `share size`, a median not at all while `share < 1/2`;
//! * **error**: the published price is the statistic times `1 + error`;
//! * **delay** (a dispute or liveness period, UMA's optimistic oracle: 2 h liveness, about 48 h
//!   for a disputed vote): the price is published `delay_hours` after `T`.
//!
//! [`PriceHistory`] keeps the observations (as log prices, which the market has without an
//! `exp`) in a ring buffer sized at construction: recording allocates nothing.

use crate::error::{check_range, MarketError};
use serde::{Deserialize, Serialize};

/// How the window's prices are reduced to one settlement price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SettlementMethod {
    /// The mean of the window's samples.
    #[default]
    Twap,
    /// The median of the window's samples.
    Median,
}

/// A bounded manipulation of the settlement window: the latest `ceil(share n)` samples of the
/// window's `n` are moved by the factor `1 + size`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manipulation {
    /// The fraction of the window's samples the attacker controls, within [0, 1].
    pub share: f64,
    /// The relative move of each controlled sample, within [-0.99, 1] (the bound).
    pub size: f64,
}

/// The slow settlement oracle, as given in the P/N split's `settlement` table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SettlementSpec {
    /// `twap` (default) or `median`.
    #[serde(default)]
    pub method: SettlementMethod,
    /// Length of the window before maturity, hours, >= 0 (default 0: the price at maturity).
    #[serde(default)]
    pub window_hours: f64,
    /// Hours between maturity and publication (and payout), >= 0 (default 0).
    #[serde(default)]
    pub delay_hours: f64,
    /// Relative error of the published price, within [-0.99, 1] (default 0).
    #[serde(default)]
    pub error: f64,
    /// An optional bounded manipulation of the window.
    #[serde(default)]
    pub manipulation: Option<Manipulation>,
}

impl SettlementSpec {
    /// Checks the ranges; keys are relative to the settlement table.
    pub fn validate(&self) -> Result<(), MarketError> {
        check_range("window_hours", self.window_hours, 0.0, f64::INFINITY)?;
        check_range("delay_hours", self.delay_hours, 0.0, f64::INFINITY)?;
        check_range("error", self.error, -0.99, 1.0)?;
        if let Some(m) = self.manipulation {
            check_range("manipulation.share", m.share, 0.0, 1.0)?;
            check_range("manipulation.size", m.size, -0.99, 1.0)?;
        }
        Ok(())
    }

    /// The published settlement price of a window's samples (chronological order; reordered in
    /// place): the manipulation, then the statistic, then the error (module documentation).
    /// Returns NaN for an empty slice.
    pub fn price_of(&self, samples: &mut [f64]) -> f64 {
        let n = samples.len();
        if n == 0 {
            return f64::NAN;
        }
        if let Some(m) = self.manipulation {
            let k = ((m.share * n as f64).ceil() as usize).min(n);
            for s in &mut samples[n - k..] {
                *s *= 1.0 + m.size;
            }
        }
        let stat = match self.method {
            SettlementMethod::Twap => samples.iter().sum::<f64>() / n as f64,
            SettlementMethod::Median => {
                samples.sort_unstable_by(f64::total_cmp);
                if n % 2 == 1 {
                    samples[n / 2]
                } else {
                    0.5 * (samples[n / 2 - 1] + samples[n / 2])
                }
            }
        };
        stat * (1.0 + self.error)
    }
}

/// The market prices a world has observed, kept for as long as a settlement may need them: a
/// ring buffer of `(time, ln price)` with a fixed capacity, plus a scratch buffer for the window.
/// Logarithms are kept because the market has them without an `exp`; prices are computed only
/// when a settlement reads them.
#[derive(Clone, Debug)]
pub struct PriceHistory {
    times: Vec<f64>,
    prices: Vec<f64>,
    /// Index of the next write.
    head: usize,
    len: usize,
    scratch: Vec<f64>,
}

impl PriceHistory {
    /// A history holding the latest `capacity` observations (at least 2).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        PriceHistory {
            times: vec![0.0; capacity],
            prices: vec![0.0; capacity],
            head: 0,
            len: 0,
            scratch: Vec::with_capacity(capacity),
        }
    }

    /// Forgets every observation.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Records the price observed at `t_years`.
    pub fn push(&mut self, t_years: f64, price: f64) {
        self.push_ln(t_years, price.ln());
    }

    /// Records the log price `ln_price` observed at `t_years`.
    #[inline]
    pub fn push_ln(&mut self, t_years: f64, ln_price: f64) {
        let cap = self.times.len();
        self.times[self.head] = t_years;
        self.prices[self.head] = ln_price;
        self.head += 1;
        if self.head == cap {
            self.head = 0;
        }
        if self.len < cap {
            self.len += 1;
        }
    }

    /// The `i`-th kept observation (time, price), oldest first.
    #[inline]
    fn get(&self, i: usize) -> (f64, f64) {
        let cap = self.times.len();
        let j = (self.head + cap - self.len + i) % cap;
        (self.times[j], self.prices[j].exp())
    }

    /// The last price observed at or before `t + eps` (the oldest kept one if none).
    pub fn price_at(&self, t: f64, eps: f64) -> f64 {
        let mut best = self.get(0).1;
        for i in 0..self.len {
            let (ti, pi) = self.get(i);
            if ti <= t + eps {
                best = pi;
            } else {
                break;
            }
        }
        best
    }

    /// The published settlement price for maturity `t` (module documentation).
    pub fn settlement_price(&mut self, spec: &SettlementSpec, t: f64, window_years: f64, eps: f64) -> f64 {
        self.scratch.clear();
        for i in 0..self.len {
            let (ti, pi) = self.get(i);
            if ti >= t - window_years - eps && ti <= t + eps {
                self.scratch.push(pi);
            }
        }
        if self.scratch.is_empty() {
            let p = self.price_at(t, eps);
            self.scratch.push(p);
        }
        let mut samples = std::mem::take(&mut self.scratch);
        let x = spec.price_of(&mut samples);
        self.scratch = samples;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twap_median_error_and_manipulation_by_hand() {
        let twap = SettlementSpec { window_hours: 3.0, ..Default::default() };
        assert_eq!(twap.price_of(&mut [100.0, 110.0, 90.0, 120.0]), 105.0);
        let median = SettlementSpec { method: SettlementMethod::Median, ..twap };
        assert_eq!(median.price_of(&mut [100.0, 110.0, 90.0, 120.0]), 105.0);
        assert_eq!(median.price_of(&mut [100.0, 130.0, 90.0]), 100.0);
        // 2% error on a TWAP of 100: 102.
        let err = SettlementSpec { error: 0.02, ..twap };
        assert!((err.price_of(&mut [100.0, 100.0]) - 102.0).abs() < 1e-12);
        // The attacker moves the last ceil(0.25 * 4) = 1 of 4 samples up 40%: the TWAP moves
        // (140 - 100) / 4 = 10, the median does not move.
        let m = Some(Manipulation { share: 0.25, size: 0.4 });
        let t = SettlementSpec { manipulation: m, ..twap };
        assert!((t.price_of(&mut [100.0, 100.0, 100.0, 100.0]) - 110.0).abs() < 1e-12);
        let md = SettlementSpec { manipulation: m, ..median };
        assert_eq!(md.price_of(&mut [100.0, 100.0, 100.0, 100.0]), 100.0);
    }

    #[test]
    fn history_window_selection() {
        let mut h = PriceHistory::new(4);
        for (i, p) in [10.0, 11.0, 12.0, 13.0, 14.0, 15.0].iter().enumerate() {
            h.push(i as f64, *p);
        }
        // Kept: t = 2..5. The window [3, 5] holds 13, 14, 15.
        // Prices are kept as logarithms: they read back within a few ulps.
        let spec = SettlementSpec::default();
        let near = |a: f64, b: f64| (a - b).abs() < 1e-12 * b;
        assert!(near(h.settlement_price(&spec, 5.0, 2.0, 1e-9), 14.0));
        // An empty window between samples uses the last price at or before t.
        assert!(near(h.settlement_price(&spec, 3.5, 0.0, 1e-9), 13.0));
        assert!(near(h.price_at(4.0, 1e-9), 14.0));
    }
}
