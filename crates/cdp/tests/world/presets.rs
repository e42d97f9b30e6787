//! Each preset's rules on scripted price paths, with the expected numbers computed by hand.

use super::{bare_preset, cohort, env, run_returns, run_returns_path, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{EventKind, Ledger, Liquidity};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

macro_rules! check {
    ($got:expr, $want:expr) => {
        assert!(close($got, $want), "{} = {} != {}", stringify!($got), $got, $want)
    };
}

fn ln(a: f64, b: f64) -> f64 {
    (b / a).ln()
}

/// The six party columns, in order: borrower, lender, protocol, takers, market, validators.
fn parties(l: &Ledger) -> [f64; 6] {
    [l.borrower_usd, l.lender_usd, l.protocol_usd, l.takers_usd, l.market_usd, l.validators_usd]
}

fn check_parties(l: &Ledger, want: [f64; 6]) {
    for (i, (g, w)) in parties(l).iter().zip(want).enumerate() {
        assert!(close(*g, w), "party {i}: {g} != {w} ({l:?})");
    }
    assert!(l.balances(1e-9), "{l:?}");
}

fn ledger_balances(w: &CdpWorld) {
    let l = w.collateral_ledger();
    let (lhs, rhs) = (l.initial + l.topped_up, l.seized + l.returned + l.in_auction + l.open);
    assert!((lhs - rhs).abs() <= 1e-9 * lhs, "{l:?}");
}

#[test]
fn maker_2020_flip_zero_bid_without_keepers_and_competitive_bids_with_them() {
    // 10 units, 1,000 DAI, liquidation ratio 150%: liquidation price 150. The price falls from 200
    // to 140 in the first hour: bite at 140, the flip settles 10 minutes later (next step).
    let mut spec = bare_preset(Protocol::Maker2020);
    spec.keepers = Some(0);
    let returns = [ln(200.0, 140.0), 0.0, 0.0];
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(200.0, HOUR, 3)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 200.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    // No keeper: a zero bid takes the whole lot; the debt is bad debt, the lot (1,400) the
    // bidder's gain. Bookings at 140: the bite moves the chop (130) of the borrower's 400 of
    // equity to the protocol; the zero bid takes the borrower's other 270 and the protocol's 130,
    // and the protocol covers the lender's 1,000 (Maker's surplus buffer, then MKR).
    assert_eq!((m.exits, m.positions_hit), (1, 1));
    check!(m.eth_sold, 10.0);
    check!(m.shortfall_usd, 1000.0);
    check!(m.fees_usd, 1400.0);
    check!(m.oracle_loss_usd, 0.0);
    assert_eq!(
        ev.iter().map(|e| (e.step, e.kind)).collect::<Vec<_>>(),
        vec![(0, EventKind::Liquidation), (1, EventKind::Auction)]
    );
    assert_eq!(ev[1].usd, 0.0);
    check_parties(&ev[0].ledger, [-130.0, 0.0, 130.0, 0.0, 0.0, 0.0]);
    check_parties(&ev[1].ledger, [-270.0, 0.0, -1130.0, 1400.0, 0.0, 0.0]);
    check_parties(&m.ledger, [-400.0, 0.0, -1000.0, 1400.0, 0.0, 0.0]);

    // Three keepers, no congestion: bids reach the tab 1,130 (chop 13%), and the lot falls to
    // 1,130 / (140 x 0.97) = 8.32106 units (dent); 1.67894 go back to the owner. The fee is
    // the keeper's 8.32106 x 140 - 1,130 = 34.948; the 130 penalty is the protocol's.
    spec.keepers = Some(3);
    spec.congestion_auctions = Some(1e12);
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(200.0, HOUR, 3)).unwrap();
    let (m, _) =
        run_returns(&mut w, &spec, Liquidity::None, 200.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    check!(m.eth_sold, 8.321060382916054);
    check!(w.collateral_ledger().returned, 1.6789396170839463);
    check!(m.shortfall_usd, 0.0);
    let keeper = 8.321060382916054 * 140.0 - 1130.0;
    check!(m.fees_usd, keeper);
    check_parties(&m.ledger, [-130.0 - keeper, 0.0, 130.0, keeper, 0.0, 0.0]);
    // The market stayed at 140 after the bite: each side's result is its ledger column; the
    // borrower started with 2,000 - 1,000 and ends with the 1.67894 units returned.
    check!(m.borrower_pnl_usd, m.ledger.borrower_usd - 60.0 * 10.0);
    check!(m.borrower_pnl_usd, 1.6789396170839463 * 140.0 - 1000.0);
    check!(m.lender_pnl_usd, 0.0);
}

#[test]
fn maker_2020_keepers_fail_with_the_congestion_probability() {
    // 100 vaults bitten in one round; the k-th bite sees k flips in flight, each of 2 keepers
    // fails with p_k = 1 - exp(-k / 30): the lot goes for a zero bid with probability p_k^2.
    // Expected zero-bid auctions per path: sum p_k^2 = 57.5865; variance sum p_k^2 (1 - p_k^2)
    // = 15.4856.
    let mut spec = bare_preset(Protocol::Maker2020);
    spec.keepers = Some(2);
    spec.congestion_auctions = Some(30.0);
    let positions = vec![(1.0, 100.0); 100];
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(200.0, HOUR, 2)).unwrap();
    let n = 300;
    let mut zero = 0.0;
    for path in 0..n {
        let (_, ev) = run_returns_path(
            &mut w,
            &spec,
            Liquidity::None,
            200.0,
            HOUR,
            &[ln(200.0, 140.0), 0.0],
            path,
            |_, _, _| {},
        );
        zero += ev.iter().filter(|e| e.kind == EventKind::Auction && e.usd == 0.0).count() as f64;
    }
    let mean = zero / n as f64;
    let se = (15.485621842078483 / n as f64).sqrt();
    assert!((mean - 57.586503224285046).abs() < 4.0 * se, "{mean} zero bids per path vs 57.5865 (se {se})");
}

