//! Compound v3: `absorb` and the store-front sale.

use super::Outcome;
use crate::spec::AbsorbParams;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
