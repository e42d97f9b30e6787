//! The deterministic parallel runner.
//!
//! Paths are split into fixed chunks of [`CHUNK`] paths; rayon runs the chunks on any number of
//! threads, each writing its paths' metrics into its own slice of the output, so the result (and
//! every byte written from it) is the same at any thread count. Prices are never stored: a path
//! streams through its steps and leaves one [`PathMetrics`] per world.

use crate::cohort::build_cohort;
use crate::error::{Error, Result};
use crate::spec::{ExperimentSpec, WorldKind};
use headroom_cdp::CdpWorld;
use headroom_market::{
    stream, Cohort, Event, EventSink, Exogenous, PathMetrics, PathRng, Primitive, Purpose, StepCtx, WorldEnv,
    WorldMarket,
};
use headroom_pnsplit::PnWorld;
use rayon::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Paths per work unit of the parallel runner.
pub const CHUNK: usize = 64;

/// Exogenous returns drawn per block: the draws of a path are the same whatever the block size
/// ([`headroom_market::ExoPath::fill_log_returns`]); blocks let the generator run in a tight loop.
const RETURN_BLOCK: usize = 64;

/// An experiment ready to run: the spec validated, the process and the cohort built.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The validated spec.
    pub spec: ExperimentSpec,
    /// The experiment file (errors and the manifest name it).
    pub file: PathBuf,
    /// What the primitives were told about the experiment.
    pub env: WorldEnv,
    /// The borrowers.
    pub cohort: Cohort,
    exo: Exogenous,
    cdp: Option<Slot<CdpWorld>>,
    pn: Option<Slot<PnWorld>>,
}

/// A world's primitive with its market, random stream and event sink: one per worker thread.
#[derive(Clone, Debug)]
struct Slot<P> {
    prim: P,
    market: WorldMarket,
    rng: PathRng,
    sink: EventSink,
    /// The cohort's collateral, units: times the path's start price, the deposit that
    /// `cost_pct_year` divides by.
    collateral: f64,
    horizon_years: f64,
}

impl<P: Primitive> Slot<P> {
    fn new(prim: P, market: WorldMarket, cohort: &Cohort, env: &WorldEnv) -> Self {
        Slot {
            prim,
            market,
            rng: stream(0, 0, Purpose::Setup),
            sink: EventSink::new(false),
            collateral: cohort.total_collateral(),
            horizon_years: env.horizon_years(),
        }
    }
    #[inline]
    fn begin(&mut self, seed: u64, path: u64, kind: WorldKind, events: bool) {
        self.market.reset();
        self.rng = stream(seed, path, Purpose::World(kind.stream_index()));
        self.sink = EventSink::new(events);
        self.prim.begin_path(&self.market);
    }
    #[inline]
    fn step(&mut self, ctx: &StepCtx, log_return: f64) {
        self.market.begin_step(log_return, ctx.time_years);
        self.prim.step(ctx, &mut self.market, &mut self.rng, &mut self.sink);
    }
    fn end(&mut self, ctx: &StepCtx) -> PathMetrics {
        let mut m = PathMetrics::default();
        self.prim.end_path(ctx, &self.market, &mut m);
        m.min_price = self.market.min_price();
        m.final_price = self.market.price();
        m.set_cost(self.collateral * self.market.start_price(), self.horizon_years);
        m
    }
}

/// What to run.
pub struct RunOptions<'a> {
    /// Global path indices to run (a shard runs a block of them).
    pub paths: Range<u64>,
    /// Worker threads (None: rayon's default, one per core).
    pub threads: Option<usize>,
    /// Record events for global paths below this index.
    pub event_paths: u64,
    /// Called with the number of paths finished, from any thread.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// The per-path results of a run.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// First global path index.
    pub first_path: u64,
    /// The worlds, in output order (`cdp` before `pn`).
    pub kinds: Vec<WorldKind>,
    /// `metrics[k][i]`: world `kinds[k]`, path `first_path + i`.
    pub metrics: Vec<Vec<PathMetrics>>,
    /// Events of the recorded paths: (path, world, event), by path then world.
    pub events: Vec<(u64, WorldKind, Event)>,
}