#[test]
fn maker_2021_clip_takes_at_the_first_profitable_step_and_resets_past_tail() {
    // Bark at 140: top = 1.2 x 140 = 168, tab = 1,130, keeper reward 300 + 0.1% x 1,130 =
    // 301.13 paid by the protocol. An hour later keepers buy at or below 140 x 0.99 = 138.6:
    // the first step with 168 x 0.99^k <= 138.6 is k = 20 (after 30 min), price 137.40837; they
    // take 1,130 / 137.40837 = 8.22366 units, 1.77634 go back. Fees: 301.13 + 8.22366 x 140 -
    // 1,130 = 322.44; the chop (130) is the protocol's income.
    let spec = bare_preset(Protocol::Maker2021);
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(200.0, HOUR, 3)).unwrap();
    let returns = [ln(200.0, 140.0), 0.0, 0.0];
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 200.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    check!(m.eth_sold, 8.223662334922894);
    check!(w.collateral_ledger().returned, 1.776337665077106);
    check!(m.fees_usd, 322.442726889205);
    check!(m.shortfall_usd, 0.0);
    check!(ev[1].usd / ev[1].eth, 137.40836551633475);
    check_parties(&m.ledger, [-130.0 - 21.312726889205, 0.0, 130.0 - 301.13, 322.442726889205, 0.0, 0.0]);

    // The market falls to 50 after the bark (at 1 h): keepers want <= 49.5, below cusp x top =
    // 67.2, and the tail (90 min) passes first: at 2.5 h (in step 2) the auction resets to top =
    // 1.2 x 50 = 60 (another 301.13 of reward); 20 price steps (30 min) later, at 3 h, still in
    // step 2, keepers take at 60 x 0.99^20 = 49.07442 the whole lot, raising 490.744: bad debt
    // 509.256; fees 2 x 301.13 + 10 x 50 - 490.744.
    let returns = [ln(200.0, 140.0), ln(140.0, 50.0), 0.0, 0.0];
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(200.0, HOUR, 4)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 200.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    let take = ev.iter().find(|e| e.kind == EventKind::Auction).unwrap();
    assert_eq!(take.step, 2);
    check!(take.eth, 10.0);
    check!(m.shortfall_usd, 509.2558374416615);
    check!(m.fees_usd, 611.5158374416615);
    // The reset is an event of its own: the protocol pays another 301.13.
    let reset = ev.iter().find(|e| e.kind == EventKind::AuctionReset).unwrap();
    assert_eq!(reset.step, 2);
    check_parties(&reset.ledger, [0.0, 0.0, -301.13, 301.13, 0.0, 0.0]);
    // The take at 50: the lot (500) is worth less than the debt: the lender's claim was 500;
    // it gets the 490.744 raised and 509.256 of cover from the protocol (+500 on the event);
    // the keeper gains 500 - 490.744 = 9.256.
    check_parties(&take.ledger, [0.0, 500.0, -509.2558374416615, 9.2558374416615, 0.0, 0.0]);
    check_parties(
        &m.ledger,
        [-130.0, 500.0, 130.0 - 602.26 - 509.2558374416615, 611.5158374416615, 0.0, 0.0],
    );
    // Each side's result at the final 50: the borrower lost its 1,000 of equity, the lender
    // was paid in full.
    check!(m.borrower_pnl_usd, -1000.0);
    check!(m.lender_pnl_usd, 0.0);
}

