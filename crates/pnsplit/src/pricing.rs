//! Pricing of P and N before maturity under Black-Scholes (Black and Scholes 1973; Merton
//! 1973): the asset follows a risk-neutral GBM with volatility `sigma` and rate `r`, no
//! dividends; `tau` is the time to maturity in years.
//!
//! With `d1 = (ln(x/K) + (r + sigma^2/2) tau) / (sigma sqrt(tau))`, `d2 = d1 - sigma sqrt(tau)`:
//!
//! * N is a call: `N = Call(x, K, tau) = x Phi(d1) - K e^{-r tau} Phi(d2)`, ETH-delta `Phi(d1)`;
//! * P is the covered call `x - Call = x Phi(-d1) + K e^{-r tau} Phi(d2) = K e^{-r tau} -
//!   Put(x, K, tau)` (put-call parity), ETH-delta `1 - Phi(d1) = Phi(-d1)`.
//!
//! At `tau <= 0` the values are the payoffs: `P = min(x, K)`, `N = (x - K)+`, P's delta 1 when
//! `x < K` and 0 otherwise. With `sigma sqrt(tau) = 0` and `tau > 0` the price is deterministic
//! (forward `x e^{r tau}`): `P = min(x, K e^{-r tau})`.
//!
//! The normal distribution function is statrs' complementary error function:
//! `Phi(z) = erfc(-z / sqrt 2) / 2` ([`statrs::function::erf::erfc`]), which keeps the tails
//! accurate (`Phi(-d1)` for deep in-the-money P). The other payoff shapes of
//! [`crate::payoff`] are priced in closed form by [`p_value_delta`].

use crate::error::PnError;
use crate::payoff::Payoff;
use statrs::function::erf::erfc;
use std::f64::consts::FRAC_1_SQRT_2;

/// `1 / sqrt(2 pi)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal distribution function `Phi(z) = erfc(-z / sqrt 2) / 2` (statrs' erfc).
#[inline]
pub fn norm_cdf(z: f64) -> f64 {
    0.5 * erfc(-z * FRAC_1_SQRT_2)
}

/// The standard normal density `phi(z) = exp(-z^2/2) / sqrt(2 pi)` (exact, not an
/// approximation).
#[inline]
pub fn norm_pdf(z: f64) -> f64 {
    FRAC_1_SQRT_2PI * (-0.5 * z * z).exp()
}

/// The Black-Scholes price of a European call (N's value), USD per unit:
/// `x Phi(d1) - K e^{-r tau} Phi(d2)` (Black and Scholes 1973).
///
/// Edge cases, so the function never returns NaN for finite inputs: `tau <= 0` gives the payoff
/// `(x - K)+`; `sigma sqrt(tau) = 0` gives `(x - K e^{-r tau})+`; `spot <= 0` gives 0;
/// `strike <= 0` gives `x - K e^{-r tau}` (always exercised).
pub fn bs_call(spot: f64, strike: f64, vol: f64, tau_years: f64, rate: f64) -> f64 {
    if spot <= 0.0 {
        return 0.0;
    }
    if tau_years <= 0.0 {
        return (spot - strike).max(0.0);
    }
    let disc = (-rate * tau_years).exp();
    if strike <= 0.0 {
        return spot - strike * disc;
    }
    let sst = vol.max(0.0) * tau_years.sqrt();
    if sst <= 0.0 {
        return (spot - strike * disc).max(0.0);
    }
    let d1 = ((spot / strike).ln() + (rate + 0.5 * vol * vol) * tau_years) / sst;
    let d2 = d1 - sst;
    spot * norm_cdf(d1) - strike * disc * norm_cdf(d2)
}

/// The values and ETH-deltas of one P/N pair (one unit of the asset split at strike K).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PairQuote {
    /// P's value, USD: `x - Call = x Phi(-d1) + K e^{-r tau} Phi(d2)`.
    pub p_usd: f64,
    /// N's value, USD: `Call(x, K, tau)`.
    pub n_usd: f64,
    /// P's ETH-delta, `Phi(-d1)`.
    pub p_delta: f64,
    /// N's ETH-delta, `Phi(d1)`.
    pub n_delta: f64,
}

