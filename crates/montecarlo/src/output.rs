//! Writing a result folder: paths.csv, summary.csv, events.csv, windows.csv and manifest.json, into a
//! hidden staging folder renamed into place, so a failed or interrupted run leaves nothing
//! half-written and never touches an earlier result; and the checks that come first (the
//! `--out` rules of [`crate::target`], room on the disk).
//!
//! A run streams: each block of rows goes to paths.csv and to the spilled columns
//! ([`crate::spill::RowStore`]) as it is finished; the summary is then computed from the
//! columns, exactly and in bounded memory.

use crate::columns::{all_metrics, fmt_f64, format_path_rows, paths_header, write_summary};
use crate::error::{Error, Result};
use crate::runner::{Events, Experiment, RunOptions, RunResult, BLOCK};
use crate::spec::WorldKind;
use crate::spill::{check_cancel, RowSink, RowStore, VALUE_BYTES};
use crate::staging::{free_bytes, human_bytes, parent_of, Disk, DiskFile, Staging};
use crate::stats::overlap::SeMethod;
use crate::target::{check_folder, OutputKind};
use headroom_market::rng::GENERATOR_NAME;
use headroom_market::{Party, PathMetrics, Window};
use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Paths formatted per parallel part when writing paths.csv.
const FORMAT_PART: usize = 1024;

/// A shard of a run: block `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The global path indices of this shard of `paths`: `floor(I P / N) .. floor((I + 1) P / N)`.
    pub fn range(&self, paths: u64) -> std::ops::Range<u64> {
        let p = u128::from(paths);
        let lo = p * u128::from(self.index) / u128::from(self.count);
        let hi = p * u128::from(self.index + 1) / u128::from(self.count);
        lo as u64..hi as u64
    }
}

/// What to write, besides the result.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions<'a> {
    /// Write paths.csv (a shard always keeps its per-path values).
    pub paths_csv: bool,
    /// Write events.csv.
    pub events_csv: bool,
    /// The shard, if any.
    pub shard: Option<Shard>,
    /// Worker threads used (recorded in the manifest).
    pub threads: usize,
    /// Wall time recorded in the manifest, seconds (None: the time the writing took, the run
    /// included).
    pub wall_seconds: Option<f64>,
    /// The git commit the binary was built from ("unknown" outside a checkout).
    pub git_commit: String,
    /// Where the files go (tests use a disk that fills up).
    pub disk: Disk,
    /// Once set, the writing stops with `Error::Interrupted` and nothing is replaced.
    pub cancel: Option<&'a AtomicBool>,
}

/// What the manifest says of the experiment behind a result.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// The experiment's name.
    pub name: String,
    /// The experiment file as given.
    pub experiment_file: String,
    /// The resolved experiment as JSON.
    pub config: serde_json::Value,
    /// SHA-256 (hex) of the canonical JSON of `config`.
    pub config_hash: String,
    /// Master seed.
    pub seed: u64,
    /// Paths of the whole (unsharded) run.
    pub paths: u64,
    /// What the windows of a `windows` process cover (the manifest's `windows`), if any.
    pub windows: Option<serde_json::Value>,
    /// How summary.csv's standard errors are estimated (the manifest's `summary_se`).
    pub se: SeMethod,
}

