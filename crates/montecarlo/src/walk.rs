//! One position walked toward its trigger, step by step (`headroom serve`).
//!
//! A walk runs one path of an experiment whose cohort is one position, through the same worlds
//! and the same market as [`Experiment::run`] and [`Experiment::trace_path`] (the same streams,
//! steps and event rows), and records after every step what a borrower watches: the market and
//! oracle prices, the position's collateral, debt, health factor and liquidation price, the
//! metrics so far (the row `run` would write if the path ended there), what the borrower has
//! lost to forced sales, and the P/N split of the same deposit (P and N values, its rolls and
//! their costs). Without a top-up, a walk's events and final metrics are exactly the run's
//! (tested); the per-step records are read from the worlds between steps, so `run`'s loop is
//! not touched.
//!
//! A top-up ([`TopUp`]) is the borrower's own deposit of collateral, sent at a step and landing
//! `latency_steps` later, before that step's liquidation rounds
//! ([`headroom_cdp::CdpWorld::add_collateral`]).

use crate::error::{Error, Result};
use crate::runner::{Experiment, Slot};
use crate::spec::WorldKind;
use headroom_cdp::{CdpWorld, Mechanism};
use headroom_market::{stream, Event, EventKind, PathMetrics, Primitive, Purpose, StepCtx, WorldMarket};
use headroom_pnsplit::PnWorld;

/// A borrower's own top-up during a walk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopUp {
    /// Units of collateral added, > 0.
    pub units: f64,
    /// The step (0-based) in which the borrower sends it.
    pub step: usize,
    /// Steps until it lands: it is added in step `step + latency_steps`, before that step's
    /// liquidation rounds (0: in the step it is sent).
    pub latency_steps: u32,
}

/// The CDP position after one step (or at the start).
#[derive(Clone, Debug, PartialEq)]
pub struct CdpPoint {
    /// Time after the step, years.
    pub time_years: f64,
    /// Market price at the end of the step.
    pub price: f64,
    /// Oracle price at the end of the step.
    pub oracle_price: f64,
    /// The oracle price the step's first round read: after the step's return, before its
    /// trades (the start price at the start).
    pub oracle_before: f64,
    /// Whether the position was liquidatable at that price (`c x lt < d`, `d` with the interest
    /// accrued to the previous step): the trigger.
    pub triggered: bool,
    /// Collateral of the position at the end of the step, units (0 once closed).
    pub collateral: f64,
    /// Its debt, USD (0 once closed).
    pub debt_usd: f64,
    /// `collateral x oracle_price x lt / debt` (None once closed).
    pub health_factor: Option<f64>,
    /// `debt / (collateral lt)`, USD (None once closed).
    pub liquidation_price: Option<f64>,
    /// What the borrower has lost to forced sales so far, USD at the market price: the equity the
    /// position would have without them, `max(C x - D, 0)` (`C` the collateral put in, top-ups
    /// included; `D` the debt with interest), less what the borrower has
    /// (`max(c x - d, 0)`, the collateral given back and Compound's absorb surplus).
    pub borrower_loss_usd: f64,
    /// The world's metrics so far: the row `run` would write if the path ended here.
    pub metrics: PathMetrics,
}

/// The P/N split of the same deposit after one step (or at the start).
#[derive(Clone, Debug, PartialEq)]
pub struct PnPoint {
    /// Time after the step, years.
    pub time_years: f64,
    /// Market price at the end of the step (the P/N world's own market).
    pub price: f64,
    /// Roll oracle price at the end of the step.
    pub oracle_price: f64,
    /// The P holder's claim, USD ([`PnWorld::p_value_usd`]).
    pub p_usd: f64,
    /// The borrower's N on the deposit, USD: `u price - P(K)` ([`PnWorld::deposit_p_value_usd`]).
    pub n_usd: f64,
    /// The world's metrics so far (rolls, fees, slippage).
    pub metrics: PathMetrics,
}

