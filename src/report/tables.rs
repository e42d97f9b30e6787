//! The markdown of the report: one section per result folder with its facts, tables and plots.

use super::data::{Folder, PathsData, SummaryRow, SweepData, WorldPaths};
use super::plots::{self, Curve, Frame, WorstLabels};
use super::{Plot, ReportError, ReportOptions, WorldTrace};
use headroom_montecarlo::stats::{stats, Stats, Worst};
use plotters::prelude::SeriesLabelPosition;
use std::collections::HashMap;

/// The z value of the 95% intervals (as in summary.csv).
const Z95: f64 = 1.96;

/// Most value combinations of the other grid columns drawn for a sweep.
const MAX_SWEEP_GROUPS: usize = 6;

/// A number for a table: 4 significant digits, thousands separated from 1,000 on, scientific
/// below 1e-4 and from 1e15; `n/a` for NaN.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "n/a".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e15).contains(&a) {
        return format!("{x:.3e}");
    }
    if a >= 999.5 {
        return group_thousands(&format!("{x:.0}"));
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn group_thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A count with thousands separated: `100,000`.
pub fn fmt_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// `[low, high]`.
pub fn fmt_ci(low: f64, high: f64) -> String {
    format!("[{}, {}]", fmt_num(low), fmt_num(high))
}

/// The display name of a primitive label.
pub fn world_name(label: &str) -> String {
    match label {
        "cdp" => "CDP".into(),
        "pn" => "P/N".into(),
        "diff" => "diff (CDP - P/N)".into(),
        other => other.into(),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A relative link target: the characters markdown links trip on are percent-encoded.
fn link(dir: &str, name: &str) -> String {
    let mut s = String::new();
    for c in format!("{dir}/{name}").chars() {
        match c {
            ' ' => s.push_str("%20"),
            '(' => s.push_str("%28"),
            ')' => s.push_str("%29"),
            '<' => s.push_str("%3C"),
            '>' => s.push_str("%3E"),
            c => s.push(c),
        }
    }
    s
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "result".into()
    } else {
        out
    }
}

/// The accumulating report.
struct Out<'a> {
    md: String,
    plots: Vec<Plot>,
    notes: Vec<String>,
    plots_dir: &'a str,
    size: (u32, u32),
}

impl Out<'_> {
    fn line(&mut self, s: &str) {
        self.md.push_str(s);
        self.md.push('\n');
    }

    /// A note in the report and in [`super::ReportSummary::notes`].
    fn note(&mut self, folder: &str, text: &str) {
        self.line(&format!("*Note: {text}*"));
        self.line("");
        self.notes.push(format!("{folder}: {text}"));
    }

    fn plot(&mut self, name: String, caption: String, svg: String) {
        let target = link(self.plots_dir, &name);
        self.line(&format!("![{}]({target})", caption.replace(['[', ']'], "")));
        self.line("");
        self.plots.push(Plot { name, svg });
    }
}

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
    out.line(&format!(
        "Costs are USD per path, positive when someone loses. Total loss = slippage + shortfall + \
         oracle loss; total cost = fees (transfers to third parties) + total loss; interest and the \
         put premium are transfers between borrower and lender, shown apart (see docs/reporting.md). \
         Intervals are 95% confidence intervals of the mean (mean +- {Z95} se)."
    ));
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
        summary_table(out, summary);
        totals(out, f, summary, &label);
        who_pays(out, f, summary);
    }
    if let Some(paths) = &f.paths {
        distribution_plot(out, &prefix, name, paths, &label)?;
        worst_paths(out, &prefix, f, paths, opts)?;
    } else if f.summary.is_some() {
        out.line("### Loss distributions and worst paths");
        out.line("");
        out.note(
            &label,
            "paths.csv is absent (run with --no-paths?): no loss distribution and no worst path",
        );
    }
    if let Some(sweep) = &f.sweep {
        sweep_section(out, &prefix, name, sweep, &label)?;
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
        let Some(value) = r.get("value").and_then(|v| v.as_f64()) else { continue };
        let se = r.get("se").and_then(|v| v.as_f64());
        let model = find(summary, &prim, &metric);
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
            world_name(&prim),
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
                m.worlds.iter().map(|w| world_name(w)).collect::<Vec<_>>().join(", ")
            },
        ),
        ("config hash", code(&m.config_hash)),
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

