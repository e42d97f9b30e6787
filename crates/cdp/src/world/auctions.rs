//! Maker's auctions in flight: flip auctions settling `ttl` after the bite, clip auctions
//! running in the contract's own time ([`crate::mechanics::clip_next`]), each take, settlement
//! and reset booked at the true price ([`crate::booking::AuctionMove`]), and the auctions still
//! open at the end of a path reported (docs/MODEL.md, Maker).

use super::{CdpWorld, SECONDS_PER_YEAR};
use crate::booking::AuctionMove;
use crate::mechanics::{self, ClipStep};
use crate::spec::Mechanism;
use headroom_market::{Event, EventKind, EventSink, Ledger, Party, StepCtx, WorldMarket};

/// An auction in flight (Maker): its lot, the tab still to raise and the debt still owed to the
/// lender (the tab's first part; the rest is the penalty).
#[derive(Clone, Copy, Debug)]
pub(super) struct Auction {
    pub idx: u32,
    pub lot: f64,
    pub tab: f64,
    pub debt_left: f64,
    pub top: f64,
    /// Clip: when the auction (re)started (`tic`), seconds.
    pub tic_s: f64,
    /// Clip: the end of the last window keepers looked at, seconds.
    pub seen_s: f64,
    /// Flip: when the auction settles, seconds.
    pub settle_s: f64,
    pub working: u32,
    pub wrongful: bool,
}

impl CdpWorld {
    /// Settles due flip auctions and lets keepers take from clip auctions (first round of a
    /// step).
    pub(super) fn run_auctions(
        &mut self,
        ctx: &StepCtx,
        market: &WorldMarket,
        events: &mut EventSink,
        block: &mut f64,
        acted: &mut bool,
    ) {
        if self.st.auctions.is_empty() {
            return;
        }
        let params = self.params;
        let now_s = ctx.time_years * SECONDS_PER_YEAR;
        let (x, p) = (market.oracle_price(), market.price());
        let mut i = 0;
        while i < self.st.auctions.len() {
            let mut a = self.st.auctions[i];
            // (units taken, USD raised, whether the auction ends)
            let mut take: Option<(f64, f64, bool)> = None;
            match &params.mechanism {
                Mechanism::Flip(fp) if now_s + 1e-6 >= a.settle_s && self.st.budget > 0 => {
                    self.st.budget -= 1;
                    let s = mechanics::flip_settle(fp, a.lot, a.tab, p, a.working);
                    take = Some((s.taken, s.raised_usd, true));
                    self.st.flips_in_flight -= 1;
                }
                Mechanism::Clip(cp) => {
                    // Keepers look at the window since they last looked, at this step's market
                    // price; each take or reset is a transaction of the step's bound.
                    let threshold = p * (1.0 - cp.keeper_margin);
                    while self.st.budget > 0 {
                        match mechanics::clip_next(cp, a.top, a.tic_s, a.seen_s, now_s, threshold) {
                            ClipStep::Take { price, .. } => {
                                // One keeper takes all it can: the whole lot, or what covers the tab.
                                let exhausted = a.lot <= a.tab / price;
                                let qty = if exhausted { a.lot } else { a.tab / price };
                                let raised = if exhausted { qty * price } else { a.tab };
                                take = Some((qty, raised, true));
                                self.st.budget -= 1;
                                break;
                            }
                            ClipStep::Wait => break,
                            ClipStep::Reset { at_s } => {
                                self.st.budget -= 1;
                                a.top = x * cp.buf;
                                a.tic_s = at_s;
                                a.seen_s = at_s;
                                let incentive = cp.tip_usd + cp.chip * a.tab;
                                let mut ledger = Ledger::default();
                                ledger.transfer(Party::Protocol, Party::Takers, incentive);
                                self.gas(&mut ledger);
                                let acc = &mut self.st.acc;
                                acc.fees += incentive;
                                acc.ledger.add(&ledger);
                                events.push(Event {
                                    step: ctx.step as u32,
                                    round: 0,
                                    position: self.book.id[a.idx as usize],
                                    kind: EventKind::AuctionReset,
                                    eth: 0.0,
                                    usd: 0.0,
                                    fee_usd: incentive,
                                    oracle_price: x,
                                    market_price: p,
                                    wrongful: a.wrongful,
                                    ledger,
                                });
                            }
                        }
                    }
                    a.seen_s = now_s;
                }
                _ => {}
            }
            if let Some((taken, raised, ends)) = take {
                let mv = AuctionMove { lot: a.lot, tab: a.tab, debt_left: a.debt_left, taken, raised, ends };
                let mut ledger = mv.book(p);
                self.gas(&mut ledger);
                let (to_lender, _) = mv.split();
                let cover = mv.cover();
                a.lot -= taken;
                a.tab -= raised;
                a.debt_left -= to_lender;
                let acc = &mut self.st.acc;
                acc.seized += taken;
                // The keeper's discount at the oracle, and the mispricing of what it takes.
                let fee = taken * x - raised;
                acc.fees += fee;
                acc.oracle_loss += taken * (p - x);
                acc.lender_cash += to_lender + cover;
                acc.shortfall += cover;
                acc.ledger.add(&ledger);
                if taken > 0.0 {
                    *block += taken;
                    *acted = true;
                }
                events.push(Event {
                    step: ctx.step as u32,
                    round: 0,
                    position: self.book.id[a.idx as usize],
                    kind: EventKind::Auction,
                    eth: taken,
                    usd: raised,
                    fee_usd: fee,
                    oracle_price: x,
                    market_price: p,
                    wrongful: a.wrongful,
                    ledger,
                });
                if ends {
                    // The rest of the lot goes back to the owner.
                    acc.returned += a.lot.max(0.0);
                    self.st.auctions.swap_remove(i);
                    continue;
                }
            }
            self.st.auctions[i] = a;
            i += 1;
        }
    }

    /// Reports every auction still open at the end of the path (an `auction_open` event each:
    /// the lot and the tab as they stand); `end_path` marks them at the market.
    pub(super) fn report_open_auctions(&self, ctx: &StepCtx, market: &WorldMarket, events: &mut EventSink) {
        if !events.enabled() {
            return;
        }
        for a in &self.st.auctions {
            events.push(Event {
                step: ctx.step as u32,
                round: 0,
                position: self.book.id[a.idx as usize],
                kind: EventKind::AuctionOpen,
                eth: a.lot,
                usd: a.tab,
                fee_usd: 0.0,
                oracle_price: market.oracle_price(),
                market_price: market.price(),
                wrongful: a.wrongful,
                ledger: Ledger::default(),
            });
        }
    }
}
