//! The bulk path: the generic preset with close factor 1, no latency, no profitability check
//! and no top-ups (benchmark B1). Every liquidated position closes, so nothing is ever touched: a
//! round's liquidations are the index range between the old and the new cursor, their breakdown
//! and their bookings come from the book's prefix sums of collateral and debt (docs/MODEL.md, the
//! bulk path). Under a spot oracle without interest the range is found in logarithms against the
//! book's conservative log thresholds, and the price confirms its last key, so that the next sale
//! does not wait for the `exp` of the price.

use super::{Acc, CdpWorld};
use crate::book::Book;
use crate::booking;
use crate::mechanics;
use crate::spec::DirectParams;
use headroom_market::{Event, EventKind, EventSink, Party, StepCtx, WorldMarket};

/// The bulk path's constants.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bulk {
    pub bonus: f64,
    pub protocol_fee: f64,
    pub inv_lt: f64,
    pub inv_one_plus_bonus: f64,
    /// Gas of each liquidation, USD (the market's frictions).
    pub gas_usd: f64,
    /// Share of each round's sale a searcher sandwiches.
    pub frontrun_share: f64,
}

/// The events of a bulk round over the book's positions `range` (`(lt, g)` the threshold and
/// the interest factor, `(step, round)`, `(x, p)` the oracle and market prices), each with its
/// own booking: out of line, so that the round's loop stays small when events are off.
#[cold]
#[inline(never)]
fn bulk_events(
    book: &Book,
    k: &Bulk,
    (lt, g): (f64, f64),
    (step, round): (u32, u32),
    range: std::ops::Range<usize>,
    (x, p): (f64, f64),
    events: &mut EventSink,
) {
    let dp = DirectParams { bonus: k.bonus, close_factor: 1.0, protocol_fee: k.protocol_fee, aave: None };
    for j in range {
        let (c, d) = (book.coll[j], g * book.debt[j]);
        if let Some(o) = mechanics::direct(&dp, lt, c, d, x) {
            events.push(Event {
                step,
                round,
                position: book.id[j],
                kind: EventKind::Liquidation,
                eth: o.seized,
                usd: o.repaid_usd,
                fee_usd: o.fee_usd,
                oracle_price: x,
                market_price: p,
                wrongful: c * p * lt >= d,
                ledger: {
                    let mut l = booking::liquidation(c, d, &o, p, true);
                    if k.gas_usd > 0.0 {
                        l.gas(Party::Takers, k.gas_usd);
                    }
                    l
                },
            });
        }
    }
}

/// The borrowers' and the lender's bookings of a bulk round over `range` when some position may
/// lack equity at `p`: their claims before, `max(c p - g d, 0)` and `min(g d, c p)`, split at
/// `k0 = k_p = p / (g LT)`; after, the collateral returned (`coll - seized`) and the repayment.
#[inline(never)]
fn bulk_claims(
    book: &Book,
    range: std::ops::Range<usize>,
    k_p: f64,
    (g, p): (f64, f64),
    (d_all, coll, seized, repaid): (f64, f64, f64, f64),
) -> (f64, f64) {
    let (j0, j1) = (range.start, range.end);
    if book.liq0[j0] <= k_p {
        (d_all - seized * p, repaid - d_all)
    } else {
        let jp = book.split_above(j0, j1, k_p);
        let (ce, de) = (book.coll_sum(jp, j1), g * book.debt_sum(jp, j1));
        (p * (coll - seized) - (p * ce - de), repaid - (de + p * (coll - ce)))
    }
}

/// A bulk step's sums: the path's running totals of the breakdown (continued in the same order,
/// so that their bits do not depend on how rounds fall into steps) and the step's own sums of
/// the ledger, written back to the path's [`Acc`] at its end (fewer fields to carry through the
/// market's calls than the whole accumulator).
#[derive(Clone, Copy, Debug, Default)]
struct BulkSums {
    exits: u64,
    wrongful: u64,
    eth_sold: f64,
    fees: f64,
    slippage: f64,
    oracle_loss: f64,
    shortfall: f64,
    seized: f64,
    returned: f64,
    /// The debt repaid and the seized units at the market price over the step's rounds in
    /// which every position had equity (the others are booked as they come).
    repaid: f64,
    seized_value: f64,
    /// Liquidations the step's bound pushed to the next step.
    deferred: u64,
    /// The searchers' gain on the step's sales (sandwiches).
    searcher: f64,
}

impl BulkSums {
    /// The path's running totals so far; the step's own sums at zero.
    #[inline]
    fn from(a: &Acc) -> Self {
        BulkSums {
            exits: a.exits,
            wrongful: a.wrongful,
            eth_sold: a.eth_sold,
            fees: a.fees,
            slippage: a.slippage,
            oracle_loss: a.oracle_loss,
            shortfall: a.shortfall,
            seized: a.seized,
            returned: a.returned,
            ..BulkSums::default()
        }
    }
}

