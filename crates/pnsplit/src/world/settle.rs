//! Settlement at maturity through the slow settlement oracle (docs/MODEL.md, Settlement), and
//! its bookings: the settlement error moves value between the P holder (lender) and the N side
//! (borrower) only.
//!
//! The cohort's original pairs mature together at `maturity`: the holders that never rolled
//! settle there (P and N); the N side of a holder whose P rolled away stays the borrower's and
//! is valued at the true price at maturity (its P side is the roll counterparty's; see
//! docs/MODEL.md, The P/N ledger). Roll groups settle at their own maturities.

use super::{GroupState, Shared, State, INVARIANT_TOL, NONE};
use crate::settlement::{settle, SettlementOutcome};
use headroom_market::{Event, EventKind, EventSink, Ledger, Party};

impl State {
    /// Counts one P + N = x check.
    #[inline]
    pub(super) fn check(&mut self, p_usd: f64, n_usd: f64, total: f64) {
        self.stats.checks += 1;
        let holds = (p_usd + n_usd - total).abs() <= INVARIANT_TOL * total.abs();
        if !holds {
            self.stats.violations += 1;
        }
    }

    /// Accounts one settlement outcome of `units` pairs (`total = units x_d`).
    #[inline]
    fn account_settlement(&mut self, o: &SettlementOutcome, total: f64) {
        self.acc.transfer_abs += o.transfer_to_p_usd.abs();
        self.acc.transfer_to_p += o.transfer_to_p_usd;
        self.acc.shortfall += o.shortfall_usd;
        self.acc.paid_since_mark += o.p_usd;
        self.acc.p_paid += o.p_usd;
        self.check(o.p_usd, o.n_usd, total);
    }

    /// Settles the cohort's original pairs at maturity `sh.maturity`, delivered at `x_d`: the
    /// holders that never rolled through the settlement oracle, the N sides of the holders that
    /// rolled at the true price. The metrics are computed the same way whether events are
    /// recorded or not.
    fn settle_untouched(&mut self, sh: &Shared, x_d: f64, step: usize, ev: &mut EventSink) {
        let n = sh.holders.len();
        let t = sh.maturity;
        let x_s = self.history.settlement_price(&sh.settlement, t, sh.window, sh.eps);
        let x_t = self.history.price_at(t, sh.eps);
        let start = self.cursor;
        if sh.hedge_every > 0 {
            // The settled claims' hedge goes with them (docs/MODEL.md, Rebalancing the hedge).
            self.hedge -= sh.matured_delta_from(x_d, start);
        }
        self.acc.n_paid += x_d * rolled_n_share(sh, start, x_t);
        let mut i = start;
        // Capped payoff: holders with K <= min(x_s, x_T) receive K/x_s units, owe no shortfall,
        // and their transfer is linear in u K: one block from the suffix sums.
        let m = if sh.capped { x_s.min(x_t) } else { f64::NEG_INFINITY };
        while i < n && sh.holders[i].strike > m {
            let h = sh.holders[i];
            let o = settle(&sh.payoff, h.units, h.strike, x_s, x_t, x_d);
            self.account_settlement(&o, h.units * x_d);
            self.acc.n_paid += o.n_usd;
            i += 1;
        }
        if i < n {
            let (su, suk) = (sh.suf_u[i], sh.suf_uk[i]);
            let gap = 1.0 / x_s - 1.0 / x_t;
            let o = SettlementOutcome {
                p_usd: x_d * suk / x_s,
                n_usd: x_d * (su - suk / x_s),
                p_eth: suk / x_s,
                transfer_to_p_usd: x_d * suk * gap,
                transfer_to_n_usd: -x_d * suk * gap,
                shortfall_usd: 0.0,
            };
            self.account_settlement(&o, su * x_d);
            self.acc.n_paid += o.n_usd;
        }
        if ev.enabled() {
            for h in &sh.holders[start..] {
                let o = settle(&sh.payoff, h.units, h.strike, x_s, x_t, x_d);
                ev.push(settlement_event(step, h.id, &o, x_s, x_d));
            }
        }
        self.untouched_settled = true;
    }

