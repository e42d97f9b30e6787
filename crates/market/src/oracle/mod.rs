//! Oracles: what a primitive sees of the market price.
//!
//! An [`OracleModel`] is the configuration (a closed enum, one `match` per method); an [`Oracle`]
//! is its per-path state. Every observation passes the time and the true market price; the oracle
//! answers with the price it reports. Observing twice at the same time (a cascade round after a
//! sale) replaces the newest observation instead of adding a new one: the state is what it would
//! be had only the later price been observed at that time. Times within [`SAME_TIME_HOURS`] of
//! each other are the same instant; times must not decrease (an earlier time is taken as the
//! newest one). Injected [`BadPrint`]s multiply whatever the model reports.
//!
//! Formulas and sources: docs/MODEL.md (Oracles). The slow settlement oracle of the P/N split is
//! [`crate::settlement`] ([`crate::settlement::SettlementSpec`], [`crate::settlement::PriceHistory`]).

use crate::error::{check_above, check_range, MarketError};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Two observation times closer than this (hours, 3.6 ms) are the same instant.
pub const SAME_TIME_HOURS: f64 = 1e-6;

/// The longest lag, window, heartbeat or hop an oracle may have, hours (10 years).
pub const MAX_ORACLE_HOURS: f64 = 87_600.0;

/// An oracle model, as given in an experiment's `oracle` table (tagged by `model`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum OracleModel {
    /// Reports the market price at that instant.
    #[default]
    Spot,
    /// A fixed lag: reports the newest price observed at or before `t - lag_hours`; the start
    /// price before `lag_hours` have passed.
    Lag {
        /// The lag, hours, within [0, 87600].
        lag_hours: f64,
    },
    /// Heartbeat and deviation threshold (Chainlink price feeds): a new round, at the price then
    /// observed, when `|price / round_price - 1| > deviation` or when `heartbeat_hours` have
    /// passed since the last round; reports the last round's price. The start price is round 0.
    /// ETH/USD on Ethereum: 0.5% and 1 h.
    Heartbeat {
        /// The deviation threshold, a fraction within [0, 1] (0.005 = 0.5%).
        deviation: f64,
        /// The heartbeat, hours, within (0, 87600].
        heartbeat_hours: f64,
    },
    /// A time-weighted average price over the last `window_hours` (Uniswap v2/v3 style): each
    /// observed price holds from its time until the next observation (the newest has held for
    /// no time yet and does not count), and before time 0 the start price holds:
    /// `TWAP(t) = (1/W) integral_{t-W}^{t} p(s) ds`.
    Twap {
        /// The window `W`, hours, within (0, 87600].
        window_hours: f64,
    },
    /// One-period delay (Maker's Oracle Security Module): at each boundary `k hop` the served
    /// value becomes the value queued at the previous boundary, and the price in effect at the
    /// boundary is queued; so during `[k hop, (k+1) hop)` it serves the price in effect at
    /// `(k-1) hop` (the newest observation at or before it; the start price before 0).
    Osm {
        /// The hop, hours, within (0, 87600] (Maker: 1).
        hop_hours: f64,
    },
    /// A capped exchange rate (Aave CAPO, `PriceCapAdapterBase`): reports
    /// `min(price, snapshot_ratio (1 + max_yearly_growth (snapshot_age_days / 365 + t)))`, `t` in
    /// years since the start of the path: linear growth from the snapshot, an upper cap only.
    /// The price is the exchange rate itself (e.g. ETH per wstETH). A snapshot ratio set below
    /// the true rate's history (the March 2026 incident) makes the cap bind.
    Capo {
        /// The ratio at the snapshot, > 0.
        snapshot_ratio: f64,
        /// The largest yearly growth of the ratio, a fraction within [0, 10] (wstETH: 0.0968).
        max_yearly_growth: f64,
        /// How old the snapshot is when the path starts, days, within [0, 36500].
        snapshot_age_days: f64,
    },
}

