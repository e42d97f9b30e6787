//! A sweep's section: the mean cost and its breakdowns at every grid point, and one chart per
//! key metric against the first grid column, with the 95% intervals of sweep.csv as bands.

use super::data::{Side, SummaryRow, SweepData};
use super::figures::plot_err;
use super::format::{cell, fmt_num, slug, Out};
use super::plots::{self, Curve, Frame};
use super::ReportError;
use plotters::prelude::SeriesLabelPosition;
use std::collections::HashMap;

/// Most value combinations of the other grid columns drawn for a sweep.
const MAX_SWEEP_GROUPS: usize = 6;

/// The metrics drawn per sweep: (title, column, unit of the y axis).
const SWEEP_METRICS: [(&str, &str, &str); 4] = [
    ("cost in % a year of the deposit", "cost_pct_year", "% a year"),
    ("cost", "cost_usd", "USD per path"),
    ("fees", "fees_usd", "USD per path"),
    ("slippage", "slippage_usd", "USD per path"),
];

/// The columns of the sweep's table, after the grid and the primitive: (header, column).
const TABLE_COLUMNS: [(&str, &str); 6] = [
    ("cost (USD)", "cost_usd"),
    ("cost (% a year)", "cost_pct_year"),
    ("fees", "fees_usd"),
    ("slippage", "slippage_usd"),
    ("shortfall", "shortfall_usd"),
    ("oracle loss", "oracle_loss_usd"),
];

