//! Execution of what the rolls shed (docs/MODEL.md, Execution): the hedge trades of the roll
//! counterparty, whose costs the P holder bears.
//!
//! * Market: each round's shed is sold at once, as one block, through the world's liquidity
//!   model (with a sandwich around it when `frontrun_share > 0`).
//! * TWAP: each round's shed is sold in equal slices, one now and one in the first round of
//!   each of the next steps; the slices still pending at the last step are sold then.
//! * Passive: each round's shed rests as one order, an ask at `p0 (1 + spread)` (a bid at
//!   `p0 (1 - spread)` for a buy-back); it fills whole at its price when the step's high (low)
//!   reaches it: the candle's when the market has one ([`WorldMarket::step_range_log`]), else
//!   the extreme of the Brownian bridge between the step's end points, drawn from the world's
//!   own stream ([`headroom_market::bridge`]). The fill moves the price as a trade of its size
//!   would (the order absorbed flow that would have moved it) but pays no slippage: it trades
//!   at the price the market reached. After `max_wait_steps` the order is traded at market.
//! * Auction: each round's shed is offered as one lot at a discount `d` to the market price
//!   that ramps from 0 to `max_discount` over `ramp_steps` steps; a taker takes the whole lot
//!   when `q p d` covers its cost, the slippage of trading it on through the liquidity model
//!   plus its gas. The discount is the taker's (a fee the P holder pays); the taker's slippage
//!   and gas are its own.
//!
//! Passive and auction orders are kept in placement order (expiry, auction checks) and, for
//! passive ones, in two heaps by price (asks lowest first, bids highest first): a step costs
//! O(open orders), never a scan of the cohort, and nothing when no order is open.
//!
//! Inventory not yet sold keeps its ETH-delta: its basis is the market price of the roll that
//! shed it, and its gain or loss (`q (p - p0)`) is the P holder's (`lender_pnl_usd`, `p_drift`),
//! never a booking of the ledger, which records only the trade's slippage against the price
//! just before it.

use super::{HeapEntry, Shared, State};
use crate::spec::Execution;
use headroom_market::bridge::{bridge_max, bridge_min};
use headroom_market::{Event, EventKind, EventSink, Ledger, Party, PathRng, WorldMarket};
use rand::RngExt;

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

/// A resting passive order or an auction lot: the ETH left to trade (signed: > 0 to sell) and
/// its basis.
#[derive(Clone, Copy, Debug)]
pub(super) struct Order {
    pub lot: Lot,
    /// Passive: the order's price (`p0 (1 +- spread)`).
    pub limit: f64,
    /// The step it was placed in.
    pub placed: usize,
    /// The round it was placed in (for event rows).
    pub round: u32,
    pub live: bool,
}

/// Where a trade sits in the path, for its event row.
#[derive(Clone, Copy, Debug)]
pub(super) struct TradeAt {
    pub step: usize,
    pub round: u32,
}

impl State {
    /// Whether the P holder may hold unfilled hedge inventory (TWAP slices pending, open
    /// passive orders or auction lots).
    #[inline]
    pub(super) fn has_inventory(&self, sh: &Shared) -> bool {
        sh.patience > 1 || !matches!(sh.style, Execution::Market {} | Execution::Twap { .. })
    }

    /// The unfilled inventory's gain at market price `x`: `sum q x - basis`.
    pub(super) fn inventory_gain(&self, x: f64) -> f64 {
        let pending: f64 = self.pending.iter().map(|l| l.qty * x - l.basis).sum();
        let open: f64 = self
            .order_fifo
            .iter()
            .map(|&i| self.orders[i as usize])
            .filter(|o| o.live)
            .map(|o| o.lot.qty * x - o.lot.basis)
            .sum();
        pending + open
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

    /// Trades one round's shed `shed` (ETH, > 0 to sell, < 0 to buy back; decided at market
    /// price `p0`) together with the slices `carry` due now, or places it as an order. Returns
    /// whether anything was traded.
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
        if matches!(sh.style, Execution::Passive { .. } | Execution::Auction { .. }) {
            if shed == 0.0 {
                return false;
            }
            let idx = self.place(sh, shed, p0, at);
            return matches!(sh.style, Execution::Auction { .. })
                && self.try_take(sh, idx, at.step, market, ev);
        }
        let due = std::mem::take(carry);
        let mut q = due.qty;
        if shed != 0.0 {
            if sh.patience > 1 && !last {
                let slice = shed / sh.patience as f64;
                q += slice;
                for j in 1..sh.patience {
                    let l = &mut self.pending[(at.step + j) % sh.patience];
                    l.qty += slice;
                    l.basis += slice * p0;
                }
            } else {
                q += shed;
            }
        }
        if q > 0.0 {
            self.sell_at_market(sh, q, due, at, market, ev);
            true
        } else if q < 0.0 {
            self.buy_at_market(sh, -q, due, at, market, ev);
            true
        } else {
            false
        }
    }

