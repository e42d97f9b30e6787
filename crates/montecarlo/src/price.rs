//! One P/N pair for `headroom price`: the flags checked (each error names its flag and the
//! allowed range), then the Black-Scholes values and deltas of [`headroom_pnsplit::quote`].

use crate::error::{Error, Result};
use headroom_pnsplit::PairQuote;

/// The flags of `headroom price`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriceInput {
    /// Price of the asset, USD, > 0.
    pub spot: f64,
    /// Strike K of the pair, USD, > 0.
    pub strike: f64,
    /// Pricing volatility, annualised, within [0, 20].
    pub vol: f64,
    /// Days to maturity, > 0.
    pub days: f64,
    /// Interest rate, annualised, continuously compounded, within [-1, 1].
    pub rate: f64,
}

impl PriceInput {
    /// Checks every flag; the error names the flag and the allowed range.
    pub fn validate(&self) -> Result<()> {
        let bad = |flag: &str, v: f64, allowed: &str| {
            Err(Error::Usage { flag: flag.into(), message: format!("{v}: {allowed}") })
        };
        if !(self.spot.is_finite() && self.spot > 0.0) {
            return bad("--spot", self.spot, "must be > 0");
        }
        if !(self.strike.is_finite() && self.strike > 0.0) {
            return bad("--strike", self.strike, "must be > 0");
        }
        if !(self.vol.is_finite() && (0.0..=20.0).contains(&self.vol)) {
            return bad("--vol", self.vol, "must be within [0, 20]");
        }
        if !(self.days.is_finite() && self.days > 0.0) {
            return bad("--days", self.days, "must be > 0");
        }
        if !(self.rate.is_finite() && (-1.0..=1.0).contains(&self.rate)) {
            return bad("--rate", self.rate, "must be within [-1, 1]");
        }
        Ok(())
    }

    /// P and N values and ETH-deltas (the JSON keys `p_usd, n_usd, p_delta, n_delta`).
    pub fn quote(&self) -> Result<PairQuote> {
        self.validate()?;
        headroom_pnsplit::quote(self.spot, self.strike, self.vol, self.days / 365.0, self.rate)
            .map_err(|e| Error::Usage { flag: "price".into(), message: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PriceInput {
        PriceInput { spot: 3000.0, strike: 2000.0, vol: 0.8, days: 30.0, rate: 0.0 }
    }

    #[test]
    fn p_plus_n_is_the_spot() {
        let q = input().quote().unwrap();
        assert!((q.p_usd + q.n_usd - 3000.0).abs() < 1e-9);
        assert!((q.p_delta + q.n_delta - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_flags_are_named() {
        for (f, flag) in [
            ((|i: &mut PriceInput| i.spot = 0.0) as fn(&mut PriceInput), "--spot: 0: must be > 0"),
            (|i| i.strike = f64::NAN, "--strike"),
            (|i| i.vol = 21.0, "--vol: 21: must be within [0, 20]"),
            (|i| i.days = -1.0, "--days"),
            (|i| i.rate = 2.0, "--rate"),
        ] {
            let mut i = input();
            f(&mut i);
            let e = i.quote().unwrap_err().to_string();
            assert!(e.starts_with(flag), "{e}");
        }
    }
}
