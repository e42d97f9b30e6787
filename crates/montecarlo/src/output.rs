//! Writing a result folder: paths.csv, summary.csv, events.csv and manifest.json, into a
//! temporary folder renamed into place, so a failed run leaves nothing half-written and never
//! touches an earlier result.

use crate::columns::{fmt_f64, paths_header, summary_rows, write_path_rows, write_summary};
use crate::error::{Error, Result};
use crate::runner::{Experiment, RunResult};
use headroom_market::rng::GENERATOR_NAME;
use headroom_market::Party;
use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Paths formatted per parallel block when writing paths.csv (bounds the buffered bytes).
const WRITE_BLOCK: usize = 16_384;

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
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Write paths.csv (a shard always keeps its per-path values).
    pub paths_csv: bool,
    /// Write events.csv.
    pub events_csv: bool,
    /// The shard, if any.
    pub shard: Option<Shard>,
    /// Worker threads used (recorded in the manifest).
    pub threads: usize,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// The git commit the binary was built from ("unknown" outside a checkout).
    pub git_commit: String,
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
        if pn.pricing_vol.is_none() {
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
            paths: exp.spec.paths,
        }
    }
}

/// Writes the result folder `out` for `result`, replacing an earlier result only once every
/// file is complete.
pub fn write_result(out: &Path, info: &RunInfo, result: &RunResult, opts: &WriteOptions) -> Result<()> {
    write_atomically(out, |dir| write_into(dir, info, result, opts))
}

/// Creates a staging folder next to `out`, lets `fill` write into it, and renames it to `out`
/// (replacing an earlier `out`) only if `fill` succeeded; on error nothing is left behind.
pub fn write_atomically(out: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = sibling(out, "tmp");
    let _ = fs::remove_dir_all(&tmp);
    let res = fs::create_dir_all(&tmp)
        .map_err(|e| Error::write(&tmp, e))
        .and_then(|()| fill(&tmp))
        .and_then(|()| replace_dir(&tmp, out));
    if res.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    res
}

/// A hidden sibling of `out` for staging (`.name.tmp-PID`).
fn sibling(out: &Path, what: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "result".into());
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join(format!(".{name}.{what}-{}", std::process::id()))
}

/// Moves the complete folder `tmp` to `out`, replacing an existing `out`.
pub fn replace_dir(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        let old = sibling(out, "old");
        let _ = fs::remove_dir_all(&old);
        fs::rename(out, &old).map_err(|e| Error::write(out, e))?;
        if let Err(e) = fs::rename(tmp, out) {
            let _ = fs::rename(&old, out);
            return Err(Error::write(out, e));
        }
        let _ = fs::remove_dir_all(&old);
    } else {
        fs::rename(tmp, out).map_err(|e| Error::write(out, e))?;
    }
    Ok(())
}

/// A buffered CSV writer creating `file`.
pub fn csv_writer(file: &Path) -> Result<csv::Writer<fs::File>> {
    let f = fs::File::create(file).map_err(|e| Error::write(file, e))?;
    Ok(csv::WriterBuilder::new().buffer_capacity(1 << 20).from_writer(f))
}

/// A CSV error while writing `file`.
pub fn csv_err(file: &Path, e: csv::Error) -> Error {
    Error::write(file, std::io::Error::other(e.to_string()))
}

fn write_into(dir: &Path, info: &RunInfo, result: &RunResult, opts: &WriteOptions) -> Result<()> {
    let slices = result.slices();
    // paths.csv is written while the summary's statistics are computed.
    let (written, rows) = rayon::join(
        || {
            if opts.paths_csv || opts.shard.is_some() {
                write_paths_csv(&dir.join("paths.csv"), result)
            } else {
                Ok(())
            }
        },
        || summary_rows(&result.kinds, &slices),
    );
    written?;
    let file = dir.join("summary.csv");
    let mut w = csv_writer(&file)?;
    write_summary(&mut w, &rows).map_err(|e| csv_err(&file, e))?;
    w.flush().map_err(|e| Error::write(&file, e))?;
    if opts.events_csv {
        write_events_csv(&dir.join("events.csv"), result)?;
    }
    let manifest = manifest(info, result, opts);
    let file = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    fs::write(&file, text).map_err(|e| Error::write(&file, e))?;
    Ok(())
}

/// Writes paths.csv: rows formatted in parallel blocks, written in path order.
pub fn write_paths_csv(file: &Path, result: &RunResult) -> Result<()> {
    let mut f = std::io::BufWriter::with_capacity(
        1 << 20,
        fs::File::create(file).map_err(|e| Error::write(file, e))?,
    );
    let mut header = csv::Writer::from_writer(Vec::new());
    header.write_record(paths_header()).map_err(|e| csv_err(file, e))?;
    f.write_all(&header.into_inner().unwrap_or_default()).map_err(|e| Error::write(file, e))?;
    let n = result.metrics.first().map_or(0, |v| v.len());
    let slices = result.slices();
    let mut start = 0;
    while start < n {
        let end = (start + WRITE_BLOCK).min(n);
        let parts: Vec<Vec<u8>> = (start..end)
            .into_par_iter()
            .step_by(1024)
            .map(|lo| {
                let hi = (lo + 1024).min(end);
                // Every field is a number or a fixed label: no quoting to look for.
                let mut w = csv::WriterBuilder::new()
                    .quote_style(csv::QuoteStyle::Never)
                    .from_writer(Vec::with_capacity((hi - lo) * 200));
                let sub: Vec<_> = slices.iter().map(|s| &s[lo..hi]).collect();
                write_path_rows(&mut w, result.first_path + lo as u64, &result.kinds, &sub)
                    .expect("writing to memory cannot fail");
                w.into_inner().unwrap_or_default()
            })
            .collect();
        for p in parts {
            f.write_all(&p).map_err(|e| Error::write(file, e))?;
        }
        start = end;
    }
    f.flush().map_err(|e| Error::write(file, e))
}

fn write_events_csv(file: &Path, result: &RunResult) -> Result<()> {
    let mut w = csv_writer(file)?;
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
    for (path, kind, e) in &result.events {
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

fn manifest(info: &RunInfo, result: &RunResult, opts: &WriteOptions) -> serde_json::Value {
    let n = result.metrics.first().map_or(0, |v| v.len()) as u64;
    json!({
        "name": info.name,
        "experiment_file": info.experiment_file,
        "config": info.config,
        "config_hash": info.config_hash,
        "seed": info.seed,
        "paths": info.paths,
        "first_path": result.first_path,
        "path_count": n,
        "shard": opts.shard.map(|s| json!({"index": s.index, "count": s.count})),
        "worlds": result.kinds.iter().map(|k| k.label()).collect::<Vec<_>>(),
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": opts.git_commit,
        "generator": GENERATOR_NAME,
        "threads": opts.threads,
        "wall_seconds": opts.wall_seconds,
        "files": files(opts),
    })
}

fn files(opts: &WriteOptions) -> Vec<&'static str> {
    let mut f = vec!["summary.csv", "manifest.json"];
    if opts.paths_csv || opts.shard.is_some() {
        f.insert(0, "paths.csv");
    }
    if opts.events_csv {
        f.push("events.csv");
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
