//! The slow settlement oracle and the settlement of a P/N position at maturity.
//!
//! The settlement price of a maturity `T` is a statistic of the market prices observed in the
//! window `[T - window, T]` (the start price and every step-end price, after that step's rolls):
//! their mean (`twap`: a time-weighted average of equally spaced samples) or their median
//! (`median`; the mean of the two middle values for an even count). An empty window (a zero
//! window between two steps) uses the last price observed at or before `T`. Then:
//!
//! * **manipulation** (optional, bounded): an attacker moves the latest `ceil(share n)` of the
//!   window's `n` samples by the factor `1 + size` before the statistic is taken; a TWAP moves by
//!   about `share size`, a median not at all while `share < 1/2`;
//! * **error**: the published price is the statistic times `1 + error`;
//! * **delay** (a dispute or liveness period, UMA's optimistic oracle: 2 h liveness, about 48 h
//!   for a disputed vote): the price is published, and the payout delivered, `delay_hours`
//!   after `T`; the USD amounts of the settlement are valued at the market price then.
//!
//! A settlement price `x_s` off the true price `x_T` (the market price at `T`) moves value
//! between P and N only: P receives `u p(x_s)` units instead of `u p(x_T)`, N `u n(x_s)` instead
//! of `u n(x_T)`, and `p + n = 1`, so the transfer to P, `u x_d (p(x_s) - p(x_T))`, is exactly
//! the transfer from N (docs/MODEL.md)").

use crate::error::{check_range, PnError};
use crate::payoff::Payoff;
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

/// The slow settlement oracle, the `[pn.settlement]` table.
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
    pub fn validate(&self) -> Result<(), PnError> {
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

/// What one settlement pays, for `u` units of one strike.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SettlementOutcome {
    /// P's payout valued at delivery, USD: `u x_d p(x_s)`.
    pub p_usd: f64,
    /// N's payout valued at delivery, USD: `u x_d n(x_s)`.
    pub n_usd: f64,
    /// P's ETH received: `u p(x_s)`.
    pub p_eth: f64,
    /// Value moved to P by the settlement price's error, USD: `u x_d (p(x_s) - p(x_T))`.
    pub transfer_to_p_usd: f64,
    /// Value moved to N, USD: `u x_d (n(x_s) - n(x_T))`; equal to `-transfer_to_p_usd` up to
    /// rounding.
    pub transfer_to_n_usd: f64,
    /// P's shortfall below its strike at the true price: `u max(K - g(x_T), 0)`, `g` P's USD
    /// payoff (`u max(K - x_T, 0)` for the capped shape).
    pub shortfall_usd: f64,
}

/// Settles `units` pairs of strike `strike` under `payoff`: settlement price `x_settle`, true
/// market price at maturity `x_true`, market price at delivery `x_deliver` (module
/// documentation for the formulas).
#[inline]
pub fn settle(
    payoff: &Payoff,
    units: f64,
    strike: f64,
    x_settle: f64,
    x_true: f64,
    x_deliver: f64,
) -> SettlementOutcome {
    let (ps, ns) = (payoff.p_share(x_settle, strike), payoff.n_share(x_settle, strike));
    let (pt, nt) = (payoff.p_share(x_true, strike), payoff.n_share(x_true, strike));
    let ux = units * x_deliver;
    SettlementOutcome {
        p_usd: ux * ps,
        n_usd: ux * ns,
        p_eth: units * ps,
        transfer_to_p_usd: ux * (ps - pt),
        transfer_to_n_usd: ux * (ns - nt),
        shortfall_usd: units * (strike - payoff.p_usd(x_true, strike)).max(0.0),
    }
}

/// The market prices a world has observed, kept for as long as a settlement may need them: a
/// ring buffer of `(time, ln price)` with a fixed capacity, plus a scratch buffer for the window.
/// Logarithms are kept because the market has them without an `exp`; prices are computed only
/// when a settlement reads them.
#[derive(Clone, Debug)]
pub(crate) struct PriceHistory {
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
    #[cfg(test)]
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

    /// A settlement price off the truth moves value between P and N only: P's and N's payouts
    /// sum to the deposit's value, and the transfers cancel.
    #[test]
    fn settlement_transfer_is_zero_sum() {
        let shapes = [Payoff::Capped, Payoff::Linear { lower: 0.5, upper: 1.5 }, Payoff::Binary];
        for shape in shapes {
            for &(xs, xt) in &[(2100.0, 2000.0), (1900.0, 2000.0), (2600.0, 2500.0), (1500.0, 1400.0)] {
                let (u, k, xd) = (37.0, 1950.0, 2050.0);
                let o = settle(&shape, u, k, xs, xt, xd);
                assert!((o.p_usd + o.n_usd - u * xd).abs() < 1e-9 * u * xd, "{shape:?}");
                assert!((o.transfer_to_p_usd + o.transfer_to_n_usd).abs() < 1e-9 * u * xd, "{shape:?}");
            }
        }
        // By hand, capped, K = 1950, u = 37: settled at 2100 while the truth was 2000, delivered
        // at 2050. P gets 37 * 1950/2100 units instead of 37 * 1950/2000: transfer to P
        // = 37 * 2050 * (1950/2100 - 1950/2000) = -3521.6071428...; no shortfall (K < x_T).
        let o = settle(&Payoff::Capped, 37.0, 1950.0, 2100.0, 2000.0, 2050.0);
        assert!((o.transfer_to_p_usd - (-3_521.607_142_857_14)).abs() < 1e-6, "{}", o.transfer_to_p_usd);
        assert_eq!(o.shortfall_usd, 0.0);
        // Truth 1800 below K: shortfall 37 * (1950 - 1800) = 5550.
        let o = settle(&Payoff::Capped, 37.0, 1950.0, 1800.0, 1800.0, 1800.0);
        assert!((o.shortfall_usd - 5550.0).abs() < 1e-9 && o.transfer_to_p_usd == 0.0);
    }
}
