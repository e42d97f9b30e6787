//! The Aave wstETH CAPO incident: the oracle reads 1.1939 ETH per wstETH against a
//! true 1.228, prices do not move, E-Mode rules (LT 95.5%, bonus 1%). Exactly the positions
//! whose true HF is below 1.228 / 1.1939 = 1.02856 are liquidated, every exit is wrongful, and
//! under the 50% close factor some are liquidated more than once.

use super::{cohort, env, run_returns, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{BadPrint, EventKind, Liquidity};
use std::collections::BTreeMap;

const TRUE_RATE: f64 = 1.228;
const CAPPED_RATE: f64 = 1.1939;

#[test]
fn capo_liquidates_exactly_the_positions_below_the_ratio_all_wrongfully() {
    let mut spec = CdpSpec::preset(Protocol::AaveV3);
    spec.lt = Some(0.955);
    spec.bonus = Some(0.01);
    spec.oracle_errors.push(BadPrint {
        start_hours: 0.0,
        ramp_in_hours: 0.0,
        hold_hours: 1000.0,
        ramp_out_hours: 0.0,
        error: CAPPED_RATE / TRUE_RATE - 1.0,
    });
    // True health factors; 5,000 wstETH each (so both sides exceed the $2,000 of the partial
    // close factor), debt = c x 1.228 x 0.955 / h. Position 11 is small: 1,000 wstETH at HF
    // 1.01, debt 1,161.13 < 2,000, so one liquidation takes it all.
    let hfs = [1.0, 1.005, 1.01, 1.02, 1.025, 1.028, 1.0285, 1.029, 1.03, 1.05, 1.2];
    let mut positions: Vec<(f64, f64)> =
        hfs.iter().map(|&h| (5000.0, 5000.0 * TRUE_RATE * 0.955 / h)).collect();
    positions.push((1000.0, 1000.0 * TRUE_RATE * 0.955 / 1.01));
    let e = env(TRUE_RATE, HOUR, 3);
    let mut world = CdpWorld::new(&spec, &cohort(&positions), &e).unwrap();
    let (m, events) =
        run_returns(&mut world, &spec, Liquidity::None, TRUE_RATE, HOUR, &[0.0; 3], |_, _, mk| {
            assert!((mk.oracle_price() - CAPPED_RATE).abs() < 1e-12);
            assert_eq!(mk.price(), TRUE_RATE);
        });
    let mut exits: BTreeMap<u64, u32> = BTreeMap::new();
    let mut seized: BTreeMap<u64, f64> = BTreeMap::new();
    for ev in &events {
        assert_eq!(ev.kind, EventKind::Liquidation);
        assert!(ev.wrongful, "{ev:?}");
        assert_eq!(ev.step, 0, "the oracle is wrong from the start: all in the first step");
        *exits.entry(ev.position).or_default() += 1;
        *seized.entry(ev.position).or_default() += ev.eth;
    }
    // Oracle HF = true HF x 1.1939 / 1.228; each 50% liquidation maps oracle HF to
    // 2 HF - 0.955 x 1.01 = 2 HF - 0.96455 while debt and collateral stay >= $2,000.
    // h = 1.000: 0.97223 -> 0.97991 -> 0.99528 (debt now 1,465.9 < 2,000: 100%): 3 exits.
    // h = 1.005: 0.97709 -> 0.98963 -> 1.01471: 2 exits; h = 1.01: 0.98195 -> 0.99936 -> 1.03417:
    // 2 exits; h = 1.02 .. 1.0285: oracle HF 0.99168 .. 0.99994, one 50% step lifts it over 1.
    // h = 1.029 and above: oracle HF >= 1.00043: untouched.
    let want: BTreeMap<u64, u32> = [(0, 3), (1, 2), (2, 2), (3, 1), (4, 1), (5, 1), (6, 1), (11, 1)].into();
    assert_eq!(exits, want);
    assert_eq!(m.exits, 12);
    assert_eq!(m.positions_hit, 8);
    assert_eq!(m.wrongful_exits, 12);
    assert_eq!(m.shortfall_usd, 0.0);
    assert_eq!(m.max_cascade_rounds, 3, "no impact: partial liquidations repeat at the same price");
    // Position 0 (d = 5,863.7): repays 2,931.85, then 1,465.925, then 1,465.925, seizing
    // r x 1.01 / 1.1939 each time: 2,480.2818 + 1,240.1409 + 1,240.0740 = 4,960.4967 wstETH.
    assert!((seized[&0] - 4960.496691515202).abs() < 1e-6, "{}", seized[&0]);
    // Position 11: d = 1,161.1287, seized 1,161.1287 x 1.01 / 1.1939 = 982.2766.
    assert!((seized[&11] - 982.2765725772679).abs() < 1e-6, "{}", seized[&11]);
    // The mispricing loss: (1.228 - 1.1939) per unit seized; the bonus is in the fees: 1% of the
    // debt repaid.
    let total_seized: f64 = seized.values().sum();
    assert!((m.oracle_loss_usd - (TRUE_RATE - CAPPED_RATE) * total_seized).abs() < 1e-9 * total_seized);
    let repaid: f64 = events.iter().map(|e| e.usd).sum();
    assert!((m.fees_usd - 0.01 * repaid).abs() < 1e-9 * repaid);
    // Every position left is healthy at the oracle; the untouched ones kept everything.
    for p in world.positions() {
        assert!(p.collateral * CAPPED_RATE * 0.955 >= p.debt_usd * (1.0 - 1e-12), "{p:?}");
    }
}

#[test]
fn forced_sales_do_not_move_a_capo_oracle() {
    // The same accounts, the cap now from a CAPO adapter (snapshot 1.1939, no growth) and the
    // liquidators' sales going through a market 20,000 units deep: the market falls with each
    // sale, but the adapter reads the LST's own rate, which the sales do not move, so the oracle
    // stays at the cap and exactly the same liquidations happen as without impact (liquidators
    // that do not weigh the slippage, so that only the oracle decides).
    let mut spec = CdpSpec::preset(Protocol::AaveV3);
    spec.profit_check = Some(false);
    spec.lt = Some(0.955);
    spec.bonus = Some(0.01);
    spec.oracle = Some(headroom_market::OracleModel::Capo {
        snapshot_ratio: CAPPED_RATE,
        max_yearly_growth: 0.0,
        snapshot_age_days: 0.0,
    });
    let hfs = [1.0, 1.005, 1.01, 1.02, 1.025, 1.028, 1.0285, 1.029, 1.03, 1.05, 1.2];
    let positions: Vec<(f64, f64)> = hfs.iter().map(|&h| (5000.0, 5000.0 * TRUE_RATE * 0.955 / h)).collect();
    let mut exits = Vec::new();
    for liq in [Liquidity::None, Liquidity::Exponential { depth_eth: 20_000.0 }] {
        let mut world = CdpWorld::new(&spec, &cohort(&positions), &env(TRUE_RATE, HOUR, 3)).unwrap();
        let (m, ev) = run_returns(&mut world, &spec, liq, TRUE_RATE, HOUR, &[0.0; 3], |_, _, mk| {
            assert!((mk.oracle_price() - CAPPED_RATE).abs() < 1e-12, "{}", mk.oracle_price());
        });
        exits.push((m.exits, ev.iter().map(|e| (e.position, e.eth)).collect::<Vec<_>>()));
        if m.slippage_usd > 0.0 {
            assert!(m.final_price < TRUE_RATE * 0.9, "the sales moved the market: {}", m.final_price);
        }
    }
    assert_eq!(exits[0].0, 11);
    assert_eq!(exits[0], exits[1]);
}
