//! Conservation as properties, over every preset and behaviour: at every step the collateral
//! seized plus returned (plus in auctions and still in open positions) equals the initial
//! collateral plus top-ups, and no position's debt is ever negative.

use super::{cohort, env, run_returns, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{BadPrint, Liquidity};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    protocol: Protocol,
    positions: Vec<(f64, f64)>,
    returns: Vec<f64>,
    depth: Option<f64>,
    latency: u32,
    topup: Option<(f64, f64, u32)>,
    gas: Option<f64>,
    rate: f64,
    bad: Option<f64>,
    pool_share: f64,
    keepers: u32,
    close_factor: Option<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0usize..7, prop::collection::vec((0.05f64..100.0, 0.6f64..2.5), 1..25)),
        prop::collection::vec(-0.25f64..0.15, 1..25),
        prop_oneof![Just(None), (20.0f64..5000.0).prop_map(Some)],
        0u32..3,
        prop_oneof![Just(None), (1.0f64..1.5, 0.0f64..0.5, 0u32..3).prop_map(Some)],
        prop_oneof![Just(None), (0.0f64..300.0).prop_map(Some)],
        (0.0f64..0.5, prop_oneof![Just(None), (-0.3f64..0.2).prop_map(Some)]),
        (0.0f64..1.5, 0u32..4, prop_oneof![Just(None), (0.1f64..1.0).prop_map(Some)]),
    )
        .prop_map(
            |(
                (p, positions),
                returns,
                depth,
                latency,
                topup,
                gas,
                (rate, bad),
                (pool_share, keepers, cf),
            )| {
                Case {
                    protocol: Protocol::ALL[p],
                    positions,
                    returns,
                    depth,
                    latency,
                    topup,
                    gas,
                    rate,
                    bad,
                    pool_share,
                    keepers,
                    close_factor: cf,
                }
            },
        )
}

fn spec_of(c: &Case, total_debt: f64) -> CdpSpec {
    let mut s = CdpSpec::preset(c.protocol);
    s.latency_steps = c.latency;
    if let Some((target, extra, lat)) = c.topup {
        s.topup_target_hf = Some(target);
        s.topup_restore_hf = Some(target + extra);
        s.topup_latency_steps = lat;
    }
    let profit_ok = !matches!(c.protocol, Protocol::Maker2020 | Protocol::CompoundV3);
    if let (Some(g), true) = (c.gas, profit_ok) {
        s.profit_check = true;
        s.gas_usd = g;
    }
    s.borrow_rate = c.rate;
    if let Some(e) = c.bad {
        s.oracle_errors.push(BadPrint {
            start_hours: 2.0,
            ramp_in_hours: 1.0,
            hold_hours: 3.0,
            ramp_out_hours: 2.0,
            error: e,
        });
    }
    match c.protocol {
        Protocol::LiquityV1 | Protocol::LiquityV2 => s.stability_pool_usd = Some(c.pool_share * total_debt),
        Protocol::Maker2020 => {
            s.keepers = Some(c.keepers);
            s.congestion_auctions = Some(3.0);
        }
        Protocol::AaveV3 | Protocol::Generic => {
            s.close_factor = c.close_factor;
            // Smaller thresholds so that the partial and dust rules bind on these small positions.
            if c.protocol == Protocol::AaveV3 {
                s.partial_min_usd = Some(20_000.0);
                s.dust_usd = Some(10_000.0);
            }
        }
        _ => {}
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn collateral_is_conserved_and_debt_never_negative(c in case()) {
        let s0 = 2000.0;
        let lt = CdpSpec::preset(c.protocol).resolve().unwrap().lt;
        let positions: Vec<(f64, f64)> = c.positions.iter().map(|&(coll, hf)| (coll, coll * s0 * lt / hf)).collect();
        let total_debt: f64 = positions.iter().map(|p| p.1).sum();
        let spec = spec_of(&c, total_debt);
        spec.validate().unwrap();
        let mut world = CdpWorld::new(&spec, &cohort(&positions), &env(s0, HOUR, c.returns.len())).unwrap();
        let liquidity = match c.depth {
            Some(d) => Liquidity::Exponential { depth_eth: d },
            None => Liquidity::None,
        };
        let mut failures = Vec::new();
        let (m, _) = run_returns(&mut world, &spec, liquidity, s0, HOUR, &c.returns, |step, w, _| {
            let l = w.collateral_ledger();
            let lhs = l.initial + l.topped_up;
            let rhs = l.seized + l.returned + l.in_auction + l.open;
            if (lhs - rhs).abs() > 1e-9 * lhs {
                failures.push(format!("step {step}: {l:?}: {lhs} != {rhs}"));
            }
            for p in w.positions() {
                if !(p.debt_usd >= 0.0 && p.collateral >= 0.0) {
                    failures.push(format!("step {step}: negative position {p:?}"));
                }
            }
        });
        prop_assert!(failures.is_empty(), "{:?}", failures);
        let l = world.collateral_ledger();
        prop_assert!(m.exits >= m.positions_hit);
        prop_assert!(m.wrongful_exits <= m.exits);
        prop_assert!(m.eth_sold >= 0.0 && m.eth_sold <= l.seized * (1.0 + 1e-9) + 1e-12);
        prop_assert!(m.fees_usd >= -1e-6 * (1.0 + total_debt), "fees {}", m.fees_usd);
        prop_assert!(m.shortfall_usd >= 0.0 && m.slippage_usd >= 0.0 && m.oracle_loss_usd >= 0.0);
        prop_assert!(m.interest_usd.unwrap() >= 0.0);
    }
}
