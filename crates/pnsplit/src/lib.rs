//! The P/N world (interim: the market-only world until the liquidation engine lands).

#![warn(missing_docs)]

use headroom_market::{
    BadPrint, Cohort, EventSink, OracleModel, PathMetrics, PathRng, Primitive, StepCtx, WorldEnv, WorldMarket,
};
use serde::{Deserialize, Serialize};

/// The `[pn]` table of an experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PnSpec {
    /// The oracle the protocol reads.
    #[serde(default)]
    pub roll_oracle: OracleModel,
    /// Bad prints injected into that oracle.
    #[serde(default)]
    pub roll_oracle_errors: Vec<BadPrint>,
}

/// Errors of the P/N crate.
#[derive(Debug, thiserror::Error)]
pub enum PnError {
    /// A market parameter.
    #[error(transparent)]
    Market(#[from] headroom_market::MarketError),
}

impl PnSpec {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), PnError> {
        self.roll_oracle.validate()?;
        Ok(())
    }
}

/// The P/N world.
#[derive(Clone, Debug)]
pub struct PnWorld;

impl PnWorld {
    /// Builds the world.
    pub fn new(spec: &PnSpec, cohort: &Cohort, env: &WorldEnv) -> Result<Self, PnError> {
        let _ = (spec, cohort, env);
        Ok(PnWorld)
    }
}

impl Primitive for PnWorld {
    fn begin_path(&mut self, _market: &WorldMarket) {}
    fn step(&mut self, _ctx: &StepCtx, _m: &mut WorldMarket, _rng: &mut PathRng, _e: &mut EventSink) {}
    fn end_path(&mut self, _ctx: &StepCtx, _m: &WorldMarket, _metrics: &mut PathMetrics) {}
}
