//! Conservation as properties, over every preset, oracle and behaviour: at every step the
//! collateral seized plus returned (plus in auctions and still in open positions) equals the
//! initial collateral plus top-ups, and no position's debt is ever negative; on every event and
//! on every path the six party columns of the ledger sum to zero, and the path's ledger is its
//! events' plus the interest and the sales.

use super::{cohort, env_with, run_returns, HOUR};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{BadPrint, EventKind, Ledger, Liquidity, OracleModel};
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
    oracle: usize,
    /// `[market] gas_usd` and `frontrun_share`.
    frictions: (f64, f64),
}

/// The oracles the properties run under: spot, a lag, a heartbeat, a TWAP and an OSM.
fn oracle_model(i: usize) -> OracleModel {
    match i {
        0 => OracleModel::Spot,
        1 => OracleModel::Lag { lag_hours: 2.0 },
        2 => OracleModel::Heartbeat { deviation: 0.02, heartbeat_hours: 3.0 },
        3 => OracleModel::Twap { window_hours: 3.0 },
        _ => OracleModel::Osm { hop_hours: 1.0 },
    }
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
        (0.0f64..1.5, 0u32..4, prop_oneof![Just(None), (0.1f64..1.0).prop_map(Some)], 0usize..5),
        prop_oneof![Just((0.0, 0.0)), (0.0f64..200.0, 0.0f64..1.0)],
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
                (pool_share, keepers, cf, oracle),
                frictions,
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
                    oracle,
                    frictions,
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
        s.profit_check = Some(true);
        s.gas_usd = Some(g);
    }
    s.borrow_rate = c.rate;
    s.oracle = Some(oracle_model(c.oracle));
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