impl Acc {
    /// Takes back a bulk step of `rounds` rounds: the running totals, and the step's bookings:
    /// the liquidators take the seized collateral for the repayment (the borrowers' equity pays
    /// the difference) and pay the slippage of selling it to the market.
    #[inline]
    fn add_bulk(&mut self, b: &BulkSums, k: &Bulk, rounds: u32) {
        // What the market gained of the sellers' slippage (the searchers' part stays with the
        // takers).
        let slippage = b.slippage - self.slippage - b.searcher;
        if k.gas_usd > 0.0 {
            self.ledger.gas(Party::Takers, k.gas_usd * (b.exits - self.exits) as f64);
        }
        self.hit += b.exits - self.exits;
        self.exits = b.exits;
        self.wrongful = b.wrongful;
        self.eth_sold = b.eth_sold;
        self.fees = b.fees;
        self.slippage = b.slippage;
        self.oracle_loss = b.oracle_loss;
        self.shortfall = b.shortfall;
        self.seized = b.seized;
        self.returned = b.returned;
        self.lender_cash += b.repaid;
        self.deferred += b.deferred;
        let l = &mut self.ledger;
        l.borrower_usd += b.repaid - b.seized_value;
        l.takers_usd += b.seized_value - b.repaid - slippage;
        l.market_usd += slippage;
        self.max_rounds = self.max_rounds.max(rounds as u64);
    }
}

