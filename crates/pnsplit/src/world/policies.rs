//! Roll policies: which holders a round rolls, and the roll itself (docs/MODEL.md, Rolling).
//!
//! A round reads the roll oracle's price `x`, rolls every holder the policy triggers (untouched
//! holders from the cursor, groups from the heap or the maturity queue), books each roll (fee,
//! the P holder's gain at the true price under a lagging roll oracle, gas) and forms the
//! round's new group. What the round sheds is traded by [`super::execution`].

use super::{Group, GroupState, HeapEntry, RoundCtx, RoundOut, Shared, State, NONE};
use crate::spec::RollPolicy;
use headroom_market::{Event, EventKind, EventSink, Ledger, Party};

impl Shared {
    /// `max_{s in [0, tau]} r(s)` with `r(s) = exp(q sigma sqrt s - (r + sigma^2/2) s)`: an upper
    /// bound, for the rest of a group's life, of the ratio `x / K` under which the band policy
    /// rolls (`Phi(-d1) > b` iff `x < K r(tau)`).
    pub(super) fn band_rmax(&self, tau: f64) -> f64 {
        let a = self.band_q * self.vol;
        let m = self.rate + 0.5 * self.vol * self.vol;
        let f = |s: f64| a * s - m * s * s;
        let top = tau.max(0.0).sqrt();
        let mut best = f(0.0).max(f(top));
        if m > 0.0 {
            let s = a / (2.0 * m);
            if s > 0.0 && s < top {
                best = best.max(f(s));
            }
        }
        best.exp()
    }
}

impl State {
    /// Appends holder `j` to the round's member list.
    #[inline(always)]
    fn append(&mut self, out: &mut RoundOut, j: u32) {
        self.next[j as usize] = NONE;
        if out.tail == NONE {
            out.head = j;
        } else {
            self.next[out.tail as usize] = j;
        }
        out.tail = j;
    }

    /// Rolls the untouched holder at the cursor, priced `(p, d)`. Inlined into the rounds' loops:
    /// a call per roll (B2 makes about 1,500 a path) cost B2 about 2% of its instructions.
    #[inline(always)]
    fn roll_untouched(
        &mut self,
        sh: &Shared,
        rc: &RoundCtx,
        out: &mut RoundOut,
        p: f64,
        d: f64,
        ev: &mut EventSink,
    ) {
        let j = self.cursor;
        let h = sh.holders[j];
        let v = h.units * p;
        // shed = u d - u' Delta' with u' = V / p' = u p / p': u (d - p Delta'/p').
        let shed = h.units * (d - p * rc.shed_per_value);
        let fee = sh.fee * v;
        out.sell += shed.max(0.0);
        out.net += shed;
        out.v_total += v;
        out.rolled += 1;
        self.acc.fees += fee;
        self.acc.exits += 1;
        self.acc.hit += 1;
        // At a roll oracle that is not the market price, the exchange of equal values at `x` is
        // worth `u' P(p, K', T) - u P(p, K, tau)` to the P holder at the true price `p`.
        let mut gain = 0.0;
        if rc.mispriced {
            gain = mispricing_gain(sh, rc, v, h.units, h.strike, h.ln_strike, sh.maturity);
            self.acc.mispricing += gain;
        }
        if rc.events {
            self.member_units[j] = v / rc.p_new;
            ev.push(roll_event(rc, h.id, shed, v, fee, gain));
            self.append(out, j as u32);
        }
        self.cursor += 1;
    }

