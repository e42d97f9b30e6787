//! One path re-run with every step recorded (`Experiment::trace_path`): what a report plots for
//! a world's worst path. The same streams and steps as the run, so the trace reproduces the
//! run's row exactly.

use super::{Experiment, Slot};
use crate::spec::WorldKind;
use headroom_market::{stream, Event, PathMetrics, Primitive, Purpose, WorldMarket};

/// One step of a traced path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TracePoint {
    /// Time after the step, years.
    pub time_years: f64,
    /// Market price at the end of the step (after its trades).
    pub price: f64,
    /// Oracle price at the end of the step.
    pub oracle_price: f64,
    /// Exogenous price (without the world's impact).
    pub exogenous_price: f64,
}

/// One world's path, step by step, with its events: what a report plots for the worst path.
#[derive(Clone, Debug)]
pub struct PathTrace {
    /// The world.
    pub kind: WorldKind,
    /// Global path index.
    pub path: u64,
    /// The start, then one point per step.
    pub points: Vec<TracePoint>,
    /// Every liquidation or roll of the path.
    pub events: Vec<Event>,
    /// The path's metrics (equal to its row in paths.csv).
    pub metrics: PathMetrics,
}

impl Experiment {
    /// Re-runs global path `path` of `kind` with every step recorded. A path depends only on
    /// (experiment, seed, index), and each world only on the shared exogenous stream and its own,
    /// so the trace reproduces the run's path exactly. `None` when the experiment does not run
    /// `kind`, or, under a `windows` process, when there is no window `path`.
    pub fn trace_path(&self, kind: WorldKind, path: u64) -> Option<PathTrace> {
        let mut w = self.worlds();
        let no_window = self.exo.windows().is_some_and(|info| path >= info.count as u64);
        if no_window || self.enter_window(&mut w, path).is_err() {
            return None;
        }
        match kind {
            WorldKind::Cdp => w.cdp.map(|s| self.trace(s, kind, path)),
            WorldKind::Pn => w.pn.map(|s| self.trace(s, kind, path)),
        }
    }

    fn trace<P: Primitive>(&self, mut s: Slot<P>, kind: WorldKind, path: u64) -> PathTrace {
        let mut exo_rng = stream(self.spec.seed, path, Purpose::Exogenous);
        s.begin(self.spec.seed, path, kind, true);
        let point = |m: &WorldMarket| TracePoint {
            time_years: m.time_years(),
            price: m.price(),
            oracle_price: m.oracle_price(),
            exogenous_price: m.exogenous_price(),
        };
        let mut points = Vec::with_capacity(self.env.steps + 1);
        points.push(point(&s.market));
        self.steps_in_range(path, &mut exo_rng, |ctx, r, range| {
            s.step_in_range(ctx, r, range);
            points.push(point(&s.market));
        });
        let metrics = s.end(&self.ctx(self.env.steps - 1));
        PathTrace { kind, path, points, events: s.sink.take(), metrics }
    }
}
