//! Benchmark B2 (docs/benchmarks.md (B2)): its fixed market, cohort and `[pn]` table, and a
//! minimal single-path driver (market + GBM + this world) used by the tests, the criterion
//! benchmark and cross-checks against the experiment runner.
//!
//! The market and cohort are benchmark B1's: GBM from 3000 with sigma 0.9 and no drift, 720
//! hourly steps over 30 days, exponential permanent impact with depth 1,000,000 ETH, spot
//! oracle; 5,000 positions with `c_i = 10 (1 + (i mod 10))`, `h_i = 1.02 + 0.98 (i + 0.5) / M`,
//! `d_i = c_i S0 LT / h_i`, `LT = 0.83`.

use crate::error::PnError;
use crate::spec::PnSpec;
use crate::world::PnWorld;
use headroom_market::{
    stream, Cohort, EventSink, ExoPath, Exogenous, Ladder, Liquidity, PathMetrics, Primitive, ProcessSpec,
    Purpose, StepCtx, WorldEnv, WorldMarket,
};
use std::path::Path;

/// B1's and B2's start price, USD.
pub const START_PRICE: f64 = 3000.0;
/// B1's and B2's volatility (annualised).
pub const SIGMA: f64 = 0.9;
/// Steps of a path (hourly over 30 days).
pub const STEPS: usize = 720;
/// Exponential impact depth, ETH.
pub const DEPTH_ETH: f64 = 1_000_000.0;
/// Positions in the cohort.
pub const POSITIONS: usize = 5000;

/// Step length, years: 30 / 365 / 720.
pub fn dt_years() -> f64 {
    30.0 / 365.0 / STEPS as f64
}

/// B1's cohort ([`Ladder::b1`]): `c_i = 10 (1 + (i mod 10))`, `h_i = 1.02 + 0.98 (i + 0.5) / M`,
/// `d_i = c_i S0 LT / h_i`, `LT = 0.83`.
pub fn cohort() -> Cohort {
    Ladder::b1(POSITIONS as u64).cohort(START_PRICE)
}

/// B2's `[pn]` table: trigger 1.25, target 2.0, maturity 30 days, fee 0.3%, pricing volatility
/// 0.9, rate 0, immediate execution, spot roll oracle, settlement at the market price, p_drift
/// off.
pub fn spec() -> PnSpec {
    PnSpec {
        maturity_days: Some(30.0),
        roll_trigger: 1.25,
        roll_target: 2.0,
        fee: 0.003,
        pricing_vol: Some(SIGMA),
        rate: 0.0,
        p_drift_every_steps: 0,
        ..PnSpec::default()
    }
}

/// B2's world environment.
pub fn env() -> WorldEnv {
    WorldEnv {
        steps: STEPS,
        dt_years: dt_years(),
        start_price: START_PRICE,
        process_vol: SIGMA,
        frictions: Default::default(),
    }
}

/// One path's market, process and world: the loop the experiment runner runs, reduced to B2.
#[derive(Clone, Debug)]
pub struct Driver {
    /// The P/N world.
    pub world: PnWorld,
    /// The world's market (exponential impact, spot oracle).
    pub market: WorldMarket,
    exo: Exogenous,
    env: WorldEnv,
    seed: u64,
}

impl Driver {
    /// A driver for B2 with `spec` (B2's own: [`spec`]) and experiment seed `seed`.
    pub fn new(spec: &PnSpec, seed: u64) -> Result<Driver, PnError> {
        Driver::with_cohort(spec, &cohort(), seed)
    }

    /// A driver on B2's market with another cohort.
    pub fn with_cohort(spec: &PnSpec, cohort: &Cohort, seed: u64) -> Result<Driver, PnError> {
        let env = env();
        let world = PnWorld::new(spec, cohort, &env)?;
        let market = WorldMarket::new(
            START_PRICE,
            Liquidity::Exponential { depth_eth: DEPTH_ETH },
            None,
            &spec.roll_oracle,
            &spec.roll_oracle_errors,
            env.dt_years,
        );
        let exo = Exogenous::build(
            &ProcessSpec::Gbm { mu: 0.0, sigma: SIGMA },
            &[],
            env.dt_years,
            env.steps,
            Path::new("."),
        )
        .map_err(|e| PnError::market("process", e))?;
        Ok(Driver { world, market, exo, env, seed })
    }

    /// Runs path `path` (returns from the exogenous stream of `(seed, path)`), recording events
    /// into `events` if it is enabled; fills every metric, `min_price` and `final_price`
    /// included.
    pub fn run_path(&mut self, path: u64, events: &mut EventSink) -> PathMetrics {
        let mut exo_rng = stream(self.seed, path, Purpose::Exogenous);
        let mut world_rng = stream(self.seed, path, Purpose::World(1));
        let mut exo_path: ExoPath = self.exo.start_path(&mut exo_rng);
        self.market.reset();
        self.world.begin_path(&self.market);
        let dt = self.env.dt_years;
        let mut ctx = StepCtx { step: 0, steps: self.env.steps, dt_years: dt, time_years: 0.0 };
        for step in 0..self.env.steps {
            let r = exo_path.next_log_return(&self.exo, &mut exo_rng);
            ctx.step = step;
            ctx.time_years = (step + 1) as f64 * dt;
            self.market.begin_step(r, ctx.time_years);
            self.world.step(&ctx, &mut self.market, &mut world_rng, events);
        }
        let mut m = PathMetrics::default();
        self.world.end_path(&ctx, &self.market, &mut m);
        m.min_price = self.market.min_price();
        m.final_price = self.market.price();
        m
    }
}