fn sum(events: &[headroom_market::Event]) -> Ledger {
    let mut l = Ledger::default();
    for e in events {
        l.add(&e.ledger);
    }
    l
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * scale.max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn collateral_and_the_ledger_are_conserved(c in case()) {
        let s0 = 2000.0;
        let lt = CdpSpec::preset(c.protocol).resolve().unwrap().lt;
        let positions: Vec<(f64, f64)> = c.positions.iter().map(|&(coll, hf)| (coll, coll * s0 * lt / hf)).collect();
        let total_debt: f64 = positions.iter().map(|p| p.1).sum();
        let spec = spec_of(&c, total_debt);
        spec.validate().unwrap();
        let mut world = CdpWorld::new(&spec, &cohort(&positions), &env_with(s0, HOUR, c.returns.len(), c.frictions.0, c.frictions.1)).unwrap();
        let liquidity = match c.depth {
            Some(d) => Liquidity::Exponential { depth_eth: d },
            None => Liquidity::None,
        };
        let mut failures = Vec::new();
        let (m, events) = run_returns(&mut world, &spec, liquidity, s0, HOUR, &c.returns, |step, w, _| {
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
        // Every event, and the path, balances.
        for e in &events {
            prop_assert!(e.ledger.balances(1e-9), "{:?}", e);
        }
        let l = &m.ledger;
        prop_assert!(l.balances(1e-9), "{:?}", l);
        // The path's ledger is its events' (gas included), plus the interest (borrowers to the
        // lender) and the sales (the sellers' slippage, less a sandwich's searcher's gain, to the
        // market).
        let ev = sum(&events);
        let interest = m.interest_usd.unwrap();
        let scale = l.largest().max(ev.largest()).max(interest).max(m.slippage_usd);
        prop_assert!(close(l.borrower_usd, ev.borrower_usd - interest, scale), "{l:?} {ev:?}");
        prop_assert!(close(l.lender_usd, ev.lender_usd + interest, scale), "{l:?} {ev:?}");
        prop_assert!(close(l.protocol_usd, ev.protocol_usd, scale), "{l:?} {ev:?}");
        prop_assert!(close(l.validators_usd, ev.validators_usd, scale), "{l:?} {ev:?}");
        prop_assert!(close(l.takers_usd + l.market_usd, ev.takers_usd, scale), "{l:?} {ev:?}");
        prop_assert!(l.market_usd <= m.slippage_usd * (1.0 + 1e-9) + 1e-9, "{l:?} {}", m.slippage_usd);
        if c.frictions.1 == 0.0 {
            prop_assert!(close(l.market_usd, m.slippage_usd, scale), "{l:?} {ev:?}");
        }
        // Gas: one transaction for every liquidation (kicks included), take, settlement or
        // reset.
        let txs = events.iter().filter(|e| e.kind != EventKind::TopUp && e.kind != EventKind::AuctionOpen).count();
        prop_assert!(close(l.validators_usd, c.frictions.0 * txs as f64, scale), "{} txs: {l:?}", txs);
        // The breakdown: the incentive at the oracle plus the mispricing is what the takers
        // (and, for a direct liquidation, the protocol's fee share) gained on the events, before
        // gas.
        let direct = matches!(c.protocol, Protocol::Generic | Protocol::AaveV3);
        let gained = ev.takers_usd + ev.validators_usd + if direct { ev.protocol_usd } else { 0.0 };
        prop_assert!(close(m.fees_usd + m.oracle_loss_usd, gained, scale), "fees {} + oracle {} vs {gained}", m.fees_usd, m.oracle_loss_usd);
        let l = world.collateral_ledger();
        prop_assert!(m.exits >= m.positions_hit);
        prop_assert!(m.wrongful_exits <= m.exits);
        prop_assert!(m.eth_sold >= 0.0 && m.eth_sold <= l.seized * (1.0 + 1e-9) + 1e-12);
        prop_assert!(m.shortfall_usd >= 0.0 && m.slippage_usd >= 0.0);
        prop_assert!(m.interest_usd.unwrap() >= 0.0);
        // Auctions still open at the end are reported.
        let open = events.iter().filter(|e| e.kind == EventKind::AuctionOpen).count();
        prop_assert_eq!(open > 0, l.in_auction > 0.0);
    }

    /// On a flat market without impact, where only bad prints liquidate, each side's result over
    /// the path is exactly its ledger column (no price move to mark). Liquity's redistributions
    /// are booked at the receiving troves' total (`c_red p - d_red`), which their own limited
    /// liability may not follow: it is left out here and checked by hand in the presets. So is
    /// interest: booked as a transfer on every open debt, it is a claim only on solvent ones.
    #[test]
    fn on_a_flat_market_each_sides_result_is_its_ledger_column(c in case()) {
        prop_assume!(!matches!(c.protocol, Protocol::LiquityV1 | Protocol::LiquityV2));
        let s0 = 2000.0;
        let lt = CdpSpec::preset(c.protocol).resolve().unwrap().lt;
        let positions: Vec<(f64, f64)> = c.positions.iter().map(|&(coll, hf)| (coll, coll * s0 * lt / hf)).collect();
        let total_debt: f64 = positions.iter().map(|p| p.1).sum();
        let mut case = c.clone();
        case.bad = Some(c.bad.unwrap_or(-0.25));
        case.rate = 0.0;
        let spec = spec_of(&case, total_debt);
        let mut world = CdpWorld::new(&spec, &cohort(&positions), &env_with(s0, HOUR, c.returns.len(), c.frictions.0, c.frictions.1)).unwrap();
        let flat = vec![0.0; c.returns.len()];
        let (m, _) = run_returns(&mut world, &spec, Liquidity::None, s0, HOUR, &flat, |_, _, _| {});
        let scale = m.ledger.largest().max(total_debt);
        prop_assert!(close(m.borrower_pnl_usd, m.ledger.borrower_usd, scale), "{} vs {:?}", m.borrower_pnl_usd, m.ledger);
        prop_assert!(close(m.lender_pnl_usd, m.ledger.lender_usd, scale), "{} vs {:?}", m.lender_pnl_usd, m.ledger);
    }
}
