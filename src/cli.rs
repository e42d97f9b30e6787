//! Subcommands and their exit codes: 0 on success, 2 on bad input (with a message naming the
//! file, key or line and what is allowed), 1 when an output cannot be written.

use clap::{Parser, Subcommand};
use headroom_montecarlo::output::{write_result, Shard, WriteOptions};
use headroom_montecarlo::{Error, Experiment, RunOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Headroom: CDP liquidations against P/N option splits on the same Monte Carlo paths.
#[derive(Parser, Debug)]
#[command(name = "headroom", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an experiment and write paths.csv, summary.csv and manifest.json.
    Run(RunArgs),
    /// Check an experiment and print it resolved, or every problem with its key path.
    Validate {
        /// The experiment file (TOML).
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The experiment file (TOML).
    file: PathBuf,
    /// Number of paths (overrides the file's `paths`).
    #[arg(long)]
    paths: Option<u64>,
    /// Master seed (overrides the file's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: one per core). The output does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder (default: results/<name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run shard I of N (0-based), e.g. `--shard 2/8`.
    #[arg(long)]
    shard: Option<String>,
    /// Skip paths.csv (the summary is still computed from every path).
    #[arg(long)]
    no_paths: bool,
    /// Write events.csv: one row per liquidation or roll of the first `--event-paths` paths.
    #[arg(long)]
    events: bool,
    /// How many paths `--events` records.
    #[arg(long, default_value_t = 10)]
    event_paths: u64,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let res = match cli.command {
        Command::Run(a) => run(a),
        Command::Validate { file } => validate(&file),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_input_error() {
                2
            } else {
                1
            }
        }
    }
}

fn parse_shard(s: &str) -> Result<Shard, Error> {
    let bad = || Error::Usage {
        flag: "--shard".into(),
        message: format!("{s:?}: must be I/N with whole numbers 0 <= I < N, e.g. 0/4"),
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let index: u64 = i.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

fn run(a: RunArgs) -> Result<(), Error> {
    let mut spec = headroom_montecarlo::ExperimentSpec::load(&a.file)?;
    if let Some(p) = a.paths {
        spec.paths = p;
    }
    if let Some(s) = a.seed {
        spec.seed = s;
    }
    if a.threads == Some(0) {
        return Err(Error::Usage { flag: "--threads".into(), message: "0: must be >= 1".into() });
    }
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    let exp = Experiment::build(spec, &a.file)?;
    let out = a.out.clone().unwrap_or_else(|| Path::new("results").join(&exp.spec.name));
    let paths = shard.map_or(0..exp.spec.paths, |s| s.range(exp.spec.paths));
    let n = paths.end - paths.start;
    let bar = progress_bar(n);
    let tick = |k: u64| {
        if let Some(b) = &bar {
            b.inc(k);
        }
    };
    let started = Instant::now();
    let threads = a.threads.unwrap_or_else(rayon_threads);
    let result = exp.run(&RunOptions {
        paths,
        threads: a.threads,
        event_paths: if a.events { a.event_paths } else { 0 },
        progress: Some(&tick),
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let opts = WriteOptions {
        paths_csv: !a.no_paths,
        events_csv: a.events,
        shard,
        threads,
        wall_seconds: started.elapsed().as_secs_f64(),
        git_commit: env!("HEADROOM_GIT_COMMIT").to_string(),
    };
    write_result(&out, &exp, &result, &opts)?;
    eprintln!(
        "{}: {n} paths, worlds {}, in {:.2} s",
        exp.spec.name,
        result.kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join("+"),
        opts.wall_seconds
    );
    println!("summary: {}", out.join("summary.csv").display());
    if opts.paths_csv {
        println!("paths:   {}", out.join("paths.csv").display());
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn progress_bar(n: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(n);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} paths {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn validate(file: &Path) -> Result<(), Error> {
    let exp = Experiment::from_file(file)?;
    let text = toml::to_string_pretty(&exp.spec).unwrap_or_default();
    println!(
        "# {} is valid: {} borrowers, dt = {} years",
        file.display(),
        exp.cohort.len(),
        exp.env.dt_years
    );
    print!("{text}");
    Ok(())
}
