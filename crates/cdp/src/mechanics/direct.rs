//! Direct liquidations: the generic preset (benchmark B1) and Aave v3.3.

use super::Outcome;
use crate::spec::DirectParams;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::AaveRules;

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
}
