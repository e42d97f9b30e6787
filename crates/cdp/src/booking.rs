//! The ledger of the CDP world: what each liquidation, auction event and top-up moves between the
//! six parties, booked in USD at the true market price `p` just before the event
//! (docs/MODEL.md, The ledger of the CDP world).
//!
//! A position `(c, d)` is two claims at `p`: the borrower's `max(c p - d, 0)` (non-recourse) and
//! the lender's `min(d, c p)`; they sum to `c p`. An event's booking for borrower and lender is
//! the change of their claims plus what they receive; for takers and the protocol, what they
//! receive less what they pay. Every booking here is computed from the event's own flows, so
//! that the six columns summing to zero is a check of the mechanics (units and USD balance),
//! not an identity of the arithmetic.
//!
//! An auction (Maker) is a position of its own: its lot `L`, the tab `t` still to raise and the
//! debt `dl` still owed to the lender. Its claims at `p`: the borrower's `max(L p - t, 0)` (the
//! leftover lot), the lender's `min(dl, L p)` (raised DAI pays the debt first) and the
//! protocol's `min(t, L p) - min(dl, L p)` (the penalty `chop`).

use crate::mechanics::Outcome;
use headroom_market::Ledger;

/// A position's claims at price `p`: `(borrower, lender) = (max(c p - d, 0), min(d, c p))`.
#[inline]
pub fn claims(c: f64, d: f64, p: f64) -> (f64, f64) {
    let v = c * p;
    ((v - d).max(0.0), d.min(v))
}

/// The booking of a liquidation of `(c, d)` with outcome `o` at market price `p`. The
/// redistributed collateral and debt (Liquity) go to the other borrowers, who take them together
/// at `c_red p - d_red` (the lender's claim on that debt is then whole), when `others` is true;
/// with no trove left to take them the protocol keeps the collateral and the lender loses the
/// debt.
pub fn liquidation(c: f64, d: f64, o: &Outcome, p: f64, others: bool) -> Ledger {
    let (b0, l0) = claims(c, d, p);
    let (b1, l1) = claims(o.coll_after, o.debt_after, p);
    let (red_b, red_l, red_pr) = if others {
        (o.redistributed_coll * p - o.redistributed_debt, o.redistributed_debt, 0.0)
    } else {
        (0.0, 0.0, o.redistributed_coll * p)
    };
    Ledger {
        borrower_usd: b1 - b0 + o.returned * p + o.borrower_usd + red_b,
        lender_usd: l1 - l0 + o.repaid_usd + red_l,
        protocol_usd: o.to_protocol * p + o.protocol_usd + red_pr,
        takers_usd: (o.seized - o.to_protocol) * p + o.takers_get_usd - o.takers_pay_usd,
        market_usd: 0.0,
        validators_usd: 0.0,
    }
}

/// An auction's claims at `p`: `(borrower, lender, protocol)` (see the module docs).
#[inline]
pub fn auction_claims(lot: f64, tab: f64, debt_left: f64, p: f64) -> (f64, f64, f64) {
    let v = lot * p;
    let l = debt_left.min(v);
    ((v - tab).max(0.0), l, tab.min(v) - l)
}

/// The booking of a bark (Maker 2021) or bite (2020) at market price `p`: the position `(c, d)`
/// becomes an auction of lot `c` for the tab `d (1 + chop)`, and the protocol pays the keeper
/// `incentive_usd` (`tip + chip tab`; 0 for a bite).
pub fn kick(c: f64, d: f64, tab: f64, incentive_usd: f64, p: f64) -> Ledger {
    let (b0, l0) = claims(c, d, p);
    let (b1, l1, pr1) = auction_claims(c, tab, d, p);
    Ledger {
        borrower_usd: b1 - b0,
        lender_usd: l1 - l0,
        protocol_usd: pr1 - incentive_usd,
        takers_usd: incentive_usd,
        market_usd: 0.0,
        validators_usd: 0.0,
    }
}

/// An auction before and after one of its events (a take, a settlement).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuctionMove {
    /// Lot before, units.
    pub lot: f64,
    /// Tab before, USD.
    pub tab: f64,
    /// Debt still owed to the lender before, USD.
    pub debt_left: f64,
    /// Units the keeper takes.
    pub taken: f64,
    /// USD the keeper pays.
    pub raised: f64,
    /// Whether the auction ends with this event (the tab is covered or the lot is gone): the
    /// rest of the lot goes back to the owner and the protocol pays the lender what the auction
    /// did not raise of the debt.
    pub ends: bool,
}

impl AuctionMove {
    /// The lender's share of `raised` (the debt first), then the protocol's.
    #[inline]
    pub fn split(&self) -> (f64, f64) {
        let to_lender = self.raised.min(self.debt_left);
        (to_lender, self.raised - to_lender)
    }

    /// The debt the protocol covers when the auction ends short of it, USD (0 otherwise).
    #[inline]
    pub fn cover(&self) -> f64 {
        if self.ends {
            (self.debt_left - self.split().0).max(0.0)
        } else {
            0.0
        }
    }

    /// The booking at market price `p`.
    pub fn book(&self, p: f64) -> Ledger {
        let (b0, l0, pr0) = auction_claims(self.lot, self.tab, self.debt_left, p);
        let (to_lender, to_protocol) = self.split();
        let lot = self.lot - self.taken;
        let (b1, l1, pr1) = if self.ends {
            (lot * p, 0.0, 0.0)
        } else {
            auction_claims(lot, self.tab - self.raised, self.debt_left - to_lender, p)
        };
        let cover = self.cover();
        Ledger {
            borrower_usd: b1 - b0,
            lender_usd: l1 - l0 + to_lender + cover,
            protocol_usd: pr1 - pr0 + to_protocol - cover,
            takers_usd: self.taken * p - self.raised,
            market_usd: 0.0,
            validators_usd: 0.0,
        }
    }
}

