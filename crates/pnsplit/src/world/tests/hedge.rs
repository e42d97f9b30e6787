//! The counterparty's hedge rebalanced every `hedge_every_steps` (docs/MODEL.md, Rebalancing the
//! hedge), and B2 unchanged without it.

use super::*;
use crate::pricing::bs_call;

/// One holder, 1,000 units of P(2000) for 30 days (sigma 0.9, rate 0), never rolled (x / K stays
/// above 1.25), hedge rebalanced every step, gas 5 USD. The price goes 3000 -> 3100 -> 2900
/// (exogenous; the rebalances' impact rides on it). By hand (`Phi` from erfc):
/// H0 = 1000 Phi(-d1(3000, 2000, 30 d)) = 44.52341092147369 ETH;
/// step 0: D1 = 1000 Phi(-d1(3100, 2000, 30 d - 1 h)) = 33.72828168067004, so q1 = H0 - D1 =
/// 10.795129240803654 sold at 3100: slippage 3100 (q1 - 1e6 (1 - e^{-q1/1e6})) =
/// 0.18062831378298227, price 3100 e^{-q1/1e6};
/// step 1: price p2 = 2900 e^{-q1/1e6} = 2899.9686942941767, D2 = 1000 Phi(-d1(p2, 2000, 30 d -
/// 2 h)) = 58.10988994211887, q2 = D1 - D2 = -24.381608261448832 bought back at p2 for
/// p2 1e6 (e^{|q2|/1e6} - 1) = 70706.76264353727, slippage 0.8619687913887901, final price
/// p3 = p2 e^{|q2|/1e6} = 2900.03940105682.
/// Bookings: each rebalance's gas and slippage from the P holder (lender) to validators and
/// market; the P holder's result is its P at p3 less those costs less its P at the start.
#[test]
fn a_rebalance_by_hand() {
    let spec = PnSpec {
        maturity_days: Some(30.0),
        pricing_vol: Some(0.9),
        p_drift_every_steps: 0,
        hedge_every_steps: Some(1),
        ..PnSpec::default()
    };
    let fr = Frictions { gas_usd: 5.0, frontrun_share: 0.0 };
    let (m, _, ev) = run_with(&spec, &one_holder(1000.0, 2000.0), &[3100.0, 2900.0], true, fr);
    let (q1, slip1, q2, slip2) =
        (10.795_129_240_803_654, 0.180_628_313_782_982_27, -24.381_608_261_448_832, 0.861_968_791_388_790_1);
    let (p2, cost2, p3) = (2_899.968_694_294_176_7, 70_706.762_643_537_27, 2_900.039_401_056_82);
    assert_eq!((m.exits, m.positions_hit), (0, 0));
    assert!(close(m.eth_sold, q1, 1e-9), "{}", m.eth_sold);
    assert!(close(m.slippage_usd, slip1 + slip2, 1e-6), "{}", m.slippage_usd);
    assert!(close(m.final_price, p3, 1e-12), "{}", m.final_price);
    // The rows: a rebalance (its gas) and its trade (its slippage), each step.
    let kinds: Vec<(EventKind, u32)> = ev.iter().map(|e| (e.kind, e.step)).collect();
    assert_eq!(
        kinds,
        [(EventKind::Rebalance, 0), (EventKind::Hedge, 0), (EventKind::Rebalance, 1), (EventKind::Hedge, 1)]
    );
    assert!(close(ev[0].eth, q1, 1e-9) && close(ev[0].usd, q1 * 3100.0, 1e-9), "{:?}", ev[0]);
    assert!(ev[0].ledger.validators_usd == 5.0 && ev[0].ledger.lender_usd == -5.0);
    assert!(close(ev[1].eth, q1, 1e-9) && close(ev[1].ledger.market_usd, slip1, 1e-6), "{:?}", ev[1]);
    assert!(close(ev[2].eth, q2, 1e-9) && close(ev[2].market_price, p2, 1e-12), "{:?}", ev[2]);
    assert!(close(ev[3].eth, q2, 1e-9) && close(ev[3].usd, cost2, 1e-9), "{:?}", ev[3]);
    assert!(
        close(ev[3].ledger.market_usd, slip2, 1e-6) && ev[3].ledger.lender_usd == -ev[3].ledger.market_usd
    );
    // The path's ledger: the premium, and the two rebalances' costs, borne by the P holder.
    let p0 = 1000.0 * (3000.0 - bs_call(3000.0, 2000.0, 0.9, 30.0 / 365.0, 0.0));
    let premium = 2_000_000.0 - p0;
    let l = m.ledger;
    assert!(close(l.borrower_usd, -premium, 1e-9), "{l:?}");
    assert!(close(l.lender_usd, premium - slip1 - slip2 - 10.0, 1e-9), "{l:?}");
    assert!(close(l.market_usd, slip1 + slip2, 1e-6) && l.validators_usd == 10.0, "{l:?}");
    assert_eq!((l.takers_usd, l.protocol_usd), (0.0, 0.0));
    assert!(l.balances(1e-12));
    // The P holder's result marks its P at p3 with 30 days less two hours left.
    let tau = 30.0 / 365.0 - 2.0 * HOUR;
    let p_end = 1000.0 * (p3 - bs_call(p3, 2000.0, 0.9, tau, 0.0));
    let want = p_end - slip1 - slip2 - 10.0 - p0;
    // A difference of figures of the deposit's size (2,000,000): to 1e-9 of it.
    assert!((m.lender_pnl_usd - want).abs() < 2e-3, "{} vs {want}", m.lender_pnl_usd);
    // Every other step: the first rebalance trades both steps' drift at once (H0 - D2).
    let spec2 = PnSpec { hedge_every_steps: Some(2), ..spec };
    let (m2, _, ev2) = run_with(&spec2, &one_holder(1000.0, 2000.0), &[3100.0, 2900.0], true, fr);
    assert_eq!(ev2.iter().filter(|e| e.kind == EventKind::Rebalance).count(), 1);
    assert_eq!(m2.ledger.validators_usd, 5.0);
    assert!(ev2[0].eth < 0.0 && m2.eth_sold == 0.0, "{ev2:?}");
}

