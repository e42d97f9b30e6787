//! The ledger of the CDP world on hand-computed cases: who gains and who loses on each event,
//! at the true market price, with the breakdown columns beside it.

use super::{cohort, env, run_returns, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{BadPrint, EventKind, Ledger, Liquidity};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

macro_rules! check {
    ($got:expr, $want:expr) => {
        assert!(close($got, $want), "{} = {} != {}", stringify!($got), $got, $want)
    };
}

/// Checks the six party columns (borrower, lender, protocol, takers, market, validators) and
/// that they balance.
fn check_parties(l: &Ledger, want: [f64; 6]) {
    let got = [l.borrower_usd, l.lender_usd, l.protocol_usd, l.takers_usd, l.market_usd, l.validators_usd];
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, w), "party {i}: {g} != {w} ({l:?})");
    }
    assert!(l.balances(1e-9), "{l:?}");
}

/// An oracle that prints `error` from the start for 1,000 hours.
fn bad_print(error: f64) -> BadPrint {
    BadPrint { start_hours: 0.0, ramp_in_hours: 0.0, hold_hours: 1000.0, ramp_out_hours: 0.0, error }
}

#[test]
fn aave_bad_debt_is_the_liquidators_gain_once_not_twice() {
    // 1 ETH against 2,300 of debt; the price falls from 3,000 to 2,400: HF = 2,400 x 0.83 / 2,300
    // = 0.866 <= 0.95, so the close factor is 100%; 2,300 x 1.05 / 2,400 = 1.00625 ETH is more
    // than there is: all 1 ETH goes for 2,400 / 1.05 = 2,285.71 repaid, 14.29 unpaid.
    let mut spec = CdpSpec::preset(Protocol::AaveV3);
    spec.protocol_fee = Some(0.0);
    let mut w = CdpWorld::new(&spec, &cohort(&[(1.0, 2300.0)]), &env(3000.0, HOUR, 1)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 3000.0, HOUR, &[(2400.0f64 / 3000.0).ln()], |_, _, _| {});
    assert_eq!(ev.len(), 1);
    // The liquidator gains 114.29: the borrower's 100 of equity and 14.29 of the lender's claim.
    check_parties(&ev[0].ledger, [-100.0, -14.285714285714285, 0.0, 114.28571428571428, 0.0, 0.0]);
    check_parties(&m.ledger, [-100.0, -14.285714285714285, 0.0, 114.28571428571428, 0.0, 0.0]);
    // The breakdown: the bonus at the oracle (114.29, the whole cost) and the debt left unpaid
    // (14.29, the lender's part of it): a total is the ledger's cost, never their sum.
    check!(m.fees_usd, 114.28571428571428);
    check!(m.shortfall_usd, 14.285714285714285);
    check!(m.oracle_loss_usd, 0.0);
    check!(m.ledger.cost(), 114.28571428571428);
    // No market move after the event: each side's result is its column.
    check!(m.borrower_pnl_usd, -(3000.0 - 2300.0));
    check!(m.borrower_pnl_usd - (2400.0 - 3000.0), m.ledger.borrower_usd);
    check!(m.lender_pnl_usd, m.ledger.lender_usd);
}

