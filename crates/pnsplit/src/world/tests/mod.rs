use super::*;
use crate::b2;
use crate::pricing::p_value_delta;
use crate::settlement::{settle, Manipulation, SettlementMethod, SettlementSpec};
use crate::spec::{Execution, PayoffShape};
use headroom_market::{stream, Borrower, Liquidity, OracleModel, Purpose};
use headroom_market::{Event, EventKind, Frictions};
use rand::RngExt;

mod execution;
mod hedge;
mod ledger;
mod reference;

const HOUR: f64 = 1.0 / 8760.0;

fn metric_values(m: &PathMetrics) -> [f64; 11] {
    [
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
        m.p_drift.unwrap_or(-1.0),
    ]
}

/// Runs one path of `spec` on `cohort` whose exogenous price is `prices[t]` after step `t`
/// (start 3000), with exponential impact of depth 1e6 and steps of one hour.
fn run_manual(
    spec: &PnSpec,
    cohort: &Cohort,
    prices: &[f64],
    events: bool,
) -> (PathMetrics, PnWorld, Vec<Event>) {
    run_with(spec, cohort, prices, events, Frictions::default())
}

/// [`run_manual`] with frictions.
fn run_with(
    spec: &PnSpec,
    cohort: &Cohort,
    prices: &[f64],
    events: bool,
    frictions: Frictions,
) -> (PathMetrics, PnWorld, Vec<Event>) {
    let env =
        WorldEnv { steps: prices.len(), dt_years: HOUR, start_price: 3000.0, process_vol: 0.9, frictions };
    let mut world = PnWorld::new(spec, cohort, &env).unwrap();
    let mut market = WorldMarket::new(
        3000.0,
        Liquidity::Exponential { depth_eth: 1e6 },
        None,
        &spec.roll_oracle,
        &spec.roll_oracle_errors,
        HOUR,
    );
    let (m, events) = drive(&mut world, &mut market, prices, 1, events);
    (m, world, events)
}

/// Steps `world` on `market` (starting at 3,000) through hourly closes `prices`, the world's
/// stream seeded by `rng_seed`: the path's metrics (its lowest and final price included) and,
/// when `events`, its event rows.
fn drive(
    world: &mut PnWorld,
    market: &mut WorldMarket,
    prices: &[f64],
    rng_seed: u64,
    events: bool,
) -> (PathMetrics, Vec<Event>) {
    let mut sink = EventSink::new(events);
    let mut rng = stream(rng_seed, 0, Purpose::World(1));
    world.begin_path(market);
    let mut ctx = StepCtx { step: 0, steps: prices.len(), dt_years: HOUR, time_years: 0.0 };
    let mut prev = 3000.0;
    for (t, &p) in prices.iter().enumerate() {
        ctx.step = t;
        ctx.time_years = (t + 1) as f64 * HOUR;
        market.begin_step((p / prev).ln(), ctx.time_years);
        prev = p;
        world.step(&ctx, market, &mut rng, &mut sink);
    }
    let mut m = PathMetrics::default();
    world.end_path(&ctx, market, &mut m);
    m.min_price = market.min_price();
    m.final_price = market.price();
    (m, sink.take())
}

fn one_holder(collateral: f64, strike: f64) -> Cohort {
    Cohort { borrowers: vec![Borrower { id: 7, collateral, debt_usd: collateral * strike }] }
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300)
}

