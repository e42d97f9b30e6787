//! Liquidity: what a forced sale (or a purchase) of the asset does to the price.
//!
//! Every model is a pure function of the current price and the quantity: it returns the fill
//! (proceeds, slippage, new price). The market keeps the price; see [`crate::world`].
//! Formulas and sources are in docs/MODEL.md (Liquidity).

use crate::error::{check_positive, check_range, MarketError};
use serde::{Deserialize, Serialize};

/// The result of selling (or buying) a block of the asset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    /// USD received for a sale, or paid for a purchase.
    pub usd: f64,
    /// The gap to trading the whole block at the pre-trade price, USD, >= 0.
    pub slippage_usd: f64,
    /// The price after the trade.
    pub new_price: f64,
    /// `ln(new_price / price)`, exact where the model gives it in logarithms (exponential).
    pub log_ratio: f64,
}

/// Smallest fraction of the pre-trade price a sale may leave (keeps logarithms finite).
const PRICE_FLOOR_FRACTION: f64 = 1e-12;

/// Above this `u = s / Q` the exponential model's gap `h(u)` comes from `expm1`, below it from
/// its Taylor series.
const SERIES_MAX_U: f64 = 1.0 / 64.0;

/// `h(u) = u - (1 - e^-u) = e^-u - 1 + u` for `u >= 0`: the exponential model's slippage over
/// `S Q`.
///
/// Written as `u + expm1(-u)` it loses about `log2(2 / u)` bits to cancellation (40 bits
/// of a block of 1,000 ETH against a depth of 10^6). For `u <= 1/64` it is the Taylor series
/// `sum_{k>=2} (-u)^k / k!` to `k = 8`, which is accurate to rounding: the first term left out
/// is below `2 u^7 / 9!` of the sum, under `2^-53`. The polynomial is evaluated by Estrin's
/// scheme (short dependency chains).
#[inline]
pub fn exp_impact_gap(u: f64) -> f64 {
    if u <= SERIES_MAX_U {
        const C: [f64; 7] =
            [1.0 / 2.0, -1.0 / 6.0, 1.0 / 24.0, -1.0 / 120.0, 1.0 / 720.0, -1.0 / 5040.0, 1.0 / 40320.0];
        let u2 = u * u;
        let u4 = u2 * u2;
        // Plain products and sums: `mul_add` is a library call on targets without FMA.
        let a = C[0] + C[1] * u;
        let b = C[2] + C[3] * u;
        let c = C[4] + C[5] * u + C[6] * u2;
        u2 * (a + b * u2 + c * u4)
    } else {
        u + (-u).exp_m1()
    }
}

/// Selling `qty > 0` at `price` against exponential depth `depth`. With `u = qty / depth` the
/// proceeds are `S Q (u - h(u))`, the slippage `S Q h(u)` and the new price `S (1 - u + h(u))`,
/// where `h(u) = u - (1 - e^-u)` ([`exp_impact_gap`]); the log move `-u` is exact.
#[inline(always)]
fn exponential_sell(price: f64, qty: f64, depth: f64) -> Fill {
    // `qty * (1 / depth)` rather than `qty / depth`: the reciprocal does not wait for `qty`, so
    // a cascade round (whose next price waits for this) sees a product, not a division. The two
    // differ by at most one rounding of `u`.
    let u = qty * (1.0 / depth);
    let h = exp_impact_gap(u);
    let scale = price * depth;
    Fill { usd: scale * (u - h), slippage_usd: scale * h, new_price: price * (1.0 - (u - h)), log_ratio: -u }
}