#[test]
fn aave_partial_liquidation_with_a_protocol_fee() {
    // 10 ETH against 24,000 at 2,800 (HF 0.96833 > 0.95, both sides >= $2,000): the close factor
    // is 50%. The liquidator repays 12,000 and seizes 12,600 / 2,800 = 4.5 ETH; the protocol keeps
    // 10% of the bonus units, 4.5 x 0.05 / 1.05 x 0.1 = 0.0214286 ETH (60 USD); the liquidator
    // takes the rest (4.4785714 ETH = 12,540) for 12,000: +540. The borrower's equity goes
    // from 28,000 - 24,000 = 4,000 to 5.5 x 2,800 - 12,000 = 3,400: -600. The lender: 24,000 of
    // claim, then 12,000 paid and 12,000 of claim: 0. HF after: 1.0652: one liquidation.
    let spec = CdpSpec::preset(Protocol::AaveV3);
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 24_000.0)]), &env(3000.0, HOUR, 2)).unwrap();
    let (m, ev) = run_returns(
        &mut w,
        &spec,
        Liquidity::None,
        3000.0,
        HOUR,
        &[(2800.0f64 / 3000.0).ln(), 0.0],
        |_, _, _| {},
    );
    assert_eq!(ev.len(), 1);
    check!(ev[0].eth, 4.5);
    check!(ev[0].usd, 12_000.0);
    check!(ev[0].fee_usd, 600.0);
    check_parties(&ev[0].ledger, [-600.0, 0.0, 60.0, 540.0, 0.0, 0.0]);
    check!(m.fees_usd, 600.0);
    check!(m.eth_sold, 4.5 - 60.0 / 2800.0);
    check!(w.positions()[0].collateral, 5.5);
    check!(w.positions()[0].debt_usd, 12_000.0);
    // Results at 2,800: the borrower 3,400 - 6,000 (its equity at 3,000); the lender whole.
    check!(m.borrower_pnl_usd, 3400.0 - 6000.0);
    check!(m.lender_pnl_usd, 0.0);
}

#[test]
fn maker_2021_take_after_a_low_print() {
    // A vault of 10 ETH and 1,000 DAI on a flat market at 200; the oracle prints 30% low (140):
    // the vault is unsafe (10 x 140 / 1.5 = 933 < 1,000) and barked: tab 1,130, top 1.2 x 140 =
    // 168; the keeper who barks gets tip + chip = 300 + 1.13 = 301.13 from the protocol. The
    // auction's first price, 168, is below the market (200 x 0.99): a keeper takes 1,130 / 168
    // = 6.72619 ETH (worth 1,345.24) for 1,130; 3.27381 ETH go back.
    let mut spec = CdpSpec::preset(Protocol::Maker2021);
    spec.oracle_errors.push(bad_print(-0.3));
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(200.0, HOUR, 3)).unwrap();
    let (m, ev) = run_returns(&mut w, &spec, Liquidity::None, 200.0, HOUR, &[0.0; 3], |_, _, _| {});
    let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Liquidation, EventKind::Auction]);
    let taken = 1130.0 / 168.0;
    check!(ev[1].eth, taken);
    // The borrower loses 345.24: the keeper's discount 215.24 and the chop 130. The protocol
    // pays 301.13 of tip and chip and earns the chop; the takers gain 516.37.
    let discount = taken * 200.0 - 1130.0;
    check!(discount, 215.23809523809524);
    check_parties(&ev[0].ledger, [-130.0, 0.0, 130.0 - 301.13, 301.13, 0.0, 0.0]);
    check_parties(&ev[1].ledger, [-discount, 0.0, 0.0, discount, 0.0, 0.0]);
    check_parties(&m.ledger, [-345.23809523809524, 0.0, -171.13, 516.3680952380952, 0.0, 0.0]);
    // The breakdown, each once: the incentive at the oracle (tip and chip, and the keeper's
    // discount valued at 140: 6.72619 x 140 - 1,130 = -188.33) and the mispricing of what the
    // keeper took, 6.72619 x (200 - 140) = 403.57; together the takers' 516.37.
    check!(m.fees_usd, 301.13 + taken * 140.0 - 1130.0);
    check!(m.oracle_loss_usd, taken * 60.0);
    check!(m.fees_usd + m.oracle_loss_usd, m.ledger.takers_usd);
    assert_eq!(m.wrongful_exits, 1);
    check!(m.shortfall_usd, 0.0);
    // Flat market: each side's result is its column.
    check!(m.borrower_pnl_usd, m.ledger.borrower_usd);
    check!(m.lender_pnl_usd, m.ledger.lender_usd);
}