    /// Places `qty` (signed) shed at `p0` as a passive order or an auction lot; returns its
    /// index.
    fn place(&mut self, sh: &Shared, qty: f64, p0: f64, at: TradeAt) -> u32 {
        let limit = match sh.style {
            Execution::Passive { spread, .. } => p0 * if qty > 0.0 { 1.0 + spread } else { 1.0 - spread },
            _ => p0,
        };
        let idx = self.orders.len() as u32;
        self.orders.push(Order {
            lot: Lot { qty, basis: qty * p0 },
            limit,
            placed: at.step,
            round: at.round,
            live: true,
        });
        self.order_fifo.push_back(idx);
        self.live_orders += 1;
        if matches!(sh.style, Execution::Passive { .. }) {
            if qty > 0.0 {
                self.asks.push(HeapEntry { key: -limit, gid: idx });
            } else {
                self.bids.push(HeapEntry { key: limit, gid: idx });
            }
        }
        idx
    }

    /// Fills the resting asks (`sell`) whose limit the step's high `reach` (log) reached, or the
    /// bids whose limit its low reached, best first; orders no longer live are dropped on the way.
    fn fill_crossed(
        &mut self,
        sell: bool,
        reach: f64,
        step: usize,
        market: &mut WorldMarket,
        ev: &mut EventSink,
    ) {
        loop {
            let heap = if sell { &self.asks } else { &self.bids };
            let Some(&top) = heap.peek() else { break };
            let o = self.orders[top.gid as usize];
            let crossed = if sell { o.limit.ln() <= reach } else { o.limit.ln() >= reach };
            if o.live && !crossed {
                break;
            }
            if sell {
                self.asks.pop();
            } else {
                self.bids.pop();
            }
            if o.live {
                self.fill_passive(top.gid, step, market, ev);
            }
        }
    }

    /// Works the open orders at the start of step `step` (after its return, before its rolls):
    /// passive fills from the step's range and expiries, auction takes.
    pub(super) fn work_orders(
        &mut self,
        sh: &Shared,
        step: usize,
        market: &mut WorldMarket,
        rng: &mut PathRng,
        ev: &mut EventSink,
    ) {
        match sh.style {
            Execution::Passive { max_wait_steps, .. } => {
                let (a, b) = (self.last_log, market.log_price());
                let range = market.step_range_log();
                if !self.asks.is_empty() {
                    let hi = match range {
                        Some((hi, _)) => hi,
                        None => bridge_max(a, b, sh.bridge_var, 1.0 - rng.random::<f64>()),
                    };
                    self.fill_crossed(true, hi, step, market, ev);
                }
                if !self.bids.is_empty() {
                    let lo = match range {
                        Some((_, lo)) => lo,
                        None => bridge_min(a, b, sh.bridge_var, 1.0 - rng.random::<f64>()),
                    };
                    self.fill_crossed(false, lo, step, market, ev);
                }
                // Orders that waited long enough are traded at market, oldest first.
                while let Some(&i) = self.order_fifo.front() {
                    let o = self.orders[i as usize];
                    if !o.live {
                        self.order_fifo.pop_front();
                        continue;
                    }
                    if o.placed + max_wait_steps as usize > step {
                        break;
                    }
                    self.order_fifo.pop_front();
                    self.orders[i as usize].live = false;
                    self.live_orders -= 1;
                    let at = TradeAt { step, round: o.round };
                    if o.lot.qty > 0.0 {
                        self.sell_at_market(sh, o.lot.qty, o.lot, at, market, ev);
                    } else {
                        self.buy_at_market(sh, -o.lot.qty, o.lot, at, market, ev);
                    }
                }
            }
            Execution::Auction { .. } => {
                for k in 0..self.order_fifo.len() {
                    let i = self.order_fifo[k];
                    if self.orders[i as usize].live {
                        self.try_take(sh, i, step, market, ev);
                    }
                }
                let orders = &self.orders;
                self.order_fifo.retain(|&i| orders[i as usize].live);
            }
            Execution::Market {} | Execution::Twap { .. } => {}
        }
    }

    /// Fills passive order `i` whole at its price: no slippage (it trades at the price the
    /// market reached); the price moves as a trade of its size would.
    fn fill_passive(&mut self, i: u32, step: usize, market: &mut WorldMarket, ev: &mut EventSink) {
        let o = self.orders[i as usize];
        self.orders[i as usize].live = false;
        self.live_orders -= 1;
        let q = o.lot.qty;
        if q > 0.0 {
            market.sell(q);
            self.acc.eth_sold += q;
        } else {
            market.buy(-q);
        }
        let gain = q * o.limit - o.lot.basis;
        self.acc.exposure += gain;
        self.acc.paid_since_mark += gain;
        if ev.enabled() {
            let at = TradeAt { step, round: o.round };
            let oracle = market.oracle_price();
            ev.push(hedge_event(at, q, q.abs() * o.limit, 0.0, oracle, o.limit, Ledger::default(), false));
        }
    }

