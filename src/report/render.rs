//! The report's frame and the run's own tables: one section per result folder with its facts,
//! the experiment's reference figures and summary.csv; the ledger, figures and sweeps have
//! modules of their own.

use super::data::{Folder, Side, SummaryRow};
use super::format::{cell, fmt_ci, fmt_count, fmt_num, slug, Out};
use super::{calendar, figures, ledger, sweep, Plot, ReportError, ReportOptions};

/// Renders the report of `folders`: the markdown, its plots and the notes.
pub fn render(
    folders: &[Folder],
    plots_dir: &str,
    opts: &ReportOptions,
) -> Result<(String, Vec<Plot>, Vec<String>), ReportError> {
    let mut out =
        Out { md: String::new(), plots: Vec::new(), notes: Vec::new(), plots_dir, size: opts.plot_size };
    let names: Vec<String> = folders.iter().map(Folder::name).collect();
    let title = match opts.title {
        Some(t) => t.to_string(),
        None => format!("Headroom report: {}", names.join(", ")),
    };
    out.line(super::REPORT_MARKER);
    out.line(&format!("# {title}"));
    out.line("");
    if let Some(cmd) = opts.command_line {
        out.line(&format!("Generated with `{}`.", cmd.replace('`', "'")));
        out.line("");
    }
    out.line(
        "Amounts are USD per path. Every dollar has a payer and a payee: the ledger books what each \
         party gains (positive) or loses (negative), and the cost of a primitive is what borrower, \
         lender and protocol lose together to everyone else (takers, the market, validators); the \
         breakdown columns are parts of it, never added to it (docs/reporting.md). Intervals are 95% \
         confidence intervals of the mean, from summary.csv (mean +- 1.96 se, Student's t below 30 \
         paths).",
    );
    out.line("");
    for (k, (f, name)) in folders.iter().zip(&names).enumerate() {
        folder_section(&mut out, k + 1, f, name, opts)?;
    }
    Ok((out.md, out.plots, out.notes))
}

fn folder_section(
    out: &mut Out<'_>,
    k: usize,
    f: &Folder,
    name: &str,
    opts: &ReportOptions,
) -> Result<(), ReportError> {
    let prefix = format!("{k}-{}", slug(name));
    let label = f.dir.display().to_string();
    out.line(&format!("## {k}. {name}"));
    out.line("");
    if let Some(d) = f.manifest.as_ref().and_then(|m| m.description.as_deref()) {
        out.line(&format!("> {}", d.replace('\n', "\n> ")));
        out.line("");
    }
    out.line(&format!("Result folder: `{label}`"));
    out.line("");
    facts(out, f, &label);
    if let Some(summary) = &f.summary {
        reference_table(out, f, summary);
        ledger::section(out, summary, &label);
        summary_table(out, summary);
    }
    if let Some(paths) = &f.paths {
        figures::distribution(out, &prefix, name, paths, &label)?;
        if let Some(windows) = &f.windows {
            let horizon = f
                .manifest
                .as_ref()
                .and_then(|m| m.config.as_ref())
                .and_then(|c| c.get("horizon_days"))
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN);
            calendar::section(out, &prefix, name, windows, paths, horizon, &f.dir)?;
        }
        figures::worst_paths(out, &prefix, f, paths, opts)?;
    } else if f.summary.is_some() {
        out.line("### Cost distributions and worst paths");
        out.line("");
        out.note(
            &label,
            "paths.csv is absent (run with --no-paths?): no cost distribution and no worst path",
        );
    }
    if let Some(s) = &f.sweep {
        sweep::section(out, &prefix, name, s, &label)?;
    }
    Ok(())
}

/// The experiment's `[[reference]]` figures beside the model's means: public incident figures,
/// or an independent implementation's means with their standard errors (then agreement means
/// a difference under 4 combined standard errors).
fn reference_table(out: &mut Out<'_>, f: &Folder, summary: &[SummaryRow]) {
    let refs = f
        .manifest
        .as_ref()
        .and_then(|m| m.config.as_ref())
        .and_then(|c| c.get("reference"))
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    if refs.is_empty() {
        return;
    }
    out.line("### The model beside the reference figures");
    out.line("");
    out.line("| figure | reference | model mean | model 95% CI | agreement | source |");
    out.line("| --- | ---: | ---: | --- | --- | --- |");
    for r in refs {
        let text = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let (label, prim, metric, source) =
            (text("label"), text("primitive"), text("metric"), text("source"));
        let Some(side) = Side::parse(&prim) else { continue };
        let Some(value) = r.get("value").and_then(|v| v.as_f64()) else { continue };
        let se = r.get("se").and_then(|v| v.as_f64());
        let model = find(summary, side, &metric);
        let (mean, ci, agree) = match model {
            Some(m) => {
                let agree = match se {
                    Some(s) if m.se * m.se + s * s == 0.0 => {
                        if m.mean == value {
                            "agrees (both exact)".to_string()
                        } else {
                            "differs (both exact)".to_string()
                        }
                    }
                    Some(s) => {
                        let z = (m.mean - value).abs() / (m.se * m.se + s * s).sqrt();
                        if z < 4.0 {
                            format!("agrees ({z:.1} combined se)")
                        } else {
                            format!("differs ({z:.1} combined se)")
                        }
                    }
                    None if value != 0.0 => format!("model / reference = {:.3}", m.mean / value),
                    None => String::new(),
                };
                (fmt_num(m.mean), fmt_ci(m.ci95_low, m.ci95_high), agree)
            }
            None => ("not run".to_string(), String::new(), String::new()),
        };
        let reference = match se {
            Some(s) => format!("{} (se {})", fmt_num(value), fmt_num(s)),
            None => fmt_num(value),
        };
        out.line(&format!(
            "| {} (`{}` {}) | {} | {} | {} | {} | {} |",
            cell(&label),
            cell(&metric),
            side.name(),
            reference,
            mean,
            ci,
            agree,
            cell(&source)
        ));
    }
    out.line("");
}