/// The order of primitives in tables.
fn prim_rank(p: &str) -> usize {
    match p {
        "cdp" => 0,
        "pn" => 1,
        "diff" => 2,
        _ => 3,
    }
}

fn stats_row(label: &str, prim: &str, n: u64, s: [f64; 7]) -> String {
    let [mean, lo, hi, p50, p95, p99, es95] = s;
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(label),
        world_name(prim),
        fmt_count(n),
        fmt_num(mean),
        fmt_ci(lo, hi),
        fmt_num(p50),
        fmt_num(p95),
        fmt_num(p99),
        fmt_num(es95)
    )
}

const STATS_HEADER: &str = "| metric | primitive | n | mean | 95% CI | p50 | p95 | p99 | es95 |\n\
                            | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |";

fn summary_table(out: &mut Out<'_>, summary: &[SummaryRow]) {
    out.line("### Summary (summary.csv)");
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
        rows.sort_by_key(|r| prim_rank(&r.primitive));
        for r in rows {
            out.line(&stats_row(
                &format!("`{m}`"),
                &r.primitive,
                r.n,
                [r.mean, r.ci95_low, r.ci95_high, r.p50, r.p95, r.p99, r.es95],
            ));
        }
    }
    out.line("");
}

fn find<'s>(summary: &'s [SummaryRow], prim: &str, metric: &str) -> Option<&'s SummaryRow> {
    summary.iter().find(|r| r.primitive == prim && r.metric == metric)
}

/// A sum of summary rows: exact mean, conservative interval (half-width 1.96 x the sum of the
/// standard errors, at least as wide as the exact one whatever the correlation).
fn summed(summary: &[SummaryRow], prim: &str, metrics: &[&str]) -> Option<(f64, f64, f64)> {
    let rows: Option<Vec<&SummaryRow>> = metrics.iter().map(|m| find(summary, prim, m)).collect();
    let rows = rows?;
    let mean: f64 = rows.iter().map(|r| r.mean).sum();
    let se: f64 = rows.iter().map(|r| r.se).sum();
    Some((mean, mean - Z95 * se, mean + Z95 * se))
}

const LOSS_COLUMNS: [&str; 3] = ["slippage_usd", "shortfall_usd", "oracle_loss_usd"];
const COST_COLUMNS: [&str; 4] = ["fees_usd", "slippage_usd", "shortfall_usd", "oracle_loss_usd"];

