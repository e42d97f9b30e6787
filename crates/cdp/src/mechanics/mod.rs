//! The liquidation rules of each mechanism, as pure functions of one position's collateral `c`
//! (units), debt `d` (USD) and the price the liquidation uses.
//!
//! Each rule returns an [`Outcome`]: what leaves the position and where it goes, in units of the
//! collateral and in USD, so that [`crate::booking`] can book it in the ledger at the true market
//! price. The units balance (`seized + returned + redistributed + left in the position = c`) and
//! so do the USD flows (`takers_get - takers_pay + borrower + lender + protocol = 0`): the ledger's
//! conservation rests on it (tested as a property).
//!
//! The breakdown every rule also returns (docs/MODEL.md, The ledger of the CDP world):
//! `fee_usd`, the incentive the liquidation pays above the debt its takers take over, valued at
//! the liquidation's (oracle) price `x`; the units `priced` at `x` in it, so that the signed
//! mispricing of the liquidation is `priced (p - x)`; and `shortfall_usd`, the debt the position's
//! own collateral leaves unpaid. Sources are in docs/MODEL.md (The CDP model).

mod absorb;
mod direct;
mod liquity;
mod maker;

pub use absorb::absorb;
pub use direct::direct;
pub use liquity::{liquity, liquity_recovery, pool_available, MIN_IN_POOL_USD};
pub use maker::*;

/// What one liquidation does to a position and who receives what.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Collateral taken from the position by liquidators, the protocol or the pool (units; not
    /// what is redistributed or returned).
    pub seized: f64,
    /// Of `seized`, the units the protocol keeps (Aave's fee share).
    pub to_protocol: f64,
    /// Of `seized`, the units sold on the market in the round (by the takers).
    pub sold: f64,
    /// USD paid to the lender against the debt (by the liquidator, the pool or the reserves).
    pub repaid_usd: f64,
    /// USD the takers pay (the liquidator's repayment, the pool's offset, the buyers' price).
    pub takers_pay_usd: f64,
    /// Flat USD the takers receive (Liquity's gas compensation).
    pub takers_get_usd: f64,
    /// USD to the borrower (Compound's surplus credit), negative for what it gives up (Liquity's
    /// gas reserve).
    pub borrower_usd: f64,
    /// USD to the protocol (negative: what its reserves pay).
    pub protocol_usd: f64,
    /// The incentive at the oracle's valuation, USD (see the module docs).
    pub fee_usd: f64,
    /// Units valued at the oracle price in `fee_usd`: the mispricing is `priced (p - x)`.
    pub priced: f64,
    /// Debt the position's own collateral leaves unpaid, USD.
    pub shortfall_usd: f64,
    /// Collateral given back to the owner when the position closes (units).
    pub returned: f64,
    /// Collateral left in the position (0 when closed).
    pub coll_after: f64,
    /// Debt left in the position, USD (0 when closed).
    pub debt_after: f64,
    /// Whether the position is closed.
    pub closed: bool,
    /// Collateral the liquidator receives (to value its profit).
    pub liquidator_coll: f64,
    /// Flat USD the liquidator receives.
    pub liquidator_usd_in: f64,
    /// USD the liquidator pays.
    pub liquidator_usd_out: f64,
    /// Liquity: collateral handed to the other positions.
    pub redistributed_coll: f64,
    /// Liquity: debt handed to the other positions, USD.
    pub redistributed_debt: f64,
}
