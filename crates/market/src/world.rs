//! One world's market during one path, and the seam where a primitive plugs in.
//!
//! The market price is the exogenous price (the process and its shocks, shared by every world of
//! a path) times the world's own impact factor (what its forced sales or rolls did to the price).
//! With resilience the impact decays toward 1 with a half-life; without it the impact is
//! permanent, as in benchmark B1. The oracle observes the market price at the start of each step
//! and after every trade, so a sale can feed a cascade.

use crate::liquidity::{Fill, Liquidity};
use crate::metrics::{EventSink, PathMetrics};
use crate::oracle::{BadPrint, Oracle, OracleModel};
use crate::rng::PathRng;

/// The time of one step, as a primitive sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepCtx {
    /// 0-based step index.
    pub step: usize,
    /// Number of steps of the path.
    pub steps: usize,
    /// Step length, years.
    pub dt_years: f64,
    /// Time after this step's return, years: `(step + 1) dt`.
    pub time_years: f64,
}

/// What a primitive is told about the experiment when it is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldEnv {
    /// Number of steps of a path.
    pub steps: usize,
    /// Step length, years.
    pub dt_years: f64,
    /// Start price of every path, USD.
    pub start_price: f64,
    /// The process's annualised volatility (GBM's sigma, a bootstrap's realised volatility):
    /// the default pricing volatility of the P/N split.
    pub process_vol: f64,
}

impl WorldEnv {
    /// The horizon, years: `steps dt`.
    pub fn horizon_years(&self) -> f64 {
        self.steps as f64 * self.dt_years
    }
}

/// One world's market on one path.
#[derive(Clone, Debug)]
pub struct WorldMarket {
    liquidity: Liquidity,
    /// Per-step multiplier of the log impact: `0.5^(dt / half_life)`, or 1 without resilience.
    decay: f64,
    oracle: Oracle,
    start_price: f64,
    exo_price: f64,
    impact: f64,
    price: f64,
    oracle_price: f64,
    min_price: f64,
    time_years: f64,
}

impl WorldMarket {
    /// A market starting at `start_price`, with steps of `dt_years` and, if
    /// `resilience_half_life_years` is given, impact that decays with that half-life.
    pub fn new(
        start_price: f64,
        liquidity: Liquidity,
        resilience_half_life_years: Option<f64>,
        oracle: &OracleModel,
        bad_prints: &[BadPrint],
        dt_years: f64,
    ) -> Self {
        let decay = match resilience_half_life_years {
            Some(h) if h > 0.0 => 0.5f64.powf(dt_years / h),
            Some(_) => 0.0,
            None => 1.0,
        };
        let mut m = WorldMarket {
            liquidity,
            decay,
            oracle: Oracle::with_dt(oracle, bad_prints, dt_years),
            start_price,
            exo_price: start_price,
            impact: 1.0,
            price: start_price,
            oracle_price: start_price,
            min_price: start_price,
            time_years: 0.0,
        };
        m.reset();
        m
    }

    /// Back to the start of a path.
    pub fn reset(&mut self) {
        self.exo_price = self.start_price;
        self.impact = 1.0;
        self.price = self.start_price;
        self.min_price = self.start_price;
        self.time_years = 0.0;
        self.oracle.reset(self.start_price);
        self.oracle_price = self.oracle.observe(0.0, self.start_price);
    }

    /// Applies one step's exogenous log-return (and the decay of earlier impact), moves the clock
    /// to `time_years` and lets the oracle observe.
    #[inline]
    pub fn begin_step(&mut self, log_return: f64, time_years: f64) {
        self.exo_price *= log_return.exp();
        if self.decay != 1.0 && self.impact != 1.0 {
            self.impact = self.impact.powf(self.decay);
        }
        self.time_years = time_years;
        self.set_price(self.exo_price * self.impact);
    }

    #[inline]
    fn set_price(&mut self, price: f64) {
        self.price = price;
        if price < self.min_price {
            self.min_price = price;
        }
        self.oracle_price = self.oracle.observe(self.time_years, price);
    }

    /// Sells `qty` units through the liquidity model; the price moves and the oracle observes.
    #[inline]
    pub fn sell(&mut self, qty: f64) -> Fill {
        let fill = self.liquidity.sell(self.price, qty);
        self.apply_fill(&fill);
        fill
    }

    /// Buys `qty` units through the liquidity model; the price moves and the oracle observes.
    #[inline]
    pub fn buy(&mut self, qty: f64) -> Fill {
        let fill = self.liquidity.buy(self.price, qty);
        self.apply_fill(&fill);
        fill
    }

