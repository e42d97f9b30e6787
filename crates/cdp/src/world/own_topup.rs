//! A borrower's own deposit of collateral, outside the `topup_*` rule: what `headroom serve` lets
//! a borrower do mid-walk.

use super::slots::{Kind, Machine, Phase, Slot};
use super::CdpWorld;
use crate::booking;
use headroom_market::{Event, EventKind, EventSink, StepCtx, WorldMarket};

impl CdpWorld {
    /// A borrower's own deposit, outside the `topup_*` rule: adds `units` (finite, > 0) of
    /// collateral to position `id` now, before the rounds of the current step (call it between
    /// the market's `begin_step` and [`headroom_market::Primitive::step`]), and records a `topup`
    /// event booked as the world's own top-ups are (`booking::top_up`). Returns whether the
    /// position took it: false when it is closed (or handed to an auction), unknown, or `units`
    /// is not a positive number. Every untouched position from the cursor up to `id` becomes
    /// touched (watched in the heaps), so finding `id` costs O(n) once and later steps stay
    /// O(log n); the bulk path hands the rest of the path to the general engine (the two give the
    /// same rows).
    pub fn add_collateral(
        &mut self,
        ctx: &StepCtx,
        id: u64,
        units: f64,
        market: &WorldMarket,
        events: &mut EventSink,
    ) -> bool {
        if !(units.is_finite() && units > 0.0) {
            return false;
        }
        let Some(j) = self.book.id.iter().position(|&i| i == id) else { return false };
        if j < self.st.cursor {
            // Touched (a slot) or closed on the bulk path (none).
            let open =
                self.st.slots.iter().any(|sl| sl.idx as usize == j && sl.phase(Kind::Liq) != Phase::Off);
            if !open {
                return false;
            }
        }
        self.bulk_on = false;
        let s = if j >= self.st.cursor {
            let mut s = 0;
            while self.st.cursor <= j {
                let k = self.st.cursor;
                self.st.cursor += 1;
                s = self.st.slots.len() as u32;
                let off = Machine { phase: Phase::Off, ver: 0 };
                let (c0, d0) = (self.book.coll[k], self.book.debt[k]);
                self.st.slots.push(Slot { idx: k as u32, c0, d0, m: [off; 2], hit: false });
                self.st.touched_c0 += c0;
                self.st.touched_d0 += d0;
                self.st.touched_open += 1;
                self.watch(Kind::Liq, s);
                if self.params.topup.is_some() {
                    self.watch(Kind::Top, s);
                }
            }
            self.st.next_key = self.book.liq0[self.st.cursor];
            self.st.next_log_key = self.book.log_above[self.st.cursor];
            s
        } else {
            self.st.slots.iter().position(|sl| sl.idx as usize == j).map_or(0, |s| s as u32)
        };
        let sl = self.st.slots[s as usize];
        let (c, d) = (self.coll_of(s), self.debt_of(s));
        self.set_actual(s, c + units, d);
        let p = market.price();
        let ledger = booking::top_up(c, d, units, p);
        let acc = &mut self.st.acc;
        acc.topped_up += units;
        acc.borrower_cash -= units * p;
        acc.ledger.add(&ledger);
        events.push(Event {
            step: ctx.step as u32,
            round: 0,
            position: id,
            kind: EventKind::TopUp,
            eth: units,
            usd: units * p,
            fee_usd: 0.0,
            oracle_price: market.oracle_price(),
            market_price: p,
            wrongful: false,
            ledger,
        });
        // Keys moved: re-watch at the new key (a pending or parked liquidation is checked again
        // when it comes up).
        for k in [Kind::Liq, Kind::Top] {
            if sl.phase(k) == Phase::Watch {
                self.watch(k, s);
            }
        }
        true
    }
}
