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
    Correlation(#[from] CorrelationError),
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

/// Why a correlation matrix was refused (see [`crate::correlation`]). Indices are 0-based.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CorrelationError {
    /// No rows at all.
    #[error("it is empty: give one row per asset")]
    Empty,
    /// A row whose length differs from the number of rows.
    #[error("row {row} has {len} entries: must have {n}, one per asset (the matrix is square)")]
    NotSquare {
        /// The row.
        row: usize,
        /// Its length.
        len: usize,
        /// The number of rows.
        n: usize,
    },
    /// An entry that is NaN or infinite.
    #[error("entry [{row}][{col}] = {value}: must be finite")]
    NotFinite {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A diagonal entry other than 1.
    #[error("diagonal entry [{index}][{index}] = {value}: must be 1")]
    DiagonalNotOne {
        /// Row and column of the entry.
        index: usize,
        /// The value.
        value: f64,
    },
    /// An off-diagonal entry outside [-1, 1].
    #[error("entry [{row}][{col}] = {value}: must be within [-1, 1]")]
    OutOfRange {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
        /// The value.
        value: f64,
    },
    /// `a[row][col] != a[col][row]`.
    #[error("not symmetric: entry [{row}][{col}] = {upper} but [{col}][{row}] = {lower}")]
    NotSymmetric {
        /// Row of the upper entry.
        row: usize,
        /// Column of the upper entry.
        col: usize,
        /// `a[row][col]`.
        upper: f64,
        /// `a[col][row]`.
        lower: f64,
    },
    /// The Cholesky factorisation failed: some combination of assets would have a variance <= 0.
    #[error(
        "not positive definite (its Cholesky factorisation fails at row {row}): the correlations \
         are inconsistent with one another, or two assets are perfectly (anti)correlated"
    )]
    NotPositiveDefinite {
        /// The first row whose pivot is not > 0.
        row: usize,
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

/// Checks that `value` is finite and within `(lo, hi]` (strictly above `lo`), naming `key`
/// otherwise.
pub fn check_above(key: &str, value: f64, lo: f64, hi: f64) -> Result<(), MarketError> {
    if value.is_finite() && value > lo && value <= hi {
        Ok(())
    } else if hi.is_finite() {
        Err(MarketError::invalid(key, value, format!("must be > {lo} and <= {hi}")))
    } else {
        Err(MarketError::invalid(key, value, format!("must be > {lo}")))
    }
}
