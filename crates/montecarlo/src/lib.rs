//! The experiment layer of Headroom: experiment files (TOML), the cohort, the deterministic
//! parallel runner, summary statistics and the output files (paths.csv, summary.csv,
//! manifest.json, events.csv).
//!
//! Architecture invariants: a path's result depends only on (experiment, seed, path index); the
//! runner stores per-path metric rows, never prices; every output is written into a temporary
//! folder and renamed into place.

#![warn(missing_docs)]

pub mod cohort;
pub mod columns;
pub mod error;
pub mod frame;
pub mod merge;
pub mod output;
pub mod position;
pub mod price;
pub mod runner;
pub mod spec;
pub mod stats;
pub mod sweep;
pub mod walk;
pub mod windows;

pub use error::{Error, Result};
pub use runner::{Experiment, PathTrace, RunOptions, RunResult, TracePoint};
pub use spec::{ExperimentSpec, WorldKind};
