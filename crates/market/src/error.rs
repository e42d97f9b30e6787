//! The market crate's error type.

use std::path::PathBuf;

/// An invalid model parameter or input file. Keys are relative to the model's own table
/// (`sigma`, `depth_eth`); the experiment layer prefixes the table's path.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// A parameter outside its allowed range.
    #[error("{key} = {value}: {allowed}")]
    InvalidParameter {
        /// The key, relative to the model's table.
        key: String,
        /// The value given, as text.
        value: String,
        /// What is allowed, e.g. "must be >= 0".
        allowed: String,
    },
    /// A correlation matrix that cannot be used.
    #[error("correlation matrix: {0}")]
    Correlation(String),
    /// A CSV input with a bad row or header.
    #[error("{}: line {line}: {message}", file.display())]
    Csv {
        /// The file.
        file: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A file that cannot be read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl MarketError {
    /// Shorthand for [`MarketError::InvalidParameter`].
    pub fn invalid(key: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        MarketError::InvalidParameter { key: key.into(), value: value.to_string(), allowed: allowed.into() }
    }
}

/// Checks that `value` is finite and within `[lo, hi]`, naming `key` otherwise.
pub fn check_range(key: &str, value: f64, lo: f64, hi: f64) -> Result<(), MarketError> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        let allowed = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => format!("must be within [{lo}, {hi}]"),
            (true, false) => format!("must be >= {lo}"),
            (false, true) => format!("must be <= {hi}"),
            (false, false) => "must be finite".to_string(),
        };
        Err(MarketError::invalid(key, value, allowed))
    }
}

/// Checks that `value` is finite and strictly positive.
pub fn check_positive(key: &str, value: f64) -> Result<(), MarketError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(MarketError::invalid(key, value, "must be > 0"))
    }
}