/// The experiment as JSON with every default that depends on a preset or on the experiment
/// filled in: the `[cdp]` keys of the chosen protocol (keys that do not apply to it are left
/// out), and the P/N split's maturity and pricing volatility. Reading it back gives the same
/// experiment.
pub fn resolved_config(exp: &Experiment) -> serde_json::Value {
    use serde_json::Value;
    let mut config = serde_json::to_value(&exp.spec).unwrap_or(Value::Null);
    if let (Some(cdp), Some(Value::Object(obj))) = (&exp.spec.cdp, config.get_mut("cdp")) {
        if let Ok(params) = cdp.resolve() {
            for (key, text) in params.entries() {
                if obj.get(key).is_none_or(Value::is_null) {
                    let v = match (text.parse::<u64>(), text.parse::<f64>(), text.parse::<bool>()) {
                        (Ok(u), _, _) => Value::from(u),
                        (_, Ok(f), _) => Value::from(f),
                        (_, _, Ok(b)) => Value::from(b),
                        _ => continue,
                    };
                    obj.insert(key.to_string(), v);
                }
            }
            // The preset's oracle when none is given.
            if obj.get("oracle").is_none_or(Value::is_null) {
                obj.insert("oracle".into(), serde_json::to_value(cdp.oracle_model()).unwrap_or(Value::Null));
            }
        }
        obj.retain(|_, v| !v.is_null());
        // Through the typed spec and back, so numbers take their fields' types (1000 -> 1000.0).
        if let Ok(typed) = serde_json::from_value::<headroom_cdp::CdpSpec>(Value::Object(obj.clone())) {
            if let Ok(Value::Object(o)) = serde_json::to_value(typed) {
                *obj = o;
                obj.retain(|_, v| !v.is_null());
            }
        }
    }
    if let (Some(pn), Some(Value::Object(obj))) = (&exp.spec.pn, config.get_mut("pn")) {
        if pn.maturity_days.is_none() {
            obj.insert("maturity_days".into(), Value::from(exp.spec.horizon_days));
        }
        // Under `windows` each window prices at its own known volatility (paths.csv's pricing_vol).
        if pn.pricing_vol.is_none() && exp.windows().is_none() {
            obj.insert("pricing_vol".into(), Value::from(exp.env.process_vol));
        }
        obj.retain(|_, v| !v.is_null());
    }
    config
}

impl RunInfo {
    /// The information of a built experiment.
    pub fn of(exp: &Experiment) -> Self {
        let config = resolved_config(exp);
        let text = serde_json::to_string(&config).unwrap_or_default();
        let hash = Sha256::digest(text.as_bytes());
        RunInfo {
            name: exp.spec.name.clone(),
            experiment_file: exp.file.display().to_string(),
            config,
            config_hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
            seed: exp.spec.seed,
            paths: exp.spec.paths(),
            windows: exp.windows().map(|w| {
                json!({
                    "count": w.count,
                    "skipped_missing_rows": w.skipped,
                    "first_start": w.first_start,
                    "last_end": w.last_end,
                    "stride_steps": w.stride_steps,
                    "lookback_steps": w.lookback_steps,
                })
            }),
            se: exp.se_method(),
        }
    }
}

/// Checks that `out` may receive a result of `paths` paths of `worlds` worlds: the path rules
/// of [`crate::target`], and room on its disk for the rows and paths.csv ([`disk_needed`]).
pub fn check_result_target(out: &Path, paths: u64, worlds: usize, paths_csv: bool) -> Result<()> {
    check_folder(out, OutputKind::Result)?;
    check_disk(out, paths, worlds, paths_csv)
}

/// Bytes a result of `paths` paths of `worlds` worlds needs on disk while it is written:
/// `(rows, paths_csv)`, the rows spilled for the summary (8 bytes a value, exactly) and
/// paths.csv (estimated at 10 bytes a field; B1, B2 and the quickstart write 8.5 to 9.6).
pub fn disk_needed(paths: u64, worlds: usize, paths_csv: bool) -> (u64, u64) {
    let values = u128::from(paths) * worlds as u128 * all_metrics().count() as u128;
    let rows = values * u128::from(VALUE_BYTES);
    let fields = u128::from(paths) * worlds as u128 * (2 + all_metrics().count()) as u128;
    let csv = if paths_csv { fields * 10 } else { 0 };
    let clamp = |x: u128| u64::try_from(x).unwrap_or(u64::MAX);
    (clamp(rows), clamp(csv))
}

