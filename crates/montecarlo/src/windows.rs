//! Historical simulation in the experiment layer: each window of a `windows` process is an
//! experiment of its own. Its worlds are built through the same constructors as any: they start
//! at the window's first close, price P and N at the volatility known then (the month before),
//! and lend to the cohort scaled to the window's start price, so that path `i` of a windows run
//! is, row for row, the replay of window `i` (tested). Formulas: docs/MODEL.md (Historical
//! simulation).

use crate::columns::fmt_f64;
use crate::error::{Error, Result};
use crate::output::{csv_err, csv_writer};
use crate::runner::RunResult;
use crate::spec::{ExperimentSpec, WorldKind};
use headroom_market::process::{format_time, parse_time};
use headroom_market::{Borrower, Cohort, Exogenous, ProcessSpec, Window, WorldEnv, LOOKBACK_DAYS};
use headroom_pnsplit::{PnSpec, PnWorld};
use std::path::Path;

/// The header of windows.csv: which window each path replayed.
pub const WINDOWS_HEADER: [&str; 4] = ["path", "start_utc", "start_price", "known_vol"];

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
        format_time(w.start_time),
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

/// Writes windows.csv for `result`: one row per path, `path,start_utc,start_price,known_vol` (the
/// window's first row, its close and the volatility of the month before it).
pub fn write_windows_csv(file: &Path, result: &RunResult) -> Result<()> {
    let mut w = csv_writer(file)?;
    w.write_record(WINDOWS_HEADER).map_err(|e| csv_err(file, e))?;
    let mut fb = ryu::Buffer::new();
    for (i, win) in result.windows.iter().enumerate() {
        let path = (result.first_path + i as u64).to_string();
        let price = fmt_f64(&mut fb, win.start_price).to_string();
        let vol = fmt_f64(&mut fb, win.known_vol).to_string();
        w.write_record([path, format_time(win.start_time), price, vol]).map_err(|e| csv_err(file, e))?;
    }
    w.flush().map_err(|e| Error::write(file, e))
}

/// Reads a shard's windows.csv back: `count` rows for paths `first..first + count`, in order.
pub fn read_windows_csv(file: &Path, first: u64, count: u64) -> Result<Vec<Window>> {
    let bad = |msg: String| Error::Merge(format!("{}: {msg}", file.display()));
    let mut rdr = csv::Reader::from_path(file).map_err(|e| bad(e.to_string()))?;
    let header = rdr.headers().map_err(|e| bad(e.to_string()))?.clone();
    if !header.iter().eq(WINDOWS_HEADER) {
        return Err(bad(format!("line 1: not a windows.csv header ({})", WINDOWS_HEADER.join(","))));
    }
    let mut out = Vec::with_capacity(count as usize);
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
        let f = |j: usize| rec.get(j).unwrap_or("");
        let num = |j: usize| {
            f(j).parse::<f64>()
                .map_err(|_| bad(format!("line {line}: column {}: not a number", WINDOWS_HEADER[j])))
        };
        let path = first + i as u64;
        if f(0) != path.to_string() || i as u64 >= count {
            return Err(bad(format!("line {line}: expected path {path} of {first}..{}", first + count)));
        }
        let start_time =
            parse_time(f(1)).ok_or_else(|| bad(format!("line {line}: start_utc: not a UTC time")))?;
        out.push(Window { start_time, start_price: num(2)?, known_vol: num(3)? });
    }
    if out.len() as u64 != count {
        return Err(bad(format!("{} rows where the shard has {count} paths", out.len())));
    }
    Ok(out)
}
