//! The deterministic parallel runner.
//!
//! Paths are split into fixed chunks of [`CHUNK`] paths; rayon runs the chunks on any number of
//! threads, each writing its paths' metrics into its own slice of a block of [`BLOCK`] paths, so
//! the result (and every byte written from it) is the same at any thread count. Prices are never
//! stored: a path streams through its steps and leaves one [`PathMetrics`] per world. A finished
//! block goes to a [`RowSink`] (a result's paths.csv and its rows on disk, a
//! [`crate::spill::RowStore`]) before the next one runs, so memory does not grow with the
//! number of paths. Under a `windows` process each path is a window with worlds of its own
//! (crate::windows).

use crate::builds::{key, Builds};
use crate::cohort::build_cohort;
use crate::error::{Error, Result};
use crate::spec::{ExperimentSpec, WorldKind};
use crate::spill::{check_cancel, RowSink};
use crate::stats::overlap::SeMethod;
use crate::windows;
use headroom_cdp::CdpWorld;
use headroom_market::{
    stream, Cohort, Event, EventSink, Exogenous, PathMetrics, PathRng, Primitive, Purpose, StepCtx, Window,
    WindowsInfo, WorldEnv, WorldMarket,
};
use headroom_pnsplit::PnWorld;
use rayon::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

mod trace;
pub use trace::{PathTrace, TracePoint};

/// Paths per work unit of the parallel runner.
pub const CHUNK: usize = 64;

/// Paths run before their rows go to the sink (a multiple of [`CHUNK`]): what a run holds in
/// memory, whatever its number of paths.
pub const BLOCK: usize = 16_384;

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
    /// What the primitives were told about the experiment (under a `windows` process, about
    /// window 0: each window has its own start price and known volatility).
    pub env: WorldEnv,
    /// The borrowers (at `market.start_price`; each window of a `windows` process scales them to
    /// its start price).
    pub cohort: Cohort,
    pub(crate) exo: Exogenous,
    pub(crate) cdp: Option<Slot<CdpWorld>>,
    pub(crate) pn: Option<Slot<PnWorld>>,
    /// Under `windows`: the cohort sorted as the worlds sort it (crate::windows::by_strike), so
    /// that each window's worlds sort it again in linear time.
    window_cohort: Cohort,
}

/// One worker's worlds, and the buffer a window's scaled cohort is built in.
#[derive(Clone, Debug)]
struct Worlds {
    cdp: Option<Slot<CdpWorld>>,
    pn: Option<Slot<PnWorld>>,
    cohort: Cohort,
}

/// A world's primitive with its market, random stream and event sink: one per worker thread.
#[derive(Clone, Debug)]
pub(crate) struct Slot<P> {
    pub(crate) prim: P,
    pub(crate) market: WorldMarket,
    pub(crate) rng: PathRng,
    pub(crate) sink: EventSink,
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
    pub(crate) fn begin(&mut self, seed: u64, path: u64, kind: WorldKind, events: bool) {
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

    /// Applies the step's return and, when the path has candles, the step's range (`(ln(high /
    /// S), ln(low / S))` relative to the exogenous level `S` before the step,
    /// `ExoPath::step_range`) as the market's exogenous high and low, which passive orders
    /// read ([`WorldMarket::step_range_log`]).
    #[inline]
    pub(crate) fn begin_step_in_range(&mut self, ctx: &StepCtx, log_return: f64, range: Option<(f64, f64)>) {
        let level = self.market.log_exogenous();
        self.market.begin_step(log_return, ctx.time_years);
        if let Some((high, low)) = range {
            self.market.set_exogenous_range(level + high, level + low);
        }
    }

    /// [`Self::step`] with the step's range ([`Self::begin_step_in_range`]).
    fn step_in_range(&mut self, ctx: &StepCtx, log_return: f64, range: Option<(f64, f64)>) {
        self.begin_step_in_range(ctx, log_return, range);
        self.prim.step(ctx, &mut self.market, &mut self.rng, &mut self.sink);
    }
    pub(crate) fn end(&mut self, ctx: &StepCtx) -> PathMetrics {
        row_of(&mut self.prim, &self.market, ctx, self.collateral, self.horizon_years)
    }

    /// The row a path ending now would give, the slot itself untouched (the primitive's state is
    /// cloned): for the walk's record of each step.
    pub(crate) fn row_so_far(&self, ctx: &StepCtx) -> PathMetrics {
        row_of(&mut self.prim.clone(), &self.market, ctx, self.collateral, self.horizon_years)
    }
}

/// A path's row: the primitive's metrics, the market's minimum and final price, and the cost
/// from the ledger (in % a year of the cohort's `collateral` at the path's start price).
fn row_of<P: Primitive>(
    prim: &mut P,
    market: &WorldMarket,
    ctx: &StepCtx,
    collateral: f64,
    horizon_years: f64,
) -> PathMetrics {
    let mut m = PathMetrics::default();
    prim.end_path(ctx, market, &mut m);
    m.min_price = market.min_price();
    m.final_price = market.price();
    m.set_cost(collateral * market.start_price(), horizon_years);
    m
}

/// What to run.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Global path indices to run (a shard runs a block of them).
    pub paths: Range<u64>,
    /// Worker threads (None: rayon's default, one per core).
    pub threads: Option<usize>,
    /// Record events for global paths below this index.
    pub event_paths: u64,
    /// Called with the number of paths finished, from any thread.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Once set (by a signal handler, or a caller), the run stops after the chunks under way
    /// and returns [`Error::Interrupted`].
    pub cancel: Option<&'a AtomicBool>,
}