/// One holder, 10 units at K = 2500, rolls at x = 3000 (x / K = 1.2 < 1.25) in the first hour.
/// Expected figures computed by hand (Black-Scholes with erfc, sigma 0.9, rate 0):
/// tau = 30/365 - 1/8760; P(3000, 2500, tau) = 2400.784918375094, Delta = 0.20157039606958937;
/// V = 24007.849183750943; K' = 1500, P(3000, 1500, 30/365) = 1499.397642933409,
/// Delta' = 0.00243583461600347; u' = 16.011662614583138;
/// shed = 10 Delta - u' Delta' = 1.9767021986395235 ETH; new price 3000 e^{-shed/1e6}
/// = 2999.994069899265; slippage 3000 (shed + 1e6 expm1(-shed/1e6)) = 0.00586102351118889;
/// fee 0.003 V = 72.02354755125283; premium 25000 - 10 P(3000, 2500, 30/365) = 993.6636000990984.
#[test]
fn hand_computed_roll() {
    let spec = PnSpec {
        maturity_days: Some(30.0),
        pricing_vol: Some(0.9),
        p_drift_every_steps: 0,
        ..PnSpec::default()
    };
    let (m, world, ev) = run_manual(&spec, &one_holder(10.0, 2500.0), &[3000.0], true);
    assert_eq!((m.exits, m.positions_hit, m.max_cascade_rounds, m.wrongful_exits), (1, 1, 1, 0));
    assert!(close(m.eth_sold, 1.976_702_198_639_523_5, 1e-9), "{}", m.eth_sold);
    assert!(close(m.fees_usd, 72.023_547_551_252_83, 1e-9), "{}", m.fees_usd);
    assert!(close(m.slippage_usd, 0.005_861_023_511_188_89, 1e-6), "{}", m.slippage_usd);
    assert!(close(m.final_price, 2_999.994_069_899_265, 1e-12), "{}", m.final_price);
    assert!(close(m.premium_usd.unwrap(), 993.663_600_099_098_4, 1e-9), "{:?}", m.premium_usd);
    assert_eq!(m.shortfall_usd, 0.0);
    assert_eq!(m.oracle_loss_usd, 0.0);
    assert!(close(world.premium_usd(), 993.663_600_099_098_4, 1e-9));
    // One roll event with the same numbers.
    assert_eq!(ev.len(), 2, "{ev:?}");
    let e = &ev[0];
    assert_eq!((e.kind, e.position, e.step, e.round), (EventKind::Roll, 7, 0, 0));
    // Then its hedge sale.
    assert_eq!((ev[1].kind, ev[1].position, ev[1].round), (EventKind::Hedge, HEDGE_POSITION, 0));
    assert!(close(ev[1].eth, 1.976_702_198_639_523_5, 1e-9));
    assert!(close(e.usd, 24_007.849_183_750_943, 1e-9) && close(e.eth, 1.976_702_198_639_523_5, 1e-9));
    assert!(close(e.oracle_price, 3000.0, 1e-12), "{}", e.oracle_price);
}

/// The marks of the roll above: at x = 3000 one hour in, the rolled P (u' units of P(1500) with
/// 30 days to run) is worth V by construction, and so is the deposit's own P(2500) (V is its
/// value then); at the start the deposit's P is 25,000 less the premium.
#[test]
fn p_values_of_the_hand_computed_roll() {
    let spec = PnSpec {
        maturity_days: Some(30.0),
        pricing_vol: Some(0.9),
        p_drift_every_steps: 0,
        ..PnSpec::default()
    };
    let (_, world, _) = run_manual(&spec, &one_holder(10.0, 2500.0), &[3000.0], false);
    let v = 24_007.849_183_750_943;
    assert!(close(world.p_value_usd(HOUR, 3000.0), v, 1e-9), "{}", world.p_value_usd(HOUR, 3000.0));
    assert!(close(world.deposit_p_value_usd(HOUR, 3000.0), v, 1e-9));
    assert!(close(world.deposit_p_value_usd(0.0, 3000.0), 25_000.0 - 993.663_600_099_098_4, 1e-9));
    // After maturity: the payoff min(x, K) per unit.
    assert!(close(world.deposit_p_value_usd(31.0 / 365.0, 2000.0), 20_000.0, 1e-12));
    assert!(close(world.deposit_p_value_usd(31.0 / 365.0, 3000.0), 25_000.0, 1e-12));
}