/// A walked path: one point per world at the start and after every step, the events, and the
/// final metrics (equal to the run's row of the path when there is no top-up).
#[derive(Clone, Debug, Default)]
pub struct Walk {
    /// The global path index.
    pub path: u64,
    /// The position's id.
    pub position: u64,
    /// The CDP world's points (empty when the experiment does not run it).
    pub cdp: Vec<CdpPoint>,
    /// The CDP world's events (liquidations, auctions, top-ups).
    pub cdp_events: Vec<Event>,
    /// The CDP world's row.
    pub cdp_metrics: Option<PathMetrics>,
    /// The first step whose first round found the position liquidatable.
    pub trigger_step: Option<usize>,
    /// The step the top-up landed in and whether the position took it (false: closed already).
    pub topup_landed: Option<(usize, bool)>,
    /// The P/N world's points (empty when the experiment does not run it).
    pub pn: Vec<PnPoint>,
    /// The P/N world's events (rolls, settlements).
    pub pn_events: Vec<Event>,
    /// The P/N world's row.
    pub pn_metrics: Option<PathMetrics>,
}

impl Experiment {
    /// Walks path `path` of an experiment whose cohort is one position (see the module
    /// documentation), with an optional top-up. O(steps) for one position.
    pub fn walk(&self, path: u64, topup: Option<TopUp>) -> Result<Walk> {
        if self.cohort.len() != 1 {
            return Err(Error::Invalid {
                file: self.file.clone(),
                problems: vec![format!(
                    "cohort: a walk follows one position, this cohort has {}",
                    self.cohort.len()
                )],
            });
        }
        if let Some(t) = topup {
            if !(t.units.is_finite() && t.units > 0.0) {
                return Err(Error::Usage {
                    flag: "topup_eth".into(),
                    message: format!("{}: must be > 0", t.units),
                });
            }
        }
        let b = self.cohort.borrowers[0];
        let seed = self.spec.seed;
        let mut cdp = self.cdp.clone();
        let mut pn = self.pn.clone();
        if let Some(s) = cdp.as_mut() {
            s.begin(seed, path, WorldKind::Cdp, true);
        }
        if let Some(s) = pn.as_mut() {
            s.begin(seed, path, WorldKind::Pn, true);
        }
        let mut exo_rng = stream(seed, path, Purpose::Exogenous);
        let mut exo = self.exo.start_path(&mut exo_rng);
        let mut w = Walk { path, position: b.id, ..Walk::default() };
        let mut credited = 0.0;
        let start = StepCtx { step: 0, steps: self.env.steps, dt_years: self.env.dt_years, time_years: 0.0 };
        if let Some(s) = &cdp {
            w.cdp.push(cdp_point(
                s,
                &start,
                s.market.oracle_price(),
                false,
                b.collateral,
                b.debt_usd,
                0.0,
                credited,
            ));
        }
        if let Some(s) = &pn {
            w.pn.push(pn_point(s, &start, b.collateral));
        }
        let land = topup.map(|t| t.step.saturating_add(t.latency_steps as usize));
        let mut topped = 0.0;
        for step in 0..self.env.steps {
            let ctx = self.ctx(step);
            let r = exo.next_log_return(&self.exo, &mut exo_rng);
            // The step's candle, when the path has one, as the run gives it to the markets.
            let range = exo.step_range(&self.exo, step);
            if let Some(s) = cdp.as_mut() {
                s.begin_step_in_range(&ctx, r, range);
                if land == Some(step) {
                    let units = topup.map_or(0.0, |t| t.units);
                    let took = s.prim.add_collateral(&ctx, b.id, units, &s.market, &mut s.sink);
                    if took {
                        topped += units;
                    }
                    w.topup_landed = Some((step, took));
                }
                let x = s.market.oracle_price();
                let lt = s.prim.params().lt;
                let triggered = s.prim.positions().iter().any(|p| p.collateral * x * lt < p.debt_usd);
                if triggered && w.trigger_step.is_none() {
                    w.trigger_step = Some(step);
                }
                s.prim.step(&ctx, &mut s.market, &mut s.rng, &mut s.sink);
                let events = s.sink.take();
                credited += absorb_surplus(s.prim.params().mechanism, &events);
                w.cdp_events.extend(events);
                let put_in = b.collateral + topped;
                let rate = s.prim.params().borrow_rate;
                w.cdp.push(cdp_point(s, &ctx, x, triggered, put_in, b.debt_usd, rate, credited));
            }
            if let Some(s) = pn.as_mut() {
                s.begin_step_in_range(&ctx, r, range);
                s.prim.step(&ctx, &mut s.market, &mut s.rng, &mut s.sink);
                w.pn_events.extend(s.sink.take());
                w.pn.push(pn_point(s, &ctx, b.collateral));
            }
        }
        let end = self.ctx(self.env.steps - 1);
        if let Some(mut s) = cdp {
            w.cdp_metrics = Some(s.end(&end));
            w.cdp_events.extend(s.sink.take());
        }
        if let Some(mut s) = pn {
            w.pn_metrics = Some(s.end(&end));
            w.pn_events.extend(s.sink.take());
        }
        Ok(w)
    }
}

