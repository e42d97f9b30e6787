//! The P/N world's ledger: bookings computed by hand, conservation on every event and row, and
//! the rolls that wait (docs/MODEL.md, The P/N ledger).

use super::*;
use crate::pricing::bs_call;
use headroom_market::{Ledger, OracleModel, Party};
use proptest::prelude::*;

/// P's Black-Scholes value per unit, `x - Call(x, K, tau)` (sigma 0.9, rate 0).
fn p_bs(x: f64, k: f64, tau: f64) -> f64 {
    x - bs_call(x, k, 0.9, tau, 0.0)
}

fn near(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0)
}

/// One holder, 10 units at K = 2500, rolls at x = 3000 in the first hour (the figures of
/// `hand_computed_roll`), with gas of 5 USD a transaction. By hand:
/// premium 993.6636000990984 (borrower to lender); fee 0.003 V = 72.02354755125283 (lender to
/// takers); gas 5 (lender to validators); slippage of the hedge sale 0.00586102351118889 (lender
/// to market). The P holder's result marks its 16.011662614583138 units of P(1500) at the final
/// price 2999.994069899265 with 30 days left, less what it paid, less its P value at the start
/// 25000 - 993.66...; the N holder keeps N(2500) with 30 days less an hour left.
#[test]
fn one_roll_books_by_hand() {
    let spec = PnSpec {
        maturity_days: Some(30.0),
        pricing_vol: Some(0.9),
        p_drift_every_steps: 0,
        ..PnSpec::default()
    };
    let fr = Frictions { gas_usd: 5.0, frontrun_share: 0.0 };
    let (m, _, ev) = run_with(&spec, &one_holder(10.0, 2500.0), &[3000.0], true, fr);
    let (premium, fee, slip, gas) =
        (993.663_600_099_098_4, 72.023_547_551_252_83, 0.005_861_023_511_188_89, 5.0);
    let l = m.ledger;
    assert!(near(l.borrower_usd, -premium, 1e-9), "{l:?}");
    assert!(near(l.lender_usd, premium - fee - slip - gas, 1e-9), "{l:?}");
    assert!(near(l.takers_usd, fee, 1e-9) && near(l.validators_usd, gas, 1e-12), "{l:?}");
    assert!((l.market_usd - slip).abs() < 1e-9, "{l:?}");
    assert_eq!(l.protocol_usd, 0.0);
    assert!(l.balances(1e-12));
    assert!(near(l.cost(), fee + slip + gas, 1e-9), "the cost is what the P holder paid");
    // The roll's row books fee and gas, the hedge's row the slippage.
    let (roll, hedge) = (&ev[0], &ev[1]);
    assert!(near(roll.ledger.lender_usd, -(fee + gas), 1e-9) && near(roll.ledger.takers_usd, fee, 1e-9));
    assert_eq!(roll.ledger.validators_usd, gas);
    assert!(
        (hedge.ledger.market_usd - slip).abs() < 1e-9 && hedge.ledger.lender_usd == -hedge.ledger.market_usd
    );
    // Results marked at the final price.
    let (x_f, u_new) = (2_999.994_069_899_265, 16.011_662_614_583_138);
    // Differences of figures of the deposit's size (25,000): checked to 1e-9 of it.
    let p0 = 10.0 * p_bs(3000.0, 2500.0, 30.0 / 365.0);
    let lender = u_new * p_bs(x_f, 1500.0, 30.0 / 365.0) - fee - slip - gas - p0;
    assert!((m.lender_pnl_usd - lender).abs() < 25e-6, "{} vs {lender}", m.lender_pnl_usd);
    let borrower = 10.0 * (x_f - p_bs(x_f, 2500.0, 30.0 / 365.0 - HOUR)) - (30_000.0 - p0);
    assert!((m.borrower_pnl_usd - borrower).abs() < 25e-6, "{} vs {borrower}", m.borrower_pnl_usd);
    assert_eq!(m.deferred, 0);
}

