//! The floor of benchmark B1 as a whole process: its 72,000,000 normal draws (100,000 paths of
//! 720 steps, each path's exogenous stream as the runner derives it) and nothing else, on the
//! runner's chunks of 64 paths over every core. docs/benchmarks.md compares B1 with it.
//!
//! `cargo run --release -p headroom-market --example draw_floor -- [MODE] [PATHS] [THREADS]`
//! with MODE one of
//! - `normals`: the bare draws, summed (`rng.sample(StandardNormal)`);
//! - `returns`: B1's returns and log levels as the runner fills them
//!   (`ExoPath::fill_log_returns_and_levels`, 64 steps at a time): the draws B1 cannot avoid.

use headroom_market::{stream, Exogenous, ProcessSpec, Purpose};
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use std::path::Path;

const STEPS: usize = 720;
const CHUNK: u64 = 64;
const BLOCK: usize = 64;
/// B1's seed.
const SEED: u64 = 1;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("returns", String::as_str);
    let paths: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let threads: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
    let dt = 30.0 / 365.0 / STEPS as f64;
    let exo = Exogenous::build(&ProcessSpec::Gbm { mu: 0.0, sigma: 0.9 }, &[], dt, STEPS, Path::new("."))
        .expect("B1's process");
    let chunk = |c: u64| -> f64 {
        let mut acc = 0.0;
        for path in c * CHUNK..((c + 1) * CHUNK).min(paths) {
            let mut rng = stream(SEED, path, Purpose::Exogenous);
            match mode {
                "normals" => {
                    for _ in 0..STEPS {
                        let z: f64 = rng.sample(StandardNormal);
                        acc += z;
                    }
                }
                _ => {
                    let mut xp = exo.start_path_at(path, &mut rng);
                    let (mut buf, mut levels) = ([0.0; BLOCK], [0.0; BLOCK]);
                    let mut level = 0.0;
                    for start in (0..STEPS).step_by(BLOCK) {
                        let n = BLOCK.min(STEPS - start);
                        xp.fill_log_returns_and_levels(
                            &exo,
                            &mut rng,
                            level,
                            &mut buf[..n],
                            &mut levels[..n],
                        );
                        level = levels[n - 1];
                    }
                    acc += level;
                }
            }
        }
        acc
    };
    let sum: f64 = pool.install(|| (0..paths.div_ceil(CHUNK)).into_par_iter().map(chunk).sum());
    println!("{mode}: {paths} paths of {STEPS} steps, {} draws; checksum {sum}", paths * STEPS as u64);
}
