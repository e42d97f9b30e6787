//! A historical simulation along the calendar (a result folder with windows.csv): each window's
//! cost in % a year of the deposit for every world, at the window's start date, under ETH's
//! price at that date, and the costliest windows of each world, one per episode.

use super::data::{world_name, PathsData, WindowRow};
use super::figures::plot_err;
use super::format::{fmt_num, Out};
use super::plots::{self, draw_err, legend, legend_line};
use super::ReportError;
use headroom_market::process::{format_time, parse_time};
use plotters::prelude::*;
use std::path::Path;

/// Windows listed as the costliest of each world.
const COSTLIEST: usize = 5;

/// Costs under this fraction of the largest are drawn at it (a log axis has no 0).
const FLOOR_RANGE: f64 = 1e-5;

/// One world's cost per window, in window order.
pub struct WorldSeries {
    /// The display name (`CDP`, `P/N`).
    pub name: &'static str,
    /// Colour of its line.
    pub color: RGBColor,
    /// `cost_pct_year` of each window.
    pub cost_pct_year: Vec<f64>,
    /// `cost_usd` of each window.
    pub cost_usd: Vec<f64>,
    /// `min_price` of each window (the world's own market).
    pub min_price: Vec<f64>,
}

/// The windows' costs: `windows` joined with every world's row of the same path.
pub fn series(
    file: &Path,
    windows: &[WindowRow],
    paths: &PathsData,
) -> Result<Vec<WorldSeries>, ReportError> {
    let mut out = Vec::new();
    for (w, p) in &paths.worlds {
        let mut s = WorldSeries {
            name: world_name(*w),
            color: plots::world_color(*w),
            cost_pct_year: Vec::with_capacity(windows.len()),
            cost_usd: Vec::with_capacity(windows.len()),
            min_price: Vec::with_capacity(windows.len()),
        };
        for win in windows {
            let Ok(i) = p.path.binary_search(&win.path) else {
                return Err(ReportError::Csv {
                    file: file.to_path_buf(),
                    line: 0,
                    message: format!(
                        "path {} has no row of world `{}` in paths.csv: not the windows of this run",
                        win.path,
                        w.label()
                    ),
                });
            };
            let m = &p.rows[i];
            s.cost_pct_year.push(m.cost_pct_year);
            s.cost_usd.push(m.cost_usd);
            s.min_price.push(m.min_price);
        }
        out.push(s);
    }
    Ok(out)
}

/// The `k` costliest windows of `cost` (positive cost only), no two starting within
/// `episode_secs` of each other: the costliest of each episode, costliest first (the earlier
/// window on ties).
pub fn costliest(starts: &[i64], cost: &[f64], episode_secs: i64, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cost.len()).filter(|&i| cost[i] > 0.0).collect();
    order.sort_by(|&a, &b| cost[b].total_cmp(&cost[a]).then(a.cmp(&b)));
    let mut picked: Vec<usize> = Vec::new();
    for i in order {
        if picked.len() == k {
            break;
        }
        if picked.iter().all(|&j| (starts[i] - starts[j]).abs() >= episode_secs) {
            picked.push(i);
        }
    }
    picked
}

