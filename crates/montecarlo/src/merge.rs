//! Merging shard outputs into one result, byte-identical to the unsharded run.
//!
//! Each shard folder holds its manifest.json (experiment hash, seed, shard I of N) and its
//! paths.csv. The merge checks that the shards belong to one run and cover it exactly once, reads
//! the per-path values back (floats are written in shortest round-trip form, so they read back
//! exactly), and writes the result as a run would: the summary is recomputed from every path.

use crate::columns::{is_paths_header, parse_path_row};
use crate::error::{Error, Result};
use crate::output::{write_result, RunInfo, Shard, WriteOptions};
use crate::runner::RunResult;
use crate::spec::WorldKind;
use crate::stats::overlap::SeMethod;
use headroom_market::{Event, EventKind, Ledger, PathMetrics};
use std::path::{Path, PathBuf};

/// What a result folder's manifest.json says.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The experiment behind it.
    pub info: RunInfo,
    /// The shard, if it is one.
    pub shard: Option<Shard>,
    /// First global path.
    pub first_path: u64,
    /// Paths in the folder.
    pub path_count: u64,
    /// Worlds, in output order.
    pub kinds: Vec<WorldKind>,
    /// Files written.
    pub files: Vec<String>,
    /// Wall time, seconds.
    pub wall_seconds: f64,
}

fn bad(file: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Merge(format!("{}: {msg}", file.display()))
}

/// Reads `dir/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let file = dir.join("manifest.json");
    let text = std::fs::read_to_string(&file).map_err(|e| Error::read(&file, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&file, e))?;
    let u = |k: &str| {
        v.get(k).and_then(|x| x.as_u64()).ok_or_else(|| bad(&file, format!("no whole number `{k}`")))
    };
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(&file, format!("no text `{k}`")))
    };
    let shard = match v.get("shard") {
        Some(serde_json::Value::Object(o)) => {
            let g = |k: &str| {
                o.get(k).and_then(|x| x.as_u64()).ok_or_else(|| bad(&file, format!("shard has no `{k}`")))
            };
            Some(Shard { index: g("index")?, count: g("count")? })
        }
        _ => None,
    };
    let kinds = v
        .get("worlds")
        .and_then(|w| w.as_array())
        .ok_or_else(|| bad(&file, "no `worlds`"))?
        .iter()
        .map(|w| match w.as_str() {
            Some("cdp") => Ok(WorldKind::Cdp),
            Some("pn") => Ok(WorldKind::Pn),
            other => Err(bad(&file, format!("unknown world {other:?}: allowed cdp, pn"))),
        })
        .collect::<Result<Vec<_>>>()?;
    let files = v
        .get("files")
        .and_then(|f| f.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Ok(Manifest {
        info: RunInfo {
            name: s("name")?,
            experiment_file: s("experiment_file")?,
            config: v.get("config").cloned().unwrap_or(serde_json::Value::Null),
            config_hash: s("config_hash")?,
            seed: u("seed")?,
            paths: u("paths")?,
            windows: v.get("windows").cloned(),
            se: SeMethod::from_json(v.get("summary_se")).map_err(|e| bad(&file, e))?,
        },
        shard,
        first_path: u("first_path")?,
        path_count: u("path_count")?,
        kinds,
        files,
        wall_seconds: v.get("wall_seconds").and_then(|x| x.as_f64()).unwrap_or(0.0),
    })
}

/// Reads a paths.csv written for `m` back into per-path metrics.
pub fn read_paths_csv(file: &Path, m: &Manifest) -> Result<RunResult> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(file).map_err(|e| bad(file, e))?;
    let header = rdr.headers().map_err(|e| bad(file, e))?.clone();
    if !is_paths_header(&header) {
        return Err(bad(file, "line 1: not a paths.csv header"));
    }
    let n = m.path_count as usize;
    let mut metrics: Vec<Vec<PathMetrics>> = m.kinds.iter().map(|_| Vec::with_capacity(n)).collect();
    let mut rec = csv::StringRecord::new();
    let mut line = 1u64;
    for i in 0..n {
        for (k, kind) in m.kinds.iter().enumerate() {
            line += 1;
            let here = |msg: String| bad(file, format!("line {line}: {msg}"));
            if !rdr.read_record(&mut rec).map_err(|e| here(e.to_string()))? {
                return Err(here(format!("ends early: expected {n} paths")));
            }
            let row = parse_path_row(&rec).map_err(here)?;
            let path = m.first_path + i as u64;
            if row.path != path || row.primitive != kind.label() {
                return Err(here(format!("expected path {path}, primitive {}", kind.label())));
            }
            metrics[k].push(row.metrics);
        }
    }
    if rdr.read_record(&mut rec).map_err(|e| bad(file, e))? {
        return Err(bad(file, format!("line {}: more rows than the manifest's {n} paths", line + 1)));
    }
    Ok(RunResult { first_path: m.first_path, kinds: m.kinds.clone(), metrics, ..Default::default() })
}