    /// Settles group `gid` delivered at `x_d`. By the ledger's convention the N side of a
    /// rolled pair is the borrower's: the settlement error moves value between P holder and
    /// borrower.
    fn settle_group(&mut self, sh: &Shared, gid: u32, x_d: f64, step: usize, ev: &mut EventSink) {
        let g = self.groups[gid as usize];
        let x_s = self.history.settlement_price(&sh.settlement, g.maturity, sh.window, sh.eps);
        let x_t = self.history.price_at(g.maturity, sh.eps);
        let o = settle(&sh.payoff, g.units, g.strike, x_s, x_t, x_d);
        self.account_settlement(&o, g.units * x_d);
        self.acc.transfer_to_n_groups += o.transfer_to_n_usd;
        self.groups[gid as usize].state = GroupState::Settled;
        if sh.hedge_every > 0 {
            self.hedge -= g.units * sh.payoff.p_usd_slope(x_d, g.strike);
        }
        if ev.enabled() {
            let mut j = g.head;
            while j != NONE {
                let uj = self.member_units[j as usize];
                let oj = settle(&sh.payoff, uj, g.strike, x_s, x_t, x_d);
                ev.push(settlement_event(step, sh.holders[j as usize].id, &oj, x_s, x_d));
                j = self.next[j as usize];
            }
        }
    }

    /// Settles what is due at `now`: maturity plus delay reached, or (at the end of the path)
    /// maturity reached.
    pub(super) fn settle_due(
        &mut self,
        sh: &Shared,
        now: f64,
        x_d: f64,
        step: usize,
        at_end: bool,
        ev: &mut EventSink,
    ) {
        let due = |maturity: f64| maturity + sh.delay <= now + sh.eps || (at_end && maturity <= now + sh.eps);
        if !self.untouched_settled && due(sh.maturity) {
            self.settle_untouched(sh, x_d, step, ev);
        }
        self.next_due = if self.untouched_settled { f64::INFINITY } else { sh.maturity + sh.delay };
        while let Some(&gid) = self.fifo.front() {
            let g = self.groups[gid as usize];
            if g.state != GroupState::Live {
                self.fifo.pop_front();
                continue;
            }
            if due(g.maturity) {
                self.settle_group(sh, gid, x_d, step, ev);
                self.fifo.pop_front();
            } else {
                self.next_due = self.next_due.min(g.maturity + sh.delay);
                break;
            }
        }
    }
}

/// `sum_{i < c} u_i n(x_T; K_i)`: the N shares, in units, of the original pairs of the holders
/// that rolled (the first `c` in strike order), at the true price at maturity. Capped: from the
/// suffix sums in O(log n) (`n = 1 - K/x` for `K < x`); other shapes never roll.
fn rolled_n_share(sh: &Shared, c: usize, x_t: f64) -> f64 {
    if c == 0 {
        return 0.0;
    }
    if sh.capped {
        // Strikes descend: those below x_T are a suffix starting at j.
        let j = sh.holders.partition_point(|h| h.strike >= x_t);
        if j >= c {
            return 0.0;
        }
        let su = sh.suf_u[j] - sh.suf_u[c];
        let suk = sh.suf_uk[j] - sh.suf_uk[c];
        su - suk / x_t
    } else {
        sh.holders[..c].iter().map(|h| h.units * sh.payoff.n_share(x_t, h.strike)).sum()
    }
}

/// A settlement's event row; its bookings move the settlement error from the N side to P.
fn settlement_event(step: usize, id: u64, o: &SettlementOutcome, x_s: f64, x_d: f64) -> Event {
    let mut ledger = Ledger::default();
    ledger.transfer(Party::Borrower, Party::Lender, o.transfer_to_p_usd);
    Event {
        step: step as u32,
        round: 0,
        position: id,
        kind: EventKind::Settlement,
        eth: o.p_eth,
        usd: o.p_usd,
        fee_usd: 0.0,
        oracle_price: x_s,
        market_price: x_d,
        wrongful: false,
        ledger,
    }
}
