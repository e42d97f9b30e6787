//! Counts B1's cascade rounds and liquidations per path (from the events of 2,000 paths).

use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{
    stream, Borrower, Cohort, EventSink, Exogenous, Liquidity, Primitive, ProcessSpec, Purpose, StepCtx,
    WorldEnv, WorldMarket,
};
use std::collections::HashSet;
use std::path::Path;

fn main() {
    let (steps, dt, lt, m) = (720, 30.0 / 365.0 / 720.0, 0.83, 5000);
    let cohort = Cohort {
        borrowers: (0..m)
            .map(|i| {
                let c = 10.0 * (1 + i % 10) as f64;
                let h = 1.02 + 0.98 * (i as f64 + 0.5) / m as f64;
                Borrower { id: i as u64, collateral: c, debt_usd: c * 3000.0 * lt / h }
            })
            .collect(),
    };
    let mut spec = CdpSpec::preset(Protocol::Generic);
    spec.lt = Some(lt);
    let env = WorldEnv { steps, dt_years: dt, start_price: 3000.0, process_vol: 0.9 };
    let mut world = CdpWorld::new(&spec, &cohort, &env).unwrap();
    let exo = Exogenous::build(&ProcessSpec::Gbm { mu: 0.0, sigma: 0.9 }, dt, Path::new(".")).unwrap();
    let mut mk =
        WorldMarket::new(3000.0, Liquidity::Exponential { depth_eth: 1e6 }, None, &spec.oracle, &[], dt);
    let n = 2000;
    let (mut rounds, mut liqs, mut active_steps) = (0usize, 0usize, 0usize);
    for path in 0..n {
        let mut rx = stream(5, path, Purpose::Exogenous);
        let mut rw = stream(5, path, Purpose::World(0));
        let mut sink = EventSink::new(true);
        mk.reset();
        world.begin_path(&mk);
        let mut xp = exo.start_path(&mut rx);
        for step in 0..steps {
            let r = xp.next_log_return(&exo, &mut rx);
            let ctx = StepCtx { step, steps, dt_years: dt, time_years: (step + 1) as f64 * dt };
            mk.begin_step(r, ctx.time_years);
            world.step(&ctx, &mut mk, &mut rw, &mut sink);
        }
        let ev = sink.take();
        liqs += ev.len();
        rounds += ev.iter().map(|e| (e.step, e.round)).collect::<HashSet<_>>().len();
        active_steps += ev.iter().map(|e| e.step).collect::<HashSet<_>>().len();
    }
    let n = n as f64;
    println!(
        "per path: {:.1} liquidations, {:.1} rounds, {:.1} steps with liquidations",
        liqs as f64 / n,
        rounds as f64 / n,
        active_steps as f64 / n
    );
}
