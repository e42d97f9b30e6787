//! Whole-engine benchmarks: the shipped benchmark experiments B1 and B2 through the same runner
//! as `headroom run` (cohort, market, worlds, summary), on a fixed block of paths.
//!
//! `cargo bench --bench experiments`. The figures for the full benchmarks (100,000 paths of B1,
//! 20,000 of B2, whole process) are measured with the binary; see docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use headroom_montecarlo::columns::summary_rows;
use headroom_montecarlo::{Experiment, RunOptions};
use std::path::Path;

fn bench_experiment(c: &mut Criterion, name: &str, file: &str, paths: u64) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let exp = Experiment::from_file(&file).expect("the shipped experiment builds");
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.bench_function(format!("{paths} paths"), |b| {
        b.iter(|| {
            let r = exp
                .run(&RunOptions {
                    paths: 0..paths,
                    threads: None,
                    event_paths: 0,
                    progress: None,
                    cancel: None,
                })
                .unwrap();
            summary_rows(&r.kinds, &r.slices(), exp.se_method())
        })
    });
    group.finish();
}

fn b1(c: &mut Criterion) {
    bench_experiment(c, "b1_cascade", "experiments/bench/b1-cascade.toml", 10_000);
}

fn b2(c: &mut Criterion) {
    bench_experiment(c, "b2_rolls", "experiments/bench/b2-rolls.toml", 2_000);
}

criterion_group!(benches, b1, b2);
criterion_main!(benches);
