//! Maker's auctions: flip (Liquidations 1.0, March 2020) and clip (Liquidations 2.0) in the
//! contract's own time.

use crate::spec::{ClipParams, FlipParams};

/// The keepers of a flip auction: each of `keepers` fails independently with probability
/// `1 - exp(-k / kappa)`, `k` the flip auctions in flight (congestion).
#[inline]
pub fn flip_failure_probability(p: &FlipParams, in_flight: usize) -> f64 {
    1.0 - (-(in_flight as f64) / p.congestion_auctions).exp()
}

/// The settlement of an auction: what the winner takes and pays.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Settlement {
    /// Collateral the winner takes (and sells).
    pub taken: f64,
    /// DAI raised, USD.
    pub raised_usd: f64,
}

/// A flip auction of `lot` units for `tab` DAI settled at market price `price` with `working`
/// keepers: with at least one working keeper the bids rise to `min(tab, lot price (1 - m))`
/// (tend) and, once the tab is covered, the lot falls to `tab / (price (1 - m))` (dent); with
/// none, a lone bid of `lone_bid_fraction x lot x price` wins the whole lot (Black Thursday).
pub fn flip_settle(p: &FlipParams, lot: f64, tab: f64, price: f64, working: u32) -> Settlement {
    if working == 0 {
        return Settlement { taken: lot, raised_usd: p.lone_bid_fraction * lot * price };
    }
    let unit = price * (1.0 - p.keeper_margin);
    let value = lot * unit;
    if value >= tab && unit > 0.0 {
        Settlement { taken: (tab / unit).min(lot), raised_usd: tab }
    } else {
        Settlement { taken: lot, raised_usd: value }
    }
}

/// What a clip auction does next within a window of time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClipStep {
    /// A keeper takes at price step `k` (price `top cut^k`) at time `at_s`.
    Take {
        /// Price step index.
        k: f64,
        /// Auction price, USD per unit.
        price: f64,
        /// When, seconds.
        at_s: f64,
    },
    /// The auction is done (past `tail`, or its price under `cusp top`) at `at_s` without a
    /// taker: a keeper resets it then (`redo`).
    Reset {
        /// When, seconds.
        at_s: f64,
    },
    /// Nothing within the window.
    Wait,
}

/// The clip price at age `age_s`: `top x cut^floor(age / step)` (abaci.sol,
/// `StairstepExponentialDecrease.price`).
#[inline]
pub fn clip_price(p: &ClipParams, top: f64, age_s: f64) -> f64 {
    top * p.cut.powf(price_step(p, age_s))
}

/// The price step at age `age_s`, `floor(age / step)`.
#[inline]
fn price_step(p: &ClipParams, age_s: f64) -> f64 {
    (age_s / p.step_seconds).floor()
}

/// The last price step whose price is not below `cusp top`: the largest `k` with `cut^k >=
/// cusp`.
pub fn clip_last_step(p: &ClipParams) -> f64 {
    let mut k = (p.cusp.ln() / p.cut.ln()).floor();
    // Guard the floor against rounding, a step either way.
    if p.cut.powf(k) < p.cusp {
        k -= 1.0;
    } else if p.cut.powf(k + 1.0) >= p.cusp {
        k += 1.0;
    }
    k.max(0.0)
}

/// The first price step whose price `top cut^k` is at or below `threshold` (infinite when the
/// threshold is not positive).
pub fn clip_first_step_at_or_below(p: &ClipParams, top: f64, threshold: f64) -> f64 {
    if threshold >= top {
        return 0.0;
    }
    if !(threshold > 0.0) {
        return f64::INFINITY;
    }
    let mut k = ((threshold / top).ln() / p.cut.ln()).ceil().max(0.0);
    // Guard the ceiling against rounding, a step either way.
    if k > 0.0 && top * p.cut.powf(k - 1.0) <= threshold {
        k -= 1.0;
    } else if top * p.cut.powf(k) > threshold {
        k += 1.0;
    }
    k
}