impl RunResult {
    /// The per-world slices, for the writers.
    pub fn slices(&self) -> Vec<&[PathMetrics]> {
        self.metrics.iter().map(|v| v.as_slice()).collect()
    }
}

impl Experiment {
    /// Loads, validates and builds an experiment file.
    pub fn from_file(file: &Path) -> Result<Self> {
        let spec = ExperimentSpec::load(file)?;
        Self::build(spec, file)
    }

    /// Validates and builds `spec`; `file` names it in errors and resolves relative paths.
    pub fn build(spec: ExperimentSpec, file: &Path) -> Result<Self> {
        spec.validate(file)?;
        let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let invalid = |key: &str, e: &dyn std::fmt::Display| Error::Invalid {
            file: file.to_path_buf(),
            problems: vec![format!("{key}{e}")],
        };
        let dt_years = spec.dt_years();
        let exo = Exogenous::build(
            &spec.market.process,
            &spec.market.shocks,
            dt_years,
            spec.steps as usize,
            &base_dir,
        )
        .map_err(|e| invalid("market.process.", &e))?;
        let start_price = exo.start_price().unwrap_or(spec.market.start_price);
        let cohort = build_cohort(&spec.cohort, start_price, spec.seed, &base_dir)?;
        let env = WorldEnv {
            steps: spec.steps as usize,
            dt_years,
            start_price,
            process_vol: exo.annual_vol(),
            frictions: spec.market.frictions(),
        };
        let resilience = spec.market.resilience_half_life_hours.map(|h| h / 24.0 / 365.0);
        let liquidity = spec.market.liquidity.clone();
        let market = |oracle: &headroom_market::OracleModel, errors: &[headroom_market::BadPrint]| {
            WorldMarket::new(start_price, liquidity.clone(), resilience, oracle, errors, dt_years)
        };
        let cdp = match (&spec.cdp, spec.has(WorldKind::Cdp)) {
            (Some(c), true) => {
                let prim = CdpWorld::new(c, &cohort, &env).map_err(|e| invalid("cdp.", &e))?;
                let oracle = c.oracle_model();
                Some(Slot::new(prim, market(&oracle, &c.oracle_errors), &cohort, &env))
            }
            _ => None,
        };
        let pn = match (&spec.pn, spec.has(WorldKind::Pn)) {
            (Some(p), true) => {
                let prim = PnWorld::new(p, &cohort, &env).map_err(|e| invalid("pn.", &e))?;
                Some(Slot::new(prim, market(&p.roll_oracle, &p.roll_oracle_errors), &cohort, &env))
            }
            _ => None,
        };
        Ok(Experiment { spec, file: file.to_path_buf(), env, cohort, exo, cdp, pn })
    }

    /// The worlds in output order.
    pub fn kinds(&self) -> Vec<WorldKind> {
        let mut k = Vec::new();
        if self.cdp.is_some() {
            k.push(WorldKind::Cdp);
        }
        if self.pn.is_some() {
            k.push(WorldKind::Pn);
        }
        k
    }