/// Patient execution over 4 steps (no price change): the same shed, sold in four slices of
/// shed/4 at the prices each slice leaves: slippage sum_j x_j (q + Q expm1(-q/Q)) with
/// x_j = 3000 e^{-j q / Q}, by hand 0.001465255514578592 (a quarter of the immediate 0.00586).
#[test]
fn patient_roll_by_hand() {
    let spec = PnSpec {
        maturity_days: Some(30.0),
        pricing_vol: Some(0.9),
        p_drift_every_steps: 0,
        execution: Execution::Twap { slices: 4 },
        ..PnSpec::default()
    };
    let (m, _, _) = run_manual(&spec, &one_holder(10.0, 2500.0), &[3000.0; 4], false);
    assert_eq!(m.exits, 1);
    assert!(close(m.eth_sold, 1.976_702_198_639_523_5, 1e-9), "{}", m.eth_sold);
    assert!(close(m.slippage_usd, 0.001_465_255_514_578_592, 1e-6), "{}", m.slippage_usd);
    assert!(close(m.final_price, 2_999.994_069_899_264, 1e-12));
    // Cut short: a patient trade still pending at the last step is sold then.
    let (m, _, _) = run_manual(&spec, &one_holder(10.0, 2500.0), &[3000.0; 2], false);
    assert!(close(m.eth_sold, 1.976_702_198_639_523_5, 1e-9));
}

/// Hold policy, K = 2500, 10 units, maturity 2 h; prices 3100 after 1 h, 3200 at maturity,
/// 3300 after 3 h. Each case's transfer is computed by hand:
/// `u x_d |K/x_s - K/x_T|` with x_T = 3200.
#[test]
fn settlement_transfer_by_hand() {
    let prices = [3100.0, 3200.0, 3300.0];
    let hold = |settlement: SettlementSpec| PnSpec {
        policy: RollPolicy::Hold,
        maturity_days: Some(2.0 / 24.0),
        settlement,
        p_drift_every_steps: 0,
        ..PnSpec::default()
    };
    let cases = [
        // 2% error: x_s = 3264, delivered at maturity.
        (SettlementSpec { error: 0.02, ..Default::default() }, 490.196_078_431_370_8),
        // ... published an hour later, valued at 3300.
        (SettlementSpec { error: 0.02, delay_hours: 1.0, ..Default::default() }, 505.514_705_882_351_2),
        // TWAP over 1 h: (3100 + 3200) / 2 = 3150.
        (SettlementSpec { window_hours: 1.0, ..Default::default() }, 396.825_396_825_395_4),
        // Median over 2 h of 3000, 3100, 3200 with the last ceil(0.34 * 3) = 2 moved up 50%:
        // 3000, 4650, 4800 -> 4650; the TWAP of the same is 4150.
        (
            SettlementSpec {
                method: SettlementMethod::Median,
                window_hours: 2.0,
                manipulation: Some(Manipulation { share: 0.34, size: 0.5 }),
                ..Default::default()
            },
            7_795.698_924_731_184,
        ),
        (
            SettlementSpec {
                window_hours: 2.0,
                manipulation: Some(Manipulation { share: 0.34, size: 0.5 }),
                ..Default::default()
            },
            5_722.891_566_265_059,
        ),
        // Exact oracle: no transfer.
        (SettlementSpec::default(), 0.0),
    ];
    for (s, want) in cases {
        let (m, world, ev) = run_manual(&hold(s), &one_holder(10.0, 2500.0), &prices, true);
        assert!(
            (m.oracle_loss_usd - want).abs() <= 1e-9 * want.max(1.0),
            "{s:?}: {} vs {want}",
            m.oracle_loss_usd
        );
        assert_eq!(m.shortfall_usd, 0.0);
        assert_eq!(m.exits, 0);
        let st = world.invariant_stats();
        assert!(st.checks >= 1 && st.violations == 0, "{st:?}");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::Settlement);
    }
    // Below the strike at maturity, P absorbs the shortfall: u (K - x_T) = 10 (2500 - 2400).
    let (m, _, _) =
        run_manual(&hold(SettlementSpec::default()), &one_holder(10.0, 2500.0), &[2450.0, 2400.0], false);
    assert!((m.shortfall_usd - 1000.0).abs() < 1e-9, "{}", m.shortfall_usd);
}