    /// Rolls group `gid`, priced `(p, d)` (value, delta) per unit; its members join the round's new group.
    fn roll_group(
        &mut self,
        sh: &Shared,
        rc: &RoundCtx,
        out: &mut RoundOut,
        gid: u32,
        (p, d): (f64, f64),
        ev: &mut EventSink,
    ) {
        let g = &mut self.groups[gid as usize];
        g.state = GroupState::Merged;
        let g = *g;
        let v = g.units * p;
        let shed = g.units * (d - p * rc.shed_per_value);
        out.sell += shed.max(0.0);
        out.net += shed;
        out.v_total += v;
        out.rolled += g.members;
        self.acc.fees += sh.fee * v;
        self.acc.exits += g.members;
        // The P holder's gain per unit at the true price (see `roll_untouched`).
        let gain_per_unit = if rc.mispriced {
            mispricing_gain(sh, rc, p, 1.0, g.strike, g.ln_strike, g.maturity)
        } else {
            0.0
        };
        self.acc.mispricing += g.units * gain_per_unit;
        if rc.events {
            let mut j = g.head;
            while j != NONE {
                let uj = self.member_units[j as usize];
                let vj = uj * p;
                let id = sh.holders[j as usize].id;
                let shed_j = uj * (d - p * rc.shed_per_value);
                ev.push(roll_event(rc, id, shed_j, vj, sh.fee * vj, uj * gain_per_unit));
                self.member_units[j as usize] = vj / rc.p_new;
                j = self.next[j as usize];
            }
            if g.head != NONE {
                if out.tail == NONE {
                    out.head = g.head;
                } else {
                    self.next[out.tail as usize] = g.head;
                }
                out.tail = g.tail;
            }
        }
    }

    /// Rolls group `gid` at the round's price, pricing it first.
    #[inline]
    fn price_and_roll_group(
        &mut self,
        sh: &Shared,
        rc: &RoundCtx,
        out: &mut RoundOut,
        gid: u32,
        ev: &mut EventSink,
    ) {
        let g = self.groups[gid as usize];
        let c = sh.tau_consts(g.maturity - rc.now);
        let (p, d) = sh.price(rc.x, rc.ln_x, g.strike, g.ln_strike, &c);
        self.roll_group(sh, rc, out, gid, (p, d), ev);
    }

