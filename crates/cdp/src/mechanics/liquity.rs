//! Liquity v1 and v2: the stability pool, then redistribution.

use super::Outcome;
use crate::spec::LiquityParams;

/// USD the stability pool leaves untouched: 1 LUSD or BOLD, or all it holds when less
/// (StabilityPool `getMaxAmountToOffset` in liquity/dev, `MIN_BOLD_IN_SP` in liquity/bold).
pub const MIN_IN_POOL_USD: f64 = 1.0;

/// The pool's deposits available to offsets: `pool - min(1, pool)`.
#[inline]
pub fn pool_available(pool_usd: f64) -> f64 {
    let pool = pool_usd.max(0.0);
    pool - pool.min(MIN_IN_POOL_USD)
}

/// Where a trove's collateral and debt go: to the liquidator (`gc`), to the pool (`coll_sp`
/// for `d_sp` of debt), to the other troves (`c_red`, `d_red`), back to the borrower (`surplus`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Split {
    gc: f64,
    coll_sp: f64,
    d_sp: f64,
    c_red: f64,
    d_red: f64,
    surplus: f64,
}

/// A v2 share of collateral seized for a share of debt under a penalty
/// (TroveManager `_getCollPenaltyAndSurplus`): at most `debt (1 + penalty) / x`, the rest surplus.
#[inline]
fn penalty_and_surplus(coll: f64, debt: f64, penalty: f64, x: f64) -> (f64, f64) {
    let max_seized = debt * (1.0 + penalty) / x;
    if coll > max_seized {
        (max_seized, coll - max_seized)
    } else {
        (coll, 0.0)
    }
}

/// A Liquity liquidation in normal mode of `(c, d)` at oracle `x`, market price `price` (the
/// value of the flat collateral compensation), with `pool_avail` of the pool available to
/// offsets ([`pool_available`]).
///
/// v1 (liquity/dev TroveManager `_liquidateNormalMode`, `_getOffsetAndRedistributionVals`): the
/// liquidator gets `gc = gas_comp_share c`; the pool absorbs `d_sp = min(d, pool)` of the debt
/// and takes `(c - gc) d_sp / d`; the rest of the debt and collateral is redistributed to the
/// other troves.
///
/// v2 (liquity/bold TroveManager `_getOffsetAndRedistributionVals`): the pool's portion of the
/// collateral is `c d_sp / d`, of which the liquidator gets `min(gas_comp_share portion,
/// gas_comp_cap_eth)` and the pool at most `d_sp (1 + penalty_sp) / x`; the rest of the
/// collateral, plus the pool portion's surplus, goes to the redistribution, at most `d_red (1 +
/// penalty_redistribution) / x`; what is left is the borrower's (`collSurplus`). Without the
/// pool, no collateral goes to the liquidator.
///
/// Both: the liquidator also gets `gas_comp_usd + gas_comp_eth` units from the trove's gas
/// reserve (the borrower's). See [`outcome`] for the breakdown.
pub fn liquity(p: &LiquityParams, c: f64, d: f64, x: f64, price: f64, pool_avail: f64) -> Outcome {
    let d_sp = d.min(pool_avail.max(0.0));
    let split = match p.penalties {
        None => {
            let gc = p.gas_comp_share * c;
            let c1 = c - gc;
            let coll_sp = if d > 0.0 { c1 * d_sp / d } else { c1 };
            Split { gc, coll_sp, d_sp, c_red: c1 - coll_sp, d_red: d - d_sp, surplus: 0.0 }
        }
        Some(pen) => {
            let (mut gc, mut coll_sp, mut portion, mut surplus) = (0.0, 0.0, 0.0, 0.0);
            if d_sp > 0.0 {
                portion = c * d_sp / d;
                gc = (p.gas_comp_share * portion).min(p.gas_comp_cap_eth);
                (coll_sp, surplus) = penalty_and_surplus(portion - gc, d_sp, pen.sp, x);
            }
            let d_red = d - d_sp;
            let mut c_red = 0.0;
            if d_red > 0.0 && c - portion > 0.0 {
                // The pool portion's surplus can be eaten up by the redistribution's penalty.
                (c_red, surplus) = penalty_and_surplus(c - portion + surplus, d_red, pen.redistribution, x);
            }
            Split { gc, coll_sp, d_sp, c_red, d_red, surplus }
        }
    };
    outcome(p, c, d, x, price, split)
}

