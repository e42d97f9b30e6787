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
    /// The annualised volatility known at the start of a path (`Exogenous::known_vol`: GBM's
    /// sigma, a bootstrap's file's realised volatility, a replay's or a window's month before):
    /// the default pricing volatility of the P/N split. NaN when nothing was known (a replay from
    /// its file's first row); the experiment then requires the P/N split's own `pricing_vol`.
    pub process_vol: f64,
    /// Gas and sandwiches of every trade (the `[market]` table's `gas_usd`, `frontrun_share`).
    pub frictions: crate::frictions::Frictions,
}

impl WorldEnv {
    /// The horizon, years: `steps dt`.
    pub fn horizon_years(&self) -> f64 {
        self.steps as f64 * self.dt_years
    }
}

/// One world's market on one path.
///
/// The state is kept in logarithms: `ln price = ln exogenous + ln impact`. The price itself is an
/// `exp` computed only when asked for, so a step in which nothing trades costs one addition, and a primitive that compares [`Self::oracle_log_price`]
/// with a precomputed log threshold needs no `exp` at all under a spot oracle.
#[derive(Clone, Debug)]
pub struct WorldMarket {
    liquidity: Liquidity,
    /// Per-step multiplier of the log impact: `0.5^(dt / half_life)`, or 1 without resilience.
    decay: f64,
    oracle: Oracle,
    /// A spot oracle without bad prints reports the market price: no observation needed.
    spot: bool,
    /// The oracle reads the exogenous price, not the market's: a CAPO adapter reads the LST's
    /// own exchange rate, which this world's sales do not move.
    reads_rate: bool,
    start_price: f64,
    /// `ln` of the lowest price a sale may leave: [`SALE_FLOOR_FRACTION`] of the start price.
    log_sale_floor: f64,
    log_exo: f64,
    log_impact: f64,
    log_price: f64,
    /// `exp(log_price)` once a `&mut` method has computed it since the last move, else NaN.
    price_cache: f64,
    oracle_price: f64,
    min_log_price: f64,
    time_years: f64,
    /// The exogenous path's highest and lowest log price within the step ending at
    /// `range_time` (a candle's), when the path provides them.
    exo_range_log: (f64, f64),
    range_time: f64,
}

/// The lowest price a sale may leave, as a fraction of the path's start price (a market this
/// thin is gone; the floor keeps every price, oracle print and logarithm finite and positive).
pub const SALE_FLOOR_FRACTION: f64 = 1e-12;

