//! The experiment layer of Headroom: experiment files (TOML), the cohort, the deterministic
//! parallel runner, summary statistics and the output files (paths.csv, summary.csv,
//! manifest.json, events.csv).
//!
//! Architecture invariants: a path's result depends only on (experiment, seed, path index); the
//! runner keeps one block of per-path metric rows, never prices, and hands it to a sink (paths.csv
//! and the spilled columns of [`spill::RowStore`]), so memory does not grow with the number of
//! paths; the summary is computed from the columns exactly ([`colstats`]); every output is
//! written into a hidden staging folder and renamed into place, and never replaces anything
//! headroom did not write ([`target`]).
//!
//! To run an experiment and read its summary and per-path rows as a library:
//!
//! ```no_run
//! use headroom_montecarlo::{spill::RowStore, Experiment, RunOptions};
//! # fn main() -> headroom_montecarlo::Result<()> {
//! let exp = Experiment::from_file(std::path::Path::new("experiments/quickstart.toml"))?;
//! let mut rows = RowStore::temporary(&exp.kinds(), 0)?;
//! let _events = exp.run_blocks(&RunOptions { paths: 0..exp.spec.paths(), ..Default::default() }, &mut rows)?;
//! for row in rows.summary(exp.se_method(), None)? {
//!     println!("{} {} mean {}", row.primitive, row.metric, row.stats.mean);
//! }
//! for r in rows.rows()? {
//!     let (path, world, metrics) = r?;
//!     println!("{path} {} {}", world.label(), metrics.exits);
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod builds;
pub mod cohort;
pub mod colstats;
pub mod columns;
pub mod error;
pub mod frame;
pub mod merge;
pub mod output;
pub mod position;
pub mod price;
pub mod runner;
pub mod spec;
pub mod spill;
pub mod staging;
pub mod stats;
pub mod sweep;
pub mod target;
pub mod walk;
pub mod windows;

pub use error::{Error, Result};
pub use runner::{Experiment, PathTrace, RunOptions, RunResult, TracePoint};
pub use spec::{ExperimentSpec, WorldKind};
