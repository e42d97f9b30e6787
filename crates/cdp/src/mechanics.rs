//! The liquidation rules of each mechanism, as pure functions of one position's collateral `c`
//! (units), debt `d` (USD) and the price the liquidation uses.
//!
//! Each rule returns an [`Outcome`]: what leaves the position and where it goes, in units of the
//! collateral and in USD, so that [`crate::booking`] can book it in the ledger at the true market
//! price. The units balance (`seized + returned + redistributed + left in the position = c`) and
//! so do the USD flows (`takers_get - takers_pay + borrower + lender + protocol = 0`): the ledger's
//! conservation rests on it (tested as a property).
//!
//! The breakdown every rule also returns (docs/MODEL.md, The ledger of the CDP world):
//! `fee_usd`, the incentive the liquidation pays above the debt its takers take over, valued at
//! the liquidation's (oracle) price `x`; the units `priced` at `x` in it, so that the signed
//! mispricing of the liquidation is `priced (p - x)`; and `shortfall_usd`, the debt the position's
//! own collateral leaves unpaid. Sources are in docs/MODEL.md (The CDP model).

use crate::spec::{AbsorbParams, ClipParams, DirectParams, FlipParams, LiquityParams};

/// What one liquidation does to a position and who receives what.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Collateral taken from the position by liquidators, the protocol or the pool (units; not
    /// what is redistributed or returned).
    pub seized: f64,
    /// Of `seized`, the units the protocol keeps (Aave's fee share).
    pub to_protocol: f64,
    /// Of `seized`, the units sold on the market in the round (by the takers).
    pub sold: f64,
    /// USD paid to the lender against the debt (by the liquidator, the pool or the reserves).
    pub repaid_usd: f64,
    /// USD the takers pay (the liquidator's repayment, the pool's offset, the buyers' price).
    pub takers_pay_usd: f64,
    /// Flat USD the takers receive (Liquity's gas compensation).
    pub takers_get_usd: f64,
    /// USD to the borrower (Compound's surplus credit), negative for what it gives up (Liquity's
    /// gas reserve).
    pub borrower_usd: f64,
    /// USD to the protocol (negative: what its reserves pay).
    pub protocol_usd: f64,
    /// The incentive at the oracle's valuation, USD (see the module docs).
    pub fee_usd: f64,
    /// Units valued at the oracle price in `fee_usd`: the mispricing is `priced (p - x)`.
    pub priced: f64,
    /// Debt the position's own collateral leaves unpaid, USD.
    pub shortfall_usd: f64,
    /// Collateral given back to the owner when the position closes (units).
    pub returned: f64,
    /// Collateral left in the position (0 when closed).
    pub coll_after: f64,
    /// Debt left in the position, USD (0 when closed).
    pub debt_after: f64,
    /// Whether the position is closed.
    pub closed: bool,
    /// Collateral the liquidator receives (to value its profit).
    pub liquidator_coll: f64,
    /// Flat USD the liquidator receives.
    pub liquidator_usd_in: f64,
    /// USD the liquidator pays.
    pub liquidator_usd_out: f64,
    /// Liquity: collateral handed to the other positions.
    pub redistributed_coll: f64,
    /// Liquity: debt handed to the other positions, USD.
    pub redistributed_debt: f64,
}

