//! The CDP world: the cohort's positions under one protocol, driven step by step by the runner
//! through [`Primitive`].
//!
//! # How a step runs
//! A step is a loop of cascade rounds. Each round reads the oracle price `x` and the market price
//! `P`, finds every position liquidatable at `x` (and the top-ups and auctions due), liquidates
//! them at `x`, sums the collateral sold and sells it as one block through
//! [`WorldMarket::sell`], which moves the price and lets the oracle observe again. Rounds repeat
//! until one liquidates and sells nothing.
//!
//! # How positions are found without scanning the cohort
//! Every position's state is kept *normalised*: collateral `c = c0 A`, debt `d = g (d0 + c0 B)`,
//! where `g = 1 + r t` is the simple-interest factor and `A`, `B` Liquity's redistribution
//! factors (1 and 0 elsewhere). A position is liquidatable when `c x LT < d`, that is when
//! `k0 = d0 / (c0 LT) > theta = x A / g - B / LT`: one comparison of the position's fixed key
//! against one threshold per round, and interest or redistribution never reorder the keys.
//!
//! The cohort is sorted once by `k0`, descending (the private `book` module), and shared by every clone.
//! A path keeps a cursor into that order: positions before it were touched (liquidated, topped
//! up, waiting for a liquidator) and live in a small per-path slot table with binary heaps keyed
//! by `k0`; positions from the cursor on are untouched. A round compares `theta` with the key
//! at the cursor and with the heaps' tops: O(log n) plus the positions it acts on.
//! `begin_path` resets in time proportional to what the previous path touched.
//!
//! The *bulk path* ([`bulk`]) handles the generic preset with close factor 1, no latency, no
//! profitability check and no top-ups (benchmark B1) from the book's prefix sums alone.
//!
//! # Where the code is
//! * this module: the world, its per-path state, the ledger's accumulators and the pnl marks;
//! * [`slots`]: the touched positions and their latency machines (liquidation and top-up);
//! * [`engine`]: the position engine, a step's rounds on the touched positions;
//! * [`auctions`]: Maker's auctions in flight;
//! * [`bulk`]: the bulk path;
//! * [`own_topup`]: a borrower's own deposit (`headroom serve`).

mod auctions;
mod bulk;
mod engine;
mod own_topup;
mod slots;

use self::auctions::Auction;
use self::bulk::Bulk;
use self::slots::{Kind, Pend, Queues, Slot};
use crate::book::Book;
use crate::booking;
use crate::error::CdpError;
use crate::spec::{CdpParams, CdpSpec, DirectParams, Mechanism};
use headroom_market::{
    Cohort, EventSink, Frictions, Ledger, Party, PathMetrics, PathRng, Primitive, StepCtx, WorldEnv,
    WorldMarket,
};
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Seconds in a year of 365 days.
const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Where the collateral went, for conservation checks (units of the asset):
/// `initial + topped_up = seized + returned + in_auction + open`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CollateralLedger {
    /// The cohort's collateral at the start of the path.
    pub initial: f64,
    /// Collateral added by borrowers' top-ups.
    pub topped_up: f64,
    /// Collateral taken from positions by liquidators, keepers, the protocol or the pool.
    pub seized: f64,
    /// Collateral given back to owners: leftovers of closed positions and of auctions.
    pub returned: f64,
    /// Collateral in auctions that have not ended.
    pub in_auction: f64,
    /// Collateral of the positions still open.
    pub open: f64,
}

/// One open position as it stands (for tests and diagnostics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionState {
    /// The cohort's id.
    pub id: u64,
    /// Collateral, units.
    pub collateral: f64,
    /// Debt, USD (interest and redistributions included).
    pub debt_usd: f64,
}

/// A path's running sums: the breakdown columns, the ledger and what each side received.
#[derive(Clone, Copy, Debug, Default)]
struct Acc {
    exits: u64,
    eth_sold: f64,
    fees: f64,
    slippage: f64,
    oracle_loss: f64,
    wrongful: u64,
    shortfall: f64,
    max_rounds: u64,
    hit: u64,
    interest: f64,
    topped_up: f64,
    seized: f64,
    returned: f64,
    /// The path's bookings.
    ledger: Ledger,
    /// USD paid to the lender over the path (repayments, offsets, covers).
    lender_cash: f64,
    /// USD received by borrowers over the path (surplus credits), less what they paid (top-ups at
    /// their price, gas reserves).
    borrower_cash: f64,
    /// Liquidations pushed to a later step by the step's bound.
    deferred: u64,
}

