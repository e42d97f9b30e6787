//! The position engine: a step's cascade rounds over the touched positions (every preset but
//! the bulk path's): auctions and latencies due, positions discovered, top-ups, then
//! liquidations at the round's oracle price, and the round's block sold (docs/MODEL.md, The
//! cascade). Each liquidation is booked in the ledger as it happens ([`crate::booking`]).

use super::slots::{Kind, Phase};
use super::{Auction, CdpWorld, SECONDS_PER_YEAR};
use crate::booking;
use crate::mechanics::{self, Outcome};
use crate::spec::Mechanism;
use headroom_market::{Event, EventKind, EventSink, Ledger, Liquidity, PathRng, StepCtx, WorldMarket};
use rand::RngExt;

impl CdpWorld {
    /// Whether anything can happen in this step at oracle price `x`: auctions in flight, due
    /// top-ups or liquidations, declined liquidations to reconsider, or a threshold crossed.
    #[inline]
    pub(super) fn general_may_act(&self, step: u64, x: f64) -> bool {
        let st = &self.st;
        if !st.auctions.is_empty()
            || !st.defer_liq.is_empty()
            || st.q.iter().any(|q| q.pend.front().is_some_and(|e| e.due <= step))
            || st.park_down.peek().is_some_and(|e| e.key > x)
            || st.park_up.peek().is_some_and(|e| e.key > -x)
        {
            return true;
        }
        let lt = self.params.lt;
        let theta_liq = self.liquidation_price(x) * st.a / st.g - st.bb / lt;
        let theta_top = match self.params.topup {
            Some(t) => x * st.a / (st.g * t.target_hf) - st.bb / lt,
            None => theta_liq,
        };
        st.next_key > theta_top.min(theta_liq)
            || st.q[Kind::Liq as usize].watch.peek().is_some_and(|e| e.key > theta_liq)
            || st.q[Kind::Top as usize].watch.peek().is_some_and(|e| e.key > theta_top)
    }

    #[inline(never)]
    pub(super) fn general_step(
        &mut self,
        ctx: &StepCtx,
        market: &mut WorldMarket,
        rng: &mut PathRng,
        events: &mut EventSink,
    ) {
        let step = ctx.step as u64;
        let mut round: u32 = 0;
        self.st.budget = self.max_per_step;
        loop {
            market.cache_price();
            let x = market.oracle_price();
            let p = market.price();
            let mut block = 0.0;
            let mut acted = false;
            if round == 0 {
                self.run_auctions(ctx, market, events, &mut block, &mut acted);
                self.pop_due(step);
            }
            self.pop_parked(x);
            self.discover(step, x, self.liquidation_price(x));
            self.apply_topups(ctx, round, x, p, events);
            self.apply_liquidations(ctx, round, x, p, market, rng, events, &mut block, &mut acted);
            if block > 0.0 {
                // The takers sell the round's block: its slippage is the market's.
                self.sell_block(market, block);
            }
            if !acted {
                break;
            }
            round += 1;
            if self.st.budget == 0 {
                // The step's bound is reached: whatever is liquidatable now waits for the
                // next step (top-ups still go ahead).
                market.cache_price();
                let (x, p) = (market.oracle_price(), market.price());
                self.pop_parked(x);
                self.discover(step, x, self.liquidation_price(x));
                self.apply_topups(ctx, round, x, p, events);
                let (mut block, mut acted) = (0.0, false);
                self.apply_liquidations(ctx, round, x, p, market, rng, events, &mut block, &mut acted);
                debug_assert!(block == 0.0 && !acted);
                break;
            }
        }
        if round as u64 > self.st.acc.max_rounds {
            self.st.acc.max_rounds = round as u64;
        }
    }