/// Hold, K = 2500, 10 units, maturity 2 h, settled at maturity with a 2% error: x_s = 3264
/// against x_T = 3200 (`settlement_transfer_by_hand`). P receives 10 x 2500 / 3264 units worth
/// 24,509.803921568627 at 3200 instead of 25,000: the transfer to P is -490.19607843137254,
/// booked from P holder to borrower; nothing leaves the pair (cost 0). Each side's result: what
/// it was paid minus its value at the start; together they make the deposit's gain, 32,000 -
/// 30,000.
#[test]
fn settlement_error_books_by_hand() {
    let spec = PnSpec {
        policy: RollPolicy::Hold,
        maturity_days: Some(2.0 / 24.0),
        settlement: SettlementSpec { error: 0.02, ..Default::default() },
        p_drift_every_steps: 0,
        ..PnSpec::default()
    };
    let (m, _, ev) = run_manual(&spec, &one_holder(10.0, 2500.0), &[3100.0, 3200.0, 3300.0], true);
    let p0 = 10.0 * p_bs(3000.0, 2500.0, 2.0 * HOUR);
    let premium = 25_000.0 - p0;
    let t = -490.196_078_431_372_54;
    let l = m.ledger;
    assert!(near(l.lender_usd, premium + t, 1e-9) && near(l.borrower_usd, -premium - t, 1e-9), "{l:?}");
    assert_eq!((l.takers_usd, l.market_usd, l.validators_usd, l.cost()), (0.0, 0.0, 0.0, 0.0));
    assert!(near(m.oracle_loss_usd, -t, 1e-9), "reported absolute");
    assert_eq!(ev.len(), 1);
    assert!(near(ev[0].ledger.lender_usd, t, 1e-9) && near(ev[0].ledger.borrower_usd, -t, 1e-9));
    let paid_p = 10.0 * 3200.0 * 2500.0 / 3264.0;
    assert!(near(m.lender_pnl_usd, paid_p - p0, 1e-9), "{} vs {}", m.lender_pnl_usd, paid_p - p0);
    let paid_n = 10.0 * 3200.0 - paid_p;
    assert!(near(m.borrower_pnl_usd, paid_n - (30_000.0 - p0), 1e-9));
    assert!(near(m.lender_pnl_usd + m.borrower_pnl_usd, 2000.0, 1e-9));
}

/// With `max_roll_rounds = 1` the first step of B2 rolls the 89 holders of its first round
/// only; every holder its sale pushes under the trigger waits for the next step and is counted.
#[test]
fn deferred_counts_the_rolls_that_wait() {
    let spec = PnSpec { max_roll_rounds: 1, ..b2::spec() };
    let cohort = b2::cohort();
    let (m, world, _) = run_manual(&spec, &cohort, &[3000.0], false);
    assert_eq!(m.exits, 89);
    let x1 = m.final_price;
    let want = cohort.borrowers.iter().filter(|b| x1 / b.strike() < 1.25).count() as u64 - 89;
    assert!(want > 0);
    assert_eq!(m.deferred, want);
    assert_eq!(world.round_cap_hits(), 1);
    // Without the bound nothing waits.
    let (m, _, _) = run_manual(&b2::spec(), &cohort, &[3000.0], false);
    assert_eq!(m.deferred, 0);
}

