//! The P/N world: the cohort's deposits split into P and N, rolled by a policy and settled at
//! maturity by the slow settlement oracle, as a [`Primitive`] the experiment runner drives.
//!
//! # Mapping from the cohort
//! Borrower `i` (collateral `c_i`, debt `d_i`) holds `u_i = c_i` units of P with strike
//! `K_i = d_i / c_i`, so P's USD claim equals the CDP lender's (docs/MODEL.md). The
//! put premium `sum_i (d_i - u_i P(S0, K_i, T))` is reported as `premium_usd`.
//!
//! # One step (after the runner has applied the step's return)
//! 1. Roll rounds. A round reads the roll oracle's price `x`; every holder the policy triggers
//!    rolls: `V = u P(x, K, tau)`, new strike `K' = x / roll_target`, new maturity
//!    `now + maturity`, `u' = V / P(x, K', maturity)`; it sheds `u Delta(K) - u' Delta(K')` ETH
//!    (sold when positive: a negative shed, a roll that adds ETH-delta, is not bought back,
//!    as in benchmark B2) and pays `fee V` ([`policies`]). The round's sheds are summed and
//!    traded as one block ([`execution`]); the oracle observes the new price and another round
//!    starts; rounds repeat while new holders trigger (crowding, measured like a liquidation
//!    cascade). A holder whose maturity has passed no longer rolls; at `tau = 0` exactly it
//!    still may (with `P = min(x, K)`, as in B2).
//! 2. Every `hedge_every_steps` steps (when set) the roll counterparty rebalances its hedge to
//!    the ETH-delta of the open P claims, trading the difference through the same execution
//!    ([`hedge`]).
//! 3. The step-end market price joins the settlement oracle's history.
//! 4. Holders whose maturity `T` satisfies `T + delay <= now` settle through the slow
//!    settlement oracle ([`crate::settlement`], [`settle`]) and leave the world.
//! 5. Every `p_drift_every_steps` steps the cohort's P value is marked ([`marks`]).
//!
//! # The ledger
//! Every event books what it moves between the six parties at the true market price just
//! before it (docs/MODEL.md, The P/N ledger): the premium at the start (borrower to P holder),
//! a roll (its fee to the takers, its gas to the validators, the P holder's gain at the true
//! price when the roll oracle reads another price), its hedge trade (slippage to the market,
//! a searcher's gain to the takers: the P holder bears both), a rebalance of the hedge (its gas
//! to the validators, its trade as a hedge trade's, both from the P holder), a settlement (the
//! settlement error, between P holder and borrower only). The hot loop keeps sums; [`marks`]
//! closes the books at the end of the path.
//!
//! At the end of the path, holders that have matured but wait for a delayed publication settle
//! at the final price; holders whose maturity lies beyond the horizon (rolled ones) are not
//! settled: their shortfall is marked at the final market price, `u max(K - g(x_final), 0)`
//! (`g` P's payoff; B2's `u max(K - x_final, 0)`), and they cause no settlement transfer.
//!
//! # Cost
//! Holders are sorted by strike once (shared by every thread). Holders that never rolled share
//! one maturity; they are consumed from the top of the sorted list by a cursor. Holders rolled in
//! the same round share their new strike and maturity, so they become one *roll group* (with
//! the member list kept for event rows, on the paths that record them); groups sit in a
//! max-heap keyed by strike (by a bound on the trigger price under the band policy) and in a
//! queue ordered by maturity (groups are created in time order, so creation order is maturity
//! order). A step costs O(log n) plus the rolls it performs; `P(x, K', maturity) / x` and
//! `Delta(K')` are the same for every roll and are computed once. The hot loop allocates nothing once the buffers have grown.

mod build;
mod execution;
mod fastmark;
mod hedge;
mod marks;
mod policies;
mod settle;

pub use execution::HEDGE_POSITION;