#[derive(Clone, Debug)]
struct State {
    cursor: usize,
    /// `liq0[cursor]`, cached.
    next_key: f64,
    /// `ln(liq0[cursor])` with a margin ([`crate::book::log_key_above`]; NaN once every position is
    /// gone): the one comparison of an idle bulk step, against the oracle's log price (which a
    /// spot oracle gives without an `exp`).
    next_log_key: f64,
    g: f64,
    a: f64,
    bb: f64,
    pool: f64,
    slots: Vec<Slot>,
    /// The liquidation's and the top-up's machines' queues ([`Kind`] indexes them).
    q: [Queues; 2],
    /// Declined liquidations, keyed by the oracle price below (`park_down`) or, negated, above
    /// (`park_up`) which liquidators look again.
    park_down: BinaryHeap<slots::Entry>,
    park_up: BinaryHeap<slots::Entry>,
    /// Liquidations the step's bound pushed to the next step (all due then).
    defer_liq: Vec<Pend>,
    /// Liquidations the step may still hold.
    budget: u64,
    auctions: Vec<Auction>,
    flips_in_flight: usize,
    touched_c0: f64,
    touched_d0: f64,
    /// Open touched slots (the sums above are reset to exactly 0 when none is left).
    touched_open: usize,
    acc: Acc,
}

/// The CDP world of one experiment: the sorted cohort (shared by every clone) and one path's
/// state. Build it once with [`CdpWorld::new`]; the runner clones it per worker thread.
#[derive(Clone, Debug)]
pub struct CdpWorld {
    book: Arc<Book>,
    params: CdpParams,
    bulk: Bulk,
    bulk_ok: bool,
    bulk_on: bool,
    pool0: f64,
    /// The most liquidations in one step.
    max_per_step: u64,
    /// Gas and sandwiches of every trade (`[market]`).
    frictions: Frictions,
    /// The gas liquidators weigh in their profit check.
    check_gas: f64,
    /// The cohort's claims at the start price: (borrowers', lender's), USD.
    start_claims: (f64, f64),
    st: State,
}

impl CdpWorld {
    /// Builds the world of `spec` over `cohort` in `env`: resolves and validates the spec,
    /// checks every position (collateral finite and > 0, debt finite and >= 0) and sorts the
    /// cohort by liquidation price (O(n log n), once).
    pub fn new(spec: &CdpSpec, cohort: &Cohort, env: &WorldEnv) -> Result<CdpWorld, CdpError> {
        let params = spec.resolve()?;
        if !(env.dt_years.is_finite() && env.dt_years > 0.0) {
            return Err(CdpError::invalid("dt_years", env.dt_years, "must be > 0"));
        }
        if !(env.start_price.is_finite() && env.start_price > 0.0) {
            return Err(CdpError::invalid("start_price", env.start_price, "must be > 0"));
        }
        let book = Book::new(cohort, params.lt)?;
        let pool0 = match &params.mechanism {
            Mechanism::Liquity(l) => l.stability_pool_usd.unwrap_or(0.5 * book.cum_debt[book.n]),
            _ => 0.0,
        };
        let bulk = match &params.mechanism {
            Mechanism::Direct(DirectParams { bonus, close_factor, protocol_fee, aave: None })
                if *close_factor >= 1.0
                    && params.liquidator.latency_steps == 0
                    && !params.liquidator.profit_check
                    && params.topup.is_none() =>
            {
                Some(Bulk {
                    bonus: *bonus,
                    protocol_fee: *protocol_fee,
                    inv_lt: 1.0 / params.lt,
                    inv_one_plus_bonus: 1.0 / (1.0 + bonus),
                    gas_usd: env.frictions.gas_usd,
                    frontrun_share: env.frictions.frontrun_share,
                })
            }
            _ => None,
        };
        let st = State {
            cursor: 0,
            next_key: book.liq0[0],
            next_log_key: book.log_above[0],
            g: 1.0,
            a: 1.0,
            bb: 0.0,
            pool: pool0,
            slots: Vec::new(),
            q: Default::default(),
            park_down: BinaryHeap::new(),
            park_up: BinaryHeap::new(),
            defer_liq: Vec::new(),
            budget: 0,
            auctions: Vec::new(),
            flips_in_flight: 0,
            touched_c0: 0.0,
            touched_d0: 0.0,
            touched_open: 0,
            acc: Acc::default(),
        };
        let mut world = CdpWorld {
            book: Arc::new(book),
            params,
            bulk: bulk.unwrap_or(Bulk {
                bonus: 0.0,
                protocol_fee: 0.0,
                inv_lt: 1.0,
                inv_one_plus_bonus: 1.0,
                gas_usd: 0.0,
                frontrun_share: 0.0,
            }),
            bulk_ok: bulk.is_some(),
            bulk_on: bulk.is_some(),
            pool0,
            max_per_step: params
                .liquidator
                .max_per_step
                .unwrap_or_else(|| crate::spec::default_max_liquidations_per_step(env.dt_years)),
            frictions: env.frictions,
            check_gas: params.liquidator.gas_usd.unwrap_or(env.frictions.gas_usd),
            start_claims: (0.0, 0.0),
            st,
        };
        world.start_claims = world.claims(env.start_price);
        Ok(world)
    }

