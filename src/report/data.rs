//! Reading a result folder: manifest.json, summary.csv, paths.csv, sweep.csv, windows.csv and
//! events.csv.
//!
//! Every problem is a [`ReportError`] naming the file (and the line for CSV files); nothing here
//! panics on bad input.

use super::ReportError;
use headroom_market::PathMetrics;
use headroom_montecarlo::columns::{is_paths_header, parse_path_row, paths_header};
use headroom_montecarlo::spec::WorldKind;
use headroom_montecarlo::stats::Stats;
use serde_json::Value;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The columns of summary.csv, in order (the engine's header).
pub use headroom_montecarlo::columns::SUMMARY_HEADER as SUMMARY_COLUMNS;

/// The `primitive` of a summary row: one world, or the paired difference of the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// One world's values.
    World(WorldKind),
    /// CDP minus P/N, per path.
    Diff,
}

impl Side {
    /// Every side, in the order of the tables.
    pub const ALL: [Side; 3] = [Side::World(WorldKind::Cdp), Side::World(WorldKind::Pn), Side::Diff];

    /// Reads the `primitive` column (`cdp`, `pn`, `diff`).
    pub fn parse(label: &str) -> Option<Side> {
        Side::ALL.into_iter().find(|s| s.label() == label)
    }

    /// The label in the CSV files.
    pub fn label(self) -> &'static str {
        match self {
            Side::World(w) => w.label(),
            Side::Diff => "diff",
        }
    }

    /// The display name: `CDP`, `P/N`, `diff (CDP - P/N)`.
    pub fn name(self) -> &'static str {
        match self {
            Side::World(w) => world_name(w),
            Side::Diff => "diff (CDP - P/N)",
        }
    }
}

/// The display name of a world: `CDP`, `P/N`.
pub fn world_name(w: WorldKind) -> &'static str {
    match w {
        WorldKind::Cdp => "CDP",
        WorldKind::Pn => "P/N",
    }
}

/// One row of summary.csv (or the summary part of a sweep.csv row): the engine's [`Stats`]
/// read back, which its fields (`row.mean`, `row.se`, ...) reach through `Deref`.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The world, or `diff`.
    pub primitive: Side,
    /// The metric (a paths.csv column).
    pub metric: String,
    /// n, mean, std, se, the 95% interval, the quantiles and es95.
    pub stats: Stats,
}

impl std::ops::Deref for SummaryRow {
    type Target = Stats;
    fn deref(&self) -> &Stats {
        &self.stats
    }
}

/// The facts of manifest.json the report shows (absent keys are `None`).
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    /// Experiment name.
    pub name: Option<String>,
    /// The experiment's description (`config.description`).
    pub description: Option<String>,
    /// The experiment file the run read.
    pub experiment_file: Option<String>,
    /// The resolved experiment.
    pub config: Option<Value>,
    /// SHA-256 of the resolved experiment.
    pub config_hash: Option<String>,
    /// Master seed.
    pub seed: Option<u64>,
    /// Paths of the whole experiment.
    pub paths: Option<u64>,
    /// First global path index in this folder.
    pub first_path: Option<u64>,
    /// Paths in this folder.
    pub path_count: Option<u64>,
    /// Shard (index, count), if the folder holds one shard.
    pub shard: Option<(u64, u64)>,
    /// Worlds run, as the manifest names them (a sweep's: those of its first point).
    pub worlds: Vec<String>,
    /// A sweep's number of points (its `configs`, one resolved experiment and hash each).
    pub sweep_points: Option<usize>,
    /// Version of the binary.
    pub version: Option<String>,
    /// Git commit of the binary.
    pub git_commit: Option<String>,
    /// Random generator.
    pub generator: Option<String>,
    /// Worker threads.
    pub threads: Option<u64>,
    /// Wall time of the run, seconds.
    pub wall_seconds: Option<f64>,
}

/// The per-path rows of one world, from paths.csv, in path order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorldPaths {
    /// Global path indices.
    pub path: Vec<u64>,
    /// The metrics of each path, as written.
    pub rows: Vec<PathMetrics>,
}

impl WorldPaths {
    /// Per-path cost of the primitive, `cost_usd` (the engine's sum of the ledger's takers,
    /// market and validators columns).
    pub fn cost(&self) -> Vec<f64> {
        self.rows.iter().map(|m| m.cost_usd).collect()
    }
}

/// paths.csv: the worlds in order of first appearance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathsData {
    /// (world, its paths).
    pub worlds: Vec<(WorldKind, WorldPaths)>,
}

/// One row of windows.csv: the window a path replayed (a `windows` process).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowRow {
    /// Global path index.
    pub path: u64,
    /// The window's first row, seconds since 1970-01-01 00:00 UTC.
    pub start_time: i64,
    /// Its close: the path's start price, USD.
    pub start_price: f64,
}

