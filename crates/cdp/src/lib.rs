//! The CDP world of Headroom: positions under a protocol's real liquidation rules, liquidators
//! and keepers with latency and costs, borrowers' top-ups, and the cascade of forced sales
//! through the market (docs/MODEL.md).
//!
//! * [`CdpSpec`]: the `[cdp]` table of an experiment (protocol preset, overrides, behaviour,
//!   borrow rate, oracle), checked by [`CdpSpec::validate`] and resolved into [`CdpParams`].
//! * [`CdpWorld`]: built by [`CdpWorld::new`] from a spec, a cohort and the world's environment;
//!   implements [`headroom_market::Primitive`], so the runner drives it path by path and step by
//!   step and reads its [`headroom_market::PathMetrics`].
//! * [`mechanics`]: each mechanism's liquidation rule as a pure function (generic, Aave v3.3,
//!   Maker flip and clip, Liquity v1/v2, Compound v3), with its formula and source.
//!
//! Architecture invariants: no I/O; the per-step code allocates nothing in steady state and never
//! scans the cohort (a step costs O(log n) plus the positions it acts on); randomness comes only
//! from the world's own stream passed to [`headroom_market::Primitive::step`].

#![warn(missing_docs)]
// `!(a > b)` is meant: it is true when either side is NaN, so a NaN price liquidates nothing.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

/// What the hand-computed tests of the mechanics and bookings share.
#[cfg(test)]
mod testutil {
    /// Whether `a` and `b` agree to 1e-9 of the larger (absolutely, below 1).
    pub(crate) fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }
}

/// Asserts that `$got` is [`testutil::close`] to `$want`, naming the expression when not.
#[cfg(test)]
macro_rules! check {
    ($got:expr, $want:expr) => {
        assert!($crate::testutil::close($got, $want), "{} = {} != {}", stringify!($got), $got, $want)
    };
}

mod book;
pub mod booking;
pub mod error;
pub mod mechanics;
pub mod spec;
pub mod world;

pub use error::CdpError;
pub use spec::{CdpParams, CdpSpec, Mechanism, Protocol};
pub use world::{CdpWorld, CollateralLedger, PositionState};