    /// The resolved parameters.
    pub fn params(&self) -> &CdpParams {
        &self.params
    }

    /// Whether steps run on the bulk path (see the module documentation).
    pub fn uses_bulk_path(&self) -> bool {
        self.bulk_on
    }

    /// Turns the bulk path off (or back on where it applies) so that the general engine can be
    /// cross-checked against it; returns whether it is on. Call between paths.
    pub fn set_bulk_path(&mut self, on: bool) -> bool {
        self.bulk_on = on && self.bulk_ok;
        self.bulk_on
    }

    /// The stability pool's size at the start of a path, USD (Liquity; 0 otherwise).
    pub fn stability_pool_usd(&self) -> f64 {
        self.pool0
    }

    /// Where the collateral of the current path went so far.
    pub fn collateral_ledger(&self) -> CollateralLedger {
        let b = &self.book;
        let st = &self.st;
        CollateralLedger {
            initial: b.cum_coll[b.n],
            topped_up: st.acc.topped_up,
            seized: st.acc.seized,
            returned: st.acc.returned,
            in_auction: st.auctions.iter().map(|a| a.lot).sum(),
            open: st.a * (b.coll_sum(st.cursor, b.n) + st.touched_c0),
        }
    }

    /// Every open position as it stands now (O(n): for tests and diagnostics).
    pub fn positions(&self) -> Vec<PositionState> {
        let b = &self.book;
        let st = &self.st;
        let mut v = Vec::with_capacity(b.n);
        for s in &st.slots {
            if s.phase(Kind::Liq) != slots::Phase::Off {
                v.push(PositionState {
                    id: b.id[s.idx as usize],
                    collateral: s.c0 * st.a,
                    debt_usd: st.g * (s.d0 + s.c0 * st.bb),
                });
            }
        }
        for j in st.cursor..b.n {
            v.push(PositionState {
                id: b.id[j],
                collateral: b.coll[j] * st.a,
                debt_usd: st.g * (b.debt[j] + b.coll[j] * st.bb),
            });
        }
        v
    }

    /// Normalised debt of the open positions: actual debt is `g` times this.
    fn open_norm_debt(&self) -> f64 {
        let b = &self.book;
        let st = &self.st;
        let d = b.debt_sum(st.cursor, b.n) + st.touched_d0;
        if st.bb != 0.0 {
            d + st.bb * (b.coll_sum(st.cursor, b.n) + st.touched_c0)
        } else {
            d
        }
    }

    /// A step with interest accruing or on the general engine.
    #[inline(never)]
    fn step_general(
        &mut self,
        ctx: &StepCtx,
        market: &mut WorldMarket,
        rng: &mut PathRng,
        events: &mut EventSink,
    ) {
        let r = self.params.borrow_rate;
        if r > 0.0 {
            // Simple accrual on the debt open during the step: d(t) = d0 (1 + r t), a transfer
            // from the borrowers to the lender.
            let interest = self.open_norm_debt() * r * ctx.dt_years;
            self.st.acc.interest += interest;
            self.st.acc.ledger.transfer(Party::Borrower, Party::Lender, interest);
            self.st.g = 1.0 + r * ctx.time_years;
        }
        if self.bulk_on {
            let theta = market.oracle_log_price() - self.st.g.ln();
            if self.st.next_log_key > theta {
                self.bulk_step(ctx, market, events, self.bulk);
            }
        } else if self.general_may_act(ctx.step as u64, market.oracle_price()) {
            self.general_step(ctx, market, rng, events);
        }
        if ctx.step + 1 == ctx.steps && !self.st.auctions.is_empty() {
            self.report_open_auctions(ctx, market, events);
        }
    }

    /// The claims of every open position and auction at price `p`: (borrowers', lender's), USD
    /// (docs/MODEL.md, pnl). Untouched positions with equity at `p` are a suffix of the book
    /// (`k0 <= (A p / g - B) / LT`): prefix sums, then the touched slots and the auctions.
    fn claims(&self, p: f64) -> (f64, f64) {
        let b = &self.book;
        let st = &self.st;
        let (a, g, bb, lt) = (st.a, st.g, st.bb, self.params.lt);
        let jq = b.split_above(st.cursor, b.n, (a * p / g - bb) / lt);
        let (c_eq, d_eq) = (b.coll_sum(jq, b.n), b.debt_sum(jq, b.n));
        let debt_eq = g * (d_eq + bb * c_eq);
        let mut borrower = a * p * c_eq - debt_eq;
        let mut lender = debt_eq + a * p * b.coll_sum(st.cursor, jq);
        for (s, sl) in st.slots.iter().enumerate() {
            if sl.phase(Kind::Liq) != slots::Phase::Off {
                let (cb, cl) = booking::claims(self.coll_of(s as u32), self.debt_of(s as u32), p);
                borrower += cb;
                lender += cl;
            }
        }
        for au in &st.auctions {
            let (cb, cl, _) = booking::auction_claims(au.lot, au.tab, au.debt_left, p);
            borrower += cb;
            lender += cl;
        }
        (borrower, lender)
    }
}

