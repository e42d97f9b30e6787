//! Sweeps: one experiment run at every point of a grid, every point on the same seed (common
//! random numbers across points), so differences between points are not noise between seeds.
//!
//! The grid is the experiment's `[sweep]` table: each key is the dotted path of an experiment key
//! and its value the list of values to take, e.g. `"market.liquidity.depth_eth" = [1e5, 1e6]`.
//! Points are the Cartesian product, the first key varying slowest (keys in file order sorted
//! alphabetically by TOML's table order). Every point is built and validated before any runs.
//!
//! Points pay once for what they share: a process, a cohort or a world whose inputs an earlier
//! point had is taken from it when the points are built (crate::builds), and a world whose
//! inputs an earlier point had is not run again: the point reads that run's rows ([`runs`]).
//! Each point's rows are those of a plain run of that point, byte for byte.

mod runs;

pub use runs::Plan;

use crate::builds::Builds;
use crate::columns::{fmt_f64, summary_fields, SummaryRow, SUMMARY_HEADER};
use crate::error::{Error, Result};
use crate::output::{check_disk, csv_err, csv_writer, write_atomically};
use crate::runner::{Experiment, RunOptions};
use crate::spec::ExperimentSpec;
use crate::spill::check_cancel;
use crate::staging::Disk;
use crate::target::{check_folder, OutputKind};
use serde::Deserialize;
use std::path::Path;

/// The most points a sweep may have.
pub const MAX_POINTS: usize = 10_000;

/// A grid and its experiments, ready to run.
#[derive(Debug)]
pub struct Sweep {
    /// The grid's keys (dotted paths), in column order.
    pub keys: Vec<String>,
    /// One experiment per point, with the values it takes.
    pub points: Vec<(Vec<toml::Value>, Experiment)>,
}

fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> std::result::Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        let entry = t.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry.as_table_mut().ok_or_else(|| format!("`{p}` is not a table"))?;
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Reads the grid of `file` and builds every point's experiment; `paths` and `seed` override
/// the file's.
pub fn load_sweep(file: &Path, paths: Option<u64>, seed: Option<u64>) -> Result<Sweep> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::read(file, e))?;
    load_sweep_text(&text, file, paths, seed)
}

/// [`load_sweep`] of an experiment's text; `file` names it in errors and resolves relative paths.
pub fn load_sweep_text(text: &str, file: &Path, paths: Option<u64>, seed: Option<u64>) -> Result<Sweep> {
    let parse_err = |message: String| Error::Parse { file: file.to_path_buf(), message };
    let mut base: toml::Table = text.parse().map_err(|e: toml::de::Error| parse_err(e.to_string()))?;
    // The whole file must be a valid experiment first (unknown keys, missing fields).
    ExperimentSpec::parse(text, file)?;
    let invalid = |p: String| Error::Invalid { file: file.to_path_buf(), problems: vec![p] };
    let grid = match base.remove("sweep") {
        Some(toml::Value::Table(t)) if !t.is_empty() => t,
        _ => {
            return Err(invalid(
                "sweep: missing or empty [sweep] table: give at least one key = [values]".into(),
            ))
        }
    };
    let mut keys = Vec::new();
    let mut axes = Vec::new();
    for (k, v) in grid {
        match v {
            toml::Value::Array(a) if !a.is_empty() => {
                keys.push(k);
                axes.push(a);
            }
            _ => return Err(invalid(format!("sweep.\"{k}\": must be a non-empty list of values"))),
        }
    }
    let total = axes.iter().map(Vec::len).try_fold(1usize, |acc, n| acc.checked_mul(n)).unwrap_or(usize::MAX);
    if total > MAX_POINTS {
        return Err(invalid(format!("sweep: {total} points: at most {MAX_POINTS}")));
    }
    let mut points = Vec::with_capacity(total);
    let mut builds = Builds::default();
    for idx in 0..total {
        let mut rest = idx;
        let mut values = vec![toml::Value::Boolean(false); keys.len()];
        for a in (0..axes.len()).rev() {
            values[a] = axes[a][rest % axes[a].len()].clone();
            rest /= axes[a].len();
        }
        let mut t = base.clone();
        for (k, v) in keys.iter().zip(&values) {
            set_path(&mut t, k, v.clone()).map_err(|m| invalid(format!("sweep.\"{k}\": {m}")))?;
        }
        let where_ =
            || keys.iter().zip(&values).map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
        let mut spec = ExperimentSpec::deserialize(toml::Value::Table(t))
            .map_err(|e| parse_err(format!("at sweep point {}: {e}", where_())))?;
        if let Some(p) = paths {
            spec.paths = Some(p);
        }
        if let Some(s) = seed {
            spec.seed = s;
        }
        let exp = Experiment::build_shared(spec, file, &mut builds).map_err(|e| match e {
            Error::Invalid { file, problems } => Error::Invalid {
                file,
                problems: problems
                    .into_iter()
                    .map(|p| format!("{p} (at sweep point {})", where_()))
                    .collect(),
            },
            other => other,
        })?;
        points.push((values, exp));
    }
    Ok(Sweep { keys, points })
}

