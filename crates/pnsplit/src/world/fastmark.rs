//! The capped P value of the holders that never rolled, `sum_{i >= c} u_i P(x, K_i, tau)`, in
//! O(log n + bins near the money) instead of one Black-Scholes pricing per holder
//! (docs/MODEL.md, Marks at the cost of the holders that move).
//!
//! Holders are sorted by strike, descending; write `y = ln K`. Three parts:
//!
//! * deep out of the money for P (`d1 < -Z`, the highest strikes): `P = x - Call` with
//!   `Call <= x Phi(d1) < x Phi(-Z)`, so `P = x` per unit, from the suffix sums of `u`;
//! * deep in the money (`d2 > Z`, the lowest strikes): `P = K e^{-r tau} - Put` with
//!   `Put <= K e^{-r tau} Phi(-d2) < K e^{-r tau} Phi(-Z)`, so `P = K e^{-r tau}`, from the
//!   suffix sums of `u K`. With `Z = 8.5`, `Phi(-Z) < 1e-17`: below the rounding of P itself.
//! * near the money: holders fall in bins of width `w` in `y` (one set of bins per level,
//!   `w = W0 2^l`); a bin's value is the Taylor series of `F(y) = P(x, e^y, tau)` at its centre
//!   `c` to degree `J`, `sum_j F^(j)(c) / j! M_j` with the moments `M_j = sum u (y - c)^j` kept
//!   as suffix sums within each bin (so the bin that the cursor cuts costs the same). With
//!   `F'(y) = G(y) = D e^y Phi(d2)` (`D = e^{-r tau}`, `dd2/dy = -1/s`, `s = sigma sqrt tau`),
//!   `G^(m)(c) = D e^c [Phi(d2) - phi(d2) sum_{l=1..m} C(m, l) s^{-l} He_{l-1}(d2)]`
//!   (`He` the probabilists' Hermite polynomials). Exchanging the sums, the series is
//!   `F(c) M_0 + D e^c [Phi(d2) B - phi(d2) sum_{l=1..J-1} s^-l He_{l-1}(d2) A_l]` with
//!   `B = sum_{j>=1} M_j / j!` and `A_l = sum_{j>l} C(j-1, l) M_j / j!`: linear in the moments,
//!   made once per bin when the bins are built (and from the suffix moments for the one bin the
//!   cursor cuts), so a bin costs two `Phi`, one `phi` and O(J). The level is the widest with
//!   `w <= 3 s / 4`. The remainder is at most `sup |F^(J+1)| (w/2)^(J+1) / (J+1)!` per unit; each
//!   derivative brings a factor of about `1/s` (`F^(J+1)` is `K s^-J` times Hermite terms,
//!   bounded by Cramer's `|He_k(z)| phi(z) <= 0.435 sqrt(k!)`), so with `J = 10` and
//!   `w / 2 <= 3 s / 8` the remainder is at most about `0.435 sqrt(10!) (3/8)^11 / 11!`, 4.3e-10,
//!   times `K s`: the test holds the fast value to exact marking within 1e-9 on random cohorts,
//!   prices, volatilities and times from a year to a minute, and fails at `w <= 3 s / 2` (the
//!   delta, below), so the margin is the factor `2^(J+1)`. When no level
//!   is narrow enough (`s` under `4 W0 / 3`: the last hours before maturity), the near band
//!   `[-Z, Z]` in `d` is narrow and its holders are priced one by one. A mark prices about
//!   `2 Z / (3/4) = 23` bins near the money, whatever the cohort's size. (Degree 8 with
//!   `w <= s / 2` and an O(J^2) series a bin cost 1.3 times as many instructions a mark;
//!   degree 12 with `w <= s`, fewer still, differs from exact marking by about 1e-11 of the
//!   value, twice the degree-8 series' 5e-12 (not its truncation: degree 14 gives the same
//!   figures), which the brute-force reference test of `p_drift` sees.)
//!
//! The same bins give the untouched holders' ETH-delta `sum_{i >= c} u_i Phi(-d1(x, K_i, tau))`
//! for the counterparty's rebalancing ([`super::hedge`]): 1 a unit deep out of the money
//! (`Phi(d1) < Phi(-Z)`), 0 deep in it (`Phi(-d1) < Phi(-Z)`), and near the money the Taylor
//! series of `D(y) = Phi(z)`, `z = (y - ln x - drift) / s = -d1`, whose derivatives are
//! `D^(j) = s^-j (-1)^(j-1) He_{j-1}(z) phi(z)`. Its remainder per unit is at most
//! `s^-(J+1) sup |He_J phi| (w/2)^(J+1) / (J+1)!` with `sup |He_J(z) phi(z)| <= 1.086435
//! sqrt(J!) / sqrt(2 pi)` (Cramer), so with `w/2 <= 3 s / 8`: `0.4335 sqrt(10!) (3/8)^11 / 11!
//! = 4.3e-10` per unit of the holders near the money; the test holds the fast delta to exact
//! within 1e-9 of the units.
//!
//! Memory: `(J + 1)` moments a holder and level (`LEVELS` levels), about 0.9 kB a holder, made
//! once per experiment and shared by every thread.

