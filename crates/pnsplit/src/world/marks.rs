//! Marks: the cohort's P value for `p_drift`, and the books of a path at its end (the ledger
//! and each side's result, docs/MODEL.md, The P/N ledger).

use super::{GroupState, Shared, State};
use headroom_market::{Ledger, Party};

/// The books of one path, closed at the final market price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Books {
    /// What each party gained over the path.
    pub ledger: Ledger,
    /// The P holder's whole result, USD.
    pub lender_pnl: f64,
    /// The N holder's whole result, USD.
    pub borrower_pnl: f64,
}

impl State {
    /// The cohort's open P value at market price `x`: priced before maturity, the payoff at `x`
    /// after it (awaiting a delayed settlement).
    pub(super) fn open_p_value(&self, sh: &Shared, now: f64, x: f64) -> f64 {
        let mut v = 0.0;
        if !self.untouched_settled && self.cursor < sh.holders.len() {
            let rest = &sh.holders[self.cursor..];
            if now <= sh.maturity + sh.eps {
                v += sh.value_from(x, self.cursor, sh.maturity - now);
            } else {
                v += rest.iter().map(|h| h.units * sh.payoff.p_usd(x, h.strike)).sum::<f64>();
            }
        }
        self.add_live_groups(sh, now, x, false, v)
    }

    /// `v` plus `sum u P` (or, with `delta`, `sum u dP/dx`) over the live roll groups at market
    /// price `x`, added one group at a time: priced before their maturity, the payoff (its
    /// slope) after it.
    pub(super) fn add_live_groups(&self, sh: &Shared, now: f64, x: f64, delta: bool, mut v: f64) -> f64 {
        let ln_x = x.ln();
        for &gid in &self.fifo {
            let g = &self.groups[gid as usize];
            if g.state != GroupState::Live {
                continue;
            }
            let tau = g.maturity - now;
            v += g.units
                * match (tau >= -sh.eps, delta) {
                    (true, false) => sh.price(x, ln_x, g.strike, g.ln_strike, &sh.tau_consts(tau)).0,
                    (true, true) => sh.price(x, ln_x, g.strike, g.ln_strike, &sh.tau_consts(tau)).1,
                    (false, false) => sh.payoff.p_usd(x, g.strike),
                    (false, true) => sh.payoff.p_usd_slope(x, g.strike),
                };
        }
        v
    }

    /// Marks the cohort's P value for `p_drift`: the log total return since the last mark,
    /// settlement payouts and the unfilled hedge inventory's gains included.
    pub(super) fn mark(&mut self, sh: &Shared, now: f64, x: f64) {
        let mut v = self.open_p_value(sh, now, x);
        if self.has_inventory(sh) {
            v += self.inventory_gain(x);
        }
        let prev = self.acc.mark_prev;
        let total = v + self.acc.paid_since_mark;
        if prev > 0.0 && total > 0.0 {
            let r = (total / prev).ln();
            self.acc.drift_sum_sq += r * r;
            self.acc.drift_n += 1;
        }
        self.acc.mark_prev = v;
        self.acc.paid_since_mark = 0.0;
    }

    /// Closes the path's books at the final market price `x_f` (after the end-of-path
    /// settlement). `start_price` is the path's, `premium` its put premium and `p0` the cohort's
    /// P value at the start.
    pub(super) fn close_books(&self, sh: &Shared, now: f64, x_f: f64, start_price: f64) -> Books {
        let a = &self.acc;
        // One transaction a holder's roll and a rebalance that traded.
        let gas = sh.gas * (a.exits + a.rebalances) as f64;
        let mut ledger = Ledger::default();
        ledger.transfer(Party::Borrower, Party::Lender, self.premium_usd);
        ledger.transfer(Party::Lender, Party::Takers, a.fees);
        ledger.transfer(Party::Takers, Party::Lender, a.mispricing);
        ledger.gas(Party::Lender, gas);
        ledger.transfer(Party::Lender, Party::Market, a.slippage - a.searcher);
        ledger.transfer(Party::Lender, Party::Takers, a.searcher);
        ledger.transfer(Party::Borrower, Party::Lender, a.transfer_to_p);
        ledger.transfer(Party::Takers, Party::Market, a.taker_slippage);
        ledger.gas(Party::Takers, a.taker_gas);

        // The P holder: payouts, open P claims and hedge inventory at x_f, the inventory's
        // realised gains, minus what it paid for its rolls, minus its P value at the start.
        let mut held = a.p_paid + self.open_p_value(sh, now, x_f) + a.exposure;
        if self.has_inventory(sh) {
            held += self.inventory_gain(x_f);
        }
        let paid = a.fees - a.mispricing + gas + a.slippage;
        let lender_pnl = held - paid - self.p0;

        // The N holder: its original N claims (settled, or marked at x_f before maturity) and
        // the settlement transfers of rolled pairs, minus its N value at the start.
        let units = sh.suf_u.first().copied().unwrap_or(0.0);
        let n0 = units * start_price - self.p0;
        let n_end = if self.untouched_settled || sh.holders.is_empty() {
            a.n_paid
        } else {
            let tau = sh.maturity - now;
            units * x_f
                - if tau >= -sh.eps {
                    sh.value_from(x_f, 0, tau)
                } else {
                    sh.holders.iter().map(|h| h.units * sh.payoff.p_usd(x_f, h.strike)).sum::<f64>()
                }
        };
        let borrower_pnl = n_end - n0 + a.transfer_to_n_groups;
        Books { ledger, lender_pnl, borrower_pnl }
    }
}
