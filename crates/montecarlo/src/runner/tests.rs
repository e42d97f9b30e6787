//! The runner's tests: blocks, cancellation, traces and shared shocks.

use super::*;

pub(crate) const SMALL: &str = r#"
name = "small"
seed = 3
paths = 130
horizon_days = 5
steps = 120
worlds = ["cdp", "pn"]
[market]
start_price = 2000.0
process = { model = "gbm", sigma = 1.2 }
liquidity = { model = "exponential", depth_eth = 5000.0 }
[cohort]
source = "ladder"
positions = 100
collateral = 3.0
cycle = 3
hf_min = 1.01
hf_max = 1.5
lt = 0.8
[cdp]
protocol = "generic"
lt = 0.8
[pn]
"#;

fn small() -> Experiment {
    let spec = ExperimentSpec::parse(SMALL, Path::new("small.toml")).unwrap();
    Experiment::build(spec, Path::new("small.toml")).unwrap()
}

fn opts(paths: Range<u64>, threads: usize) -> RunOptions<'static> {
    RunOptions { paths, threads: Some(threads), ..Default::default() }
}

#[test]
fn trace_reproduces_the_runs_path() {
    let exp = small();
    let run = exp.run(&opts(0..exp.spec.paths(), 2)).unwrap();
    for (k, kind) in run.kinds.iter().enumerate() {
        for path in [0u64, 77, 129] {
            let t = exp.trace_path(*kind, path).unwrap();
            assert_eq!(t.metrics, run.metrics[k][path as usize], "{kind:?} path {path}");
            assert_eq!(t.points.len(), exp.env.steps + 1);
            let min = t.points.iter().map(|p| p.price).fold(f64::INFINITY, f64::min);
            assert!(t.metrics.min_price <= min);
        }
    }
}

#[test]
fn a_block_of_paths_equals_the_same_rows_of_a_full_run() {
    let exp = small();
    let full = exp.run(&opts(0..exp.spec.paths(), 1)).unwrap();
    let part = exp.run(&opts(70..101, 2)).unwrap();
    for k in 0..full.kinds.len() {
        assert_eq!(part.metrics[k][..], full.metrics[k][70..101]);
    }
}

#[test]
fn a_cancelled_run_stops_between_chunks_and_gives_no_result() {
    let exp = small();
    let stop = AtomicBool::new(false);
    let done = std::sync::atomic::AtomicU64::new(0);
    // The flag is set when the first chunk finishes: one thread runs the chunks in order, so
    // the second chunk and the rest are skipped.
    let tick = |k: u64| {
        done.fetch_add(k, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
    };
    let o = RunOptions { progress: Some(&tick), cancel: Some(&stop), ..opts(0..exp.spec.paths(), 1) };
    assert!(matches!(exp.run(&o), Err(Error::Interrupted)));
    assert_eq!(done.load(Ordering::Relaxed), CHUNK as u64);
    // A flag that stays clear changes nothing.
    let clear = AtomicBool::new(false);
    let o = RunOptions { cancel: Some(&clear), ..opts(0..exp.spec.paths(), 2) };
    assert_eq!(exp.run(&o).unwrap().metrics, exp.run(&opts(0..exp.spec.paths(), 1)).unwrap().metrics);
}

#[test]
fn worlds_share_the_exogenous_shocks() {
    // Both worlds see the same exogenous path: with no trades their prices coincide, and the
    // CDP world alone gives the same row as in the paired run.
    let exp = small();
    let both = exp.run(&opts(0..20, 1)).unwrap();
    let mut spec = exp.spec.clone();
    spec.worlds = vec![WorldKind::Cdp];
    let alone = Experiment::build(spec, Path::new("small.toml")).unwrap().run(&opts(0..20, 1)).unwrap();
    assert_eq!(alone.metrics[0], both.metrics[0]);
}
