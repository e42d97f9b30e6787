//! The figures of a result folder with paths.csv: the distribution of each world's per-path
//! cost, and the worst path of each world, re-simulated through a [`PathTracer`].

use super::data::{world_name, Folder, PathsData};
use super::format::{fmt_count, fmt_num, slug, Out};
use super::plots::{self, Curve, WorstLabels};
use super::{ReportError, ReportOptions, WorldTrace};
use headroom_montecarlo::spec::WorldKind;

pub(crate) fn plot_err(name: &str) -> impl FnOnce(String) -> ReportError + '_ {
    move |message| ReportError::Plot { file: name.into(), message }
}

/// The exceedance curves of every world's per-path cost.
pub fn distribution(
    out: &mut Out<'_>,
    prefix: &str,
    name: &str,
    paths: &PathsData,
    label: &str,
) -> Result<(), ReportError> {
    out.line("### Cost distributions");
    out.line("");
    if paths.worlds.is_empty() {
        out.note(label, "paths.csv has no rows: no cost distribution");
        return Ok(());
    }
    let mut curves = Vec::new();
    let mut shares = Vec::new();
    let mut zero = Vec::new();
    for (w, p) in &paths.worlds {
        let cost = p.cost();
        let positive = cost.iter().filter(|c| **c > 0.0).count();
        shares.push(format!(
            "{}: {} of {} paths ({}%) have a positive cost",
            world_name(*w),
            fmt_count(positive as u64),
            fmt_count(cost.len() as u64),
            fmt_num(100.0 * positive as f64 / cost.len().max(1) as f64)
        ));
        let points = plots::exceedance_steps(&cost);
        if points.is_empty() {
            zero.push(format!("no path of the {} world has a positive cost: not drawn", world_name(*w)));
            continue;
        }
        curves.push(Curve {
            label: format!("{} cost", world_name(*w)),
            color: plots::world_color(*w),
            dashed: false,
            points,
            band: None,
            markers: false,
        });
    }
    out.line(&format!("{}.", shares.join("; ")));
    out.line("");
    let file = format!("{prefix}-costs.svg");
    let title = format!("{name}: per-path cost (takers + market + validators)");
    let labels = plots::ExceedanceLabels { title: &title, size: out.size };
    match plots::exceedance_chart(&labels, &curves).map_err(plot_err(&file))? {
        Some(svg) => {
            out.line(
                "Exceedance curves on log-log axes: the share of paths whose cost (`cost_usd`) is at \
                 least x. A curve starts at the share of paths with any cost and ends at 1/n, the \
                 worst path; further up and right means heavier costs.",
            );
            out.line("");
            out.plot(file, format!("{name}: distributions of per-path cost"), svg);
            for z in zero {
                out.note(label, &z);
            }
        }
        None => out.note(label, "no path has a positive cost: no distribution to draw"),
    }
    Ok(())
}

/// Index of the path with the largest cost (the first such path on ties).
pub fn worst_index(costs: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, c) in costs.iter().enumerate() {
        if best.is_none_or(|b| *c > costs[b]) {
            best = Some(i);
        }
    }
    best
}

/// Checks a trace before drawing it.
pub fn check_trace(t: &WorldTrace) -> Result<(), String> {
    let n = t.times_days.len();
    if n < 2 {
        return Err(format!("{n} point(s): a trace needs at least 2"));
    }
    for (name, len) in [
        ("price", t.price.len()),
        ("oracle_price", t.oracle_price.len()),
        ("exits_cumulative", t.exits_cumulative.len()),
    ] {
        if len != n {
            return Err(format!("{name} has {len} points where times_days has {n}"));
        }
    }
    if let Some(i) =
        (0..n).find(|&i| !t.times_days[i].is_finite() || (i > 0 && t.times_days[i] < t.times_days[i - 1]))
    {
        return Err(format!("times_days[{i}] = {} is not finite or goes back in time", t.times_days[i]));
    }
    for (name, v) in [("price", &t.price), ("oracle_price", &t.oracle_price)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite() || *x < 0.0) {
            return Err(format!("{name}[{i}] = {} is not a finite price >= 0", v[i]));
        }
    }
    if let Some(i) = (1..n).find(|&i| t.exits_cumulative[i] < t.exits_cumulative[i - 1]) {
        return Err(format!("exits_cumulative decreases at point {i}"));
    }
    Ok(())
}

/// The worst path of each world: listed, and drawn through the tracer.
pub fn worst_paths(
    out: &mut Out<'_>,
    prefix: &str,
    f: &Folder,
    paths: &PathsData,
    opts: &ReportOptions,
) -> Result<(), ReportError> {
    let label = f.dir.display().to_string();
    out.line("### Worst paths");
    out.line("");
    out.line("The worst path of a world is the one with the largest cost (`cost_usd`) in paths.csv.");
    out.line("");
    for (w, p) in &paths.worlds {
        let cost = p.cost();
        let Some(i) = worst_index(&cost) else { continue };
        let (path, m) = (p.path[i], &p.rows[i]);
        let l = &m.ledger;
        out.line(&format!(
            "- {}: path {path}, cost {} USD ({} % a year): borrower {}, lender {}, protocol {}, \
             takers {}, market {}, validators {}.",
            world_name(*w),
            fmt_num(m.cost_usd),
            fmt_num(m.cost_pct_year),
            fmt_num(l.borrower_usd),
            fmt_num(l.lender_usd),
            fmt_num(l.protocol_usd),
            fmt_num(l.takers_usd),
            fmt_num(l.market_usd),
            fmt_num(l.validators_usd)
        ));
    }
    out.line("");
    let Some(tracer) = opts.tracer else {
        out.note(&label, "no path tracer was given: the worst paths are not drawn");
        return Ok(());
    };
    for (w, p) in &paths.worlds {
        let Some(i) = worst_index(&p.cost()) else { continue };
        let path = p.path[i];
        let trace_err = |message: String| ReportError::Trace {
            dir: f.dir.clone(),
            world: w.label().to_string(),
            path,
            message,
        };
        let Some(t) = tracer.trace(&f.dir, *w, path).map_err(trace_err)? else {
            out.note(&label, &format!("the {} world's path {path} cannot be traced", world_name(*w)));
            continue;
        };
        check_trace(&t).map_err(trace_err)?;
        let exits = match w {
            WorldKind::Cdp => "liquidations",
            WorldKind::Pn => "rolls",
        };
        let title = format!("Worst {} path (path {path}): price and {exits}", world_name(*w));
        let file = format!("{prefix}-worst-{}.svg", slug(w.label()));
        let labels = WorstLabels { title: &title, exits, color: plots::world_color(*w), size: out.size };
        let svg = plots::worst_path_chart(&t, &labels).map_err(plot_err(&file))?;
        out.plot(file, title, svg);
    }
    Ok(())
}
