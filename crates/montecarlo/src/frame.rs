//! paths.csv, summary.csv and sweep.csv as column arrays, for in-memory tables (the Python
//! module's DataFrames): the same columns in the same order as the files, from the same column
//! table ([`crate::columns`]), each value the f64 or integer the file's text reads back to, and
//! a blank cell marked as missing. No text is formatted or parsed.

use crate::columns::{all_metrics, SummaryRow, SUMMARY_HEADER};
use crate::runner::RunResult;
use crate::sweep::Sweep;

/// The values of one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Whole numbers (the path index, counts, `n`).
    Int(Vec<i64>),
    /// Floats; where `valid` is given, `valid[i] == false` marks a blank cell (its value is NaN).
    Float {
        /// One value per row.
        values: Vec<f64>,
        /// None when no cell is blank.
        valid: Option<Vec<bool>>,
    },
    /// True or false (a sweep key with boolean values).
    Bool(Vec<bool>),
    /// Text from a short list: row `i` holds `labels[codes[i]]`.
    Label {
        /// The distinct texts.
        labels: Vec<String>,
        /// One index into `labels` per row.
        codes: Vec<u32>,
    },
}

impl Values {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Float { values, .. } => values.len(),
            Values::Bool(v) => v.len(),
            Values::Label { codes, .. } => codes.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A named column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The header of the column in the CSV file.
    pub name: String,
    /// Its values, row by row.
    pub values: Values,
}

fn column(name: &str, values: Values) -> Column {
    Column { name: name.to_string(), values }
}

/// The columns of paths.csv for `result`: `path`, `primitive`, then every metric; rows by path,
/// `cdp` before `pn` (as [`crate::columns::write_path_rows`] writes them).
pub fn paths_columns(result: &RunResult) -> Vec<Column> {
    let worlds = result.slices();
    let k = worlds.len();
    let n = worlds.first().map_or(0, |w| w.len());
    let rows = n * k;
    let mut out = Vec::with_capacity(2 + all_metrics().count());
    out.push(column(
        "path",
        Values::Int((0..rows).map(|r| (result.first_path + (r / k.max(1)) as u64) as i64).collect()),
    ));
    out.push(column(
        "primitive",
        Values::Label {
            labels: result.kinds.iter().map(|w| w.label().to_string()).collect(),
            codes: (0..rows).map(|r| (r % k) as u32).collect(),
        },
    ));
    for m in all_metrics() {
        let cell = |r: usize| (m.get)(&worlds[r % k][r / k]);
        let values = if m.count {
            Values::Int((0..rows).map(|r| cell(r).map_or(0, |v| v as u64 as i64)).collect())
        } else {
            let values: Vec<f64> = (0..rows).map(|r| cell(r).unwrap_or(f64::NAN)).collect();
            let valid: Vec<bool> = (0..rows).map(|r| cell(r).is_some()).collect();
            Values::Float { values, valid: (!valid.iter().all(|v| *v)).then_some(valid) }
        };
        out.push(column(m.name, values));
    }
    out
}

/// The columns of summary.csv for `rows` ([`SUMMARY_HEADER`]).
pub fn summary_columns(rows: &[SummaryRow]) -> Vec<Column> {
    let labels = |f: fn(&SummaryRow) -> &'static str| {
        let mut labels: Vec<String> = Vec::new();
        let codes = rows
            .iter()
            .map(|r| {
                let s = f(r);
                let at = labels.iter().position(|l| l == s).unwrap_or_else(|| {
                    labels.push(s.to_string());
                    labels.len() - 1
                });
                at as u32
            })
            .collect();
        Values::Label { labels, codes }
    };
    let floats = |f: fn(&crate::stats::Stats) -> f64| Values::Float {
        values: rows.iter().map(|r| f(&r.stats)).collect(),
        valid: None,
    };
    let values = [
        labels(|r| r.primitive),
        labels(|r| r.metric),
        Values::Int(rows.iter().map(|r| r.stats.n as i64).collect()),
        floats(|s| s.mean),
        floats(|s| s.std),
        floats(|s| s.se),
        floats(|s| s.ci95_low),
        floats(|s| s.ci95_high),
        floats(|s| s.p01),
        floats(|s| s.p05),
        floats(|s| s.p50),
        floats(|s| s.p95),
        floats(|s| s.p99),
        floats(|s| s.es95),
    ];
    SUMMARY_HEADER.iter().zip(values).map(|(name, v)| column(name, v)).collect()
}

/// The columns of sweep.csv: one per grid key (integers, floats when the key mixes integers and
/// floats, booleans, else text as sweep.csv writes it), then summary.csv's; one row per point,
/// primitive and metric. `summaries[i]` is point `i`'s summary.
pub fn sweep_columns(sweep: &Sweep, summaries: &[Vec<SummaryRow>]) -> Vec<Column> {
    let repeat = |i: usize| summaries.get(i).map_or(0, Vec::len);
    let mut out = Vec::new();
    for (j, key) in sweep.keys.iter().enumerate() {
        let cells: Vec<&toml::Value> = sweep
            .points
            .iter()
            .enumerate()
            .flat_map(|(i, (v, _))| std::iter::repeat_n(&v[j], repeat(i)))
            .collect();
        out.push(column(key, grid_values(&cells)));
    }
    let all: Vec<SummaryRow> = summaries.iter().flatten().cloned().collect();
    out.extend(summary_columns(&all));
    out
}