/// Black-Scholes values and ETH-deltas of a capped P/N pair (what `headroom price` prints).
///
/// Errors name the argument and its allowed range: `spot > 0`, `strike > 0`, `vol >= 0` (at
/// most 20), `tau_years > 0`, `rate` within [-1, 1]. P and N are computed from their own
/// formulas, so `p_usd + n_usd = spot` is a check, not a definition.
pub fn quote(spot: f64, strike: f64, vol: f64, tau_years: f64, rate: f64) -> Result<PairQuote, PnError> {
    crate::error::check_positive("spot", spot)?;
    crate::error::check_positive("strike", strike)?;
    crate::error::check_range("vol", vol, 0.0, 20.0)?;
    crate::error::check_positive("tau_years", tau_years)?;
    crate::error::check_range("rate", rate, -1.0, 1.0)?;
    let c = TauConsts::new(vol, tau_years, rate);
    let (p_usd, p_delta) = capped_p(spot, spot.ln(), strike, strike.ln(), &c);
    let n_usd = bs_call(spot, strike, vol, tau_years, rate);
    let n_delta = if c.sst > 0.0 {
        let d1 = ((spot / strike).ln() + c.drift) / c.sst;
        norm_cdf(d1)
    } else if spot > strike * c.disc {
        1.0
    } else {
        0.0
    };
    Ok(PairQuote { p_usd, n_usd, p_delta, n_delta })
}

/// The constants of a pricing at one time to maturity `tau`, computed once and shared by every
/// strike priced at that `tau`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TauConsts {
    /// `sigma sqrt(tau)` (0 when expired or without volatility).
    pub sst: f64,
    /// `1 / (sigma sqrt(tau))` (0 when `sst` is 0).
    pub inv_sst: f64,
    /// `(r + sigma^2/2) tau`.
    pub drift: f64,
    /// `e^{-r tau}` (1 when expired).
    pub disc: f64,
    /// `tau <= 0`: the payoff applies.
    pub expired: bool,
}

impl TauConsts {
    /// The constants at time to maturity `tau` (`tau <= 0` is expired).
    #[inline]
    pub fn new(vol: f64, tau: f64, rate: f64) -> Self {
        if tau <= 0.0 {
            return TauConsts { sst: 0.0, inv_sst: 0.0, drift: 0.0, disc: 1.0, expired: true };
        }
        let sst = vol * tau.sqrt();
        let disc = if rate == 0.0 { 1.0 } else { (-rate * tau).exp() };
        TauConsts {
            sst,
            inv_sst: if sst > 0.0 { 1.0 / sst } else { 0.0 },
            drift: (rate + 0.5 * vol * vol) * tau,
            disc,
            expired: false,
        }
    }
}

/// The capped P's value and ETH-delta per unit at spot `x` (with `ln_x = ln x`), strike `k`
/// (with `ln_k`), at the time to maturity behind `c`: `x Phi(-d1) + K e^{-r tau} Phi(d2)` and
/// `Phi(-d1)`; the payoff `min(x, K)` and `1{x < K}` when expired; `min(x, K e^{-r tau})` and
/// `1{x < K e^{-r tau}}` without volatility.
#[inline]
pub(crate) fn capped_p(x: f64, ln_x: f64, k: f64, ln_k: f64, c: &TauConsts) -> (f64, f64) {
    if c.expired || c.sst <= 0.0 {
        let kd = k * c.disc;
        return if x < kd { (x, 1.0) } else { (kd, 0.0) };
    }
    let d1 = (ln_x - ln_k + c.drift) * c.inv_sst;
    let d2 = d1 - c.sst;
    // Phi(-d1) = erfc(d1/sqrt2)/2, Phi(d2) = erfc(-d2/sqrt2)/2.
    let nd1m = 0.5 * erfc(d1 * FRAC_1_SQRT_2);
    let nd2 = 0.5 * erfc(-d2 * FRAC_1_SQRT_2);
    (x * nd1m + k * c.disc * nd2, nd1m)
}