/// One row of sweep.csv: the grid point, then a summary row.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// The values of the grid columns, as written.
    pub point: Vec<String>,
    /// The statistics of (primitive, metric) at that point.
    pub summary: SummaryRow,
}

/// sweep.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepData {
    /// The grid's column names (the columns before `primitive`).
    pub grid: Vec<String>,
    /// The rows in file order.
    pub rows: Vec<SweepRow>,
}

/// Everything the report reads from one result folder.
#[derive(Clone, Debug)]
pub struct Folder {
    /// The folder as given.
    pub dir: PathBuf,
    /// manifest.json, if present.
    pub manifest: Option<Manifest>,
    /// summary.csv, if present (required unless sweep.csv is there).
    pub summary: Option<Vec<SummaryRow>>,
    /// paths.csv, if present.
    pub paths: Option<PathsData>,
    /// sweep.csv, if present.
    pub sweep: Option<SweepData>,
    /// windows.csv (a historical simulation), if present.
    pub windows: Option<Vec<WindowRow>>,
    /// Number of rows of events.csv, if present.
    pub event_rows: Option<u64>,
}

impl Folder {
    /// Reads the result folder `dir`.
    pub fn read(dir: &Path) -> Result<Folder, ReportError> {
        if !dir.is_dir() {
            return Err(ReportError::MissingFolder { dir: dir.to_path_buf() });
        }
        let file = |name: &str| dir.join(name);
        let manifest =
            if file("manifest.json").is_file() { Some(read_manifest(&file("manifest.json"))?) } else { None };
        let sweep = if file("sweep.csv").is_file() { Some(read_sweep(&file("sweep.csv"))?) } else { None };
        let summary = if file("summary.csv").is_file() {
            Some(read_summary(&file("summary.csv"))?)
        } else if sweep.is_none() {
            return Err(ReportError::MissingFile {
                file: file("summary.csv"),
                what: "every result folder written by `headroom run` has one (a sweep folder has sweep.csv)",
            });
        } else {
            None
        };
        let paths = if file("paths.csv").is_file() { Some(read_paths(&file("paths.csv"))?) } else { None };
        let windows =
            if file("windows.csv").is_file() { Some(read_windows(&file("windows.csv"))?) } else { None };
        let event_rows =
            if file("events.csv").is_file() { Some(count_rows(&file("events.csv"))?) } else { None };
        Ok(Folder { dir: dir.to_path_buf(), manifest, summary, paths, sweep, windows, event_rows })
    }

    /// The experiment's name: the manifest's, else the folder's.
    pub fn name(&self) -> String {
        self.manifest.as_ref().and_then(|m| m.name.clone()).unwrap_or_else(|| {
            self.dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.dir.display().to_string())
        })
    }
}

fn read_text(file: &Path) -> Result<String, ReportError> {
    fs::read_to_string(file).map_err(|source| ReportError::Read { file: file.to_path_buf(), source })
}

fn manifest_err(file: &Path, message: String) -> ReportError {
    ReportError::Manifest { file: file.to_path_buf(), message }
}

/// Reads manifest.json. Absent keys are `None`; a key of the wrong type is an error.
pub fn read_manifest(file: &Path) -> Result<Manifest, ReportError> {
    let text = read_text(file)?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| manifest_err(file, format!("not valid JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| manifest_err(file, "not a JSON object".into()))?;
    let key = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let string = |k: &str| -> Result<Option<String>, ReportError> {
        match key(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(manifest_err(file, format!("key `{k}` must be a string"))),
        }
    };
    let uint = |k: &str| -> Result<Option<u64>, ReportError> {
        match key(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| manifest_err(file, format!("key `{k}` must be a whole number >= 0"))),
        }
    };
    let shard = match key("shard") {
        None => None,
        Some(s) => {
            let i = s.get("index").and_then(Value::as_u64);
            let c = s.get("count").and_then(Value::as_u64);
            match (i, c) {
                (Some(i), Some(c)) => Some((i, c)),
                _ => {
                    return Err(manifest_err(
                        file,
                        "key `shard` must be null or {\"index\": I, \"count\": N}".into(),
                    ))
                }
            }
        }
    };
    let configs = match key("configs") {
        None => None,
        Some(Value::Array(a)) => Some(a),
        Some(_) => return Err(manifest_err(file, "key `configs` must be a list of experiments".into())),
    };
    // A sweep records each point's experiment; its worlds are those of the first.
    let worlds_value =
        key("worlds").or_else(|| configs.and_then(|c| c.first()).and_then(|c| c.get("worlds")));
    let worlds = match worlds_value {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|w| w.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| manifest_err(file, "key `worlds` must be a list of strings".into()))?,
        Some(_) => return Err(manifest_err(file, "key `worlds` must be a list of strings".into())),
    };
    let wall_seconds = match key("wall_seconds") {
        None => None,
        Some(v) => {
            Some(v.as_f64().ok_or_else(|| manifest_err(file, "key `wall_seconds` must be a number".into()))?)
        }
    };
    let config = key("config").cloned();
    let description = match config.as_ref().and_then(|c| c.get("description")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        Some(_) => return Err(manifest_err(file, "key `config.description` must be a string".into())),
    };
    Ok(Manifest {
        name: string("name")?,
        description,
        experiment_file: string("experiment_file")?,
        config,
        config_hash: string("config_hash")?,
        seed: uint("seed")?,
        paths: uint("paths")?,
        first_path: uint("first_path")?,
        path_count: uint("path_count")?,
        shard,
        worlds,
        sweep_points: configs.map(Vec::len),
        version: string("version")?,
        git_commit: string("git_commit")?,
        generator: string("generator")?,
        threads: uint("threads")?,
        wall_seconds,
    })
}