/// The section: the costliest windows of each world and the calendar chart.
pub fn section(
    out: &mut Out<'_>,
    prefix: &str,
    name: &str,
    windows: &[WindowRow],
    paths: &PathsData,
    horizon_days: f64,
    dir: &Path,
) -> Result<(), ReportError> {
    out.line("### Cost along the calendar");
    out.line("");
    if windows.is_empty() || paths.worlds.is_empty() {
        out.note(&dir.display().to_string(), "windows.csv or paths.csv has no rows: no calendar");
        return Ok(());
    }
    let file = dir.join("windows.csv");
    let all = series(&file, windows, paths)?;
    let starts: Vec<i64> = windows.iter().map(|w| w.start_time).collect();
    let days = if horizon_days.is_finite() && horizon_days > 0.0 { horizon_days } else { 30.0 };
    out.line(&format!(
        "Each path is one window of the price file ({} windows, {} to {}). The costliest windows of \
         each world, one per episode (no two starting within {} days, the length of a window); \
         `cost_pct_year` is the cost in % a year of the cohort's deposit at the window's start, and \
         the fall is the world's lowest price in the window against the start price.",
        windows.len(),
        &format_time(starts[0])[..10],
        &format_time(starts[starts.len() - 1])[..10],
        fmt_num(days)
    ));
    out.line("");
    out.line("| world | rank | window start (UTC) | ETH at start, USD | lowest in window | cost, % a year | cost, USD |");
    out.line("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for s in &all {
        let top = costliest(&starts, &s.cost_pct_year, (days * 86_400.0) as i64, COSTLIEST);
        if top.is_empty() {
            out.line(&format!("| {} | | no window has a positive cost | | | | |", s.name));
        }
        for (r, &i) in top.iter().enumerate() {
            let w = &windows[i];
            out.line(&format!(
                "| {} | {} | {} | {} | {} ({}%) | {} | {} |",
                s.name,
                r + 1,
                &format_time(w.start_time)[..10],
                fmt_num(w.start_price),
                fmt_num(s.min_price[i]),
                fmt_num(100.0 * (s.min_price[i] / w.start_price - 1.0)),
                fmt_num(s.cost_pct_year[i]),
                fmt_num(s.cost_usd[i])
            ));
        }
    }
    out.line("");
    let plot = format!("{prefix}-calendar.svg");
    let title = format!("{name}: cost of each window along the calendar");
    match calendar_chart(&title, windows, &all, out.size).map_err(plot_err(&plot))? {
        Some(svg) => {
            out.line(
                "Above, ETH's price at each window's start; below, each window's cost in % a year of \
                 the deposit at its start date, on a log scale (windows that cost nothing are left \
                 blank; a cost under the axis's floor is drawn on it).",
            );
            out.line("");
            out.plot(plot, title, svg);
        }
        None => out.note(&dir.display().to_string(), "no window has a positive cost: no calendar drawn"),
    }
    Ok(())
}

/// 1 January 00:00 UTC of year `y`, seconds since 1970.
fn new_year(y: i64) -> i64 {
    parse_time(&format!("{y:04}-01-01T00:00:00Z")).unwrap_or((y - 1970) * 31_556_952)
}

/// A time (seconds since 1970) in calendar years, exact at each 1 January: `2020.5` is halfway
/// through 2020. The time axis is drawn in years, so that its ticks fall on new years.
pub fn to_years(t: i64) -> f64 {
    let y: i64 = format_time(t).get(..4).and_then(|s| s.parse().ok()).unwrap_or(1970);
    let (a, b) = (new_year(y), new_year(y + 1));
    y as f64 + (t - a) as f64 / (b - a) as f64
}

/// The time of a position in calendar years ([`to_years`] inverted, to the second).
pub fn from_years(v: f64) -> i64 {
    let y = v.floor() as i64;
    let (a, b) = (new_year(y), new_year(y + 1));
    a + ((v - y as f64) * (b - a) as f64).round() as i64
}

/// A date label of a position in years: `2021` at a new year, else `2021-03-12`.
fn date_label(v: &f64) -> String {
    let t = format_time(from_years(*v));
    if t.get(4..10) == Some("-01-01") {
        t[..4].to_string()
    } else {
        t[..10].to_string()
    }
}

/// The runs of consecutive windows with a positive value `v`: a run ends at a window without
/// cost, and where the windows skip a start (`starts` more than 1.5 times the shortest spacing
/// apart: windows skipped across missing rows of the file).
pub fn positive_runs(starts: &[i64], v: &[f64]) -> Vec<std::ops::Range<usize>> {
    let step = starts.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0).min().unwrap_or(0);
    let mut runs = Vec::new();
    let mut start = None;
    for (i, x) in v.iter().enumerate() {
        let gap = i > 0 && 2 * (starts[i] - starts[i - 1]) > 3 * step;
        if let (Some(s), true) = (start, gap) {
            runs.push(s..i);
            start = None;
        }
        match (start, *x > 0.0) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..v.len());
    }
    runs
}