use crate::error::{check_positive, check_range, PnError};
use crate::payoff::Payoff;
use crate::pricing::{capped_p, p_value_delta_at, TauConsts};
use crate::settlement::{PriceHistory, SettlementSpec};
use crate::spec::{Execution, PnSpec, RollPolicy};
use execution::{Lot, Order, TradeAt};
use headroom_market::oracle::HOURS_PER_YEAR;
use headroom_market::{Cohort, EventSink, PathMetrics, PathRng, Primitive, StepCtx, WorldEnv, WorldMarket};
use statrs::distribution::{ContinuousCDF, Normal};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

/// End of a member list.
const NONE: u32 = u32::MAX;

/// Relative tolerance of the P + N = x check (rounding of a few products and sums).
const INVARIANT_TOL: f64 = 1e-9;

/// One holder: a borrower's deposit split into P (and N).
#[derive(Clone, Copy, Debug)]
struct Holder {
    id: u64,
    units: f64,
    strike: f64,
    ln_strike: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupState {
    Live,
    Merged,
    Settled,
}

/// Holders rolled in the same round: one strike, one maturity, their units summed.
#[derive(Clone, Copy, Debug)]
struct Group {
    strike: f64,
    ln_strike: f64,
    maturity: f64,
    units: f64,
    members: u64,
    /// The member list (first and last holder), kept only on paths that record events.
    head: u32,
    tail: u32,
    state: GroupState,
}

/// A heap entry: the group with the largest key is on top.
#[derive(Clone, Copy, Debug)]
struct HeapEntry {
    key: f64,
    gid: u32,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.total_cmp(&other.key).then_with(|| other.gid.cmp(&self.gid))
    }
}

/// What every path of an experiment shares: the sorted holders and the resolved parameters.
#[derive(Debug)]
struct Shared {
    /// Sorted by strike, descending.
    holders: Vec<Holder>,
    /// `suf_u[i] = sum_{j >= i} u_j`, `suf_uk[i] = sum_{j >= i} u_j K_j` (length n + 1).
    suf_u: Vec<f64>,
    suf_uk: Vec<f64>,
    payoff: Payoff,
    capped: bool,
    policy: RollPolicy,
    vol: f64,
    rate: f64,
    maturity: f64,
    roll_before: f64,
    trigger: f64,
    target: f64,
    ln_target: f64,
    fee: f64,
    /// How the rounds' sheds are traded.
    style: Execution,
    /// TWAP slices (1 for every other style).
    patience: usize,
    /// Whether negative sheds are bought back.
    buy_back: bool,
    /// Rebalance the counterparty's hedge every this many steps (0: never).
    hedge_every: usize,
    /// The cohort's P delta at the start price, `sum u Phi(-d1(S0, K, T))` (when hedging).
    delta0: f64,
    /// Variance of the log price over one step, `process_vol^2 dt`: the Brownian bridge of a
    /// passive order's step.
    bridge_var: f64,
    band_delta: f64,
    /// `Phi^{-1}(1 - band_delta)`.
    band_q: f64,
    calendar_every: usize,
    /// `P(x, x / roll_target, maturity) / x`.
    new_p_per_x: f64,
    /// `Delta(x, x / roll_target, maturity)`.
    new_delta: f64,
    settlement: SettlementSpec,
    window: f64,
    delay: f64,
    /// Time tolerance, years: `1e-9 dt`.
    eps: f64,
    dt: f64,
    p_drift_every: usize,
    max_rounds: u32,
    /// Gas per transaction, USD (`[market] gas_usd`).
    gas: f64,
    /// Share of a hedge sale a searcher sandwiches (`[market] frontrun_share`).
    frontrun: f64,
    start_price: f64,
    premium_usd: f64,
    p_value0: f64,
    /// Bins and moments for marking the untouched holders in O(log n + bins near the money)
    /// (capped payoff, marks on, at most `fastmark::MAX_HOLDERS` holders).
    fast: Option<fastmark::FastMark>,
}