fn csv_reader(file: &Path) -> Result<csv::Reader<fs::File>, ReportError> {
    let f = fs::File::open(file).map_err(|source| ReportError::Read { file: file.to_path_buf(), source })?;
    Ok(csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(f))
}

fn csv_err(file: &Path, line: u64, message: impl Into<String>) -> ReportError {
    ReportError::Csv { file: file.to_path_buf(), line, message: message.into() }
}

/// Maps a csv crate error to a [`ReportError::Csv`] with its line.
fn from_csv(file: &Path, e: csv::Error) -> ReportError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => e.to_string(),
    };
    csv_err(file, line, message)
}

/// The header of `r` with the index of every column.
fn header(file: &Path, r: &mut csv::Reader<fs::File>) -> Result<Vec<String>, ReportError> {
    let h = r.headers().map_err(|e| from_csv(file, e))?;
    if h.is_empty() || (h.len() == 1 && h.get(0) == Some("")) {
        return Err(csv_err(file, 1, "empty file: no header"));
    }
    Ok(h.iter().map(str::to_string).collect())
}

fn column(file: &Path, header: &[String], name: &str) -> Result<usize, ReportError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| csv_err(file, 1, format!("no `{name}` column in the header")))
}

fn parse_f64(file: &Path, line: u64, col: &str, s: &str) -> Result<f64, ReportError> {
    s.trim().parse::<f64>().map_err(|_| csv_err(file, line, format!("column `{col}`: {s:?} is not a number")))
}

fn parse_u64(file: &Path, line: u64, col: &str, s: &str) -> Result<u64, ReportError> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| csv_err(file, line, format!("column `{col}`: {s:?} is not a whole number >= 0")))
}

fn record_line(rec: &csv::StringRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

/// Parses the 14 summary columns of `rec`, found at `idx` (one index per [`SUMMARY_COLUMNS`]).
fn summary_row(file: &Path, rec: &csv::StringRecord, idx: &[usize]) -> Result<SummaryRow, ReportError> {
    let line = record_line(rec);
    let field = |k: usize| rec.get(idx[k]).unwrap_or("");
    let num = |k: usize| parse_f64(file, line, SUMMARY_COLUMNS[k], field(k));
    let metric = field(1).trim().to_string();
    if metric.is_empty() {
        return Err(csv_err(file, line, "blank `metric`"));
    }
    let primitive = Side::parse(field(0).trim()).ok_or_else(|| {
        csv_err(file, line, format!("primitive {:?}: allowed \"cdp\", \"pn\", \"diff\"", field(0).trim()))
    })?;
    let stats = Stats {
        n: parse_u64(file, line, "n", field(2))?,
        mean: num(3)?,
        std: num(4)?,
        se: num(5)?,
        ci95_low: num(6)?,
        ci95_high: num(7)?,
        p01: num(8)?,
        p05: num(9)?,
        p50: num(10)?,
        p95: num(11)?,
        p99: num(12)?,
        es95: num(13)?,
    };
    Ok(SummaryRow { primitive, metric, stats })
}

/// Reads summary.csv.
pub fn read_summary(file: &Path) -> Result<Vec<SummaryRow>, ReportError> {
    let mut r = csv_reader(file)?;
    let h = header(file, &mut r)?;
    let idx = SUMMARY_COLUMNS.iter().map(|c| column(file, &h, c)).collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| from_csv(file, e))?;
        rows.push(summary_row(file, &rec, &idx)?);
    }
    Ok(rows)
}