#[test]
fn liquity_v1_pool_then_redistribution_and_never_the_last_trove() {
    // A: 10 units, 20,000 LUSD; B: 10 units, 10,000; MCR 110%; pool 5,001 (5,000 available: it
    // keeps 1). At 2,100 A's ICR is 105% (the system's TCR 42,000 / 30,000 = 140%: recovery mode,
    // which changes nothing for a trove under the MCR): the liquidator gets 0.05 units + 200;
    // the pool pays 5,000 for 9.95 / 4 = 2.4875
    // units; 7.4625 units and 15,000 of debt go to B, now 17.4625 units and 25,000 (ICR 146.7%).
    let mut spec = CdpSpec::preset(Protocol::LiquityV1);
    spec.stability_pool_usd = Some(5001.0);
    let positions = [(10.0, 20_000.0), (10.0, 10_000.0)];
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(2500.0, HOUR, 2)).unwrap();
    let mut after_first = Vec::new();
    let returns = [ln(2500.0, 2100.0), ln(2100.0, 1500.0)];
    let (m, _) = run_returns(&mut w, &spec, Liquidity::None, 2500.0, HOUR, &returns, |step, w, _| {
        ledger_balances(w);
        if step == 0 {
            after_first = w.positions();
        }
    });
    assert_eq!(after_first.len(), 1);
    check!(after_first[0].collateral, 17.4625);
    check!(after_first[0].debt_usd, 25_000.0);
    // At 1,500 B's ICR is 104.8%, but it is the last trove: Liquity never liquidates it.
    assert_eq!((m.exits, m.positions_hit), (1, 1));
    check!(m.eth_sold, 2.5375);
    // The takers' fee at 2,100: 2.5375 x 2,100 + 200 - 5,000 = 528.75. Bookings: A's borrower
    // loses its 1,000 of equity and the 200 reserve; B takes 7.4625 x 2,100 - 15,000 = 671.25;
    // the lender is paid 5,000 and keeps a 15,000 claim on B.
    check!(m.fees_usd, 528.75);
    check!(m.shortfall_usd, 0.0);
    check_parties(&m.ledger, [-528.75, 0.0, 0.0, 528.75, 0.0, 0.0]);
    check!(w.collateral_ledger().seized, 2.5375);
    // Results at 1,500: the borrowers started with 5,000 + 15,000 of equity and end with B's
    // 26,193.75 - 25,000 = 1,193.75, less the 200 reserve; the lender with 30,000 of claims
    // and ends with 5,000 paid and 25,000 owed by B, who covers it.
    check!(m.borrower_pnl_usd, 1193.75 - 200.0 - 20_000.0);
    check!(m.lender_pnl_usd, 0.0);
}