/// Mean and standard error of each B2 metric over `paths` paths.
fn b2_stats(spec: &PnSpec, paths: u64, seed: u64) -> (Vec<(f64, f64)>, PnWorld) {
    let mut d = b2::Driver::new(spec, seed).unwrap();
    let mut sink = EventSink::new(false);
    let mut s = vec![(0.0f64, 0.0f64); 11];
    for p in 0..paths {
        let m = d.run_path(p, &mut sink);
        for (a, x) in s.iter_mut().zip(metric_values(&m)) {
            a.0 += x;
            a.1 += x * x;
        }
    }
    let n = paths as f64;
    let stats = s
        .into_iter()
        .map(|(sum, sq)| {
            let mean = sum / n;
            let var = ((sq - n * mean * mean) / (n - 1.0)).max(0.0);
            (mean, (var / n).sqrt())
        })
        .collect();
    (stats, d.world)
}

/// Benchmark B2's means agree with the reference figures of B2-rolls.md (20,000 paths of an
/// independent implementation) within 4 combined standard errors.
#[test]
fn b2_means_match_reference() {
    let (stats, world) = b2_stats(&b2::spec(), 1000, 2024);
    // (index in metric_values, name, reference mean, reference standard error)
    let reference = [
        (0, "exits", 1572.0, 9.7),
        (1, "eth_sold", 9475.0, 55.0),
        (2, "fees_usd", 516_091.0, 2857.0),
        (3, "slippage_usd", 7028.0, 44.0),
        (5, "shortfall_usd", 0.0, 0.0),
        (6, "max_cascade_rounds", 2.712, 0.0034),
        (8, "min_price", 2429.0, 2.7),
        (9, "final_price", 2982.8, 5.6),
    ];
    for (i, name, want, want_se) in reference {
        let (mean, se) = stats[i];
        let tol = 4.0 * (se * se + want_se * want_se).sqrt();
        assert!((mean - want).abs() <= tol, "{name}: {mean} (se {se}) vs reference {want} (se {want_se})");
    }
    assert_eq!(stats[4].0, 0.0, "spot settlement moves nothing");
    let st = world.invariant_stats();
    assert!(st.checks >= 1000 && st.violations == 0, "{st:?}");
}

/// The first step of every B2 path rolls the holders with x / K < 1.25 at once (about 89).
#[test]
fn b2_first_step_rolls_the_close_holders() {
    let cohort = b2::cohort();
    let env = b2::env();
    let mut world = PnWorld::new(&b2::spec(), &cohort, &env).unwrap();
    let mut market = WorldMarket::new(
        3000.0,
        Liquidity::Exponential { depth_eth: 1e6 },
        None,
        &OracleModel::Spot,
        &[],
        env.dt_years,
    );
    world.begin_path(&market);
    market.begin_step(0.0, env.dt_years);
    let ctx = StepCtx { step: 0, steps: env.steps, dt_years: env.dt_years, time_years: env.dt_years };
    let mut sink = EventSink::new(true);
    world.step(&ctx, &mut market, &mut stream(0, 0, Purpose::World(1)), &mut sink);
    let first_round = sink.take().iter().filter(|e| e.round == 0 && e.kind == EventKind::Roll).count();
    let expected = cohort.borrowers.iter().filter(|b| 3000.0 / b.strike() < 1.25).count();
    assert_eq!(first_round, expected);
    assert_eq!(expected, 89);
}