use super::Holder;
use crate::pricing::{capped_p, norm_cdf, norm_pdf, TauConsts};

/// The cut, in standard deviations: `Phi(-8.5) < 1e-17`.
const Z: f64 = 8.5;
/// The Taylor degree.
const J: usize = 10;
/// The narrowest bin width, in log strike.
const W0: f64 = 0.005;
/// The widest bin, in standard deviations `s` of the log price.
const WIDTH_PER_SD: f64 = 0.75;
/// Levels of bin widths `W0 2^l`.
const LEVELS: usize = 8;
/// The most holders for which the moments are kept (`(J + 1) LEVELS` numbers a holder).
pub(super) const MAX_HOLDERS: usize = 200_000;

/// One level of bins.
#[derive(Debug)]
struct Level {
    width: f64,
    /// Each holder's bin centre `c`, `e^c`, and the end (exclusive) of its bin.
    centre: Vec<f64>,
    exp_centre: Vec<f64>,
    end: Vec<u32>,
    /// `moments[i * (J + 1) + j] = sum_{k in [i, end(i))} u_k (y_k - centre)^j`.
    moments: Vec<f64>,
    /// Each holder's bin, and each bin's first holder.
    bin: Vec<u32>,
    start: Vec<u32>,
    /// Each whole bin's value coefficients ([`coefficients`] of its moments), `J + 1` a bin.
    whole: Vec<f64>,
}

/// The bins and moments of a cohort sorted by strike (descending), built once per experiment.
#[derive(Debug)]
pub(super) struct FastMark {
    levels: Vec<Level>,
    ln_k: Vec<f64>,
}

impl FastMark {
    /// Builds the bins of every level over `holders` (sorted by strike, descending).
    pub(super) fn new(holders: &[Holder]) -> FastMark {
        let n = holders.len();
        let ln_k: Vec<f64> = holders.iter().map(|h| h.ln_strike).collect();
        let mut levels = Vec::with_capacity(LEVELS);
        for l in 0..LEVELS {
            let width = W0 * (1u64 << l) as f64;
            let mut centre = vec![0.0; n];
            let mut exp_centre = vec![0.0; n];
            let mut end = vec![0u32; n];
            let mut moments = vec![0.0; n * (J + 1)];
            let (mut bin, mut starts, mut whole) = (vec![0u32; n], Vec::new(), Vec::new());
            let mut start = 0;
            while start < n {
                let mut stop = start + 1;
                while stop < n && ln_k[start] - ln_k[stop] <= width {
                    stop += 1;
                }
                let c = 0.5 * (ln_k[start] + ln_k[stop - 1]);
                let mut acc = [0.0; J + 1];
                for i in (start..stop).rev() {
                    let d = ln_k[i] - c;
                    let mut p = holders[i].units;
                    for a in acc.iter_mut() {
                        *a += p;
                        p *= d;
                    }
                    moments[i * (J + 1)..(i + 1) * (J + 1)].copy_from_slice(&acc);
                    centre[i] = c;
                    exp_centre[i] = c.exp();
                    end[i] = stop as u32;
                    bin[i] = starts.len() as u32;
                }
                starts.push(start as u32);
                whole.extend_from_slice(&coefficients(&acc));
                start = stop;
            }
            levels.push(Level { width, centre, exp_centre, end, moments, bin, start: starts, whole });
        }
        FastMark { levels, ln_k }
    }

