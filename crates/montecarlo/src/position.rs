//! Where one position's trigger sits: closed forms for `headroom position` (docs/MODEL.md).

use crate::error::{Error, Result};
use statrs::distribution::{ContinuousCDF, Normal};

/// Minutes in a year of 365 days.
const MINUTES_PER_YEAR: f64 = 365.0 * 24.0 * 60.0;

/// The Broadie-Glasserman-Kou constant `beta = -zeta(1/2) / sqrt(2 pi)`.
pub const BGK_BETA: f64 = 0.5826;

/// One position and the market it lives in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionInput {
    /// Collateral, units of the asset.
    pub collateral: f64,
    /// Debt, USD.
    pub debt_usd: f64,
    /// Price of the asset now, USD.
    pub price: f64,
    /// Liquidation threshold, in (0, 1].
    pub lt: f64,
    /// Liquidation bonus, a fraction.
    pub bonus: f64,
    /// Annualised volatility, > 0.
    pub vol: f64,
    /// Horizon, days.
    pub horizon_days: f64,
    /// Annualised drift of the price (default 0).
    pub drift: f64,
    /// Minutes between oracle checks; 0 means continuous.
    pub oracle_minutes: f64,
    /// Instant drop to survive, a fraction in [0, 1).
    pub gap: f64,
}

/// The answers of `headroom position` (the JSON keys of the command-line contract).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PositionReport {
    /// `debt / (collateral lt)`, USD.
    pub liquidation_price: f64,
    /// `collateral price lt / debt`.
    pub health_factor: f64,
    /// `1 - liquidation_price / price`.
    pub distance_pct: f64,
    /// `ln(price / liquidation_price) / (vol sqrt(horizon in years))`.
    pub distance_sigmas: f64,
    /// Probability of touching the liquidation price within the horizon, continuous monitoring.
    pub p_liq_continuous: f64,
    /// The same with checks every `oracle_minutes` (barrier shifted by Broadie-Glasserman-Kou).
    pub p_liq_discrete: f64,
    /// Collateral to add so that an instant drop of `gap` leaves HF >= 1.
    pub topup_for_gap: f64,
    /// `bonus x debt`: what a full liquidation would pay the liquidator, USD.
    pub bonus_at_risk_usd: f64,
    /// Simulated probability of liquidation (with `--mc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_liq_mc: Option<f64>,
    /// Its standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_liq_mc_se: Option<f64>,
}

impl PositionInput {
    /// Checks every flag; the error names the flag and the allowed range.
    pub fn validate(&self) -> Result<()> {
        let bad = |flag: &str, v: f64, allowed: &str| {
            Err(Error::Usage { flag: flag.into(), message: format!("{v}: {allowed}") })
        };
        let fin = |v: f64| v.is_finite();
        if !(fin(self.collateral) && self.collateral > 0.0) {
            return bad("--collateral", self.collateral, "must be > 0");
        }
        if !(fin(self.debt_usd) && self.debt_usd > 0.0) {
            return bad("--debt", self.debt_usd, "must be > 0");
        }
        if !(fin(self.price) && self.price > 0.0) {
            return bad("--price", self.price, "must be > 0");
        }
        if !(self.lt > 0.0 && self.lt <= 1.0) {
            return bad("--lt", self.lt, "must be within (0, 1]");
        }
        if !(fin(self.bonus) && self.bonus >= 0.0 && self.bonus < 1.0) {
            return bad("--bonus", self.bonus, "must be within [0, 1)");
        }
        if !(fin(self.vol) && self.vol > 0.0) {
            return bad("--vol", self.vol, "must be > 0");
        }
        if !(fin(self.horizon_days) && self.horizon_days > 0.0) {
            return bad("--horizon-days", self.horizon_days, "must be > 0");
        }
        if !(fin(self.drift) && self.drift.abs() <= 10.0) {
            return bad("--drift", self.drift, "must be within [-10, 10]");
        }
        if !(fin(self.oracle_minutes) && self.oracle_minutes >= 0.0) {
            return bad("--oracle-minutes", self.oracle_minutes, "must be >= 0 (0 = continuous)");
        }
        if !(fin(self.gap) && self.gap >= 0.0 && self.gap < 1.0) {
            return bad("--gap", self.gap, "must be within [0, 1)");
        }
        Ok(())
    }

    /// Horizon, years.
    pub fn horizon_years(&self) -> f64 {
        self.horizon_days / 365.0
    }

