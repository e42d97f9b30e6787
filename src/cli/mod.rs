//! Subcommands and their exit codes: 0 on success, 2 on bad input (with a message naming the
//! file, key or line and what is allowed, or an `--out` that would replace something headroom
//! did not write), 1 when an output cannot be written (a full disk), 128 + the signal's number
//! when Ctrl-C (SIGINT, 130) or SIGTERM (143) stopped the command. An interrupted command
//! leaves no staging folder and never touches an earlier output; a second signal ends the
//! process at once (its hidden staging folder is then removed by the next command that writes
//! the same output).

use clap::Parser;
use headroom_montecarlo::output::{write_run, Shard, WriteOptions};
use headroom_montecarlo::staging::Disk;
use headroom_montecarlo::{Error, Experiment, RunOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

mod args;
use args::*;

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
    let signals = Signals::install();
    let stop = signals.stop.as_ref();
    let res = match cli.command {
        Command::Run(a) => run(a, stop),
        Command::Validate { file } => validate(&file),
        Command::Sweep(a) => sweep(a, stop),
        Command::Merge { dirs, out } => merge(&dirs, &out, stop),
        Command::Position(a) => position(&a),
        Command::Price(a) => price(&a),
        Command::Serve(a) => crate::serve::serve(&a),
        Command::Report { dirs, out, title } => return report(&dirs, &out, title.as_deref(), &signals),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            signals.exit_code(&e)
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM set a flag the commands check between chunks of work; a second
/// one ends the process at once.
struct Signals {
    stop: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    fn install() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registered first, so it sees the flag as the earlier signal left it.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stop));
            let _ = signal_hook::flag::register_usize(sig, Arc::clone(&which), sig as usize);
            let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
        }
        Signals { stop, which }
    }

    /// 2 for bad input, 128 + the signal for an interruption, 1 otherwise.
    fn exit_code(&self, e: &Error) -> i32 {
        match e {
            Error::Interrupted => 128 + (self.which.load(Ordering::SeqCst) as i32).max(2),
            e if e.is_input_error() => 2,
            _ => 1,
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

fn run(a: RunArgs, stop: &AtomicBool) -> Result<(), Error> {
    let mut spec = headroom_montecarlo::ExperimentSpec::load(&a.exp.file)?;
    if let Some(p) = a.exp.paths {
        spec.paths = Some(p);
    }
    if let Some(s) = a.exp.seed {
        spec.seed = s;
    }
    let threads_flag = a.exp.threads()?;
    let shard = match a.shard.as_deref() {
        Some(s) => Some(parse_shard(s)?),
        None => shard_from_env(&|k| std::env::var(k).ok())?,
    };
    let exp = Experiment::build(spec, &a.exp.file)?;
    let out = a.exp.out.clone().unwrap_or_else(|| match shard {
        None => Path::new("results").join(&exp.spec.name),
        Some(s) => Path::new("results")
            .join(format!("{}-shards", exp.spec.name))
            .join(format!("{}-of-{}", s.index, s.count)),
    });
    let paths = shard.map_or(0..exp.spec.paths(), |s| s.range(exp.spec.paths()));
    let n = paths.end - paths.start;
    let opts = WriteOptions {
        paths_csv: !a.no_paths,
        events_csv: a.events,
        shard,
        threads: threads_flag.unwrap_or_else(rayon_threads),
        wall_seconds: None,
        git_commit: env!("HEADROOM_GIT_COMMIT").to_string(),
        disk: Disk::real(),
        cancel: Some(stop),
    };
    // The output path and the disk are checked before anything runs.
    headroom_montecarlo::output::check_result_target(
        &out,
        n,
        exp.kinds().len(),
        opts.paths_csv || shard.is_some(),
    )?;
    let bar = progress_bar(n);
    let tick = |k: u64| {
        if let Some(b) = &bar {
            b.inc(k);
        }
    };
    let started = Instant::now();
    let run_opts = RunOptions {
        paths,
        threads: threads_flag,
        event_paths: if a.events { a.event_paths } else { 0 },
        progress: Some(&tick),
        cancel: Some(stop),
    };
    let written = write_run(&out, &exp, &run_opts, &opts);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    written?;
    eprintln!(
        "{}: {n} paths, worlds {}, in {:.2} s",
        exp.spec.name,
        exp.kinds().iter().map(|k| k.label()).collect::<Vec<_>>().join("+"),
        started.elapsed().as_secs_f64()
    );
    println!("summary: {}", out.join("summary.csv").display());
    if opts.paths_csv {
        println!("paths:   {}", out.join("paths.csv").display());
    }
    if exp.spec.report && shard.is_none() {
        let md = out.join("report.md");
        let tracer = EngineTracer;
        let command_line = format!("headroom report {} --out {}", out.display(), md.display());
        let ropts = crate::report::ReportOptions {
            command_line: Some(&command_line),
            tracer: Some(&tracer),
            ..Default::default()
        };
        match crate::report::write_report(std::slice::from_ref(&out), &md, &ropts) {
            Ok(_) => println!("report:  {}", md.display()),
            // The result is complete and in place; a report that cannot be drawn is a warning.
            Err(e) => eprintln!("warning: the report was not written: {e}"),
        }
    }
    Ok(())
}

/// The environment variable that gives the shard count of a Kubernetes Indexed Job.
pub const SHARD_COUNT_VAR: &str = "HEADROOM_SHARD_COUNT";

/// The shard from a scheduler's environment: a Slurm job array (I = SLURM_ARRAY_TASK_ID -
/// SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
/// (I = JOB_COMPLETION_INDEX, N = HEADROOM_SHARD_COUNT).
fn shard_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>, Error> {
    let num = |k: &str| -> Result<Option<u64>, Error> {
        match var(k) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| Error::Usage {
                flag: k.to_string(),
                message: format!("{v:?}: must be a whole number >= 0"),
            }),
        }
    };
    let (index, count, from) = if let (Some(id), Some(count)) =
        (num("SLURM_ARRAY_TASK_ID")?, num("SLURM_ARRAY_TASK_COUNT")?)
    {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        (id.checked_sub(min), count, "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT")
    } else if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        let Some(count) = num(SHARD_COUNT_VAR)? else {
            return Err(Error::Usage {
                flag: SHARD_COUNT_VAR.into(),
                message: "JOB_COMPLETION_INDEX is set but the shard count is not: set HEADROOM_SHARD_COUNT to the Job's completions".into(),
            });
        };
        (Some(i), count, "JOB_COMPLETION_INDEX, HEADROOM_SHARD_COUNT")
    } else {
        return Ok(None);
    };
    match index {
        Some(index) if count > 0 && index < count => {
            eprintln!("shard {index}/{count} (from {from})");
            Ok(Some(Shard { index, count }))
        }
        _ => Err(Error::Usage {
            flag: from.into(),
            message: format!("shard index {index:?} of {count}: must satisfy 0 <= I < N"),
        }),
    }
}

