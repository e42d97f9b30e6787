//! Oracles: what a primitive sees of the market price.
//!
//! An [`OracleModel`] is the configuration (a closed enum, one `match` per method); an [`Oracle`]
//! is its per-path state. Every observation passes the time and the true market price; the oracle
//! answers with the price it reports. Observing twice at the same time (a cascade round after a
//! sale) replaces the newest observation instead of adding a new one.

use crate::error::MarketError;
use serde::Deserialize;

/// An oracle model, as given in an experiment's `oracle` table.
#[derive(Clone, Debug, PartialEq, Deserialize, Default)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum OracleModel {
    /// Reports the market price at that instant.
    #[default]
    Spot,
}

impl OracleModel {
    /// Checks the parameters' ranges.
    pub fn validate(&self) -> Result<(), MarketError> {
        match self {
            OracleModel::Spot => Ok(()),
        }
    }
}

/// The per-path state of an oracle.
#[derive(Clone, Debug)]
pub struct Oracle {
    model: OracleModel,
}

impl Oracle {
    /// A fresh oracle of `model`.
    pub fn new(model: &OracleModel) -> Self {
        Oracle {
            model: model.clone(),
        }
    }

    /// Forgets every observation: the start of a path whose first price is `start_price`
    /// observed at time 0.
    pub fn reset(&mut self, start_price: f64) {
        let _ = start_price;
    }

    /// Observes the true price `price` at `t_years` and returns the reported price.
    #[inline]
    pub fn observe(&mut self, t_years: f64, price: f64) -> f64 {
        let _ = t_years;
        match self.model {
            OracleModel::Spot => price,
        }
    }
}
