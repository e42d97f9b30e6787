//! Every numeric `[cdp]` key at both ends of its documented range (and the oracle's and bad
//! prints' keys) on a small experiment: every run ends, within a time limit, for every preset the
//! key applies to.

use super::{cohort, env, run_returns, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{BadPrint, Liquidity, OracleModel};
use std::sync::mpsc;
use std::time::Duration;

/// The smallest positive f64 (a subnormal): the lower end of every open interval `(0, ..`.
const TINY: f64 = 5e-324;
/// The largest f64 below 1: the upper end of every interval `.., 1)`.
const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;
/// The upper end of every `>= 0` or `> 0` key (finite values only).
const HUGE: f64 = f64::MAX;

type Set = fn(&mut CdpSpec, f64);

/// (key, presets it applies to (empty: all), its two ends, how to set it).
fn keys() -> Vec<(&'static str, Vec<Protocol>, [f64; 2], Set)> {
    use Protocol::*;
    let direct = vec![Generic, AaveV3];
    let maker = vec![Maker2020, Maker2021];
    let liquity = vec![LiquityV1, LiquityV2];
    let profit = vec![Generic, AaveV3, Maker2021, LiquityV1, LiquityV2];
    vec![
        ("lt", vec![], [TINY, 1.0], |s, v| {
            s.lt = Some(v);
            if s.protocol == AaveV3 {
                // lt (1 + bonus) <= 1: at lt = 1 the bonus must be 0.
                s.bonus = Some((1.0 / v - 1.0).min(0.05));
            }
        }),
        ("bonus", vec![Generic], [0.0, 1.0], |s, v| s.bonus = Some(v)),
        // Aave: lt (1 + bonus) <= 1, so bonus 1 needs lt 0.5.
        ("bonus", vec![AaveV3], [0.0, 1.0], |s, v| {
            s.bonus = Some(v);
            s.lt = Some(0.5);
        }),
        ("close_factor", direct.clone(), [TINY, 1.0], |s, v| s.close_factor = Some(v)),
        ("protocol_fee", direct.clone(), [0.0, 1.0], |s, v| s.protocol_fee = Some(v)),
        ("full_close_hf", vec![AaveV3], [TINY, 1.0], |s, v| s.full_close_hf = Some(v)),
        ("partial_min_usd", vec![AaveV3], [0.0, HUGE], |s, v| s.partial_min_usd = Some(v)),
        ("dust_usd", vec![AaveV3], [0.0, HUGE], |s, v| s.dust_usd = Some(v)),
        ("chop", maker.clone(), [0.0, 1.0], |s, v| s.chop = Some(v)),
        ("keeper_margin", maker.clone(), [0.0, BELOW_ONE], |s, v| s.keeper_margin = Some(v)),
        ("flip_ttl_minutes", vec![Maker2020], [TINY, HUGE], |s, v| s.flip_ttl_minutes = Some(v)),
        ("keepers", vec![Maker2020], [0.0, 1000.0], |s, v| s.keepers = Some(v as u32)),
        ("congestion_auctions", vec![Maker2020], [TINY, HUGE], |s, v| s.congestion_auctions = Some(v)),
        ("lone_bid_fraction", vec![Maker2020], [0.0, 1.0], |s, v| s.lone_bid_fraction = Some(v)),
        ("buf", vec![Maker2021], [1.0, 100.0], |s, v| s.buf = Some(v)),
        ("cut", vec![Maker2021], [TINY, BELOW_ONE], |s, v| s.cut = Some(v)),
        ("step_seconds", vec![Maker2021], [TINY, HUGE], |s, v| s.step_seconds = Some(v)),
        ("tail_minutes", vec![Maker2021], [TINY, HUGE], |s, v| s.tail_minutes = Some(v)),
        ("cusp", vec![Maker2021], [TINY, BELOW_ONE], |s, v| s.cusp = Some(v)),
        ("tip_usd", vec![Maker2021], [0.0, HUGE], |s, v| s.tip_usd = Some(v)),
        ("chip", vec![Maker2021], [0.0, 1.0], |s, v| s.chip = Some(v)),
        ("stability_pool_usd", liquity.clone(), [0.0, HUGE], |s, v| s.stability_pool_usd = Some(v)),
        ("pool_sell_fraction", liquity.clone(), [0.0, 1.0], |s, v| s.pool_sell_fraction = Some(v)),
        ("gas_comp_share", liquity.clone(), [0.0, BELOW_ONE], |s, v| s.gas_comp_share = Some(v)),
        ("gas_comp_cap_eth", vec![LiquityV2], [TINY, HUGE], |s, v| s.gas_comp_cap_eth = Some(v)),
        ("gas_comp_usd", liquity.clone(), [0.0, HUGE], |s, v| s.gas_comp_usd = Some(v)),
        ("gas_comp_eth", liquity.clone(), [0.0, HUGE], |s, v| s.gas_comp_eth = Some(v)),
        ("penalty_sp", vec![LiquityV2], [0.0, 1.0], |s, v| s.penalty_sp = Some(v)),
        ("penalty_redistribution", vec![LiquityV2], [0.0, 1.0], |s, v| s.penalty_redistribution = Some(v)),
        ("ccr", vec![LiquityV1], [1.0, 10.0], |s, v| s.ccr = Some(v)),
        ("liquidation_factor", vec![CompoundV3], [TINY, 1.0], |s, v| s.liquidation_factor = Some(v)),
        ("store_front_price_factor", vec![CompoundV3], [0.0, 1.0], |s, v| {
            s.store_front_price_factor = Some(v)
        }),
        ("latency_steps", vec![], [0.0, u32::MAX as f64], |s, v| s.latency_steps = v as u32),
        ("max_liquidations_per_step", vec![], [1.0, 1e9], |s, v| {
            s.max_liquidations_per_step = Some(v as u64)
        }),
        ("gas_usd", profit.clone(), [0.0, HUGE], |s, v| {
            s.profit_check = Some(true);
            s.gas_usd = Some(v);
        }),
        ("profit_recheck_move", profit, [TINY, BELOW_ONE], |s, v| {
            s.profit_check = Some(true);
            s.profit_recheck_move = Some(v);
        }),
        ("topup_target_hf", vec![], [1.0, 100.0], |s, v| s.topup_target_hf = Some(v)),
        ("topup_restore_hf", vec![], [1.0, 100.0], |s, v| {
            s.topup_target_hf = Some(1.0);
            s.topup_restore_hf = Some(v);
        }),
        ("topup_latency_steps", vec![], [0.0, u32::MAX as f64], |s, v| {
            s.topup_target_hf = Some(1.2);
            s.topup_latency_steps = v as u32;
        }),
        ("borrow_rate", vec![], [0.0, 10.0], |s, v| s.borrow_rate = v),
        ("oracle.lag_hours", vec![], [0.0, 87_600.0], |s, v| {
            s.oracle = Some(OracleModel::Lag { lag_hours: v })
        }),
        ("oracle.deviation", vec![], [0.0, 1.0], |s, v| {
            s.oracle = Some(OracleModel::Heartbeat { deviation: v, heartbeat_hours: 1.0 })
        }),
        ("oracle.heartbeat_hours", vec![], [TINY, 87_600.0], |s, v| {
            s.oracle = Some(OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: v })
        }),
        ("oracle.window_hours", vec![], [TINY, 87_600.0], |s, v| {
            s.oracle = Some(OracleModel::Twap { window_hours: v })
        }),
        ("oracle.hop_hours", vec![], [TINY, 87_600.0], |s, v| {
            s.oracle = Some(OracleModel::Osm { hop_hours: v })
        }),
        ("oracle.snapshot_ratio", vec![], [TINY, HUGE], |s, v| {
            s.oracle =
                Some(OracleModel::Capo { snapshot_ratio: v, max_yearly_growth: 0.1, snapshot_age_days: 7.0 })
        }),
        ("oracle.max_yearly_growth", vec![], [0.0, 10.0], |s, v| {
            s.oracle = Some(OracleModel::Capo {
                snapshot_ratio: 1900.0,
                max_yearly_growth: v,
                snapshot_age_days: 7.0,
            })
        }),
        ("oracle.snapshot_age_days", vec![], [0.0, 36_500.0], |s, v| {
            s.oracle = Some(OracleModel::Capo {
                snapshot_ratio: 1900.0,
                max_yearly_growth: 0.1,
                snapshot_age_days: v,
            })
        }),
        ("oracle_errors.error", vec![], [-BELOW_ONE, HUGE], |s, v| s.oracle_errors.push(print(v, 1.0, 2.0))),
        ("oracle_errors.start_hours", vec![], [0.0, HUGE], |s, v| s.oracle_errors.push(print(-0.3, v, 2.0))),
        ("oracle_errors.hold_hours", vec![], [0.0, HUGE], |s, v| s.oracle_errors.push(print(-0.3, 1.0, v))),
        ("oracle_errors.ramp_hours", vec![], [0.0, HUGE], |s, v| {
            s.oracle_errors.push(BadPrint { ramp_in_hours: v, ramp_out_hours: v, ..print(-0.3, 1.0, 2.0) })
        }),
    ]
}