    /// The holders from `c` on at `x` in three bands: `[c, a)` deep out of the money for P
    /// (`d1 < -Z`), `[a, b)` near the money, `[b, n)` deep in the money (`d2 > Z`, so `d1 > Z`
    /// too). Requires `c < n` and `k.sst > 0`.
    fn bands(&self, c: usize, ln_x: f64, k: &TauConsts) -> (usize, usize) {
        let s = k.sst;
        // d1 < -Z  <=>  y > ln x + drift + Z s;  d2 > Z  <=>  y < ln x + drift - s^2 - Z s.
        let y_hi = ln_x + k.drift + Z * s;
        let y_lo = ln_x + k.drift - s * s - Z * s;
        let a = c + self.ln_k[c..].partition_point(|&y| y > y_hi);
        let b = a + self.ln_k[a..].partition_point(|&y| y >= y_lo);
        (a, b)
    }

    /// The widest level whose bins are at most `WIDTH_PER_SD` standard deviations wide.
    fn level(&self, k: &TauConsts) -> Option<&Level> {
        self.levels.iter().rev().find(|l| l.width <= WIDTH_PER_SD * k.sst)
    }

    /// `sum_{i in [c, n)} u_i P(x, K_i, tau)` for the capped payoff, with `suf_u` and `suf_uk`
    /// the suffix sums of `u` and `u K` (module documentation).
    pub(super) fn value(
        &self,
        holders: &[Holder],
        suf_u: &[f64],
        suf_uk: &[f64],
        c: usize,
        x: f64,
        k: &TauConsts,
    ) -> f64 {
        let n = holders.len();
        if c >= n {
            return 0.0;
        }
        let ln_x = x.ln();
        if k.expired || k.sst <= 0.0 {
            return holders[c..]
                .iter()
                .map(|h| h.units * capped_p(x, ln_x, h.strike, h.ln_strike, k).0)
                .sum();
        }
        let (a, mut b) = self.bands(c, ln_x, k);
        let mut v = x * (suf_u[c] - suf_u[a]);
        match self.level(k) {
            None => {
                for h in &holders[a..b] {
                    v += h.units * capped_p(x, ln_x, h.strike, h.ln_strike, k).0;
                }
            }
            Some(lv) => {
                let mut i = a;
                if i < b {
                    // Whole bins: the last one may reach past b (the series holds there too).
                    b = b.max(lv.end[b - 1] as usize);
                }
                while i < b {
                    // A whole bin's coefficients were made with the bins; a bin the cursor cuts
                    // (only the first) makes them from its suffix moments.
                    let bin = lv.bin[i] as usize;
                    let cut;
                    let w = if lv.start[bin] as usize == i {
                        &lv.whole[bin * (J + 1)..(bin + 1) * (J + 1)]
                    } else {
                        cut = coefficients(&lv.moments[i * (J + 1)..(i + 1) * (J + 1)]);
                        &cut[..]
                    };
                    v += series(x, ln_x, lv.centre[i], lv.exp_centre[i], w, k);
                    i = lv.end[i] as usize;
                }
            }
        }
        v + k.disc * suf_uk[b]
    }