    /// One roll round at roll-oracle price `x`: selects and rolls every triggered holder, and
    /// forms their new group. Returns what was rolled and the ETH to sell (before patience).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn round(
        &mut self,
        sh: &Shared,
        x: f64,
        now: f64,
        step: usize,
        round: u32,
        calendar: bool,
        market_price: f64,
        ev: &mut EventSink,
    ) -> RoundOut {
        let n = sh.holders.len();
        let empty = RoundOut::EMPTY;
        // Fast exit for the trigger policy when neither the highest untouched strike nor the
        // highest group strike triggers (most steps): no logarithm, no pricing.
        if sh.policy == RollPolicy::Trigger && !calendar && sh.roll_before <= 0.0 {
            let untouched = !self.untouched_settled
                && self.cursor < n
                && now <= sh.maturity + sh.eps
                && x / sh.holders[self.cursor].strike < sh.trigger;
            let group = self.heap.peek().is_some_and(|top| x / top.key < sh.trigger);
            if !untouched && !group {
                return empty;
            }
        }
        if sh.policy == RollPolicy::Calendar && !calendar && sh.roll_before <= 0.0 {
            return empty;
        }
        let p_new = x * sh.new_p_per_x;
        // A price so low (a collapse through the liquidity model's floor) that a fresh roll is
        // worth nothing: nothing can roll into it.
        if !(p_new > 0.0 && p_new.is_finite()) {
            return empty;
        }
        // The rolls are booked at the true market price; under a roll oracle that reads another
        // price the exchange of equal values at `x` moves value between P holder and takers.
        let mispriced = market_price != x;
        let ln_p = if mispriced { market_price.ln() } else { 0.0 };
        let p_new_true = if mispriced {
            let c = sh.tau_consts(sh.maturity);
            sh.price(market_price, ln_p, x / sh.target, x.ln() - sh.ln_target, &c).0
        } else {
            p_new
        };
        let rc = RoundCtx {
            x,
            ln_x: x.ln(),
            now,
            p_new,
            shed_per_value: sh.new_delta / p_new,
            p: market_price,
            ln_p,
            p_new_true,
            mispriced,
            gas: sh.gas,
            step: step as u32,
            round,
            events: ev.enabled(),
        };
        let mut out = empty;

        // Holders that never rolled: one maturity, sorted by strike.
        if !self.untouched_settled && self.cursor < n && now <= sh.maturity + sh.eps {
            let tau0 = sh.maturity - now;
            let all = calendar || tau0 < sh.roll_before;
            match sh.policy {
                RollPolicy::Trigger => {
                    if all || x / sh.holders[self.cursor].strike < sh.trigger {
                        let c = sh.tau_consts(tau0);
                        while self.cursor < n {
                            let h = sh.holders[self.cursor];
                            if !(all || x / h.strike < sh.trigger) {
                                break;
                            }
                            let (p, d) = sh.price(x, rc.ln_x, h.strike, h.ln_strike, &c);
                            self.roll_untouched(sh, &rc, &mut out, p, d, ev);
                        }
                    }
                }
                RollPolicy::Band => {
                    let c = sh.tau_consts(tau0);
                    while self.cursor < n {
                        let h = sh.holders[self.cursor];
                        let (p, d) = sh.price(x, rc.ln_x, h.strike, h.ln_strike, &c);
                        if !(all || d > sh.band_delta) {
                            break;
                        }
                        self.roll_untouched(sh, &rc, &mut out, p, d, ev);
                    }
                }
                RollPolicy::Calendar => {
                    if all {
                        let c = sh.tau_consts(tau0);
                        while self.cursor < n {
                            let h = sh.holders[self.cursor];
                            let (p, d) = sh.price(x, rc.ln_x, h.strike, h.ln_strike, &c);
                            self.roll_untouched(sh, &rc, &mut out, p, d, ev);
                        }
                    }
                }
                RollPolicy::Hold => {}
            }
        }

        // Roll groups by price.
        match sh.policy {
            RollPolicy::Trigger => {
                while let Some(&top) = self.heap.peek() {
                    let g = self.groups[top.gid as usize];
                    if g.state != GroupState::Live || g.maturity < now - sh.eps {
                        self.heap.pop();
                        continue;
                    }
                    if x / g.strike < sh.trigger {
                        self.heap.pop();
                        self.price_and_roll_group(sh, &rc, &mut out, top.gid, ev);
                    } else {
                        break;
                    }
                }
            }
            RollPolicy::Band => {
                self.recheck.clear();
                while let Some(&top) = self.heap.peek() {
                    if top.key <= x {
                        break;
                    }
                    self.heap.pop();
                    let g = self.groups[top.gid as usize];
                    if g.state != GroupState::Live || g.maturity < now - sh.eps {
                        continue;
                    }
                    let tau = g.maturity - now;
                    let c = sh.tau_consts(tau);
                    let (p, d) = sh.price(x, rc.ln_x, g.strike, g.ln_strike, &c);
                    if d > sh.band_delta {
                        self.roll_group(sh, &rc, &mut out, top.gid, (p, d), ev);
                    } else {
                        self.recheck.push(HeapEntry { key: g.strike * sh.band_rmax(tau), gid: top.gid });
                    }
                }
                for i in 0..self.recheck.len() {
                    let e = self.recheck[i];
                    self.heap.push(e);
                }
            }
            RollPolicy::Calendar | RollPolicy::Hold => {}
        }

        // Roll groups by time: close to maturity, or the calendar. The queue is in maturity
        // order, so the scan stops at the first group far enough from maturity.
        if calendar || sh.roll_before > 0.0 {
            for idx in 0..self.fifo.len() {
                let gid = self.fifo[idx];
                let g = self.groups[gid as usize];
                if g.state != GroupState::Live {
                    continue;
                }
                let tau = g.maturity - now;
                if !calendar && tau >= sh.roll_before {
                    break;
                }
                if tau < -sh.eps {
                    continue;
                }
                self.price_and_roll_group(sh, &rc, &mut out, gid, ev);
            }
        }

        if out.rolled > 0 {
            let gid = self.groups.len() as u32;
            let strike = x / sh.target;
            self.groups.push(Group {
                strike,
                ln_strike: rc.ln_x - sh.ln_target,
                maturity: now + sh.maturity,
                units: out.v_total / rc.p_new,
                members: out.rolled,
                head: out.head,
                tail: out.tail,
                state: GroupState::Live,
            });
            match sh.policy {
                RollPolicy::Trigger => self.heap.push(HeapEntry { key: strike, gid }),
                RollPolicy::Band => {
                    self.heap.push(HeapEntry { key: strike * sh.band_rmax(sh.maturity), gid })
                }
                RollPolicy::Calendar | RollPolicy::Hold => {}
            }
            self.fifo.push_back(gid);
            self.next_due = self.next_due.min(now + sh.maturity + sh.delay);
        }
        out
    }

    /// The rolls the policy triggers at roll-oracle price `x` now, counted without rolling: what
    /// waits for the next step when a step reached `max_roll_rounds` (`deferred`). O(log n +
    /// groups) under the trigger policy, O(n + groups) under the others; called only on a step
    /// that reached the bound.
    pub(super) fn count_waiting(&self, sh: &Shared, x: f64, now: f64) -> u64 {
        if sh.policy == RollPolicy::Hold || !(x > 0.0 && x.is_finite()) {
            return 0;
        }
        let n = sh.holders.len();
        let ln_x = x.ln();
        let mut count = 0u64;
        if !self.untouched_settled && self.cursor < n && now <= sh.maturity + sh.eps {
            let tau0 = sh.maturity - now;
            let rest = &sh.holders[self.cursor..];
            let c = sh.tau_consts(tau0);
            count += if tau0 < sh.roll_before {
                rest.len() as u64
            } else {
                match sh.policy {
                    RollPolicy::Trigger => rest.partition_point(|h| x / h.strike < sh.trigger) as u64,
                    RollPolicy::Band => rest
                        .iter()
                        .take_while(|h| sh.price(x, ln_x, h.strike, h.ln_strike, &c).1 > sh.band_delta)
                        .count() as u64,
                    RollPolicy::Calendar | RollPolicy::Hold => 0,
                }
            };
        }
        for &gid in &self.fifo {
            let g = self.groups[gid as usize];
            if g.state != GroupState::Live || g.maturity < now - sh.eps {
                continue;
            }
            let tau = g.maturity - now;
            let rolls = tau < sh.roll_before
                || match sh.policy {
                    RollPolicy::Trigger => x / g.strike < sh.trigger,
                    RollPolicy::Band => {
                        sh.price(x, ln_x, g.strike, g.ln_strike, &sh.tau_consts(tau)).1 > sh.band_delta
                    }
                    RollPolicy::Calendar | RollPolicy::Hold => false,
                };
            if rolls {
                count += g.members;
            }
        }
        count
    }

    /// Recomputes the trigger policy's two log keys from the cursor and the heap's top.
    pub(super) fn refresh_keys(&mut self, sh: &Shared) {
        let ln_trigger = sh.trigger.ln();
        self.key_untouched_ln = match sh.holders.get(self.cursor) {
            Some(h) if !self.untouched_settled => h.strike.ln() + ln_trigger,
            _ => f64::NEG_INFINITY,
        };
        self.key_group_ln = self.heap.peek().map_or(f64::NEG_INFINITY, |top| top.key.ln() + ln_trigger);
        self.keys_valid = true;
    }
}