fn diff_values(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

fn stats_array(s: &Stats) -> [f64; 7] {
    [s.mean, s.ci95_low, s.ci95_high, s.p50, s.p95, s.p99, s.es95]
}

/// The sentence on the CDP minus P/N difference of total cost.
pub fn significance(mean: f64, low: f64, high: f64, n: u64, exact: bool) -> String {
    let n = fmt_count(n);
    let what = "The CDP minus P/N difference of total cost";
    if !(low.is_finite() && high.is_finite()) {
        return format!(
            "{what} averages {} USD per path; its interval cannot be computed from {n} path(s).",
            fmt_num(mean)
        );
    }
    if low == 0.0 && high == 0.0 && mean == 0.0 {
        return format!(
            "The CDP and the P/N split cost exactly the same on each of the {n} paths: the \
             difference of total cost is 0, with nothing to test."
        );
    }
    let ci = fmt_ci(low, high);
    let kind = if exact { "paired over" } else { "conservative, from summary.csv, over" };
    if low > 0.0 || high < 0.0 {
        let (more, by) = if low > 0.0 { ("more", mean) } else { ("less", -mean) };
        format!(
            "{what} is **significant** at the 5% level: the CDP costs {} USD per path {more} than \
             the P/N split (95% CI {ci}, {kind} {n} paths).",
            fmt_num(by)
        )
    } else if exact {
        format!(
            "{what}, {} USD per path (95% CI {ci}, {kind} {n} paths), is **not significant** at the \
             5% level: the interval contains 0.",
            fmt_num(mean)
        )
    } else {
        format!(
            "{what}, {} USD per path, is **not shown significant**: its conservative 95% interval \
             {ci} contains 0; paths.csv would give the exact paired interval.",
            fmt_num(mean)
        )
    }
}

fn totals(out: &mut Out<'_>, f: &Folder, summary: &[SummaryRow], label: &str) {
    out.line("### Total loss and total cost");
    out.line("");
    let has = |w: &str| summary.iter().any(|r| r.primitive == w);
    match &f.paths {
        Some(paths) => {
            out.line("Per path, from paths.csv: total loss = `slippage_usd + shortfall_usd + oracle_loss_usd`, total cost = `fees_usd` + total loss (USD).");
            out.line("");
            out.line(STATS_HEADER);
            let per: Vec<(&str, Vec<f64>, Vec<f64>)> =
                paths.worlds.iter().map(|(w, p)| (w.as_str(), p.total_loss(), p.total_cost())).collect();
            for (which, pick) in [("total loss", 0usize), ("total cost", 1)] {
                for (w, loss, cost) in &per {
                    let v = if pick == 0 { loss } else { cost };
                    let s = stats(v, Worst::High);
                    out.line(&stats_row(which, w, s.n, stats_array(&s)));
                }
                if let (Some(c), Some(p)) =
                    (per.iter().find(|x| x.0 == "cdp"), per.iter().find(|x| x.0 == "pn"))
                {
                    let d = if pick == 0 { diff_values(&c.1, &p.1) } else { diff_values(&c.2, &p.2) };
                    let s = stats(&d, Worst::High);
                    out.line(&stats_row(which, "diff", s.n, stats_array(&s)));
                }
            }
            out.line("");
            match (paths.world("cdp"), paths.world("pn")) {
                (Some(c), Some(p)) => {
                    let s = stats(&diff_values(&c.total_cost(), &p.total_cost()), Worst::High);
                    out.line(&significance(s.mean, s.ci95_low, s.ci95_high, s.n, true));
                }
                _ => out.line(&one_world_sentence(paths.worlds.iter().map(|w| w.0.as_str()))),
            }
            out.line("");
        }
        None => {
            out.line("Means from summary.csv (the mean of a sum is the sum of the means). Without paths.csv the interval of a sum is conservative: half-width 1.96 x the sum of the components' standard errors.");
            out.line("");
            out.line("| quantity | primitive | mean | 95% CI (conservative) |");
            out.line("| --- | --- | ---: | --- |");
            for (which, cols) in [("total loss", &LOSS_COLUMNS[..]), ("total cost", &COST_COLUMNS[..])] {
                for w in ["cdp", "pn", "diff"] {
                    if let Some((m, lo, hi)) = summed(summary, w, cols) {
                        out.line(&format!(
                            "| {which} | {} | {} | {} |",
                            world_name(w),
                            fmt_num(m),
                            fmt_ci(lo, hi)
                        ));
                    }
                }
            }
            out.line("");
            if let (true, true, Some((m, lo, hi))) =
                (has("cdp"), has("pn"), summed(summary, "diff", &COST_COLUMNS))
            {
                let n = find(summary, "diff", "fees_usd").map_or(0, |r| r.n);
                out.line(&significance(m, lo, hi, n, false));
            } else if has("cdp") && has("pn") {
                out.note(
                    label,
                    "summary.csv has no `diff` rows for every cost column: the difference cannot be assessed",
                );
            } else {
                out.line(&one_world_sentence(["cdp", "pn"].into_iter().filter(|w| has(w))));
            }
            out.line("");
        }
    }
}

fn one_world_sentence<'a>(worlds: impl Iterator<Item = &'a str>) -> String {
    let w: Vec<String> = worlds.map(world_name).collect();
    if w.is_empty() {
        return "No world has any row: there is nothing to compare.".into();
    }
    format!("Only the {} world was run: there is no CDP minus P/N difference to test.", w.join(" and "))
}

