//! Experiment files: the TOML format, its defaults and its validation.
//!
//! Every key, its unit, default and range is documented in docs/EXPERIMENTS.md. Unknown keys are
//! errors everywhere (`deny_unknown_fields`). Model tables (`[market.process]`, `[cdp]`, `[pn]`)
//! are the model crates' own serde types, so a key is defined once, next to the code that reads it.

use crate::error::{Error, Result};
use headroom_cdp::CdpSpec;
use headroom_market::{Frictions, Liquidity, ProcessSpec, ShockSpec};
use headroom_pnsplit::PnSpec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A world of an experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorldKind {
    /// The CDP world.
    Cdp,
    /// The P/N split world.
    Pn,
}

impl WorldKind {
    /// The label in CSV files (`cdp`, `pn`).
    pub fn label(self) -> &'static str {
        match self {
            WorldKind::Cdp => "cdp",
            WorldKind::Pn => "pn",
        }
    }
    /// The index of the world's own random stream.
    pub fn stream_index(self) -> u32 {
        match self {
            WorldKind::Cdp => 0,
            WorldKind::Pn => 1,
        }
    }
}

fn default_seed() -> u64 {
    42
}
/// Paths of an experiment whose file does not say (a `windows` process runs every window).
pub const DEFAULT_PATHS: u64 = 1000;
fn default_worlds() -> Vec<WorldKind> {
    vec![WorldKind::Cdp, WorldKind::Pn]
}

/// An experiment file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Short name; the default output folder is `results/<name>/`.
    pub name: String,
    /// What the experiment is for (free text, copied to the manifest and reports).
    #[serde(default)]
    pub description: String,
    /// Master seed of every random stream.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Number of paths (overridden by `--paths`); absent: every window of a `windows` process,
    /// else [`DEFAULT_PATHS`]. [`crate::Experiment::build`] fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<u64>,
    /// The worlds to run on common random numbers: `["cdp"]`, `["pn"]` or both.
    #[serde(default = "default_worlds")]
    pub worlds: Vec<WorldKind>,
    /// Length of a path, days.
    pub horizon_days: f64,
    /// Steps of a path (dt = horizon / steps).
    pub steps: u64,
    /// The market both worlds share.
    pub market: MarketSpec,
    /// The borrowers, shared by both worlds.
    pub cohort: CohortSpec,
    /// The CDP world's protocol (required when `worlds` has `cdp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdp: Option<CdpSpec>,
    /// The P/N world's splits and roll policy (required when `worlds` has `pn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pn: Option<PnSpec>,
    /// Whether `headroom run` also writes `report.md` (tables and plots) into the result folder
    /// (unsharded runs only).
    #[serde(default)]
    pub report: bool,
    /// Reference figures (public incident figures, an independent implementation's means) that
    /// reports set beside the model's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<ReferenceFigure>,
    /// A grid for `headroom sweep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<toml::Table>,
}

/// A figure the model's result is set beside in reports (`[[reference]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceFigure {
    /// What it is, in words ("accounts liquidated").
    pub label: String,
    /// The primitive whose metric it compares with: `cdp`, `pn` or `diff`.
    pub primitive: String,
    /// The metric (a paths.csv column).
    pub metric: String,
    /// The reference value.
    pub value: f64,
    /// Its standard error, when it is itself an estimate (a benchmark's mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub se: Option<f64>,
    /// Where it comes from.
    pub source: String,
}

/// The `[market]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// Price of the asset at the start of every path, USD (ignored by a replay, which starts at
    /// its first price).
    pub start_price: f64,
    /// The exogenous price process.
    pub process: ProcessSpec,
    /// Shocks layered on the process (gaps, wicks), at fixed or random times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shocks: Vec<ShockSpec>,
    /// The liquidity model forced sales and rolls go through (default: no impact).
    #[serde(default)]
    pub liquidity: Liquidity,
    /// Half-life of price impact, hours; absent: impact is permanent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resilience_half_life_hours: Option<f64>,
    /// Gas per transaction, USD (a liquidation, an auction take, a holder's roll), paid by its
    /// sender to the validators. Default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gas_usd: f64,
    /// Share of each forced sale or roll's sale that a searcher sandwiches, in [0, 1]. Default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub frontrun_share: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl MarketSpec {
    /// The frictions of every trade.
    pub fn frictions(&self) -> Frictions {
        Frictions { gas_usd: self.gas_usd, frontrun_share: self.frontrun_share }
    }
}