/// A Liquity v1 liquidation in recovery mode (TCR < CCR; liquity/dev TroveManager
/// `_liquidateRecoveryMode`) of `(c, d)` at oracle `x` with ICR `c x / d`, the system's `tcr`
/// now and `pool_avail` of the pool available:
///
/// * ICR <= 100%: all of it is redistributed (the liquidator's `gc = gas_comp_share c` aside);
/// * 100% < ICR < MCR: as in normal mode;
/// * MCR <= ICR < TCR, when the pool covers the whole debt: the pool offsets it and takes
///   collateral worth `d MCR` at `x` (`_getCappedOffsetVals`), of which the liquidator gets
///   `gas_comp_share`; the rest of the collateral is the borrower's surplus (claimable);
/// * otherwise `None`: not liquidated.
#[allow(clippy::too_many_arguments)]
pub fn liquity_recovery(
    p: &LiquityParams,
    mcr: f64,
    c: f64,
    d: f64,
    x: f64,
    price: f64,
    pool_avail: f64,
    tcr: f64,
) -> Option<Outcome> {
    let icr = c * x / d;
    if icr <= 1.0 {
        let gc = p.gas_comp_share * c;
        let split = Split { gc, c_red: c - gc, d_red: d, ..Split::default() };
        Some(outcome(p, c, d, x, price, split))
    } else if icr < mcr {
        Some(liquity(p, c, d, x, price, pool_avail))
    } else if icr < tcr && d <= pool_avail {
        let capped = d * mcr / x;
        let gc = p.gas_comp_share * capped;
        let split = Split { gc, coll_sp: capped - gc, d_sp: d, surplus: c - capped, ..Split::default() };
        Some(outcome(p, c, d, x, price, split))
    } else {
        None
    }
}