/// Refuses a run whose rows and paths.csv would not fit on the disk that holds `out`.
pub fn check_disk(out: &Path, paths: u64, worlds: usize, paths_csv: bool) -> Result<()> {
    let (rows, csv) = disk_needed(paths, worlds, paths_csv);
    let need = rows.saturating_add(csv);
    let Some(free) = free_bytes(&parent_of(out)) else { return Ok(()) };
    if need <= free {
        return Ok(());
    }
    let csv_part =
        if paths_csv { format!(" and paths.csv about {}", human_bytes(csv)) } else { String::new() };
    Err(Error::Output {
        out: out.to_path_buf(),
        message: format!(
            "{paths} paths need about {} on disk (the rows for the summary {}{csv_part}), but only {} is free there: \
             run fewer paths, skip paths.csv (--no-paths), or split the run into shards (--shard I/N) on other disks",
            human_bytes(need),
            human_bytes(rows),
            human_bytes(free),
        ),
    })
}

/// Writes the result folder `out` for a run held in memory, replacing an earlier result only
/// once every file is complete.
pub fn write_result(out: &Path, info: &RunInfo, result: &RunResult, opts: &WriteOptions) -> Result<()> {
    let n = result.metrics.first().map_or(0, |v| v.len());
    let span = Span {
        kinds: &result.kinds,
        first_path: result.first_path,
        path_count: n as u64,
        windows: &result.windows,
    };
    write_result_with(out, info, span, opts, |sink| {
        let mut start = 0;
        while start < n {
            let end = (start + BLOCK).min(n);
            let rows: Vec<&[PathMetrics]> = result.metrics.iter().map(|m| &m[start..end]).collect();
            sink.block(result.first_path + start as u64, &rows)?;
            start = end;
        }
        Ok(result.events.clone())
    })
}

/// Runs `run.paths` of `exp` straight into the result folder `out`: rows go to paths.csv and to
/// the spilled columns block by block, so memory does not grow with the number of paths.
pub fn write_run(out: &Path, exp: &Experiment, run: &RunOptions, opts: &WriteOptions) -> Result<()> {
    let n = run.paths.end.saturating_sub(run.paths.start);
    let windows: Vec<Window> = run.paths.clone().map_while(|p| exp.window(p)).collect();
    let kinds = exp.kinds();
    let span = Span { kinds: &kinds, first_path: run.paths.start, path_count: n, windows: &windows };
    write_result_with(out, &RunInfo::of(exp), span, opts, |sink| exp.run_blocks(run, sink))
}

/// The paths a result folder holds.
#[derive(Clone, Copy, Debug)]
pub struct Span<'a> {
    /// Its worlds, in output order.
    pub kinds: &'a [WorldKind],
    /// Its first global path index.
    pub first_path: u64,
    /// Its number of paths.
    pub path_count: u64,
    /// Under a `windows` process, the window of each path (windows.csv); empty otherwise.
    pub windows: &'a [Window],
}

/// Writes the result folder `out` of the paths of `span`, whose rows `feed` gives to the sink in
/// path order (returning the events): checks the target and the disk, writes into a staging
/// folder, and replaces an earlier result only once every file is complete. On any error or
/// interruption nothing is left and nothing is replaced.
pub fn write_result_with(
    out: &Path,
    info: &RunInfo,
    span: Span<'_>,
    opts: &WriteOptions,
    feed: impl FnOnce(&mut dyn RowSink) -> Result<Events>,
) -> Result<()> {
    let Span { kinds, first_path, path_count, windows } = span;
    let paths_csv = opts.paths_csv || opts.shard.is_some();
    check_result_target(out, path_count, kinds.len(), paths_csv)?;
    let started = Instant::now();
    let staging = Staging::create(out)?;
    let dir = staging.path();
    let rows_dir = dir.join(".rows");
    std::fs::create_dir(&rows_dir).map_err(|e| Error::write(&rows_dir, e))?;
    let mut sink = ResultSink {
        cancel: opts.cancel,
        paths: if paths_csv { Some(PathsCsv::create(&dir.join("paths.csv"), &opts.disk)?) } else { None },
        store: RowStore::create(&rows_dir, kinds, first_path, &opts.disk)?,
    };
    let events = feed(&mut sink)?;
    if let Some(p) = sink.paths.take() {
        p.finish()?;
    }
    let store = sink.store;
    if store.len() != path_count {
        return Err(Error::Merge(format!("{} paths written where {path_count} were expected", store.len())));
    }
    let rows = store.summary(info.se, opts.cancel)?;
    let file = dir.join("summary.csv");
    let mut w = csv_writer(&file, &opts.disk)?;
    write_summary(&mut w, &rows).map_err(|e| csv_err(&file, e))?;
    w.flush().map_err(|e| Error::write(&file, e))?;
    drop(w);
    if opts.events_csv {
        write_events_csv(&dir.join("events.csv"), &events, &opts.disk)?;
    }
    if !windows.is_empty() {
        crate::windows::write_windows_csv(&dir.join("windows.csv"), first_path, windows, &opts.disk)?;
    }
    drop(store);
    std::fs::remove_dir_all(&rows_dir).map_err(|e| Error::write(&rows_dir, e))?;
    let wall = opts.wall_seconds.unwrap_or_else(|| started.elapsed().as_secs_f64());
    let manifest = manifest(info, kinds, first_path, path_count, opts, wall, !windows.is_empty());
    let file = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    opts.disk.write_file(&file, text.as_bytes()).map_err(|e| Error::write(&file, e))?;
    check_cancel(opts.cancel)?;
    staging.publish()
}