/// Which side of the ledger an item is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    ThirdParty,
    Loss,
    BorrowerLender,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::ThirdParty => "transfer to third parties",
            Kind::Loss => "loss",
            Kind::BorrowerLender => "transfer borrower to lender",
        }
    }
}

/// One line of "who pays what".
struct Item {
    kind: Kind,
    what: &'static str,
    column: &'static str,
    payer: &'static str,
    receiver: &'static str,
}

const CDP_ITEMS: [Item; 5] = [
    Item {
        kind: Kind::ThirdParty,
        what: "liquidation bonus",
        column: "fees_usd",
        payer: "liquidated borrower",
        receiver: "liquidators (and the protocol's fee share)",
    },
    Item {
        kind: Kind::Loss,
        what: "slippage of forced sales",
        column: "slippage_usd",
        payer: "seller of the seized collateral (the liquidator, out of the bonus)",
        receiver: "the market's other side (buyers, pools)",
    },
    Item {
        kind: Kind::Loss,
        what: "bad debt",
        column: "shortfall_usd",
        payer: "lender (suppliers, reserves)",
        receiver: "nobody: the collateral ran out",
    },
    Item {
        kind: Kind::Loss,
        what: "wrongful-liquidation oracle loss",
        column: "oracle_loss_usd",
        payer: "borrower liquidated while solvent at the true price",
        receiver: "liquidators (collateral worth more than its oracle value)",
    },
    Item {
        kind: Kind::BorrowerLender,
        what: "interest",
        column: "interest_usd",
        payer: "borrower",
        receiver: "lender",
    },
];

const PN_ITEMS: [Item; 5] = [
    Item {
        kind: Kind::ThirdParty,
        what: "roll fees",
        column: "fees_usd",
        payer: "P holder who rolls",
        receiver: "the counterparty minting the new pairs",
    },
    Item {
        kind: Kind::Loss,
        what: "slippage of rolls",
        column: "slippage_usd",
        payer: "P holder who rolls (the delta it sheds is sold)",
        receiver: "the market's other side (buyers, pools)",
    },
    Item {
        kind: Kind::Loss,
        what: "P holders' shortfall below K",
        column: "shortfall_usd",
        payer: "P holder (lender)",
        receiver: "nobody: the collateral is worth less than K",
    },
    Item {
        kind: Kind::Loss,
        what: "settlement transfer (absolute)",
        column: "oracle_loss_usd",
        payer: "P or N holder, whichever the settlement error goes against",
        receiver: "the other one (zero-sum between P and N)",
    },
    Item {
        kind: Kind::BorrowerLender,
        what: "put premium at the start",
        column: "premium_usd",
        payer: "borrower (N holder)",
        receiver: "P holder (lender)",
    },
];