/// A direct liquidation (generic and Aave v3.3) of `(c, d)` with threshold `lt` at oracle `x`.
///
/// Generic (benchmark B1): repay `r = cf d`, seize `s = r (1 + b) / x`. If `s >= c` the whole
/// position goes: seize `c`, repay `min(d, c x)`, bad debt `max(d - c x, 0)`, bonus
/// `max(c x - d, 0)`. If `cf = 1` and `s < c`, the debt is cleared and `c - s` returned.
///
/// Aave v3.3 (LiquidationLogic.sol): close factor `cf` when `c x >= partial_min`, `d >=
/// partial_min` and `HF > full_close_hf`, else 1. Repay `r = cf d`, seize `r (1 + b) / x`; if that
/// exceeds `c`, seize `c` and repay `c x / (1 + b)`, the rest of the debt is a deficit (bad debt).
/// A partial liquidation must leave at least `dust` USD of both collateral and debt, so the
/// liquidator then repays `min(r, (c x - dust) / (1 + b), d - dust)`; `None` when that is not
/// positive (no liquidation is possible).
///
/// Both: a partial liquidation must lower the debt (`d - r < d`: a repayment below the debt's
/// last digit is no liquidation). The liquidator pays `r` to the lender; the fee is the bonus
/// `s x - r`; the protocol
/// keeps `protocol_fee` of it in units (generic: `protocol_fee (s x - r) / x`, Aave:
/// `protocol_fee s b / (1 + b)`), the liquidator takes and sells the rest.
pub fn direct(p: &DirectParams, lt: f64, c: f64, d: f64, x: f64) -> Option<Outcome> {
    let b = p.bonus;
    let mut o = Outcome::default();
    match p.aave {
        None => {
            let cf = p.close_factor;
            let r = cf * d;
            let s = r * (1.0 + b) / x;
            if s >= c {
                let repaid = d.min(c * x);
                o.seized = c;
                o.repaid_usd = repaid;
                o.shortfall_usd = d - repaid;
                o.fee_usd = c * x - repaid;
                o.closed = true;
            } else if cf >= 1.0 {
                o.seized = s;
                o.repaid_usd = d;
                o.fee_usd = s * x - d;
                o.returned = c - s;
                o.closed = true;
            } else {
                o.seized = s;
                o.repaid_usd = r;
                o.fee_usd = s * x - r;
                o.coll_after = c - s;
                o.debt_after = d - r;
            }
            o.to_protocol = p.protocol_fee * o.fee_usd / x;
        }
        Some(a) => {
            let hf = c * x * lt / d;
            let cf = if c * x >= a.partial_min_usd && d >= a.partial_min_usd && hf > a.full_close_hf {
                p.close_factor
            } else {
                1.0
            };
            let mut r = cf * d;
            let mut s = r * (1.0 + b) / x;
            if s >= c {
                s = c;
                r = (c * x / (1.0 + b)).min(d);
            } else if r < d && ((c - s) * x < a.dust_usd || d - r < a.dust_usd) {
                r = r.min((c * x - a.dust_usd) / (1.0 + b)).min(d - a.dust_usd);
                if r.is_nan() || r <= 0.0 {
                    return None;
                }
                s = r * (1.0 + b) / x;
            }
            o.seized = s;
            o.repaid_usd = r;
            o.fee_usd = s * x - r;
            if s >= c {
                o.shortfall_usd = d - r;
                o.closed = true;
            } else if r >= d {
                o.returned = c - s;
                o.closed = true;
            } else {
                o.coll_after = c - s;
                o.debt_after = d - r;
            }
            o.to_protocol = p.protocol_fee * s * b / (1.0 + b);
        }
    }
    if !o.closed && !(o.debt_after < d) {
        // A repayment below the debt's last digit repays nothing (on chain, zero wei): no
        // liquidation.
        return None;
    }
    o.sold = o.seized - o.to_protocol;
    o.takers_pay_usd = o.repaid_usd;
    o.priced = o.seized;
    o.liquidator_coll = o.sold;
    o.liquidator_usd_out = o.repaid_usd;
    Some(o)
}

