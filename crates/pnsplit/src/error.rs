//! The P/N crate's error type.

use headroom_market::MarketError;

/// An invalid argument, experiment parameter or cohort. Keys are relative to the `[pn]` table
/// (`roll_trigger`, `settlement.window_hours`) or name the argument of a pricing function
/// (`vol`, `tau_years`); the experiment layer prefixes the table's path.
#[derive(Debug, thiserror::Error)]
pub enum PnError {
    /// A parameter or argument outside its allowed range.
    #[error("{key} = {value}: {allowed}")]
    InvalidParameter {
        /// The key or argument name.
        key: String,
        /// The value given, as text.
        value: String,
        /// What is allowed, e.g. "must be > 0".
        allowed: String,
    },
    /// A parameter that the chosen option needs but that was not given.
    #[error("{key} is required when {when}")]
    Missing {
        /// The missing key.
        key: String,
        /// The option that needs it, e.g. "policy = \"band\"".
        when: String,
    },
    /// An error of a market model embedded in the `[pn]` table (the roll oracle).
    #[error("{key}: {source}")]
    Market {
        /// The sub-table, e.g. `roll_oracle` or `roll_oracle_errors[1]`.
        key: String,
        /// The market crate's error.
        source: MarketError,
    },
    /// A borrower of the cohort that cannot be split.
    #[error("cohort: borrower {id}: {message}")]
    Cohort {
        /// The borrower's id.
        id: u64,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl PnError {
    /// Shorthand for [`PnError::InvalidParameter`].
    pub fn invalid(key: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        PnError::InvalidParameter { key: key.into(), value: value.to_string(), allowed: allowed.into() }
    }

    /// Wraps a market error under the sub-table `key`; an invalid parameter keeps its own key,
    /// prefixed with `key.`.
    pub(crate) fn market(key: &str, e: MarketError) -> Self {
        match e {
            MarketError::InvalidParameter { key: k, value, allowed } => {
                PnError::InvalidParameter { key: format!("{key}.{k}"), value, allowed }
            }
            other => PnError::Market { key: key.to_string(), source: other },
        }
    }
}

/// The market's parameter error as the P/N crate's, keeping the key and the allowed range.
fn own(e: MarketError) -> PnError {
    match e {
        MarketError::InvalidParameter { key, value, allowed } => {
            PnError::InvalidParameter { key, value, allowed }
        }
        other => PnError::Market { key: String::new(), source: other },
    }
}

/// Checks that `value` is finite and within `[lo, hi]`, naming `key` otherwise (the market's rule).
pub(crate) fn check_range(key: &str, value: f64, lo: f64, hi: f64) -> Result<(), PnError> {
    headroom_market::error::check_range(key, value, lo, hi).map_err(own)
}

/// Checks that `value` is finite and within `(lo, hi]` (the market's rule).
pub(crate) fn check_above(key: &str, value: f64, lo: f64, hi: f64) -> Result<(), PnError> {
    headroom_market::error::check_above(key, value, lo, hi).map_err(own)
}

/// Checks that `value` is finite and strictly positive (the market's rule).
pub(crate) fn check_positive(key: &str, value: f64) -> Result<(), PnError> {
    headroom_market::error::check_positive(key, value).map_err(own)
}