fn who_pays(out: &mut Out<'_>, f: &Folder, summary: &[SummaryRow]) {
    let worlds: Vec<&str> =
        ["cdp", "pn"].into_iter().filter(|w| summary.iter().any(|r| r.primitive == *w)).collect();
    if worlds.is_empty() {
        return;
    }
    out.line("### Who pays what");
    out.line("");
    out.line(
        "Mean USD per path. Transfers to third parties and losses make up the total cost; transfers \
         between borrower and lender are the price of the loan or of the protection and are never \
         added to it.",
    );
    out.line("");
    for w in worlds {
        let items = if w == "cdp" { &CDP_ITEMS } else { &PN_ITEMS };
        out.line(&format!("**{} world**", world_name(w)));
        out.line("");
        out.line("| kind | item | column | paid by | received by | mean | 95% CI |");
        out.line("| --- | --- | --- | --- | --- | ---: | --- |");
        for it in items {
            let (mean, ci) = match find(summary, w, it.column) {
                Some(r) => (fmt_num(r.mean), fmt_ci(r.ci95_low, r.ci95_high)),
                None => ("not in this run".to_string(), String::new()),
            };
            out.line(&format!(
                "| {} | {} | `{}` | {} | {} | {mean} | {ci} |",
                it.kind.label(),
                it.what,
                it.column,
                it.payer,
                it.receiver
            ));
        }
        let paths = f.paths.as_ref().and_then(|p| p.world(w));
        let transfer_col = items[4].column;
        for (label, kind) in [
            ("all transfers to third parties", Some(Kind::ThirdParty)),
            ("all losses", Some(Kind::Loss)),
            ("total cost (third parties + losses)", None),
            ("all transfers borrower to lender", Some(Kind::BorrowerLender)),
        ] {
            let cols: Vec<&str> = items
                .iter()
                .filter(|it| match kind {
                    Some(k) => it.kind == k,
                    None => it.kind != Kind::BorrowerLender,
                })
                .map(|it| it.column)
                .collect();
            let value = match (paths, kind) {
                (Some(p), Some(Kind::BorrowerLender)) => p.transfers().map(|v| exact(&v)),
                (Some(p), _) => Some(exact(&component_sum(p, &cols))),
                (None, _) if cols.len() == 1 => {
                    find(summary, w, cols[0]).map(|r| (r.mean, fmt_ci(r.ci95_low, r.ci95_high)))
                }
                (None, _) => summed(summary, w, &cols)
                    .map(|(m, lo, hi)| (m, format!("{} (conservative)", fmt_ci(lo, hi)))),
            };
            let value = match (value, kind) {
                (None, Some(Kind::BorrowerLender)) if find(summary, w, transfer_col).is_none() => None,
                (v, _) => v,
            };
            let (mean, ci) =
                value.map_or(("not in this run".to_string(), String::new()), |(m, ci)| (fmt_num(m), ci));
            out.line(&format!("| **{label}** | | | | | **{mean}** | {ci} |"));
        }
        out.line("");
    }
}

fn exact(values: &[f64]) -> (f64, String) {
    let s = stats(values, Worst::High);
    (s.mean, fmt_ci(s.ci95_low, s.ci95_high))
}

/// Per-path sum of the named cost columns.
fn component_sum(p: &WorldPaths, cols: &[&str]) -> Vec<f64> {
    (0..p.path.len())
        .map(|i| {
            cols.iter()
                .map(|c| match *c {
                    "fees_usd" => p.fees[i],
                    "slippage_usd" => p.slippage[i],
                    "shortfall_usd" => p.shortfall[i],
                    "oracle_loss_usd" => p.oracle_loss[i],
                    _ => 0.0,
                })
                .sum()
        })
        .collect()
}

fn plot_err(name: &str) -> impl FnOnce(String) -> ReportError + '_ {
    move |message| ReportError::Plot { file: name.into(), message }
}