    /// The closed forms.
    pub fn report(&self) -> Result<PositionReport> {
        self.validate()?;
        let liq = self.debt_usd / (self.collateral * self.lt);
        let t = self.horizon_years();
        let p_cont = first_passage(self.price, liq, self.drift, self.vol, t);
        let p_disc = if self.oracle_minutes > 0.0 {
            let dt = self.oracle_minutes / MINUTES_PER_YEAR;
            first_passage(self.price, bgk_barrier(liq, self.vol, dt), self.drift, self.vol, t)
        } else {
            p_cont
        };
        Ok(PositionReport {
            liquidation_price: liq,
            health_factor: self.collateral * self.price * self.lt / self.debt_usd,
            distance_pct: 1.0 - liq / self.price,
            distance_sigmas: (self.price / liq).ln() / (self.vol * t.sqrt()),
            p_liq_continuous: p_cont,
            p_liq_discrete: if self.price <= liq { 1.0 } else { p_disc },
            topup_for_gap: (self.debt_usd / (self.price * (1.0 - self.gap) * self.lt) - self.collateral)
                .max(0.0),
            bonus_at_risk_usd: self.bonus * self.debt_usd,
            p_liq_mc: None,
            p_liq_mc_se: None,
        })
    }
}

/// The barrier that makes a continuously monitored first passage match checks every `dt_years`
/// (Broadie, Glasserman and Kou 1997): `H exp(-0.5826 sigma sqrt(dt))` for a barrier below the
/// start.
pub fn bgk_barrier(barrier: f64, vol: f64, dt_years: f64) -> f64 {
    barrier * (-BGK_BETA * vol * dt_years.sqrt()).exp()
}

/// Probability that a GBM from `s0` with drift `mu` and volatility `sigma` falls to `barrier`
/// (< s0) before `t_years`: with `nu = mu - sigma^2/2`, `b = ln(H/S0)`,
/// `P = Phi((b - nu T)/(sigma sqrt T)) + (H/S0)^(2 nu / sigma^2) Phi((b + nu T)/(sigma sqrt T))`;
/// 1 when the start is at or below the barrier (docs/MODEL.md).
pub fn first_passage(s0: f64, barrier: f64, mu: f64, sigma: f64, t_years: f64) -> f64 {
    if s0 <= barrier {
        return 1.0;
    }
    let n = Normal::standard();
    let nu = mu - 0.5 * sigma * sigma;
    let b = (barrier / s0).ln();
    let sd = sigma * t_years.sqrt();
    let p = n.cdf((b - nu * t_years) / sd)
        + (barrier / s0).powf(2.0 * nu / (sigma * sigma)) * n.cdf((b + nu * t_years) / sd);
    p.clamp(0.0, 1.0)
}

/// Minutes between checks of the simulation when the closed form is continuous (`--oracle-minutes 0`).
pub const MC_CONTINUOUS_MINUTES: f64 = 1.0;

/// Seed of the `--mc` simulation.
pub const MC_SEED: u64 = 42;

impl PositionInput {
    /// The experiment `--mc` runs: this one position as a generic CDP (spot oracle checked every
    /// `oracle_minutes`, or every minute when 0; no impact; close factor 1), on GBM with the
    /// given drift and volatility, over the horizon.
    pub fn mc_experiment(&self, paths: u64) -> Result<crate::ExperimentSpec> {
        self.validate()?;
        let minutes = if self.oracle_minutes > 0.0 { self.oracle_minutes } else { MC_CONTINUOUS_MINUTES };
        let steps = (self.horizon_days * 24.0 * 60.0 / minutes).round().max(1.0) as u64;
        let hf = self.collateral * self.price * self.lt / self.debt_usd;
        let text = format!(
            r#"
name = "position"
seed = {MC_SEED}
paths = {paths}
worlds = ["cdp"]
horizon_days = {horizon}
steps = {steps}
[market]
start_price = {price}
process = {{ model = "gbm", mu = {drift}, sigma = {vol} }}
[cohort]
source = "ladder"
positions = 1
collateral = {collateral}
hf_min = {hf}
hf_max = {hf}
lt = {lt}
[cdp]
protocol = "generic"
lt = {lt}
bonus = {bonus}
close_factor = 1.0
"#,
            horizon = self.horizon_days,
            price = self.price,
            drift = self.drift,
            vol = self.vol,
            collateral = self.collateral,
            lt = self.lt,
            bonus = self.bonus,
        );
        crate::ExperimentSpec::parse(&text, std::path::Path::new("position --mc"))
    }

    /// The closed forms and, with `mc = Some(n)`, the simulation over `n` paths (`p_liq_mc`,
    /// `p_liq_mc_se`): the answers of `headroom position [--mc N]`.
    pub fn report_with_mc(&self, mc: Option<u64>, threads: Option<usize>) -> Result<PositionReport> {
        let mut r = self.report()?;
        if let Some(n) = mc {
            let (p, se) = self.mc(n, threads)?;
            r.p_liq_mc = Some(p);
            r.p_liq_mc_se = Some(se);
        }
        Ok(r)
    }