/// Reads paths.csv (through the engine's reader of the format) and keeps the columns the report
/// needs. Rows of a world must come in increasing path order, and the worlds of a paired run must
/// cover the same paths.
pub fn read_paths(file: &Path) -> Result<PathsData, ReportError> {
    let mut r = csv_reader(file)?;
    let h = r.headers().map_err(|e| from_csv(file, e))?.clone();
    if !is_paths_header(&h) {
        return Err(csv_err(
            file,
            1,
            format!("not a paths.csv header: expected `{}`", paths_header().join(",")),
        ));
    }
    let mut worlds: Vec<(WorldKind, WorldPaths)> = Vec::new();
    let mut index: HashMap<WorldKind, usize> = HashMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| from_csv(file, e))?;
        let line = record_line(&rec);
        let row = parse_path_row(&rec).map_err(|m| csv_err(file, line, m))?;
        let (path, prim, m) = (row.path, row.primitive, row.metrics);
        let kind = match Side::parse(prim) {
            Some(Side::World(w)) => w,
            _ => return Err(csv_err(file, line, format!("primitive {prim:?}: allowed \"cdp\", \"pn\""))),
        };
        let k = *index.entry(kind).or_insert_with(|| {
            worlds.push((kind, WorldPaths::default()));
            worlds.len() - 1
        });
        let w = &mut worlds[k].1;
        if let Some(&last) = w.path.last() {
            if path <= last {
                return Err(csv_err(
                    file,
                    line,
                    format!(
                        "path {path} of `{prim}` after path {last}: rows must be in increasing path order"
                    ),
                ));
            }
        }
        if !m.cost_usd.is_finite() {
            return Err(csv_err(file, line, format!("column `cost_usd`: {} is not finite", m.cost_usd)));
        }
        w.path.push(path);
        w.rows.push(m);
    }
    if let [(a, wa), (b, wb), ..] = worlds.as_slice() {
        if wa.path != wb.path {
            return Err(csv_err(
                file,
                0,
                format!(
                    "worlds `{}` and `{}` do not cover the same paths: they cannot be paired",
                    a.label(),
                    b.label()
                ),
            ));
        }
    }
    Ok(PathsData { worlds })
}

/// Reads sweep.csv: the grid's columns, then summary.csv's.
pub fn read_sweep(file: &Path) -> Result<SweepData, ReportError> {
    let mut r = csv_reader(file)?;
    let h = header(file, &mut r)?;
    let first = column(file, &h, "primitive")?;
    if first == 0 {
        return Err(csv_err(file, 1, "no grid column before `primitive`"));
    }
    let grid: Vec<String> = h[..first].to_vec();
    let idx = SUMMARY_COLUMNS.iter().map(|c| column(file, &h, c)).collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| from_csv(file, e))?;
        let point = (0..first).map(|i| rec.get(i).unwrap_or("").trim().to_string()).collect();
        rows.push(SweepRow { point, summary: summary_row(file, &rec, &idx)? });
    }
    Ok(SweepData { grid, rows })
}

/// Reads windows.csv (`path`, `start_utc`, `start_price`, `known_vol`): paths in increasing
/// order, each start a UTC time, each price finite and > 0.
pub fn read_windows(file: &Path) -> Result<Vec<WindowRow>, ReportError> {
    let mut r = csv_reader(file)?;
    let h = header(file, &mut r)?;
    let (ip, it, ix) =
        (column(file, &h, "path")?, column(file, &h, "start_utc")?, column(file, &h, "start_price")?);
    let mut rows: Vec<WindowRow> = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| from_csv(file, e))?;
        let line = record_line(&rec);
        let field = |i: usize| rec.get(i).unwrap_or("").trim();
        let path = parse_u64(file, line, "path", field(ip))?;
        if let Some(last) = rows.last().filter(|w| w.path >= path) {
            return Err(csv_err(
                file,
                line,
                format!("path {path} after path {}: rows must be in increasing path order", last.path),
            ));
        }
        let start_time = headroom_market::process::parse_time(field(it)).ok_or_else(|| {
            csv_err(
                file,
                line,
                format!("column `start_utc`: {:?} is not a time YYYY-MM-DDTHH:MM:SSZ", field(it)),
            )
        })?;
        let start_price = parse_f64(file, line, "start_price", field(ix))?;
        if !(start_price.is_finite() && start_price > 0.0) {
            return Err(csv_err(
                file,
                line,
                format!("column `start_price`: {start_price} is not a price > 0"),
            ));
        }
        rows.push(WindowRow { path, start_time, start_price });
    }
    Ok(rows)
}

/// Counts the data rows of a CSV file (checking that it parses).
fn count_rows(file: &Path) -> Result<u64, ReportError> {
    let mut r = csv_reader(file)?;
    header(file, &mut r)?;
    let mut n = 0;
    let mut rec = csv::StringRecord::new();
    while r.read_record(&mut rec).map_err(|e| from_csv(file, e))? {
        n += 1;
    }
    Ok(n)
}
