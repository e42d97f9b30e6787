//! The extremes of a Brownian bridge: the highest and lowest log price of a step between its two
//! end points, for orders that fill when the market trades through them within a step
//! (docs/MODEL.md, Execution).
//!
//! A Brownian motion with variance `v` over the step, conditioned to go from `a` to `b`, has
//! `P(max >= m) = exp(-2 (m - a)(m - b) / v)` for `m >= max(a, b)` (and the mirror image for
//! the minimum) (Borodin and Salminen, *Handbook of Brownian Motion*, 2002, 1.1.8; the
//! reflection principle). Inverting it with a uniform `u` in (0, 1] draws the maximum:
//! `m = (a + b + sqrt((b - a)^2 - 2 v ln u)) / 2`.

/// `P(max >= m)` of the bridge from `a` to `b` with variance `var` (1 when `m <= max(a, b)`).
pub fn bridge_max_exceeds(a: f64, b: f64, var: f64, m: f64) -> f64 {
    if m <= a.max(b) {
        1.0
    } else if var <= 0.0 {
        0.0
    } else {
        (-2.0 * (m - a) * (m - b) / var).exp()
    }
}

/// The bridge's maximum drawn by inversion from `u` in (0, 1].
#[inline]
pub fn bridge_max(a: f64, b: f64, var: f64, u: f64) -> f64 {
    let d = b - a;
    0.5 * (a + b + (d * d - 2.0 * var.max(0.0) * u.ln()).sqrt())
}

/// The bridge's minimum drawn by inversion from `u` in (0, 1] (the maximum of the mirrored
/// bridge).
#[inline]
pub fn bridge_min(a: f64, b: f64, var: f64, u: f64) -> f64 {
    -bridge_max(-a, -b, var, u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Purpose};
    use rand::RngExt;

    #[test]
    fn drawn_maxima_follow_the_closed_form() {
        let (a, b, var) = (0.0, 0.01, 0.0004);
        let mut rng = stream(7, 0, Purpose::Setup);
        let n = 100_000;
        for m in [0.012, 0.02, 0.03] {
            let p = bridge_max_exceeds(a, b, var, m);
            let hits = (0..n).filter(|_| bridge_max(a, b, var, 1.0 - rng.random::<f64>()) >= m).count();
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((hits as f64 / n as f64 - p).abs() < 4.0 * se, "{m}: {hits} vs {p}");
        }
        // The minimum mirrors it; the extremes never cross the end points.
        assert_eq!(bridge_min(0.0, 0.01, var, 1.0), 0.0);
        assert_eq!(bridge_max(0.0, 0.01, var, 1.0), 0.01);
        assert!(bridge_min(0.0, 0.01, var, 0.5) < 0.0);
        assert_eq!(bridge_max_exceeds(a, b, var, 0.005), 1.0);
        assert_eq!(bridge_max_exceeds(a, b, 0.0, 0.02), 0.0);
    }
}