/// `e^{-r tau} E[X_T 1{X_T < a}] = x Phi(-d1(a))` and its derivative in `x`,
/// `Phi(-d1) - phi(d1) / (sigma sqrt tau)` (the asset-or-nothing put; Reiner and Rubinstein
/// 1991). Requires `c.sst > 0`.
#[inline]
fn asset_below(x: f64, a: f64, c: &TauConsts) -> (f64, f64) {
    let d1 = ((x / a).ln() + c.drift) * c.inv_sst;
    let n = norm_cdf(-d1);
    (x * n, n - norm_pdf(d1) * c.inv_sst)
}

/// `e^{-r tau} E[X_T^2 1{X_T < a}] = x^2 e^{(r + sigma^2) tau} Phi(-d3(a))`,
/// `d3 = d1 + sigma sqrt tau` (the second lognormal moment below `a`), and its derivative in
/// `x`, `e^{(r + sigma^2) tau} (2 x Phi(-d3) - x phi(d3) / (sigma sqrt tau))`. Requires
/// `c.sst > 0`; `growth = e^{(r + sigma^2) tau}`.
#[inline]
fn square_below(x: f64, a: f64, c: &TauConsts, growth: f64) -> (f64, f64) {
    let d3 = ((x / a).ln() + c.drift) * c.inv_sst + c.sst;
    let n = norm_cdf(-d3);
    (x * x * growth * n, growth * (2.0 * x * n - x * norm_pdf(d3) * c.inv_sst))
}

/// P's value (USD per unit) and ETH-delta for any payoff shape, at spot `x > 0`, strike
/// `K > 0`, volatility `vol`, time to maturity `tau_years`, rate `rate` (risk-neutral GBM).
///
/// * Capped: `x Phi(-d1) + K e^{-r tau} Phi(d2)`, delta `Phi(-d1)` (module documentation).
/// * Binary (P receives the unit when `X_T < K`): the asset-or-nothing put `A(K) = x Phi(-d1(K))`,
///   delta `Phi(-d1) - phi(d1)/(sigma sqrt tau)` (Reiner and Rubinstein 1991).
/// * Linear between `L` and `H` (P's payoff `X` below `L`, `X (H - X)/(H - L)` between, 0
///   above): `A(L) + [H (A(H) - A(L)) - (B(H) - B(L))] / (H - L)` with
///   `B(a) = x^2 e^{(r + sigma^2) tau} Phi(-d1(a) - sigma sqrt tau)` (lognormal moments).
///
/// At `tau <= 0` the payoff `g(x)` and its slope; with `sigma sqrt tau = 0` the deterministic
/// forward `F = x e^{r tau}`: `e^{-r tau} g(F)` and `g'(F)`.
pub fn p_value_delta(
    payoff: &Payoff,
    x: f64,
    strike: f64,
    vol: f64,
    tau_years: f64,
    rate: f64,
) -> (f64, f64) {
    let c = TauConsts::new(vol, tau_years, rate);
    p_value_delta_at(payoff, x, strike, &c)
}

