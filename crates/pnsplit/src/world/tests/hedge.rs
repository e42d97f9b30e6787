//! The counterparty's hedge rebalanced every `hedge_every_steps` (docs/MODEL.md, Rebalancing the
//! hedge), and B2 unchanged without it.

use super::*;

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