/// The booking of a top-up of `add` units to `(c, d)` at `p`: the borrower's units move into
/// the position, which changes the lender's claim only when the position is short at `p`.
pub fn top_up(c: f64, d: f64, add: f64, p: f64) -> Ledger {
    let (b0, l0) = claims(c, d, p);
    let (b1, l1) = claims(c + add, d, p);
    Ledger { borrower_usd: b1 - b0 - add * p, lender_usd: l1 - l0, ..Ledger::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanics;
    use crate::spec::{AaveRules, DirectParams};

    #[test]
    fn aave_bad_debt_liquidation_by_hand() {
        // 1 ETH at 2,400 against 2,300 of debt, Aave (bonus 5%, no fee share): HF = 0.866 <=
        // 0.95, close factor 100%; 2,300 x 1.05 / 2,400 = 1.00625 > 1: all 1 ETH seized for
        // 2,400 / 1.05 = 2,285.71, bad debt 14.29. The liquidator gains 2,400 - 2,285.71 =
        // 114.29: the borrower's equity (100) and 14.29 of the lender's claim.
        let aave = DirectParams {
            bonus: 0.05,
            close_factor: 0.5,
            protocol_fee: 0.0,
            aave: Some(AaveRules { full_close_hf: 0.95, partial_min_usd: 2000.0, dust_usd: 1000.0 }),
        };
        let o = mechanics::direct(&aave, 0.83, 1.0, 2300.0, 2400.0).unwrap();
        let l = liquidation(1.0, 2300.0, &o, 2400.0, true);
        check!(l.takers_usd, 114.28571428571428);
        check!(l.borrower_usd, -100.0);
        check!(l.lender_usd, -14.285714285714285);
        check!(o.shortfall_usd, 14.285714285714285);
        assert!(l.balances(1e-12));
        check!(l.cost(), 114.28571428571428);
        // With the 10% fee share the protocol keeps 10% of the bonus units, 0.1 x 0.05 / 1.05 ETH
        // = 11.43: the liquidator 102.86.
        let o = mechanics::direct(&DirectParams { protocol_fee: 0.1, ..aave }, 0.83, 1.0, 2300.0, 2400.0)
            .unwrap();
        let l = liquidation(1.0, 2300.0, &o, 2400.0, true);
        check!(l.protocol_usd, 11.428571428571429);
        check!(l.takers_usd, 102.85714285714286);
        check!(l.borrower_usd + l.lender_usd, -114.28571428571428);
        assert!(l.balances(1e-12));
    }

    #[test]
    fn maker_take_after_a_low_print_by_hand() {
        // 10 ETH, 1,000 DAI, flat market at 200, the oracle 30% low (140): bark, tab 1,130,
        // keeper reward 300 + 0.1% x 1,130 = 301.13 from the protocol. Claims at 200: the
        // borrower 1,000 -> 2,000 - 1,130 = 870, the protocol +130 (the chop) - 301.13.
        let k = kick(10.0, 1000.0, 1130.0, 301.13, 200.0);
        check!(k.borrower_usd, -130.0);
        check!(k.lender_usd, 0.0);
        check!(k.protocol_usd, 130.0 - 301.13);
        check!(k.takers_usd, 301.13);
        // Take at top = 1.2 x 140 = 168 <= 200 x 0.99: 1,130 / 168 = 6.72619 ETH; 3.27381 back.
        let t = AuctionMove {
            lot: 10.0,
            tab: 1130.0,
            debt_left: 1000.0,
            taken: 1130.0 / 168.0,
            raised: 1130.0,
            ends: true,
        };
        let l = t.book(200.0);
        check!(l.takers_usd, 215.23809523809524);
        check!(l.borrower_usd, -215.23809523809524);
        check!(l.lender_usd, 0.0);
        check!(l.protocol_usd, 0.0);
        let mut all = k;
        all.add(&l);
        // The borrower loses 345.24 (keeper discount 215.24 + chop 130), the protocol pays
        // 301.13 of tip and chip and earns the 130 chop.
        check!(all.borrower_usd, -345.23809523809524);
        check!(all.protocol_usd, -171.13);
        check!(all.takers_usd, 516.3680952380952);
        assert!(all.balances(1e-12));
    }

    #[test]
    fn an_auction_short_of_the_debt_is_covered_by_the_protocol() {
        // A zero bid wins a lot of 10 at 140 for a tab of 1,130 on a debt of 1,000: the keeper
        // gains 1,400, the borrower loses its 270 of claim, the protocol its 130 of chop claim
        // and the 1,000 it pays the lender.
        let t =
            AuctionMove { lot: 10.0, tab: 1130.0, debt_left: 1000.0, taken: 10.0, raised: 0.0, ends: true };
        let l = t.book(140.0);
        check!(t.cover(), 1000.0);
        check!(l.takers_usd, 1400.0);
        check!(l.borrower_usd, -270.0);
        check!(l.lender_usd, 0.0);
        check!(l.protocol_usd, -1130.0);
        assert!(l.balances(1e-12));
    }

    #[test]
    fn top_ups_move_nothing_unless_the_position_is_short() {
        let l = top_up(10.0, 1000.0, 2.0, 200.0);
        assert_eq!((l.borrower_usd, l.lender_usd), (0.0, 0.0));
        // Short at 80: the lender's claim rises from 800 to 960, paid by the borrower's units.
        let l = top_up(10.0, 1000.0, 2.0, 80.0);
        check!(l.lender_usd, 160.0);
        check!(l.borrower_usd, -160.0);
    }
}