impl Shared {
    /// P's value and ETH-delta per unit.
    #[inline]
    fn price(&self, x: f64, ln_x: f64, k: f64, ln_k: f64, c: &TauConsts) -> (f64, f64) {
        if self.capped {
            capped_p(x, ln_x, k, ln_k, c)
        } else {
            p_value_delta_at(&self.payoff, x, k, c)
        }
    }

    #[inline]
    fn tau_consts(&self, tau: f64) -> TauConsts {
        TauConsts::new(self.vol, if tau <= self.eps { 0.0 } else { tau }, self.rate)
    }

    /// The P value of the holders from index `c` on (sorted by strike) at `x` with `tau` left:
    /// from the bins when the world has them ([`fastmark`]), else one pricing a holder.
    fn value_from(&self, x: f64, c: usize, tau: f64) -> f64 {
        match &self.fast {
            Some(f) => f.value(&self.holders, &self.suf_u, &self.suf_uk, c, x, &self.tau_consts(tau)),
            None => self.value_at(x, &self.holders[c.min(self.holders.len())..], tau),
        }
    }

    fn value_at(&self, x: f64, holders: &[Holder], tau: f64) -> f64 {
        let c = self.tau_consts(tau);
        let ln_x = x.ln();
        holders.iter().map(|h| h.units * self.price(x, ln_x, h.strike, h.ln_strike, &c).0).sum()
    }
}

/// Counts of the P + N = x checks made (at every settlement, and at the end of every path for
/// the holders still open) and of the ones that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvariantStats {
    /// Checks made.
    pub checks: u64,
    /// Checks where `|P + N - u x| > 1e-9 u x`.
    pub violations: u64,
}

/// A path's running sums. USD amounts of the ledger are named by what they are; the books are
/// closed from them at the end of the path ([`marks`]).
#[derive(Clone, Copy, Debug, Default)]
struct PathAcc {
    exits: u64,
    eth_sold: f64,
    /// Roll fees (P holder to takers).
    fees: f64,
    /// Slippage of the hedge trades (P holder to market and searchers).
    slippage: f64,
    /// The searchers' part of `slippage` (to the takers).
    searcher: f64,
    /// Auction takers' slippage selling the lots on (takers to market) and their gas.
    taker_slippage: f64,
    taker_gas: f64,
    /// The P holder's gain at the true price from rolls decided at another price (from takers).
    mispricing: f64,
    /// Rebalances of the counterparty's hedge that traded (one transaction's gas each).
    rebalances: u64,
    /// Realised gains of hedge inventory sold after the roll that shed it (exposure, not a
    /// booking).
    exposure: f64,
    transfer_abs: f64,
    /// Settlement transfers to P, signed (from the borrower).
    transfer_to_p: f64,
    /// The N side's settlement transfers of rolled pairs.
    transfer_to_n_groups: f64,
    /// P's settlement payouts, USD at delivery.
    p_paid: f64,
    /// The N side's payouts of the cohort's original pairs, USD at delivery.
    n_paid: f64,
    shortfall: f64,
    max_rounds: u64,
    hit: u64,
    deferred: u64,
    paid_since_mark: f64,
    mark_prev: f64,
    drift_sum_sq: f64,
    drift_n: u64,
}

/// The result of one round's selection.
#[derive(Clone, Copy, Debug)]
struct RoundOut {
    rolled: u64,
    v_total: f64,
    /// Sum of the positive sheds.
    sell: f64,
    /// Sum of the signed sheds.
    net: f64,
    head: u32,
    tail: u32,
}

impl RoundOut {
    const EMPTY: RoundOut = RoundOut { rolled: 0, v_total: 0.0, sell: 0.0, net: 0.0, head: NONE, tail: NONE };
}