fn grid_values(cells: &[&toml::Value]) -> Values {
    use toml::Value as V;
    if cells.iter().all(|v| matches!(v, V::Integer(_))) {
        return Values::Int(cells.iter().map(|v| v.as_integer().unwrap_or(0)).collect());
    }
    if cells.iter().all(|v| matches!(v, V::Integer(_) | V::Float(_))) {
        let values = cells
            .iter()
            .map(|v| match v {
                V::Integer(i) => *i as f64,
                other => other.as_float().unwrap_or(f64::NAN),
            })
            .collect();
        return Values::Float { values, valid: None };
    }
    if cells.iter().all(|v| matches!(v, V::Boolean(_))) {
        return Values::Bool(cells.iter().map(|v| v.as_bool().unwrap_or(false)).collect());
    }
    let mut fb = ryu::Buffer::new();
    let mut labels: Vec<String> = Vec::new();
    let codes = cells
        .iter()
        .map(|v| {
            let s = crate::sweep::value_text(v, &mut fb);
            let at = labels.iter().position(|l| *l == s).unwrap_or_else(|| {
                labels.push(s);
                labels.len() - 1
            });
            at as u32
        })
        .collect();
    Values::Label { labels, codes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::{summary_fields, summary_rows, write_path_rows};
    use crate::spec::WorldKind;
    use headroom_market::PathMetrics;

    /// The text of a cell as paths.csv and summary.csv write it.
    fn text(v: &Values, i: usize) -> String {
        match v {
            Values::Int(x) => x[i].to_string(),
            Values::Float { values, valid } => {
                if valid.as_ref().is_some_and(|ok| !ok[i]) {
                    String::new()
                } else {
                    crate::columns::fmt_f64(&mut ryu::Buffer::new(), values[i]).to_string()
                }
            }
            Values::Bool(x) => x[i].to_string(),
            Values::Label { labels, codes } => labels[codes[i] as usize].clone(),
        }
    }

    fn result() -> RunResult {
        let row = |k: u64| PathMetrics {
            exits: k,
            eth_sold: 0.1 * k as f64,
            min_price: f64::NAN,
            interest_usd: (k % 2 == 0).then_some(1.0 / 3.0),
            premium_usd: Some(k as f64),
            ..PathMetrics::default()
        };
        RunResult {
            first_path: 5,
            kinds: vec![WorldKind::Cdp, WorldKind::Pn],
            metrics: vec![(0..3).map(row).collect(), (10..13).map(row).collect()],
            events: Vec::new(),
            windows: Vec::new(),
        }
    }

    #[test]
    fn paths_columns_are_the_cells_of_paths_csv() {
        let r = result();
        let mut w = csv::Writer::from_writer(Vec::new());
        write_path_rows(&mut w, r.first_path, &r.kinds, &r.slices()).unwrap();
        let csv_text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let cols = paths_columns(&r);
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, crate::columns::paths_header());
        let lines: Vec<&str> = csv_text.lines().collect();
        assert_eq!(lines.len(), 6);
        for (i, line) in lines.iter().enumerate() {
            let cells: Vec<String> = cols.iter().map(|c| text(&c.values, i)).collect();
            assert_eq!(cells.join(","), *line, "row {i}");
        }
        // The blank cells are marked, and only they.
        let interest = cols.iter().find(|c| c.name == "interest_usd").unwrap();
        let Values::Float { valid: Some(v), .. } = &interest.values else {
            panic!("interest_usd has blanks")
        };
        assert_eq!(v, &[true, true, false, false, true, true]);
        let premium = cols.iter().find(|c| c.name == "premium_usd").unwrap();
        assert!(matches!(premium.values, Values::Float { valid: None, .. }));
    }

    #[test]
    fn summary_columns_are_the_cells_of_summary_csv() {
        let r = result();
        let rows = summary_rows(&r.kinds, &r.slices(), crate::stats::overlap::SeMethod::Iid);
        let cols = summary_columns(&rows);
        assert_eq!(cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), SUMMARY_HEADER);
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = cols.iter().map(|c| text(&c.values, i)).collect();
            assert_eq!(cells, summary_fields(row), "row {i}");
        }
    }

    #[test]
    fn grid_columns_take_the_type_of_their_values() {
        use toml::Value as V;
        let ints = [V::Integer(1), V::Integer(2)];
        assert_eq!(grid_values(&ints.iter().collect::<Vec<_>>()), Values::Int(vec![1, 2]));
        let mixed = [V::Integer(1), V::Float(2.5)];
        assert_eq!(
            grid_values(&mixed.iter().collect::<Vec<_>>()),
            Values::Float { values: vec![1.0, 2.5], valid: None }
        );
        let text = [V::String("aave".into()), V::Float(0.5), V::String("aave".into())];
        assert_eq!(
            grid_values(&text.iter().collect::<Vec<_>>()),
            Values::Label { labels: vec!["aave".into(), "0.5".into()], codes: vec![0, 1, 0] }
        );
    }

    #[test]
    fn no_extra_column_is_a_count() {
        // paths_columns writes a count as an integer with no blanks: only shared columns are counts.
        assert!(crate::columns::EXTRA.iter().all(|m| !m.count));
    }
}
