//! Frictions of every trade, in both worlds: gas per transaction and the sandwich a searcher
//! wraps around a sale it sees coming (docs/MODEL.md, Frictions).
//!
//! A sandwich of share `f` around a sale of `q` units at pre-trade price `x`: the searcher sells
//! `f q` just before the victim, the victim sells `q` at the lower price, and the searcher buys
//! `f q` back just after. The searcher ends flat in the asset; its USD gain is the takers'. The
//! victim's proceeds fall by the front-run sale's impact. Booked at `x`: the victim loses
//! `q x - R_victim`, the searcher gains `R_front - C_back`, and the market (the other side of the
//! three trades) the rest, so the three sum to zero. A searcher sandwiches only a sale it gains
//! from (it simulates the bundle first): none at the market's floor price (docs/MODEL.md).

use crate::error::{check_range, MarketError};
use crate::liquidity::Fill;
use crate::world::WorldMarket;
use serde::{Deserialize, Serialize};

/// The frictions of an experiment's trades (keys of the `[market]` table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Frictions {
    /// Gas per transaction, USD, paid by the sender to the validators (a liquidation, an
    /// auction take, a holder's roll). Default 0.
    #[serde(default)]
    pub gas_usd: f64,
    /// Share of a forced sale or a roll's sale that a searcher front-runs and buys back just
    /// after (a sandwich), in [0, 1]. Default 0.
    #[serde(default)]
    pub frontrun_share: f64,
}

impl Frictions {
    /// Checks the ranges: `gas_usd >= 0` and finite, `frontrun_share` in [0, 1].
    pub fn validate(&self) -> Result<(), MarketError> {
        check_range("gas_usd", self.gas_usd, 0.0, f64::INFINITY)?;
        check_range("frontrun_share", self.frontrun_share, 0.0, 1.0)
    }

    /// Whether there are no frictions at all (the default).
    pub fn is_zero(&self) -> bool {
        self.gas_usd == 0.0 && self.frontrun_share == 0.0
    }
}

/// The result of a sale with a sandwich around it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sandwich {
    /// The pre-trade price of the sandwich, USD: the price the ledger books it at.
    pub price: f64,
    /// The victim's fill: proceeds, its slippage against `price`, the new price after it.
    pub victim: Fill,
    /// The searcher's USD gain: proceeds of its front-run sale minus the cost of its buy-back.
    pub searcher_usd: f64,
    /// What the market (the other side of the three trades) gains, USD: `q price -
    /// victim.usd - searcher_usd`.
    pub market_usd: f64,
}

impl WorldMarket {
    /// Sells `qty` units with a sandwich of share `share` around the sale (see the module
    /// docs). With `share = 0` this is exactly [`WorldMarket::sell`]. The price ends where the
    /// three trades leave it; the oracle observes after each.
    pub fn sell_sandwiched(&mut self, qty: f64, share: f64) -> Sandwich {
        let price = self.cache_price();
        if share <= 0.0 || qty <= 0.0 || self.sandwich_gain(price, qty, share) <= 0.0 {
            let victim = self.sell(qty);
            return Sandwich { price, victim, searcher_usd: 0.0, market_usd: victim.slippage_usd };
        }
        let front = self.sell(share * qty);
        let mut victim = self.sell(qty);
        let back = self.buy(share * qty);
        // The victim's slippage against the price before the sandwich.
        victim.slippage_usd = qty * price - victim.usd;
        let searcher_usd = front.usd - back.usd;
        Sandwich { price, victim, searcher_usd, market_usd: victim.slippage_usd - searcher_usd }
    }

    /// Buys `qty` units with a sandwich of share `share` around the purchase, the mirror image of
    /// [`Self::sell_sandwiched`]: the searcher buys `f q` just before the victim and sells it
    /// just after, when its simulated bundle gains. With `share = 0` this is exactly
    /// [`WorldMarket::buy`]. `victim.slippage_usd` is against the price before the sandwich.
    pub fn buy_sandwiched(&mut self, qty: f64, share: f64) -> Sandwich {
        let price = self.cache_price();
        if share <= 0.0 || qty <= 0.0 || self.buy_sandwich_gain(price, qty, share) <= 0.0 {
            let victim = self.buy(qty);
            return Sandwich { price, victim, searcher_usd: 0.0, market_usd: victim.slippage_usd };
        }
        let front = self.buy(share * qty);
        let mut victim = self.buy(qty);
        let back = self.sell(share * qty);
        victim.slippage_usd = victim.usd - qty * price;
        let searcher_usd = back.usd - front.usd;
        Sandwich { price, victim, searcher_usd, market_usd: victim.slippage_usd - searcher_usd }
    }

    /// [`Self::sandwich_gain`] for a purchase: the searcher's buy, the victim's, its sale.
    fn buy_sandwich_gain(&self, price: f64, qty: f64, share: f64) -> f64 {
        let liquidity = self.liquidity();
        let floor = self.sale_floor_price().min(price);
        let after = |p: f64, f: &Fill| (p * f.log_ratio.exp()).max(floor);
        let front = liquidity.buy(price, share * qty);
        let p1 = after(price, &front);
        let victim = liquidity.buy(p1, qty);
        let back = liquidity.sell(after(p1, &victim), share * qty);
        finite_or_zero(back.usd - front.usd)
    }