    /// Runs `opts.paths` and returns every path's metrics.
    pub fn run(&self, opts: &RunOptions) -> Result<RunResult> {
        let n = (opts.paths.end - opts.paths.start) as usize;
        let kinds = self.kinds();
        let mut metrics: Vec<Vec<PathMetrics>> =
            kinds.iter().map(|_| vec![PathMetrics::default(); n]).collect();
        let events = Mutex::new(Vec::new());
        let first = opts.paths.start;
        let mut work = || {
            let init = || (self.cdp.clone(), self.pn.clone());
            match metrics.as_mut_slice() {
                [a] => a.par_chunks_mut(CHUNK).enumerate().for_each_init(init, |slots, (ci, out)| {
                    let start = first + (ci * CHUNK) as u64;
                    self.run_chunk(slots, start, out, &mut [], opts, &events);
                }),
                [a, b] => a.par_chunks_mut(CHUNK).zip(b.par_chunks_mut(CHUNK)).enumerate().for_each_init(
                    init,
                    |slots, (ci, (out_a, out_b))| {
                        let start = first + (ci * CHUNK) as u64;
                        self.run_chunk(slots, start, out_a, out_b, opts, &events);
                    },
                ),
                _ => unreachable!("an experiment has one or two worlds"),
            }
        };
        match opts.threads {
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| Error::Usage { flag: "--threads".into(), message: e.to_string() })?
                .install(work),
            None => work(),
        }
        let mut events = events.into_inner().unwrap_or_else(|e| e.into_inner());
        events.sort_by_key(|(path, kind, _, seq)| (*path, *kind, *seq));
        let events = events.into_iter().map(|(p, k, e, _)| (p, k, e)).collect();
        Ok(RunResult { first_path: first, kinds, metrics, events })
    }

    #[allow(clippy::type_complexity)]
    fn run_chunk(
        &self,
        slots: &mut (Option<Slot<CdpWorld>>, Option<Slot<PnWorld>>),
        start: u64,
        out_a: &mut [PathMetrics],
        out_b: &mut [PathMetrics],
        opts: &RunOptions,
        events: &Mutex<Vec<(u64, WorldKind, Event, usize)>>,
    ) {
        let seed = self.spec.seed;
        for i in 0..out_a.len() {
            let path = start + i as u64;
            let rec = path < opts.event_paths;
            let mut exo_rng = stream(seed, path, Purpose::Exogenous);
            match slots {
                (Some(c), None) => {
                    out_a[i] = self.path1(c, WorldKind::Cdp, path, rec, &mut exo_rng);
                    if rec {
                        push_events(events, path, WorldKind::Cdp, &mut c.sink);
                    }
                }
                (None, Some(p)) => {
                    out_a[i] = self.path1(p, WorldKind::Pn, path, rec, &mut exo_rng);
                    if rec {
                        push_events(events, path, WorldKind::Pn, &mut p.sink);
                    }
                }
                (Some(c), Some(p)) => {
                    let (a, b) = self.path2(c, p, path, rec, &mut exo_rng);
                    out_a[i] = a;
                    out_b[i] = b;
                    if rec {
                        push_events(events, path, WorldKind::Cdp, &mut c.sink);
                        push_events(events, path, WorldKind::Pn, &mut p.sink);
                    }
                }
                (None, None) => unreachable!("an experiment has at least one world"),
            }
        }
        if let Some(p) = opts.progress {
            p(out_a.len() as u64);
        }
    }

    fn ctx(&self, step: usize) -> StepCtx {
        StepCtx {
            step,
            steps: self.env.steps,
            dt_years: self.env.dt_years,
            time_years: (step + 1) as f64 * self.env.dt_years,
        }
    }

    fn path1<P: Primitive>(
        &self,
        s: &mut Slot<P>,
        kind: WorldKind,
        path: u64,
        rec: bool,
        exo_rng: &mut PathRng,
    ) -> PathMetrics {
        s.begin(self.spec.seed, path, kind, rec);
        let mut exo = self.exo.start_path(exo_rng);
        let mut buf = [0.0; RETURN_BLOCK];
        let mut levels = [0.0; RETURN_BLOCK];
        for start in (0..self.env.steps).step_by(RETURN_BLOCK) {
            let n = RETURN_BLOCK.min(self.env.steps - start);
            let level0 = s.market.log_exogenous();
            exo.fill_log_returns_and_levels(&self.exo, exo_rng, level0, &mut buf[..n], &mut levels[..n]);
            let mut i = 0;
            while i < n {
                // Steps in which the primitive provably does nothing are applied at once; the
                // first step that may act is stepped.
                if let Some(th) = s.prim.idle_above_log() {
                    i += s.market.skip_idle_steps(&levels[i..n], th, |k| self.ctx(start + i + k).time_years);
                    if i == n {
                        break;
                    }
                }
                s.step(&self.ctx(start + i), buf[i]);
                i += 1;
            }
        }
        s.end(&self.ctx(self.env.steps - 1))
    }

    fn path2<A: Primitive, B: Primitive>(
        &self,
        a: &mut Slot<A>,
        b: &mut Slot<B>,
        path: u64,
        rec: bool,
        exo_rng: &mut PathRng,
    ) -> (PathMetrics, PathMetrics) {
        a.begin(self.spec.seed, path, WorldKind::Cdp, rec);
        b.begin(self.spec.seed, path, WorldKind::Pn, rec);
        let mut exo = self.exo.start_path(exo_rng);
        let mut buf = [0.0; RETURN_BLOCK];
        for start in (0..self.env.steps).step_by(RETURN_BLOCK) {
            let n = RETURN_BLOCK.min(self.env.steps - start);
            exo.fill_log_returns(&self.exo, exo_rng, &mut buf[..n]);
            for (i, &r) in buf[..n].iter().enumerate() {
                let ctx = self.ctx(start + i);
                a.step(&ctx, r);
                b.step(&ctx, r);
            }
        }
        let end = self.ctx(self.env.steps - 1);
        (a.end(&end), b.end(&end))
    }
}