/// A liquidity model, as given in an experiment's `[market.liquidity]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Liquidity {
    /// No impact: every trade fills at the current price.
    #[default]
    None,
    /// Exponential permanent impact (benchmark B1): selling `s` moves `S` to `S exp(-s/Q)`;
    /// proceeds `S Q (1 - exp(-s/Q))`.
    Exponential {
        /// Depth `Q`, units of the asset.
        depth_eth: f64,
    },
    /// Linear impact: the marginal price falls by `S / D` per unit sold; a sale of `D` or more
    /// exhausts the book (the excess sells at a price near zero).
    Linear {
        /// Depth `D`: units that take the price to zero.
        depth_eth: f64,
    },
    /// A constant-product pool `x y = k` with a fee; its reserves at price `S` are
    /// `x = L / sqrt(S)`, `y = L sqrt(S)` with `L = reserve_eth sqrt(reference_price)`.
    ConstantProduct {
        /// The pool's asset reserve when the price is `reference_price`.
        reserve_eth: f64,
        /// The price at which `reserve_eth` is given, USD.
        reference_price: f64,
        /// The pool's fee on the input amount, a fraction in [0, 1).
        #[serde(default)]
        fee: f64,
    },
    /// The square-root law: impact `I(q) = Y sigma_daily sqrt(q / V_daily)` as a fraction of the
    /// price; selling along the curve costs `(2/3) I(q) q S`.
    SquareRoot {
        /// The prefactor `Y` (about 1 empirically).
        #[serde(default = "one")]
        y: f64,
        /// Daily volatility of the asset (a fraction).
        sigma_daily: f64,
        /// Daily traded volume `V`, units of the asset.
        daily_volume_eth: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl Liquidity {
    /// Checks the parameters' ranges.
    pub fn validate(&self) -> Result<(), MarketError> {
        match *self {
            Liquidity::None => Ok(()),
            Liquidity::Exponential { depth_eth } | Liquidity::Linear { depth_eth } => {
                check_positive("depth_eth", depth_eth)
            }
            Liquidity::ConstantProduct { reserve_eth, reference_price, fee } => {
                check_positive("reserve_eth", reserve_eth)?;
                check_positive("reference_price", reference_price)?;
                check_range("fee", fee, 0.0, 0.999_999)
            }
            Liquidity::SquareRoot { y, sigma_daily, daily_volume_eth } => {
                check_range("y", y, 0.0, f64::INFINITY)?;
                check_range("sigma_daily", sigma_daily, 0.0, f64::INFINITY)?;
                check_positive("daily_volume_eth", daily_volume_eth)
            }
        }
    }

    /// Sells `qty` units (>= 0) at pre-trade price `price`.
    #[inline(always)]
    pub fn sell(&self, price: f64, qty: f64) -> Fill {
        match *self {
            // The hot case (benchmark B1), small enough to inline into a cascade round.
            Liquidity::Exponential { depth_eth } if qty > 0.0 => exponential_sell(price, qty, depth_eth),
            _ => self.sell_other(price, qty),
        }
    }

    /// [`Self::sell`] for every case but a positive exponential sale.
    #[inline(never)]
    fn sell_other(&self, price: f64, qty: f64) -> Fill {
        if qty <= 0.0 {
            return Fill { usd: 0.0, slippage_usd: 0.0, new_price: price, log_ratio: 0.0 };
        }
        let floor = price * PRICE_FLOOR_FRACTION;
        let (usd, new_price) = match *self {
            Liquidity::None => (price * qty, price),
            Liquidity::Exponential { depth_eth } => return exponential_sell(price, qty, depth_eth),
            Liquidity::Linear { depth_eth } => {
                let q = qty.min(depth_eth);
                (price * (q - q * q / (2.0 * depth_eth)), price * (1.0 - q / depth_eth))
            }
            Liquidity::ConstantProduct { reserve_eth, reference_price, fee } => {
                let l = reserve_eth * reference_price.sqrt();
                let x = l / price.sqrt();
                let y = l * price.sqrt();
                let x_new = x + qty * (1.0 - fee);
                let y_new = l * l / x_new;
                (y - y_new, y_new / x_new)
            }
            Liquidity::SquareRoot { y, sigma_daily, daily_volume_eth } => {
                let impact = (y * sigma_daily * (qty / daily_volume_eth).sqrt()).min(1.0);
                (price * qty * (1.0 - 2.0 / 3.0 * impact), price * (1.0 - impact))
            }
        };
        let usd = usd.max(0.0);
        let new_price = new_price.max(floor);
        Fill {
            usd,
            slippage_usd: (price * qty - usd).max(0.0),
            new_price,
            log_ratio: (new_price / price).ln(),
        }
    }

    /// Buys `qty` units (>= 0) at pre-trade price `price` (used by top-ups and hedges that buy).
    /// A purchase larger than a pool's reserve is capped just under the reserve.
    #[inline]
    pub fn buy(&self, price: f64, qty: f64) -> Fill {
        if qty <= 0.0 {
            return Fill { usd: 0.0, slippage_usd: 0.0, new_price: price, log_ratio: 0.0 };
        }
        let (usd, new_price) = match *self {
            Liquidity::None => (price * qty, price),
            Liquidity::Exponential { depth_eth } => {
                let x = qty / depth_eth;
                (price * depth_eth * x.exp_m1(), price * x.exp())
            }
            Liquidity::Linear { depth_eth } => {
                (price * (qty + qty * qty / (2.0 * depth_eth)), price * (1.0 + qty / depth_eth))
            }
            Liquidity::ConstantProduct { reserve_eth, reference_price, fee } => {
                let l = reserve_eth * reference_price.sqrt();
                let x = l / price.sqrt();
                let y = l * price.sqrt();
                let x_new = (x - qty).max(x * 1e-9);
                let y_new = l * l / x_new;
                ((y_new - y) / (1.0 - fee), y_new / x_new)
            }
            Liquidity::SquareRoot { y, sigma_daily, daily_volume_eth } => {
                let impact = y * sigma_daily * (qty / daily_volume_eth).sqrt();
                (price * qty * (1.0 + 2.0 / 3.0 * impact), price * (1.0 + impact))
            }
        };
        Fill {
            usd,
            slippage_usd: (usd - price * qty).max(0.0),
            new_price,
            log_ratio: (new_price / price).ln(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sell(model: Liquidity, price: f64, qty: f64, usd: f64, new_price: f64) {
        let f = model.sell(price, qty);
        let tol = 1e-9 * (1.0 + usd.abs());
        assert!((f.usd - usd).abs() < tol, "{model:?}: usd {} != {usd}", f.usd);
        assert!(
            (f.new_price - new_price).abs() < 1e-9 * price,
            "{model:?}: price {} != {new_price}",
            f.new_price
        );
        assert!((f.slippage_usd - (price * qty - usd)).abs() < tol);
    }

    #[test]
    fn exponential_matches_b1_formulas() {
        // B1: S = 3000, Q = 1e6, s = 1000: new = 3000 e^-0.001, slippage = S (s - Q (1 - e^{-s/Q})).
        let q: f64 = 1e6;
        let s: f64 = 1000.0;
        let proceeds = 3000.0 * q * (1.0 - (-s / q).exp());
        check_sell(Liquidity::Exponential { depth_eth: q }, 3000.0, s, proceeds, 3000.0 * (-s / q).exp());
    }

    #[test]
    fn exponential_gap_is_accurate_on_both_sides_of_the_series_bound() {
        // Reference: the alternating series to 30 terms (terms fall fast; no cancellation
        // beyond the first digit for u <= 1/64).
        let reference = |u: f64| {
            let mut term = -u; // (-u)^k / k! from k = 1
            let mut sum = 0.0;
            for k in 2..32 {
                term *= -u / k as f64;
                sum += term;
            }
            sum
        };
        for &u in &[1e-9, 1e-6, 3.7e-4, 1e-3, 0.01, SERIES_MAX_U] {
            let (h, r) = (exp_impact_gap(u), reference(u));
            assert!(((h - r) / r).abs() < 4.0 * f64::EPSILON, "u {u}: {h} vs {r}");
        }
        // Above the bound, expm1: continuous with the series, and right for large blocks.
        let above = SERIES_MAX_U * (1.0 + 1e-12);
        let (h, r) = (exp_impact_gap(above), reference(above));
        assert!(((h - r) / r).abs() < 1e-12, "{h} vs {r}");
        let big: f64 = 2.5;
        assert!((exp_impact_gap(big) - (big - 1.0 + (-big).exp())).abs() < 1e-15);
        // The cancelling form loses digits that the series keeps: at u = 1e-6 it is off by
        // far more than the series.
        let u: f64 = 1e-6;
        assert!(((u + (-u).exp_m1()) / reference(u) - 1.0).abs() > 1e3 * f64::EPSILON);
    }

    #[test]
    fn linear_and_sqrt_by_hand() {
        // Linear, D = 100, sell 10 at 2000: proceeds 2000 (10 - 100/200) = 19000, price 1800.
        check_sell(Liquidity::Linear { depth_eth: 100.0 }, 2000.0, 10.0, 19_000.0, 1800.0);
        // Square root, Y = 1, sigma_d = 0.05, V = 10000, q = 100: I = 0.05 * 0.1 = 0.005;
        // proceeds = 2000 * 100 * (1 - 2/3 * 0.005), price 2000 * 0.995.
        let m = Liquidity::SquareRoot { y: 1.0, sigma_daily: 0.05, daily_volume_eth: 10_000.0 };
        check_sell(m, 2000.0, 100.0, 200_000.0 * (1.0 - 0.005 * 2.0 / 3.0), 1990.0);
    }

    #[test]
    fn constant_product_keeps_k() {
        let m = Liquidity::ConstantProduct { reserve_eth: 1000.0, reference_price: 2000.0, fee: 0.0 };
        let l2 = 1000.0f64 * 1000.0 * 2000.0; // k = x y = L^2
        for &(price, qty) in &[(2000.0, 10.0), (1500.0, 300.0), (2500.0, 0.5)] {
            let x = (l2 / price).sqrt();
            let y = (l2 * price).sqrt();
            let f = m.sell(price, qty);
            let x_new = x + qty;
            let y_new = y - f.usd;
            assert!((x_new * y_new - l2).abs() < 1e-6 * l2, "k not kept");
            assert!((f.new_price - y_new / x_new).abs() < 1e-9 * price);
        }
    }

    /// Loss-versus-rebalancing (Milionis, Moallemi, Roughgarden and Zhang 2022): a fee-less
    /// constant-product pool over a martingale price, arbitraged back to the external price after
    /// every step, pays the arbitrageur `sigma^2 / 8` of its value per unit time.
    ///
    /// Each step the external price moves from `P` to `P' = P e^r` (driftless GBM); the
    /// arbitrageur trades through [`Liquidity::buy`] or [`Liquidity::sell`] until the pool's price
    /// is `P'` and books the value of what it receives minus what it gives at `P'`. Per step,
    /// profit / pool value at `P'` is exactly `cosh(r/2) - 1` in expectation
    /// `e^{sigma^2 dt / 8} cosh(sigma^2 dt / 4) - 1 = sigma^2 dt / 8 + O(dt^2)`; with hourly steps
    /// the `O(dt^2)` bias is about 1e-4 of the rate, far inside the 4 standard errors (0.5%).
    #[test]
    fn constant_product_lvr_is_sigma_squared_over_8() {
        use crate::rng::{stream, Purpose};
        use crate::testutil::{assert_within_4se, mean_se};
        use rand::RngExt;
        use rand_distr::StandardNormal;

        let (sigma, dt) = (0.9f64, 1.0 / (365.0 * 24.0));
        let pool = Liquidity::ConstantProduct { reserve_eth: 1000.0, reference_price: 2000.0, fee: 0.0 };
        let l = 1000.0 * 2000.0f64.sqrt();
        let mut rng = stream(71, 0, Purpose::Exogenous);
        let mut price = 2000.0f64;
        let mut rates = Vec::with_capacity(200_000);
        for _ in 0..200_000 {
            let z: f64 = rng.sample(StandardNormal);
            let external = price * (-0.5 * sigma * sigma * dt + sigma * dt.sqrt() * z).exp();
            // Units of the asset the pool holds at a price: x = L / sqrt(S).
            let (x, x_new) = (l / price.sqrt(), l / external.sqrt());
            let (fill, profit) = if external > price {
                let f = pool.buy(price, x - x_new);
                (f, (x - x_new) * external - f.usd)
            } else {
                let f = pool.sell(price, x_new - x);
                (f, f.usd - (x_new - x) * external)
            };
            assert!((fill.new_price / external - 1.0).abs() < 1e-9, "the arbitrage must close the gap");
            let value = 2.0 * l * external.sqrt();
            rates.push(profit / value / dt);
            price = fill.new_price;
        }
        let (m, se) = mean_se(&rates);
        assert_within_4se("LVR rate / pool value", m, se, sigma * sigma / 8.0);
        assert!(se < 0.005 * sigma * sigma / 8.0, "too few steps to tell: se {se}");
    }

    #[test]
    fn buy_then_sell_round_trip_costs_slippage() {
        let models = [
            Liquidity::Exponential { depth_eth: 5000.0 },
            Liquidity::Linear { depth_eth: 5000.0 },
            Liquidity::ConstantProduct { reserve_eth: 5000.0, reference_price: 1000.0, fee: 0.003 },
            Liquidity::SquareRoot { y: 1.0, sigma_daily: 0.04, daily_volume_eth: 50_000.0 },
        ];
        for m in models {
            m.validate().unwrap();
            let b = m.buy(1000.0, 50.0);
            let s = m.sell(b.new_price, 50.0);
            assert!(b.new_price > 1000.0 && s.new_price < b.new_price, "{m:?}");
            assert!(s.usd < b.usd, "{m:?}: a round trip must lose money");
        }
    }

    #[test]
    fn validation_names_the_key() {
        let e = Liquidity::Exponential { depth_eth: -1.0 }.validate().unwrap_err();
        assert!(e.to_string().contains("depth_eth"), "{e}");
        let e = Liquidity::ConstantProduct { reserve_eth: 1.0, reference_price: 1.0, fee: 1.5 }
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("fee"), "{e}");
    }
}