fn distribution_plot(
    out: &mut Out<'_>,
    prefix: &str,
    name: &str,
    paths: &PathsData,
    label: &str,
) -> Result<(), ReportError> {
    out.line("### Loss distributions");
    out.line("");
    if paths.worlds.is_empty() {
        out.note(label, "paths.csv has no rows: no loss distribution");
        return Ok(());
    }
    let per: Vec<(&str, Vec<f64>, Vec<f64>)> =
        paths.worlds.iter().map(|(w, p)| (w.as_str(), p.total_loss(), p.total_cost())).collect();
    let mut curves = Vec::new();
    let mut shares = Vec::new();
    let mut zero = Vec::new();
    for (w, loss, cost) in &per {
        let color = plots::world_color(w);
        let positive = cost.iter().filter(|c| **c > 0.0).count();
        shares.push(format!(
            "{}: {} of {} paths ({}%) have a positive total cost",
            world_name(w),
            fmt_count(positive as u64),
            fmt_count(cost.len() as u64),
            fmt_num(100.0 * positive as f64 / cost.len().max(1) as f64)
        ));
        for (what, values, dashed) in [("total cost", cost, false), ("total loss", loss, true)] {
            let points = plots::exceedance_steps(values);
            if points.is_empty() {
                zero.push(format!("every path of the {} world has a {what} of 0: not drawn", world_name(w)));
                continue;
            }
            curves.push(Curve {
                label: format!("{} {what}", world_name(w)),
                color,
                dashed,
                points,
                band: None,
                markers: false,
            });
        }
    }
    out.line(&format!("{}.", shares.join("; ")));
    out.line("");
    let file = format!("{prefix}-losses.svg");
    let title = format!("{name}: per-path total loss and total cost");
    let labels = plots::ExceedanceLabels { title: &title, size: out.size };
    match plots::exceedance_chart(&labels, &curves).map_err(plot_err(&file))? {
        Some(svg) => {
            out.line(
                "Exceedance curves on log-log axes: the share of paths whose total cost (solid) or \
                 total loss (dashed) is at least x. A curve starts at the share of paths with any \
                 cost and ends at 1/n, the worst path; further up and right means heavier losses.",
            );
            out.line("");
            out.plot(file, format!("{name}: distributions of per-path total loss and total cost"), svg);
            for z in zero {
                out.note(label, &z);
            }
        }
        None => out.note(label, "every path has a total cost of 0: no distribution to draw"),
    }
    Ok(())
}

/// Index of the path with the largest total cost (the first such path on ties).
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

fn worst_paths(
    out: &mut Out<'_>,
    prefix: &str,
    f: &Folder,
    paths: &PathsData,
    opts: &ReportOptions,
) -> Result<(), ReportError> {
    let label = f.dir.display().to_string();
    out.line("### Worst paths");
    out.line("");
    out.line("The worst path of a world is the one with the largest total cost in paths.csv.");
    out.line("");
    for (w, p) in &paths.worlds {
        let cost = p.total_cost();
        let Some(i) = worst_index(&cost) else { continue };
        let path = p.path[i];
        out.line(&format!(
            "- {}: path {path}, total cost {} USD (fees {}, slippage {}, shortfall {}, oracle loss {}).",
            world_name(w),
            fmt_num(cost[i]),
            fmt_num(p.fees[i]),
            fmt_num(p.slippage[i]),
            fmt_num(p.shortfall[i]),
            fmt_num(p.oracle_loss[i])
        ));
    }
    out.line("");
    let Some(tracer) = opts.tracer else {
        out.note(&label, "no path tracer was given: the worst paths are not drawn");
        return Ok(());
    };
    for (w, p) in &paths.worlds {
        let Some(i) = worst_index(&p.total_cost()) else { continue };
        let path = p.path[i];
        let trace_err =
            |message: String| ReportError::Trace { dir: f.dir.clone(), world: w.clone(), path, message };
        let Some(t) = tracer.trace(&f.dir, w, path).map_err(trace_err)? else {
            out.note(&label, &format!("the {} world's path {path} cannot be traced", world_name(w)));
            continue;
        };
        check_trace(&t).map_err(trace_err)?;
        let exits = match w.as_str() {
            "cdp" => "liquidations",
            "pn" => "rolls",
            _ => "exits",
        };
        let title = format!("Worst {} path (path {path}): price and {exits}", world_name(w));
        let file = format!("{prefix}-worst-{}.svg", slug(w));
        let labels = WorstLabels { title: &title, exits, color: plots::world_color(w), size: out.size };
        let svg = plots::worst_path_chart(&t, &labels).map_err(plot_err(&file))?;
        out.plot(file, title, svg);
    }
    Ok(())
}

