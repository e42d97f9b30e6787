//! Output paths: nothing of the user's is ever replaced.
//!
//! An `--out` of run, merge or sweep may name a path that does not exist yet, an empty folder,
//! or the command's own earlier output, recognised by its manifest.json, holding nothing but
//! the files that manifest lists (and reports headroom wrote beside them, such as `run`'s
//! report.md). A report's `--out` may replace only a report headroom wrote, recognised by its first
//! line, and the plots folder beside it only if it holds nothing but SVG files. Anything else (a
//! file, a folder of the user's, a symbolic link, a folder holding something headroom did not
//! write) is refused with an [`Error::Output`] naming it, before anything is computed or
//! touched.

use crate::error::{Error, Result};
use serde_json::Value;
use std::fs;
use std::path::Path;

/// The first line of every report `headroom report` writes: how a later report recognises a
/// file it may replace.
pub const REPORT_MARKER: &str =
    "<!-- Written by `headroom report`, which rewrites it; delete this line to keep your edits. -->";

/// What a command writes to its `--out` folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A result folder (`run`, `merge`): manifest.json, summary.csv, paths.csv, events.csv.
    Result,
    /// A sweep folder: manifest.json, sweep.csv.
    Sweep,
}

impl OutputKind {
    fn what(self) -> &'static str {
        match self {
            OutputKind::Result => "a result folder of `headroom run` or `headroom merge`",
            OutputKind::Sweep => "a sweep folder of `headroom sweep`",
        }
    }
}

fn refuse(out: &Path, message: impl Into<String>) -> Error {
    Error::Output { out: out.to_path_buf(), message: message.into() }
}

const ADVICE: &str = "choose another --out, or move it away yourself";