impl CdpWorld {
    /// Sells a round's block of `qty` units for the takers, sandwiched by a searcher when the
    /// market has a `frontrun_share` ([`WorldMarket::sell_sandwiched`]): the seller's slippage is
    /// the breakdown's; what the market gains of it is booked takers -> market (the searcher's
    /// part stays with the takers).
    #[inline]
    fn sell_block(&mut self, market: &mut WorldMarket, qty: f64) {
        let (slippage, searcher) = if self.frictions.frontrun_share > 0.0 {
            let s = market.sell_sandwiched(qty, self.frictions.frontrun_share);
            (s.victim.slippage_usd, s.searcher_usd)
        } else {
            (market.sell(qty).slippage_usd, 0.0)
        };
        let acc = &mut self.st.acc;
        acc.eth_sold += qty;
        acc.slippage += slippage;
        acc.ledger.transfer(Party::Takers, Party::Market, slippage - searcher);
    }

    /// Books the gas of one transaction sent by a taker (a liquidation, a kick, a take, a reset,
    /// a settlement) into its event's `ledger`.
    #[inline]
    fn gas(&self, ledger: &mut Ledger) {
        if self.frictions.gas_usd > 0.0 {
            ledger.gas(Party::Takers, self.frictions.gas_usd);
        }
    }
}

impl Primitive for CdpWorld {
    fn begin_path(&mut self, market: &WorldMarket) {
        let _ = market;
        let st = &mut self.st;
        st.cursor = 0;
        st.next_key = self.book.liq0[0];
        st.next_log_key = self.book.log_above[0];
        st.g = 1.0;
        st.a = 1.0;
        st.bb = 0.0;
        st.pool = self.pool0;
        st.slots.clear();
        for q in &mut st.q {
            q.clear();
        }
        st.park_down.clear();
        st.park_up.clear();
        st.defer_liq.clear();
        st.auctions.clear();
        st.flips_in_flight = 0;
        st.touched_c0 = 0.0;
        st.touched_d0 = 0.0;
        st.touched_open = 0;
        st.acc = Acc::default();
    }

    #[inline(always)]
    fn step(&mut self, ctx: &StepCtx, market: &mut WorldMarket, rng: &mut PathRng, events: &mut EventSink) {
        // The hot case, inlined into the runner's loop: the bulk path without interest, where
        // an idle step is one comparison in logarithms (no `exp` under a spot oracle; bulk_step
        // compares again in prices, so a tie that rounds differently in logs costs a call, never
        // a liquidation).
        if self.bulk_on && self.params.borrow_rate == 0.0 {
            if self.st.next_log_key > market.oracle_log_price() {
                self.bulk_step(ctx, market, events, self.bulk);
            }
        } else {
            self.step_general(ctx, market, rng, events);
        }
    }

    /// On the bulk path without interest a step acts only when the oracle's log price falls
    /// under the key at the cursor.
    #[inline]
    fn idle_above_log(&self) -> Option<f64> {
        (self.bulk_on && self.params.borrow_rate == 0.0).then_some(self.st.next_log_key)
    }

    fn end_path(&mut self, ctx: &StepCtx, market: &WorldMarket, metrics: &mut PathMetrics) {
        let _ = ctx;
        // Each side's result marked at the final market price: what it holds (claims on the
        // open positions and auctions, collateral given back) plus what it received, less what
        // it held at the start (docs/MODEL.md, pnl).
        let p = market.price();
        let (borrowers, lender) = self.claims(p);
        let a = &self.st.acc;
        metrics.ledger = a.ledger;
        metrics.borrower_pnl_usd = borrowers + a.returned * p + a.borrower_cash - self.start_claims.0;
        metrics.lender_pnl_usd = lender + a.lender_cash - self.start_claims.1;
        metrics.deferred = a.deferred;
        metrics.exits = a.exits;
        metrics.eth_sold = a.eth_sold;
        metrics.fees_usd = a.fees;
        metrics.slippage_usd = a.slippage;
        metrics.oracle_loss_usd = a.oracle_loss;
        metrics.wrongful_exits = a.wrongful;
        metrics.shortfall_usd = a.shortfall;
        metrics.max_cascade_rounds = a.max_rounds;
        metrics.positions_hit = a.hit;
        metrics.interest_usd = Some(a.interest);
    }
}
