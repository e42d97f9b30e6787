//! A step always ends: at most `max_liquidations_per_step` liquidations a step, the rest waiting
//! for the next (`deferred`), on the bulk path and on the general engine alike.

use super::{cohort, env, run_returns, HOUR};
use headroom_cdp::spec::{default_max_liquidations_per_step, LIQUIDATIONS_PER_BLOCK};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{EventKind, Liquidity};

#[test]
fn the_bound_defers_the_rest_to_the_next_step_on_both_engines() {
    // Ten positions of 1 unit, liquidation prices 1,900 to 1,990; the price falls from 2,000 to
    // 1,800 in step 0 and stays there; no impact. With at most 3 liquidations a step: 3 in each of
    // steps 0, 1 and 2 and the last one in step 3; 7 + 4 + 1 = 12 liquidations waited a step.
    let positions: Vec<(f64, f64)> = (0..10).map(|i| (1.0, (1900.0 + 10.0 * i as f64) * 0.83)).collect();
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.max_liquidations_per_step = Some(3);
    let returns = [(1800.0f64 / 2000.0).ln(), 0.0, 0.0, 0.0, 0.0];
    for bulk in [true, false] {
        let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(2000.0, HOUR, returns.len())).unwrap();
        assert_eq!(w.set_bulk_path(bulk), bulk);
        let (m, ev) = run_returns(&mut w, &spec, Liquidity::None, 2000.0, HOUR, &returns, |_, _, _| {});
        let steps: Vec<u32> =
            ev.iter().filter(|e| e.kind == EventKind::Liquidation).map(|e| e.step).collect();
        assert_eq!(steps, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3], "bulk {bulk}");
        // The highest liquidation prices go first.
        let first: Vec<u64> = ev.iter().take(3).map(|e| e.position).collect();
        assert_eq!(first, [9, 8, 7], "bulk {bulk}");
        assert_eq!((m.exits, m.deferred), (10, 12), "bulk {bulk}");
    }
    // A sale that makes more positions liquidatable after the bound is reached defers them too.
    // Liquidation prices 1,990, 1,950, 1,770, 1,760 and 1,500; one liquidation a step on a market
    // 30 units deep. At 1,800 the first is liquidated (1,990 x 0.83 x 1.05 / 1,800 = 0.96349
    // units sold: the price falls to 1,800 e^(-0.96349 / 30) = 1,743.1) and the second waits;
    // the sale makes the third and fourth liquidatable: they wait too (3 deferred).
    let positions: Vec<(f64, f64)> =
        [1990.0, 1950.0, 1770.0, 1760.0, 1500.0].iter().map(|k| (1.0, k * 0.83)).collect();
    spec.max_liquidations_per_step = Some(1);
    for bulk in [true, false] {
        let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(2000.0, HOUR, 1)).unwrap();
        w.set_bulk_path(bulk);
        let liq = Liquidity::Exponential { depth_eth: 30.0 };
        let (m, _) = run_returns(&mut w, &spec, liq, 2000.0, HOUR, &returns[..1], |_, _, _| {});
        assert!((m.final_price - 1800.0 * (-0.8300 * 1990.0 * 1.05 / 1800.0 / 30.0f64).exp()).abs() < 1e-9);
        assert_eq!((m.exits, m.deferred), (1, 3), "bulk {bulk}");
    }
}

#[test]
fn the_default_bound_is_the_steps_blocks_times_the_liquidations_a_block_holds() {
    // 12-second blocks, 100 liquidations a block: an hour holds 300 blocks, 30,000 liquidations
    // (more than B1's 5,000 positions: the bound never binds on B1); a minute 5 blocks, 500; a
    // step shorter than a block still holds one block.
    assert_eq!(LIQUIDATIONS_PER_BLOCK, 100);
    let b1_dt = 30.0 / 365.0 / 720.0;
    assert_eq!(default_max_liquidations_per_step(b1_dt), 30_000);
    assert_eq!(default_max_liquidations_per_step(HOUR / 60.0), 500);
    assert_eq!(default_max_liquidations_per_step(HOUR / 3600.0), 100);
    assert_eq!(default_max_liquidations_per_step(1.0), 262_800_000);
    let spec = CdpSpec::preset(Protocol::Generic);
    let mut bad = spec.clone();
    bad.max_liquidations_per_step = Some(0);
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "max_liquidations_per_step = 0: must be within [1, 1000000000]"
    );
}
