//! The market every Headroom world lives in: exogenous price processes and shocks, liquidity
//! (what a forced sale does to the price), oracles (what a primitive sees of it), reproducible
//! random streams, and the shared vocabulary of the other crates: the cohort of borrowers, the
//! per-path metrics, and the [`world::Primitive`] seam where the CDP and the P/N split plug in.
//!
//! Architecture invariants: this crate does no I/O except loading an input CSV when a process is
//! built ([`Exogenous::build`]); the per-step code takes `&mut PathRng` and allocates nothing.

#![warn(missing_docs)]

pub mod bridge;
pub mod cohort;
pub mod correlation;
pub mod error;
pub mod frictions;
pub mod ledger;
pub mod liquidity;
pub mod metrics;
pub mod oracle;
pub mod process;
pub mod rng;
mod series;
pub mod settlement;
pub mod shock;
#[cfg(test)]
mod testutil;
pub mod world;

pub use cohort::{Borrower, Cohort, Ladder};
pub use correlation::CorrelatedNormals;
pub use error::{CorrelationError, MarketError};
pub use frictions::{Frictions, Sandwich};
pub use ledger::{Ledger, Party};
pub use liquidity::{Fill, Liquidity};
pub use metrics::{Event, EventKind, EventSink, PathMetrics};
pub use oracle::{BadPrint, Oracle, OracleModel};
pub use process::{ExoPath, Exogenous, ProcessSpec, Window, WindowsInfo, LOOKBACK_DAYS};
pub use rng::{stream, PathRng, Purpose};
pub use settlement::{Manipulation, PriceHistory, SettlementMethod, SettlementSpec};
pub use shock::{ShockSpec, ShockTime};
pub use world::{Primitive, StepCtx, WorldEnv, WorldMarket};
