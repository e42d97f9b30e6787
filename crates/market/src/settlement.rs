//! The slow settlement oracle of the P/N split: one price, read once, from the observations over
//! a window before maturity.
//!
//! A [`SettlementSpec`] is the configuration (an experiment's settlement table); a
//! [`SettlementOracle`] is its per-path state: [`SettlementOracle::reset`] sets the maturity `T`,
//! [`SettlementOracle::observe`] is fed the market price at every step (only the observations
//! from the window `[T - W, T]`, and the newest one before it, are kept), and
//! [`SettlementOracle::settlement_price`] gives the price once the path has reached `T`. The
//! price becomes known to the holders `delay_hours` after `T` (a dispute or liveness period:
//! UMA's optimistic oracle waits 2 h by default, a disputed answer about 48 h more).
//!
//! With `x` the aggregate of the window, the settlement price is
//! `x (1 + error) (1 + manipulation)`:
//! * `twap`: `x = (1/W) integral_{T-W}^{T} p(s) ds`, each observed price holding from its time
//!   until the next observation (as [`crate::oracle::OracleModel::Twap`]); before the first
//!   observation the first observed price holds;
//! * `median`: `x` = the median of the prices observed at times in `[T - W, T]` (the mean of the
//!   two middle ones for an even count); with no observation in the window, the newest price at
//!   or before `T`;
//! * `error`: a relative reporting error, either sign (the oracle's honest inaccuracy);
//! * `manipulation`: a bounded push `m >= 0` of the reading, always upward: against the P
//!   holders, who receive `min(1, K/x)` units of the asset, fewer the higher `x` (and so in favour
//!   of the N holders). A push sustained over the whole window moves a TWAP and a median alike;
//!   `manipulation` is that bound.

use crate::error::{check_above, check_range, MarketError};
use crate::oracle::{HOURS_PER_YEAR, MAX_ORACLE_HOURS, SAME_TIME_HOURS};
use serde::{Deserialize, Serialize};

/// How the settlement oracle aggregates its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementMethod {
    /// The time-weighted average over the window.
    Twap,
    /// The median of the observations in the window.
    Median,
}

/// A settlement oracle, as given in an experiment's settlement table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementSpec {
    /// `"twap"` or `"median"`.
    pub method: SettlementMethod,
    /// The window `W` before maturity, hours, within (0, 87600].
    pub window_hours: f64,
    /// Hours after maturity before the price is known, within [0, 87600]; default 0.
    #[serde(default)]
    pub delay_hours: f64,
    /// Relative reporting error `e`, within (-1, 1]; default 0 (-0.01 reads 1% low).
    #[serde(default)]
    pub error: f64,
    /// Upward push `m` of a manipulator, within [0, 1]; default 0 (0.02 reads 2% high).
    #[serde(default)]
    pub manipulation: f64,
}

impl SettlementSpec {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), MarketError> {
        check_above("window_hours", self.window_hours, 0.0, MAX_ORACLE_HOURS)?;
        check_range("delay_hours", self.delay_hours, 0.0, MAX_ORACLE_HOURS)?;
        check_above("error", self.error, -1.0, 1.0)?;
        check_range("manipulation", self.manipulation, 0.0, 1.0)
    }

    /// The factor `(1 + error) (1 + manipulation)` applied to the window's aggregate.
    pub fn distortion(&self) -> f64 {
        (1.0 + self.error) * (1.0 + self.manipulation)
    }
}

/// The per-path state of a settlement oracle. Its buffers are sized from the step at
/// construction and kept across resets: observing allocates nothing in steady state.
#[derive(Clone, Debug)]
pub struct SettlementOracle {
    spec: SettlementSpec,
    /// Maturity, hours.
    maturity: f64,
    /// The newest observation before the window, `(t, p)`.
    before: Option<(f64, f64)>,
    /// Observations in the window, time order.
    window: Vec<(f64, f64)>,
    /// Scratch space of the median.
    scratch: Vec<f64>,
    /// Time of the newest observation, hours (NaN: none since the reset).
    last_t: f64,
    /// Whether the newest observation went into `window` (else into `before`, or was past `T`).
    last_in_window: bool,
    /// The settlement price, once the path has reached maturity.
    settled: Option<f64>,
}

impl SettlementOracle {
    /// A settlement oracle of `spec` for observations every `dt_years` (the window's buffer holds
    /// `ceil(W / dt) + 3` prices, at most 65,536, and grows if observed more often).
    pub fn new(spec: &SettlementSpec, dt_years: f64) -> Result<Self, MarketError> {
        spec.validate()?;
        let n = if dt_years > 0.0 {
            ((spec.window_hours / (dt_years * HOURS_PER_YEAR)).ceil() + 3.0).min(65_536.0) as usize
        } else {
            8
        };
        Ok(SettlementOracle {
            spec: spec.clone(),
            maturity: f64::INFINITY,
            before: None,
            window: Vec::with_capacity(n),
            scratch: Vec::with_capacity(n),
            last_t: f64::NAN,
            last_in_window: false,
            settled: None,
        })
    }

