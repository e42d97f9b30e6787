//! The command line's arguments (clap): each subcommand's flags, their help text and defaults.

use clap::{Parser, Subcommand};
use headroom_montecarlo::Error;
use std::path::PathBuf;

/// Headroom: CDP liquidations against P/N option splits on the same Monte Carlo paths.
#[derive(Parser, Debug)]
#[command(name = "headroom", version, about, long_about = None)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Run an experiment and write paths.csv, summary.csv and manifest.json.
    Run(RunArgs),
    /// Run the grid in the file's [sweep] table, every point on the same seed; writes sweep.csv.
    Sweep(SweepArgs),
    /// Check an experiment and print it resolved, or every problem with its key path.
    Validate {
        /// The experiment file (TOML).
        file: PathBuf,
    },
    /// Black-Scholes values and ETH-deltas of one P/N pair.
    Price(PriceArgs),
    /// Where one position's trigger sits: liquidation price, distance, probability of liquidation.
    Position(PositionArgs),
    /// Write a markdown report with tables and SVG plots of result or sweep folders.
    Report {
        /// Result folders (of run, merge or sweep).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The markdown file; its plots go to FILE_files/ beside it.
        #[arg(long)]
        out: PathBuf,
        /// Title of the report (default: from the experiments' names).
        #[arg(long)]
        title: Option<String>,
    },
    /// Serve a local page where one position walks toward its trigger (docs/simulator.md).
    Serve(crate::serve::ServeArgs),
    /// Merge shard folders into one result, byte-identical to the unsharded run.
    Merge {
        /// The shard folders (any order).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged result folder.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub(super) struct PriceArgs {
    /// Price of the asset, USD.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) spot: f64,
    /// Strike K of the pair, USD.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) strike: f64,
    /// Pricing volatility, annualised (0.9 = 90%).
    #[arg(long, allow_negative_numbers = true)]
    pub(super) vol: f64,
    /// Days to maturity.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) days: f64,
    /// Interest rate, annualised, continuously compounded.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) rate: f64,
    /// Print JSON (keys p_usd, n_usd, p_delta, n_delta).
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(clap::Args, Debug)]
pub(super) struct PositionArgs {
    /// Collateral, units of the asset.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) collateral: f64,
    /// Debt, USD.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) debt: f64,
    /// Price of the asset now, USD.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) price: f64,
    /// Liquidation threshold, in (0, 1].
    #[arg(long, allow_negative_numbers = true)]
    pub(super) lt: f64,
    /// Liquidation bonus, a fraction (0.05 = 5%).
    #[arg(long, allow_negative_numbers = true)]
    pub(super) bonus: f64,
    /// Annualised volatility (0.8 = 80%).
    #[arg(long, allow_negative_numbers = true)]
    pub(super) vol: f64,
    /// Horizon, days.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) horizon_days: f64,
    /// Annualised drift of the price.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) drift: f64,
    /// Minutes between oracle checks (0 = continuous).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) oracle_minutes: f64,
    /// An instant drop to survive, a fraction (0.3 = 30%), for topup_for_gap.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) gap: f64,
    /// Also simulate N paths with the engine of `headroom run` (p_liq_mc and its standard error).
    #[arg(long)]
    pub(super) mc: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
}

/// What `run` and `sweep` share: the experiment and how to run it.
#[derive(clap::Args, Debug)]
pub(super) struct ExperimentArgs {
    /// The experiment file (TOML); `sweep` needs a [sweep] table in it.
    pub(super) file: PathBuf,
    /// Number of paths, of every point of a sweep (overrides the file's `paths`).
    #[arg(long)]
    pub(super) paths: Option<u64>,
    /// Master seed, the same at every point of a sweep (overrides the file's `seed`).
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Worker threads (default: one per core). The output does not depend on it.
    #[arg(long)]
    pub(super) threads: Option<usize>,
    /// Output folder (default: results/NAME/ for `run`, results/NAME-sweep/ for `sweep`, NAME
    /// the experiment's name).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
}

impl ExperimentArgs {
    /// `--threads`, checked (>= 1) and applied to every parallel part of the command.
    pub(super) fn threads(&self) -> Result<Option<usize>, Error> {
        if self.threads == Some(0) {
            return Err(Error::Usage { flag: "--threads".into(), message: "0: must be >= 1".into() });
        }
        if let Some(t) = self.threads {
            // Fails only if the global pool already exists, which a command does not build before.
            let _ = rayon::ThreadPoolBuilder::new().num_threads(t).build_global();
        }
        Ok(self.threads)
    }
}

#[derive(clap::Args, Debug)]
pub(super) struct SweepArgs {
    #[command(flatten)]
    pub(super) exp: ExperimentArgs,
}

#[derive(clap::Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub(super) exp: ExperimentArgs,
    /// Run shard I of N (0-based), e.g. `--shard 2/8`.
    #[arg(long)]
    pub(super) shard: Option<String>,
    /// Skip paths.csv (the summary is still computed from every path).
    #[arg(long)]
    pub(super) no_paths: bool,
    /// Write events.csv: one row per liquidation or roll of the first `--event-paths` paths.
    #[arg(long)]
    pub(super) events: bool,
    /// How many paths `--events` records.
    #[arg(long, default_value_t = 10)]
    pub(super) event_paths: u64,
}
