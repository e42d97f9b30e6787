//! The draws: a path's exogenous returns as the runner fills them, 64 steps at a time, for 720
//! steps (one B1 path), on the processes of the bundled experiments. The floor of benchmark B1
//! (its 72,000,000 normal draws as a whole process) is `examples/draw_floor.rs`.
//!
//! `cargo bench -p headroom-market --bench draws`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use headroom_market::{stream, Exogenous, ProcessSpec, Purpose};
use rand::RngExt;
use rand_distr::StandardNormal;
use std::hint::black_box;
use std::path::Path;

const STEPS: usize = 720;
const BLOCK: usize = 64;
const DT: f64 = 30.0 / 365.0 / 720.0;

fn process(spec: ProcessSpec) -> Exogenous {
    Exogenous::build(&spec, &[], DT, STEPS, Path::new(".")).expect("a valid process")
}

/// One path's returns through `fill_log_returns` (the paired runner's way), summed.
fn path_returns(exo: &Exogenous, path: u64) -> f64 {
    let mut rng = stream(1, path, Purpose::Exogenous);
    let mut xp = exo.start_path_at(path, &mut rng);
    let mut buf = [0.0; BLOCK];
    let mut sum = 0.0;
    for start in (0..STEPS).step_by(BLOCK) {
        let n = BLOCK.min(STEPS - start);
        xp.fill_log_returns(exo, &mut rng, &mut buf[..n]);
        sum += buf[..n].iter().sum::<f64>();
    }
    sum
}

/// One path's returns and running log levels (the one-world runner's way, B1's).
fn path_levels(exo: &Exogenous, path: u64) -> f64 {
    let mut rng = stream(1, path, Purpose::Exogenous);
    let mut xp = exo.start_path_at(path, &mut rng);
    let (mut buf, mut levels) = ([0.0; BLOCK], [0.0; BLOCK]);
    let mut level = 0.0;
    for start in (0..STEPS).step_by(BLOCK) {
        let n = BLOCK.min(STEPS - start);
        xp.fill_log_returns_and_levels(exo, &mut rng, level, &mut buf[..n], &mut levels[..n]);
        level = levels[n - 1];
    }
    level
}

fn draws(c: &mut Criterion) {
    let gbm = process(ProcessSpec::Gbm { mu: 0.0, sigma: 0.9 });
    let merton = process(ProcessSpec::Merton {
        mu: 0.0,
        sigma: 0.8,
        jump_intensity: 12.0,
        jump_mean: -0.03,
        jump_std: 0.05,
    });
    let mut g = c.benchmark_group("draws");
    g.throughput(Throughput::Elements(STEPS as u64));
    let mut path = 0u64;
    g.bench_function("normals (720, bare)", |b| {
        b.iter(|| {
            path += 1;
            let mut rng = stream(1, path, Purpose::Exogenous);
            (0..STEPS).map(|_| rng.sample::<f64, _>(StandardNormal)).sum::<f64>()
        })
    });
    let mut path = 0u64;
    g.bench_function("gbm fill_log_returns (720, B2)", |b| {
        b.iter(|| {
            path += 1;
            black_box(path_returns(&gbm, path))
        })
    });
    let mut path = 0u64;
    g.bench_function("gbm fill_log_returns_and_levels (720, B1)", |b| {
        b.iter(|| {
            path += 1;
            black_box(path_levels(&gbm, path))
        })
    });
    let mut path = 0u64;
    g.bench_function("merton fill_log_returns (720, quickstart)", |b| {
        b.iter(|| {
            path += 1;
            black_box(path_returns(&merton, path))
        })
    });
    g.finish();
}

criterion_group!(benches, draws);
criterion_main!(benches);