    /// The spec.
    pub fn spec(&self) -> &SettlementSpec {
        &self.spec
    }

    /// Forgets every observation and sets the maturity, years from the start of the path (a new
    /// path, or a new maturity after a roll). O(1).
    pub fn reset(&mut self, maturity_years: f64) {
        self.maturity = maturity_years * HOURS_PER_YEAR;
        self.before = None;
        self.window.clear();
        self.last_t = f64::NAN;
        self.last_in_window = false;
        self.settled = None;
    }

    /// The maturity, years.
    pub fn maturity_years(&self) -> f64 {
        self.maturity / HOURS_PER_YEAR
    }

    /// When the settlement price becomes known, years: maturity plus `delay_hours`.
    pub fn available_at_years(&self) -> f64 {
        (self.maturity + self.spec.delay_hours) / HOURS_PER_YEAR
    }

    /// Observes the market price at `t_years` (times must not decrease; a second observation at
    /// the same time replaces the first). Observations after maturity change nothing except that
    /// the first one completes the window.
    #[inline]
    pub fn observe(&mut self, t_years: f64, price: f64) {
        let t = t_years * HOURS_PER_YEAR;
        let same = (t - self.last_t).abs() <= SAME_TIME_HOURS;
        let (t_mat, lo) = (self.maturity, self.maturity - self.spec.window_hours);
        if self.settled.is_some() && t > t_mat + SAME_TIME_HOURS {
            return;
        }
        if t <= t_mat + SAME_TIME_HOURS {
            if same && self.last_in_window {
                if let Some(last) = self.window.last_mut() {
                    last.1 = price;
                }
            } else if t >= lo - SAME_TIME_HOURS {
                self.window.push((t, price));
                self.last_in_window = true;
            } else {
                self.before = Some((t, price));
                self.last_in_window = false;
            }
        } else {
            self.last_in_window = false;
        }
        self.last_t = t;
        if t >= t_mat - SAME_TIME_HOURS {
            self.settled = self.aggregate().map(|x| x * self.spec.distortion());
        }
    }

    /// The settlement price, once an observation at or after maturity has been made (`None`
    /// before, or if nothing was observed at or before maturity).
    pub fn settlement_price(&self) -> Option<f64> {
        self.settled
    }