/// A Liquity liquidation (normal mode) of `(c, d)` at oracle `x`, market price `price` (the
/// value of the flat collateral compensation), with `pool_usd` in the stability pool.
///
/// The liquidator gets `gc = min(gas_comp_share c, gas_comp_cap_eth)` of the collateral plus
/// `gas_comp_usd + gas_comp_eth` units from the trove's gas reserve (the borrower's). The pool
/// absorbs `d_sp = min(d, pool)` of the debt (paying the lender) and takes `c1 d_sp / d` of the
/// remaining collateral `c1 = c - gc` (v2: at most `d_sp (1 + penalty_sp) / x`); the rest of the
/// debt and collateral (v2: at most `d_red (1 + penalty_redistribution) / x`) is redistributed
/// to the other troves; v2 returns the surplus to the borrower. The pool sells
/// `pool_sell_fraction` of its collateral. Fee: what the liquidator and the pool take above the
/// debt the pool pays, at `x`: `(gc + coll_sp + gas_comp_eth) x + gas_comp_usd - d_sp`.
/// Shortfall: `max(d - c x, 0)`, borne by the pool or the other troves.
pub fn liquity(p: &LiquityParams, c: f64, d: f64, x: f64, price: f64, pool_usd: f64) -> Outcome {
    let gc = (p.gas_comp_share * c).min(p.gas_comp_cap_eth);
    let c1 = c - gc;
    let d_sp = d.min(pool_usd.max(0.0));
    let frac = if d > 0.0 { d_sp / d } else { 1.0 };
    let d_red = d - d_sp;
    let (coll_sp, c_red) = match p.penalties {
        None => {
            let coll_sp = c1 * frac;
            (coll_sp, c1 - coll_sp)
        }
        Some(pen) => {
            let coll_sp = (c1 * frac).min(d_sp * (1.0 + pen.sp) / x);
            let c_red = (c1 * (1.0 - frac)).min(d_red * (1.0 + pen.redistribution) / x);
            (coll_sp, c_red)
        }
    };
    let returned = (c1 - coll_sp - c_red).max(0.0);
    let reserve_usd = p.gas_comp_usd + p.gas_comp_eth * price;
    let seized = gc + coll_sp;
    Outcome {
        seized,
        to_protocol: 0.0,
        sold: gc + p.pool_sell_fraction * coll_sp,
        repaid_usd: d_sp,
        takers_pay_usd: d_sp,
        takers_get_usd: reserve_usd,
        borrower_usd: -reserve_usd,
        protocol_usd: 0.0,
        fee_usd: (seized + p.gas_comp_eth) * x + p.gas_comp_usd - d_sp,
        priced: seized + p.gas_comp_eth,
        shortfall_usd: (d - c * x).max(0.0),
        returned,
        coll_after: 0.0,
        debt_after: 0.0,
        closed: true,
        liquidator_coll: gc,
        liquidator_usd_in: reserve_usd,
        liquidator_usd_out: 0.0,
        redistributed_coll: c_red,
        redistributed_debt: d_red,
    }
}