    /// Offers auction lot `i` at step `step`; a taker takes it when the discount covers its
    /// slippage and gas. Returns whether it was taken.
    fn try_take(
        &mut self,
        sh: &Shared,
        i: u32,
        step: usize,
        market: &mut WorldMarket,
        ev: &mut EventSink,
    ) -> bool {
        let Execution::Auction { max_discount, ramp_steps } = sh.style else {
            return false;
        };
        let o = self.orders[i as usize];
        let k = step.saturating_sub(o.placed) as f64;
        let d = max_discount * (k / ramp_steps as f64).min(1.0);
        let p = market.cache_price();
        let q = o.lot.qty.abs();
        let sell = o.lot.qty > 0.0;
        let quote = if sell { market.liquidity().sell(p, q) } else { market.liquidity().buy(p, q) };
        let taker_cost = quote.slippage_usd + sh.gas;
        let discount = q * p * d;
        if discount < taker_cost {
            return false;
        }
        self.orders[i as usize].live = false;
        self.live_orders -= 1;
        let fill = if sell { market.sell(q) } else { market.buy(q) };
        if sell {
            self.acc.eth_sold += q;
        }
        self.acc.fees += discount;
        self.acc.taker_slippage += fill.slippage_usd;
        self.acc.taker_gas += sh.gas;
        let gain = o.lot.qty * p - o.lot.basis;
        self.acc.exposure += gain;
        self.acc.paid_since_mark += gain;
        if ev.enabled() {
            let mut ledger = Ledger::default();
            ledger.transfer(Party::Lender, Party::Takers, discount);
            ledger.transfer(Party::Takers, Party::Market, fill.slippage_usd);
            ledger.gas(Party::Takers, sh.gas);
            let usd = if sell { q * p - discount } else { q * p + discount };
            let at = TradeAt { step, round: o.round };
            ev.push(hedge_event(at, o.lot.qty, usd, discount, market.oracle_price(), p, ledger, true));
        }
        true
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
        self.book_market_trade(q, proceeds, p, slippage, searcher, due, at, market, ev);
    }

    /// Buys `q` back at market (sandwiched when `frontrun_share > 0` and the searcher gains:
    /// it buys `f q` first and sells it after, [`WorldMarket::buy_sandwiched`]); `due` as in [`Self::sell_at_market`] (its `qty` is negative).
    fn buy_at_market(
        &mut self,
        sh: &Shared,
        q: f64,
        due: Lot,
        at: TradeAt,
        market: &mut WorldMarket,
        ev: &mut EventSink,
    ) {
        let s = market.buy_sandwiched(q, sh.frontrun);
        let (p, cost, searcher) = (s.price, s.victim.usd, s.searcher_usd);
        let slippage = cost - q * p;
        self.book_market_trade(-q, cost, p, slippage, searcher, due, at, market, ev);
    }

    /// Books a hedge trade at market of `eth` (> 0 sold, < 0 bought) for `usd` at pre-trade
    /// price `p`: its slippage to the market and a searcher's gain to the takers, both the P
    /// holder's; the realised gain of the inventory `due` it trades; its event row.
    #[allow(clippy::too_many_arguments)]
    fn book_market_trade(
        &mut self,
        eth: f64,
        usd: f64,
        p: f64,
        slippage: f64,
        searcher: f64,
        due: Lot,
        at: TradeAt,
        market: &WorldMarket,
        ev: &mut EventSink,
    ) {
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
            ev.push(hedge_event(at, eth, usd, 0.0, market.oracle_price(), p, ledger, false));
        }
    }
}

/// A hedge trade's event row (`auction` for an auction take, else `hedge`): `eth` > 0 sold
/// (< 0 bought), `usd` its proceeds (or cost), `fee_usd` a discount paid to a taker,
/// `market_price` the price just before it.
#[allow(clippy::too_many_arguments)]
fn hedge_event(
    at: TradeAt,
    eth: f64,
    usd: f64,
    fee_usd: f64,
    oracle_price: f64,
    market_price: f64,
    ledger: Ledger,
    auction: bool,
) -> Event {
    Event {
        step: at.step as u32,
        round: at.round,
        position: HEDGE_POSITION,
        kind: if auction { EventKind::Auction } else { EventKind::Hedge },
        eth,
        usd,
        fee_usd,
        oracle_price,
        market_price,
        wrongful: false,
        ledger,
    }
}