impl OracleModel {
    /// Checks the parameters' ranges.
    pub fn validate(&self) -> Result<(), MarketError> {
        match *self {
            OracleModel::Spot => Ok(()),
            OracleModel::Lag { lag_hours } => check_range("lag_hours", lag_hours, 0.0, MAX_ORACLE_HOURS),
            OracleModel::Heartbeat { deviation, heartbeat_hours } => {
                check_range("deviation", deviation, 0.0, 1.0)?;
                check_above("heartbeat_hours", heartbeat_hours, 0.0, MAX_ORACLE_HOURS)
            }
            OracleModel::Twap { window_hours } => {
                check_above("window_hours", window_hours, 0.0, MAX_ORACLE_HOURS)
            }
            OracleModel::Osm { hop_hours } => check_above("hop_hours", hop_hours, 0.0, MAX_ORACLE_HOURS),
            OracleModel::Capo { snapshot_ratio, max_yearly_growth, snapshot_age_days } => {
                check_above("snapshot_ratio", snapshot_ratio, 0.0, f64::INFINITY)?;
                check_range("max_yearly_growth", max_yearly_growth, 0.0, 10.0)?;
                check_range("snapshot_age_days", snapshot_age_days, 0.0, 36_500.0)
            }
        }
    }

    /// Hours of history the model keeps (lag or window), for sizing its buffer.
    fn history_hours(&self) -> f64 {
        match *self {
            OracleModel::Lag { lag_hours } => lag_hours,
            OracleModel::Twap { window_hours } => window_hours,
            _ => 0.0,
        }
    }
}

/// An injected bad print: over a window the feed an oracle reads is `price x (1 + error x shape(t))`
/// (a spot oracle reports it as is; a TWAP, a lag or an OSM smooth or delay it),
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

/// One observation: time (hours), price, and `integral_0^t p(s) ds` (price-hours) up to it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Obs {
    t: f64,
    p: f64,
    area: f64,
}

/// The few numbers the heartbeat and OSM models keep.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Small {
    /// Heartbeat: the round's price. OSM: the served value.
    a: f64,
    /// Heartbeat: the round's time, hours. OSM: the price in effect at boundary `k`.
    b: f64,
    /// OSM: the newest observed price.
    c: f64,
    /// OSM: the boundary index of the newest observation.
    k: i64,
}

/// The per-path state of an oracle. Its buffer (lag, TWAP) is sized at construction from the
/// step ([`Oracle::with_dt`]) and kept across [`Oracle::reset`], so observing allocates nothing
/// in steady state.
#[derive(Clone, Debug)]
pub struct Oracle {
    model: OracleModel,
    bad_prints: Vec<BadPrint>,
    start_price: f64,
    /// Time of the newest observation, hours; NaN before [`Oracle::reset`].
    last_t: f64,
    /// Lag and TWAP: observations, oldest first, from the newest one at or before the window's
    /// start.
    hist: VecDeque<Obs>,
    /// Heartbeat and OSM: the state after the newest observation ...
    state: Small,
    /// ... and before it, to replace it.
    before: Small,
}

impl Oracle {
    /// A fresh oracle of `model` with injected `bad_prints` on top. Until [`Oracle::reset`] is
    /// called, the first observation's price is taken as the start price at time 0.
    pub fn new(model: &OracleModel, bad_prints: &[BadPrint]) -> Self {
        Oracle {
            model: model.clone(),
            bad_prints: bad_prints.to_vec(),
            start_price: f64::NAN,
            last_t: f64::NAN,
            hist: VecDeque::new(),
            state: Small::default(),
            before: Small::default(),
        }
    }

    /// Like [`Oracle::new`], with the history buffer sized for observations every `dt_years`
    /// (`ceil(window / dt) + 3` entries, at most 65,536; it grows if observed more often).
    pub fn with_dt(model: &OracleModel, bad_prints: &[BadPrint], dt_years: f64) -> Self {
        let mut o = Oracle::new(model, bad_prints);
        let hours = model.history_hours();
        if hours > 0.0 && dt_years > 0.0 {
            let n = (hours / (dt_years * HOURS_PER_YEAR)).ceil() + 3.0;
            o.hist.reserve(n.min(65_536.0) as usize);
        }
        o
    }

    /// The model.
    pub fn model(&self) -> &OracleModel {
        &self.model
    }

