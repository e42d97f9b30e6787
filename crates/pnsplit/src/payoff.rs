//! Settlement payoffs: how one deposited unit of the asset is divided between P and N at
//! maturity, as a function of the settlement price `x` (USD per unit) and the strike `K`.
//!
//! Each shape gives P's share `p(x)` of the unit and N's share `n(x)`, with `p + n = 1`; in USD
//! P receives `p(x) x` and N receives `n(x) x`, so **P + N = x** at any price. N's share is
//! computed from its own formula (not as `1 - p`), so the invariant is something the tests check.
//!
//! The shapes are those of UMA's long-short pair financial-product libraries (UMA protocol,
//! `packages/core/contracts/financial-templates/common/financial-product-libraries/
//! long-short-pair-libraries/`), with N as UMA's long token and P as the short token:
//!
//! * [`Payoff::Capped`] (the default; ethresear.ch/t/25036; UMA's covered call): P receives
//!   `min(1, K/x)` units, N `max(0, 1 - K/x)`; in USD `P = min(x, K)`, `N = (x - K)+`.
//! * [`Payoff::Linear`] (UMA's linear LSP): N's share rises linearly from 0 at the lower bound
//!   `L` to 1 at the upper bound `H`: `n = clamp((x - L) / (H - L), 0, 1)`, `p = clamp((H - x) /
//!   (H - L), 0, 1)`. Here the bounds are multiples of each holder's strike: `L = lower K`,
//!   `H = upper K`, so one shape serves a cohort whose strikes differ.
//! * [`Payoff::Binary`] (UMA's binary option LSP): N receives the whole unit when `x >= K`,
//!   P when `x < K`.

/// A payoff shape (see the module documentation for the formulas and sources).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Payoff {
    /// `P = min(x, K)`, `N = (x - K)+` in USD.
    #[default]
    Capped,
    /// Linear between `lower K` and `upper K`, `0 < lower < upper`.
    Linear {
        /// Lower bound as a multiple of the strike: below it P receives the whole unit.
        lower: f64,
        /// Upper bound as a multiple of the strike: above it N receives the whole unit.
        upper: f64,
    },
    /// All to N when `x >= K`, all to P otherwise.
    Binary,
}