/// A spec for the conservation property: every payoff, policy, settlement error and execution.
fn conservation_spec(
    policy: u8,
    payoff: u8,
    error: f64,
    delay: bool,
    exec: u8,
    buy_back: bool,
    osm: bool,
) -> PnSpec {
    let execution = match exec {
        0 => Execution::Market {},
        1 => Execution::Twap { slices: 3 },
        2 => Execution::Passive { spread: 0.003, max_wait_steps: 5 },
        _ => Execution::Auction { max_discount: 0.02, ramp_steps: 6 },
    };
    let base = PnSpec {
        pricing_vol: Some(0.9),
        maturity_days: Some(4.0),
        settlement: SettlementSpec {
            error,
            window_hours: 3.0,
            delay_hours: if delay { 5.0 } else { 0.0 },
            ..Default::default()
        },
        p_drift_every_steps: 12,
        execution,
        hedge_buy_back: buy_back,
        roll_oracle: if osm { OracleModel::Osm { hop_hours: 1.0 } } else { OracleModel::Spot },
        ..PnSpec::default()
    };
    match (payoff, policy) {
        (1, _) => PnSpec {
            policy: RollPolicy::Hold,
            payoff: PayoffShape::Linear,
            payoff_lower: Some(0.8),
            payoff_upper: Some(1.5),
            ..base
        },
        (2, _) => PnSpec { policy: RollPolicy::Hold, payoff: PayoffShape::Binary, ..base },
        (_, 0) => PnSpec { policy: RollPolicy::Hold, ..base },
        (_, 1) => PnSpec { roll_before_days: 1.0, ..base },
        (_, 2) => PnSpec { policy: RollPolicy::Band, band_delta: Some(0.3), roll_target: 1.5, ..base },
        _ => PnSpec { policy: RollPolicy::Calendar, calendar_every_steps: Some(17), ..base },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every event's bookings, and every path's ledger, sum to zero within 1e-9 of the largest
    /// term, for every payoff, policy, settlement error, roll oracle, execution style (with and
    /// without buy-backs), friction and hedge rebalancing (never, every step, every 5); and the
    /// events' bookings plus the premium make the path's ledger when every settlement has a
    /// row (no publication delay cut by the horizon).
    #[test]
    fn the_ledger_balances_on_every_event_and_row(
        policy in 0u8..4,
        payoff in 0u8..3,
        error in -0.05f64..0.05,
        delay in any::<bool>(),
        exec in 0u8..4,
        buy_back in any::<bool>(),
        osm in any::<bool>(),
        gas in prop_oneof![Just(0.0), Just(7.5)],
        frontrun in prop_oneof![Just(0.0), Just(0.4)],
        seed in 0u64..1000,
        hedge in prop_oneof![Just(None), Just(Some(1)), Just(Some(5))],
    ) {
        let mut spec = conservation_spec(policy, payoff, error, delay, exec, buy_back, osm);
        if spec.policy != RollPolicy::Hold {
            spec.hedge_every_steps = hedge;
        }
        let mut rng = stream(seed, 0, Purpose::Setup);
        let cohort = Cohort {
            borrowers: (0..20)
                .map(|i| {
                    let c: f64 = rng.random_range(1.0..500.0);
                    let k: f64 = rng.random_range(1500.0..2900.0);
                    Borrower { id: i, collateral: c, debt_usd: c * k }
                })
                .collect(),
        };
        let mut x = 3000.0;
        let prices: Vec<f64> = (0..150)
            .map(|t| {
                let z: f64 = rng.sample(rand_distr::StandardNormal);
                x *= (0.9 * HOUR.sqrt() * z).exp() * if t % 50 == 49 { 0.85 } else { 1.0 };
                x
            })
            .collect();
        let fr = Frictions { gas_usd: gas, frontrun_share: frontrun };
        let (m, _, ev) = run_with(&spec, &cohort, &prices, true, fr);
        prop_assert!(m.ledger.balances(1e-9), "{:?}", m.ledger);
        let mut sum = Ledger::default();
        sum.transfer(Party::Borrower, Party::Lender, m.premium_usd.unwrap());
        for e in &ev {
            prop_assert!(e.ledger.balances(1e-9), "{e:?}");
            sum.add(&e.ledger);
        }
        if !delay {
            for p in Party::ALL {
                let (a, b) = (sum.get(p), m.ledger.get(p));
                prop_assert!((a - b).abs() <= 1e-9 * m.ledger.largest().max(1.0), "{p:?}: events {a} vs row {b}");
            }
        }
        prop_assert!(m.lender_pnl_usd.is_finite() && m.borrower_pnl_usd.is_finite());
    }
}