/// The P holder's gain at the true price `p` from exchanging `units` of P(K) worth `v` at the
/// roll oracle's `x` for `v / P(x, K', maturity)` units of P(K'): `u' P(p, K', maturity) - u P(p,
/// K, tau)`. Only under a roll oracle that reads another price than the market's (kept out of
/// the hot loop).
#[cold]
#[inline(never)]
fn mispricing_gain(sh: &Shared, rc: &RoundCtx, v: f64, units: f64, k: f64, ln_k: f64, maturity: f64) -> f64 {
    let c = sh.tau_consts(maturity - rc.now);
    v / rc.p_new * rc.p_new_true - units * sh.price(rc.p, rc.ln_p, k, ln_k, &c).0
}

/// A roll's event row and its bookings: the fee to the takers, the P holder's gain at the true
/// price (`gain`, from the takers), the gas of the holder's transaction to the validators.
#[inline]
fn roll_event(rc: &RoundCtx, id: u64, shed: f64, v: f64, fee: f64, gain: f64) -> Event {
    let mut ledger = Ledger::default();
    ledger.transfer(Party::Lender, Party::Takers, fee);
    ledger.transfer(Party::Takers, Party::Lender, gain);
    ledger.gas(Party::Lender, rc.gas);
    Event {
        step: rc.step,
        round: rc.round,
        position: id,
        kind: EventKind::Roll,
        eth: shed,
        usd: v,
        fee_usd: fee,
        oracle_price: rc.x,
        market_price: rc.p,
        wrongful: false,
        ledger,
    }
}