    #[inline]
    fn apply_fill(&mut self, fill: &Fill) {
        if fill.new_price != self.price {
            self.impact *= fill.new_price / self.price;
            self.set_price(fill.new_price);
        }
    }

    /// The true market price now.
    #[inline]
    pub fn price(&self) -> f64 {
        self.price
    }
    /// The price the oracle reports now.
    #[inline]
    pub fn oracle_price(&self) -> f64 {
        self.oracle_price
    }
    /// The exogenous price now (the market price without this world's impact).
    #[inline]
    pub fn exogenous_price(&self) -> f64 {
        self.exo_price
    }
    /// The lowest market price so far, the start price included.
    #[inline]
    pub fn min_price(&self) -> f64 {
        self.min_price
    }
    /// The start price of the path.
    pub fn start_price(&self) -> f64 {
        self.start_price
    }
    /// The current time, years since the start of the path.
    #[inline]
    pub fn time_years(&self) -> f64 {
        self.time_years
    }
    /// The liquidity model (to quote a trade without making it).
    pub fn liquidity(&self) -> &Liquidity {
        &self.liquidity
    }
}

/// A primitive that lives in a world: the CDP or the P/N split.
///
/// The runner calls [`Primitive::begin_path`] once per path, [`Primitive::step`] after every
/// step's return has been applied to the market, and [`Primitive::end_path`] at the end. A
/// primitive is cloned once per worker thread; `begin_path` must reset it in time proportional to
/// what the previous path touched, not to the cohort's size.
pub trait Primitive: Clone + Send {
    /// Prepares for a new path on a freshly reset market.
    fn begin_path(&mut self, market: &WorldMarket);
    /// Reacts to one step: liquidations and their cascade, or rolls and their crowding.
    fn step(&mut self, ctx: &StepCtx, market: &mut WorldMarket, rng: &mut PathRng, events: &mut EventSink);
    /// Fills the path's metrics (the runner sets `min_price` and `final_price` from the market).
    fn end_path(&mut self, ctx: &StepCtx, market: &WorldMarket, metrics: &mut PathMetrics);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_impact_persists_and_resilience_decays() {
        let liq = Liquidity::Exponential { depth_eth: 1000.0 };
        let dt = 1.0 / 365.0 / 24.0;
        let mut m = WorldMarket::new(100.0, liq.clone(), None, &OracleModel::Spot, &[], dt);
        m.begin_step(0.0, dt);
        m.sell(100.0);
        let after = 100.0 * (-0.1f64).exp();
        assert!((m.price() - after).abs() < 1e-12);
        m.begin_step(0.0, 2.0 * dt);
        assert!((m.price() - after).abs() < 1e-12, "impact must be permanent");
        assert_eq!(m.min_price(), m.price());
        assert_eq!(m.oracle_price(), m.price());

        // Half-life of one step: the log impact halves every step.
        let mut m = WorldMarket::new(100.0, liq, Some(dt), &OracleModel::Spot, &[], dt);
        m.begin_step(0.0, dt);
        m.sell(100.0);
        m.begin_step(0.0, 2.0 * dt);
        assert!((m.price() - 100.0 * (-0.05f64).exp()).abs() < 1e-9, "{}", m.price());
        assert!((m.min_price() - after).abs() < 1e-12);
    }

    #[test]
    fn slow_oracles_see_a_sale_later() {
        // A sale in step 1 moves the market price at once; a one-hour OSM shows it an hour later,
        // a spot oracle at once. Zero exogenous returns, exponential impact.
        let liq = Liquidity::Exponential { depth_eth: 1000.0 };
        let dt = 1.0 / 365.0 / 24.0;
        let osm = OracleModel::Osm { hop_hours: 1.0 };
        let mut m = WorldMarket::new(100.0, liq, None, &osm, &[], dt);
        m.begin_step(0.0, dt);
        m.sell(100.0);
        let after = 100.0 * (-0.1f64).exp();
        assert!((m.price() - after).abs() < 1e-12);
        assert_eq!(m.oracle_price(), 100.0, "at 1 h it serves the price at 0 h");
        m.begin_step(0.0, 2.0 * dt);
        assert!((m.oracle_price() - after).abs() < 1e-12, "queued at 1 h after the sale, served at 2 h");
        // Reset: back to the start price, oracle included.
        m.reset();
        assert_eq!((m.price(), m.oracle_price()), (100.0, 100.0));
    }
}
