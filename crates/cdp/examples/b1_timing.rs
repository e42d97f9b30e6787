//! Times N paths of benchmark B1 through the CDP world on T threads (plain std threads, each
//! with its own clone of the world) and prints the wall time and the metrics' means.
//!
//! `cargo run --release -p headroom-cdp --example b1_timing -- 100000 2`

use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{
    stream, Borrower, Cohort, EventSink, Exogenous, Liquidity, PathMetrics, Primitive, ProcessSpec, Purpose,
    StepCtx, WorldEnv, WorldMarket,
};
use std::path::Path;
use std::time::Instant;

const STEPS: usize = 720;
const DT: f64 = 30.0 / 365.0 / 720.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let threads: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    // "market": the process and market alone, without the CDP world (to separate the costs).
    let market_only = args.get(3).is_some_and(|s| s == "market");
    // "idle": a cohort that is never liquidated (the per-step cost of the world alone).
    let idle = args.get(3).is_some_and(|s| s == "idle");
    let lt = 0.83;
    let m = 5000;
    let cohort = Cohort {
        borrowers: (0..m)
            .map(|i| {
                let c = 10.0 * (1 + i % 10) as f64;
                let h = 1.02 + 0.98 * (i as f64 + 0.5) / m as f64;
                let h = if idle { 1e6 } else { h };
                Borrower { id: i as u64, collateral: c, debt_usd: c * 3000.0 * lt / h }
            })
            .collect(),
    };
    // Any other third argument: "general" (B1 on the general engine) or a protocol preset with
    // its own parameters on B1's market and cohort.
    let mode = args.get(3).map(String::as_str).unwrap_or("full");
    let preset = Protocol::ALL.into_iter().find(|p| p.name() == mode);
    let mut spec = CdpSpec::preset(preset.unwrap_or(Protocol::Generic));
    if preset.is_none() {
        spec.lt = Some(lt);
        spec.bonus = Some(0.05);
        spec.close_factor = Some(1.0);
    }
    let env = WorldEnv { steps: STEPS, dt_years: DT, start_price: 3000.0, process_vol: 0.9 };
    let t0 = Instant::now();
    let mut world = CdpWorld::new(&spec, &cohort, &env).unwrap();
    if mode == "general" {
        world.set_bulk_path(false);
    }
    let exo = Exogenous::build(&ProcessSpec::Gbm { mu: 0.0, sigma: 0.9 }, DT, Path::new(".")).unwrap();
    let market = WorldMarket::new(
        3000.0,
        Liquidity::Exponential { depth_eth: 1_000_000.0 },
        None,
        &spec.oracle,
        &spec.oracle_errors,
        DT,
    );
    let sums: Vec<[f64; 8]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (mut world, mut m, exo) = (world.clone(), market.clone(), &exo);
                s.spawn(move || {
                    let mut acc = [0.0; 8];
                    let (lo, hi) = (t * n / threads, (t + 1) * n / threads);
                    for path in lo..hi {
                        let r = if market_only {
                            market_path(exo, &mut m, path)
                        } else {
                            run_path(&mut world, exo, &mut m, path)
                        };
                        for (a, v) in acc.iter_mut().zip([
                            r.exits as f64,
                            r.eth_sold,
                            r.fees_usd,
                            r.slippage_usd,
                            r.shortfall_usd,
                            r.max_cascade_rounds as f64,
                            r.min_price,
                            r.final_price,
                        ]) {
                            *a += v;
                        }
                    }
                    acc
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = t0.elapsed().as_secs_f64();
    let names = [
        "exits",
        "eth_sold",
        "fees_usd",
        "slippage_usd",
        "shortfall_usd",
        "max_cascade_rounds",
        "min_price",
        "final_price",
    ];
    println!(
        "{n} paths on {threads} threads: {wall:.3} s wall, {:.0} ns per path per thread",
        wall * 1e9 * threads as f64 / n as f64
    );
    for (k, name) in names.iter().enumerate() {
        let total: f64 = sums.iter().map(|a| a[k]).sum();
        println!("{name}: {:.2}", total / n as f64);
    }
}

fn market_path(exo: &Exogenous, m: &mut WorldMarket, path: u64) -> PathMetrics {
    let mut rx = stream(2025, path, Purpose::Exogenous);
    m.reset();
    let mut xp = exo.start_path(&mut rx);
    for step in 0..STEPS {
        let r = xp.next_log_return(exo, &mut rx);
        m.begin_step(r, (step + 1) as f64 * DT);
        std::hint::black_box(m.oracle_price());
    }
    PathMetrics { min_price: m.min_price(), final_price: m.price(), ..PathMetrics::default() }
}

fn run_path(world: &mut CdpWorld, exo: &Exogenous, m: &mut WorldMarket, path: u64) -> PathMetrics {
    let mut rx = stream(2025, path, Purpose::Exogenous);
    let mut rw = stream(2025, path, Purpose::World(0));
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