    /// `sum_{i in [c, n)} u_i Phi(-d1(x, K_i, tau))`, the ETH-delta of the capped P of the
    /// holders from `c` on, with `suf_u` the suffix sums of `u` (module documentation: the
    /// delta is 1 per unit deep out of the money, 0 deep in it, a series near it).
    pub(super) fn delta(&self, holders: &[Holder], suf_u: &[f64], c: usize, x: f64, k: &TauConsts) -> f64 {
        let n = holders.len();
        if c >= n {
            return 0.0;
        }
        let ln_x = x.ln();
        if k.expired || k.sst <= 0.0 {
            return holders[c..]
                .iter()
                .map(|h| h.units * capped_p(x, ln_x, h.strike, h.ln_strike, k).1)
                .sum();
        }
        let (a, b) = self.bands(c, ln_x, k);
        let mut d = suf_u[c] - suf_u[a];
        match self.level(k) {
            None => {
                for h in &holders[a..b] {
                    d += h.units * capped_p(x, ln_x, h.strike, h.ln_strike, k).1;
                }
            }
            Some(lv) => {
                let mut i = a;
                let b = if i < b { b.max(lv.end[b - 1] as usize) } else { b };
                while i < b {
                    let m = &lv.moments[i * (J + 1)..(i + 1) * (J + 1)];
                    d += delta_series(ln_x, lv.centre[i], m, k);
                    i = lv.end[i] as usize;
                }
            }
        }
        d
    }
}

/// `sum_j D^(j)(c) / j! M_j` for `D(y) = Phi(z)`, `z = (y - ln x - drift) / s = -d1`: one bin's
/// ETH-delta from its moments, with `D^(j) = s^-j (-1)^(j-1) He_{j-1}(z) phi(z)` for `j >= 1`.
#[inline]
fn delta_series(ln_x: f64, c: f64, m: &[f64], k: &TauConsts) -> f64 {
    let z = (c - ln_x - k.drift) * k.inv_sst;
    // He_0 .. He_{J-1} at z.
    let mut he = [0.0; J];
    he[0] = 1.0;
    if J > 1 {
        he[1] = z;
    }
    for q in 2..J {
        he[q] = z * he[q - 1] - (q - 1) as f64 * he[q - 2];
    }
    let mut sum = 0.0;
    let mut pow = 1.0;
    let mut sign = 1.0;
    for j in 1..=J {
        pow *= k.inv_sst;
        sum += sign * he[j - 1] * pow * INV_FACT[j] * m[j];
        sign = -sign;
    }
    norm_cdf(z) * m[0] + norm_pdf(z) * sum
}

/// A bin's value coefficients from its moments `M_0..M_J`: `[M_0, B, A_1, .., A_{J-1}]` with
/// `B = sum_{j >= 1} M_j / j!` and `A_l = sum_{j > l} C(j - 1, l) M_j / j!`, so that
/// [`series`] costs O(J) (module documentation). Linear in the moments.
fn coefficients(m: &[f64]) -> [f64; J + 1] {
    let mut w = [0.0; J + 1];
    w[0] = m[0];
    for j in 1..=J {
        let mj = INV_FACT[j] * m[j];
        w[1] += mj;
        for l in 1..j {
            w[1 + l] += BINOM[j - 1][l] * mj;
        }
    }
    w
}

/// `sum_j F^(j)(c) / j! M_j`: one bin's value from its coefficients `w` ([`coefficients`]).
/// With `F^(j) = G^(j-1)` and `G^(m)(c) = D e^c [Phi(d2) - phi(d2) sum_{l=1..m} C(m, l) t_l]`,
/// `t_l = s^-l He_{l-1}(d2)`, the sum is `F(c) M_0 + D e^c [Phi(d2) B - phi(d2) sum_l t_l A_l]`.
#[inline]
fn series(x: f64, ln_x: f64, c: f64, kc: f64, w: &[f64], k: &TauConsts) -> f64 {
    let s = k.sst;
    let d1 = (ln_x - c + k.drift) * k.inv_sst;
    let d2 = d1 - s;
    let big_phi = norm_cdf(d2);
    let f0 = x * norm_cdf(-d1) + kc * k.disc * big_phi;
    // sum_{l=1..J-1} s^-l He_{l-1}(d2) A_l, the Hermite polynomials by their recurrence.
    let inv_s = k.inv_sst;
    let (mut he_prev, mut he) = (0.0, 1.0);
    let mut pow = inv_s;
    let mut sum = 0.0;
    for l in 1..J {
        sum += pow * he * w[1 + l];
        // He_l = d2 He_{l-1} - (l - 1) He_{l-2}.
        let next = d2 * he - (l - 1) as f64 * he_prev;
        he_prev = he;
        he = next;
        pow *= inv_s;
    }
    f0 * w[0] + k.disc * kc * (big_phi * w[1] - norm_pdf(d2) * sum)
}