#[test]
fn compound_v3_absorb_and_sale_through_the_market() {
    // 10 units, 20,000 USDC, LT 84%: liquidation price 2,380.95. At 2,300: all 10 units
    // absorbed, credited 23,000 x 0.95 = 21,850: 1,850 back to the borrower; the reserves pay
    // the debt and sell to buyers at 2,300 (1 - 0.5 x 0.05) = 2,242.5 (22,425), who gain the
    // discount 575 (the fee); the protocol keeps 22,425 - 21,850 = 575. The buyers' sale of 10
    // units on a depth of 1,000 costs 2,300 (10 - 1,000 (1 - e^-0.01)) = 114.6176 and leaves the
    // price at 2,300 e^-0.01.
    let spec = CdpSpec::preset(Protocol::CompoundV3);
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 20_000.0)]), &env(2500.0, HOUR, 1)).unwrap();
    let liq = Liquidity::Exponential { depth_eth: 1000.0 };
    let (m, _) =
        run_returns(&mut w, &spec, liq, 2500.0, HOUR, &[ln(2500.0, 2300.0)], |_, w, _| ledger_balances(w));
    check!(m.fees_usd, 575.0);
    check!(m.slippage_usd, 114.61762308664535);
    let slip = 114.61762308664535;
    check_parties(&m.ledger, [-1150.0, 0.0, 575.0, 575.0 - slip, slip, 0.0]);
    check!(m.cost_usd, 0.0); // set by the runner from the ledger, not here
    check!(m.ledger.cost(), 575.0);
    check!(m.final_price, 2277.114617623087);
    check!(m.eth_sold, 10.0);
}

#[test]
fn interest_accrues_simply_and_can_trigger_a_liquidation_on_both_paths() {
    let day = 1.0 / 365.0;
    for bulk in [true, false] {
        // No liquidation: 1,000 at 10% for a year of daily steps: 100 of interest.
        let mut spec = CdpSpec::preset(Protocol::Generic);
        spec.borrow_rate = 0.1;
        let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(1000.0, day, 365)).unwrap();
        assert_eq!(w.set_bulk_path(bulk), bulk);
        let (m, _) = run_returns(&mut w, &spec, Liquidity::None, 1000.0, day, &[0.0; 365], |_, _, _| {});
        check!(m.interest_usd.unwrap(), 100.0);
        check!(w.positions()[0].debt_usd, 1100.0);

        // 8,000 against 10 units at a flat 1,000, LT 0.83, 100% a year: HF = 8,300 / (8,000 g),
        // g = 1 + t: below 1 after 13.69 days, so liquidated at day 14 with debt 8,306.849;
        // interest 8,000 x 14 / 365 = 306.849; seized 8,306.849 x 1.05 / 1,000.
        spec.borrow_rate = 1.0;
        let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 8000.0)]), &env(1000.0, day, 30)).unwrap();
        w.set_bulk_path(bulk);
        let (m, ev) = run_returns(&mut w, &spec, Liquidity::None, 1000.0, day, &[0.0; 30], |_, _, _| {});
        assert_eq!(ev[0].step, 13);
        check!(m.interest_usd.unwrap(), 306.8493150684931);
        check!(m.eth_sold, 8.722191780821918);
        check!(m.fees_usd, 415.3424657534247);
    }
}