/// [`p_value_delta`] with the time constants computed.
#[inline]
pub(crate) fn p_value_delta_at(payoff: &Payoff, x: f64, strike: f64, c: &TauConsts) -> (f64, f64) {
    if c.expired || c.sst <= 0.0 {
        // Deterministic: forward F = x / disc (= x e^{r tau}), value disc g(F), delta g'(F).
        let f = x / c.disc;
        return (c.disc * payoff.p_usd(f, strike), payoff.p_usd_slope(f, strike));
    }
    match *payoff {
        Payoff::Capped => capped_p(x, x.ln(), strike, strike.ln(), c),
        Payoff::Binary => asset_below(x, strike, c),
        Payoff::Linear { lower, upper } => {
            let (l, h) = (lower * strike, upper * strike);
            // growth = e^{(r + sigma^2) tau} = e^{2 drift} e^{-r tau}.
            let growth = (2.0 * c.drift).exp() * c.disc;
            let (al, dal) = asset_below(x, l, c);
            let (ah, dah) = asset_below(x, h, c);
            let (bl, dbl) = square_below(x, l, c, growth);
            let (bh, dbh) = square_below(x, h, c, growth);
            let w = h - l;
            (al + (h * (ah - al) - (bh - bl)) / w, dal + (h * (dah - dal) - (dbh - dbl)) / w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_market::{stream, Purpose};
    use rand::RngExt;
    use rand_distr::StandardNormal;

    /// The Black-Scholes put from its own formula, `K e^{-r T} Phi(-d2) - x Phi(-d1)`.
    fn bs_put(x: f64, k: f64, vol: f64, tau: f64, r: f64) -> f64 {
        let sst = vol * tau.sqrt();
        let d1 = ((x / k).ln() + (r + 0.5 * vol * vol) * tau) / sst;
        k * (-r * tau).exp() * norm_cdf(-(d1 - sst)) - x * norm_cdf(-d1)
    }

    #[test]
    fn call_matches_published_value() {
        // Hull, Options, Futures and Other Derivatives: S = 42, K = 40, r = 10%, sigma = 20%,
        // T = 0.5 gives c = 4.76 (4.7594 to four places).
        let c = bs_call(42.0, 40.0, 0.2, 0.5, 0.1);
        assert!((c - 4.7594).abs() < 5e-5, "{c}");
        // S = K = 100, sigma 20%, r 5%, T 1: 10.4506.
        let c = bs_call(100.0, 100.0, 0.2, 1.0, 0.05);
        assert!((c - 10.4506).abs() < 5e-5, "{c}");
    }

    #[test]
    fn put_call_parity() {
        for &(x, k, vol, tau, r) in &[
            (3000.0, 2400.0, 0.9, 30.0 / 365.0, 0.0),
            (3000.0, 3500.0, 0.5, 0.25, 0.03),
            (100.0, 40.0, 1.5, 2.0, -0.01),
            (1.0, 1.0, 0.05, 1.0 / 365.0, 0.1),
        ] {
            let q = quote(x, k, vol, tau, r).unwrap();
            let put = bs_put(x, k, vol, tau, r);
            let disc = (-r * tau).exp();
            // C - Put = x - K e^{-rT}
            assert!((q.n_usd - put - (x - k * disc)).abs() < 1e-9 * x, "parity at {x} {k}");
            // P = K e^{-rT} - Put, and P + N = x, each from its own formula.
            assert!((q.p_usd - (k * disc - put)).abs() < 1e-9 * x);
            assert!((q.p_usd + q.n_usd - x).abs() < 1e-9 * x);
            assert!((q.p_delta + q.n_delta - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn expired_and_zero_vol_values() {
        let c = TauConsts::new(0.9, 0.0, 0.0);
        assert_eq!(capped_p(1500.0, 1500f64.ln(), 2000.0, 2000f64.ln(), &c), (1500.0, 1.0));
        assert_eq!(capped_p(2500.0, 2500f64.ln(), 2000.0, 2000f64.ln(), &c), (2000.0, 0.0));
        assert_eq!(bs_call(2500.0, 2000.0, 0.9, -1.0, 0.0), 500.0);
        // No volatility, r = 10%, tau = 1: P = min(x, K e^{-0.1}).
        let (p, d) = p_value_delta(&Payoff::Capped, 2000.0, 2000.0, 0.0, 1.0, 0.1);
        assert!((p - 2000.0 * (-0.1f64).exp()).abs() < 1e-9 && d == 0.0);
    }

    #[test]
    fn deltas_match_finite_differences() {
        let shapes = [Payoff::Capped, Payoff::Binary, Payoff::Linear { lower: 0.7, upper: 1.3 }];
        for shape in shapes {
            for &(x, k) in &[(3000.0, 2400.0), (2000.0, 2100.0), (1000.0, 1500.0)] {
                let (vol, tau, r) = (0.8, 20.0 / 365.0, 0.02);
                let h = 1e-5 * x;
                let up = p_value_delta(&shape, x + h, k, vol, tau, r).0;
                let dn = p_value_delta(&shape, x - h, k, vol, tau, r).0;
                let fd = (up - dn) / (2.0 * h);
                let d = p_value_delta(&shape, x, k, vol, tau, r).1;
                // Central differences err by O(h^2 f''') + O(eps P / h): about 1e-9 here.
                assert!((fd - d).abs() < 1e-6, "{shape:?} at x={x} K={k}: fd {fd} vs {d}");
            }
        }
        // The capped shape through the generic path equals the quote.
        let q = quote(2500.0, 2000.0, 0.7, 0.1, 0.01).unwrap();
        let (p, d) = p_value_delta(&Payoff::Capped, 2500.0, 2000.0, 0.7, 0.1, 0.01);
        assert!((p - q.p_usd).abs() < 1e-9 && (d - q.p_delta).abs() < 1e-12);
    }

    /// Monte Carlo under the risk-neutral GBM, exact sampling of `X_T`: the discounted mean
    /// payoff of N (and of P for every shape) must match the closed form within 4 standard
    /// errors.
    #[test]
    fn monte_carlo_matches_closed_forms() {
        let (x, k, vol, tau, r) = (3000.0, 2700.0, 0.9, 30.0 / 365.0, 0.03);
        let shapes = [Payoff::Capped, Payoff::Binary, Payoff::Linear { lower: 0.8, upper: 1.25 }];
        let n = 200_000;
        let mut rng = stream(20_240_601, 0, Purpose::Setup);
        let drift = (r - 0.5 * vol * vol) * tau;
        let sst = vol * f64::sqrt(tau);
        let disc = (-r * tau).exp();
        let mut sums = [[0.0f64; 2]; 4]; // N capped, then P of each shape: (sum, sum of squares)
        for _ in 0..n {
            let z: f64 = rng.sample(StandardNormal);
            let xt = x * (drift + sst * z).exp();
            let mut vals = [disc * Payoff::Capped.n_usd(xt, k), 0.0, 0.0, 0.0];
            for (i, s) in shapes.iter().enumerate() {
                vals[i + 1] = disc * s.p_usd(xt, k);
            }
            for (acc, v) in sums.iter_mut().zip(vals) {
                acc[0] += v;
                acc[1] += v * v;
            }
        }
        let expected = [
            bs_call(x, k, vol, tau, r),
            p_value_delta(&shapes[0], x, k, vol, tau, r).0,
            p_value_delta(&shapes[1], x, k, vol, tau, r).0,
            p_value_delta(&shapes[2], x, k, vol, tau, r).0,
        ];
        for (i, (acc, want)) in sums.iter().zip(expected).enumerate() {
            let mean = acc[0] / n as f64;
            let var = (acc[1] - n as f64 * mean * mean) / (n as f64 - 1.0);
            let se = (var / n as f64).sqrt();
            assert!((mean - want).abs() < 4.0 * se, "#{i}: MC {mean} +- {se} vs closed form {want}");
        }
    }

    #[test]
    fn quote_errors_name_the_argument() {
        let cases = [
            (quote(3000.0, 2000.0, -0.1, 0.1, 0.0), "vol"),
            (quote(3000.0, 2000.0, 0.5, 0.0, 0.0), "tau_years"),
            (quote(3000.0, 0.0, 0.5, 0.1, 0.0), "strike"),
            (quote(-1.0, 2000.0, 0.5, 0.1, 0.0), "spot"),
            (quote(3000.0, 2000.0, 0.5, 0.1, 2.0), "rate"),
            (quote(f64::NAN, 2000.0, 0.5, 0.1, 0.0), "spot"),
        ];
        for (r, key) in cases {
            let e = r.unwrap_err().to_string();
            assert!(e.starts_with(key) && e.contains("must"), "{e}");
        }
    }
}