impl WorldMarket {
    /// A market starting at `start_price`, with steps of `dt_years`, the oracle `oracle` with
    /// `bad_prints` injected, and, if `resilience_half_life_years` is given, impact that decays
    /// with that half-life.
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
            spot: *oracle == OracleModel::Spot && bad_prints.is_empty(),
            reads_rate: matches!(oracle, OracleModel::Capo { .. }),
            start_price,
            log_sale_floor: 0.0,
            log_exo: 0.0,
            log_impact: 0.0,
            log_price: 0.0,
            price_cache: f64::NAN,
            oracle_price: start_price,
            min_log_price: 0.0,
            time_years: 0.0,
            exo_range_log: (f64::NAN, f64::NAN),
            range_time: f64::NAN,
        };
        m.reset();
        m
    }

    /// Back to the start of a path that starts at `start_price` instead (each window of a
    /// `windows` process starts at its own first close).
    pub fn reset_at(&mut self, start_price: f64) {
        self.start_price = start_price;
        self.reset();
    }

    /// Back to the start of a path.
    pub fn reset(&mut self) {
        self.log_exo = self.start_price.ln();
        self.log_sale_floor = self.log_exo + SALE_FLOOR_FRACTION.ln();
        self.log_impact = 0.0;
        self.log_price = self.log_exo;
        self.price_cache = f64::NAN;
        self.min_log_price = self.log_price;
        self.time_years = 0.0;
        self.range_time = f64::NAN;
        self.oracle.reset(self.start_price);
        self.oracle_price = self.oracle.observe(0.0, self.start_price);
    }

    /// Applies one step's exogenous log-return (and the decay of earlier impact), moves the clock
    /// to `time_years` and lets the oracle observe.
    #[inline(always)]
    pub fn begin_step(&mut self, log_return: f64, time_years: f64) {
        self.log_exo += log_return;
        if self.decay != 1.0 && self.log_impact != 0.0 {
            self.log_impact *= self.decay;
        }
        self.time_years = time_years;
        self.moved();
    }

    /// Applies the leading steps in which the primitive is known to do nothing, if that can be
    /// decided without stepping: under a spot oracle (no state to update) without resilience, a
    /// step is idle when the log price stays at or above `idle_above_log`. `log_levels` are the
    /// exogenous log levels after each coming step, the running sums of their returns from
    /// [`Self::log_exogenous`] (see `ExoPath::fill_log_returns_and_levels`). Applies steps until
    /// the first that is not idle (which it leaves to `begin_step`) and returns how many it
    /// applied (0 when it cannot decide). The values, the minimum and the final state are
    /// exactly those of `begin_step` one step at a time; `time_of(k)` gives the time after step
    /// `k` of the slice.
    #[inline]
    pub fn skip_idle_steps(
        &mut self,
        log_levels: &[f64],
        idle_above_log: f64,
        time_of: impl Fn(usize) -> f64,
    ) -> usize {
        if !self.spot || self.decay != 1.0 {
            return 0;
        }
        let impact = self.log_impact;
        // Four steps at a time: the test and the minimum have no chain through the steps but
        // the minimum's, which is one operation per four steps.
        const W: usize = 4;
        let mut k = 0;
        let mut min4 = [self.min_log_price; W];
        while k + W <= log_levels.len() {
            let lp: [f64; W] = std::array::from_fn(|i| log_levels[k + i] + impact);
            if lp.iter().any(|&x| x < idle_above_log) {
                break;
            }
            for i in 0..W {
                min4[i] = min4[i].min(lp[i]);
            }
            k += W;
        }
        let mut min = min4.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        while k < log_levels.len() {
            let lp = log_levels[k] + impact;
            if lp < idle_above_log {
                break;
            }
            min = min.min(lp);
            k += 1;
        }
        if k > 0 {
            self.log_exo = log_levels[k - 1];
            self.log_price = self.log_exo + impact;
            self.price_cache = f64::NAN;
            self.min_log_price = min;
            self.time_years = time_of(k - 1);
        }
        k
    }

    /// The log price changed: update the minimum, observe.
    #[inline(always)]
    fn moved(&mut self) {
        self.log_price = self.log_exo + self.log_impact;
        self.price_cache = f64::NAN;
        if self.log_price < self.min_log_price {
            self.min_log_price = self.log_price;
        }
        if !self.spot {
            self.observe();
        }
    }

    /// A non-spot oracle observes the price (kept out of line: the spot case is the hot one):
    /// the market price, or the exogenous one for an oracle that reads an exchange rate.
    #[inline(never)]
    fn observe(&mut self) {
        let price = if self.reads_rate { self.exogenous_price() } else { self.cache_price() };
        self.oracle_price = self.oracle.observe(self.time_years, price);
    }

    /// Sells `qty` units through the liquidity model; the price moves and the oracle observes.
    /// (Always inlined: a cascade round waits for the log move it makes.)
    #[inline(always)]
    pub fn sell(&mut self, qty: f64) -> Fill {
        let price = self.cache_price();
        let fill = self.liquidity.sell(price, qty);
        self.apply_fill(&fill);
        fill
    }

    /// Buys `qty` units through the liquidity model; the price moves and the oracle observes.
    #[inline]
    pub fn buy(&mut self, qty: f64) -> Fill {
        let price = self.cache_price();
        let fill = self.liquidity.buy(price, qty);
        self.apply_fill(&fill);
        fill
    }

    /// The log state takes the fill's log move. The price is always `exp` of the log price
    /// (never the model's own post-trade figure, which may differ in the last bit), so that
    /// `min_price <= price` holds exactly.
    /// A sale never takes the price below [`SALE_FLOOR_FRACTION`] of the path's start price (nor
    /// lower than it already is): a sale of hundreds of depths would otherwise leave a price of
    /// exactly 0, at which no oracle, health factor or claim means anything.
    #[inline]
    fn apply_fill(&mut self, fill: &Fill) {
        if fill.log_ratio != 0.0 {
            let mut r = fill.log_ratio;
            if self.log_price + r < self.log_sale_floor {
                r = (self.log_sale_floor - self.log_price).min(0.0).max(r);
            }
            self.log_impact += r;
            self.moved();
        }
    }

    /// The true market price now.
    #[inline]
    pub fn price(&self) -> f64 {
        if self.price_cache.is_nan() {
            self.log_price.exp()
        } else {
            self.price_cache
        }
    }

    /// The true market price now, kept until the next move so that later calls of
    /// [`Self::price`] (and of [`Self::oracle_price`] under a spot oracle) cost no `exp`: for a
    /// cascade round, which reads both and then sells.
    #[inline]
    pub fn cache_price(&mut self) -> f64 {
        if self.price_cache.is_nan() {
            self.price_cache = self.log_price.exp();
        }
        self.price_cache
    }
    /// `ln` of the true market price now (no `exp` needed).
    #[inline]
    pub fn log_price(&self) -> f64 {
        self.log_price
    }
    /// The price the oracle reports now.
    #[inline]
    pub fn oracle_price(&self) -> f64 {
        if self.spot {
            self.price()
        } else {
            self.oracle_price
        }
    }
    /// Whether the oracle is the plain spot price (no bad prints), so that
    /// [`Self::oracle_log_price`] costs nothing.
    #[inline]
    pub fn oracle_is_spot(&self) -> bool {
        self.spot
    }
    /// `ln` of the oracle's price: free under a spot oracle, one `ln` otherwise. Comparing it
    /// with a precomputed log threshold is the cheapest trigger test.
    #[inline]
    pub fn oracle_log_price(&self) -> f64 {
        if self.spot {
            self.log_price
        } else {
            self.oracle_price.ln()
        }
    }
    /// `ln` of the exogenous price now.
    #[inline]
    pub fn log_exogenous(&self) -> f64 {
        self.log_exo
    }
    /// The exogenous price now (the market price without this world's impact).
    #[inline]
    pub fn exogenous_price(&self) -> f64 {
        self.log_exo.exp()
    }
    /// The lowest market price so far, the start price included.
    #[inline]
    pub fn min_price(&self) -> f64 {
        self.min_log_price.exp()
    }
    /// The lowest price a sale may leave on this path ([`SALE_FLOOR_FRACTION`] of its start).
    pub fn sale_floor_price(&self) -> f64 {
        self.log_sale_floor.exp()
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
    /// Records the exogenous path's highest and lowest log price within the current step (a
    /// candle's high and low), after [`Self::begin_step`]. Orders that fill when the market
    /// trades through them read it through [`Self::step_range_log`].
    pub fn set_exogenous_range(&mut self, high_log: f64, low_log: f64) {
        self.exo_range_log = (high_log, low_log);
        self.range_time = self.time_years;
    }

    /// The market's highest and lowest log price within the current step, if the exogenous
    /// path gave its range for this step: the exogenous range moved by this world's impact.
    pub fn step_range_log(&self) -> Option<(f64, f64)> {
        (self.range_time == self.time_years)
            .then_some((self.exo_range_log.0 + self.log_impact, self.exo_range_log.1 + self.log_impact))
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
    /// A log price at or above which a step does nothing at all (no trade, no state change, no
    /// time-dependent work), if the primitive can say so now; the runner then skips whole blocks
    /// of such steps ([`WorldMarket::skip_idle_steps`]). The default: it cannot.
    #[inline]
    fn idle_above_log(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sale_leaves_a_price_below_the_floor() {
        // 800 depths would leave exp(-800) of the price: 0 in floating point.
        let liq = Liquidity::Exponential { depth_eth: 10.0 };
        let mut m = WorldMarket::new(2000.0, liq, None, &OracleModel::Spot, &[], 1.0 / 8760.0);
        m.sell(8000.0);
        let floor = 2000.0 * SALE_FLOOR_FRACTION;
        assert!((m.price() / floor - 1.0).abs() < 1e-12, "{}", m.price());
        assert!(m.oracle_price() > 0.0 && m.min_price() > 0.0);
        // At the floor a sale moves nothing; a purchase still lifts the price.
        m.sell(50.0);
        assert!((m.price() / floor - 1.0).abs() < 1e-12, "{}", m.price());
        m.buy(1.0);
        assert!((m.price() / (floor * (0.1f64).exp()) - 1.0).abs() < 1e-9, "{}", m.price());
        // Below the floor by the exogenous path alone, a sale moves nothing either.
        m.reset();
        m.begin_step(-40.0, 1.0 / 8760.0);
        let low = m.price();
        assert!(low < floor);
        m.sell(1.0);
        assert_eq!(m.price(), low);
    }

    #[test]
    fn skipping_idle_steps_equals_stepping_them() {
        let dt = 1.0 / 365.0 / 24.0;
        let liq = Liquidity::Exponential { depth_eth: 1000.0 };
        let returns = [0.01, -0.02, 0.005, -0.03, 0.04, -0.001];
        let mut a = WorldMarket::new(100.0, liq.clone(), None, &OracleModel::Spot, &[], dt);
        let mut b = a.clone();
        a.sell(10.0);
        b.sell(10.0);
        for (i, &r) in returns.iter().enumerate() {
            a.begin_step(r, (i + 1) as f64 * dt);
        }
        b.cache_price();
        let time = |k: usize| (k + 1) as f64 * dt;
        let levels = |m: &WorldMarket| {
            let mut l = m.log_exogenous();
            returns.map(|r| {
                l += r;
                l
            })
        };
        assert_eq!(b.skip_idle_steps(&levels(&b), f64::NEG_INFINITY, time), 6);
        assert_eq!(a.price(), b.price(), "skipped steps must forget the cached price");
        assert_eq!(
            (a.log_price(), a.min_price(), a.time_years(), a.oracle_log_price()),
            (b.log_price(), b.min_price(), b.time_years(), b.oracle_log_price())
        );
        // Steps stop at the first that goes under the threshold: here the fourth (-0.03).
        let mut c = WorldMarket::new(100.0, liq.clone(), None, &OracleModel::Spot, &[], dt);
        let th = c.log_price() - 0.025;
        assert_eq!(c.skip_idle_steps(&levels(&c), th, time), 3);
        let mut d = WorldMarket::new(100.0, liq.clone(), None, &OracleModel::Spot, &[], dt);
        for (i, &r) in returns[..3].iter().enumerate() {
            d.begin_step(r, (i + 1) as f64 * dt);
        }
        assert_eq!(
            (c.log_price(), c.min_price(), c.time_years()),
            (d.log_price(), d.min_price(), d.time_years())
        );
        // Not under another oracle or with resilience.
        let mut e =
            WorldMarket::new(100.0, liq.clone(), None, &OracleModel::Twap { window_hours: 2.0 }, &[], dt);
        assert_eq!(e.skip_idle_steps(&levels(&e), f64::NEG_INFINITY, time), 0);
        let mut f = WorldMarket::new(100.0, liq, Some(dt), &OracleModel::Spot, &[], dt);
        assert_eq!(f.skip_idle_steps(&levels(&f), f64::NEG_INFINITY, time), 0);
    }

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
        assert!((m.min_price() - m.price()).abs() < 1e-12);
        assert!((m.log_price() - after.ln()).abs() < 1e-12);
        assert_eq!(m.oracle_log_price(), m.log_price());
        assert_eq!(m.oracle_price(), m.price());

        // Half-life of one step: the log impact halves every step.
        let mut m = WorldMarket::new(100.0, liq, Some(dt), &OracleModel::Spot, &[], dt);
        m.begin_step(0.0, dt);
        m.sell(100.0);
        m.begin_step(0.0, 2.0 * dt);
        assert!((m.price() - 100.0 * (-0.05f64).exp()).abs() < 1e-9, "{}", m.price());
        assert!((m.min_price() - after).abs() < 1e-12);
        // A non-spot oracle (spot with a bad print) observes every move.
        let bp = BadPrint {
            start_hours: 0.0,
            ramp_in_hours: 0.0,
            hold_hours: 1e9,
            ramp_out_hours: 0.0,
            error: -0.5,
        };
        let mut m = WorldMarket::new(100.0, Liquidity::None, None, &OracleModel::Spot, &[bp], dt);
        m.begin_step(0.1, dt);
        assert!((m.oracle_price() - 50.0 * 0.1f64.exp()).abs() < 1e-12);
        assert!((m.oracle_log_price() - (0.1 + 50f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn a_capo_oracle_reads_the_rate_that_sales_do_not_move() {
        // CAPO (bgd-labs/aave-capo PriceCapAdapterBase): base price x min(the LST's own rate,
        // the cap). The rate is the exogenous price here; a sale moves the market, not the rate.
        // Rate 1.228, cap 1.1939 (no growth): the oracle reads 1.1939 before and after selling
        // 100 units on a market 1,000 deep (the market falls to 1.228 e^-0.1 = 1.1111); with the
        // cap above the rate (1.3) it reads the rate, 1.228, not the market's 1.1111.
        let dt = 1.0 / 365.0 / 24.0;
        let liq = Liquidity::Exponential { depth_eth: 1000.0 };
        for (snapshot, reads) in [(1.1939, 1.1939), (1.3, 1.228)] {
            let capo = OracleModel::Capo {
                snapshot_ratio: snapshot,
                max_yearly_growth: 0.0,
                snapshot_age_days: 0.0,
            };
            let mut m = WorldMarket::new(1.228, liq.clone(), None, &capo, &[], dt);
            m.begin_step(0.0, dt);
            assert!((m.oracle_price() - reads).abs() < 1e-12);
            m.sell(100.0);
            assert!((m.price() - 1.228 * (-0.1f64).exp()).abs() < 1e-12);
            assert!((m.oracle_price() - reads).abs() < 1e-12, "{snapshot}: {}", m.oracle_price());
            m.begin_step(0.0, 2.0 * dt);
            assert!((m.oracle_price() - reads).abs() < 1e-12);
        }
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
        assert!((m.oracle_price() - 100.0).abs() < 1e-12, "at 1 h it serves the price at 0 h");
        m.begin_step(0.0, 2.0 * dt);
        assert!((m.oracle_price() - after).abs() < 1e-12, "queued at 1 h after the sale, served at 2 h");
        // Reset: back to the start price, oracle included.
        m.reset();
        assert!((m.price() - 100.0).abs() < 1e-12 && (m.oracle_price() - 100.0).abs() < 1e-12);
        // At another start price, the OSM serves it from the start.
        m.reset_at(80.0);
        m.begin_step(0.0, dt);
        assert_eq!(m.start_price(), 80.0);
        assert!((m.min_price() - 80.0).abs() < 1e-12);
        assert!((m.price() - 80.0).abs() < 1e-12 && (m.oracle_price() - 80.0).abs() < 1e-12);
    }
}
