//! The columns of paths.csv and summary.csv, and their formatting.
//!
//! Floats are written in the shortest form that reads back to the same f64 (ryu), counts as
//! integers, blank where a column does not apply (docs/MODEL.md).

use crate::spec::WorldKind;
use crate::stats::overlap::SeMethod;
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
    /// Sets the value read back from a row (a count is whole and >= 0; a shared column is never
    /// blank: [`parse_path_row`] checks both first).
    pub set: fn(&mut PathMetrics, Option<f64>),
}

macro_rules! shared {
    ($name:ident, count) => {
        Metric {
            name: stringify!($name),
            count: true,
            worst: Worst::High,
            get: |m| Some(m.$name as f64),
            set: |m, v| m.$name = v.unwrap_or(0.0) as u64,
        }
    };
    ($name:ident, $worst:expr) => {
        Metric {
            name: stringify!($name),
            count: false,
            worst: $worst,
            get: |m| Some(m.$name),
            set: |m, v| m.$name = v.unwrap_or(0.0),
        }
    };
}

macro_rules! party {
    ($name:ident, $worst:expr) => {
        Metric {
            name: stringify!($name),
            count: false,
            worst: $worst,
            get: |m| Some(m.ledger.$name),
            set: |m, v| m.ledger.$name = v.unwrap_or(0.0),
        }
    };
}

macro_rules! extra {
    ($name:ident) => {
        Metric {
            name: stringify!($name),
            count: false,
            worst: Worst::High,
            get: |m| m.$name,
            set: |m, v| m.$name = v,
        }
    };
}

/// The shared columns, in the order of docs/MODEL.md. A party column is what the party gained,
/// so its bad tail is the low one for borrower, lender and protocol.
pub const SHARED: [Metric; 22] = [
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
    party!(borrower_usd, Worst::Low),
    party!(lender_usd, Worst::Low),
    party!(protocol_usd, Worst::Low),
    party!(takers_usd, Worst::High),
    party!(market_usd, Worst::High),
    party!(validators_usd, Worst::High),
    shared!(cost_usd, Worst::High),
    shared!(cost_pct_year, Worst::High),
    shared!(borrower_pnl_usd, Worst::Low),
    shared!(lender_pnl_usd, Worst::Low),
    shared!(deferred, count),
];

/// The primitive-specific columns, after the shared ones.
pub const EXTRA: [Metric; 4] =
    [extra!(interest_usd), extra!(premium_usd), extra!(p_drift), extra!(pricing_vol)];

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

/// Whether `header` is paths.csv's header, column for column.
pub fn is_paths_header(header: &csv::StringRecord) -> bool {
    header.iter().eq(paths_header())
}

/// One row of paths.csv, read back.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRow<'a> {
    /// The global path index.
    pub path: u64,
    /// The `primitive` column as written (`cdp` or `pn` for the engine's rows).
    pub primitive: &'a str,
    /// The metrics: exactly those written, blank columns as `None`.
    pub metrics: PathMetrics,
}

/// Reads a record of paths.csv (whose header [`is_paths_header`] accepted) back into its
/// metrics: the one reader of the format, for `merge` and `report`. The error names the column
/// and the value; the caller adds the file and the line.
pub fn parse_path_row(rec: &csv::StringRecord) -> Result<PathRow<'_>, String> {
    let width = 2 + SHARED.len() + EXTRA.len();
    if rec.len() != width {
        return Err(format!("{} fields where paths.csv has {width}", rec.len()));
    }
    let field = |i: usize| rec.get(i).unwrap_or("").trim();
    let path = field(0)
        .parse::<u64>()
        .map_err(|_| format!("column `path`: {:?} is not a whole number >= 0", field(0)))?;
    let primitive = field(1);
    if primitive.is_empty() {
        return Err("column `primitive` is blank".into());
    }
    let mut metrics = PathMetrics::default();
    for (j, c) in all_metrics().enumerate() {
        let text = field(j + 2);
        let v = if text.is_empty() {
            if SHARED.iter().any(|s| s.name == c.name) {
                return Err(format!("column `{}` is blank: every row has it", c.name));
            }
            None
        } else if c.count {
            let n = text
                .parse::<u64>()
                .map_err(|_| format!("column `{}`: {text:?} is not a whole number >= 0", c.name))?;
            Some(n as f64)
        } else {
            Some(text.parse::<f64>().map_err(|_| format!("column `{}`: {text:?} is not a number", c.name))?)
        };
        (c.set)(&mut metrics, v);
    }
    Ok(PathRow { path, primitive, metrics })
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