/// Specs covering every policy, payoff and settlement option.
fn variants() -> Vec<(&'static str, PnSpec)> {
    let base = PnSpec { pricing_vol: Some(0.9), p_drift_every_steps: 24, ..PnSpec::default() };
    vec![
        ("b2", b2::spec()),
        (
            "hold-10d-twap",
            PnSpec {
                policy: RollPolicy::Hold,
                maturity_days: Some(10.0),
                settlement: SettlementSpec { window_hours: 6.0, error: 0.01, ..Default::default() },
                ..base.clone()
            },
        ),
        (
            "trigger-before",
            PnSpec {
                maturity_days: Some(12.0),
                roll_before_days: 2.0,
                execution: Execution::Twap { slices: 3 },
                ..base.clone()
            },
        ),
        (
            "band",
            PnSpec {
                policy: RollPolicy::Band,
                band_delta: Some(0.3),
                roll_target: 1.4,
                maturity_days: Some(15.0),
                roll_before_days: 1.0,
                ..base.clone()
            },
        ),
        (
            "band-high",
            PnSpec { policy: RollPolicy::Band, band_delta: Some(0.7), roll_target: 1.3, ..base.clone() },
        ),
        (
            "calendar",
            PnSpec {
                policy: RollPolicy::Calendar,
                calendar_every_steps: Some(96),
                maturity_days: Some(8.0),
                ..base.clone()
            },
        ),
        (
            "linear-hold",
            PnSpec {
                policy: RollPolicy::Hold,
                payoff: PayoffShape::Linear,
                payoff_lower: Some(0.8),
                payoff_upper: Some(1.6),
                settlement: SettlementSpec {
                    method: SettlementMethod::Median,
                    window_hours: 4.0,
                    manipulation: Some(Manipulation { share: 0.2, size: 0.05 }),
                    ..Default::default()
                },
                ..base.clone()
            },
        ),
        (
            "binary-hold",
            PnSpec {
                policy: RollPolicy::Hold,
                payoff: PayoffShape::Binary,
                maturity_days: Some(20.0),
                settlement: SettlementSpec { window_hours: 3.0, ..Default::default() },
                ..base.clone()
            },
        ),
        (
            "hedged",
            PnSpec {
                maturity_days: Some(10.0),
                settlement: SettlementSpec { delay_hours: 12.0, window_hours: 2.0, ..Default::default() },
                hedge_every_steps: Some(5),
                ..base.clone()
            },
        ),
        (
            "delayed",
            PnSpec {
                maturity_days: Some(29.9),
                settlement: SettlementSpec {
                    delay_hours: 12.0,
                    window_hours: 2.0,
                    error: -0.01,
                    ..Default::default()
                },
                ..base
            },
        ),
    ]
}

/// P + N = x is checked on every path (at each settlement and for every holder still open at
/// the end) and never fails, whatever the policy, payoff or settlement oracle.
#[test]
fn invariant_holds_on_every_path() {
    let cohort = Cohort { borrowers: b2::cohort().borrowers.into_iter().step_by(10).collect() };
    for (name, spec) in variants() {
        let mut d = b2::Driver::with_cohort(&spec, &cohort, 5).unwrap();
        let mut sink = EventSink::new(false);
        let paths = 40;
        let mut before = d.world.invariant_stats().checks;
        for p in 0..paths {
            let m = d.run_path(p, &mut sink);
            let st = d.world.invariant_stats();
            assert!(st.checks > before, "{name}: path {p} made no check");
            before = st.checks;
            assert!(
                m.eth_sold.is_finite() && m.shortfall_usd >= 0.0 && m.oracle_loss_usd >= 0.0,
                "{name}: {m:?}"
            );
        }
        let st = d.world.invariant_stats();
        assert_eq!(st.violations, 0, "{name}: {st:?}");
        assert_eq!(d.world.round_cap_hits(), 0, "{name}");
    }
}

/// Recording events changes no metric, and there is one roll event per exit and one settlement
/// event per holder settled.
#[test]
fn events_do_not_change_results() {
    let cohort = Cohort { borrowers: b2::cohort().borrowers.into_iter().step_by(5).collect() };
    for (name, spec) in variants() {
        let mut d = b2::Driver::with_cohort(&spec, &cohort, 11).unwrap();
        for p in 0..4 {
            let quiet = d.run_path(p, &mut EventSink::new(false));
            let mut sink = EventSink::new(true);
            let loud = d.run_path(p, &mut sink);
            assert_eq!(quiet, loud, "{name}: path {p}");
            let ev = sink.take();
            let rolls = ev.iter().filter(|e| e.kind == EventKind::Roll).count() as u64;
            assert_eq!(rolls, loud.exits, "{name}: path {p}");
            for e in &ev {
                assert!(e.usd.is_finite() && e.eth.is_finite(), "{name}: {e:?}");
            }
        }
    }
}