impl Payoff {
    /// P's share of one unit at settlement price `x > 0` and strike `K > 0`.
    ///
    /// Capped: `min(1, K/x)`; linear: `clamp((H - x)/(H - L), 0, 1)`; binary: `1{x < K}`.
    #[inline]
    pub fn p_share(&self, x: f64, strike: f64) -> f64 {
        match *self {
            Payoff::Capped => capped_p_share(x, strike),
            Payoff::Linear { lower, upper } => {
                let (l, h) = (lower * strike, upper * strike);
                ((h - x) / (h - l)).clamp(0.0, 1.0)
            }
            Payoff::Binary => {
                if x < strike {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// N's share of one unit, from its own formula: capped `max(0, 1 - K/x)`; linear
    /// `clamp((x - L)/(H - L), 0, 1)`; binary `1{x >= K}`.
    #[inline]
    pub fn n_share(&self, x: f64, strike: f64) -> f64 {
        match *self {
            Payoff::Capped => capped_n_share(x, strike),
            Payoff::Linear { lower, upper } => {
                let (l, h) = (lower * strike, upper * strike);
                ((x - l) / (h - l)).clamp(0.0, 1.0)
            }
            Payoff::Binary => {
                if x >= strike {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// P's settlement value in USD per unit: `p(x) x`; for the capped shape exactly
    /// `min(x, K)` (no rounding of `(K/x) x`, so a holder above its strike has no shortfall).
    #[inline]
    pub fn p_usd(&self, x: f64, strike: f64) -> f64 {
        match self {
            Payoff::Capped => x.min(strike),
            _ => self.p_share(x, strike) * x,
        }
    }

    /// N's settlement value in USD per unit: `n(x) x`; for the capped shape exactly `(x - K)+`.
    #[inline]
    pub fn n_usd(&self, x: f64, strike: f64) -> f64 {
        match self {
            Payoff::Capped => (x - strike).max(0.0),
            _ => self.n_share(x, strike) * x,
        }
    }

    /// The derivative of P's USD payoff `g(x) = p(x) x` with respect to `x` (P's ETH-delta at
    /// maturity): capped `1{x < K}`; linear `1` below `L`, `(H - 2x)/(H - L)` between, `0`
    /// above; binary `1{x < K}` (the jump at `K` carries no delta).
    #[inline]
    pub fn p_usd_slope(&self, x: f64, strike: f64) -> f64 {
        match *self {
            Payoff::Capped | Payoff::Binary => {
                if x < strike {
                    1.0
                } else {
                    0.0
                }
            }
            Payoff::Linear { lower, upper } => {
                let (l, h) = (lower * strike, upper * strike);
                if x <= l {
                    1.0
                } else if x >= h {
                    0.0
                } else {
                    (h - 2.0 * x) / (h - l)
                }
            }
        }
    }
}

/// P's share under the capped payoff, `min(1, K/x)` (1 when `x <= 0`).
#[inline]
pub fn capped_p_share(x: f64, strike: f64) -> f64 {
    if x <= strike {
        1.0
    } else {
        strike / x
    }
}

/// N's share under the capped payoff, `max(0, 1 - K/x)`.
#[inline]
pub fn capped_n_share(x: f64, strike: f64) -> f64 {
    if x <= strike {
        0.0
    } else {
        1.0 - strike / x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHAPES: [Payoff; 3] = [Payoff::Capped, Payoff::Linear { lower: 0.6, upper: 1.4 }, Payoff::Binary];

    #[test]
    fn capped_by_hand() {
        // K = 2000: at x = 2500 P gets 0.8 units = 2000 USD, N 0.2 units = 500 USD.
        let p = Payoff::Capped;
        assert_eq!(p.p_share(2500.0, 2000.0), 0.8);
        assert!((p.n_share(2500.0, 2000.0) - 0.2).abs() < 1e-15);
        assert_eq!(p.p_usd(2500.0, 2000.0), 2000.0);
        assert!((p.n_usd(2500.0, 2000.0) - 500.0).abs() < 1e-9);
        // Below the strike P takes the whole unit.
        assert_eq!(p.p_usd(1500.0, 2000.0), 1500.0);
        assert_eq!(p.n_usd(1500.0, 2000.0), 0.0);
    }

    #[test]
    fn linear_and_binary_by_hand() {
        // K = 1000, bounds 600 and 1400: at 1100 N gets (1100-600)/800 = 0.625, P 0.375.
        let l = Payoff::Linear { lower: 0.6, upper: 1.4 };
        assert!((l.n_share(1100.0, 1000.0) - 0.625).abs() < 1e-15);
        assert!((l.p_share(1100.0, 1000.0) - 0.375).abs() < 1e-15);
        assert_eq!(l.p_share(500.0, 1000.0), 1.0);
        assert_eq!(l.n_share(1500.0, 1000.0), 1.0);
        // Slope between the bounds: (1400 - 2200)/800 = -1.
        assert!((l.p_usd_slope(1100.0, 1000.0) + 1.0).abs() < 1e-15);
        let b = Payoff::Binary;
        assert_eq!((b.p_share(999.0, 1000.0), b.n_share(999.0, 1000.0)), (1.0, 0.0));
        assert_eq!((b.p_share(1000.0, 1000.0), b.n_share(1000.0, 1000.0)), (0.0, 1.0));
    }

    #[test]
    fn slope_matches_finite_difference() {
        for shape in SHAPES {
            for &x in &[500.0, 900.0, 1100.0, 1300.0, 2000.0] {
                let h = 1e-4;
                let fd = (shape.p_usd(x + h, 1000.0) - shape.p_usd(x - h, 1000.0)) / (2.0 * h);
                assert!((fd - shape.p_usd_slope(x, 1000.0)).abs() < 1e-6, "{shape:?} at {x}: {fd}");
            }
        }
    }

    proptest! {
        /// P + N = x: the split never creates or destroys value, whatever the price and strike.
        #[test]
        fn p_plus_n_is_x(x in 1e-6f64..1e7, strike in 1e-6f64..1e7, lower in 0.01f64..1.0, width in 0.01f64..3.0) {
            let shapes = [Payoff::Capped, Payoff::Linear { lower, upper: lower + width }, Payoff::Binary];
            for shape in shapes {
                let (p, n) = (shape.p_share(x, strike), shape.n_share(x, strike));
                prop_assert!((0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&n));
                // Rounding bound: two subtractions, two divisions and a sum, each within one ulp.
                prop_assert!((p + n - 1.0).abs() <= 8.0 * f64::EPSILON, "{:?}: {} + {}", shape, p, n);
                let sum = shape.p_usd(x, strike) + shape.n_usd(x, strike);
                prop_assert!((sum - x).abs() <= 8.0 * f64::EPSILON * x, "{:?}: {} != {}", shape, sum, x);
            }
        }
    }
}
