//! Execution of what the rolls shed (docs/MODEL.md, Execution): the hedge trades of the roll
//! counterparty, whose costs the P holder bears.
//!
//! * Market: each round's shed is sold at once, as one block, through the world's liquidity
//!   model (with a sandwich around it when `frontrun_share > 0`).
//! * TWAP: each round's shed is sold in equal slices, one now and one in the first round of
//!   each of the next steps; the slices still pending at the last step are sold then.
//!
//! Inventory not yet sold keeps its ETH-delta: its basis is the market price of the roll that
//! shed it, and its gain or loss (`q (p - p0)`) is the P holder's (`lender_pnl_usd`, `p_drift`),
//! never a booking of the ledger, which records only the trade's slippage against the price
//! just before it.

use super::{Shared, State};
use headroom_market::{Event, EventKind, EventSink, Ledger, Party, WorldMarket};

/// The `position` of a hedge trade's event row: the trade belongs to a round, not to a holder.
pub const HEDGE_POSITION: u64 = u64::MAX;

/// ETH to trade (`qty`, > 0 to sell) and its basis, USD at the prices of the rolls that shed it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Lot {
    /// Units of the asset.
    pub qty: f64,
    /// `sum q p0` over the rolls that shed them.
    pub basis: f64,
}

/// Where a trade sits in the path, for its event row.
#[derive(Clone, Copy, Debug)]
pub(super) struct TradeAt {
    pub step: usize,
    pub round: u32,
}

impl State {
    /// Whether the P holder may hold unfilled hedge inventory (TWAP slices pending).
    #[inline]
    pub(super) fn has_inventory(&self, sh: &Shared) -> bool {
        sh.patience > 1
    }

    /// The unfilled inventory's gain at market price `x`: `sum q x - basis`.
    pub(super) fn inventory_gain(&self, x: f64) -> f64 {
        self.pending.iter().map(|l| l.qty * x - l.basis).sum()
    }

    /// Takes the TWAP slices due at `step` (every slice left at the last step).
    #[inline]
    pub(super) fn take_carry(&mut self, sh: &Shared, step: usize, last: bool) -> Lot {
        if sh.patience <= 1 {
            return Lot::default();
        }
        if last {
            let mut all = Lot::default();
            for l in &mut self.pending {
                all.qty += l.qty;
                all.basis += l.basis;
                *l = Lot::default();
            }
            all
        } else {
            std::mem::take(&mut self.pending[step % sh.patience])
        }
    }

    /// Trades one round's shed `shed` (ETH to sell, decided at market price `p0`) together with
    /// the slices `carry` due now. Returns whether anything was traded.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(super) fn execute_round(
        &mut self,
        sh: &Shared,
        carry: &mut Lot,
        shed: f64,
        p0: f64,
        at: TradeAt,
        last: bool,
        market: &mut WorldMarket,
        ev: &mut EventSink,
    ) -> bool {
        let due = std::mem::take(carry);
        let mut sell = due.qty;
        if shed > 0.0 {
            if sh.patience > 1 && !last {
                let slice = shed / sh.patience as f64;
                sell += slice;
                for j in 1..sh.patience {
                    let l = &mut self.pending[(at.step + j) % sh.patience];
                    l.qty += slice;
                    l.basis += slice * p0;
                }
            } else {
                sell += shed;
            }
        }
        if sell > 0.0 {
            self.sell_at_market(sh, sell, due, at, market, ev);
            true
        } else {
            false
        }
    }

    /// Sells `q` at market (sandwiched when `frontrun_share > 0`); `due` is the part of `q` sold
    /// from inventory (its gain since the rolls is realised), the rest was shed at this price.
    fn sell_at_market(
        &mut self,
        sh: &Shared,
        q: f64,
        due: Lot,
        at: TradeAt,
        market: &mut WorldMarket,
        ev: &mut EventSink,
    ) {
        let (p, proceeds, slippage, searcher) = if sh.frontrun > 0.0 {
            let s = market.sell_sandwiched(q, sh.frontrun);
            (s.price, s.victim.usd, s.victim.slippage_usd, s.searcher_usd)
        } else {
            let p = market.cache_price();
            let fill = market.sell(q);
            (p, fill.usd, fill.slippage_usd, 0.0)
        };
        self.acc.eth_sold += q;
        self.acc.slippage += slippage;
        self.acc.searcher += searcher;
        if due.qty != 0.0 {
            let gain = due.qty * p - due.basis;
            self.acc.exposure += gain;
            self.acc.paid_since_mark += gain;
        }
        if ev.enabled() {
            let mut ledger = Ledger::default();
            ledger.transfer(Party::Lender, Party::Market, slippage - searcher);
            ledger.transfer(Party::Lender, Party::Takers, searcher);
            ev.push(hedge_event(at, q, proceeds, 0.0, market.oracle_price(), p, ledger));
        }
    }
}

/// A hedge trade's event row: `eth` > 0 sold (< 0 bought), `usd` its proceeds (or cost),
/// `fee_usd` a discount paid to a taker, `market_price` the price just before it.
fn hedge_event(
    at: TradeAt,
    eth: f64,
    usd: f64,
    fee_usd: f64,
    oracle_price: f64,
    market_price: f64,
    ledger: Ledger,
) -> Event {
    Event {
        step: at.step as u32,
        round: at.round,
        position: HEDGE_POSITION,
        kind: EventKind::Hedge,
        eth,
        usd,
        fee_usd,
        oracle_price,
        market_price,
        wrongful: false,
        ledger,
    }
}
