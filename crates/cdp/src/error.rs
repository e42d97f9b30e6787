//! The CDP crate's error type.

use headroom_market::MarketError;

/// An invalid `[cdp]` parameter, an invalid position of the cohort, or an invalid world.
///
/// Keys are relative to the `[cdp]` table (`lt`, `oracle_errors[0].error`); the experiment layer
/// prefixes the table's path.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// A parameter outside its allowed range.
    #[error("{key} = {value}: {allowed}")]
    InvalidParameter {
        /// The key, relative to the `[cdp]` table.
        key: String,
        /// The value given, as text.
        value: String,
        /// What is allowed, e.g. "must be within (0, 1]".
        allowed: String,
    },
    /// A key given for a protocol whose mechanism does not use it.
    #[error("{key} does not apply to protocol \"{protocol}\" (it applies to: {applies_to})")]
    NotApplicable {
        /// The key.
        key: &'static str,
        /// The protocol preset chosen.
        protocol: &'static str,
        /// The presets the key applies to.
        applies_to: String,
    },
    /// An invalid oracle model or injected bad print.
    #[error("{key}: {source}")]
    Market {
        /// `oracle` or `oracle_errors[i]`.
        key: String,
        /// The market crate's error.
        #[source]
        source: MarketError,
    },
    /// A position of the cohort that cannot be lent against.
    #[error("position {id} (cohort row {index}): {message}")]
    InvalidPosition {
        /// The position's id.
        id: u64,
        /// 0-based index in the cohort.
        index: usize,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl CdpError {
    /// Shorthand for [`CdpError::InvalidParameter`].
    pub fn invalid(key: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        CdpError::InvalidParameter { key: key.into(), value: value.to_string(), allowed: allowed.into() }
    }
}

/// An interval of allowed values, with open or closed ends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub lo: f64,
    pub lo_open: bool,
    pub hi: f64,
    pub hi_open: bool,
}

impl Range {
    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Self {
        Range { lo, lo_open: false, hi, hi_open: false }
    }
    /// `(lo, hi]`.
    pub const fn open_closed(lo: f64, hi: f64) -> Self {
        Range { lo, lo_open: true, hi, hi_open: false }
    }
    /// `[lo, hi)`.
    pub const fn closed_open(lo: f64, hi: f64) -> Self {
        Range { lo, lo_open: false, hi, hi_open: true }
    }
    /// `(lo, hi)`.
    pub const fn open(lo: f64, hi: f64) -> Self {
        Range { lo, lo_open: true, hi, hi_open: true }
    }
    /// `[lo, +inf)` (finite values only).
    pub const fn at_least(lo: f64) -> Self {
        Range { lo, lo_open: false, hi: f64::INFINITY, hi_open: true }
    }
    /// `(lo, +inf)` (finite values only).
    pub const fn above(lo: f64) -> Self {
        Range { lo, lo_open: true, hi: f64::INFINITY, hi_open: true }
    }

    pub fn contains(&self, v: f64) -> bool {
        v.is_finite()
            && (if self.lo_open { v > self.lo } else { v >= self.lo })
            && (if self.hi_open { v < self.hi } else { v <= self.hi })
    }

    pub fn describe(&self) -> String {
        if self.hi.is_infinite() {
            return format!("must be {} {}", if self.lo_open { ">" } else { ">=" }, self.lo);
        }
        format!(
            "must be within {}{}, {}{}",
            if self.lo_open { "(" } else { "[" },
            self.lo,
            self.hi,
            if self.hi_open { ")" } else { "]" }
        )
    }

    /// Checks `v`, naming `key` otherwise.
    pub fn check(&self, key: &str, v: f64) -> Result<f64, CdpError> {
        if self.contains(v) {
            Ok(v)
        } else {
            Err(CdpError::invalid(key, v, self.describe()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_describe_their_ends() {
        assert_eq!(Range::open_closed(0.0, 1.0).describe(), "must be within (0, 1]");
        assert_eq!(Range::at_least(0.0).describe(), "must be >= 0");
        assert!(!Range::open_closed(0.0, 1.0).contains(0.0));
        assert!(Range::open_closed(0.0, 1.0).contains(1.0));
        assert!(!Range::at_least(0.0).contains(f64::NAN));
        assert!(!Range::at_least(0.0).contains(f64::INFINITY));
        let e = Range::open_closed(0.0, 1.0).check("lt", 1.2).unwrap_err();
        assert_eq!(e.to_string(), "lt = 1.2: must be within (0, 1]");
    }
}
