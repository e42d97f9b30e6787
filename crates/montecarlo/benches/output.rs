//! The output: what a run pays after its paths, on B1's rows (a block of 16,384 paths, the
//! runner's block, tiled from a run of 1,024): paths.csv's formatting, the spilled columns, the
//! summary of a block's store (every column in memory), and one column's summary out of core
//! (the passes of `colstats` with a budget far below the column, as at 10,000,000 paths).
//!
//! `cargo bench -p headroom-montecarlo --bench output`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use headroom_market::PathMetrics;
use headroom_montecarlo::colstats::{column_stats_with, BUCKETS};
use headroom_montecarlo::columns::format_path_rows;
use headroom_montecarlo::runner::BLOCK;
use headroom_montecarlo::spill::{RowSink, RowStore};
use headroom_montecarlo::stats::Worst;
use headroom_montecarlo::{Experiment, RunOptions};
use std::hint::black_box;
use std::path::Path;

/// B1's rows of 1,024 paths, tiled to a block.
fn b1_block() -> (Experiment, Vec<PathMetrics>) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/bench/b1-cascade.toml");
    let exp = Experiment::from_file(&file).expect("B1 builds");
    let run = exp.run(&RunOptions { paths: 0..1024, ..Default::default() }).expect("B1 runs");
    let rows: Vec<PathMetrics> = run.metrics[0].iter().cycle().take(BLOCK).cloned().collect();
    (exp, rows)
}

fn output(c: &mut Criterion) {
    let (exp, rows) = b1_block();
    let kinds = exp.kinds();
    let mut g = c.benchmark_group("output");
    g.sample_size(20);
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.bench_function("paths.csv (16,384 rows of B1)", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(BLOCK * 320);
            format_path_rows(&mut out, 0, &kinds, &[&rows]);
            black_box(out.len())
        })
    });
    g.bench_function("spilled columns (16,384 rows of B1)", |b| {
        b.iter(|| {
            let mut store = RowStore::temporary(&kinds, 0).unwrap();
            store.block(0, &[&rows]).unwrap();
            black_box(store.len())
        })
    });
    let mut store = RowStore::temporary(&kinds, 0).unwrap();
    store.block(0, &[&rows]).unwrap();
    g.bench_function("summary.csv rows (16,384 paths of B1)", |b| {
        b.iter(|| black_box(store.summary(exp.se_method(), None).unwrap().len()))
    });
    // One column out of core: 1,000,000 values, budget 2^14 (the 10,000,000-path run's ratio).
    let values: Vec<f64> = (0..1_000_000u64).map(|i| rows[(i as usize * 7919) % BLOCK].fees_usd).collect();
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("one column out of core (1,000,000 values)", |b| {
        b.iter(|| black_box(column_stats_with(&values.as_slice(), Worst::High, 1 << 14, BUCKETS).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, output);
criterion_main!(benches);