/// The outcome of a split. Fee: what the liquidator and the pool take above the debt the pool
/// pays, at `x`: `(gc + coll_sp + gas_comp_eth) x + gas_comp_usd - d_sp` (negative when the pool
/// absorbs bad debt). Shortfall: `max(d - c x, 0)`, borne by the pool or the other troves. The
/// pool sells `pool_sell_fraction` of what it takes.
fn outcome(p: &LiquityParams, c: f64, d: f64, x: f64, price: f64, s: Split) -> Outcome {
    let reserve_usd = p.gas_comp_usd + p.gas_comp_eth * price;
    let seized = s.gc + s.coll_sp;
    Outcome {
        seized,
        to_protocol: 0.0,
        sold: s.gc + p.pool_sell_fraction * s.coll_sp,
        repaid_usd: s.d_sp,
        takers_pay_usd: s.d_sp,
        takers_get_usd: reserve_usd,
        borrower_usd: -reserve_usd,
        protocol_usd: 0.0,
        fee_usd: (seized + p.gas_comp_eth) * x + p.gas_comp_usd - s.d_sp,
        priced: seized + p.gas_comp_eth,
        shortfall_usd: (d - c * x).max(0.0),
        returned: s.surplus,
        coll_after: 0.0,
        debt_after: 0.0,
        closed: true,
        liquidator_coll: s.gc,
        liquidator_usd_in: reserve_usd,
        liquidator_usd_out: 0.0,
        redistributed_coll: s.c_red,
        redistributed_debt: s.d_red,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LiquityPenalties;

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
            ccr: Some(1.5),
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

    fn v1() -> LiquityParams {
        LiquityParams {
            stability_pool_usd: None,
            pool_sell_fraction: 1.0,
            gas_comp_share: 0.005,
            gas_comp_cap_eth: f64::INFINITY,
            gas_comp_usd: 200.0,
            gas_comp_eth: 0.0,
            penalties: None,
            ccr: Some(1.5),
        }
    }

    fn v2() -> LiquityParams {
        LiquityParams {
            gas_comp_cap_eth: 2.0,
            gas_comp_usd: 0.0,
            gas_comp_eth: 0.0375,
            penalties: Some(LiquityPenalties { sp: 0.05, redistribution: 0.10 }),
            ccr: None,
            ..v1()
        }
    }

    #[test]
    fn the_pool_keeps_one_unit() {
        assert_eq!(pool_available(5001.0), 5000.0);
        assert_eq!(pool_available(0.4), 0.0);
        assert_eq!(pool_available(0.0), 0.0);
    }

    #[test]
    fn v2_passes_the_pools_surplus_on_to_the_redistribution() {
        // c = 10, d = 20,000, x = 2,150 (ICR 107.5%), 5,000 in the pool: its portion is 10 x
        // 5,000 / 20,000 = 2.5, of which the liquidator gets 2.5 / 200 = 0.0125; the pool takes at
        // most 5,000 x 1.05 / 2,150 = 2.44186 of the other 2.4875: a surplus of 0.04564. The
        // redistribution gets the other 7.5 units plus that surplus, at most 15,000 x 1.1 / 2,150
        // = 7.67442: all 7.54564; nothing is left for the borrower (the surplus is eaten up).
        let o = liquity(&v2(), 10.0, 20_000.0, 2150.0, 2150.0, 5000.0);
        check!(o.liquidator_coll, 0.0125);
        check!(o.seized, 0.0125 + 5250.0 / 2150.0);
        check!(o.redistributed_coll, 7.5 + (2.4875 - 5250.0 / 2150.0));
        check!(o.redistributed_debt, 15_000.0);
        check!(o.returned, 0.0);
        // At 2,190 (ICR 109.5%): the pool takes 5,250 / 2,190 = 2.39726 (surplus 0.09024); the
        // redistribution at most 16,500 / 2,190 = 7.53425 of 7.59024: the borrower gets 0.05599.
        let o = liquity(&v2(), 10.0, 20_000.0, 2190.0, 2190.0, 5000.0);
        check!(o.seized, 0.0125 + 5250.0 / 2190.0);
        check!(o.redistributed_coll, 16_500.0 / 2190.0);
        check!(o.returned, 10.0 - 0.0125 - 5250.0 / 2190.0 - 16_500.0 / 2190.0);
        check!(o.seized + o.redistributed_coll + o.returned, 10.0);
        // Without the pool, no collateral goes to the liquidator: all 10 units, at most 22,000 /
        // 2,190 = 10.0457, go to the other troves.
        let o = liquity(&v2(), 10.0, 20_000.0, 2190.0, 2190.0, 0.0);
        check!(o.liquidator_coll, 0.0);
        check!(o.redistributed_coll, 10.0);
    }

    #[test]
    fn v1_recovery_mode_by_hand() {
        let (mcr, x, pool) = (1.1, 1000.0, 1e6);
        // ICR 120% (10 units, 8,333.33) below a TCR of 141.5%: the pool offsets the whole debt
        // and takes 8,333.33 x 1.1 / 1,000 = 9.16667 units, 0.5% of them (0.045833) the
        // liquidator's; the borrower keeps 0.83333 (claimable). Fee: 833.33 + 200.
        let d = 10_000.0 / 1.2;
        let o = liquity_recovery(&v1(), mcr, 10.0, d, x, x, pool, 1.415).unwrap();
        check!(o.seized, d * 1.1 / 1000.0);
        check!(o.liquidator_coll, 0.005 * d * 1.1 / 1000.0);
        check!(o.returned, 10.0 - d * 1.1 / 1000.0);
        check!(o.repaid_usd, d);
        check!(o.fee_usd, 0.1 * d + 200.0);
        check!(o.redistributed_coll, 0.0);
        // The same trove above the TCR, or with a pool short of its debt: not liquidated.
        assert!(liquity_recovery(&v1(), mcr, 10.0, d, x, x, pool, 1.19).is_none());
        assert!(liquity_recovery(&v1(), mcr, 10.0, d, x, x, 8000.0, 1.415).is_none());
        // ICR 105%: as in normal mode.
        let o = liquity_recovery(&v1(), mcr, 10.0, 10_000.0 / 1.05, x, x, pool, 1.3).unwrap();
        assert_eq!(o, liquity(&v1(), 10.0, 10_000.0 / 1.05, x, x, pool));
        // ICR 95%: all redistributed, the pool untouched.
        let o = liquity_recovery(&v1(), mcr, 10.0, 10_000.0 / 0.95, x, x, pool, 1.3).unwrap();
        check!(o.repaid_usd, 0.0);
        check!(o.redistributed_coll, 9.95);
        check!(o.redistributed_debt, 10_000.0 / 0.95);
    }
}