fn facts(out: &mut Out<'_>, f: &Folder, label: &str) {
    out.line("### The run");
    out.line("");
    let Some(m) = &f.manifest else {
        out.note(label, "manifest.json is absent: the run's facts are unknown");
        return;
    };
    let unknown = || "not recorded".to_string();
    let code = |s: &Option<String>| s.as_ref().map_or_else(unknown, |s| format!("`{}`", cell(s)));
    let paths = match (m.path_count, m.paths, m.first_path) {
        (Some(c), Some(p), Some(first)) if c == p && first == 0 => fmt_count(c),
        (Some(c), Some(p), Some(first)) if c > 0 => {
            format!("{} of {} (global paths {first} to {})", fmt_count(c), fmt_count(p), first + c - 1)
        }
        (Some(c), Some(p), _) => format!("{} of {}", fmt_count(c), fmt_count(p)),
        (Some(c), None, _) | (None, Some(c), _) => fmt_count(c),
        (None, None, _) => unknown(),
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("experiment file", code(&m.experiment_file)),
        ("paths", paths),
        ("seed", m.seed.map_or_else(unknown, |s| s.to_string())),
        (
            "worlds",
            if m.worlds.is_empty() {
                unknown()
            } else {
                m.worlds
                    .iter()
                    .map(|w| Side::parse(w).map_or_else(|| cell(w), |s| s.name().to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        (
            "config hash",
            match (&m.config_hash, m.sweep_points) {
                (None, Some(n)) => format!("one per point ({n} points: `configs` in manifest.json)"),
                (h, _) => code(h),
            },
        ),
        ("git commit", code(&m.git_commit)),
        ("version", m.version.clone().unwrap_or_else(unknown)),
        ("generator", m.generator.clone().map_or_else(unknown, |g| cell(&g))),
    ];
    if let Some((i, n)) = m.shard {
        rows.push(("shard", format!("{i} of {n} (0-based)")));
    }
    let mut run = Vec::new();
    if let Some(t) = m.threads {
        run.push(format!("{t} threads"));
    }
    if let Some(w) = m.wall_seconds {
        run.push(format!("{} s", fmt_num(w)));
    }
    if !run.is_empty() {
        rows.push(("threads, wall time", run.join(", ")));
    }
    let mut files = Vec::new();
    for (present, name) in [
        (f.summary.is_some(), "summary.csv"),
        (f.paths.is_some(), "paths.csv"),
        (f.sweep.is_some(), "sweep.csv"),
        (true, "manifest.json"),
    ] {
        if present {
            files.push(name.to_string());
        }
    }
    if let Some(w) = &f.windows {
        files.push(format!("windows.csv ({} windows)", fmt_count(w.len() as u64)));
    }
    if let Some(n) = f.event_rows {
        files.push(format!("events.csv ({} events)", fmt_count(n)));
    }
    rows.push(("files", files.join(", ")));
    out.line("| | |");
    out.line("| --- | --- |");
    for (k, v) in rows {
        out.line(&format!("| {k} | {v} |"));
    }
    out.line("");
    if let Some(c) = &m.config {
        let json = serde_json::to_string_pretty(c).unwrap_or_default();
        out.line("<details><summary>The resolved experiment (manifest.json, <code>config</code>)</summary>");
        out.line("");
        out.line("```json");
        out.line(&json);
        out.line("```");
        out.line("");
        out.line("</details>");
        out.line("");
    }
}

/// A row of a statistics table: the metric, the side and its statistics.
pub fn stats_row(label: &str, side: Side, n: u64, s: [f64; 7]) -> String {
    let [mean, lo, hi, p50, p95, p99, es95] = s;
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(label),
        side.name(),
        fmt_count(n),
        fmt_num(mean),
        fmt_ci(lo, hi),
        fmt_num(p50),
        fmt_num(p95),
        fmt_num(p99),
        fmt_num(es95)
    )
}

/// The header of [`stats_row`]'s tables.
pub const STATS_HEADER: &str = "| metric | primitive | n | mean | 95% CI | p50 | p95 | p99 | es95 |\n\
                            | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |";

fn summary_table(out: &mut Out<'_>, summary: &[SummaryRow]) {
    out.line("### Every metric (summary.csv)");
    out.line("");
    out.line(
        "USD per path for the `_usd` metrics, counts per path for exits and positions, USD per ETH \
         for prices (whose es95 is the mean of the lowest 5%). `diff` rows are CDP minus P/N on the \
         same path (paired).",
    );
    out.line("");
    let mut metrics: Vec<&str> = Vec::new();
    for r in summary {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    out.line(STATS_HEADER);
    for m in metrics {
        let mut rows: Vec<&SummaryRow> = summary.iter().filter(|r| r.metric == m).collect();
        rows.sort_by_key(|r| r.primitive);
        for r in rows {
            out.line(&stats_row(
                &format!("`{m}`"),
                r.primitive,
                r.n,
                [r.mean, r.ci95_low, r.ci95_high, r.p50, r.p95, r.p99, r.es95],
            ));
        }
    }
    out.line("");
}

/// The summary row of (`side`, `metric`).
pub fn find<'s>(summary: &'s [SummaryRow], side: Side, metric: &str) -> Option<&'s SummaryRow> {
    summary.iter().find(|r| r.primitive == side && r.metric == metric)
}
