//! A mark of the cohort's P value (what `p_drift` computes every `p_drift_every_steps` steps)
//! and a roll, on B2's cohort of 5,000 holders: the costs docs/ARCHITECTURE.md (Known debts)
//! weighs.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use headroom_market::{stream, EventSink, Liquidity, OracleModel, Primitive, Purpose, StepCtx, WorldMarket};
use headroom_pnsplit::{b2, PnWorld};
use std::hint::black_box;

fn market() -> WorldMarket {
    let env = b2::env();
    WorldMarket::new(
        b2::START_PRICE,
        Liquidity::Exponential { depth_eth: b2::DEPTH_ETH },
        None,
        &OracleModel::Spot,
        &[],
        env.dt_years,
    )
}

fn bench_marks(c: &mut Criterion) {
    let env = b2::env();
    let cohort = b2::cohort();
    let mut world = PnWorld::new(&b2::spec(), &cohort, &env).expect("B2's spec is valid");
    let m = market();
    world.begin_path(&m);
    let mut g = c.benchmark_group("pn");
    g.throughput(Throughput::Elements(world.holders() as u64));
    // A mark at the start: every holder open, 30 days to maturity.
    g.bench_function("mark_5000_holders", |b| {
        b.iter(|| black_box(world.p_value_usd(0.0, black_box(3000.0))))
    });
    // The first step of a B2 path at a flat price rolls 89 holders in its first round (and
    // those its sale pushes under the trigger in the next): time per step.
    let ctx = StepCtx { step: 0, steps: env.steps, dt_years: env.dt_years, time_years: env.dt_years };
    let mut rng = stream(0, 0, Purpose::World(1));
    let mut sink = EventSink::new(false);
    g.throughput(Throughput::Elements(1));
    g.bench_function("first_step_rolls", |b| {
        b.iter(|| {
            let mut m = market();
            world.begin_path(&m);
            m.begin_step(0.0, env.dt_years);
            world.step(&ctx, &mut m, &mut rng, &mut sink);
            black_box(m.price())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_marks);
criterion_main!(benches);