#[test]
fn top_ups_race_the_liquidators() {
    // 10 units, 16,600 debt, LT 0.83: liquidation price 2,000; at 2,500 HF = 1.25. Borrowers top
    // up under HF 1.2 back to 1.5. The price falls to 2,300 (HF 1.15) in step 0, 1,900 in step 1.
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.topup_target_hf = Some(1.2);
    spec.topup_restore_hf = Some(1.5);
    let returns = [ln(2500.0, 2300.0), ln(2300.0, 1900.0), 0.0, 0.0];
    // The borrower (1 step) beats the liquidator (2 steps): at step 1 it adds 1.5 x 16,600 /
    // (1,900 x 0.83) - 10 = 5.78947 units before the liquidator sees HF 0.95.
    spec.topup_latency_steps = 1;
    spec.latency_steps = 2;
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 16_600.0)]), &env(2500.0, HOUR, 4)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 2500.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    assert_eq!(m.exits, 0);
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].kind, ev[0].step), (EventKind::TopUp, 1));
    check!(w.collateral_ledger().topped_up, 5.789473684210526);
    // The liquidator (1 step) beats the borrower (3 steps): seen at step 1, liquidated at step 2
    // at 1,900: 16,600 x 1.05 / 1,900 = 9.17368 seized, 0.82632 returned; the top-up due at step
    // 3 finds the position closed.
    spec.topup_latency_steps = 3;
    spec.latency_steps = 1;
    let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 16_600.0)]), &env(2500.0, HOUR, 4)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 2500.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    assert_eq!(m.exits, 1);
    assert_eq!((ev[0].kind, ev[0].step), (EventKind::Liquidation, 2));
    check!(m.eth_sold, 9.173684210526316);
    check!(w.collateral_ledger().returned, 0.8263157894736839);
    check!(w.collateral_ledger().topped_up, 0.0);
}

#[test]
fn liquidators_skip_what_does_not_cover_gas_and_slippage() {
    // Both positions at liquidation price 2,000; gas 20 USD. At 1,900 the small one (83 of debt)
    // pays a bonus of 4.15 < 20: declined, and again after a further 1.6% fall; the large one
    // pays 830 and is liquidated.
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.profit_check = Some(true);
    spec.gas_usd = Some(20.0);
    let positions = [(0.05, 83.0), (10.0, 16_600.0)];
    let returns = [ln(2500.0, 1900.0), ln(1900.0, 1870.0)];
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(2500.0, HOUR, 2)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 2500.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    assert_eq!(m.exits, 1);
    assert_eq!(ev[0].position, 1);
    assert_eq!(w.positions().len(), 1);
    // On a market 50 units deep, selling the 9.174 units seized costs 1,505.5 of slippage, more
    // than the 830 bonus: the large one is declined too.
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(2500.0, HOUR, 2)).unwrap();
    let liq = Liquidity::Exponential { depth_eth: 50.0 };
    let (m, _) = run_returns(&mut w, &spec, liq, 2500.0, HOUR, &returns, |_, w, _| ledger_balances(w));
    assert_eq!(m.exits, 0);
}

#[test]
fn maker_2021_clip_runs_in_its_own_time_whatever_the_step() {
    // A vault of 10 units and 1,000 DAI on a flat market at 200. The oracle prints 30% low from
    // the start (140) and 60% low from 1.5 h on (80). Keepers buy at or below 200 x (1 - 0.6) =
    // 80. The bark (at the end of the first step) starts at 1.2 x 140 = 168: 168 x 0.99^k <= 80
    // needs k = 74, past the tail (60 steps of 90 s): the auction is done 90 min after the bark
    // and reset then at 1.2 x 80 = 96 (the oracle then); 96 x 0.99^k <= 80 at k = 19, 28.5 min
    // later: the keeper takes the whole lot, 10 units for 10 x 96 x 0.99^19 = 793.12 (the rest
    // of the debt, 206.88, the protocol covers). On one-minute steps the bark is at
    // 60 s, the reset at 5,460 s, the take at 7,170 s; on hourly steps at 3,600 s, 9,000 s and
    // 10,710 s: the same take.
    let mut spec = bare_preset(Protocol::Maker2021);
    spec.keeper_margin = Some(0.6);
    for (start_hours, error) in [(0.0, -0.3), (1.5, 0.4 / 0.7 - 1.0)] {
        spec.oracle_errors.push(headroom_market::BadPrint {
            start_hours,
            ramp_in_hours: 0.0,
            hold_hours: 100.0,
            ramp_out_hours: 0.0,
            error,
        });
    }
    let price = 96.0 * 0.99f64.powi(19);
    let mut takes = Vec::new();
    for (dt, steps) in [(HOUR / 60.0, 240), (HOUR, 4)] {
        let mut w = CdpWorld::new(&spec, &cohort(&[(10.0, 1000.0)]), &env(200.0, dt, steps)).unwrap();
        let (m, ev) = run_returns(&mut w, &spec, Liquidity::None, 200.0, dt, &vec![0.0; steps], |_, _, _| {});
        let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Liquidation, EventKind::AuctionReset, EventKind::Auction], "dt {dt}");
        let take = &ev[2];
        check!(take.eth, 10.0);
        check!(take.usd, 10.0 * price);
        check!(m.shortfall_usd, 1000.0 - 10.0 * price);
        // The take's step: the one that holds 7,170 s (minute 119) or 10,710 s (hour 2).
        assert_eq!(take.step, if steps == 240 { 119 } else { 2 });
        takes.push((take.eth, m.fees_usd, m.ledger));
    }
    check!(takes[0].0, takes[1].0);
    check!(takes[0].1, takes[1].1);
    check!(takes[0].2.borrower_usd, takes[1].2.borrower_usd);
    check!(takes[0].2.protocol_usd, takes[1].2.protocol_usd);
    check!(takes[0].2.takers_usd, takes[1].2.takers_usd);
}

