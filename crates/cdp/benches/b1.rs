//! Benchmark B1 (docs/benchmarks.md (B1)): one path of 720 hourly GBM steps through the CDP
//! world of 5,000 positions, with its market and process, as the runner drives it.

use criterion::{criterion_group, criterion_main, Criterion};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{
    stream, EventSink, Exogenous, Ladder, Liquidity, PathMetrics, Primitive, ProcessSpec, Purpose, StepCtx,
    WorldEnv, WorldMarket,
};
use std::hint::black_box;
use std::path::Path;

const STEPS: usize = 720;
const DT: f64 = 30.0 / 365.0 / 720.0;

fn setup() -> (CdpSpec, CdpWorld, Exogenous, WorldMarket) {
    let ladder = Ladder::b1(5000);
    let cohort = ladder.cohort(3000.0);
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.lt = Some(ladder.lt);
    spec.bonus = Some(0.05);
    spec.close_factor = Some(1.0);
    let env = WorldEnv {
        steps: STEPS,
        dt_years: DT,
        start_price: 3000.0,
        process_vol: 0.9,
        frictions: Default::default(),
    };
    let world = CdpWorld::new(&spec, &cohort, &env).unwrap();
    let exo =
        Exogenous::build(&ProcessSpec::Gbm { mu: 0.0, sigma: 0.9 }, &[], DT, STEPS, Path::new(".")).unwrap();
    let market = WorldMarket::new(
        3000.0,
        Liquidity::Exponential { depth_eth: 1_000_000.0 },
        None,
        &spec.oracle_model(),
        &spec.oracle_errors,
        DT,
    );
    (spec, world, exo, market)
}

fn run_path(world: &mut CdpWorld, exo: &Exogenous, m: &mut WorldMarket, path: u64) -> PathMetrics {
    let mut rx = stream(1, path, Purpose::Exogenous);
    let mut rw = stream(1, path, Purpose::World(0));
    let mut sink = EventSink::new(false);
    m.reset();
    world.begin_path(m);
    let mut xp = exo.start_path(&mut rx);
    let mut ctx = StepCtx { step: 0, steps: STEPS, dt_years: DT, time_years: 0.0 };
    for step in 0..STEPS {
        let r = xp.next_log_return(exo, &mut rx);
        ctx = StepCtx { step, steps: STEPS, dt_years: DT, time_years: (step + 1) as f64 * DT };
        m.begin_step(r, ctx.time_years);
        world.step(&ctx, m, &mut rw, &mut sink);
    }
    let mut out = PathMetrics::default();
    world.end_path(&ctx, m, &mut out);
    out.min_price = m.min_price();
    out.final_price = m.price();
    out
}

/// The market and process alone (no CDP), to separate the world's cost.
fn run_market_only(exo: &Exogenous, m: &mut WorldMarket, path: u64) -> f64 {
    let mut rx = stream(1, path, Purpose::Exogenous);
    m.reset();
    let mut xp = exo.start_path(&mut rx);
    for step in 0..STEPS {
        let r = xp.next_log_return(exo, &mut rx);
        m.begin_step(r, (step + 1) as f64 * DT);
    }
    m.price()
}

fn b1(c: &mut Criterion) {
    let (_spec, mut world, exo, mut market) = setup();
    let mut path = 0u64;
    c.bench_function("b1_path (720 steps, 5,000 positions)", |b| {
        b.iter(|| {
            path += 1;
            black_box(run_path(&mut world, &exo, &mut market, path))
        })
    });
    let mut path = 0u64;
    c.bench_function("b1_market_only (720 steps)", |b| {
        b.iter(|| {
            path += 1;
            black_box(run_market_only(&exo, &mut market, path))
        })
    });
}

/// A world on B1's ladder under `spec`, its market at the start price.
fn world_of(spec: &CdpSpec) -> (CdpWorld, WorldMarket) {
    let ladder = Ladder::b1(5000);
    let env = WorldEnv {
        steps: STEPS,
        dt_years: DT,
        start_price: 3000.0,
        process_vol: 0.9,
        frictions: Default::default(),
    };
    let world = CdpWorld::new(spec, &ladder.cohort(3000.0), &env).unwrap();
    let market = WorldMarket::new(
        3000.0,
        Liquidity::Exponential { depth_eth: 1_000_000.0 },
        None,
        &spec.oracle_model(),
        &spec.oracle_errors,
        DT,
    );
    (world, market)
}

/// The first step of a path whose return is `r`, with its cascade: the world's rows (for the
/// liquidations and rounds it made).
fn cascade_step(world: &mut CdpWorld, m: &mut WorldMarket, r: f64) -> PathMetrics {
    let mut rw = stream(1, 0, Purpose::World(0));
    let mut sink = EventSink::new(false);
    m.reset();
    world.begin_path(m);
    let ctx = StepCtx { step: 0, steps: STEPS, dt_years: DT, time_years: DT };
    m.begin_step(r, ctx.time_years);
    world.step(&ctx, m, &mut rw, &mut sink);
    let mut out = PathMetrics::default();
    world.end_path(&ctx, m, &mut out);
    out
}

/// A cascade: one step of a 5% fall through B1's world (the bulk path's rounds, each a range of
/// the book and one sale) and through Aave v3.3's (the general engine: close factor, dust, the
/// profit check, Chainlink's oracle), each liquidating the positions the fall and its sales
/// push under their thresholds.
fn cascade(c: &mut Criterion) {
    let (b1_spec, ..) = setup();
    let mut aave = CdpSpec::preset(Protocol::AaveV3);
    aave.lt = Some(Ladder::b1(5000).lt);
    let r = (0.95f64).ln();
    let mut g = c.benchmark_group("cascade");
    for (name, spec) in [("b1", b1_spec), ("aave-v3", aave)] {
        let (mut world, mut market) = world_of(&spec);
        let m = cascade_step(&mut world, &mut market, r);
        let label = format!("{name} step of -5% ({} liquidations, {} rounds)", m.exits, m.max_cascade_rounds);
        g.bench_function(label, |b| {
            b.iter(|| black_box(cascade_step(&mut world, &mut market, black_box(r))))
        });
    }
    g.finish();
}

criterion_group!(benches, b1, cascade);
criterion_main!(benches);