fn sweep(a: SweepArgs, stop: &AtomicBool) -> Result<(), Error> {
    let a = a.exp;
    let threads = a.threads()?;
    let sw = headroom_montecarlo::sweep::load_sweep(&a.file, a.paths, a.seed)?;
    let first = &sw.points[0].1;
    let out =
        a.out.clone().unwrap_or_else(|| Path::new("results").join(format!("{}-sweep", first.spec.name)));
    let total: u64 = sw.points.iter().map(|(_, e)| e.spec.paths()).sum();
    let bar = progress_bar(total);
    let tick = |k: u64| {
        if let Some(b) = &bar {
            b.inc(k);
        }
    };
    let started = Instant::now();
    let run_opts = RunOptions { threads, progress: Some(&tick), cancel: Some(stop), ..Default::default() };
    let done = headroom_montecarlo::sweep::run_sweep_with(
        &sw,
        &out,
        &run_opts,
        env!("HEADROOM_GIT_COMMIT"),
        &Disk::real(),
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    done?;
    eprintln!(
        "{}: {} points x {} paths in {:.2} s",
        first.spec.name,
        sw.points.len(),
        first.spec.paths(),
        started.elapsed().as_secs_f64()
    );
    println!("sweep: {}", out.join("sweep.csv").display());
    Ok(())
}

fn merge(dirs: &[PathBuf], out: &Path, stop: &AtomicBool) -> Result<(), Error> {
    let opts = WriteOptions {
        git_commit: env!("HEADROOM_GIT_COMMIT").to_string(),
        cancel: Some(stop),
        ..Default::default()
    };
    let info = headroom_montecarlo::merge::merge_with(dirs, out, &opts)?;
    eprintln!("{}: merged {} shards, {} paths", info.name, dirs.len(), info.paths);
    println!("summary: {}", out.join("summary.csv").display());
    Ok(())
}

/// The checked flags of `price` and their quote (the server's `/api/price` answers with it).
pub(crate) fn price_quote(
    spot: f64,
    strike: f64,
    vol: f64,
    days: f64,
    rate: f64,
) -> Result<headroom_pnsplit::PairQuote, Error> {
    headroom_montecarlo::price::PriceInput { spot, strike, vol, days, rate }.quote()
}

fn price(a: &PriceArgs) -> Result<(), Error> {
    let q = price_quote(a.spot, a.strike, a.vol, a.days, a.rate)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&q).unwrap_or_default());
    } else {
        println!("P (min(x, K) at maturity)  {:.4} USD   ETH-delta {:.6}", q.p_usd, q.p_delta);
        println!("N ((x - K)+ at maturity)   {:.4} USD   ETH-delta {:.6}", q.n_usd, q.n_delta);
        println!(
            "P + N = {:.4} = spot; strike {}, vol {}, {} days, rate {}",
            q.p_usd + q.n_usd,
            a.strike,
            a.vol,
            a.days,
            a.rate
        );
    }
    Ok(())
}