/// The key metrics drawn per sweep: (title, columns summed).
const SWEEP_METRICS: [(&str, &[&str]); 5] = [
    ("total cost", &COST_COLUMNS),
    ("fees (transfers to third parties)", &["fees_usd"]),
    ("slippage", &["slippage_usd"]),
    ("shortfall", &["shortfall_usd"]),
    ("oracle loss", &["oracle_loss_usd"]),
];

fn sweep_section(
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
    let mut by: HashMap<(&[String], &str, &str), &SummaryRow> = HashMap::new();
    for r in &sweep.rows {
        if !points.contains(&r.point.as_slice()) {
            points.push(&r.point);
        }
        by.insert((r.point.as_slice(), r.summary.primitive.as_str(), r.summary.metric.as_str()), &r.summary);
    }
    let sum = |pt: &[String], prim: &str, cols: &[&str]| -> Option<(f64, f64, f64)> {
        let rows: Option<Vec<&&SummaryRow>> = cols.iter().map(|c| by.get(&(pt, prim, *c))).collect();
        let rows = rows?;
        let m: f64 = rows.iter().map(|r| r.mean).sum();
        if rows.len() == 1 {
            return Some((m, rows[0].ci95_low, rows[0].ci95_high));
        }
        let se: f64 = rows.iter().map(|r| r.se).sum();
        Some((m, m - Z95 * se, m + Z95 * se))
    };
    let prims: Vec<&str> = ["cdp", "pn", "diff"]
        .into_iter()
        .filter(|p| sweep.rows.iter().any(|r| r.summary.primitive == *p))
        .collect();

    out.line(
        "Mean USD per path at each grid point (total cost = fees + slippage + shortfall + oracle loss).",
    );
    out.line("");
    let mut head = sweep.grid.iter().map(|g| format!("`{}`", cell(g))).collect::<Vec<_>>();
    head.extend(
        ["primitive", "fees", "slippage", "shortfall", "oracle loss", "total cost"].map(String::from),
    );
    out.line(&format!("| {} |", head.join(" | ")));
    out.line(&format!("|{}", " --- |".repeat(head.len())));
    for pt in &points {
        for p in &prims {
            let mut row: Vec<String> = pt.iter().map(|v| cell(v)).collect();
            row.push(world_name(p));
            for cols in [
                &["fees_usd"][..],
                &["slippage_usd"],
                &["shortfall_usd"],
                &["oracle_loss_usd"],
                &COST_COLUMNS,
            ] {
                row.push(sum(pt, p, cols).map_or("n/a".into(), |(m, _, _)| fmt_num(m)));
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
    let line_prims: Vec<&str> = prims.iter().copied().filter(|p| *p != "diff").collect();
    for (g, rest) in groups.iter().enumerate() {
        let fixed: Vec<String> =
            sweep.grid[1..].iter().zip(rest.iter()).map(|(c, v)| format!("{c} = {v}")).collect();
        for (metric, cols) in SWEEP_METRICS {
            let mut curves = Vec::new();
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for p in &line_prims {
                let mut pts: Vec<(f64, f64, f64, f64)> = points
                    .iter()
                    .filter(|pt| &pt[1..] == *rest)
                    .filter_map(|pt| sum(pt, p, cols).map(|(m, l, h)| (x_of(&pt[0]), m, l, h)))
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
                curves.push(Curve {
                    label: format!("{} (mean, 95% CI band)", world_name(p)),
                    color: plots::world_color(p),
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
                y_desc: "USD per path",
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
    out.line("The bands of total cost are conservative (half-width 1.96 x the sum of the components' standard errors); the others are the 95% intervals of sweep.csv.");
    out.line("");
    Ok(())
}