/// The prices of one round.
#[derive(Clone, Copy, Debug)]
struct RoundCtx {
    x: f64,
    ln_x: f64,
    now: f64,
    /// A fresh roll's value per unit, `x P(1, 1/roll_target, maturity)`.
    p_new: f64,
    /// `Delta' / p_new`: the ETH-delta a fresh roll takes on per USD rolled.
    shed_per_value: f64,
    /// The true market price the rolls are booked at, and its log (when `mispriced`).
    p: f64,
    ln_p: f64,
    /// A fresh roll's value per unit at `p`: `P(p, K', maturity)`.
    p_new_true: f64,
    /// Whether the roll oracle's `x` differs from `p`.
    mispriced: bool,
    /// Gas of one holder's roll, USD.
    gas: f64,
    step: u32,
    round: u32,
    events: bool,
}

/// Per-path state (one per worker thread).
#[derive(Clone, Debug)]
struct State {
    cursor: usize,
    untouched_settled: bool,
    groups: Vec<Group>,
    heap: BinaryHeap<HeapEntry>,
    fifo: VecDeque<u32>,
    recheck: Vec<HeapEntry>,
    /// Member lists over sorted holder indices, kept only on paths that record events (nothing
    /// else reads them).
    next: Vec<u32>,
    /// Each member's units, kept only on paths that record events.
    member_units: Vec<f64>,
    /// TWAP execution: ETH to sell at step `s` and its basis, in slot `s % patience`.
    pending: Vec<Lot>,
    /// Passive orders and auction lots of the path, in placement order.
    orders: Vec<Order>,
    /// Indices of the orders that may be open, oldest first.
    order_fifo: VecDeque<u32>,
    /// Open passive asks (lowest price on top) and bids (highest on top).
    asks: BinaryHeap<HeapEntry>,
    bids: BinaryHeap<HeapEntry>,
    live_orders: usize,
    /// The market's log price at the end of the previous step (a passive order's bridge).
    last_log: f64,
    /// No settlement is due before this time (a lower bound; `settle_due` recomputes it).
    next_due: f64,
    history: PriceHistory,
    acc: PathAcc,
    premium_usd: f64,
    /// The cohort's P value at the start of the path.
    p0: f64,
    /// The counterparty's hedge, ETH ([`hedge`]; kept when `hedge_every_steps` is set).
    hedge: f64,
    stats: InvariantStats,
    round_cap_hits: u64,
    /// Trigger policy: `ln(K trigger)` of the highest untouched strike (-inf when none).
    key_untouched_ln: f64,
    /// Trigger policy: `ln(K trigger)` of the highest group strike (-inf when none).
    key_group_ln: f64,
    /// Whether the two keys are current (cleared whenever a round or a settlement may have
    /// moved the cursor or the heap).
    keys_valid: bool,
}

/// The P/N world of one experiment (see the module documentation).
#[derive(Clone, Debug)]
pub struct PnWorld {
    sh: Arc<Shared>,
    st: State,
}

impl PnWorld {
    /// The put premium at the start, `sum_i (d_i - u_i P(S0, K_i, T))`, USD: a transfer from the
    /// borrowers to the P holders.
    pub fn premium_usd(&self) -> f64 {
        self.sh.premium_usd
    }

    /// The P + N = x checks this world (this clone) has made since it was built.
    pub fn invariant_stats(&self) -> InvariantStats {
        self.st.stats
    }

    /// Steps (over every path this clone ran) that reached `max_roll_rounds` and stopped rolling.
    pub fn round_cap_hits(&self) -> u64 {
        self.st.round_cap_hits
    }

    /// Number of holders (borrowers of the cohort).
    pub fn holders(&self) -> usize {
        self.sh.holders.len()
    }

    /// The P holders' open claims now, USD, at market price `price` and time `time_years`: the
    /// P they hold after their rolls, priced as the `p_drift` marks price it (the payoff at
    /// `price` once matured); settled claims are no longer counted. O(holders + roll groups).
    pub fn p_value_usd(&self, time_years: f64, price: f64) -> f64 {
        self.st.open_p_value(&self.sh, time_years, price)
    }