/// Where a result's rows go: paths.csv (if written) and the spilled columns.
struct ResultSink<'a> {
    cancel: Option<&'a AtomicBool>,
    paths: Option<PathsCsv>,
    store: RowStore,
}

impl RowSink for ResultSink<'_> {
    fn block(&mut self, first: u64, rows: &[&[PathMetrics]]) -> Result<()> {
        // A merge feeds its rows without the runner's checks.
        check_cancel(self.cancel)?;
        let kinds = self.store.kinds().to_vec();
        let (csv, spilled) = rayon::join(
            || self.paths.as_mut().map_or(Ok(()), |p| p.block(first, &kinds, rows)),
            || self.store.block(first, rows),
        );
        csv?;
        spilled
    }
}

/// paths.csv, written a block of rows at a time.
struct PathsCsv {
    file: PathBuf,
    w: BufWriter<DiskFile>,
}

impl PathsCsv {
    fn create(file: &Path, disk: &Disk) -> Result<Self> {
        let mut w = BufWriter::with_capacity(1 << 20, disk.create(file).map_err(|e| Error::write(file, e))?);
        let mut header = csv::Writer::from_writer(Vec::new());
        header.write_record(paths_header()).map_err(|e| csv_err(file, e))?;
        w.write_all(&header.into_inner().unwrap_or_default()).map_err(|e| Error::write(file, e))?;
        Ok(PathsCsv { file: file.to_path_buf(), w })
    }

    /// Appends the rows of paths `first..`, formatted in parallel parts, written in path order.
    fn block(&mut self, first: u64, kinds: &[WorldKind], rows: &[&[PathMetrics]]) -> Result<()> {
        let n = rows.first().map_or(0, |v| v.len());
        let parts: Vec<Vec<u8>> = (0..n)
            .into_par_iter()
            .step_by(FORMAT_PART)
            .map(|lo| {
                let hi = (lo + FORMAT_PART).min(n);
                // Every field is a number or a fixed label: formatted straight into bytes.
                let mut part = Vec::with_capacity((hi - lo) * kinds.len() * 320);
                let sub: Vec<_> = rows.iter().map(|s| &s[lo..hi]).collect();
                format_path_rows(&mut part, first + lo as u64, kinds, &sub);
                part
            })
            .collect();
        for p in parts {
            self.w.write_all(&p).map_err(|e| Error::write(&self.file, e))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.w.flush().map_err(|e| Error::write(&self.file, e))
    }
}

/// Checks `out` (folder rules of `kind`), creates a staging folder next to it, lets `fill`
/// write into it, and renames it to `out` (replacing an earlier output) only if `fill`
/// succeeded; on error nothing is left behind.
pub fn write_atomically(out: &Path, kind: OutputKind, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_folder(out, kind)?;
    let staging = Staging::create(out)?;
    fill(staging.path())?;
    staging.publish()
}

/// A buffered CSV writer creating `file`.
pub fn csv_writer(file: &Path, disk: &Disk) -> Result<csv::Writer<DiskFile>> {
    let f = disk.create(file).map_err(|e| Error::write(file, e))?;
    Ok(csv::WriterBuilder::new().buffer_capacity(1 << 20).from_writer(f))
}

/// A CSV error while writing `file` (an I/O error keeps its kind, so a full disk says so).
pub fn csv_err(file: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::write(file, io),
        other => Error::write(file, std::io::Error::other(format!("{other:?}"))),
    }
}