fn position(a: &PositionArgs) -> Result<(), Error> {
    let input = headroom_montecarlo::position::PositionInput {
        collateral: a.collateral,
        debt_usd: a.debt,
        price: a.price,
        lt: a.lt,
        bonus: a.bonus,
        vol: a.vol,
        horizon_days: a.horizon_days,
        drift: a.drift,
        oracle_minutes: a.oracle_minutes,
        gap: a.gap,
    };
    let r = input.report_with_mc(a.mc, None)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return Ok(());
    }
    let checks = if a.oracle_minutes > 0.0 {
        format!("checked every {} min", a.oracle_minutes)
    } else {
        "continuous".into()
    };
    println!("health factor          {:.4}", r.health_factor);
    println!(
        "liquidation price      {:.2} USD ({:.2}% below {:.2})",
        r.liquidation_price,
        100.0 * r.distance_pct,
        a.price
    );
    println!(
        "distance               {:.2} sigmas over {} days at {:.0}% vol",
        r.distance_sigmas,
        a.horizon_days,
        100.0 * a.vol
    );
    println!("P(liquidation)         {:.4} continuous, {:.4} {checks}", r.p_liq_continuous, r.p_liq_discrete);
    println!("top-up for a {:.0}% gap   {:.6} units of collateral", 100.0 * a.gap, r.topup_for_gap);
    println!("bonus at risk          {:.2} USD", r.bonus_at_risk_usd);
    if let (Some(p), Some(se)) = (r.p_liq_mc, r.p_liq_mc_se) {
        let every = if a.oracle_minutes > 0.0 {
            a.oracle_minutes
        } else {
            headroom_montecarlo::position::MC_CONTINUOUS_MINUTES
        };
        println!(
            "P(liquidation), simulated  {p:.4} (se {se:.4}, {} paths, checks every {every} min)",
            a.mc.unwrap_or(0)
        );
    }
    Ok(())
}

/// Re-simulates a path of a result folder from its manifest (the engine is deterministic, so the
/// trace is the run's path).
struct EngineTracer;