    /// The window's aggregate, before error and manipulation.
    fn aggregate(&mut self) -> Option<f64> {
        let (t_mat, w) = (self.maturity, self.spec.window_hours);
        let lo = t_mat - w;
        match self.spec.method {
            SettlementMethod::Twap => {
                let first = self.before.or_else(|| self.window.first().copied())?;
                let (mut cur_t, mut cur_p) = (lo, first.1);
                let mut area = 0.0;
                for &(t, p) in &self.window {
                    let t = t.clamp(lo, t_mat);
                    area += cur_p * (t - cur_t);
                    cur_t = t;
                    cur_p = p;
                }
                area += cur_p * (t_mat - cur_t);
                Some(area / w)
            }
            SettlementMethod::Median => {
                if self.window.is_empty() {
                    return self.before.map(|(_, p)| p);
                }
                self.scratch.clear();
                self.scratch.extend(self.window.iter().map(|&(_, p)| p));
                let n = self.scratch.len();
                let (_, &mut hi, _) = self.scratch.select_nth_unstable_by(n / 2, f64::total_cmp);
                if n % 2 == 1 {
                    Some(hi)
                } else {
                    let lo_half = self.scratch[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    Some(0.5 * (lo_half + hi))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: f64 = 1.0 / HOURS_PER_YEAR;

    fn spec(method: SettlementMethod, window_hours: f64) -> SettlementSpec {
        SettlementSpec { method, window_hours, delay_hours: 0.0, error: 0.0, manipulation: 0.0 }
    }

    /// Settles at `maturity_hours` over hourly `prices` from hour 0; the readings after each.
    fn run(spec: &SettlementSpec, maturity_hours: f64, prices: &[f64]) -> Vec<Option<f64>> {
        let mut o = SettlementOracle::new(spec, H).unwrap();
        o.reset(maturity_hours * H);
        prices
            .iter()
            .enumerate()
            .map(|(h, &p)| {
                o.observe(h as f64 * H, p);
                o.settlement_price()
            })
            .collect()
    }

    const PRICES: [f64; 8] = [100.0, 104.0, 90.0, 96.0, 120.0, 80.0, 100.0, 300.0];

    #[test]
    fn twap_by_hand() {
        // Maturity 6 h, window 4 h: [2, 6) holds 90, 96, 120, 80 an hour each: 96.5. The price
        // at 7 h comes after maturity and changes nothing.
        let got = run(&spec(SettlementMethod::Twap, 4.0), 6.0, &PRICES);
        assert_eq!(&got[..6], &[None; 6]);
        assert_eq!(got[6], Some(96.5));
        assert_eq!(got[7], Some(96.5));
        // Window 2.5 h, [3.5, 6): 96 (observed at 3 h) for 0.5 h, 120 and 80 an hour each:
        // (48 + 120 + 80) / 2.5 = 99.2.
        let got = run(&spec(SettlementMethod::Twap, 2.5), 6.0, &PRICES);
        assert!((got[6].unwrap() - 99.2).abs() < 1e-12, "{got:?}");
    }

    #[test]
    fn median_by_hand() {
        // Window 4 h at 6 h: prices at 2..=6 h are 90, 96, 120, 80, 100: median 96.
        let got = run(&spec(SettlementMethod::Median, 4.0), 6.0, &PRICES);
        assert_eq!(got[6], Some(96.0));
        assert_eq!(got[7], Some(96.0));
        // Window 3 h: 96, 120, 80, 100: (96 + 100) / 2 = 98.
        let got = run(&spec(SettlementMethod::Median, 3.0), 6.0, &PRICES);
        assert_eq!(got[6], Some(98.0));
        // A spike of 300 at maturity (7 h): the 2 h median of 80, 100, 300 is 100.
        let got = run(&spec(SettlementMethod::Median, 2.0), 7.0, &PRICES);
        assert_eq!(got[7], Some(100.0));
        // Window shorter than the step, maturity off the grid: the newest price before it.
        let got = run(&spec(SettlementMethod::Median, 0.25), 6.5, &PRICES);
        assert_eq!(got[7], Some(100.0));
    }

    #[test]
    fn error_manipulation_and_delay() {
        let s = SettlementSpec {
            method: SettlementMethod::Twap,
            window_hours: 4.0,
            delay_hours: 2.0,
            error: -0.01,
            manipulation: 0.02,
        };
        let got = run(&s, 6.0, &PRICES);
        assert!((got[6].unwrap() - 96.5 * 0.99 * 1.02).abs() < 1e-12, "{got:?}");
        let mut o = SettlementOracle::new(&s, H).unwrap();
        o.reset(6.0 * H);
        assert!((o.available_at_years() - 8.0 * H).abs() < 1e-15);
        assert!((o.maturity_years() - 6.0 * H).abs() < 1e-15);
    }

    #[test]
    fn same_time_replaces_and_reset_forgets() {
        // A sale at 5 h moves the price from 80 to 40: the window sees 40.
        let s = spec(SettlementMethod::Median, 4.0);
        let mut o = SettlementOracle::new(&s, H).unwrap();
        for path in 0..2 {
            o.reset(6.0 * H);
            let cap = o.window.capacity();
            for (h, &p) in PRICES.iter().enumerate().take(7) {
                o.observe(h as f64 * H, p);
                if h == 5 {
                    o.observe(h as f64 * H, 40.0);
                }
            }
            // 90, 96, 120, 40, 100: median 96; 40 replaced 80 (no sixth value).
            assert_eq!(o.settlement_price(), Some(96.0), "path {path}");
            assert_eq!(o.window.len(), 5);
            assert_eq!(o.window.capacity(), cap, "no allocation");
        }
        // Observing at maturity twice: the second price is the one at T.
        let s = spec(SettlementMethod::Median, 1.0);
        let mut o = SettlementOracle::new(&s, H).unwrap();
        o.reset(2.0 * H);
        for (t, p) in [(0.0, 100.0), (1.0, 110.0), (2.0, 130.0), (2.0, 90.0)] {
            o.observe(t * H, p);
        }
        assert_eq!(o.settlement_price(), Some(100.0), "median of 110 and 90");
    }

    #[test]
    fn validation_and_serde() {
        let bad = [
            (SettlementSpec { window_hours: 0.0, ..spec(SettlementMethod::Twap, 1.0) }, "window_hours = 0"),
            (SettlementSpec { delay_hours: -1.0, ..spec(SettlementMethod::Twap, 1.0) }, "delay_hours = -1"),
            (SettlementSpec { error: -1.0, ..spec(SettlementMethod::Twap, 1.0) }, "error = -1: must be > -1"),
            (
                SettlementSpec { manipulation: -0.1, ..spec(SettlementMethod::Twap, 1.0) },
                "manipulation = -0.1",
            ),
        ];
        for (s, want) in bad {
            let e = SettlementOracle::new(&s, H).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
        let s: SettlementSpec = toml::from_str("method = \"median\"\nwindow_hours = 1").unwrap();
        assert_eq!(s, spec(SettlementMethod::Median, 1.0));
        let s: SettlementSpec = toml::from_str(
            "method = \"twap\"\nwindow_hours = 2\ndelay_hours = 2\nerror = 0.01\nmanipulation = 0.03",
        )
        .unwrap();
        assert_eq!(s.distortion(), 1.01 * 1.03);
        let e = toml::from_str::<SettlementSpec>("method = \"mean\"\nwindow_hours = 1").unwrap_err();
        assert!(e.to_string().contains("unknown variant `mean`"), "{e}");
        let e = toml::from_str::<SettlementSpec>("method = \"twap\"\nwindow_hours = 1\nlag = 1").unwrap_err();
        assert!(e.to_string().contains("unknown field `lag`"), "{e}");
    }
}
