//! `headroom report`: a markdown write-up of one or more result folders, with SVG plots.
//!
//! [`write_report`] reads each folder written by `headroom run` (or `headroom sweep`): its
//! manifest.json, summary.csv, paths.csv and sweep.csv, and writes `FILE.md` with
//!
//! - the run's facts (paths, seed, worlds, config hash, git commit) and the resolved experiment;
//! - the experiment's reference figures beside the model's means;
//! - the headline: each primitive's cost in USD and in % a year of the deposit, and the verdict
//!   on their paired difference (exact, significant or not, and over how many paths);
//! - "who pays what": the ledger's six party columns per world and for the difference, the
//!   breakdown columns with their payer and payee, and each side's whole result;
//! - every metric of summary.csv;
//! - plots in `FILE_files/` (SVG, linked relatively): the distributions of per-path cost of both
//!   worlds on one chart, the worst path of each world (price, oracle price and cumulative exits,
//!   through a [`PathTracer`]), for a historical simulation (windows.csv) each window's cost along
//!   the calendar under ETH's price, with the costliest windows, and for a sweep one chart per key
//!   metric against the first grid column.
//!
//! Totals come from the engine (docs/reporting.md): `cost_usd` is the sum of the ledger's
//! takers, market and validators columns, computed per path by montecarlo; the report adds
//! nothing up. The breakdown columns are parts of the ledger and are never added to it or to one
//! another.
//!
//! Everything is written into a hidden staging folder next to `FILE.md` and renamed into place,
//! so an error or an interruption leaves no half-written report and keeps an earlier one. The
//! report's first line ([`REPORT_MARKER`]) is how a later report recognises a file it may
//! replace: `--out` never overwrites a markdown file or a plots folder headroom did not write.

mod calendar;
mod data;
mod figures;
mod format;
mod ledger;
mod plots;
mod render;
mod sweep;
#[cfg(test)]
mod tests;

pub use headroom_montecarlo::spec::WorldKind;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use data::Folder;
use headroom_montecarlo::staging::{parent_of, Staging};
pub use headroom_montecarlo::target::REPORT_MARKER;

/// One world's path, step by step, as the worst-path plot draws it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorldTrace {
    /// Time of each point, days from the start (the start included).
    pub times_days: Vec<f64>,
    /// Market price at each point, USD.
    pub price: Vec<f64>,
    /// Oracle price at each point, USD.
    pub oracle_price: Vec<f64>,
    /// Exits (liquidations or rolls) up to and including each point.
    pub exits_cumulative: Vec<u64>,
}

/// Re-simulates one path of one world of a result folder, for the worst-path plot.
///
/// The report cannot run the engine itself; the caller implements this, e.g. by rebuilding the
/// experiment from manifest.json's `config` and calling `Experiment::trace_path`.
pub trait PathTracer {
    /// The trace of global path `path` of world `world` of the result in `dir`; `Ok(None)` when
    /// the world cannot be traced (the plot is then skipped with a note).
    fn trace(&self, dir: &Path, world: WorldKind, path: u64) -> Result<Option<WorldTrace>, String>;
}

/// Options of [`write_report`].
#[derive(Clone, Copy)]
pub struct ReportOptions<'a> {
    /// The report's title; `None`: the experiment's name (one folder) or a list of them.
    pub title: Option<&'a str>,
    /// The command line that produced the report, written under the title so the write-up can
    /// be regenerated; `None`: not written.
    pub command_line: Option<&'a str>,
    /// Re-simulates the worst paths; `None`: the worst-path plots are skipped with a note.
    pub tracer: Option<&'a dyn PathTracer>,
    /// Width and height of every plot, pixels.
    pub plot_size: (u32, u32),
    /// Once set (Ctrl-C), the report stops before it replaces anything.
    pub cancel: Option<&'a AtomicBool>,
}