#[test]
fn liquity_v1_recovery_mode_liquidates_troves_normal_mode_leaves_alone() {
    // At 1,000: A (10 units, ICR 105%), B (10, 115%), C (10, 120%), D (40 units, 27,000: 148.1%).
    // The system's TCR is 70,000 / 53,552.79 = 130.7% < 150%: recovery mode. Lowest ICR first:
    // A (under the MCR) is offset as in normal mode: the TCR becomes 60,000 / 44,028.98 =
    // 136.3%. B (115% < 136.3%, the pool covers its debt) is offset at a capped 110%: the pool
    // takes 8,695.65 x 1.1 / 1,000 = 9.56522 units (0.5% of them the liquidator's) and B keeps
    // 0.43478: the TCR becomes 50,000 / 35,333.33 = 141.5%. C (120% < 141.5%): capped, 9.16667
    // taken, 0.83333 kept: TCR 40,000 / 27,000 = 148.1%, still under 150%. D's ICR equals the
    // TCR (and it is the last trove): left alone.
    let positions =
        [(10.0, 10_000.0 / 1.05), (10.0, 10_000.0 / 1.15), (10.0, 10_000.0 / 1.2), (40.0, 27_000.0)];
    let mut spec = CdpSpec::preset(Protocol::LiquityV1);
    spec.stability_pool_usd = Some(1e6);
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(1000.0, HOUR, 1)).unwrap();
    let (m, ev) =
        run_returns(&mut w, &spec, Liquidity::None, 1000.0, HOUR, &[0.0], |_, w, _| ledger_balances(w));
    let order: Vec<u64> = ev.iter().map(|e| e.position).collect();
    assert_eq!(order, [0, 1, 2]);
    let (db, dc) = (10_000.0 / 1.15, 10_000.0 / 1.2);
    check!(ev[1].eth, db * 1.1 / 1000.0);
    check!(ev[2].eth, dc * 1.1 / 1000.0);
    check!(w.collateral_ledger().returned, 20.0 - (db + dc) * 1.1 / 1000.0);
    // Fees: A 10 x 1,000 + 200 - 9,523.81; B and C 10% of their debt + 200.
    let fees = [10_000.0 + 200.0 - 10_000.0 / 1.05, 0.1 * db + 200.0, 0.1 * dc + 200.0];
    for (e, f) in ev.iter().zip(fees) {
        check!(e.fee_usd, f);
        check!(e.ledger.borrower_usd, -f);
        check!(e.ledger.takers_usd, f);
    }
    check!(m.fees_usd, fees.iter().sum::<f64>());
    assert_eq!(w.positions().len(), 1);
    // Normal mode (a CCR of 100%, so never in recovery) liquidates only A.
    spec.ccr = Some(1.0);
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(1000.0, HOUR, 1)).unwrap();
    let (m, _) = run_returns(&mut w, &spec, Liquidity::None, 1000.0, HOUR, &[0.0], |_, _, _| {});
    assert_eq!(m.exits, 1);
    assert_eq!(w.positions().len(), 3);
}
