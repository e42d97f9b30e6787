//! Liquity v1 and v2: the stability pool, then redistribution.

use super::Outcome;
use crate::spec::LiquityParams;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LiquityPenalties;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    macro_rules! check {
        ($got:expr, $want:expr) => {
            assert!(close($got, $want), "{} = {} != {}", stringify!($got), $got, $want)
        };
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
}