impl crate::report::PathTracer for EngineTracer {
    fn trace(
        &self,
        dir: &Path,
        kind: headroom_montecarlo::WorldKind,
        path: u64,
    ) -> Result<Option<crate::report::WorldTrace>, String> {
        let m = headroom_montecarlo::merge::read_manifest(dir).map_err(|e| e.to_string())?;
        let spec: headroom_montecarlo::ExperimentSpec =
            serde_json::from_value(m.info.config).map_err(|e| format!("manifest.json config: {e}"))?;
        let exp = Experiment::build(spec, Path::new(&m.info.experiment_file)).map_err(|e| e.to_string())?;
        let Some(t) = exp.trace_path(kind, path) else { return Ok(None) };
        let mut per_step = vec![0u64; t.points.len()];
        for e in &t.events {
            let exit =
                matches!(e.kind, headroom_market::EventKind::Liquidation | headroom_market::EventKind::Roll);
            if exit && (e.step as usize + 1) < per_step.len() {
                per_step[e.step as usize + 1] += 1;
            }
        }
        let exits_cumulative = per_step
            .iter()
            .scan(0u64, |acc, x| {
                *acc += x;
                Some(*acc)
            })
            .collect();
        Ok(Some(crate::report::WorldTrace {
            times_days: t.points.iter().map(|p| p.time_years * 365.0).collect(),
            price: t.points.iter().map(|p| p.price).collect(),
            oracle_price: t.points.iter().map(|p| p.oracle_price).collect(),
            exits_cumulative,
        }))
    }
}

fn report(dirs: &[PathBuf], out: &Path, title: Option<&str>, signals: &Signals) -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let command_line =
        format!("headroom {}", args.iter().skip(1).map(String::as_str).collect::<Vec<_>>().join(" "));
    let tracer = EngineTracer;
    let opts = crate::report::ReportOptions {
        title,
        command_line: Some(&command_line),
        tracer: Some(&tracer),
        cancel: Some(&signals.stop),
        ..Default::default()
    };
    match crate::report::write_report(dirs, out, &opts) {
        Ok(s) => {
            for n in &s.notes {
                eprintln!("note: {n}");
            }
            println!("report: {}", s.markdown.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e, crate::report::ReportError::Interrupted) {
                signals.exit_code(&Error::Interrupted)
            } else if e.is_input_error() {
                2
            } else {
                1
            }
        }
    }
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

/// Removes the JSON nulls (absent options), which TOML cannot write.
pub(crate) fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            o.retain(|_, x| !x.is_null());
            o.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn validate(file: &Path) -> Result<(), Error> {
    let exp = Experiment::from_file(file)?;
    let mut config = headroom_montecarlo::output::resolved_config(&exp);
    strip_nulls(&mut config);
    let text = toml::Value::try_from(&config).and_then(|v| toml::to_string_pretty(&v)).map_err(|e| {
        Error::Usage { flag: "validate".into(), message: format!("cannot print the experiment: {e}") }
    })?;
    println!(
        "# {} is valid: {} borrowers, dt = {} years",
        file.display(),
        exp.cohort.len(),
        exp.env.dt_years
    );
    if let Some(w) = exp.windows() {
        println!(
            "# {} windows from {} to {} ({} skipped across missing rows); summary se by batch means of {} windows",
            w.count,
            w.first_start,
            w.last_end,
            w.skipped,
            w.overlap_windows(exp.env.steps)
        );
    }
    print!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn shard_from_slurm_and_kubernetes() {
        let s = shard_from_env(&env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]));
        assert_eq!(s.unwrap(), Some(Shard { index: 2, count: 4 }));
        let s = shard_from_env(&env(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "2")]));
        assert_eq!(s.unwrap(), Some(Shard { index: 1, count: 2 }));
        let s = shard_from_env(&env(&[("JOB_COMPLETION_INDEX", "0"), ("HEADROOM_SHARD_COUNT", "3")]));
        assert_eq!(s.unwrap(), Some(Shard { index: 0, count: 3 }));
        assert_eq!(shard_from_env(&env(&[])).unwrap(), None);
        for bad in [
            &[("JOB_COMPLETION_INDEX", "0")][..],
            &[("JOB_COMPLETION_INDEX", "3"), ("HEADROOM_SHARD_COUNT", "3")],
            &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "2"), ("SLURM_ARRAY_TASK_COUNT", "2")],
            &[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "2")],
        ] {
            assert!(shard_from_env(&env(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shard_flag_parses() {
        assert_eq!(parse_shard("2/8").unwrap(), Shard { index: 2, count: 8 });
        for bad in ["8/8", "1", "a/2", "0/0", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