/// `C(m, l)` for `m, l < J`.
const BINOM: [[f64; J]; J] = {
    let mut b = [[0.0; J]; J];
    let mut m = 0;
    while m < J {
        b[m][0] = 1.0;
        let mut l = 1;
        while l <= m {
            b[m][l] = b[m - 1][l - 1] + if l < m { b[m - 1][l] } else { 0.0 };
            l += 1;
        }
        m += 1;
    }
    b
};

/// `1 / j!` for `j <= J`.
const INV_FACT: [f64; J + 1] = {
    let mut f = [1.0; J + 1];
    let mut j = 1;
    let mut acc = 1.0;
    while j <= J {
        acc *= j as f64;
        f[j] = 1.0 / acc;
        j += 1;
    }
    f
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::TauConsts;
    use rand::RngExt;

    /// The fast value and delta against pricing every holder, on random cohorts, prices, times
    /// to maturity (from a year to a minute) and cursors: within 1e-9 of the value, and of the
    /// units for the delta.
    #[test]
    fn fast_marks_match_exact_marking() {
        let mut rng = headroom_market::stream(5, 0, headroom_market::Purpose::Setup);
        for trial in 0..60 {
            let n = 1 + rng.random_range(0..3000usize);
            let mut hs: Vec<Holder> = (0..n)
                .map(|i| {
                    let strike: f64 = 3000.0 * rng.random_range(0.05..1.6f64);
                    Holder {
                        id: i as u64,
                        units: rng.random_range(0.1..100.0),
                        strike,
                        ln_strike: strike.ln(),
                    }
                })
                .collect();
            hs.sort_by(|a, b| b.strike.total_cmp(&a.strike));
            let mut suf_u = vec![0.0; n + 1];
            let mut suf_uk = vec![0.0; n + 1];
            for i in (0..n).rev() {
                suf_u[i] = suf_u[i + 1] + hs[i].units;
                suf_uk[i] = suf_uk[i + 1] + hs[i].units * hs[i].strike;
            }
            let fm = FastMark::new(&hs);
            for _ in 0..10 {
                let x: f64 = rng.random_range(500.0..6000.0);
                let tau = 10f64.powf(rng.random_range(-5.7..0.0f64));
                let vol: f64 = rng.random_range(0.2..1.5);
                let rate: f64 = rng.random_range(-0.02..0.05);
                let k = TauConsts::new(vol, tau, rate);
                let c = rng.random_range(0..n);
                let exact: f64 =
                    hs[c..].iter().map(|h| h.units * capped_p(x, x.ln(), h.strike, h.ln_strike, &k).0).sum();
                let fast = fm.value(&hs, &suf_u, &suf_uk, c, x, &k);
                assert!(
                    (fast - exact).abs() <= 1e-9 * exact.abs().max(1e-300),
                    "trial {trial}: n {n} c {c} x {x} tau {tau} vol {vol}: {fast} vs {exact}"
                );
                // The delta within the bound of the module documentation, 4.3e-10 a unit.
                let exact: f64 =
                    hs[c..].iter().map(|h| h.units * capped_p(x, x.ln(), h.strike, h.ln_strike, &k).1).sum();
                let fast = fm.delta(&hs, &suf_u, c, x, &k);
                assert!(
                    (fast - exact).abs() <= 1e-9 * suf_u[c],
                    "trial {trial}: n {n} c {c} x {x} tau {tau} vol {vol}: delta {fast} vs {exact}"
                );
            }
        }
    }
}
