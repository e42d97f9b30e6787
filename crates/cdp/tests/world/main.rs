//! Tests of the CDP world through a small driver loop (the engine crate has the real runner):
//! benchmark B1, the GBM first-passage law, the CAPO incident, conservation, and each preset's
//! rules on scripted price paths.

mod b1;
mod bound;
mod capo;
mod conservation;
mod extremes;
mod ledger;
mod own_topup;
mod passage;
mod presets;

use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{
    stream, Borrower, Cohort, Event, EventSink, Exogenous, Liquidity, OracleModel, PathMetrics, PathRng,
    Primitive, ProcessSpec, Purpose, StepCtx, WorldEnv, WorldMarket,
};
use std::path::Path;

/// A GBM experiment: the market, the process and the steps.
pub struct Gbm {
    pub s0: f64,
    pub mu: f64,
    pub sigma: f64,
    pub steps: usize,
    pub dt: f64,
    pub liquidity: Liquidity,
    pub seed: u64,
}

impl Gbm {
    pub fn env(&self) -> WorldEnv {
        WorldEnv {
            steps: self.steps,
            dt_years: self.dt,
            start_price: self.s0,
            process_vol: self.sigma,
            frictions: Default::default(),
        }
    }

    /// Runs path `path` through `world`, as the runner does: the exogenous stream feeds the
    /// returns, the world's own stream its draws.
    pub fn run(
        &self,
        world: &mut CdpWorld,
        spec: &CdpSpec,
        path: u64,
        events: bool,
    ) -> (PathMetrics, Vec<Event>) {
        let exo = Exogenous::build(
            &ProcessSpec::Gbm { mu: self.mu, sigma: self.sigma },
            &[],
            self.dt,
            self.steps,
            Path::new("."),
        )
        .unwrap();
        let mut rx = stream(self.seed, path, Purpose::Exogenous);
        let mut rw = stream(self.seed, path, Purpose::World(0));
        let mut m = WorldMarket::new(
            self.s0,
            self.liquidity.clone(),
            None,
            &spec.oracle_model(),
            &spec.oracle_errors,
            self.dt,
        );
        let mut sink = EventSink::new(events);
        let mut xp = exo.start_path(&mut rx);
        let returns = (0..self.steps).map(|_| xp.next_log_return(&exo, &mut rx));
        let out = drive(world, &mut m, &mut rw, &mut sink, self.dt, self.steps, returns, |_, _, _| {});
        (out, sink.take())
    }
}

/// The runner's loop over `steps` log-returns: each step's return, then the world's step, then
/// `check`; the path's metrics at the end.
#[allow(clippy::too_many_arguments)]
fn drive(
    world: &mut CdpWorld,
    m: &mut WorldMarket,
    rw: &mut PathRng,
    sink: &mut EventSink,
    dt: f64,
    steps: usize,
    returns: impl IntoIterator<Item = f64>,
    mut check: impl FnMut(usize, &CdpWorld, &WorldMarket),
) -> PathMetrics {
    world.begin_path(m);
    let mut ctx = StepCtx { step: 0, steps, dt_years: dt, time_years: 0.0 };
    for (step, r) in returns.into_iter().enumerate() {
        ctx = StepCtx { step, steps, dt_years: dt, time_years: (step + 1) as f64 * dt };
        m.begin_step(r, ctx.time_years);
        world.step(&ctx, m, rw, sink);
        check(step, world, m);
    }
    let mut out = PathMetrics::default();
    world.end_path(&ctx, m, &mut out);
    out.min_price = m.min_price();
    out.final_price = m.price();
    out
}

/// Runs `world` over scripted log-returns; calls `check` after every step.
pub fn run_returns(
    world: &mut CdpWorld,
    spec: &CdpSpec,
    liquidity: Liquidity,
    s0: f64,
    dt: f64,
    returns: &[f64],
    check: impl FnMut(usize, &CdpWorld, &WorldMarket),
) -> (PathMetrics, Vec<Event>) {
    run_returns_path(world, spec, liquidity, s0, dt, returns, 0, check)
}

/// [`run_returns`] with the world's random stream of path `path`.
#[allow(clippy::too_many_arguments)]
pub fn run_returns_path(
    world: &mut CdpWorld,
    spec: &CdpSpec,
    liquidity: Liquidity,
    s0: f64,
    dt: f64,
    returns: &[f64],
    path: u64,
    check: impl FnMut(usize, &CdpWorld, &WorldMarket),
) -> (PathMetrics, Vec<Event>) {
    let mut rw = stream(7, path, Purpose::World(0));
    let mut m = WorldMarket::new(s0, liquidity, None, &spec.oracle_model(), &spec.oracle_errors, dt);
    let mut sink = EventSink::new(true);
    let out = drive(world, &mut m, &mut rw, &mut sink, dt, returns.len(), returns.iter().copied(), check);
    (out, sink.take())
}

/// A preset with the spot price for its oracle and liquidators that do not weigh profit: the
/// mechanism alone, for the hand-computed cases.
pub fn bare_preset(protocol: Protocol) -> CdpSpec {
    let mut s = CdpSpec::preset(protocol);
    s.oracle = Some(OracleModel::Spot);
    if !matches!(protocol, Protocol::Maker2020 | Protocol::CompoundV3) {
        s.profit_check = Some(false);
    }
    s
}

pub fn env(s0: f64, dt: f64, steps: usize) -> WorldEnv {
    WorldEnv { steps, dt_years: dt, start_price: s0, process_vol: 0.5, frictions: Default::default() }
}

/// [`env`] with gas per transaction and a sandwich share.
pub fn env_with(s0: f64, dt: f64, steps: usize, gas_usd: f64, frontrun_share: f64) -> WorldEnv {
    WorldEnv { frictions: headroom_market::Frictions { gas_usd, frontrun_share }, ..env(s0, dt, steps) }
}

pub fn cohort(positions: &[(f64, f64)]) -> Cohort {
    Cohort {
        borrowers: positions
            .iter()
            .enumerate()
            .map(|(i, &(collateral, debt_usd))| Borrower { id: i as u64, collateral, debt_usd })
            .collect(),
    }
}

/// Mean and standard error (std with n - 1).
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

pub const HOUR: f64 = 1.0 / (365.0 * 24.0);