/// p_drift under `hold`: a P deep in the money (K = S0 / 1000) is worth K and does not move;
/// a P far out of the money (K = 1000 S0) is worth x, so its realised variance is the GBM's:
/// E[sum r^2 / (m Delta)] = sigma^2 + sigma^4 Delta / 4 (returns N(-sigma^2 Delta/2,
/// sigma^2 Delta)), matched within 4 standard errors.
#[test]
fn p_drift_limits() {
    let hold = PnSpec {
        policy: RollPolicy::Hold,
        pricing_vol: Some(0.9),
        p_drift_every_steps: 24,
        ..PnSpec::default()
    };
    let mut d = b2::Driver::with_cohort(&hold, &one_holder(5.0, 3.0), 3).unwrap();
    let m = d.run_path(0, &mut EventSink::new(false));
    assert!(m.p_drift.unwrap() < 1e-6, "{:?}", m.p_drift);

    let mut d = b2::Driver::with_cohort(&hold, &one_holder(5.0, 3.0e6), 3).unwrap();
    let paths = 2000;
    let (mut s, mut s2) = (0.0, 0.0);
    for p in 0..paths {
        let v = d.run_path(p, &mut EventSink::new(false)).p_drift.unwrap().powi(2);
        s += v;
        s2 += v * v;
    }
    let n = paths as f64;
    let mean = s / n;
    let se = ((s2 - n * mean * mean) / (n - 1.0) / n).sqrt();
    let delta = 24.0 * b2::dt_years();
    let want = 0.81 + 0.81 * 0.81 * delta / 4.0;
    assert!((mean - want).abs() < 4.0 * se, "{mean} +- {se} vs {want}");
    // Off: None.
    let off = PnSpec { p_drift_every_steps: 0, ..hold };
    let mut d = b2::Driver::with_cohort(&off, &one_holder(5.0, 3.0), 3).unwrap();
    assert_eq!(d.run_path(0, &mut EventSink::new(false)).p_drift, None);
}

#[test]
fn new_rejects_what_the_experiment_makes_impossible() {
    let env = b2::env();
    let cohort = b2::cohort();
    let err = |spec: PnSpec, cohort: &Cohort| PnWorld::new(&spec, cohort, &env).unwrap_err().to_string();
    // A fresh roll at x/K' = 2 with 30 days at sigma 0.9 has delta ~0.0024: a band of 0.001
    // would roll again at once.
    let e = err(PnSpec { policy: RollPolicy::Band, band_delta: Some(0.001), ..PnSpec::default() }, &cohort);
    assert!(e.starts_with("band_delta") && e.contains("freshly rolled"), "{e}");
    let e = err(PnSpec { p_drift_every_steps: 721, ..PnSpec::default() }, &cohort);
    assert!(e.starts_with("p_drift_every_steps") && e.contains("720"), "{e}");
    let e = err(PnSpec { roll_before_days: 30.0, ..PnSpec::default() }, &cohort);
    assert!(e.starts_with("roll_before_days"), "{e}");
    let bad = Cohort { borrowers: vec![Borrower { id: 3, collateral: -1.0, debt_usd: 10.0 }] };
    let e = err(PnSpec::default(), &bad);
    assert!(e.contains("borrower 3") && e.contains("collateral"), "{e}");
    let bad = Cohort { borrowers: vec![Borrower { id: 4, collateral: 1.0, debt_usd: 0.0 }] };
    assert!(err(PnSpec::default(), &bad).contains("debt_usd"));
    // An empty cohort is a valid (idle) world.
    let mut d = b2::Driver::with_cohort(&PnSpec::default(), &Cohort::default(), 1).unwrap();
    let m = d.run_path(0, &mut EventSink::new(false));
    assert_eq!((m.exits, m.eth_sold, m.premium_usd, m.p_drift), (0, 0.0, Some(0.0), None));
}
