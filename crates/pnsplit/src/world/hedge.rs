//! The roll counterparty's hedge, rebalanced every `hedge_every_steps` steps (docs/MODEL.md,
//! Rebalancing the hedge).
//!
//! The counterparty that mints the new pairs of a roll sells the ETH-delta the roll sheds: its
//! hedge `H` (ETH) is the short side of the ETH-delta of the open P claims,
//! `D = sum u Phi(-d1(x, K, tau))` over the holders that never rolled and the live roll groups
//! (the payoff's slope for claims matured and awaiting settlement). `H` starts at the claims'
//! delta at the start of the path, falls by every shed a round trades (a dropped negative shed
//! leaves it), and by the delta of the claims that settle (their hedge goes with them, so
//! `H - D` is unchanged by a settlement). Every `hedge_every_steps` steps, after the step's
//! rolls, the counterparty trades `q = H - D` (selling when positive, buying back when negative,
//! whatever `hedge_buy_back` says) through the execution style and liquidity of the roll hedges,
//! and `H` becomes `D`. Its costs are the P holder's, as a roll hedge's are: the slippage and a
//! searcher's gain of the trade, and one transaction's gas (lender to validators, on a
//! `rebalance` event row before the trade's `hedge` rows).
//!
//! `D` costs O(log n + bins near the money + live roll groups): the holders that never rolled
//! from the bins of [`super::fastmark`] (O(cohort) above its size limit), each group priced.

use super::execution::TradeAt;
use super::execution::{Lot, HEDGE_POSITION};
use super::{Shared, State};
use headroom_market::{Event, EventKind, EventSink, Ledger, Party, WorldMarket};

impl Shared {
    /// The ETH-delta of the holders from index `c` on (sorted by strike) at `x` with `tau`
    /// left: from the bins when the world has them, else one pricing a holder.
    pub(super) fn delta_from(&self, x: f64, c: usize, tau: f64) -> f64 {
        let k = self.tau_consts(tau);
        match &self.fast {
            Some(f) => f.delta(&self.holders, &self.suf_u, c, x, &k),
            None => {
                let ln_x = x.ln();
                self.holders[c.min(self.holders.len())..]
                    .iter()
                    .map(|h| h.units * self.price(x, ln_x, h.strike, h.ln_strike, &k).1)
                    .sum()
            }
        }
    }

    /// The delta of matured claims of the holders from index `c` on at `x`: the payoff's slope,
    /// `sum u 1{x < K}` for the capped payoff (the strikes above `x`, from the suffix sums).
    pub(super) fn matured_delta_from(&self, x: f64, c: usize) -> f64 {
        let rest = &self.holders[c.min(self.holders.len())..];
        if self.capped {
            let j = c + rest.partition_point(|h| h.strike > x);
            self.suf_u[c] - self.suf_u[j]
        } else {
            rest.iter().map(|h| h.units * self.payoff.p_usd_slope(x, h.strike)).sum()
        }
    }
}

impl State {
    /// The ETH-delta of the open P claims at market price `x`: priced before maturity, the
    /// payoff's slope after it (awaiting a delayed settlement), as [`State::open_p_value`]
    /// values them.
    pub(super) fn open_delta(&self, sh: &Shared, now: f64, x: f64) -> f64 {
        let mut d = 0.0;
        if !self.untouched_settled && self.cursor < sh.holders.len() {
            d += if now <= sh.maturity + sh.eps {
                sh.delta_from(x, self.cursor, sh.maturity - now)
            } else {
                sh.matured_delta_from(x, self.cursor)
            };
        }
        self.add_live_groups(sh, now, x, true, d)
    }

    /// Rebalances the hedge at the end of step `step` (after its rolls): trades `H - D` through
    /// the execution style, books the transaction's gas, and sets `H = D`. `round` is the
    /// round number of its event rows.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rebalance(
        &mut self,
        sh: &Shared,
        step: usize,
        round: u32,
        now: f64,
        last: bool,
        market: &mut WorldMarket,
        ev: &mut EventSink,
    ) {
        let p = market.price();
        let target = self.open_delta(sh, now, p);
        let q = self.hedge - target;
        if !q.is_finite() || q == 0.0 {
            return;
        }
        self.hedge = target;
        self.acc.rebalances += 1;
        let at = TradeAt { step, round };
        if ev.enabled() {
            let mut ledger = Ledger::default();
            ledger.gas(Party::Lender, sh.gas);
            ev.push(Event {
                step: step as u32,
                round,
                position: HEDGE_POSITION,
                kind: EventKind::Rebalance,
                eth: q,
                usd: q * p,
                fee_usd: 0.0,
                oracle_price: market.oracle_price(),
                market_price: p,
                wrongful: false,
                ledger,
            });
        }
        self.execute_round(sh, &mut Lot::default(), q, p, at, last, market, ev);
    }
}
