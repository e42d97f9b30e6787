//! The settlement of a P/N position at maturity. The settlement price itself comes from the
//! market crate's slow settlement oracle ([`headroom_market::settlement`]: a TWAP or median of
//! the window before maturity, with a bounded manipulation, an error and a delay).
//!
//! A settlement price `x_s` off the true price `x_T` (the market price at `T`) moves value
//! between P and N only: P receives `u p(x_s)` units instead of `u p(x_T)`, N `u n(x_s)` instead
//! of `u n(x_T)`, and `p + n = 1`, so the transfer to P, `u x_d (p(x_s) - p(x_T))`, is exactly
//! the transfer from N; the USD amounts are valued at the market price `x_d` at delivery
//! (maturity plus the oracle's delay).

use crate::payoff::Payoff;
pub use headroom_market::settlement::{Manipulation, PriceHistory, SettlementMethod, SettlementSpec};

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

#[cfg(test)]
mod tests {
    use super::*;

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