/// Appends the paths.csv rows of paths `first..first + n` to `out` (no header), byte for byte
/// what [`write_path_rows`] writes through a CSV writer (every field is a number, a blank or a
/// world's label: nothing to quote), without the writer's per-field work: paths.csv's
/// formatting, in parallel parts of a block (crate::output).
pub fn format_path_rows(out: &mut Vec<u8>, first: u64, kinds: &[WorldKind], worlds: &[&[PathMetrics]]) {
    let n = worlds.first().map_or(0, |w| w.len());
    let mut fb = ryu::Buffer::new();
    let mut ib = itoa::Buffer::new();
    for i in 0..n {
        for (kind, rows) in kinds.iter().zip(worlds) {
            let m = &rows[i];
            out.extend_from_slice(ib.format(first + i as u64).as_bytes());
            out.push(b',');
            out.extend_from_slice(kind.label().as_bytes());
            for c in all_metrics() {
                out.push(b',');
                match (c.get)(m) {
                    None => {}
                    Some(v) if c.count => out.extend_from_slice(ib.format(v as u64).as_bytes()),
                    Some(v) => out.extend_from_slice(fmt_f64(&mut fb, v).as_bytes()),
                }
            }
            out.push(b'\n');
        }
    }
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
/// shared metric when both worlds ran; `se` by `se_method`.
pub fn summary_rows(kinds: &[WorldKind], worlds: &[&[PathMetrics]], se_method: SeMethod) -> Vec<SummaryRow> {
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
            let se = se_method.se(&values);
            (!values.is_empty()).then(|| {
                let stats = stats_of_owned(values, c.worst);
                SummaryRow { primitive, metric: c.name, stats: se.map_or(stats, |se| stats.with_se(se)) }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: &str) -> csv::StringRecord {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line.as_bytes());
        r.records().next().unwrap().unwrap()
    }

    #[test]
    fn rows_read_back_to_the_metrics_written() {
        let cdp = PathMetrics {
            exits: 3,
            eth_sold: 1.25,
            fees_usd: 1e-300,
            slippage_usd: 123_456.789_012_345_67,
            oracle_loss_usd: 0.0,
            wrongful_exits: 2,
            shortfall_usd: 5.0,
            max_cascade_rounds: 7,
            positions_hit: 3,
            min_price: 2_271.812_345_678_9,
            final_price: f64::INFINITY,
            interest_usd: Some(4.5),
            premium_usd: None,
            ledger: headroom_market::Ledger {
                borrower_usd: -100.5,
                lender_usd: -14.25,
                protocol_usd: 3.0,
                takers_usd: 101.75,
                market_usd: 10.0,
                validators_usd: 0.0,
            },
            cost_usd: 111.75,
            cost_pct_year: 0.123,
            borrower_pnl_usd: -5e3,
            lender_pnl_usd: 12.5,
            deferred: 4,
            p_drift: None,
            pricing_vol: None,
        };
        let pn = PathMetrics {
            premium_usd: Some(30.0),
            p_drift: Some(-0.0125),
            pricing_vol: Some(0.875),
            interest_usd: None,
            ..cdp.clone()
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let (a, b) = ([cdp.clone()], [pn.clone()]);
        write_path_rows(&mut w, 41, &[WorldKind::Cdp, WorldKind::Pn], &[&a, &b]).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        let a = record(rows[0]);
        let a = parse_path_row(&a).unwrap();
        assert_eq!((a.path, a.primitive, a.metrics), (41, "cdp", cdp));
        let b = record(rows[1]);
        let b = parse_path_row(&b).unwrap();
        assert_eq!((b.path, b.primitive, b.metrics), (41, "pn", pn));
    }

    #[test]
    fn rows_formatted_directly_are_the_csv_writers_bytes() {
        let mut rows = Vec::new();
        for (i, x) in [0.0, -0.0, 1.5e-300, -2.75e21, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 3000.125]
            .into_iter()
            .enumerate()
        {
            let ledger = headroom_market::Ledger { borrower_usd: x, lender_usd: -x, ..Default::default() };
            rows.push(PathMetrics {
                exits: i as u64 * 1_000_003,
                fees_usd: x,
                min_price: x.abs(),
                ledger,
                interest_usd: (i % 2 == 0).then_some(x),
                p_drift: (i % 3 == 0).then_some(-x),
                ..Default::default()
            });
        }
        let other: Vec<PathMetrics> = rows.iter().rev().cloned().collect();
        for (kinds, worlds) in [
            (vec![WorldKind::Cdp, WorldKind::Pn], vec![&rows[..], &other[..]]),
            (vec![WorldKind::Pn], vec![&rows[..]]),
        ] {
            let mut w = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Never).from_writer(Vec::new());
            write_path_rows(&mut w, u64::MAX - 20, &kinds, &worlds).unwrap();
            let mut direct = Vec::new();
            format_path_rows(&mut direct, u64::MAX - 20, &kinds, &worlds);
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(w.into_inner().unwrap()).unwrap()
            );
        }
    }

    #[test]
    fn bad_rows_name_the_column_and_the_value() {
        // A good cdp row: the shared columns, then interest_usd set and the P/N columns blank.
        const GOOD: &str = "0,cdp,1,1.0,100.0,10.0,0.0,0,0.0,1,1,2900.0,3000.0,\
                            -80.0,-30.0,0.0,100.0,10.0,0.0,110.0,1.5,-85.0,-25.0,0,5.0,,,";
        // GOOD with field `i` replaced by `v`.
        let with = |i: usize, v: &str| {
            let mut f: Vec<&str> = GOOD.split(',').collect();
            f[i] = v;
            f.join(",")
        };
        assert!(parse_path_row(&record(GOOD)).is_ok());
        let cases = [
            ("0,cdp,1,1.0".to_string(), "4 fields where paths.csv has 28"),
            (with(0, "-1"), "column `path`: \"-1\""),
            (with(1, " "), "column `primitive` is blank"),
            (with(2, "1.5"), "column `exits`: \"1.5\" is not a whole"),
            (with(4, "x"), "column `fees_usd`: \"x\" is not a number"),
            (with(5, ""), "column `slippage_usd` is blank"),
            (with(16, ""), "column `takers_usd` is blank"),
            (with(23, "-1"), "column `deferred`: \"-1\" is not a whole"),
        ];
        for (line, want) in cases {
            let e = parse_path_row(&record(&line)).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
        let header = record(&paths_header().join(","));
        assert!(is_paths_header(&header));
        assert!(!is_paths_header(&record("path,primitive,exits")));
    }
}
