//! The columns of paths.csv and summary.csv, and their formatting.
//!
//! Floats are written in the shortest form that reads back to the same f64 (ryu), counts as
//! integers, blank where a column does not apply (docs/MODEL.md).

use crate::spec::WorldKind;
use crate::stats::{stats_of_owned, Stats, Worst};
use headroom_market::PathMetrics;
use rayon::prelude::*;

/// A column of paths.csv.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// Column name.
    pub name: &'static str,
    /// Whether it is a count (written as an integer).
    pub count: bool,
    /// Which tail is bad, for es95.
    pub worst: Worst,
    /// The value of a path, if the primitive has the column.
    pub get: fn(&PathMetrics) -> Option<f64>,
}

macro_rules! shared {
    ($name:ident, count) => {
        Metric { name: stringify!($name), count: true, worst: Worst::High, get: |m| Some(m.$name as f64) }
    };
    ($name:ident, $worst:expr) => {
        Metric { name: stringify!($name), count: false, worst: $worst, get: |m| Some(m.$name) }
    };
}

/// The shared columns, in the order of docs/MODEL.md.
pub const SHARED: [Metric; 11] = [
    shared!(exits, count),
    shared!(eth_sold, Worst::High),
    shared!(fees_usd, Worst::High),
    shared!(slippage_usd, Worst::High),
    shared!(oracle_loss_usd, Worst::High),
    shared!(wrongful_exits, count),
    shared!(shortfall_usd, Worst::High),
    shared!(max_cascade_rounds, count),
    shared!(positions_hit, count),
    shared!(min_price, Worst::Low),
    shared!(final_price, Worst::Low),
];

/// The primitive-specific columns, after the shared ones.
pub const EXTRA: [Metric; 3] = [
    Metric { name: "interest_usd", count: false, worst: Worst::High, get: |m| m.interest_usd },
    Metric { name: "premium_usd", count: false, worst: Worst::High, get: |m| m.premium_usd },
    Metric { name: "p_drift", count: false, worst: Worst::High, get: |m| m.p_drift },
];

/// Every column of paths.csv after `path,primitive`.
pub fn all_metrics() -> impl Iterator<Item = &'static Metric> {
    SHARED.iter().chain(EXTRA.iter())
}

/// The header of paths.csv.
pub fn paths_header() -> Vec<&'static str> {
    let mut h = vec!["path", "primitive"];
    h.extend(all_metrics().map(|m| m.name));
    h
}

/// The header of summary.csv.
pub const SUMMARY_HEADER: [&str; 14] = [
    "primitive",
    "metric",
    "n",
    "mean",
    "std",
    "se",
    "ci95_low",
    "ci95_high",
    "p01",
    "p05",
    "p50",
    "p95",
    "p99",
    "es95",
];

/// Formats an f64 in the shortest form that reads back to the same value (`NaN`, `inf`, `-inf`
/// for the non-finite).
pub fn fmt_f64(buf: &mut ryu::Buffer, x: f64) -> &str {
    if x.is_finite() {
        buf.format_finite(x)
    } else if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

/// Appends the paths.csv rows of paths `first..first + n` to `w` (no header); `worlds[k][i]` is
/// path `first + i` of world `kinds[k]`.
pub fn write_path_rows<W: std::io::Write>(
    w: &mut csv::Writer<W>,
    first: u64,
    kinds: &[WorldKind],
    worlds: &[&[PathMetrics]],
) -> csv::Result<()> {
    let n = worlds.first().map_or(0, |w| w.len());
    let mut fb = ryu::Buffer::new();
    let mut ib = itoa::Buffer::new();
    for i in 0..n {
        for (kind, rows) in kinds.iter().zip(worlds) {
            let m = &rows[i];
            w.write_field(ib.format(first + i as u64))?;
            w.write_field(kind.label())?;
            for c in all_metrics() {
                match (c.get)(m) {
                    None => w.write_field("")?,
                    Some(v) if c.count => w.write_field(ib.format(v as u64))?,
                    Some(v) => w.write_field(fmt_f64(&mut fb, v))?,
                }
            }
            w.write_record(None::<&[u8]>)?;
        }
    }
    Ok(())
}

/// One row of summary.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// `cdp`, `pn` or `diff`.
    pub primitive: &'static str,
    /// The metric's column name.
    pub metric: &'static str,
    /// Its statistics.
    pub stats: Stats,
}

/// The summary rows: every metric of every world, then `diff` (CDP minus P/N, per path) of each
/// shared metric when both worlds ran.
pub fn summary_rows(kinds: &[WorldKind], worlds: &[&[PathMetrics]]) -> Vec<SummaryRow> {
    // One job per row, computed in parallel and collected in order (each row's statistics
    // depend on its own column only, so the bytes do not depend on the thread count).
    let mut jobs: Vec<(&'static str, &'static Metric, Column)> = Vec::new();
    for (k, kind) in kinds.iter().enumerate() {
        for c in all_metrics() {
            jobs.push((kind.label(), c, Column::One(k)));
        }
    }
    let cdp = kinds.iter().position(|k| *k == WorldKind::Cdp);
    let pn = kinds.iter().position(|k| *k == WorldKind::Pn);
    if let (Some(a), Some(b)) = (cdp, pn) {
        for c in SHARED.iter() {
            jobs.push(("diff", c, Column::Diff(a, b)));
        }
    }
    jobs.into_par_iter()
        .filter_map(|(primitive, c, col)| {
            let values: Vec<f64> = match col {
                Column::One(k) => worlds[k].iter().filter_map(|m| (c.get)(m)).collect(),
                Column::Diff(a, b) => worlds[a]
                    .iter()
                    .zip(worlds[b])
                    .map(|(x, y)| (c.get)(x).unwrap() - (c.get)(y).unwrap())
                    .collect(),
            };
            (!values.is_empty()).then(|| SummaryRow {
                primitive,
                metric: c.name,
                stats: stats_of_owned(values, c.worst),
            })
        })
        .collect()
}

/// Where a summary row's values come from.
#[derive(Clone, Copy)]
enum Column {
    /// A metric of world `k`.
    One(usize),
    /// The paired difference world `a` minus world `b` of a shared metric.
    Diff(usize, usize),
}

/// The fields of one summary.csv row, in [`SUMMARY_HEADER`]'s order.
pub fn summary_fields(r: &SummaryRow) -> Vec<String> {
    let s = &r.stats;
    let mut fb = ryu::Buffer::new();
    let mut f = vec![r.primitive.to_string(), r.metric.to_string(), s.n.to_string()];
    for v in [s.mean, s.std, s.se, s.ci95_low, s.ci95_high, s.p01, s.p05, s.p50, s.p95, s.p99, s.es95] {
        f.push(fmt_f64(&mut fb, v).to_string());
    }
    f
}

/// Writes summary rows with their header.
pub fn write_summary<W: std::io::Write>(w: &mut csv::Writer<W>, rows: &[SummaryRow]) -> csv::Result<()> {
    w.write_record(SUMMARY_HEADER)?;
    for r in rows {
        w.write_record(summary_fields(r))?;
    }
    Ok(())
}
