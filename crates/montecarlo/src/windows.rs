//! Historical simulation in the experiment layer: each window of a `windows` process is an
//! experiment of its own. Its worlds are built through the same constructors as any: they start
//! at the window's first close, price P and N at the volatility known then (the month before),
//! and lend to the cohort scaled to the window's start price, so that path `i` of a windows run
//! is, row for row, the replay of window `i` (tested). Formulas: docs/MODEL.md (Historical
//! simulation).

use crate::error::{Error, Result};
use crate::spec::{ExperimentSpec, WorldKind};
use headroom_market::{Borrower, Cohort, Exogenous, ProcessSpec, Window, WorldEnv, LOOKBACK_DAYS};
use headroom_pnsplit::{PnSpec, PnWorld};
use std::path::Path;

/// The number of paths: the file's `paths` (which must not exceed the windows of a `windows`
/// process), else every window, else [`crate::spec::DEFAULT_PATHS`].
pub(crate) fn resolve_paths(spec: &ExperimentSpec, exo: &Exogenous, file: &Path) -> Result<u64> {
    match (spec.paths, exo.windows()) {
        (Some(p), Some(w)) if p > w.count as u64 => Err(Error::Invalid {
            file: file.to_path_buf(),
            problems: vec![format!(
                "paths = {p}: the windows process has {} windows ({} to {}, {} skipped across missing \
                 rows): at most {} paths (omit `paths` to run every window)",
                w.count, w.first_start, w.last_end, w.skipped, w.count
            )],
        }),
        (Some(p), _) => Ok(p),
        (None, Some(w)) => Ok(w.count as u64),
        (None, None) => Ok(spec.paths()),
    }
}

/// The P/N split prices at what was known at the start unless `pn.pricing_vol` says otherwise:
/// a replay that starts less than [`LOOKBACK_DAYS`] after its file's first row knew nothing, and
/// then `pn.pricing_vol` must be given.
pub(crate) fn check_known_vol(spec: &ExperimentSpec, known: Option<f64>, file: &Path) -> Result<()> {
    if known.is_some() || !spec.has(WorldKind::Pn) {
        return Ok(());
    }
    let what = match &spec.market.process {
        ProcessSpec::Replay { file: csv, start } => format!(
            "the replay starts at {} of {}, less than {LOOKBACK_DAYS} days after its first row",
            start.as_deref().unwrap_or("the first row"),
            csv.display()
        ),
        _ => "the process".to_string(),
    };
    Err(Error::Invalid {
        file: file.to_path_buf(),
        problems: vec![format!(
            "pn.pricing_vol: missing: {what}, so no volatility was known at its start (the default \
             pricing volatility is the realised volatility of the {LOOKBACK_DAYS} days before): give \
             pn.pricing_vol, or start the replay later"
        )],
    })
}

/// The cohort of a window: every position keeps its collateral (units) and its health factor at
/// the window's start, so its debt is scaled by `scale = S_w / market.start_price` (and the P/N
/// strike `K = d / c` with it). Writes into `out`, reusing its allocation.
pub fn scale_cohort(cohort: &Cohort, scale: f64, out: &mut Cohort) {
    out.borrowers.clear();
    out.borrowers.extend(cohort.borrowers.iter().map(|b| Borrower { debt_usd: b.debt_usd * scale, ..*b }));
}

/// The cohort sorted by strike `d / c`, descending, ties in cohort order (a stable sort): the
/// order both worlds sort their positions in (the CDP's liquidation price `d / (c lt)` is the
/// strike divided by one `lt`, a monotone map), so that each window's worlds, built from it
/// scaled (a monotone map too), sort it in linear time into the very order they would give the
/// cohort as it came.
pub(crate) fn by_strike(cohort: &Cohort) -> Cohort {
    let mut borrowers = cohort.borrowers.clone();
    borrowers.sort_by(|a, b| b.strike().total_cmp(&a.strike()));
    Cohort { borrowers }
}

/// What the primitives are told about window `w`: its start price, and the volatility known at
/// its start as the default pricing volatility.
pub(crate) fn window_env(env: &WorldEnv, w: &Window) -> WorldEnv {
    WorldEnv { start_price: w.start_price, process_vol: w.known_vol, ..*env }
}

/// Window `path`, in words (for messages).
pub(crate) fn describe(path: u64, w: &Window) -> String {
    format!(
        "window {path}: starts at {} at {}, known volatility {}",
        headroom_market::process::format_time(w.start_time),
        w.start_price,
        w.known_vol
    )
}

/// Builds the P/N world of every window's known volatility once, with one borrower of the cohort
/// (what a window changes is the pricing volatility, whose range and roll checks depend on it, and
/// a common scale of the cohort, which none of the checks depends on), so that a volatility a
/// check refuses is an error when the experiment is built, not in the middle of a run.
pub(crate) fn check_every_window(
    pn: &PnSpec,
    exo: &Exogenous,
    env: &WorldEnv,
    cohort: &Cohort,
    file: &Path,
) -> Result<()> {
    let (Some(info), None) = (exo.windows(), pn.pricing_vol) else { return Ok(()) };
    let one = Cohort { borrowers: cohort.borrowers.iter().take(1).copied().collect() };
    for i in 1..info.count as u64 {
        let Some(w) = exo.window(i) else { break };
        PnWorld::new(pn, &one, &window_env(env, &w)).map_err(|e| Error::Invalid {
            file: file.to_path_buf(),
            problems: vec![format!("pn.{e} ({})", describe(i, &w))],
        })?;
    }
    Ok(())
}