/// The metrics so far: the row a path ending now would give (the world itself is not touched).
fn so_far<P: Primitive>(s: &Slot<P>, ctx: &StepCtx) -> PathMetrics {
    s.row_so_far(ctx)
}

/// Compound's absorb credits the borrower `max(c x lf - d, 0)` in the base asset (not in the
/// event row); other mechanisms credit nothing outside the collateral given back.
fn absorb_surplus(mech: Mechanism, events: &[Event]) -> f64 {
    let Mechanism::Absorb(a) = mech else { return 0.0 };
    events
        .iter()
        .filter(|e| e.kind == EventKind::Liquidation)
        .map(|e| (e.eth * e.oracle_price * a.liquidation_factor - e.usd).max(0.0))
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn cdp_point(
    s: &Slot<CdpWorld>,
    ctx: &StepCtx,
    oracle_before: f64,
    triggered: bool,
    put_in: f64,
    debt0: f64,
    rate: f64,
    credited: f64,
) -> CdpPoint {
    let m: &WorldMarket = &s.market;
    let (p, x, lt) = (m.price(), m.oracle_price(), s.prim.params().lt);
    let (c, d) = s.prim.positions().first().map_or((0.0, 0.0), |q| (q.collateral, q.debt_usd));
    let open = c > 0.0 && d > 0.0;
    let returned = s.prim.collateral_ledger().returned;
    let without = (put_in * p - debt0 * (1.0 + rate * ctx.time_years)).max(0.0);
    let has = (c * p - d).max(0.0) + returned * p + credited;
    let metrics = so_far(s, ctx);
    // Nothing is lost before the first forced sale (exactly, whatever the rounding).
    let loss = if metrics.exits == 0 { 0.0 } else { without - has };
    CdpPoint {
        time_years: ctx.time_years,
        price: p,
        oracle_price: x,
        oracle_before,
        triggered,
        collateral: c,
        debt_usd: d,
        health_factor: open.then(|| c * x * lt / d),
        liquidation_price: open.then(|| d / (c * lt)),
        borrower_loss_usd: loss,
        metrics,
    }
}

fn pn_point(s: &Slot<PnWorld>, ctx: &StepCtx, units: f64) -> PnPoint {
    let p = s.market.price();
    let t = ctx.time_years;
    PnPoint {
        time_years: t,
        price: p,
        oracle_price: s.market.oracle_price(),
        p_usd: s.prim.p_value_usd(t, p),
        n_usd: units * p - s.prim.deposit_p_value_usd(t, p),
        metrics: so_far(s, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::RunOptions;
    use crate::spec::ExperimentSpec;
    use std::path::Path;

    /// One generic position (10 units, HF 4/3 at 2,000: debt 12,000, liquidation price 1,500),
    /// a flat price with a 30% gap at hour 2 (step 1), no impact.
    const GAP: &str = r#"
name = "gap"
seed = 5
paths = 3
horizon_days = 0.25
steps = 6
[market]
start_price = 2000.0
process = { model = "gbm", sigma = 0.0 }
shocks = [{ kind = "gap", size = -0.3, at_hours = 1.5 }]
[cohort]
source = "ladder"
positions = 1
collateral = 10.0
hf_min = 1.3333333333333333
hf_max = 1.3333333333333333
lt = 0.8
[cdp]
protocol = "generic"
lt = 0.8
bonus = 0.05
[pn]
p_drift_every_steps = 0
"#;

    fn build(text: &str) -> Experiment {
        let spec = ExperimentSpec::parse(text, Path::new("t.toml")).unwrap();
        Experiment::build(spec, Path::new("t.toml")).unwrap()
    }

    fn run_of(exp: &Experiment, path: u64) -> (Vec<PathMetrics>, Vec<(WorldKind, Event)>) {
        let r = exp
            .run(&RunOptions {
                paths: 0..exp.spec.paths(),
                threads: Some(1),
                event_paths: exp.spec.paths(),
                ..Default::default()
            })
            .unwrap();
        let rows = r.metrics.iter().map(|m| m[path as usize].clone()).collect();
        let events = r.events.into_iter().filter(|(p, _, _)| *p == path).map(|(_, k, e)| (k, e)).collect();
        (rows, events)
    }

    fn events_of(r: &[(WorldKind, Event)], kind: WorldKind) -> Vec<Event> {
        r.iter().filter(|(k, _)| *k == kind).map(|(_, e)| e.clone()).collect()
    }

    #[test]
    fn a_gap_by_hand() {
        let exp = build(GAP);
        let w = exp.walk(0, None).unwrap();
        assert_eq!((w.cdp.len(), w.pn.len()), (7, 7));
        let start = &w.cdp[0];
        assert!((start.debt_usd - 12_000.0).abs() < 1e-9);
        assert!((start.liquidation_price.unwrap() - 1500.0).abs() < 1e-9);
        assert!((start.health_factor.unwrap() - 4.0 / 3.0).abs() < 1e-12);
        // The gap falls in step 1 ((1 h, 2 h] holds 1.5 h): trigger and liquidation there.
        assert_eq!(w.trigger_step, Some(1));
        assert!(!w.cdp[1].triggered && w.cdp[2].triggered);
        let liq: Vec<&Event> = w.cdp_events.iter().filter(|e| e.kind == EventKind::Liquidation).collect();
        assert_eq!(liq.len(), 1);
        assert_eq!(liq[0].step, 1);
        // Repays 12,000 at 1,400, seizes 12,000 x 1.05 / 1,400 = 9 units; the bonus, 600, is
        // what the borrower loses: 1 unit comes back, the debt is gone.
        assert!((liq[0].eth - 9.0).abs() < 1e-9 && (liq[0].fee_usd - 600.0).abs() < 1e-6);
        let after = &w.cdp[2];
        assert_eq!((after.collateral, after.debt_usd, after.health_factor), (0.0, 0.0, None));
        assert!((after.borrower_loss_usd - 600.0).abs() < 1e-6, "{}", after.borrower_loss_usd);
        assert_eq!(w.cdp[1].borrower_loss_usd, 0.0);
        // The metrics so far end as the row.
        assert_eq!(w.cdp.last().unwrap().metrics, *w.cdp_metrics.as_ref().unwrap());
        assert_eq!(w.pn.last().unwrap().metrics, *w.pn_metrics.as_ref().unwrap());
        // P/N at the start, before any roll: P + N is the deposit, 10 x 2,000.
        let p0 = &w.pn[0];
        assert!((p0.p_usd + p0.n_usd - 20_000.0).abs() < 1e-9, "{} + {}", p0.p_usd, p0.n_usd);
    }

    #[test]
    fn a_walk_is_the_runs_path() {
        // The gap, and a Maker 2020 vault under an OSM with random keepers and impact, on a
        // GBM path: the walk's events and rows are the run's, path by path.
        let maker = GAP
            .replace("sigma = 0.0", "sigma = 1.5")
            .replace(
                "protocol = \"generic\"\nlt = 0.8\nbonus = 0.05",
                "protocol = \"maker-2020\"\noracle = { model = \"osm\", hop_hours = 1.0 }",
            )
            .replace("lt = 0.8\n[cdp]", "lt = 0.6666666666666666\n[cdp]")
            .replace("steps = 6", "steps = 60")
            .replace("horizon_days = 0.25", "horizon_days = 2.5")
            .replace("[market]\n", "[market]\nliquidity = { model = \"exponential\", depth_eth = 1000.0 }\n");
        for text in [GAP.to_string(), maker] {
            let exp = build(&text);
            for path in 0..exp.spec.paths() {
                let w = exp.walk(path, None).unwrap();
                let (rows, events) = run_of(&exp, path);
                assert_eq!(w.cdp_metrics.as_ref(), Some(&rows[0]), "path {path}");
                assert_eq!(w.pn_metrics.as_ref(), Some(&rows[1]), "path {path}");
                assert_eq!(w.cdp_events, events_of(&events, WorldKind::Cdp), "path {path}");
                assert_eq!(w.pn_events, events_of(&events, WorldKind::Pn), "path {path}");
                let t = exp.trace_path(WorldKind::Cdp, path).unwrap();
                let prices: Vec<f64> = w.cdp.iter().map(|p| p.price).collect();
                assert_eq!(prices, t.points.iter().map(|p| p.price).collect::<Vec<_>>());
            }
        }
    }

    /// A replay of hourly candles (closes 2,000, 2,000, 1,400, 1,400, ...): one position of 10
    /// units and debt 12,000 (strike 1,200) rolls in step 1, at x / K = 1,400 / 1,200 < 1.25,
    /// and rests its shed as an ask at 1,400 x 1.02 = 1,428. The candle of step 2 (row 3) has a
    /// high of 1,450: the ask fills there, at 1,428, although no close reaches it. With each
    /// candle's high at its close the ask waits `max_wait_steps` = 3 and is sold at market in
    /// step 4, at 1,400. The run, the trace and the walk agree.
    #[test]
    fn a_candles_high_fills_a_resting_ask() {
        let dir = tempfile::tempdir().unwrap();
        let closes = [2000.0, 2000.0, 1400.0, 1400.0, 1400.0, 1400.0, 1400.0];
        let write = |name: &str, high3: f64| {
            let mut text = String::from("timestamp_utc,high,low,close\n");
            for (i, c) in closes.iter().enumerate() {
                let high = if i == 3 { high3 } else { *c };
                text += &format!("2020-01-01T{i:02}:00:00Z,{high},{},{c}\n", c * 0.99);
            }
            let file = dir.path().join(name);
            std::fs::write(&file, text).unwrap();
            file
        };
        let passive = |file: &Path| {
            GAP.replace(
                "process = { model = \"gbm\", sigma = 0.0 }\nshocks = [{ kind = \"gap\", size = -0.3, at_hours = 1.5 }]",
                &format!("process = {{ model = \"replay\", file = \"{}\" }}", file.display()),
            )
            .replace(
                "[pn]\n",
                "[pn]\npricing_vol = 0.8\nexecution = { style = \"passive\", spread = 0.02, max_wait_steps = 3 }\n",
            )
            .replace("paths = 3", "paths = 1")
        };
        let hedge = |exp: &Experiment| {
            let (rows, events) = run_of(exp, 0);
            let w = exp.walk(0, None).unwrap();
            assert_eq!(w.pn_events, events_of(&events, WorldKind::Pn));
            assert_eq!(w.pn_metrics.as_ref(), Some(&rows[1]));
            assert_eq!(exp.trace_path(WorldKind::Pn, 0).unwrap().metrics, rows[1]);
            let roll: Vec<&Event> = w.pn_events.iter().filter(|e| e.kind == EventKind::Roll).collect();
            assert_eq!(roll.len(), 1);
            assert_eq!(roll[0].step, 1);
            let h: Vec<Event> = w.pn_events.iter().filter(|e| e.kind == EventKind::Hedge).cloned().collect();
            assert_eq!(h.len(), 1, "{:?}", w.pn_events);
            assert!(h[0].eth > 0.0);
            (h[0].step, h[0].usd / h[0].eth, h[0].market_price)
        };
        let high = build(&passive(&write("high.csv", 1450.0)));
        let (step, price, at) = hedge(&high);
        assert_eq!(step, 2);
        assert!((price - 1428.0).abs() < 1e-9 && (at - 1428.0).abs() < 1e-9, "{price} {at}");
        let flat = build(&passive(&write("flat.csv", 1400.0)));
        let (step, price, at) = hedge(&flat);
        assert_eq!(step, 4);
        assert!((at - 1400.0).abs() < 1e-9 && (price - 1400.0).abs() < 1e-9, "{price} {at}");
    }

    #[test]
    fn a_top_up_in_time_saves_the_position_and_a_late_one_does_not() {
        let exp = build(GAP);
        // 5 units sent in step 0, landing at once: 15 units, liquidation price 1,000 < 1,400.
        let w = exp.walk(0, Some(TopUp { units: 5.0, step: 0, latency_steps: 0 })).unwrap();
        assert_eq!(w.topup_landed, Some((0, true)));
        assert_eq!(w.trigger_step, None);
        assert_eq!(w.cdp_metrics.as_ref().unwrap().exits, 0);
        assert!((w.cdp[1].liquidation_price.unwrap() - 1000.0).abs() < 1e-9);
        assert_eq!(w.cdp_events[0].kind, EventKind::TopUp);
        // Landing in step 1 (latency 1): still before that step's rounds, still in time.
        let w = exp.walk(0, Some(TopUp { units: 5.0, step: 0, latency_steps: 1 })).unwrap();
        assert_eq!((w.topup_landed, w.cdp_metrics.as_ref().unwrap().exits), (Some((1, true)), 0));
        // Landing in step 2: the position went in step 1; the top-up finds it closed.
        let w = exp.walk(0, Some(TopUp { units: 5.0, step: 0, latency_steps: 2 })).unwrap();
        assert_eq!(w.topup_landed, Some((2, false)));
        assert_eq!(w.trigger_step, Some(1));
        assert_eq!(w.cdp_metrics.as_ref().unwrap().exits, 1);
        assert!((w.cdp.last().unwrap().borrower_loss_usd - 600.0).abs() < 1e-6);
        // A top-up too small to save it: 1 unit (liquidation price 12,000 / 8.8 = 1,363.6 <
        // 1,400 saves it; 0.5 unit: 12,000 / 8.4 = 1,428.6 > 1,400 does not). The loss is still
        // the bonus: the half unit comes back with the rest.
        let w = exp.walk(0, Some(TopUp { units: 0.5, step: 0, latency_steps: 0 })).unwrap();
        assert_eq!(w.cdp_metrics.as_ref().unwrap().exits, 1);
        assert!((w.cdp.last().unwrap().borrower_loss_usd - 600.0).abs() < 1e-6);
        let w = exp.walk(0, Some(TopUp { units: 1.0, step: 0, latency_steps: 0 })).unwrap();
        assert_eq!(w.cdp_metrics.as_ref().unwrap().exits, 0);
    }

    #[test]
    fn a_walk_needs_one_position() {
        let exp = build(&GAP.replace("positions = 1", "positions = 2"));
        let e = exp.walk(0, None).unwrap_err().to_string();
        assert!(e.contains("a walk follows one position, this cohort has 2"), "{e}");
        let e = build(GAP).walk(0, Some(TopUp { units: -1.0, step: 0, latency_steps: 0 })).unwrap_err();
        assert_eq!(e.to_string(), "topup_eth: -1: must be > 0");
    }
}
