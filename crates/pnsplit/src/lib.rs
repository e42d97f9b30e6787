//! The P/N split: one unit of an asset split into two claims P and N whose values always sum
//! to the unit's value, settled once at maturity by a slow oracle, and rolled to lower strikes
//! to keep P's value stable in USD (docs/MODEL.md).
//!
//! * [`payoff`]: how a settlement price divides a unit between P and N (capped, linear, binary).
//! * [`pricing`]: Black-Scholes values and ETH-deltas of P and N before maturity.
//! * [`settlement`]: the slow settlement oracle and the zero-sum settlement transfer.
//! * [`spec`]: the `[pn]` table of an experiment.
//! * [`world`]: the P/N world, a [`headroom_market::Primitive`] the experiment runner drives.
//! * [`b2`]: benchmark B2's inputs and a single-path driver.
//!
//! Architecture invariants: no I/O; library functions return [`PnError`] on bad input and never
//! panic; a step costs O(log n) plus the rolls it performs and allocates nothing once its
//! buffers have grown.

#![warn(missing_docs)]

pub mod b2;
pub mod error;
pub mod payoff;
pub mod pricing;
pub mod settlement;
pub mod spec;
pub mod world;

pub use error::PnError;
pub use payoff::Payoff;
pub use pricing::{bs_call, quote, PairQuote};
pub use settlement::{Manipulation, SettlementMethod, SettlementSpec};
pub use spec::{Execution, PayoffShape, PnSpec, RollPolicy};
pub use world::{InvariantStats, PnWorld};