/// The `[cohort]` table: where the borrowers come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum CohortSpec {
    /// A deterministic ladder (benchmark B1): `collateral_i = collateral * (1 + i mod cycle)`,
    /// `hf_i = hf_min + (hf_max - hf_min) (i + 0.5) / positions`,
    /// `debt_i = collateral_i * start_price * lt / hf_i`.
    Ladder {
        /// Number of positions.
        positions: u64,
        /// Collateral of the smallest position, units of the asset.
        collateral: f64,
        /// Number of distinct sizes (`1 + i mod cycle`).
        #[serde(default = "one_u64")]
        cycle: u64,
        /// Lowest initial health factor.
        hf_min: f64,
        /// Highest initial health factor.
        hf_max: f64,
        /// The liquidation threshold the health factors refer to.
        lt: f64,
    },
    /// Random positions drawn once per experiment from the setup stream of the seed: log-normal
    /// collateral (median, log-sd) and health factors uniform in [hf_min, hf_max].
    Random {
        /// Number of positions.
        positions: u64,
        /// Median collateral, units of the asset.
        collateral_median: f64,
        /// Standard deviation of ln(collateral).
        #[serde(default)]
        collateral_log_sd: f64,
        /// Lowest initial health factor.
        hf_min: f64,
        /// Highest initial health factor.
        hf_max: f64,
        /// The liquidation threshold the health factors refer to.
        lt: f64,
    },
    /// Positions from a CSV with columns `id,collateral,debt` (debt in USD).
    Csv {
        /// The file, relative to the experiment file.
        file: PathBuf,
    },
}

fn one_u64() -> u64 {
    1
}

/// The most paths one run may have (2^40): path indices must stay exact in f64 columns.
pub const MAX_PATHS: u64 = 1 << 40;