/// Checks that `out` may receive a folder of `kind`: absent, an empty folder, or an earlier
/// output of the same kind with nothing of the user's in it.
pub fn check_folder(out: &Path, kind: OutputKind) -> Result<()> {
    check_ancestors(out)?;
    let meta = match fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::read(out, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            out,
            format!("is a symbolic link: refusing to replace it; give the folder it points to, or {ADVICE}"),
        ));
    }
    if !meta.is_dir() {
        return Err(refuse(
            out,
            format!("is an existing file, not {}: refusing to replace it; {ADVICE}", kind.what()),
        ));
    }
    let entries: Vec<String> = fs::read_dir(out)
        .map_err(|e| Error::read(out, e))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::read(out, e))?;
    if entries.is_empty() {
        return Ok(());
    }
    let manifest = out.join("manifest.json");
    let parsed: Option<Value> =
        fs::read_to_string(&manifest).ok().and_then(|t| serde_json::from_str(&t).ok());
    let Some(m) = parsed else {
        return Err(refuse(
            out,
            format!(
                "is an existing folder that headroom did not write (no readable manifest.json): refusing to replace it; {ADVICE}"
            ),
        ));
    };
    let has = |k: &str| m.get(k).is_some();
    let found = if has("sweep_keys") && has("points") {
        Some(OutputKind::Sweep)
    } else if has("config_hash") && has("path_count") {
        Some(OutputKind::Result)
    } else {
        None
    };
    if found != Some(kind) {
        let is = found.map_or("a folder with a manifest.json headroom did not write", OutputKind::what);
        return Err(refuse(out, format!("is {is}, not {}: refusing to replace it; {ADVICE}", kind.what())));
    }
    let listed: Vec<&str> = m
        .get("files")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for name in &entries {
        // Reports (`run`'s report.md, or `headroom report` pointed inside) may sit beside a
        // result's files.
        let path = out.join(name);
        // A run with `report = true` wrote report.md itself (before the marker existed, with its
        // title and `Generated with` line first).
        let run_report = name == "report.md"
            && m.pointer("/config/report").and_then(Value::as_bool) == Some(true)
            && is_legacy_report(&path);
        let ours = name == "manifest.json"
            || listed.contains(&name.as_str())
            || run_report
            || (name.ends_with(".md") && path.is_file() && is_report(&path))
            || (name.ends_with("_files") && path.is_dir() && is_plots_folder(&path));
        if !ours {
            return Err(refuse(
                out,
                format!(
                    "holds `{name}`, which headroom did not write there: refusing to replace the folder; {ADVICE}"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that a report may be written to the markdown file `md` and its plots folder `plots`.
pub fn check_report(md: &Path, plots: &Path) -> Result<()> {
    check_ancestors(md)?;
    match fs::symlink_metadata(md) {
        Err(_) => {}
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refuse(md, format!("is a symbolic link: refusing to replace it; {ADVICE}")))
        }
        Ok(m) if m.is_dir() => {
            return Err(refuse(md, "is a folder: --out takes the markdown file to write, e.g. report.md"))
        }
        Ok(_) if !is_report(md) => {
            return Err(refuse(
                md,
                format!(
                    "exists and is not a report headroom wrote (its first line is not headroom's): refusing to overwrite it; {ADVICE}"
                ),
            ))
        }
        Ok(_) => {}
    }
    match fs::symlink_metadata(plots) {
        Err(_) => Ok(()),
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => Err(refuse(
            plots,
            format!("(where the report's plots go) exists and is not a folder of plots headroom wrote: refusing to replace it; {ADVICE}"),
        )),
        Ok(_) if !is_plots_folder(plots) => Err(refuse(
            plots,
            format!("(where the report's plots go) holds files other than SVG plots: refusing to replace it; {ADVICE}"),
        )),
        Ok(_) => Ok(()),
    }
}

/// Whether `file` is a markdown report headroom wrote: its first line is [`REPORT_MARKER`].
/// (A report without it, an edited one or one written before the marker, is the user's.)
pub fn is_report(file: &Path) -> bool {
    use std::io::{BufRead, Read};
    let Ok(f) = fs::File::open(file) else { return false };
    let mut first = String::new();
    let _ = std::io::BufReader::new(f.take(4096)).read_line(&mut first);
    first.trim_end_matches(['\n', '\r']) == REPORT_MARKER
}

/// Whether `file` starts as the reports written before [`REPORT_MARKER`] did: a title, a blank
/// line and headroom's `Generated with` line.
fn is_legacy_report(file: &Path) -> bool {
    use std::io::Read;
    let mut head = String::new();
    let _ = fs::File::open(file).map(|f| f.take(4096).read_to_string(&mut head));
    let mut lines = head.lines();
    lines.next().is_some_and(|l| l.starts_with("# "))
        && lines.nth(1).is_some_and(|l| l.starts_with("Generated with `headroom report "))
}

/// Whether `dir` is a folder of plots headroom wrote: regular files named `*.svg` that are SVG
/// documents, nothing else.
pub fn is_plots_folder(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else { return false };
    entries.into_iter().all(|e| {
        let Ok(e) = e else { return false };
        let p = e.path();
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        let svg = p.extension().is_some_and(|x| x == "svg");
        is_file && svg && starts_like_svg(&p)
    })
}

fn starts_like_svg(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = fs::File::open(p).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    let t = text.trim_start();
    t.starts_with("<svg") || t.starts_with("<?xml")
}

/// An `--out` below an existing file cannot be created: say so as bad input.
fn check_ancestors(out: &Path) -> Result<()> {
    let mut p = out.parent();
    while let Some(a) = p.filter(|a| !a.as_os_str().is_empty()) {
        if let Ok(m) = fs::metadata(a) {
            if !m.is_dir() {
                return Err(refuse(
                    out,
                    format!(
                        "cannot be created: {} is a file, not a folder; refusing to touch it",
                        a.display()
                    ),
                ));
            }
            return Ok(());
        }
        p = a.parent();
    }
    Ok(())
}

/// Refuses an `--out` that lies inside, or contains, one of the input folders `inputs` (the
/// output would change its own input).
pub fn check_not_inside(out: &Path, inputs: &[std::path::PathBuf], what: &str) -> Result<()> {
    let resolve = |p: &Path| fs::canonicalize(p).or_else(|_| std::path::absolute(p));
    let out_abs = resolve(out).map_err(|e| Error::read(out, e))?;
    for d in inputs {
        let d_abs = resolve(d).map_err(|e| Error::read(d, e))?;
        if d_abs.starts_with(&out_abs) {
            return Err(refuse(
                out,
                format!(
                    "holds the {what} {}: it would replace its own input; choose another --out",
                    d.display()
                ),
            ));
        }
        if out_abs.starts_with(&d_abs) {
            return Err(refuse(
                out,
                format!(
                    "is inside the {what} {}: it would change its own input; choose another --out",
                    d.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_folder(dir: &Path, extra: &[&str]) {
        fs::create_dir_all(dir).unwrap();
        let m = serde_json::json!({"config_hash": "ab", "path_count": 3, "files": ["summary.csv", "manifest.json"]});
        fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        fs::write(dir.join("summary.csv"), "x").unwrap();
        for e in extra {
            fs::write(dir.join(e), "mine").unwrap();
        }
    }

    #[test]
    fn only_our_own_folders_may_be_replaced() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        assert!(check_folder(&d.join("new"), OutputKind::Result).is_ok());
        fs::create_dir(d.join("empty")).unwrap();
        assert!(check_folder(&d.join("empty"), OutputKind::Result).is_ok());
        result_folder(&d.join("ours"), &[]);
        assert!(check_folder(&d.join("ours"), OutputKind::Result).is_ok());
        // The report a run with `report = true` wrote before the marker line existed.
        result_folder(&d.join("old"), &[]);
        let m = serde_json::json!({"config_hash": "ab", "path_count": 3, "config": {"report": true}, "files": []});
        fs::write(d.join("old/manifest.json"), m.to_string()).unwrap();
        fs::remove_file(d.join("old/summary.csv")).unwrap();
        fs::write(
            d.join("old/report.md"),
            "# T\n\nGenerated with `headroom report old --out old/report.md`.\n",
        )
        .unwrap();
        assert!(check_folder(&d.join("old"), OutputKind::Result).is_ok());
        fs::write(d.join("old/report.md"), "# T\n\nmine\n").unwrap();
        assert!(check_folder(&d.join("old"), OutputKind::Result).is_err());
        assert!(check_folder(&d.join("ours"), OutputKind::Sweep).is_err(), "a result is not a sweep");
        result_folder(&d.join("mixed"), &["notes.txt"]);
        let e = check_folder(&d.join("mixed"), OutputKind::Result).unwrap_err().to_string();
        assert!(e.contains("notes.txt") && e.contains("mixed"), "{e}");
        fs::create_dir(d.join("docs")).unwrap();
        fs::write(d.join("docs/a.md"), "mine").unwrap();
        let e = check_folder(&d.join("docs"), OutputKind::Result).unwrap_err();
        assert!(e.is_input_error() && e.to_string().contains("did not write"), "{e}");
        fs::write(d.join("notes.csv"), "mine").unwrap();
        assert!(check_folder(&d.join("notes.csv"), OutputKind::Result)
            .unwrap_err()
            .to_string()
            .contains("file"));
        assert!(check_folder(&d.join("notes.csv/x"), OutputKind::Result).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.join("ours"), d.join("link")).unwrap();
            assert!(check_folder(&d.join("link"), OutputKind::Result)
                .unwrap_err()
                .to_string()
                .contains("symbolic"));
        }
    }

    #[test]
    fn reports_are_recognised_by_their_first_line() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let md = d.join("r.md");
        let plots = d.join("r_files");
        assert!(check_report(&md, &plots).is_ok());
        fs::write(&md, format!("{REPORT_MARKER}\n# Title\n")).unwrap();
        assert!(check_report(&md, &plots).is_ok());
        fs::write(&md, "# Title\n\nGenerated with `headroom report a --out r.md`.\n").unwrap();
        assert!(check_report(&md, &plots).is_err(), "a report without its marker line is the user's");
        fs::write(&md, "# My notes\n\nmine\n").unwrap();
        assert!(check_report(&md, &plots).unwrap_err().to_string().contains("not a report"));
        fs::remove_file(&md).unwrap();
        fs::create_dir(&plots).unwrap();
        fs::write(plots.join("a.svg"), "<svg width=\"1\"></svg>").unwrap();
        assert!(check_report(&md, &plots).is_ok());
        fs::write(plots.join("b.png"), "x").unwrap();
        assert!(check_report(&md, &plots).is_err());
    }

    #[test]
    fn an_output_inside_or_around_an_input_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir(d.join("s0")).unwrap();
        let inputs = vec![d.join("s0")];
        assert!(check_not_inside(&d.join("s0/m"), &inputs, "shard")
            .unwrap_err()
            .to_string()
            .contains("inside"));
        assert!(check_not_inside(d, &inputs, "shard").unwrap_err().to_string().contains("holds"));
        assert!(check_not_inside(&d.join("m"), &inputs, "shard").is_ok());
    }
}
