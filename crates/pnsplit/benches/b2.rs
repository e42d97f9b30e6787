//! Benchmark B2 (docs/benchmarks.md (B2)): one path of the P/N world on B1's market and
//! cohort, 720 steps, about 1,570 rolls. Reports the time per path.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use headroom_market::EventSink;
use headroom_pnsplit::b2;
use std::hint::black_box;

fn bench_b2(c: &mut Criterion) {
    let mut driver = b2::Driver::new(&b2::spec(), 42).expect("B2's spec is valid");
    let mut sink = EventSink::new(false);
    let mut path = 0u64;
    let mut g = c.benchmark_group("b2");
    g.throughput(Throughput::Elements(1));
    g.bench_function("path", |b| {
        b.iter(|| {
            path += 1;
            black_box(driver.run_path(path, &mut sink))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_b2);
criterion_main!(benches);