impl CdpWorld {
    /// The cascade rounds of a step on the bulk path, once the oracle has crossed the key at
    /// the cursor.
    #[inline(never)]
    pub(super) fn bulk_step(
        &mut self,
        ctx: &StepCtx,
        market: &mut WorldMarket,
        events: &mut EventSink,
        k: Bulk,
    ) {
        let book = &*self.book;
        let lt = self.params.lt;
        let g = self.st.g;
        let inv_g = 1.0 / g;
        // Locals across the market's calls; written back at the end.
        let mut acc = BulkSums::from(&self.st.acc);
        let mut cursor = self.st.cursor;
        let mut rounds: u32 = 0;
        // The step's bound as an index: liquidations from the cursor up to `limit`.
        let limit = cursor.saturating_add(self.max_per_step.min(usize::MAX as u64) as usize);
        // Under a spot oracle without interest, a round that cannot liquidate is recognised in
        // logs, without the `exp` of the price (the test is conservative: see
        // `book::log_key_above`).
        let log_test = g == 1.0 && market.oracle_is_spot();
        loop {
            let j0 = cursor;
            let (x, mut j1) = if log_test {
                // The range is found in logs, so the next sale need not wait for the `exp`
                // of the price; the price then confirms its last key (a tie within the margin
                // of `log_key_above` falls back to the search in prices).
                let lp = market.log_price();
                if !(book.log_above[j0] > lp) {
                    break;
                }
                let x = market.cache_price();
                let jl = book.advance_log(j0 + 1, lp);
                let j1 = if book.liq0[jl - 1] > x { jl } else { book.advance(j0, x) };
                if j1 == j0 {
                    break;
                }
                (x, j1)
            } else {
                market.cache_price();
                let x = market.oracle_price();
                let theta = if g == 1.0 { x } else { x / g };
                if !(book.liq0[j0] > theta) {
                    break;
                }
                (x, book.advance(j0 + 1, theta))
            };
            let p = market.price();
            let last = j1 >= limit;
            let j_all = j1;
            if last {
                // The step's bound: the rest waits for the next step.
                acc.deferred += (j1 - limit) as u64;
                j1 = limit;
            }
            // Split the range by how the collateral covers the debt (B1): bad debt where
            // g d > c x (k0 > x / (g lt)), collateral exhausted where g d (1 + b) / x >= c.
            let k_bad = x * k.inv_lt * inv_g;
            let k_cap = k_bad * k.inv_one_plus_bonus;
            let inv_x = 1.0 / x;
            let seize_per_usd = (1.0 + k.bonus) * inv_x;
            // [seized, fee, shortfall] over a..e, given the split points jb, jc.
            let sums = |a: usize, e: usize, jb: usize, jc: usize| -> [f64; 3] {
                let mut r = [0.0; 3];
                let (b0, b1) = (a, e.min(jb));
                if b0 < b1 {
                    let (c, d) = (book.coll_sum(b0, b1), g * book.debt_sum(b0, b1));
                    r[0] += c;
                    r[2] += d - x * c;
                }
                let (c0, c1) = (a.max(jb), e.min(jc));
                if c0 < c1 {
                    let (c, d) = (book.coll_sum(c0, c1), g * book.debt_sum(c0, c1));
                    r[0] += c;
                    r[1] += x * c - d;
                }
                let (n0, n1) = (a.max(jc), e);
                if n0 < n1 {
                    let d = g * book.debt_sum(n0, n1);
                    r[0] += d * seize_per_usd;
                    r[1] += k.bonus * d;
                }
                r
            };
            // `all_equity`: every position of the range has equity at p (see the ledger below).
            let (d_all, [seized, fee, shortfall], all_equity) = if book.liq0[j0] >= k_cap {
                let jb = book.split_above(j0, j1, k_bad);
                let jc = book.split_at_least(jb, j1, k_cap);
                (g * book.debt_sum(j0, j1), sums(j0, j1, jb, jc), false)
            } else {
                // The common case: no collateral runs out. (The next round's price waits for
                // `seized`: no multiplication by g = 1, and the price factor is formed before
                // the sum arrives.) Every key is below x / (g LT), so at p >= x every position
                // has equity.
                let sum = book.debt_sum(j0, j1);
                let d = if g == 1.0 { sum } else { g * sum };
                (d, [d * seize_per_usd, k.bonus * d, 0.0], p >= x)
            };
            let count = (j1 - j0) as u64;
            acc.exits += count;
            acc.fees += fee;
            acc.shortfall += shortfall;
            acc.seized += seized;
            if p != x {
                // The signed mispricing of every liquidation of the round.
                acc.oracle_loss += (p - x) * seized;
                if p > x {
                    // Wrongful: solvent at the true price, g k0 <= P.
                    let jw = book.split_above(j0, j1, p / g);
                    acc.wrongful += (j1 - jw) as u64;
                }
            }
            let kept = if k.protocol_fee > 0.0 {
                // The protocol keeps its share of the bonus instead of the liquidators.
                let kept = k.protocol_fee * fee * inv_x;
                self.st.acc.ledger.transfer(Party::Takers, Party::Protocol, kept * p);
                kept
            } else {
                0.0
            };
            // The round's bookings at the market price p (docs/MODEL.md, the bulk path's
            // ledger): the lender is repaid what the collateral covers, the borrowers keep what
            // is returned, the liquidators take the seized collateral for the repayment and
            // the protocol keeps its share. Borrowers' and lender's claims before the round:
            // `max(c p - g d, 0)` and `min(g d, c p)`, split at `k0 = p / (g LT)`.
            let coll = book.coll_sum(j0, j1);
            if all_equity {
                // Claims p C - g D and g D; the debt is repaid in full: the borrowers book
                // `g D - p S` and the liquidators `p S - g D` (summed at the end of the step).
                acc.repaid += d_all;
                acc.seized_value += seized * p;
            } else {
                let repaid = d_all - shortfall;
                let (to_borrower, to_lender) =
                    bulk_claims(book, j0..j1, p * k.inv_lt * inv_g, (g, p), (d_all, coll, seized, repaid));
                let acc = &mut self.st.acc;
                acc.ledger.borrower_usd += to_borrower;
                acc.ledger.lender_usd += to_lender;
                acc.ledger.takers_usd += seized * p - repaid;
                acc.lender_cash += repaid;
            }
            if events.enabled() {
                bulk_events(book, &k, (lt, g), (ctx.step as u32, rounds), j0..j1, (x, p), events);
            }
            acc.returned += coll - seized;
            cursor = j1;
            let sold = if k.protocol_fee > 0.0 { seized - kept } else { seized };
            acc.eth_sold += sold;
            if sold > 0.0 {
                if k.frontrun_share > 0.0 {
                    let s = market.sell_sandwiched(sold, k.frontrun_share);
                    acc.slippage += s.victim.slippage_usd;
                    acc.searcher += s.searcher_usd;
                } else {
                    acc.slippage += market.sell(sold).slippage_usd;
                }
            }
            rounds += 1;
            if last {
                // Whatever the sale made liquidatable waits too.
                acc.deferred += self.bulk_liquidatable(market, j_all) as u64;
                break;
            }
        }
        self.st.acc.add_bulk(&acc, &k, rounds);
        self.st.cursor = cursor;
        self.st.next_key = book.liq0[cursor];
        self.st.next_log_key = self.book.log_above[self.st.cursor];
    }

    /// Positions from `from` on that are liquidatable at the oracle price now (bulk path).
    #[cold]
    fn bulk_liquidatable(&self, market: &WorldMarket, from: usize) -> usize {
        let theta = market.oracle_price() / self.st.g;
        self.book.advance(from, theta) - from
    }
}