    /// The deposits as first split, USD: `sum_i u_i P(price, K_i, T - time_years)` (the payoff
    /// at `price` after the first maturity `T`). The N holders (the borrowers) hold the rest of
    /// the deposits, `sum_i u_i price` minus this: a roll is the P holder's trade and leaves the
    /// deposit's N alone. O(holders).
    pub fn deposit_p_value_usd(&self, time_years: f64, price: f64) -> f64 {
        let sh = &*self.sh;
        if time_years <= sh.maturity + sh.eps {
            sh.value_at(price, &sh.holders, sh.maturity - time_years)
        } else {
            sh.holders.iter().map(|h| h.units * sh.payoff.p_usd(price, h.strike)).sum()
        }
    }
}

impl State {
    fn step(
        &mut self,
        sh: &Shared,
        ctx: &StepCtx,
        market: &mut WorldMarket,
        rng: &mut PathRng,
        ev: &mut EventSink,
    ) {
        let now = ctx.time_years;
        let last = ctx.step + 1 >= ctx.steps;
        if self.live_orders > 0 {
            self.work_orders(sh, ctx.step, market, rng, ev);
        }
        let mut carry = self.take_carry(sh, ctx.step, last);
        let rolling = sh.policy != RollPolicy::Hold;
        let calendar = sh.policy == RollPolicy::Calendar && (ctx.step + 1) % sh.calendar_every == 0;
        let mut rounds = 0u64;
        // Fast exit of the trigger policy, in logarithms (no `exp` under a spot oracle): no
        // untouched holder and no group triggers when ln x >= ln(K trigger) for the highest
        // strikes. `round` checks again in prices, so a tie that rounds differently costs a
        // call, never a roll.
        let quiet =
            sh.policy == RollPolicy::Trigger && !calendar && sh.roll_before <= 0.0 && carry.qty == 0.0 && {
                if !self.keys_valid {
                    self.refresh_keys(sh);
                }
                let lx = market.oracle_log_price();
                let untouched = !self.untouched_settled
                    && self.cursor < sh.holders.len()
                    && now <= sh.maturity + sh.eps
                    && lx < self.key_untouched_ln;
                !untouched && lx >= self.key_group_ln
            };
        if (rolling || carry.qty > 0.0) && !quiet {
            self.keys_valid = false;
            let mut iter = 0u32;
            loop {
                if iter >= sh.max_rounds {
                    self.round_cap_hits += 1;
                    if rolling {
                        self.acc.deferred += self.count_waiting(sh, market.oracle_price(), now);
                    }
                    break;
                }
                let x = market.oracle_price();
                let p0 = market.price();
                let out = if rolling && x > 0.0 && x.is_finite() {
                    self.round(sh, x, now, ctx.step, rounds as u32, calendar && iter == 0, p0, ev)
                } else {
                    RoundOut::EMPTY
                };
                iter += 1;
                if out.rolled > 0 {
                    rounds += 1;
                }
                // The trade belongs to this step's latest round with rolls.
                let at = TradeAt { step: ctx.step, round: rounds.saturating_sub(1) as u32 };
                let shed = if sh.buy_back { out.net } else { out.sell };
                if sh.hedge_every > 0 {
                    self.hedge -= shed;
                }
                let traded = self.execute_round(sh, &mut carry, shed, p0, at, last, market, ev);
                if !traded && out.rolled == 0 {
                    break;
                }
            }
        }
        self.acc.max_rounds = self.acc.max_rounds.max(rounds);
        if sh.hedge_every > 0 && (ctx.step + 1) % sh.hedge_every == 0 {
            self.rebalance(sh, ctx.step, rounds as u32, now, last, market, ev);
        }
        self.history.push_ln(now, market.log_price());
        if self.next_due <= now + sh.eps {
            self.settle_due(sh, now, market.price(), ctx.step, false, ev);
            self.keys_valid = false;
        }
        if sh.p_drift_every > 0 && (ctx.step + 1) % sh.p_drift_every == 0 {
            self.mark(sh, now, market.price());
        }
        if matches!(sh.style, Execution::Passive { .. }) {
            self.last_log = market.log_price();
        }
    }
}