/// The events of a run's recorded paths: (path, world, event), by path then world.
pub type Events = Vec<(u64, WorldKind, Event)>;

/// The per-path results of a run, in memory: for runs small enough to hold (tests, `position
/// --mc`); [`Experiment::run_blocks`] with a [`crate::spill::RowStore`] serves any size.
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
    /// Under a `windows` process, the window of each path (`windows[i]`: path `first_path + i`;
    /// empty otherwise): windows.csv.
    pub windows: Vec<Window>,
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
        Self::build_shared(spec, file, &mut Builds::default())
    }

    /// [`Experiment::build`], taking from `builds` the process, the cohort and the worlds an
    /// experiment built with it before had of the same inputs, and leaving there those it
    /// builds (a sweep's points: crate::builds).
    pub(crate) fn build_shared(spec: ExperimentSpec, file: &Path, builds: &mut Builds) -> Result<Self> {
        spec.validate(file)?;
        let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let invalid = |key: &str, e: &dyn std::fmt::Display| Error::Invalid {
            file: file.to_path_buf(),
            problems: vec![format!("{key}{e}")],
        };
        let dt_years = spec.dt_years();
        let (process, shocks) = (&spec.market.process, &spec.market.shocks);
        let exo_key = key(&(process, shocks, dt_years, spec.steps, &base_dir));
        let exo = builds
            .exo
            .get_or_try(&exo_key, || {
                Exogenous::build(process, shocks, dt_years, spec.steps as usize, &base_dir)
            })
            .map_err(|e| invalid("market.process.", &e))?;
        let mut spec = spec;
        spec.paths = Some(windows::resolve_paths(&spec, &exo, file)?);
        let window0 = exo.window(0);
        let start_price = exo.start_price().unwrap_or(spec.market.start_price);
        let cohort_key = key(&(&spec.cohort, start_price, spec.seed, &base_dir));
        let cohort = builds
            .cohorts
            .get_or_try(&cohort_key, || build_cohort(&spec.cohort, start_price, spec.seed, &base_dir))?;
        let known_vol = window0.map_or(exo.known_vol(), |w| Some(w.known_vol));
        if spec.has(WorldKind::Pn) && spec.pn.as_ref().is_some_and(|p| p.pricing_vol.is_none()) {
            windows::check_known_vol(&spec, known_vol, file)?;
        }
        let env = WorldEnv {
            steps: spec.steps as usize,
            dt_years,
            start_price,
            process_vol: known_vol.unwrap_or(f64::NAN),
            frictions: spec.market.frictions(),
        };
        // Under `windows` the worlds below are window 0's; each path rebuilds its own.
        let window_cohort = if window0.is_some() { windows::by_strike(&cohort) } else { Cohort::default() };
        let mut scaled = Cohort::default();
        let (env, cohort_for_worlds) = match window0 {
            Some(w) => {
                windows::scale_cohort(&window_cohort, w.start_price / spec.market.start_price, &mut scaled);
                (windows::window_env(&env, &w), &scaled)
            }
            None => (env, &cohort),
        };
        let resilience = spec.market.resilience_half_life_hours.map(|h| h / 24.0 / 365.0);
        let liquidity = spec.market.liquidity.clone();
        let market = |oracle: &headroom_market::OracleModel, errors: &[headroom_market::BadPrint]| {
            WorldMarket::new(start_price, liquidity.clone(), resilience, oracle, errors, dt_years)
        };
        // A world's inputs: its table, `env` and its cohort (under `windows`, scaled from the
        // file's start price to window 0's).
        let scaling = (&exo_key, &cohort_key, spec.market.start_price);
        let world_key = |table: String| key(&(table, &env, scaling));
        let cdp = match (&spec.cdp, spec.has(WorldKind::Cdp)) {
            (Some(c), true) => {
                let prim = builds
                    .cdp
                    .get_or_try(&world_key(key(c)), || CdpWorld::new(c, cohort_for_worlds, &env))
                    .map_err(|e| invalid("cdp.", &e))?;
                let oracle = c.oracle_model();
                Some(Slot::new(prim, market(&oracle, &c.oracle_errors), cohort_for_worlds, &env))
            }
            _ => None,
        };
        let pn = match (&spec.pn, spec.has(WorldKind::Pn)) {
            (Some(p), true) => {
                let prim = builds.pn.get_or_try(&world_key(key(p)), || {
                    let prim = PnWorld::new(p, cohort_for_worlds, &env).map_err(|e| invalid("pn.", &e))?;
                    windows::check_every_window(p, &exo, &env, cohort_for_worlds, file)?;
                    Ok::<_, Error>(prim)
                })?;
                Some(Slot::new(prim, market(&p.roll_oracle, &p.roll_oracle_errors), cohort_for_worlds, &env))
            }
            _ => None,
        };
        Ok(Experiment { spec, file: file.to_path_buf(), env, cohort, exo, cdp, pn, window_cohort })
    }

    /// The window of global path `path` under a `windows` process (`None` otherwise, or past
    /// the last window).
    pub fn window(&self, path: u64) -> Option<Window> {
        self.exo.window(path)
    }

    /// The windows of a `windows` process (`None` for the other processes).
    pub fn windows(&self) -> Option<&WindowsInfo> {
        self.exo.windows()
    }

    /// How summary.csv's standard errors are estimated: for a `windows` process, batch means over
    /// blocks of as many windows as share rows of the file with one window (its look-back and its
    /// steps), so that only neighbouring blocks share data; `std / sqrt(n)` otherwise.
    pub fn se_method(&self) -> SeMethod {
        self.windows()
            .map_or(SeMethod::Iid, |w| SeMethod::BatchMeans { block: w.overlap_windows(self.env.steps) })
    }

    /// A worker's worlds, ready for any path.
    fn worlds(&self) -> Worlds {
        Worlds { cdp: self.cdp.clone(), pn: self.pn.clone(), cohort: Cohort::default() }
    }

    /// Under a `windows` process, rebuilds `w`'s worlds for global path `path` (its window):
    /// through the same constructors as any experiment, from the cohort scaled to the window's
    /// start price and the volatility known at its start (crate::windows). Other processes keep
    /// their worlds.
    fn enter_window(&self, w: &mut Worlds, path: u64) -> Result<()> {
        let Some(win) = self.exo.window(path) else { return Ok(()) };
        let env = windows::window_env(&self.env, &win);
        let scale = win.start_price / self.spec.market.start_price;
        windows::scale_cohort(&self.window_cohort, scale, &mut w.cohort);
        let invalid = |key: &str, e: &dyn std::fmt::Display| Error::Invalid {
            file: self.file.clone(),
            problems: vec![format!("{key}{e} ({})", windows::describe(path, &win))],
        };
        if let (Some(s), Some(c)) = (w.cdp.as_mut(), &self.spec.cdp) {
            s.prim = CdpWorld::new(c, &w.cohort, &env).map_err(|e| invalid("cdp.", &e))?;
            s.market.reset_at(win.start_price);
        }
        if let (Some(s), Some(p)) = (w.pn.as_mut(), &self.spec.pn) {
            s.prim = PnWorld::new(p, &w.cohort, &env).map_err(|e| invalid("pn.", &e))?;
            s.market.reset_at(win.start_price);
        }
        Ok(())
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

    /// Runs `opts.paths` and returns every path's metrics, in memory.
    pub fn run(&self, opts: &RunOptions) -> Result<RunResult> {
        struct Collect(Vec<Vec<PathMetrics>>);
        impl RowSink for Collect {
            fn block(&mut self, _: u64, rows: &[&[PathMetrics]]) -> Result<()> {
                for (all, block) in self.0.iter_mut().zip(rows) {
                    all.extend_from_slice(block);
                }
                Ok(())
            }
        }
        let kinds = self.kinds();
        let mut rows = Collect(kinds.iter().map(|_| Vec::new()).collect());
        let events = self.run_blocks(opts, &mut rows)?;
        let windows = opts.paths.clone().filter_map(|p| self.exo.window(p)).collect();
        Ok(RunResult { first_path: opts.paths.start, kinds, metrics: rows.0, events, windows })
    }

    /// Runs `opts.paths` block by block, giving each block's rows to `sink` in path order before
    /// the next block runs; returns the events of the recorded paths.
    pub fn run_blocks(&self, opts: &RunOptions, sink: &mut dyn RowSink) -> Result<Events> {
        if let Some(w) = self.exo.windows().filter(|w| opts.paths.end > w.count as u64) {
            return Err(Error::Usage {
                flag: "paths".into(),
                message: format!("paths up to {} asked of {} windows", opts.paths.end, w.count),
            });
        }
        let kinds = self.kinds();
        let total = opts.paths.end.saturating_sub(opts.paths.start);
        let len = (total as usize).min(BLOCK);
        let mut bufs: Vec<Vec<PathMetrics>> =
            kinds.iter().map(|_| vec![PathMetrics::default(); len]).collect();
        let events = Mutex::new(Vec::new());
        let mut work = || -> Result<()> {
            let mut first = opts.paths.start;
            while first < opts.paths.end {
                check_cancel(opts.cancel)?;
                let n = ((opts.paths.end - first) as usize).min(BLOCK);
                let init = || self.worlds();
                match bufs.as_mut_slice() {
                    [a] => {
                        a[..n].par_chunks_mut(CHUNK).enumerate().try_for_each_init(init, |w, (ci, out)| {
                            let start = first + (ci * CHUNK) as u64;
                            self.run_chunk(w, start, out, &mut [], opts, &events)
                        })?
                    }
                    [a, b] => a[..n]
                        .par_chunks_mut(CHUNK)
                        .zip(b[..n].par_chunks_mut(CHUNK))
                        .enumerate()
                        .try_for_each_init(init, |w, (ci, (out_a, out_b))| {
                            let start = first + (ci * CHUNK) as u64;
                            self.run_chunk(w, start, out_a, out_b, opts, &events)
                        })?,
                    _ => unreachable!("an experiment has one or two worlds"),
                }
                // A block some of whose chunks were skipped never reaches the sink.
                check_cancel(opts.cancel)?;
                let rows: Vec<&[PathMetrics]> = bufs.iter().map(|b| &b[..n]).collect();
                sink.block(first, &rows)?;
                first += n as u64;
            }
            Ok(())
        };
        match opts.threads {
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| Error::Usage { flag: "--threads".into(), message: e.to_string() })?
                .install(work)?,
            None => work()?,
        }
        check_cancel(opts.cancel)?;
        let mut events = events.into_inner().unwrap_or_else(|e| e.into_inner());
        events.sort_by_key(|(path, kind, _, seq)| (*path, *kind, *seq));
        Ok(events.into_iter().map(|(p, k, e, _)| (p, k, e)).collect())
    }

    fn run_chunk(
        &self,
        worlds: &mut Worlds,
        start: u64,
        out_a: &mut [PathMetrics],
        out_b: &mut [PathMetrics],
        opts: &RunOptions,
        events: &Mutex<Vec<(u64, WorldKind, Event, usize)>>,
    ) -> Result<()> {
        if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Ok(());
        }
        let seed = self.spec.seed;
        for i in 0..out_a.len() {
            let path = start + i as u64;
            let rec = path < opts.event_paths;
            let mut exo_rng = stream(seed, path, Purpose::Exogenous);
            self.enter_window(worlds, path)?;
            match (&mut worlds.cdp, &mut worlds.pn) {
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
        Ok(())
    }

    pub(crate) fn ctx(&self, step: usize) -> StepCtx {
        StepCtx {
            step,
            steps: self.env.steps,
            dt_years: self.env.dt_years,
            time_years: (step + 1) as f64 * self.env.dt_years,
        }
    }

    /// Steps path `path` one step at a time, giving `each` the step's time, its exogenous return
    /// and its range when the path has candles (`None` otherwise): the loop of the runs whose
    /// markets are told the candles, of the trace and (in its own form) of the walk. The
    /// returns are those the runner's blocks draw ([`headroom_market::ExoPath::fill_log_returns`]).
    pub(crate) fn steps_in_range(
        &self,
        path: u64,
        exo_rng: &mut PathRng,
        mut each: impl FnMut(&StepCtx, f64, Option<(f64, f64)>),
    ) {
        let mut exo = self.exo.start_path_at(path, exo_rng);
        for step in 0..self.env.steps {
            let r = exo.next_log_return(&self.exo, exo_rng);
            each(&self.ctx(step), r, exo.step_range(&self.exo, step));
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
        if self.exo.has_ranges() {
            // Candles: every step is stepped (the idle steps a block would skip are stepped
            // to the same state) with its range.
            self.steps_in_range(path, exo_rng, |ctx, r, range| s.step_in_range(ctx, r, range));
            return s.end(&self.ctx(self.env.steps - 1));
        }
        let mut exo = self.exo.start_path_at(path, exo_rng);
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
        if self.exo.has_ranges() {
            self.steps_in_range(path, exo_rng, |ctx, r, range| {
                a.step_in_range(ctx, r, range);
                b.step_in_range(ctx, r, range);
            });
            let end = self.ctx(self.env.steps - 1);
            return (a.end(&end), b.end(&end));
        }
        let mut exo = self.exo.start_path_at(path, exo_rng);
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
pub(crate) mod tests;