    /// The simulated probability of liquidation within the horizon and its standard error, from
    /// the same engine as `headroom run`.
    pub fn mc(&self, paths: u64, threads: Option<usize>) -> Result<(f64, f64)> {
        if paths < 2 {
            return Err(Error::Usage { flag: "--mc".into(), message: format!("{paths}: must be >= 2") });
        }
        let spec = self.mc_experiment(paths)?;
        let exp = crate::Experiment::build(spec, std::path::Path::new("position --mc"))?;
        // One value a path (not its whole row) is kept.
        struct Hits(Vec<f64>);
        impl crate::spill::RowSink for Hits {
            fn block(&mut self, _: u64, rows: &[&[headroom_market::PathMetrics]]) -> Result<()> {
                self.0.extend(rows[0].iter().map(|m| (m.positions_hit > 0) as u8 as f64));
                Ok(())
            }
        }
        let mut hits = Hits(Vec::new());
        exp.run_blocks(&crate::RunOptions { paths: 0..paths, threads, ..Default::default() }, &mut hits)?;
        let hits = hits.0;
        let s = crate::stats::stats(&hits, crate::stats::Worst::High);
        Ok((s.mean, s.se))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PositionInput {
        PositionInput {
            collateral: 10.0,
            debt_usd: 20_000.0,
            price: 3000.0,
            lt: 0.83,
            bonus: 0.05,
            vol: 0.8,
            horizon_days: 30.0,
            drift: 0.0,
            oracle_minutes: 0.0,
            gap: 0.2,
        }
    }

    #[test]
    fn closed_forms_by_hand() {
        let r = input().report().unwrap();
        let liq = 20_000.0 / (10.0 * 0.83);
        assert!((r.liquidation_price - liq).abs() < 1e-9);
        assert!((r.health_factor - 10.0 * 3000.0 * 0.83 / 20_000.0).abs() < 1e-12);
        assert!((r.distance_pct - (1.0 - liq / 3000.0)).abs() < 1e-12);
        let t: f64 = 30.0 / 365.0;
        assert!((r.distance_sigmas - (3000.0 / liq).ln() / (0.8 * t.sqrt())).abs() < 1e-12);
        assert!((r.topup_for_gap - (20_000.0 / (3000.0 * 0.8 * 0.83) - 10.0)).abs() < 1e-9);
        assert_eq!(r.bonus_at_risk_usd, 1000.0);
        // Driftless GBM: nu = -sigma^2/2, the exponent 2 nu / sigma^2 = -1:
        // P = Phi((b + s^2 T/2)/(s sqrt T)) + (S0/H) Phi((b - s^2 T/2)/(s sqrt T)).
        let n = Normal::standard();
        let (b, sd) = ((liq / 3000.0f64).ln(), 0.8 * t.sqrt());
        let want = n.cdf((b + 0.32 * t) / sd) + (3000.0 / liq) * n.cdf((b - 0.32 * t) / sd);
        assert!((r.p_liq_continuous - want).abs() < 1e-12, "{} vs {want}", r.p_liq_continuous);
        assert_eq!(r.p_liq_discrete, r.p_liq_continuous);
    }

    #[test]
    fn discrete_checks_lower_the_probability() {
        let mut i = input();
        i.oracle_minutes = 60.0;
        let r = i.report().unwrap();
        assert!(r.p_liq_discrete < r.p_liq_continuous);
        let h = bgk_barrier(r.liquidation_price, 0.8, 60.0 / MINUTES_PER_YEAR);
        assert!((r.p_liq_discrete - first_passage(3000.0, h, 0.0, 0.8, 30.0 / 365.0)).abs() < 1e-15);
    }

    #[test]
    fn already_liquidatable_is_certain_and_no_gap_needs_no_topup() {
        let mut i = input();
        i.price = 2000.0;
        i.gap = 0.0;
        let r = i.report().unwrap();
        assert_eq!((r.p_liq_continuous, r.p_liq_discrete), (1.0, 1.0));
        assert!(r.topup_for_gap > 0.0);
        i.price = 5000.0;
        assert_eq!(i.report().unwrap().topup_for_gap, 0.0);
    }

    #[test]
    fn simulation_agrees_with_the_shifted_closed_form() {
        // Checks every 60 minutes: the Broadie-Glasserman-Kou barrier; 4 standard errors.
        let mut i = input();
        i.oracle_minutes = 60.0;
        i.horizon_days = 10.0;
        let r = i.report().unwrap();
        let (p, se) = i.mc(4000, Some(2)).unwrap();
        assert!(se > 0.0);
        assert!((p - r.p_liq_discrete).abs() < 4.0 * se, "mc {p} (se {se}) vs {}", r.p_liq_discrete);
    }

    #[test]
    fn bad_flags_are_named() {
        for (f, flag) in [
            ((|i: &mut PositionInput| i.debt_usd = 0.0) as fn(&mut PositionInput), "--debt"),
            (|i| i.lt = 1.2, "--lt"),
            (|i| i.lt = 0.0, "--lt"),
            (|i| i.vol = -0.1, "--vol"),
            (|i| i.gap = 1.0, "--gap"),
            (|i| i.horizon_days = f64::NAN, "--horizon-days"),
        ] {
            let mut i = input();
            f(&mut i);
            let e = i.report().unwrap_err().to_string();
            assert!(e.starts_with(flag), "{e}");
        }
    }
}
