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
    // A mark at the start: every holder open, 30 days to maturity. B2 marks nothing
    // (`p_drift_every_steps = 0`), so its world prices every holder; with daily marks the world
    // keeps the bins of world/fastmark.rs and a mark prices the bins near the money.
    g.bench_function("mark_5000_holders", |b| {
        b.iter(|| black_box(world.p_value_usd(0.0, black_box(3000.0))))
    });
    let marked = headroom_pnsplit::PnSpec { p_drift_every_steps: 24, ..b2::spec() };
    let mut fast = PnWorld::new(&marked, &cohort, &env).expect("a valid spec");
    fast.begin_path(&m);
    for (name, tau_days) in [("fast_mark_5000_holders_30d", 0.0), ("fast_mark_5000_holders_1d", 29.0)] {
        let t = tau_days / 365.0;
        g.bench_function(name, |b| b.iter(|| black_box(fast.p_value_usd(t, black_box(3000.0)))));
    }
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