impl ExperimentSpec {
    /// Parses an experiment from TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Parse { file: file.to_path_buf(), message: e.to_string() })
    }

    /// Reads and parses an experiment file.
    pub fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|e| Error::read(file, e))?;
        Self::parse(&text, file)
    }

    /// Step length, years (a year is 365 days).
    pub fn dt_years(&self) -> f64 {
        self.horizon_days / 365.0 / self.steps as f64
    }

    /// Number of paths: `paths`, or [`DEFAULT_PATHS`] before [`crate::Experiment::build`] has
    /// filled it in.
    pub fn paths(&self) -> u64 {
        self.paths.unwrap_or(DEFAULT_PATHS)
    }

    /// Whether the experiment runs `world`.
    pub fn has(&self, world: WorldKind) -> bool {
        self.worlds.contains(&world)
    }

    /// Every range problem, each `key.path = value: allowed`; empty when valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut add = |key: &str, r: std::result::Result<(), String>| {
            if let Err(m) = r {
                p.push(format!("{key}{m}"));
            }
        };
        if self.name.is_empty()
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            add(
                "name",
                Err(format!(" = {:?}: must be non-empty letters, digits, '-', '_' or '.'", self.name)),
            );
        }
        if let Some(paths) = self.paths.filter(|&p| p == 0 || p > MAX_PATHS) {
            add("paths", Err(format!(" = {paths}: must be within [1, {MAX_PATHS}]")));
        }
        if self.worlds.is_empty() {
            add("worlds", Err(" = []: must list \"cdp\", \"pn\" or both".into()));
        }
        let mut sorted = self.worlds.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.worlds.len() {
            add("worlds", Err(" lists a world twice: allowed \"cdp\", \"pn\" or both".into()));
        }
        if !(self.horizon_days.is_finite() && self.horizon_days > 0.0) {
            add("horizon_days", Err(format!(" = {}: must be > 0", self.horizon_days)));
        }
        if self.steps == 0 || self.steps > 100_000_000 {
            add("steps", Err(format!(" = {}: must be within [1, 100000000]", self.steps)));
        }
        let m = &self.market;
        if !(m.start_price.is_finite() && m.start_price > 0.0) {
            add("market.start_price", Err(format!(" = {}: must be > 0", m.start_price)));
        }
        add("market.process.", m.process.validate().map_err(|e| e.to_string()));
        add("market.liquidity.", m.liquidity.validate().map_err(|e| e.to_string()));
        add("market.", m.frictions().validate().map_err(|e| e.to_string()));
        for (i, sh) in m.shocks.iter().enumerate() {
            add(&format!("market.shocks[{i}]."), sh.validate().map_err(|e| e.to_string()));
        }
        if let Some(h) = m.resilience_half_life_hours {
            if !(h.is_finite() && h > 0.0) {
                add(
                    "market.resilience_half_life_hours",
                    Err(format!(" = {h}: must be > 0 (omit it for permanent impact)")),
                );
            }
        }
        add("cohort.", validate_cohort(&self.cohort));
        for (i, r) in self.reference.iter().enumerate() {
            if !["cdp", "pn", "diff"].contains(&r.primitive.as_str()) {
                add(
                    &format!("reference[{i}].primitive"),
                    Err(format!(" = {:?}: allowed \"cdp\", \"pn\", \"diff\"", r.primitive)),
                );
            }
            let known = crate::columns::all_metrics().any(|m| m.name == r.metric);
            if !known {
                add(
                    &format!("reference[{i}].metric"),
                    Err(format!(" = {:?}: must be a column of paths.csv", r.metric)),
                );
            }
            if !r.value.is_finite() || r.se.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
                add(&format!("reference[{i}]"), Err(": value must be finite and se >= 0".into()));
            }
        }
        if self.has(WorldKind::Cdp) {
            match &self.cdp {
                None => add("cdp", Err(": missing table [cdp]: required because worlds has \"cdp\"".into())),
                Some(c) => add("cdp.", c.validate().map_err(|e| e.to_string())),
            }
        }
        if self.has(WorldKind::Pn) {
            match &self.pn {
                None => add("pn", Err(": missing table [pn]: required because worlds has \"pn\"".into())),
                Some(c) => add("pn.", c.validate().map_err(|e| e.to_string())),
            }
        }
        p
    }

    /// Checks every range; the error lists every problem.
    pub fn validate(&self, file: &Path) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid { file: file.to_path_buf(), problems })
        }
    }
}

fn validate_cohort(c: &CohortSpec) -> std::result::Result<(), String> {
    let pos = |k: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(format!("{k} = {v}: must be > 0"))
        }
    };
    let hf = |lo: f64, hi: f64| {
        if lo.is_finite() && hi.is_finite() && lo > 0.0 && hi >= lo {
            Ok(())
        } else {
            Err(format!("hf_min = {lo}, hf_max = {hi}: must satisfy 0 < hf_min <= hf_max"))
        }
    };
    let lt_ok = |lt: f64| {
        if lt > 0.0 && lt <= 1.0 {
            Ok(())
        } else {
            Err(format!("lt = {lt}: must be within (0, 1]"))
        }
    };
    let count = |n: u64| {
        if (1..=10_000_000).contains(&n) {
            Ok(())
        } else {
            Err(format!("positions = {n}: must be within [1, 10000000]"))
        }
    };
    match *c {
        CohortSpec::Ladder { positions, collateral, cycle, hf_min, hf_max, lt } => {
            count(positions)?;
            pos("collateral", collateral)?;
            if cycle == 0 {
                return Err("cycle = 0: must be >= 1".into());
            }
            hf(hf_min, hf_max)?;
            lt_ok(lt)
        }
        CohortSpec::Random { positions, collateral_median, collateral_log_sd, hf_min, hf_max, lt } => {
            count(positions)?;
            pos("collateral_median", collateral_median)?;
            if !(collateral_log_sd.is_finite() && collateral_log_sd >= 0.0) {
                return Err(format!("collateral_log_sd = {collateral_log_sd}: must be >= 0"));
            }
            hf(hf_min, hf_max)?;
            lt_ok(lt)
        }
        CohortSpec::Csv { .. } => Ok(()),
    }
}