fn read_events_csv(file: &Path) -> Result<Vec<(u64, WorldKind, Event)>> {
    let mut rdr = csv::Reader::from_path(file).map_err(|e| bad(file, e))?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let here = |msg: String| bad(file, format!("line {line}: {msg}"));
        let rec = rec.map_err(|e| here(e.to_string()))?;
        let f = |j: usize| rec.get(j).unwrap_or("");
        let num = |j: usize| f(j).parse::<f64>().map_err(|_| here(format!("column {}: not a number", j + 1)));
        let int =
            |j: usize| f(j).parse::<u64>().map_err(|_| here(format!("column {}: not a whole number", j + 1)));
        let kind = match f(1) {
            "cdp" => WorldKind::Cdp,
            "pn" => WorldKind::Pn,
            o => return Err(here(format!("primitive {o:?}: allowed cdp, pn"))),
        };
        let ek = match f(5) {
            "liquidation" => EventKind::Liquidation,
            "topup" => EventKind::TopUp,
            "roll" => EventKind::Roll,
            "auction" => EventKind::Auction,
            "settlement" => EventKind::Settlement,
            "hedge" => EventKind::Hedge,
            o => return Err(here(format!("kind {o:?} unknown"))),
        };
        out.push((
            int(0)?,
            kind,
            Event {
                step: int(2)? as u32,
                round: int(3)? as u32,
                position: int(4)?,
                kind: ek,
                eth: num(6)?,
                usd: num(7)?,
                fee_usd: num(8)?,
                oracle_price: num(9)?,
                market_price: num(10)?,
                wrongful: f(11) == "true",
                ledger: Ledger {
                    borrower_usd: num(12)?,
                    lender_usd: num(13)?,
                    protocol_usd: num(14)?,
                    takers_usd: num(15)?,
                    market_usd: num(16)?,
                    validators_usd: num(17)?,
                },
            },
        ));
    }
    Ok(out)
}

/// The first 12 characters of a hash, for messages (a hand-edited manifest may hold fewer).
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Merges shard folders `dirs` (any order) into `out`.
pub fn merge(dirs: &[PathBuf], out: &Path, git_commit: &str) -> Result<RunInfo> {
    if dirs.is_empty() {
        return Err(Error::Merge("no shard folders given".into()));
    }
    let resolve = |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p));
    let out_abs = resolve(out).map_err(|e| Error::read(out, e))?;
    let mut shards = Vec::new();
    for d in dirs {
        let d_abs = resolve(d).map_err(|e| Error::read(d, e))?;
        if d_abs.starts_with(&out_abs) {
            return Err(Error::Merge(format!(
                "--out {} holds the shard {}: the merge would replace its own input; choose another folder",
                out.display(),
                d.display()
            )));
        }
        let m = read_manifest(d)?;
        let Some(s) = m.shard else {
            return Err(bad(&d.join("manifest.json"), "not a shard (run with --shard I/N)"));
        };
        shards.push((s, m, d.clone()));
    }
    let (s0, m0, d0) = shards[0].clone();
    for (s, m, d) in &shards[1..] {
        let what = if m.info.seed != m0.info.seed {
            Some(format!("seed {} vs {}", m.info.seed, m0.info.seed))
        } else if m.info.config_hash != m0.info.config_hash {
            Some(format!(
                "experiment {} (config hash {}) vs {} ({})",
                m.info.name,
                short(&m.info.config_hash),
                m0.info.name,
                short(&m0.info.config_hash)
            ))
        } else if s.count != s0.count {
            Some(format!("shard count {} vs {}", s.count, s0.count))
        } else {
            None
        };
        if let Some(w) = what {
            return Err(Error::Merge(format!(
                "{} and {} are not shards of one run: {w}",
                d.display(),
                d0.display()
            )));
        }
    }
    shards.sort_by_key(|(s, _, _)| s.index);
    for w in shards.windows(2) {
        if w[0].0.index == w[1].0.index {
            return Err(Error::Merge(format!(
                "shard {}/{} given twice: {} and {}",
                w[0].0.index,
                w[0].0.count,
                w[0].2.display(),
                w[1].2.display()
            )));
        }
    }
    let present: Vec<u64> = shards.iter().map(|(s, _, _)| s.index).collect();
    let missing: Vec<String> =
        (0..s0.count).filter(|i| !present.contains(i)).map(|i| format!("{i}/{}", s0.count)).collect();
    if !missing.is_empty() {
        return Err(Error::Merge(format!("missing shard(s) {}", missing.join(", "))));
    }
    let info = m0.info.clone();
    let kinds = m0.kinds.clone();
    let mut merged = RunResult {
        first_path: 0,
        kinds: kinds.clone(),
        metrics: vec![Vec::new(); kinds.len()],
        ..Default::default()
    };
    let with_events = shards.iter().all(|(_, m, _)| m.files.iter().any(|f| f == "events.csv"));
    let has_windows = |m: &Manifest| m.files.iter().any(|f| f == "windows.csv");
    let with_windows = shards.iter().all(|(_, m, _)| has_windows(m));
    if let Some((_, _, d)) = shards.iter().find(|(_, m, _)| with_windows != has_windows(m)) {
        return Err(bad(
            &d.join("manifest.json"),
            "windows.csv is in some shards only: not shards of one run",
        ));
    }
    let mut wall = 0.0;
    for (s, m, d) in &shards {
        let range = s.range(info.paths);
        if m.first_path != range.start || m.path_count != range.end - range.start {
            return Err(bad(
                &d.join("manifest.json"),
                format!(
                    "paths {}..{} do not match shard {}/{}",
                    m.first_path,
                    m.first_path + m.path_count,
                    s.index,
                    s.count
                ),
            ));
        }
        let r = read_paths_csv(&d.join("paths.csv"), m)?;
        if with_windows {
            merged.windows.extend(crate::windows::read_windows_csv(
                &d.join("windows.csv"),
                m.first_path,
                m.path_count,
            )?);
        }
        for (k, v) in r.metrics.into_iter().enumerate() {
            merged.metrics[k].extend(v);
        }
        if with_events {
            merged.events.extend(read_events_csv(&d.join("events.csv"))?);
        }
        wall += m.wall_seconds;
    }
    let opts = WriteOptions {
        paths_csv: true,
        events_csv: with_events,
        shard: None,
        threads: 0,
        wall_seconds: wall,
        git_commit: git_commit.to_string(),
    };
    write_result(out, &info, &merged, &opts)?;
    Ok(info)
}
