//! A borrower's own top-up (`CdpWorld::add_collateral`) on a scripted path, with the numbers
//! computed by hand, on the bulk path and on the general engine.

use super::{cohort, env, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{
    stream, EventKind, EventSink, Liquidity, PathMetrics, Primitive, Purpose, StepCtx, WorldMarket,
};

/// Generic preset (LT 0.8, bonus 5%, close factor 1), no impact. Position 0: 10 units, 12,000
/// USD (liquidation price 1,500); position 1: 10 units, 8,000 USD (1,000). The price falls from
/// 2,000 to 1,400 in step 1 and stays. `topup = Some((id, units, step))` adds before that step's
/// rounds.
fn walk(
    topup: Option<(u64, f64, usize)>,
    bulk: bool,
) -> (PathMetrics, Vec<headroom_market::Event>, CdpWorld) {
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.lt = Some(0.8);
    spec.bonus = Some(0.05);
    spec.close_factor = Some(1.0);
    let returns = [0.0, (1400.0f64 / 2000.0).ln(), 0.0];
    let mut w =
        CdpWorld::new(&spec, &cohort(&[(10.0, 12_000.0), (10.0, 8_000.0)]), &env(2000.0, HOUR, 3)).unwrap();
    assert!(w.uses_bulk_path());
    w.set_bulk_path(bulk);
    let mut m =
        WorldMarket::new(2000.0, Liquidity::None, None, &spec.oracle_model(), &spec.oracle_errors, HOUR);
    let mut rng = stream(7, 0, Purpose::World(0));
    let mut sink = EventSink::new(true);
    w.begin_path(&m);
    let mut ctx = StepCtx { step: 0, steps: 3, dt_years: HOUR, time_years: 0.0 };
    for (step, &r) in returns.iter().enumerate() {
        ctx = StepCtx { step, steps: 3, dt_years: HOUR, time_years: (step + 1) as f64 * HOUR };
        m.begin_step(r, ctx.time_years);
        if let Some((id, units, at)) = topup {
            if at == step {
                assert!(w.add_collateral(&ctx, id, units, &m, &mut sink));
                assert!(!w.uses_bulk_path(), "the general engine takes over");
            }
        }
        w.step(&ctx, &mut m, &mut rng, &mut sink);
    }
    let mut out = PathMetrics::default();
    w.end_path(&ctx, &m, &mut out);
    (out, sink.take(), w)
}

#[test]
fn a_top_up_before_the_fall_saves_the_position_and_leaves_the_others_alone() {
    for bulk in [true, false] {
        // Without it: position 0 is liquidated at 1,400 in step 1: repays 12,000, seizes
        // 12,000 x 1.05 / 1,400 = 9 units, bonus 600.
        let (m0, ev0, _) = walk(None, bulk);
        assert_eq!(m0.exits, 1);
        assert_eq!((ev0[0].step, ev0[0].position, ev0[0].kind), (1, 0, EventKind::Liquidation));
        assert!((ev0[0].eth - 9.0).abs() < 1e-12 && (ev0[0].fee_usd - 600.0).abs() < 1e-9);

        // 5 units on position 0 in step 1 (before its rounds): 15 units, liquidation price
        // 12,000 / (15 x 0.8) = 1,000 < 1,400: no liquidation.
        let (m, ev, w) = walk(Some((0, 5.0, 1)), bulk);
        assert_eq!(m.exits, 0, "bulk {bulk}");
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].step, ev[0].position, ev[0].kind), (1, 0, EventKind::TopUp));
        assert_eq!(ev[0].eth, 5.0);
        assert!((ev[0].usd - 7000.0).abs() < 1e-9 && (ev[0].market_price - 1400.0).abs() < 1e-9);
        let l = w.collateral_ledger();
        assert_eq!((l.topped_up, l.open), (5.0, 25.0));
        let p0 = w.positions().into_iter().find(|p| p.id == 0).unwrap();
        assert_eq!((p0.collateral, p0.debt_usd), (15.0, 12_000.0));

        // 5 units on position 1 (after position 0 in the book: both become touched): position 0
        // is liquidated exactly as without the top-up.
        let (m, ev, w) = walk(Some((1, 5.0, 1)), bulk);
        // The same row, but for the rounding of the top-up's own (zero-sum) bookings.
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        assert!(near(m.ledger.borrower_usd, m0.ledger.borrower_usd), "{:?}", m.ledger);
        assert!(near(m.borrower_pnl_usd, m0.borrower_pnl_usd));
        assert_eq!(
            PathMetrics {
                ledger: headroom_market::Ledger { borrower_usd: m0.ledger.borrower_usd, ..m.ledger },
                borrower_pnl_usd: m0.borrower_pnl_usd,
                ..m
            },
            m0
        );
        assert_eq!(ev[0].kind, EventKind::TopUp);
        assert_eq!(ev[1..], ev0[..]);
        assert_eq!(w.collateral_ledger().topped_up, 5.0);

        // Too late: after the liquidation the position is closed and takes nothing.
        let (_, _, mut w) = walk(None, bulk);
        let m = WorldMarket::new(1400.0, Liquidity::None, None, &Default::default(), &[], HOUR);
        let ctx = StepCtx { step: 3, steps: 4, dt_years: HOUR, time_years: 4.0 * HOUR };
        let mut sink = EventSink::new(true);
        assert!(!w.add_collateral(&ctx, 0, 5.0, &m, &mut sink));
        assert!(!w.add_collateral(&ctx, 1, f64::NAN, &m, &mut sink));
        assert!(!w.add_collateral(&ctx, 99, 1.0, &m, &mut sink));
        assert!(sink.take().is_empty());
    }
}