pub(crate) fn value_text(v: &toml::Value, fb: &mut ryu::Buffer) -> String {
    match v {
        toml::Value::Float(f) => fmt_f64(fb, *f).to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::String(s) => s.clone(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Runs every point and writes `out/sweep.csv` (the grid's columns, then summary.csv's, one row
/// per point, primitive and metric) and `out/manifest.json`. Each world run's rows are spilled
/// into the sweep's staging folder and removed once the last point that reads them is
/// summarised, so memory does not grow with the number of paths; `out` follows the rules of
/// [`crate::target`], and nothing is replaced unless every point ran.
pub fn run_sweep(
    sweep: &Sweep,
    out: &Path,
    threads: Option<usize>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    git_commit: &str,
) -> Result<()> {
    run_sweep_with(
        sweep,
        out,
        &RunOptions { threads, progress, ..Default::default() },
        git_commit,
        &Disk::real(),
    )
}

/// [`run_sweep`] with the run's options (threads, progress, cancellation; the paths are each
/// point's) and the disk to write to.
pub fn run_sweep_with(
    sweep: &Sweep,
    out: &Path,
    run: &RunOptions,
    git_commit: &str,
    disk: &Disk,
) -> Result<()> {
    check_folder(out, OutputKind::Sweep)?;
    let plan = Plan::new(sweep);
    check_disk(out, plan.peak_world_paths(), 1, false)?;
    let started = std::time::Instant::now();
    write_atomically(out, OutputKind::Sweep, |dir| {
        let rows_dir = dir.join(".rows");
        std::fs::create_dir(&rows_dir).map_err(|e| Error::write(&rows_dir, e))?;
        let mut results = Vec::with_capacity(sweep.points.len());
        runs::run_points(sweep, &plan, run, &rows_dir, disk, |rows| {
            results.push(rows);
            Ok(())
        })?;
        std::fs::remove_dir_all(&rows_dir).map_err(|e| Error::write(&rows_dir, e))?;
        write_sweep_files(dir, sweep, &results, started.elapsed().as_secs_f64(), git_commit, disk)?;
        check_cancel(run.cancel)
    })
}

/// Runs every point and returns its summary rows, point by point, without writing a sweep
/// folder (the runs' rows spilled to a temporary folder); `run` gives the threads, progress
/// and cancellation (a set flag stops the sweep with [`Error::Interrupted`]).
pub fn sweep_summaries(sweep: &Sweep, run: &RunOptions) -> Result<Vec<Vec<SummaryRow>>> {
    let temp = tempfile::Builder::new()
        .prefix(".headroom-rows-")
        .tempdir()
        .map_err(|e| Error::write(std::env::temp_dir(), e))?;
    let mut results = Vec::with_capacity(sweep.points.len());
    runs::run_points(sweep, &Plan::new(sweep), run, temp.path(), &Disk::real(), |rows| {
        results.push(rows);
        Ok(())
    })?;
    Ok(results)
}

/// Writes the sweep folder `out` (sweep.csv and manifest.json) from every point's summary rows,
/// under the rules of [`crate::target`]; `wall` is the sweep's wall time, seconds.
pub fn write_sweep(
    out: &Path,
    sweep: &Sweep,
    results: &[Vec<SummaryRow>],
    wall: f64,
    git_commit: &str,
) -> Result<()> {
    check_folder(out, OutputKind::Sweep)?;
    let disk = Disk::real();
    write_atomically(out, OutputKind::Sweep, |dir| {
        write_sweep_files(dir, sweep, results, wall, git_commit, &disk)
    })
}

/// sweep.csv and manifest.json into the folder `dir`.
fn write_sweep_files(
    dir: &Path,
    sweep: &Sweep,
    results: &[Vec<SummaryRow>],
    wall: f64,
    git_commit: &str,
    disk: &Disk,
) -> Result<()> {
    let file = dir.join("sweep.csv");
    let mut w = csv_writer(&file, disk)?;
    let mut header: Vec<&str> = sweep.keys.iter().map(String::as_str).collect();
    header.extend(SUMMARY_HEADER);
    w.write_record(&header).map_err(|e| csv_err(&file, e))?;
    let mut fb = ryu::Buffer::new();
    for ((values, _), rows) in sweep.points.iter().zip(results) {
        let grid: Vec<String> = values.iter().map(|v| value_text(v, &mut fb)).collect();
        for r in rows {
            let mut row = grid.clone();
            row.extend(summary_fields(r));
            w.write_record(&row).map_err(|e| csv_err(&file, e))?;
        }
    }
    w.flush().map_err(|e| Error::write(&file, e))?;
    drop(w);
    let first = &sweep.points[0].1;
    let manifest = serde_json::json!({
        "name": first.spec.name,
        "experiment_file": first.file.display().to_string(),
        "sweep_keys": sweep.keys,
        "points": sweep.points.len(),
        "seed": first.spec.seed,
        "paths": first.spec.paths(),
        "configs": sweep.points.iter().map(|(_, e)| serde_json::to_value(&e.spec).unwrap_or_default()).collect::<Vec<_>>(),
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": git_commit,
        "generator": headroom_market::rng::GENERATOR_NAME,
        "wall_seconds": wall,
        "files": ["sweep.csv", "manifest.json"],
    });
    let mf = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    disk.write_file(&mf, text.as_bytes()).map_err(|e| Error::write(&mf, e))?;
    Ok(())
}