/// One step of a traced path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TracePoint {
    /// Time after the step, years.
    pub time_years: f64,
    /// Market price at the end of the step (after its trades).
    pub price: f64,
    /// Oracle price at the end of the step.
    pub oracle_price: f64,
    /// Exogenous price (without the world's impact).
    pub exogenous_price: f64,
}

/// One world's path, step by step, with its events: what a report plots for the worst path.
#[derive(Clone, Debug)]
pub struct PathTrace {
    /// The world.
    pub kind: WorldKind,
    /// Global path index.
    pub path: u64,
    /// The start, then one point per step.
    pub points: Vec<TracePoint>,
    /// Every liquidation or roll of the path.
    pub events: Vec<Event>,
    /// The path's metrics (equal to its row in paths.csv).
    pub metrics: PathMetrics,
}

impl Experiment {
    /// Re-runs global path `path` of `kind` with every step recorded. A path depends only on
    /// (experiment, seed, index), and each world only on the shared exogenous stream and its own,
    /// so the trace reproduces the run's path exactly.
    pub fn trace_path(&self, kind: WorldKind, path: u64) -> Option<PathTrace> {
        match kind {
            WorldKind::Cdp => self.cdp.clone().map(|s| self.trace(s, kind, path)),
            WorldKind::Pn => self.pn.clone().map(|s| self.trace(s, kind, path)),
        }
    }

    fn trace<P: Primitive>(&self, mut s: Slot<P>, kind: WorldKind, path: u64) -> PathTrace {
        let mut exo_rng = stream(self.spec.seed, path, Purpose::Exogenous);
        s.begin(self.spec.seed, path, kind, true);
        let point = |m: &WorldMarket| TracePoint {
            time_years: m.time_years(),
            price: m.price(),
            oracle_price: m.oracle_price(),
            exogenous_price: m.exogenous_price(),
        };
        let mut points = Vec::with_capacity(self.env.steps + 1);
        points.push(point(&s.market));
        let mut exo = self.exo.start_path(&mut exo_rng);
        for step in 0..self.env.steps {
            let r = exo.next_log_return(&self.exo, &mut exo_rng);
            s.step(&self.ctx(step), r);
            points.push(point(&s.market));
        }
        let metrics = s.end(&self.ctx(self.env.steps - 1));
        PathTrace { kind, path, points, events: s.sink.take(), metrics }
    }
}

fn push_events(
    events: &Mutex<Vec<(u64, WorldKind, Event, usize)>>,
    path: u64,
    kind: WorldKind,
    sink: &mut EventSink,
) {
    let rows = sink.take();
    if rows.is_empty() {
        return;
    }
    let mut all = events.lock().unwrap_or_else(|e| e.into_inner());
    all.extend(rows.into_iter().enumerate().map(|(i, e)| (path, kind, e, i)));
}

#[cfg(test)]
mod tests {
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
        RunOptions { paths, threads: Some(threads), event_paths: 0, progress: None }
    }

    #[test]
    fn trace_reproduces_the_runs_path() {
        let exp = small();
        let run = exp.run(&opts(0..exp.spec.paths, 2)).unwrap();
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
        let full = exp.run(&opts(0..exp.spec.paths, 1)).unwrap();
        let part = exp.run(&opts(70..101, 2)).unwrap();
        for k in 0..full.kinds.len() {
            assert_eq!(part.metrics[k][..], full.metrics[k][70..101]);
        }
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
}