/// Every figure of a B2 path that reaches paths.csv, in the order of [`pinned`].
fn figures(m: &PathMetrics) -> Vec<f64> {
    let l = &m.ledger;
    vec![
        m.exits as f64,
        m.eth_sold,
        m.fees_usd,
        m.slippage_usd,
        m.oracle_loss_usd,
        m.shortfall_usd,
        m.max_cascade_rounds as f64,
        m.positions_hit as f64,
        m.min_price,
        m.final_price,
        m.premium_usd.unwrap(),
        l.borrower_usd,
        l.lender_usd,
        l.protocol_usd,
        l.takers_usd,
        l.market_usd,
        l.validators_usd,
        m.borrower_pnl_usd,
        m.lender_pnl_usd,
        m.deferred as f64,
    ]
}

/// B2 without `hedge_every_steps`: three paths give the figures, bit for bit, that the world gave
/// before rebalancing existed (printed with `{:?}`, which round-trips), so neither the
/// rebalancing nor the work on B2's speed moved a byte of its output.
#[test]
fn b2_without_the_key_is_unchanged() {
    let mut d = b2::Driver::new(&b2::spec(), 1).unwrap();
    let got: Vec<Vec<f64>> = (0..3).map(|p| figures(&d.run_path(p, &mut EventSink::new(false)))).collect();
    assert_eq!(got, pinned());
}

/// B2's paths 0, 1 and 2 (seed 1), in the order of [`figures`], as the world gave them before
/// `hedge_every_steps` existed.
#[rustfmt::skip]
fn pinned() -> Vec<Vec<f64>> {
    vec![
        vec![
            137.0, 1208.4759385986015, 52001.77833516091, 1547.4659022634016, 0.0,
            0.0, 2.0, 137.0, 2972.99141773185, 4162.855787558099,
            3136706.813900113, -3136706.813900113, 3083157.5696626888, 0.0, 52001.77833516091,
            1547.4659022634016, 0.0, 316648634.7645771, 2522680.34616673, 0.0,
        ],
        vec![
            1049.0, 7331.973514142296, 376108.4808764767, 5612.043864608468, 0.0,
            0.0, 3.0, 1049.0, 2539.601243903407, 2843.378834469234,
            3136706.813900113, -3136706.813900113, 2754986.2891590283, 0.0, 376108.4808764767,
            5612.043864608468, 0.0, -46207527.33486086, -7581.81376606226, 0.0,
        ],
        vec![
            5462.0, 41539.08710807199, 1608422.1897124778, 34540.04704242516, 0.0,
            0.0, 3.0, 4581.0, 1622.9703192068189, 1761.8292156447212,
            3136706.813900113, -3136706.813900113, 1493744.57714521, 0.0, 1608422.1897124778,
            34540.04704242516, 0.0, -310262294.77661794, -9419787.029239535, 0.0,
        ],
    ]
}