    fn apply_topups(&mut self, ctx: &StepCtx, round: u32, x: f64, p: f64, events: &mut EventSink) {
        let Some(t) = self.params.topup else { return };
        let lt = self.params.lt;
        for i in 0..self.st.q[Kind::Top as usize].cand.len() {
            let s = self.st.q[Kind::Top as usize].cand[i];
            let sl = self.st.slots[s as usize];
            if sl.phase(Kind::Top) != Phase::Ready {
                continue;
            }
            if sl.phase(Kind::Liq) == Phase::Off {
                self.st.slots[s as usize].m[Kind::Top as usize].phase = Phase::Off;
                continue;
            }
            let (c, d) = (self.coll_of(s), self.debt_of(s));
            if d > 0.0 && c * x * lt < t.target_hf * d {
                let add = t.restore_hf * d / (x * lt) - c;
                if add > 0.0 {
                    self.set_actual(s, c + add, d);
                    let ledger = booking::top_up(c, d, add, p);
                    let acc = &mut self.st.acc;
                    acc.topped_up += add;
                    acc.borrower_cash -= add * p;
                    acc.ledger.add(&ledger);
                    events.push(Event {
                        step: ctx.step as u32,
                        round,
                        position: self.book.id[sl.idx as usize],
                        kind: EventKind::TopUp,
                        eth: add,
                        usd: add * p,
                        fee_usd: 0.0,
                        oracle_price: x,
                        market_price: p,
                        wrongful: false,
                        ledger,
                    });
                    if sl.phase(Kind::Liq) == Phase::Watch {
                        self.watch(Kind::Liq, s);
                    }
                }
            }
            self.watch(Kind::Top, s);
        }
        self.st.q[Kind::Top as usize].cand.clear();
    }

    /// Whether the liquidator's receipts, sold alone at the market, cover what it pays and gas.
    fn profitable(&self, o: &Outcome, p: f64, liquidity: &Liquidity) -> bool {
        let l = &self.params.liquidator;
        if !l.profit_check {
            return true;
        }
        let proceeds = if o.liquidator_coll > 0.0 { liquidity.sell(p, o.liquidator_coll).usd } else { 0.0 };
        proceeds + o.liquidator_usd_in - o.liquidator_usd_out - self.check_gas >= 0.0
    }

    /// Counts one liquidation (or kick) of slot `s` and books it: `taken` units at oracle `x`,
    /// market `p`, with the outcome's breakdown and the event's `ledger`.
    #[allow(clippy::too_many_arguments)]
    fn record_exit(
        &mut self,
        s: u32,
        ctx: &StepCtx,
        round: u32,
        (x, p): (f64, f64),
        wrongful: bool,
        taken: f64,
        o: &Outcome,
        mut ledger: Ledger,
        events: &mut EventSink,
    ) {
        self.st.budget -= 1;
        self.gas(&mut ledger);
        let acc = &mut self.st.acc;
        acc.exits += 1;
        let sl = &mut self.st.slots[s as usize];
        if !sl.hit {
            sl.hit = true;
            acc.hit += 1;
        }
        acc.fees += o.fee_usd;
        acc.oracle_loss += o.priced * (p - x);
        acc.shortfall += o.shortfall_usd;
        acc.seized += o.seized;
        acc.returned += o.returned;
        acc.lender_cash += o.repaid_usd;
        acc.borrower_cash += o.borrower_usd;
        acc.ledger.add(&ledger);
        if wrongful {
            acc.wrongful += 1;
        }
        events.push(Event {
            step: ctx.step as u32,
            round,
            position: self.book.id[sl.idx as usize],
            kind: EventKind::Liquidation,
            eth: taken,
            usd: o.repaid_usd,
            fee_usd: o.fee_usd,
            oracle_price: x,
            market_price: p,
            wrongful,
            ledger,
        });
    }