    /// Forgets every observation: the start of a path whose first price is `start_price`
    /// observed at time 0. Costs O(1) (the buffer keeps its capacity).
    pub fn reset(&mut self, start_price: f64) {
        self.start_price = start_price;
        self.last_t = 0.0;
        self.hist.clear();
        self.hist.push_back(Obs { t: 0.0, p: start_price, area: 0.0 });
        self.state = Small {
            a: start_price,
            b: match self.model {
                OracleModel::Osm { .. } => start_price,
                _ => 0.0,
            },
            c: start_price,
            k: 0,
        };
        self.before = self.state;
    }

    /// Observes the true price `price` at `t_years` and returns the reported price.
    #[inline]
    pub fn observe(&mut self, t_years: f64, price: f64) -> f64 {
        // Bad prints corrupt the feed the oracle reads: a slow oracle (TWAP, lag, OSM) smooths
        // or delays them as it would a real bad feed.
        let price = self.with_bad_prints(t_years, price);
        if self.last_t.is_nan() {
            self.reset(price);
        }
        let t_raw = t_years * HOURS_PER_YEAR;
        let same = (t_raw - self.last_t).abs() <= SAME_TIME_HOURS || t_raw < self.last_t;
        let t = if same { self.last_t } else { t_raw };
        let reported = match self.model {
            OracleModel::Spot => price,
            OracleModel::Lag { lag_hours } => {
                self.record(t, price, same);
                let cutoff = t - lag_hours + SAME_TIME_HOURS;
                while self.hist.len() >= 2 && self.hist[1].t <= cutoff {
                    self.hist.pop_front();
                }
                let front = self.hist[0];
                if front.t <= cutoff {
                    front.p
                } else {
                    self.start_price
                }
            }
            OracleModel::Heartbeat { deviation, heartbeat_hours } => {
                self.remember(same);
                let s = &mut self.state;
                if (price / s.a - 1.0).abs() > deviation || t - s.b >= heartbeat_hours - SAME_TIME_HOURS {
                    s.a = price;
                    s.b = t;
                }
                s.a
            }
            OracleModel::Twap { window_hours } => {
                self.record(t, price, same);
                let lo = t - window_hours;
                while self.hist.len() >= 2 && self.hist[1].t <= lo + SAME_TIME_HOURS {
                    self.hist.pop_front();
                }
                let newest = self.hist[self.hist.len() - 1];
                let f = self.hist[0];
                // The oldest kept observation holds at `lo`, except before time 0 (then it is the
                // observation at 0, and the start price held before it).
                let held = if lo < 0.0 { self.start_price } else { f.p };
                let area_lo = f.area + held * (lo - f.t);
                (newest.area - area_lo) / window_hours
            }
            OracleModel::Osm { hop_hours } => {
                self.remember(same);
                let s = &mut self.state;
                let k = (t / hop_hours + 1e-9).floor() as i64;
                if k > s.k {
                    // In effect at boundary k - 1: the queued value if that was the last boundary
                    // seen, else the newest observation (nothing was observed in between).
                    let at_prev = if k == s.k + 1 { s.b } else { s.c };
                    let on_boundary = (t - k as f64 * hop_hours).abs() <= SAME_TIME_HOURS;
                    s.a = at_prev;
                    s.b = if on_boundary { price } else { s.c };
                    s.k = k;
                }
                s.c = price;
                s.a
            }
            OracleModel::Capo { snapshot_ratio, max_yearly_growth, snapshot_age_days } => {
                let cap = snapshot_ratio
                    * (1.0 + max_yearly_growth * (snapshot_age_days / 365.0 + t / HOURS_PER_YEAR));
                price.min(cap)
            }
        };
        self.last_t = t;
        reported
    }

    /// Adds an observation to the history, or replaces the newest one at the same time.
    #[inline]
    fn record(&mut self, t: f64, p: f64, same: bool) {
        let last = self.hist.len() - 1;
        if same {
            self.hist[last].p = p;
        } else {
            let prev = self.hist[last];
            self.hist.push_back(Obs { t, p, area: prev.area + prev.p * (t - prev.t) });
        }
    }

    /// Saves the state before a new observation, or goes back to it to replace the newest one.
    #[inline]
    fn remember(&mut self, same: bool) {
        if same {
            self.state = self.before;
        } else {
            self.before = self.state;
        }
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
mod tests;
