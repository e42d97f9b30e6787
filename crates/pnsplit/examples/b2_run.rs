//! Runs benchmark B2 on N paths over T threads (paths split in contiguous blocks) and prints
//! each metric's mean and standard error beside the reference figures, and the wall time.
//!
//! `cargo run --release -p headroom-pnsplit --example b2_run -- [PATHS] [THREADS] [SEED] [P_DRIFT_EVERY]`
//! (defaults 20000, 2, 1 and 0: B2 marks no P value).

use headroom_market::{EventSink, PathMetrics};
use headroom_pnsplit::{b2, PnSpec};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let paths = args.first().copied().unwrap_or(20_000);
    let threads = args.get(1).copied().unwrap_or(2).max(1);
    let seed = args.get(2).copied().unwrap_or(1);
    let p_drift_every = args.get(3).copied().unwrap_or(0) as u32;
    let start = Instant::now();
    let spec = PnSpec { p_drift_every_steps: p_drift_every, ..b2::spec() };
    let driver = b2::Driver::new(&spec, seed).expect("B2's spec is valid");
    let built = start.elapsed();
    let rows: Vec<PathMetrics> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mut d = driver.clone();
                s.spawn(move || {
                    let (lo, hi) = (t * paths / threads, (t + 1) * paths / threads);
                    let mut sink = EventSink::new(false);
                    (lo..hi).map(|p| d.run_path(p, &mut sink)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    });
    let wall = start.elapsed();
    let reference = [
        ("exits", 1572.0, 9.7),
        ("eth_sold", 9475.0, 55.0),
        ("fees_usd", 516_091.0, 2857.0),
        ("slippage_usd", 7028.0, 44.0),
        ("shortfall_usd", 0.0, 0.0),
        ("max_cascade_rounds", 2.712, 0.0034),
        ("min_price", 2429.0, 2.7),
        ("final_price", 2982.8, 5.6),
        ("positions_hit", f64::NAN, f64::NAN),
        ("oracle_loss_usd", f64::NAN, f64::NAN),
        ("premium_usd", f64::NAN, f64::NAN),
        ("p_drift", f64::NAN, f64::NAN),
    ];
    let get = |m: &PathMetrics, i: usize| -> f64 {
        [
            m.exits as f64,
            m.eth_sold,
            m.fees_usd,
            m.slippage_usd,
            m.shortfall_usd,
            m.max_cascade_rounds as f64,
            m.min_price,
            m.final_price,
            m.positions_hit as f64,
            m.oracle_loss_usd,
            m.premium_usd.unwrap_or(f64::NAN),
            m.p_drift.unwrap_or(f64::NAN),
        ][i]
    };
    let n = rows.len() as f64;
    println!("{paths} paths, {threads} threads, seed {seed}");
    println!("{:<20} {:>14} {:>10} {:>14} {:>10} {:>8}", "metric", "mean", "se", "reference", "ref se", "z");
    for (i, (name, want, want_se)) in reference.iter().enumerate() {
        let mean = rows.iter().map(|m| get(m, i)).sum::<f64>() / n;
        let var = rows.iter().map(|m| (get(m, i) - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        let z = (mean - want) / (se * se + want_se * want_se).sqrt();
        println!("{name:<20} {mean:>14.4} {se:>10.4} {want:>14} {want_se:>10} {z:>8.2}");
    }
    println!(
        "setup {:.1} ms; wall {:.3} s; {:.1} us per path per thread",
        built.as_secs_f64() * 1e3,
        wall.as_secs_f64(),
        wall.as_secs_f64() * threads as f64 / n * 1e6
    );
}