    /// Hands `c_red` units and `d_red` USD of a closed trove to the open ones, pro rata to their
    /// collateral (Liquity): `B += A d_red / (g C)`, `A *= 1 + c_red / C`, `C` their collateral.
    fn redistribute(&mut self, c_red: f64, d_red: f64) {
        let others = self.open_collateral();
        let st = &mut self.st;
        if others > 0.0 {
            st.bb += st.a * d_red / (st.g * others);
            st.a *= 1.0 + c_red / others;
        } else {
            // Nobody to take it: the protocol keeps the collateral and the debt is unpaid.
            st.acc.seized += c_red;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_liquidations(
        &mut self,
        ctx: &StepCtx,
        round: u32,
        x: f64,
        p: f64,
        market: &WorldMarket,
        rng: &mut PathRng,
        events: &mut EventSink,
        block: &mut f64,
        acted: &mut bool,
    ) {
        let lt = self.params.lt;
        let params = self.params;
        let now_s = ctx.time_years * SECONDS_PER_YEAR;
        // Liquity v1's recovery mode, as of the round's start (a liquidation batch), until a
        // liquidation brings the TCR back to the CCR.
        let mut recovery = self.recovery_tcr(x).is_some();
        if let Mechanism::Liquity(_) = params.mechanism {
            // Lowest ICR first (TroveManager's liquidation sequence): the highest key.
            let mut cand = std::mem::take(&mut self.st.q[Kind::Liq as usize].cand);
            cand.sort_by(|&a, &b| self.key_of(b).total_cmp(&self.key_of(a)).then(a.cmp(&b)));
            self.st.q[Kind::Liq as usize].cand = cand;
        }
        for i in 0..self.st.q[Kind::Liq as usize].cand.len() {
            let s = self.st.q[Kind::Liq as usize].cand[i];
            if self.st.slots[s as usize].phase(Kind::Liq) != Phase::Ready {
                continue;
            }
            let (c, d) = (self.coll_of(s), self.debt_of(s));
            if !(c * x * lt < d) && !recovery {
                self.watch(Kind::Liq, s);
                continue;
            }
            let step = ctx.step as u64;
            let wrongful = c * p * lt >= d;
            let out = match &params.mechanism {
                Mechanism::Direct(dp) => mechanics::direct(dp, lt, c, d, x),
                // Liquity never liquidates the last trove (TroveManager `_closeTrove`:
                // `_requireMoreThanOneTroveInSystem`, v1 and v2).
                Mechanism::Liquity(_) if self.open_positions() <= 1 => None,
                Mechanism::Liquity(lp) => {
                    let pool = mechanics::pool_available(self.st.pool);
                    if recovery {
                        let tcr = self.tcr(x);
                        mechanics::liquity_recovery(lp, 1.0 / lt, c, d, x, p, pool, tcr)
                    } else {
                        Some(mechanics::liquity(lp, c, d, x, p, pool))
                    }
                }
                Mechanism::Absorb(ap) => Some(mechanics::absorb(ap, c, d, x)),
                _ if self.st.budget == 0 => {
                    self.defer(s, step);
                    continue;
                }
                Mechanism::Clip(cp) => {
                    let tab = d * (1.0 + cp.chop);
                    let incentive = cp.tip_usd + cp.chip * tab;
                    if params.liquidator.profit_check && incentive < self.check_gas {
                        self.park(s, x);
                        continue;
                    }
                    self.kick(s, ctx, round, (x, p), wrongful, tab, incentive, events);
                    self.st.auctions.push(Auction {
                        idx: self.st.slots[s as usize].idx,
                        lot: c,
                        tab,
                        debt_left: d,
                        top: x * cp.buf,
                        tic_s: now_s,
                        seen_s: now_s,
                        settle_s: 0.0,
                        working: 0,
                        wrongful,
                    });
                    *acted = true;
                    continue;
                }
                Mechanism::Flip(fp) => {
                    self.st.flips_in_flight += 1;
                    let q = mechanics::flip_failure_probability(fp, self.st.flips_in_flight);
                    let mut working = 0;
                    for _ in 0..fp.keepers {
                        if rng.random::<f64>() >= q {
                            working += 1;
                        }
                    }
                    let tab = d * (1.0 + fp.chop);
                    self.kick(s, ctx, round, (x, p), wrongful, tab, 0.0, events);
                    self.st.auctions.push(Auction {
                        idx: self.st.slots[s as usize].idx,
                        lot: c,
                        tab,
                        debt_left: d,
                        top: 0.0,
                        tic_s: now_s,
                        seen_s: now_s,
                        settle_s: now_s + fp.ttl_minutes * 60.0,
                        working,
                        wrongful,
                    });
                    *acted = true;
                    continue;
                }
            };
            let Some(mut o) = out else {
                self.park(s, x);
                continue;
            };
            if self.st.budget == 0 {
                self.defer(s, step);
                continue;
            }
            if !self.profitable(&o, p, market.liquidity()) {
                self.park(s, x);
                continue;
            }
            if let Mechanism::Liquity(_) = params.mechanism {
                self.st.pool -= o.repaid_usd;
            }
            let redistributes = o.redistributed_coll > 0.0 || o.redistributed_debt > 0.0;
            if o.closed {
                self.close_slot(s);
            } else {
                self.set_actual(s, o.coll_after, o.debt_after);
                self.watch(Kind::Liq, s);
                if self.st.slots[s as usize].phase(Kind::Top) == Phase::Watch {
                    self.watch(Kind::Top, s);
                }
            }
            // Redistributed debt nobody is left to take is debt left unpaid.
            let others = !redistributes || self.open_collateral() > 0.0;
            if !others {
                o.shortfall_usd = o.redistributed_debt;
            }
            let ledger = booking::liquidation(c, d, &o, p, others);
            let taken = o.seized + o.redistributed_coll;
            self.record_exit(s, ctx, round, (x, p), wrongful, taken, &o, ledger, events);
            *block += o.sold;
            *acted = true;
            if o.closed && redistributes {
                self.redistribute(o.redistributed_coll, o.redistributed_debt);
            }
            if recovery {
                recovery = self.recovery_tcr(x).is_some();
            }
        }
        self.st.q[Kind::Liq as usize].cand.clear();
    }

    /// The system's total collateral ratio at oracle price `x`: the open troves' collateral value
    /// over their debt.
    fn tcr(&self, x: f64) -> f64 {
        self.open_collateral() * x / (self.st.g * self.open_norm_debt())
    }

    /// Liquity v1 in recovery mode at oracle price `x`: the TCR, when below the CCR.
    fn recovery_tcr(&self, x: f64) -> Option<f64> {
        let Mechanism::Liquity(lp) = &self.params.mechanism else { return None };
        let ccr = lp.ccr?;
        let tcr = self.tcr(x);
        (tcr < ccr).then_some(tcr)
    }

    /// The price at which positions are found liquidatable: the oracle's, except in Liquity v1's
    /// recovery mode with deposits in the pool, where troves under the TCR (not only the MCR) may
    /// go: `x MCR / TCR` when the TCR is above the MCR (ICR < T is `c (x MCR / T) LT < d`).
    pub(super) fn liquidation_price(&self, x: f64) -> f64 {
        match self.recovery_tcr(x) {
            Some(tcr) if mechanics::pool_available(self.st.pool) > 0.0 && tcr * self.params.lt > 1.0 => {
                x / (tcr * self.params.lt)
            }
            _ => x,
        }
    }

    /// Hands slot `s` (`c` units, `d` USD) to an auction of tab `tab`: one exit, the keeper's
    /// `incentive` paid by the protocol.
    #[allow(clippy::too_many_arguments)]
    fn kick(
        &mut self,
        s: u32,
        ctx: &StepCtx,
        round: u32,
        (x, p): (f64, f64),
        wrongful: bool,
        tab: f64,
        incentive: f64,
        events: &mut EventSink,
    ) {
        let (c, d) = (self.coll_of(s), self.debt_of(s));
        let o = Outcome { fee_usd: incentive, closed: true, ..Outcome::default() };
        let ledger = booking::kick(c, d, tab, incentive, p);
        self.record_exit(s, ctx, round, (x, p), wrongful, c, &o, ledger, events);
        self.close_slot(s);
    }
}