/// Compound v3 `absorb` of `(c, d)` at oracle `x` (Comet.sol): all collateral is seized, the
/// account is credited `c x LF`; a credit above the debt is returned to the borrower (in the
/// base asset); the reserves make the lender whole (`d`) and sell the collateral to buyers at the
/// store-front price `x q`, `q = 1 - SF (1 - LF)`, who sell it on the market. Fee: the buyers'
/// discount `c x (1 - q)`; the protocol's result is `c x q - d - surplus`; shortfall, the
/// reserves' net loss, `max(d + surplus - c x q, 0)`.
pub fn absorb(p: &AbsorbParams, c: f64, d: f64, x: f64) -> Outcome {
    let lf = p.liquidation_factor;
    let q = 1.0 - p.store_front_price_factor * (1.0 - lf);
    let surplus = (c * x * lf - d).max(0.0);
    let price_paid = c * x * q;
    Outcome {
        seized: c,
        sold: c,
        repaid_usd: d,
        takers_pay_usd: price_paid,
        borrower_usd: surplus,
        protocol_usd: price_paid - d - surplus,
        fee_usd: c * x - price_paid,
        priced: c,
        shortfall_usd: (d + surplus - price_paid).max(0.0),
        closed: true,
        liquidator_coll: c,
        liquidator_usd_out: price_paid,
        ..Outcome::default()
    }
}

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
    use crate::spec::{AaveRules, LiquityPenalties};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    macro_rules! check {
        ($got:expr, $want:expr) => {
            assert!(close($got, $want), "{} = {} != {}", stringify!($got), $got, $want)
        };
    }

    const GENERIC: DirectParams =
        DirectParams { bonus: 0.05, close_factor: 1.0, protocol_fee: 0.0, aave: None };
    const AAVE: DirectParams = DirectParams {
        bonus: 0.05,
        close_factor: 0.5,
        protocol_fee: 0.1,
        aave: Some(AaveRules { full_close_hf: 0.95, partial_min_usd: 2000.0, dust_usd: 1000.0 }),
    };

    #[test]
    fn generic_full_close_by_hand() {
        // c = 10, d = 24,000, x = 2,800, b = 5%: s = 24,000 x 1.05 / 2,800 = 9; bonus 1,200;
        // 1 unit returned.
        let o = direct(&GENERIC, 0.83, 10.0, 24_000.0, 2800.0).unwrap();
        check!(o.seized, 9.0);
        check!(o.sold, 9.0);
        check!(o.fee_usd, 1200.0);
        check!(o.returned, 1.0);
        check!(o.shortfall_usd, 0.0);
        assert!(o.closed);
        // Collateral short: x = 2,300: d (1 + b) / x = 10.957 > 10: seize 10, c x = 23,000 < d:
        // repaid 23,000, bad debt 1,000, bonus 0.
        let o = direct(&GENERIC, 0.83, 10.0, 24_000.0, 2300.0).unwrap();
        check!(o.seized, 10.0);
        check!(o.shortfall_usd, 1000.0);
        check!(o.fee_usd, 0.0);
        // Capped with a partial bonus: x = 2,400: c x = 24,000 + ... seize 10 (10.5 wanted),
        // c x = 24,000 = d: bonus 0; x = 2,450: bonus 24,500 - 24,000 = 500.
        let o = direct(&GENERIC, 0.83, 10.0, 24_000.0, 2450.0).unwrap();
        check!(o.fee_usd, 500.0);
        check!(o.shortfall_usd, 0.0);
        // Close factor 0.5 and a 10% protocol fee: r = 12,000, s = 12,600 / 2,800 = 4.5, bonus
        // 600, protocol keeps 60 / 2,800 units.
        let p = DirectParams { close_factor: 0.5, protocol_fee: 0.1, ..GENERIC };
        let o = direct(&p, 0.83, 10.0, 24_000.0, 2800.0).unwrap();
        check!(o.seized, 4.5);
        // A close factor of 1e-320 repays 2.4e-316: 24,000 - r = 24,000 exactly: no liquidation
        // (it would change nothing, again and again).
        assert!(direct(&DirectParams { close_factor: 1e-320, ..p }, 0.83, 10.0, 24_000.0, 2800.0).is_none());
        check!(o.sold, 4.5 - 60.0 / 2800.0);
        check!(o.coll_after, 5.5);
        check!(o.debt_after, 12_000.0);
        assert!(!o.closed);
    }

    #[test]
    fn aave_close_factor_dust_and_deficit_by_hand() {
        // c = 10, d = 24,000, x = 2,800: HF = 28,000 x 0.83 / 24,000 = 0.96833 > 0.95, both
        // >= $2,000: close factor 50%: repay 12,000, seize 12,600 / 2,800 = 4.5; the protocol
        // keeps 10% of the bonus collateral 4.5 x 0.05 / 1.05 = 0.2142857: 0.02142857.
        let o = direct(&AAVE, 0.83, 10.0, 24_000.0, 2800.0).unwrap();
        check!(o.repaid_usd, 12_000.0);
        check!(o.seized, 4.5);
        check!(o.fee_usd, 600.0);
        check!(o.sold, 4.5 - 0.021_428_571_428_571_43);
        check!(o.coll_after, 5.5);
        check!(o.debt_after, 12_000.0);
        // HF after: 5.5 x 2,800 x 0.83 / 12,000 = 1.06517 > 0.96833: it improved, since
        // HF > LT (1 + b) = 0.8715.
        check!(o.coll_after * 2800.0 * 0.83 / o.debt_after, 1.0651666666666666);
        // HF = 0.94 <= 0.95: close factor 100%: x = 24,000 x 0.94 / (10 x 0.83) = 2,718.07...
        let x = 24_000.0 * 0.94 / 8.3;
        let o = direct(&AAVE, 0.83, 10.0, 24_000.0, x).unwrap();
        check!(o.repaid_usd, 24_000.0);
        check!(o.seized, 25_200.0 / x);
        check!(o.returned, 10.0 - 25_200.0 / x);
        assert!(o.closed);
        // Deficit: x = 2,000: c x = 20,000 < 25,200 needed: seize all 10, repay 20,000 / 1.05 =
        // 19,047.619, bad debt 24,000 - 19,047.619 = 4,952.381, bonus 952.381.
        let o = direct(&AAVE, 0.83, 10.0, 24_000.0, 2000.0).unwrap();
        check!(o.seized, 10.0);
        check!(o.repaid_usd, 19_047.619047619047);
        check!(o.shortfall_usd, 4_952.380952380953);
        check!(o.fee_usd, 952.3809523809524);
        // Under $2,000 of debt: 100% even at HF 0.99: c = 1, d = 1,800, x = 2,168.67:
        // HF = 2,168.67 x 0.83 / 1,800 = 0.99999...
        let o = direct(&AAVE, 0.83, 1.0, 1800.0, 2168.0).unwrap();
        check!(o.repaid_usd, 1800.0);
        assert!(o.closed);
        // Dust: E-Mode lt 0.955, b 1%: c = 2.1, d = 4,000, x = 2,000: c x = 4,200, HF =
        // 1.00275 ... take x = 1,990: c x = 4,179, HF = 0.99774 > 0.95; 50%: r = 2,000,
        // s = 2,020 / 1,990 = 1.01508, leftover (2.1 - 1.01508) 1,990 = 2,159 >= 1,000: no dust
        // issue. With dust_usd = 2,100: r = min(2,000, (4,179 - 2,100) / 1.01, 4,000 - 2,100)
        // = min(2,000, 2,058.42, 1,900) = 1,900; s = 1,919 / 1,990 = 0.964322.
        let emode = DirectParams {
            bonus: 0.01,
            close_factor: 0.5,
            protocol_fee: 0.0,
            aave: Some(AaveRules { full_close_hf: 0.95, partial_min_usd: 2000.0, dust_usd: 2100.0 }),
        };
        let o = direct(&emode, 0.955, 2.1, 4000.0, 1990.0).unwrap();
        check!(o.repaid_usd, 1900.0);
        check!(o.seized, 1919.0 / 1990.0);
        check!(o.debt_after, 2100.0);
        // A dust rule that leaves nothing to repay: no liquidation.
        let stuck = DirectParams {
            aave: Some(AaveRules { full_close_hf: 0.95, partial_min_usd: 2000.0, dust_usd: 5000.0 }),
            ..emode
        };
        assert!(direct(&stuck, 0.955, 2.1, 4000.0, 1990.0).is_none());
    }

    #[test]
    fn repeated_partial_liquidations_improve_hf_only_above_lt_times_one_plus_bonus() {
        let p = DirectParams { aave: None, close_factor: 0.5, bonus: 0.05, protocol_fee: 0.0 };
        let lt = 0.83;
        for &(hf, improves) in &[(0.95, true), (0.88, true), (0.86, false), (0.6, false)] {
            let (c, x) = (10.0, 2000.0);
            let d = c * x * lt / hf;
            let o = direct(&p, lt, c, d, x).unwrap();
            if o.closed {
                assert!(!improves, "hf {hf}");
                continue;
            }
            let after = o.coll_after * x * lt / o.debt_after;
            // New HF = 2 HF - LT (1 + b) here (close factor 1/2).
            check!(after, 2.0 * hf - lt * 1.05);
            assert_eq!(after > hf, improves, "hf {hf} -> {after}");
        }
    }

    #[test]
    fn liquity_by_hand() {
        let v1 = LiquityParams {
            stability_pool_usd: None,
            pool_sell_fraction: 1.0,
            gas_comp_share: 0.005,
            gas_comp_cap_eth: f64::INFINITY,
            gas_comp_usd: 200.0,
            gas_comp_eth: 0.0,
            penalties: None,
        };
        // c = 10, d = 20,000, x = 2,100 (ICR 105%), pool 1,000,000: liquidator 0.05 units and
        // 200 USD; the pool pays 20,000 and takes 9.95 units; fee = 10 x 2,100 - 20,000 + 200 =
        // 1,200.
        let o = liquity(&v1, 10.0, 20_000.0, 2100.0, 2100.0, 1e6);
        check!(o.seized, 10.0);
        check!(o.sold, 10.0);
        check!(o.repaid_usd, 20_000.0);
        check!(o.fee_usd, 1200.0);
        check!(o.redistributed_coll, 0.0);
        // Pool of 5,000: it absorbs 5,000 and takes 9.95 / 4 = 2.4875; 7.4625 units and 15,000
        // of debt are redistributed. The takers' fee: 2.5375 x 2,100 + 200 - 5,000 = 528.75
        // (the other troves' gain, 7.4625 x 2,100 - 15,000 = 671.25, is the borrowers').
        let o = liquity(&v1, 10.0, 20_000.0, 2100.0, 2100.0, 5000.0);
        check!(o.seized, 0.05 + 2.4875);
        check!(o.redistributed_coll, 7.4625);
        check!(o.redistributed_debt, 15_000.0);
        check!(o.fee_usd, 528.75);
        check!(o.priced, 2.5375);
        // Units and USD balance: seized + redistributed + returned = c; the pool pays the lender.
        check!(o.seized + o.redistributed_coll + o.returned, 10.0);
        check!(o.takers_get_usd - o.takers_pay_usd + o.borrower_usd + o.repaid_usd + o.protocol_usd, 0.0);
        // v2: 5% via the pool: pool takes min(9.95, 21,000 / 2,100 = 10) = 9.95 (v1-like here);
        // at x = 2,150 (ICR 107.5%): the pool takes 21,000 / 2,150 = 9.76744, 0.18256 returned;
        // liquidator 0.05 units (cap 2) and 0.0375 units valued at 2,150 = 80.625 USD.
        let v2 = LiquityParams {
            gas_comp_cap_eth: 2.0,
            gas_comp_usd: 0.0,
            gas_comp_eth: 0.0375,
            penalties: Some(LiquityPenalties { sp: 0.05, redistribution: 0.10 }),
            ..v1
        };
        let o = liquity(&v2, 10.0, 20_000.0, 2150.0, 2150.0, 1e6);
        check!(o.seized, 0.05 + 21_000.0 / 2150.0);
        check!(o.returned, 9.95 - 21_000.0 / 2150.0);
        check!(o.fee_usd, 0.05 * 2150.0 + 1000.0 + 80.625);
        // Under water: x = 1,900 (c x = 19,000 < 20,000): bad debt 1,000, borne by the pool:
        // its depositors pay 20,000 for 9.95 x 1,900 = 18,905 (-1,095), the liquidator gets
        // 0.05 x 1,900 + 200 = 295: fee -800.
        let o = liquity(&v1, 10.0, 20_000.0, 1900.0, 1900.0, 1e6);
        check!(o.shortfall_usd, 1000.0);
        check!(o.fee_usd, -800.0);
    }

    #[test]
    fn compound_absorb_by_hand() {
        let p = AbsorbParams { liquidation_factor: 0.95, store_front_price_factor: 0.5 };
        // c = 10, d = 20,000, x = 2,300: credit 21,850, surplus 1,850 back to the borrower,
        // q = 0.975, the protocol sells for 22,425 >= 21,850: no shortfall; the buyers' discount
        // (the fee) is 23,000 - 22,425 = 575 and the protocol keeps 22,425 - 21,850 = 575.
        let o = absorb(&p, 10.0, 20_000.0, 2300.0);
        check!(o.seized, 10.0);
        check!(o.fee_usd, 575.0);
        check!(o.protocol_usd, 575.0);
        check!(o.borrower_usd, 1850.0);
        check!(o.shortfall_usd, 0.0);
        // x = 2,000: credit 19,000 < d: no surplus; sale 19,500 < 20,000: shortfall 500 (the
        // reserves' loss); fee 500 (the buyers' discount).
        let o = absorb(&p, 10.0, 20_000.0, 2000.0);
        check!(o.shortfall_usd, 500.0);
        check!(o.fee_usd, 500.0);
        check!(o.protocol_usd, -500.0);
    }

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
