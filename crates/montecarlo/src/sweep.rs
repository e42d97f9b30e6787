//! Sweeps: one experiment run at every point of a grid, every point on the same seed (common
//! random numbers across points), so differences between points are not noise between seeds.
//!
//! The grid is the experiment's `[sweep]` table: each key is the dotted path of an experiment key
//! and its value the list of values to take, e.g. `"market.liquidity.depth_eth" = [1e5, 1e6]`.
//! Points are the Cartesian product, the first key varying slowest (keys in file order sorted
//! alphabetically by TOML's table order). Every point is built and validated before any runs.

use crate::columns::{fmt_f64, summary_fields, summary_rows, SummaryRow, SUMMARY_HEADER};
use crate::error::{Error, Result};
use crate::output::{csv_err, csv_writer, write_atomically};
use crate::runner::{Experiment, RunOptions};
use crate::spec::ExperimentSpec;
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
        let exp = Experiment::build(spec, file).map_err(|e| match e {
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
/// per point, primitive and metric) and `out/manifest.json`.
pub fn run_sweep(
    sweep: &Sweep,
    out: &Path,
    threads: Option<usize>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    git_commit: &str,
) -> Result<()> {
    let started = std::time::Instant::now();
    let results = sweep_summaries(sweep, threads, progress, None)?;
    write_sweep(out, sweep, &results, started.elapsed().as_secs_f64(), git_commit)
}

/// Runs every point and returns its summary rows, point by point; a set `cancel` flag stops the
/// sweep with [`Error::Interrupted`].
pub fn sweep_summaries(
    sweep: &Sweep,
    threads: Option<usize>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<Vec<Vec<SummaryRow>>> {
    let mut results = Vec::with_capacity(sweep.points.len());
    for (_, exp) in &sweep.points {
        let r =
            exp.run(&RunOptions { paths: 0..exp.spec.paths(), threads, event_paths: 0, progress, cancel })?;
        results.push(summary_rows(&r.kinds, &r.slices(), exp.se_method()));
    }
    Ok(results)
}

/// Writes the sweep folder `out` (sweep.csv and manifest.json) from every point's summary rows;
/// `wall` is the sweep's wall time, seconds.
pub fn write_sweep(
    out: &Path,
    sweep: &Sweep,
    results: &[Vec<SummaryRow>],
    wall: f64,
    git_commit: &str,
) -> Result<()> {
    write_atomically(out, |dir| {
        let file = dir.join("sweep.csv");
        let mut w = csv_writer(&file)?;
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
        std::fs::write(&mf, serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n")
            .map_err(|e| Error::write(&mf, e))
    })
}