/// The sweep's table and charts.
pub fn section(
    out: &mut Out<'_>,
    prefix: &str,
    name: &str,
    sweep: &SweepData,
    label: &str,
) -> Result<(), ReportError> {
    out.line(&format!(
        "### Sweep over {}",
        sweep.grid.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", ")
    ));
    out.line("");
    let mut points: Vec<&[String]> = Vec::new();
    let mut by: HashMap<(&[String], Side, &str), &SummaryRow> = HashMap::new();
    for r in &sweep.rows {
        if !points.contains(&r.point.as_slice()) {
            points.push(&r.point);
        }
        by.insert((r.point.as_slice(), r.summary.primitive, r.summary.metric.as_str()), &r.summary);
    }
    let get = |pt: &[String], side: Side, col: &str| -> Option<(f64, f64, f64)> {
        by.get(&(pt, side, col)).map(|r| (r.mean, r.ci95_low, r.ci95_high))
    };
    let prims: Vec<Side> =
        Side::ALL.into_iter().filter(|p| sweep.rows.iter().any(|r| r.summary.primitive == *p)).collect();

    out.line(
        "Means per path at each grid point, from sweep.csv: the cost (`cost_usd`, the ledger's \
         takers + market + validators) in USD and in % a year of the deposit (with its 95% \
         interval), then its breakdowns (parts of the cost's events, not additions to it).",
    );
    out.line("");
    let mut head = sweep.grid.iter().map(|g| format!("`{}`", cell(g))).collect::<Vec<_>>();
    head.push("primitive".into());
    head.extend(TABLE_COLUMNS.iter().map(|(h, _)| h.to_string()));
    out.line(&format!("| {} |", head.join(" | ")));
    out.line(&format!("|{}", " --- |".repeat(head.len())));
    for pt in &points {
        for p in &prims {
            let mut row: Vec<String> = pt.iter().map(|v| cell(v)).collect();
            row.push(p.name().to_string());
            for (_, col) in TABLE_COLUMNS {
                row.push(get(pt, *p, col).map_or("n/a".into(), |(m, lo, hi)| {
                    if col == "cost_pct_year" {
                        format!("{} [{}, {}]", fmt_num(m), fmt_num(lo), fmt_num(hi))
                    } else {
                        fmt_num(m)
                    }
                }))
            }
            out.line(&format!("| {} |", row.join(" | ")));
        }
    }
    out.line("");

    // Groups: the values of the other grid columns; x: the first grid column.
    let mut groups: Vec<&[String]> = Vec::new();
    for pt in &points {
        if !groups.contains(&&pt[1..]) {
            groups.push(&pt[1..]);
        }
    }
    if groups.len() > MAX_SWEEP_GROUPS {
        out.note(
            label,
            &format!(
                "the sweep has {} combinations of the other grid columns: the charts show the first {MAX_SWEEP_GROUPS}",
                groups.len()
            ),
        );
        groups.truncate(MAX_SWEEP_GROUPS);
    }
    let xs_text: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for pt in &points {
            if !v.contains(&pt[0].as_str()) {
                v.push(&pt[0]);
            }
        }
        v
    };
    let numeric: Option<Vec<f64>> =
        xs_text.iter().map(|s| s.parse::<f64>().ok().filter(|x| x.is_finite())).collect();
    let x_of = |s: &str| -> f64 {
        match &numeric {
            Some(v) => v[xs_text.iter().position(|t| *t == s).unwrap_or(0)],
            None => xs_text.iter().position(|t| *t == s).unwrap_or(0) as f64,
        }
    };
    let (x0, x1) = match &numeric {
        Some(v) => plots::padded(
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            0.02,
        ),
        None => (-0.5, xs_text.len() as f64 - 0.5),
    };
    let cat_fmt = |v: &f64| -> String {
        let i = v.round();
        if (v - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < xs_text.len() {
            xs_text[i as usize].to_string()
        } else {
            String::new()
        }
    };
    let xt = plots::Ticks::for_range(x0, x1);
    let num_fmt = |v: &f64| xt.label(*v);
    let x_fmt: &dyn Fn(&f64) -> String = if numeric.is_some() { &num_fmt } else { &cat_fmt };
    let line_prims: Vec<Side> = prims.iter().copied().filter(|p| *p != Side::Diff).collect();
    for (g, rest) in groups.iter().enumerate() {
        let fixed: Vec<String> =
            sweep.grid[1..].iter().zip(rest.iter()).map(|(c, v)| format!("{c} = {v}")).collect();
        for (metric, col, unit) in SWEEP_METRICS {
            let mut curves = Vec::new();
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for p in &line_prims {
                let mut pts: Vec<(f64, f64, f64, f64)> = points
                    .iter()
                    .filter(|pt| &pt[1..] == *rest)
                    .filter_map(|pt| get(pt, *p, col).map(|(m, l, h)| (x_of(&pt[0]), m, l, h)))
                    .filter(|(_, m, l, h)| m.is_finite() && l.is_finite() && h.is_finite())
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                for &(_, _, l, h) in &pts {
                    lo = lo.min(l);
                    hi = hi.max(h);
                }
                let Side::World(w) = p else { continue };
                curves.push(Curve {
                    label: format!("{} (mean, 95% CI band)", p.name()),
                    color: plots::world_color(*w),
                    dashed: false,
                    points: pts.iter().map(|&(x, m, _, _)| (x, m)).collect(),
                    band: Some(pts.iter().map(|&(x, _, l, h)| (x, l, h)).collect()),
                    markers: true,
                });
            }
            if curves.is_empty() {
                continue;
            }
            // The top quarter is left free for the legend.
            let (y0, y1) = plots::padded(lo.min(0.0), hi, 0.05);
            let y1 = y1 + 0.25 * (y1 - y0);
            let yt = plots::Ticks::for_range(y0, y1);
            let y_fmt = |v: &f64| yt.label(*v);
            let title = if fixed.is_empty() {
                format!("{name}: {metric} against {}", sweep.grid[0])
            } else {
                format!("{name}: {metric} against {} ({})", sweep.grid[0], fixed.join(", "))
            };
            let file = format!("{prefix}-sweep-{}-{}.svg", g + 1, slug(metric));
            let frame = Frame {
                title: &title,
                x_desc: &sweep.grid[0],
                y_desc: unit,
                x: (x0, x1),
                y: (y0, y1),
                x_fmt,
                y_fmt: &y_fmt,
                legend: SeriesLabelPosition::UpperLeft,
                size: out.size,
            };
            let svg = plots::line_chart(&frame, &curves).map_err(plot_err(&file))?;
            out.plot(file, title, svg);
        }
    }
    Ok(())
}