/// What a clip auction started (`tic_s`, seconds) at price `top` does within the window
/// `(from_s, to_s]` when keepers buy at or below `threshold` (the market price of the window
/// times `1 - keeper_margin`), in the contract's own time (makerdao/dss clip.sol, abaci.sol):
///
/// * the price at time `t` is `top cut^floor((t - tic) / step)`;
/// * the auction is done (`status`) when `t - tic > tail` or the price is below `cusp top`:
///   from `tic + tail` (just after) or from the first step past the cusp, whichever comes first;
/// * a keeper takes at the earliest time of the window at which the price is at or below the
///   threshold and the auction is not done: price step `k = max(k_from, k_cross)` (`k_from` the
///   step in force at the window's start, `k_cross` the first step at or below the threshold),
///   at `max(from, tic + k step)`;
/// * otherwise, if the auction is done within the window (or already at its start), a keeper
///   resets it then.
pub fn clip_next(p: &ClipParams, top: f64, tic_s: f64, from_s: f64, to_s: f64, threshold: f64) -> ClipStep {
    let tail_s = p.tail_minutes * 60.0;
    let k_cusp = clip_last_step(p);
    let age_from = (from_s - tic_s).max(0.0);
    let k_from = price_step(p, age_from);
    if age_from > tail_s || k_from > k_cusp {
        return ClipStep::Reset { at_s: from_s };
    }
    let k = k_from.max(clip_first_step_at_or_below(p, top, threshold));
    if k <= k_cusp {
        let at_s = from_s.max(tic_s + k * p.step_seconds);
        if at_s - tic_s <= tail_s && at_s <= to_s {
            return ClipStep::Take { k, price: top * p.cut.powf(k), at_s };
        }
    }
    // Done from the first step past the cusp, or just after the tail.
    let (t_cusp, t_tail) = (tic_s + (k_cusp + 1.0) * p.step_seconds, tic_s + tail_s);
    let done =
        if t_cusp <= t_tail { (t_cusp <= to_s).then_some(t_cusp) } else { (t_tail < to_s).then_some(t_tail) };
    match done {
        Some(at_s) => ClipStep::Reset { at_s: at_s.max(from_s) },
        None => ClipStep::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_by_hand() {
        let p = FlipParams {
            chop: 0.13,
            keeper_margin: 0.03,
            ttl_minutes: 10.0,
            keepers: 3,
            congestion_auctions: 20.0,
            lone_bid_fraction: 0.0,
        };
        // Lot 10 at 150 = 1,500 of value, tab 1,130: keepers pay the tab and take 1,130 /
        // (150 x 0.97) = 7.7663 units (dent).
        let s = flip_settle(&p, 10.0, 1130.0, 150.0, 2);
        check!(s.raised_usd, 1130.0);
        check!(s.taken, 1130.0 / 145.5);
        // Lot worth less than the tab: 10 x 100 x 0.97 = 970 raised for the whole lot.
        let s = flip_settle(&p, 10.0, 1130.0, 100.0, 1);
        check!(s.raised_usd, 970.0);
        check!(s.taken, 10.0);
        // No keeper: a zero bid wins everything.
        let s = flip_settle(&p, 10.0, 1130.0, 100.0, 0);
        assert_eq!((s.taken, s.raised_usd), (10.0, 0.0));
        // Congestion: 20 auctions in flight with kappa 20: 1 - e^-1 = 0.6321.
        check!(flip_failure_probability(&p, 20), 0.6321205588285577);
    }

    #[test]
    fn clip_schedule_by_hand() {
        let p = ClipParams {
            chop: 0.13,
            keeper_margin: 0.01,
            buf: 1.2,
            cut: 0.99,
            step_seconds: 90.0,
            tail_minutes: 90.0,
            cusp: 0.4,
            tip_usd: 300.0,
            chip: 0.001,
        };
        // top = 1.2 x 2,000 = 2,400; after 1 h: 40 steps: 2,400 x 0.99^40 = 1,605.8.
        check!(clip_price(&p, 2400.0, 3600.0), 2400.0 * 0.99f64.powi(40));
        // Keeper threshold 2,000 x 0.99 = 1,980: first step with 2,400 x 0.99^k <= 1,980:
        // k = ceil(ln(0.825) / ln(0.99)) = ceil(19.14) = 20 (price 1,963.1), 30 min after the
        // kick: taken in a window that holds that moment, at that moment.
        assert_eq!(clip_first_step_at_or_below(&p, 2400.0, 1980.0), 20.0);
        assert_eq!(
            clip_next(&p, 2400.0, 0.0, 0.0, 3600.0, 1980.0),
            ClipStep::Take { k: 20.0, price: 2400.0 * 0.99f64.powi(20), at_s: 1800.0 }
        );
        assert_eq!(clip_next(&p, 2400.0, 0.0, 0.0, 1500.0, 1980.0), ClipStep::Wait);
        // A window that starts later (steps up to 33 already seen at a higher threshold) takes at
        // the step in force at its start, 33, at its start.
        assert_eq!(
            clip_next(&p, 2400.0, 0.0, 3000.0, 3600.0, 1980.0),
            ClipStep::Take { k: 33.0, price: 2400.0 * 0.99f64.powi(33), at_s: 3000.0 }
        );
        // cusp: 0.99^k >= 0.4 for k <= 91 (0.99^91 = 0.4007, 0.99^92 = 0.3967); tail 90 min = 60
        // steps. A threshold of 0.3 top is never reached before the tail: done just after
        // 5,400 s, reset then, whatever the window.
        assert_eq!(clip_last_step(&p), 91.0);
        assert_eq!(clip_next(&p, 2400.0, 0.0, 3600.0, 5400.0, 720.0), ClipStep::Wait);
        assert_eq!(clip_next(&p, 2400.0, 0.0, 3600.0, 7200.0, 720.0), ClipStep::Reset { at_s: 5400.0 });
        assert_eq!(clip_next(&p, 2400.0, 0.0, 6000.0, 7200.0, 720.0), ClipStep::Reset { at_s: 6000.0 });
        // A take at age exactly tail (step 60) is still allowed (done only when age > tail).
        assert_eq!(
            clip_next(&p, 2400.0, 0.0, 3600.0, 5400.0, 2400.0 * 0.99f64.powi(60)),
            ClipStep::Take { k: 60.0, price: 2400.0 * 0.99f64.powi(60), at_s: 5400.0 }
        );
        // With a long tail, cusp binds: the lowest price is at step 91 (0.4007 top), never
        // below cusp x top = 960; the auction is done from step 92 (8,280 s).
        let long = ClipParams { tail_minutes: 1000.0, ..p };
        assert_eq!(clip_next(&long, 2400.0, 0.0, 0.0, 8279.0, 950.0), ClipStep::Wait);
        assert_eq!(clip_next(&long, 2400.0, 0.0, 0.0, 9000.0, 950.0), ClipStep::Reset { at_s: 8280.0 });
        assert_eq!(
            clip_next(&long, 2400.0, 0.0, 7200.0, 9000.0, 961.7),
            ClipStep::Take { k: 91.0, price: 2400.0 * 0.99f64.powi(91), at_s: 8190.0 }
        );
        // Extreme parameters stay finite: a cut a hair under 1 never reaches a low threshold
        // before the tail; a step of 5e-324 s is past the cusp at once.
        let slow = ClipParams { cut: 1.0 - f64::EPSILON / 2.0, ..p };
        assert_eq!(clip_next(&slow, 2400.0, 0.0, 0.0, 7200.0, 1000.0), ClipStep::Reset { at_s: 5400.0 });
        let fast = ClipParams { step_seconds: 5e-324, ..p };
        assert_eq!(
            clip_next(&fast, 2400.0, 0.0, 0.0, 10.0, 1000.0),
            ClipStep::Take { k: 88.0, price: 2400.0 * 0.99f64.powi(88), at_s: 88.0 * 5e-324 }
        );
    }
}