#[test]
fn an_insolvent_position_sold_on_a_bad_print_still_carries_its_mispricing() {
    // Generic, 10 ETH against 20,000 at a true 1,900 (insolvent: 19,000 < 20,000), the oracle
    // 10% low (1,710): seize everything for 17,100 of repayment (c x < d), 2,900 unpaid. The
    // liquidation is not wrongful (insolvent at the true price) but it still sells 10 ETH at
    // 1,710 that are worth 1,900: oracle_loss = 10 x 190 = 1,900.
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.oracle_errors.push(bad_print(-0.1));
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 20_000.0)]), &env(1900.0, HOUR, 1)).unwrap();
    let (m, _) = run_returns(&mut w, &spec, Liquidity::None, 1900.0, HOUR, &[0.0], |_, _, _| {});
    assert_eq!((m.exits, m.wrongful_exits), (1, 0));
    check!(m.oracle_loss_usd, 1900.0);
    check!(m.fees_usd, 0.0);
    check!(m.shortfall_usd, 2900.0);
    // The liquidator gains 1,900: from the lender, whose claim was the 19,000 the collateral
    // was worth and who is paid 17,100.
    check_parties(&m.ledger, [0.0, -1900.0, 0.0, 1900.0, 0.0, 0.0]);
}

#[test]
fn gas_and_a_sandwich_move_value_among_takers_market_and_validators_only() {
    // Generic, 10 units against 24,000, the price falls from 3,000 to 2,800: 9 units seized for
    // the debt (bonus 1,200), 1 returned. Gas 10 a liquidation; a searcher sandwiches half the
    // sale on a market 1,000 units deep (u = 9 / 1,000, f = 0.5): the sellers get
    // R = 2,800 e^(-f u) 1,000 (1 - e^(-u)); the searcher gains 2,800 x 1,000 ((1 - e^(-f u)) -
    // e^(-f u - u) (e^(f u) - 1)). The borrower still pays the 1,200 bonus, the cost is still
    // 1,200: gas and the sandwich only split it among takers, market and validators.
    let (x, q, f, u): (f64, f64, f64, f64) = (2800.0, 1000.0, 0.5, 0.009);
    let proceeds = x * (-f * u).exp() * q * (1.0 - (-u).exp());
    let slippage = 9.0 * x - proceeds;
    let searcher = x * q * ((1.0 - (-f * u).exp()) - (-f * u - u).exp() * ((f * u).exp() - 1.0));
    let spec = CdpSpec::preset(Protocol::Generic);
    for bulk in [true, false] {
        let e = super::env_with(3000.0, HOUR, 1, 10.0, f);
        let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 24_000.0)]), &e).unwrap();
        assert_eq!(w.set_bulk_path(bulk), bulk);
        let liq = Liquidity::Exponential { depth_eth: q };
        let (m, ev) = run_returns(&mut w, &spec, liq, 3000.0, HOUR, &[(x / 3000.0).ln()], |_, _, _| {});
        check!(m.slippage_usd, slippage);
        check_parties(
            &m.ledger,
            [-1200.0, 0.0, 0.0, 1200.0 - 10.0 - (slippage - searcher), slippage - searcher, 10.0],
        );
        check!(m.ledger.cost(), 1200.0);
        check_parties(&ev[0].ledger, [-1200.0, 0.0, 0.0, 1190.0, 0.0, 10.0]);
        // The price ends where the sale alone would leave it.
        check!(m.final_price, x * (-u).exp());
    }
}

#[test]
fn liquidators_weigh_the_markets_gas() {
    // Aave (liquidators weigh profit by default), gas 20 a liquidation from [market]: at 1,900
    // the small position's bonus (4.15) does not cover it: declined; the large one pays 830 and
    // is liquidated, its gas booked to the validators.
    let spec = CdpSpec::preset(Protocol::AaveV3);
    let positions = [(0.05, 83.0), (10.0, 16_600.0)];
    let e = super::env_with(2500.0, HOUR, 1, 20.0, 0.0);
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &e).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 2500.0, HOUR, &[(1900.0f64 / 2500.0).ln()], |_, _, _| {});
    assert_eq!(m.exits, 1);
    assert_eq!(ev[0].position, 1);
    check!(m.ledger.validators_usd, 20.0);
}