impl Default for ReportOptions<'_> {
    fn default() -> Self {
        ReportOptions { title: None, command_line: None, tracer: None, plot_size: (800, 500), cancel: None }
    }
}

impl std::fmt::Debug for ReportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportOptions")
            .field("title", &self.title)
            .field("command_line", &self.command_line)
            .field("tracer", &self.tracer.map(|_| "dyn PathTracer"))
            .field("plot_size", &self.plot_size)
            .finish()
    }
}

/// What [`write_report`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportSummary {
    /// The markdown file.
    pub markdown: PathBuf,
    /// The folder of the plots (`FILE_files/` next to `FILE.md`).
    pub plots_dir: PathBuf,
    /// Every SVG written, in the order the report shows them.
    pub plots: Vec<PathBuf>,
    /// Number of result folders reported.
    pub folders: usize,
    /// What was skipped and why (e.g. no paths.csv, no tracer), as written in the report.
    pub notes: Vec<String>,
}

/// Why a report could not be written. Each names the folder or file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No result folder was given.
    #[error("no result folder given: `headroom report DIR... --out FILE.md`")]
    NoFolders,
    /// A result folder does not exist (or is not a folder).
    #[error("{}: no such result folder", .dir.display())]
    MissingFolder {
        /// The folder.
        dir: PathBuf,
    },
    /// A required file of a result folder is missing.
    #[error("{}: missing: {what}", .file.display())]
    MissingFile {
        /// The missing file.
        file: PathBuf,
        /// Why it is required.
        what: &'static str,
    },
    /// A file could not be read.
    #[error("{}: cannot read: {source}", .file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A malformed CSV file (line 1 is the header; line 0: the file as a whole).
    #[error("{}: line {line}: {message}", .file.display())]
    Csv {
        /// The file.
        file: PathBuf,
        /// The line (1-based).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A malformed manifest.json.
    #[error("{}: {message}", .file.display())]
    Manifest {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The path tracer failed or returned an inconsistent trace.
    #[error("{}: tracing path {path} of world `{world}`: {message}", .dir.display())]
    Trace {
        /// The result folder.
        dir: PathBuf,
        /// The world.
        world: String,
        /// The global path index.
        path: u64,
        /// What went wrong.
        message: String,
    },
    /// A plot could not be drawn.
    #[error("{}: cannot draw the plot: {message}", .file.display())]
    Plot {
        /// The SVG file.
        file: PathBuf,
        /// The drawing error.
        message: String,
    },
    /// The output could not be written.
    #[error("{}: cannot write: {source}", .file.display())]
    Write {
        /// The file or folder.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The output path is unusable, or holds something headroom did not write.
    #[error("{}: {message}", .out.display())]
    Output {
        /// The requested output.
        out: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Stopped by Ctrl-C or SIGTERM before anything was replaced.
    #[error("interrupted: nothing was written and no earlier report was touched")]
    Interrupted,
}

impl ReportError {
    /// Whether the error is the user's input (exit code 2) rather than the environment's (a
    /// plot or a file that cannot be written: exit code 1; an interruption).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, ReportError::Plot { .. } | ReportError::Write { .. } | ReportError::Interrupted)
    }
}

impl From<headroom_montecarlo::Error> for ReportError {
    fn from(e: headroom_montecarlo::Error) -> Self {
        use headroom_montecarlo::Error as E;
        match e {
            E::Output { out, message } => ReportError::Output { out, message },
            E::Write { file, source } => ReportError::Write { file, source },
            E::Read { file, source } => ReportError::Read { file, source },
            E::Interrupted => ReportError::Interrupted,
            other => ReportError::Output { out: PathBuf::new(), message: other.to_string() },
        }
    }
}

/// An SVG drawn for the report: its file name inside the plots folder and its content.
pub(crate) struct Plot {
    /// File name (no folder).
    pub name: String,
    /// The SVG document.
    pub svg: String,
}

/// Writes the report of the result folders `dirs` to `out` (markdown) and its plots to
/// `FILE_files/` next to it (`out` = `report.md` gives `report_files/`), replacing an earlier
/// report only once everything is written.
pub fn write_report(
    dirs: &[PathBuf],
    out: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary, ReportError> {
    if dirs.is_empty() {
        return Err(ReportError::NoFolders);
    }
    let (parent, file_name, plots_name) = output_names(out)?;
    headroom_montecarlo::target::check_report(&parent.join(&file_name), &parent.join(&plots_name))?;
    let folders = dirs.iter().map(|d| Folder::read(d)).collect::<Result<Vec<_>, _>>()?;
    let (markdown, plots, notes) = render::render(&folders, &plots_name, opts)?;
    let stopped = || opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    if stopped() {
        return Err(ReportError::Interrupted);
    }
    let stage = Staging::create(&parent.join(&file_name))?;
    stage_and_publish(stage.path(), &parent, &file_name, &plots_name, &markdown, &plots, &stopped)?;
    // The staging folder (with the earlier plots, if any) goes when `stage` is dropped.
    drop(stage);
    let plots_dir = parent.join(&plots_name);
    Ok(ReportSummary {
        markdown: parent.join(&file_name),
        plots: plots.iter().map(|p| plots_dir.join(&p.name)).collect(),
        plots_dir,
        folders: folders.len(),
        notes,
    })
}

/// The output's folder, file name and plots folder name (`report.md` -> `report_files`).
fn output_names(out: &Path) -> Result<(PathBuf, String, String), ReportError> {
    let bad = |message: &str| ReportError::Output { out: out.to_path_buf(), message: message.to_string() };
    let file_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("must name a file, e.g. report.md"))?
        .to_string();
    if out.is_dir() {
        return Err(bad("is a folder: --out takes the markdown file to write, e.g. report.md"));
    }
    let stem = Path::new(&file_name).file_stem().and_then(|s| s.to_str()).unwrap_or(&file_name).to_string();
    let parent = parent_of(out);
    if !parent.is_dir() {
        return Err(bad("its folder does not exist"));
    }
    Ok((parent, file_name, format!("{stem}_files")))
}

fn write_err(file: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Write { file: file.to_path_buf(), source }
}

/// Writes the markdown and plots into `stage`, then moves the plots folder and the markdown into
/// `parent`, replacing earlier ones (the earlier plots folder is restored if the move fails).
fn stage_and_publish(
    stage: &Path,
    parent: &Path,
    file_name: &str,
    plots_name: &str,
    markdown: &str,
    plots: &[Plot],
    stopped: &dyn Fn() -> bool,
) -> Result<(), ReportError> {
    let staged_plots = stage.join(plots_name);
    fs::create_dir_all(&staged_plots).map_err(write_err(&staged_plots))?;
    for p in plots {
        let f = staged_plots.join(&p.name);
        fs::write(&f, &p.svg).map_err(write_err(&f))?;
    }
    let staged_md = stage.join(file_name);
    fs::write(&staged_md, markdown).map_err(write_err(&staged_md))?;
    if stopped() {
        return Err(ReportError::Interrupted);
    }

    let final_plots = parent.join(plots_name);
    let old = stage.join("old");
    let had_old = final_plots.exists();
    if had_old {
        fs::rename(&final_plots, &old).map_err(write_err(&final_plots))?;
    }
    if let Err(e) = fs::rename(&staged_plots, &final_plots) {
        if had_old {
            let _ = fs::rename(&old, &final_plots);
        }
        return Err(write_err(&final_plots)(e));
    }
    let final_md = parent.join(file_name);
    if let Err(e) = fs::rename(&staged_md, &final_md) {
        let _ = fs::remove_dir_all(&final_plots);
        if had_old {
            let _ = fs::rename(&old, &final_plots);
        }
        return Err(write_err(&final_md)(e));
    }
    Ok(())
}