impl Primitive for PnWorld {
    fn begin_path(&mut self, market: &WorldMarket) {
        let sh = &*self.sh;
        let st = &mut self.st;
        st.cursor = 0;
        st.untouched_settled = false;
        st.groups.clear();
        st.heap.clear();
        st.fifo.clear();
        st.pending.fill(Lot::default());
        st.orders.clear();
        st.order_fifo.clear();
        st.asks.clear();
        st.bids.clear();
        st.live_orders = 0;
        st.last_log = market.log_price();
        st.next_due = f64::NEG_INFINITY;
        st.history.clear();
        st.history.push_ln(0.0, market.log_price());
        st.keys_valid = false;
        st.acc = PathAcc::default();
        let (v0, premium) = if market.start_price() == sh.start_price {
            (sh.p_value0, sh.premium_usd)
        } else {
            let v0 = sh.value_at(market.start_price(), &sh.holders, sh.maturity);
            (v0, sh.suf_uk[0] - v0)
        };
        st.acc.mark_prev = v0;
        st.premium_usd = premium;
        st.p0 = v0;
        if sh.hedge_every > 0 {
            st.hedge = if market.start_price() == sh.start_price {
                sh.delta0
            } else {
                sh.delta_from(market.start_price(), 0, sh.maturity)
            };
        }
    }

    fn step(&mut self, ctx: &StepCtx, market: &mut WorldMarket, rng: &mut PathRng, events: &mut EventSink) {
        let sh = &*self.sh;
        self.st.step(sh, ctx, market, rng, events);
    }

    fn end_path(&mut self, ctx: &StepCtx, market: &WorldMarket, metrics: &mut PathMetrics) {
        let sh = &*self.sh;
        let st = &mut self.st;
        let now = ctx.time_years;
        let x_f = market.price();
        let mut no_events = EventSink::new(false);
        st.settle_due(sh, now, x_f, ctx.step, true, &mut no_events);
        // Holders still open: shortfall marked at the final price, P + N = x at that price.
        if !st.untouched_settled {
            for h in &sh.holders[st.cursor..] {
                if sh.capped && h.strike <= x_f {
                    break; // sorted: no shortfall below here
                }
                let (p, n) = (sh.payoff.p_usd(x_f, h.strike), sh.payoff.n_usd(x_f, h.strike));
                st.acc.shortfall += h.units * (h.strike - p).max(0.0);
                st.check(p, n, x_f);
            }
        }
        for i in 0..st.fifo.len() {
            let g = st.groups[st.fifo[i] as usize];
            if g.state != GroupState::Live {
                continue;
            }
            let (p, n) = (sh.payoff.p_usd(x_f, g.strike), sh.payoff.n_usd(x_f, g.strike));
            st.acc.shortfall += g.units * (g.strike - p).max(0.0);
            st.check(g.units * p, g.units * n, g.units * x_f);
        }
        let books = st.close_books(sh, now, x_f, market.start_price());
        let a = &st.acc;
        metrics.exits = a.exits;
        metrics.eth_sold = a.eth_sold;
        metrics.fees_usd = a.fees;
        metrics.slippage_usd = a.slippage;
        metrics.oracle_loss_usd = a.transfer_abs;
        metrics.wrongful_exits = 0;
        metrics.shortfall_usd = a.shortfall;
        metrics.max_cascade_rounds = a.max_rounds;
        metrics.positions_hit = a.hit;
        metrics.interest_usd = None;
        metrics.premium_usd = Some(st.premium_usd);
        metrics.ledger = books.ledger;
        metrics.lender_pnl_usd = books.lender_pnl;
        metrics.borrower_pnl_usd = books.borrower_pnl;
        metrics.deferred = a.deferred;
        metrics.p_drift = if sh.p_drift_every > 0 && a.drift_n > 0 {
            let years = a.drift_n as f64 * sh.p_drift_every as f64 * sh.dt;
            Some((a.drift_sum_sq / years).sqrt())
        } else {
            None
        };
        metrics.pricing_vol = Some(sh.vol);
    }
}

#[cfg(test)]
mod tests;