fn write_events_csv(file: &Path, events: &Events, disk: &Disk) -> Result<()> {
    let mut w = csv_writer(file, disk)?;
    let mut fb = ryu::Buffer::new();
    let header = [
        "path",
        "primitive",
        "step",
        "round",
        "position",
        "kind",
        "eth",
        "usd",
        "fee_usd",
        "oracle_price",
        "market_price",
        "wrongful",
        "borrower_usd",
        "lender_usd",
        "protocol_usd",
        "takers_usd",
        "market_usd",
        "validators_usd",
    ];
    w.write_record(header).map_err(|e| csv_err(file, e))?;
    for (path, kind, e) in events {
        let mut rec: Vec<String> = vec![
            path.to_string(),
            kind.label().to_string(),
            e.step.to_string(),
            e.round.to_string(),
            e.position.to_string(),
            e.kind.label().to_string(),
        ];
        for v in [e.eth, e.usd, e.fee_usd, e.oracle_price, e.market_price] {
            rec.push(fmt_f64(&mut fb, v).to_string());
        }
        rec.push(if e.wrongful { "true" } else { "false" }.to_string());
        for p in Party::ALL {
            rec.push(fmt_f64(&mut fb, e.ledger.get(p)).to_string());
        }
        w.write_record(&rec).map_err(|e| csv_err(file, e))?;
    }
    w.flush().map_err(|e| Error::write(file, e))
}

/// The manifest.json of an in-memory `result` (what [`write_result`] writes for it).
pub fn manifest_of(info: &RunInfo, result: &RunResult, opts: &WriteOptions) -> serde_json::Value {
    let n = result.metrics.first().map_or(0, |v| v.len()) as u64;
    let wall = opts.wall_seconds.unwrap_or(0.0);
    manifest(info, &result.kinds, result.first_path, n, opts, wall, !result.windows.is_empty())
}

fn manifest(
    info: &RunInfo,
    kinds: &[WorldKind],
    first_path: u64,
    n: u64,
    opts: &WriteOptions,
    wall_seconds: f64,
    with_windows: bool,
) -> serde_json::Value {
    let mut m = json!({
        "name": info.name,
        "experiment_file": info.experiment_file,
        "config": info.config,
        "config_hash": info.config_hash,
        "seed": info.seed,
        "paths": info.paths,
        "first_path": first_path,
        "path_count": n,
        "shard": opts.shard.map(|s| json!({"index": s.index, "count": s.count})),
        "worlds": kinds.iter().map(|k| k.label()).collect::<Vec<_>>(),
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": opts.git_commit,
        "generator": GENERATOR_NAME,
        "threads": opts.threads,
        "wall_seconds": wall_seconds,
        "files": files(opts, with_windows),
        "summary_se": info.se.to_json(),
    });
    if let (Some(w), Some(obj)) = (&info.windows, m.as_object_mut()) {
        obj.insert("windows".into(), w.clone());
    }
    m
}

fn files(opts: &WriteOptions, with_windows: bool) -> Vec<&'static str> {
    let mut f = vec!["summary.csv", "manifest.json"];
    if opts.paths_csv || opts.shard.is_some() {
        f.insert(0, "paths.csv");
    }
    if opts.events_csv {
        f.push("events.csv");
    }
    if with_windows {
        f.push("windows.csv");
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_paths() {
        for (paths, count) in [(10u64, 3u64), (7, 7), (5, 8), (1_000_003, 16)] {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.range(paths);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, paths);
        }
        assert_eq!(Shard { index: 1, count: 3 }.range(10), 3..6);
    }
}