    /// What the searcher would gain by sandwiching a sale of `qty` at `price` with share `share`,
    /// from the liquidity model alone (a searcher simulates its bundle before sending it): the
    /// market is not touched. Not positive (a price at the floor, where its front-run sale would
    /// move nothing and its buy-back everything) or not finite: no sandwich.
    fn sandwich_gain(&self, price: f64, qty: f64, share: f64) -> f64 {
        let liquidity = self.liquidity();
        let floor = self.sale_floor_price().min(price);
        let after = |p: f64, f: &Fill| (p * f.log_ratio.exp()).max(floor);
        let front = liquidity.sell(price, share * qty);
        let p1 = after(price, &front);
        let victim = liquidity.sell(p1, qty);
        let back = liquidity.buy(after(p1, &victim), share * qty);
        finite_or_zero(front.usd - back.usd)
    }
}

/// `x`, or 0 when it is not finite (a bundle whose figures overflow is not sent).
fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liquidity::Liquidity;
    use crate::oracle::OracleModel;

    fn market(depth: f64) -> WorldMarket {
        WorldMarket::new(
            2000.0,
            Liquidity::Exponential { depth_eth: depth },
            None,
            &OracleModel::Spot,
            &[],
            1e-4,
        )
    }

    #[test]
    fn a_sandwich_under_exponential_impact_matches_its_closed_form() {
        // Exponential impact, depth Q, price x, victim q, share f, u = q / Q:
        // front:  R1 = x Q (1 - e^{-f u})
        // victim: R2 = x e^{-f u} Q (1 - e^{-u})
        // back:   C3 = x e^{-f u - u} Q (e^{f u} - 1)
        // and the price ends at x e^{-u}, as without the sandwich.
        let (x, q, depth, f): (f64, f64, f64, f64) = (2000.0, 300.0, 10_000.0, 0.5);
        let u = q / depth;
        let r1 = x * depth * (1.0 - (-f * u).exp());
        let r2 = x * (-f * u).exp() * depth * (1.0 - (-u).exp());
        let c3 = x * (-f * u - u).exp() * depth * ((f * u).exp() - 1.0);
        let mut m = market(depth);
        let s = m.sell_sandwiched(q, f);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(close(s.victim.usd, r2), "{} vs {r2}", s.victim.usd);
        assert!(close(s.searcher_usd, r1 - c3), "{} vs {}", s.searcher_usd, r1 - c3);
        assert!(close(m.price(), x * (-u).exp()));
        // The victim's extra cost over a plain sale is R_plain - R2 = x Q (1 - e^{-u})(1 - e^{-f u}).
        let plain = market(depth).sell(q);
        let extra = x * depth * (1.0 - (-u).exp()) * (1.0 - (-f * u).exp());
        assert!(close(plain.usd - s.victim.usd, extra));
        // The three parties balance.
        assert!(close(q * x - s.victim.usd, s.searcher_usd + s.market_usd));
    }

    #[test]
    fn a_sandwiched_purchase_matches_its_closed_form() {
        // The mirror image, price x, depth Q, purchase q, share f, u = q / Q:
        // front:  C1 = x Q (e^{f u} - 1)
        // victim: C2 = x e^{f u} Q (e^{u} - 1)
        // back:   R3 = x e^{(1 + f) u} Q (1 - e^{-f u}) = x e^{u} Q (e^{f u} - 1)
        // the searcher gains R3 - C1 = x Q (e^{f u} - 1)(e^{u} - 1), the price ends at x e^{u}.
        let (x, q, depth, f): (f64, f64, f64, f64) = (2000.0, 300.0, 10_000.0, 0.5);
        let u = q / depth;
        let c2 = x * (f * u).exp() * depth * u.exp_m1();
        let gain = x * depth * (f * u).exp_m1() * u.exp_m1();
        let mut m = market(depth);
        let s = m.buy_sandwiched(q, f);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(close(s.victim.usd, c2), "{} vs {c2}", s.victim.usd);
        assert!(close(s.searcher_usd, gain), "{} vs {gain}", s.searcher_usd);
        assert!(close(m.price(), x * u.exp()));
        assert!(close(s.victim.usd - q * x, s.searcher_usd + s.market_usd));
        // No share, or no impact (nothing to gain): a plain purchase.
        assert_eq!(market(depth).buy_sandwiched(q, 0.0).victim, market(depth).buy(q));
        let flat = || WorldMarket::new(2000.0, Liquidity::None, None, &OracleModel::Spot, &[], 1e-4);
        let s = flat().buy_sandwiched(q, f);
        assert_eq!((s.searcher_usd, s.victim), (0.0, flat().buy(q)));
    }

    #[test]
    fn no_share_is_a_plain_sale_and_ranges_are_checked() {
        let mut a = market(1000.0);
        let mut b = market(1000.0);
        let s = a.sell_sandwiched(10.0, 0.0);
        assert_eq!(s.victim, b.sell(10.0));
        assert_eq!(s.searcher_usd, 0.0);
        assert_eq!(a.price(), b.price());
        assert!(Frictions { gas_usd: 50.0, frontrun_share: 1.0 }.validate().is_ok());
        assert!(Frictions { gas_usd: -1.0, frontrun_share: 0.0 }.validate().is_err());
        assert!(Frictions { gas_usd: 0.0, frontrun_share: 1.5 }.validate().is_err());
        assert!(Frictions { gas_usd: f64::NAN, frontrun_share: 0.0 }.validate().is_err());
        assert!(Frictions::default().is_zero());
    }
}