/// The calendar chart: ETH's price at each window's start above, each world's cost per window
/// below, on one time axis. `None` when no world has a positive cost.
pub fn calendar_chart(
    title: &str,
    windows: &[WindowRow],
    worlds: &[WorldSeries],
    size: (u32, u32),
) -> Result<Option<String>, String> {
    let positive = || worlds.iter().flat_map(|s| s.cost_pct_year.iter().copied()).filter(|c| *c > 0.0);
    let Some(max) = positive().max_by(f64::total_cmp) else { return Ok(None) };
    let least = positive().min_by(f64::total_cmp).unwrap_or(max);
    // The floor: the smallest positive cost's decade, at most five decades under the largest.
    let floor = 10f64.powf(least.max(max * FLOOR_RANGE).log10().floor());
    let top = 10f64.powf(max.log10().ceil()).max(floor * 10.0);
    let times: Vec<f64> = windows.iter().map(|w| to_years(w.start_time)).collect();
    let starts: Vec<i64> = windows.iter().map(|w| w.start_time).collect();
    let (x0, x1) = plots::padded(times[0], times[times.len() - 1], 0.0);
    let lo = windows.iter().map(|w| w.start_price).fold(f64::INFINITY, f64::min);
    let hi = windows.iter().map(|w| w.start_price).fold(0.0, f64::max);
    let (p0, p1) = plots::padded(lo, hi, 0.05);
    let tall = (size.0, size.1 + size.1 / 2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, tall).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(draw_err)?;
        let (upper, lower) = root.split_vertically(root.dim_in_pixel().1 * 3 / 10);
        let mut b = ChartBuilder::on(&upper);
        b.margin(10).x_label_area_size(40).y_label_area_size(75);
        let mut price = b.build_cartesian_2d(x0..x1, p0..p1).map_err(draw_err)?;
        let yt = plots::Ticks::for_range(p0, p1);
        let usd = |v: &f64| yt.label(*v);
        plots::house_mesh(
            price
                .configure_mesh()
                .y_desc("ETH, USD")
                .y_labels(5)
                .x_labels(7)
                .x_label_formatter(&date_label)
                .y_label_formatter(&usd),
        )
        .draw()
        .map_err(draw_err)?;
        let ink = RGBColor(60, 60, 60);
        price
            .draw_series(LineSeries::new(
                times.iter().zip(windows).map(|(&t, w)| (t, w.start_price)),
                ink.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("ETH price at the start of each window")
            .legend(legend_line(ink, false));
        legend(&mut price, SeriesLabelPosition::UpperLeft)?;

        let mut b = ChartBuilder::on(&lower);
        b.margin(10).x_label_area_size(40).y_label_area_size(75);
        let mut cost = b.build_cartesian_2d(x0..x1, (floor..top).log_scale()).map_err(draw_err)?;
        let pct = |v: &f64| format!("{}%", plots::compact(v));
        plots::house_mesh(
            cost.configure_mesh()
                .x_desc("window start (UTC)")
                .y_desc("cost, % a year of the deposit (log)")
                .x_labels(7)
                .x_label_formatter(&date_label)
                .y_label_formatter(&pct),
        )
        .draw()
        .map_err(draw_err)?;
        for s in worlds {
            // Windows without cost are left blank: a line through each run of costly windows, a
            // dot for a costly window alone.
            cost.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(draw_err)?
                .label(format!("{}: cost of the window", s.name))
                .legend(legend_line(s.color, false));
            let at = |i: usize| (times[i], s.cost_pct_year[i].max(floor));
            for run in positive_runs(&starts, &s.cost_pct_year) {
                if run.len() == 1 {
                    cost.draw_series(std::iter::once(Circle::new(at(run.start), 2, s.color.filled())))
                        .map_err(draw_err)?;
                } else {
                    cost.draw_series(LineSeries::new(run.map(at), s.color.stroke_width(1)))
                        .map_err(draw_err)?;
                }
            }
        }
        legend(&mut cost, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_err)?;
    }
    Ok(Some(svg))
}
