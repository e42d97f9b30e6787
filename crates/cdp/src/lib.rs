//! The CDP world (interim: the market-only world until the liquidation engine lands).

#![warn(missing_docs)]

use headroom_market::{
    BadPrint, Cohort, EventSink, OracleModel, PathMetrics, PathRng, Primitive, StepCtx, WorldEnv, WorldMarket,
};
use serde::{Deserialize, Serialize};

/// The `[cdp]` table of an experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdpSpec {
    /// The oracle the protocol reads.
    #[serde(default)]
    pub oracle: OracleModel,
    /// Bad prints injected into that oracle.
    #[serde(default)]
    pub oracle_errors: Vec<BadPrint>,
}

/// Errors of the CDP crate.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// A market parameter.
    #[error(transparent)]
    Market(#[from] headroom_market::MarketError),
}

impl CdpSpec {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), CdpError> {
        self.oracle.validate()?;
        Ok(())
    }
}

/// The CDP world.
#[derive(Clone, Debug)]
pub struct CdpWorld;

impl CdpWorld {
    /// Builds the world.
    pub fn new(spec: &CdpSpec, cohort: &Cohort, env: &WorldEnv) -> Result<Self, CdpError> {
        let _ = (spec, cohort, env);
        Ok(CdpWorld)
    }
}

impl Primitive for CdpWorld {
    fn begin_path(&mut self, _market: &WorldMarket) {}
    fn step(&mut self, _ctx: &StepCtx, _m: &mut WorldMarket, _rng: &mut PathRng, _e: &mut EventSink) {}
    fn end_path(&mut self, _ctx: &StepCtx, _m: &WorldMarket, _metrics: &mut PathMetrics) {}
}