fn print(error: f64, start_hours: f64, hold_hours: f64) -> BadPrint {
    BadPrint { start_hours, ramp_in_hours: 0.0, hold_hours, ramp_out_hours: 0.0, error }
}

/// Twelve positions from HF 0.5 to 2.7 at the preset's own LT, on a market 20 units deep that
/// falls, recovers and crashes over 24 hourly steps.
fn run(spec: CdpSpec) {
    let lt = CdpSpec::preset(spec.protocol).resolve().unwrap().lt;
    let positions: Vec<(f64, f64)> =
        (0..12).map(|i| (1.0 + i as f64, (1.0 + i as f64) * 2000.0 * lt / (0.5 + 0.2 * i as f64))).collect();
    let mut returns = vec![-0.1; 6];
    returns.extend([0.05; 6]);
    returns.extend([-0.2; 4]);
    returns.extend([0.0; 8]);
    let mut w = CdpWorld::new(&spec, &cohort(&positions), &env(2000.0, HOUR, returns.len())).unwrap();
    let liq = Liquidity::Exponential { depth_eth: 20.0 };
    run_returns(&mut w, &spec, liq, 2000.0, HOUR, &returns, |_, _, _| {});
}

#[test]
fn every_key_at_both_ends_of_its_range_finishes() {
    let mut cases = 0;
    for (key, presets, ends, set) in keys() {
        let presets = if presets.is_empty() { Protocol::ALL.to_vec() } else { presets };
        for protocol in presets {
            for v in ends {
                let mut spec = CdpSpec::preset(protocol);
                set(&mut spec, v);
                spec.validate().unwrap_or_else(|e| panic!("{key} = {v} on {protocol}: {e}"));
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    run(spec);
                    let _ = tx.send(());
                });
                // A run of 24 steps takes milliseconds; a step that does not end fails here.
                rx.recv_timeout(Duration::from_secs(60))
                    .unwrap_or_else(|_| panic!("{key} = {v} on {protocol}: the run did not end within 60 s"));
                cases += 1;
            }
        }
    }
    assert!(cases > 150, "{cases} cases");
}
