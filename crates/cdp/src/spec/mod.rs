//! The `[cdp]` table of an experiment ([`CdpSpec`]) and its resolution against a protocol preset
//! into the parameters the engine runs with ([`CdpParams`]).
//!
//! Every key with a preset default is optional; a key the chosen protocol's mechanism does not
//! use is rejected ([`CdpError::NotApplicable`]) rather than silently ignored. Preset values and
//! their sources are in docs/MODEL.md (The CDP model).

mod params;
mod resolve;
#[cfg(test)]
mod tests;

pub use params::*;

use crate::error::CdpError;
use headroom_market::{BadPrint, OracleModel};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A protocol preset: its liquidation mechanism and its real parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// Aave v3.3, Ethereum Core WETH: direct liquidation with the v3.3 close-factor and dust rules.
    #[serde(rename = "aave-v3")]
    AaveV3,
    /// Maker Liquidations 1.0 (March 2020): `bite` and `flip` English auctions.
    #[serde(rename = "maker-2020")]
    Maker2020,
    /// Maker / Sky Liquidations 2.0: `bark` and `clip` Dutch auctions.
    #[serde(rename = "maker-2021")]
    Maker2021,
    /// Liquity v1: stability pool, then redistribution.
    #[serde(rename = "liquity-v1")]
    LiquityV1,
    /// Liquity v2 (BOLD): stability pool with a 5% penalty, redistribution with a 10% penalty.
    #[serde(rename = "liquity-v2")]
    LiquityV2,
    /// Compound v3 (Comet): `absorb` and the store-front collateral sale.
    #[serde(rename = "compound-v3")]
    CompoundV3,
    /// A generic direct liquidation: `lt`, `bonus`, `close_factor` (benchmark B1).
    #[serde(rename = "generic")]
    Generic,
}

impl Protocol {
    /// Every preset, in documentation order.
    pub const ALL: [Protocol; 7] = [
        Protocol::AaveV3,
        Protocol::Maker2020,
        Protocol::Maker2021,
        Protocol::LiquityV1,
        Protocol::LiquityV2,
        Protocol::CompoundV3,
        Protocol::Generic,
    ];

    /// The name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::AaveV3 => "aave-v3",
            Protocol::Maker2020 => "maker-2020",
            Protocol::Maker2021 => "maker-2021",
            Protocol::LiquityV1 => "liquity-v1",
            Protocol::LiquityV2 => "liquity-v2",
            Protocol::CompoundV3 => "compound-v3",
            Protocol::Generic => "generic",
        }
    }

    fn family(self) -> Family {
        match self {
            Protocol::AaveV3 | Protocol::Generic => Family::Direct,
            Protocol::Maker2020 => Family::Flip,
            Protocol::Maker2021 => Family::Clip,
            Protocol::LiquityV1 | Protocol::LiquityV2 => Family::Liquity,
            Protocol::CompoundV3 => Family::Absorb,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Direct,
    Flip,
    Clip,
    Liquity,
    Absorb,
}

/// The `[cdp]` table of an experiment: a protocol preset, overrides of its parameters, the
/// liquidators' and borrowers' behaviour, the borrow rate and the oracle the CDP reads.
///
/// Every key, its unit, default and allowed range is listed in docs/EXPERIMENTS.md (`[cdp]`).
/// Fractions are plain numbers (0.05 = 5%); amounts carry their unit in the name (`_usd`,
/// `_eth` for units of the collateral asset, `_minutes`, `_seconds`, `_steps`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdpSpec {
    /// The preset: "aave-v3", "maker-2020", "maker-2021", "liquity-v1", "liquity-v2",
    /// "compound-v3" or "generic".
    pub protocol: Protocol,

    /// Liquidation threshold LT, (0, 1]: liquidatable when `collateral x oracle x LT < debt`.
    /// For Maker it is 1 / liquidation ratio, for Liquity 1 / MCR.
    #[serde(default)]
    pub lt: Option<f64>,
    /// Direct presets: liquidation bonus, [0, 1]: the liquidator seizes `repaid x (1 + bonus)`
    /// of value.
    #[serde(default)]
    pub bonus: Option<f64>,
    /// Direct presets: share of the debt one liquidation may repay, (0, 1]. For aave-v3 the
    /// partial close factor applied above `partial_min_usd` and `full_close_hf`.
    #[serde(default)]
    pub close_factor: Option<f64>,
    /// Direct presets: share of the bonus the protocol keeps (not sold), [0, 1].
    #[serde(default)]
    pub protocol_fee: Option<f64>,
    /// aave-v3: health factor at or below which the close factor is 100%, (0, 1].
    #[serde(default)]
    pub full_close_hf: Option<f64>,
    /// aave-v3: collateral and debt (USD) both at least this for the partial close factor.
    #[serde(default)]
    pub partial_min_usd: Option<f64>,
    /// aave-v3: a partial liquidation must leave at least this much (USD) of both collateral
    /// and debt.
    #[serde(default)]
    pub dust_usd: Option<f64>,
    /// Maker: liquidation penalty `chop`, [0, 1]: the auction raises `debt x (1 + chop)`.
    #[serde(default)]
    pub chop: Option<f64>,
    /// Maker: discount below the market price keepers require to buy, [0, 1).
    #[serde(default)]
    pub keeper_margin: Option<f64>,
    /// maker-2020: bid duration `ttl`, minutes, > 0: the flip auction settles this long after
    /// the bite.
    #[serde(default)]
    pub flip_ttl_minutes: Option<f64>,
    /// maker-2020: number of keepers watching the auctions, 0 to 1000.
    #[serde(default)]
    pub keepers: Option<u32>,
    /// maker-2020: congestion scale `kappa`, auctions, > 0: a keeper fails an auction with
    /// probability `1 - exp(-k / kappa)`, `k` the flip auctions in flight.
    #[serde(default)]
    pub congestion_auctions: Option<f64>,
    /// maker-2020: the winning bid when no keeper bids, as a share of the lot's market value,
    /// [0, 1] (0 = the zero-DAI bids of Black Thursday).
    #[serde(default)]
    pub lone_bid_fraction: Option<f64>,
    /// maker-2021: starting price multiplier `buf` over the oracle price, [1, 100].
    #[serde(default)]
    pub buf: Option<f64>,
    /// maker-2021: price multiplier `cut` per `step_seconds`, (0, 1).
    #[serde(default)]
    pub cut: Option<f64>,
    /// maker-2021: seconds between price cuts (`step`), > 0.
    #[serde(default)]
    pub step_seconds: Option<f64>,
    /// maker-2021: auction age, minutes, after which it must be reset (`tail`), > 0.
    #[serde(default)]
    pub tail_minutes: Option<f64>,
    /// maker-2021: price drop (price / top) below which it must be reset (`cusp`), (0, 1).
    #[serde(default)]
    pub cusp: Option<f64>,
    /// maker-2021: flat keeper reward per kick or reset (`tip`), USD, >= 0.
    #[serde(default)]
    pub tip_usd: Option<f64>,
    /// maker-2021: proportional keeper reward on the tab (`chip`), [0, 1].
    #[serde(default)]
    pub chip: Option<f64>,
    /// Liquity: stability pool size, USD, >= 0 (default: half the cohort's initial debt).
    #[serde(default)]
    pub stability_pool_usd: Option<f64>,
    /// Liquity: share of the collateral the stability pool takes that is sold at once, [0, 1].
    #[serde(default)]
    pub pool_sell_fraction: Option<f64>,
    /// Liquity: share of the collateral paid to the liquidator as gas compensation, [0, 1).
    #[serde(default)]
    pub gas_comp_share: Option<f64>,
    /// liquity-v2: cap of that compensation, units of collateral, > 0.
    #[serde(default)]
    pub gas_comp_cap_eth: Option<f64>,
    /// Liquity: flat compensation paid to the liquidator from the trove's reserve, USD, >= 0.
    #[serde(default)]
    pub gas_comp_usd: Option<f64>,
    /// Liquity: flat compensation in units of collateral from the trove's reserve, >= 0.
    #[serde(default)]
    pub gas_comp_eth: Option<f64>,
    /// liquity-v2: penalty of a stability-pool liquidation, [0, 1]; the rest of the collateral
    /// goes back to the borrower.
    #[serde(default)]
    pub penalty_sp: Option<f64>,
    /// liquity-v2: penalty of a redistribution, [0, 1].
    #[serde(default)]
    pub penalty_redistribution: Option<f64>,
    /// liquity-v1: critical collateral ratio, [1, 10]: recovery mode while the system's total
    /// collateral ratio is below it (default 1.5).
    #[serde(default)]
    pub ccr: Option<f64>,
    /// compound-v3: `liquidationFactor`, (0, 1]: absorb credits `collateral value x factor`.
    #[serde(default)]
    pub liquidation_factor: Option<f64>,
    /// compound-v3: `storeFrontPriceFactor`, [0, 1]: buyers get a discount of
    /// `factor x (1 - liquidation_factor)`.
    #[serde(default)]
    pub store_front_price_factor: Option<f64>,

    /// Steps between a liquidation opportunity and the liquidator's action (0 = in the same
    /// cascade round).
    #[serde(default)]
    pub latency_steps: u32,
    /// The most liquidations one step can hold, [1, 10^9] (default: 12-second blocks in a step
    /// times [`LIQUIDATIONS_PER_BLOCK`]); the rest wait for the next step (`deferred`).
    #[serde(default)]
    pub max_liquidations_per_step: Option<u64>,
    /// The gas a liquidator weighs in its profit check, USD, >= 0 (requires `profit_check`;
    /// default: `[market] gas_usd`, the gas each liquidation pays).
    #[serde(default)]
    pub gas_usd: Option<f64>,
    /// Liquidators act only when what they receive covers the repaid debt, gas and the slippage
    /// of selling it alone (default: true where the protocol leaves the choice to them, aave-v3,
    /// maker-2021 and liquity; false for generic).
    #[serde(default)]
    pub profit_check: Option<bool>,
    /// Relative oracle move, (0, 1), after which a declined liquidation is considered again
    /// (default 0.01).
    #[serde(default)]
    pub profit_recheck_move: Option<f64>,
    /// Borrowers add collateral when their health factor falls below this, [1, 100]; absent =
    /// no top-ups.
    #[serde(default)]
    pub topup_target_hf: Option<f64>,
    /// Health factor a top-up restores, >= `topup_target_hf` (default: `topup_target_hf`).
    #[serde(default)]
    pub topup_restore_hf: Option<f64>,
    /// Steps between a top-up's trigger and the borrower's action.
    #[serde(default)]
    pub topup_latency_steps: u32,
    /// Annual borrow rate, [0, 10], simple (non-compounding) accrual: `interest_usd`.
    #[serde(default)]
    pub borrow_rate: f64,
    /// The oracle the CDP reads (the runner builds the market's oracle from it); default: the one
    /// the protocol reads ([`CdpSpec::oracle_model`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle: Option<OracleModel>,
    /// Injected bad prints on top of the oracle.
    #[serde(default)]
    pub oracle_errors: Vec<BadPrint>,
}

impl CdpSpec {
    /// A spec of `protocol` with every preset default and no bad prints.
    pub fn preset(protocol: Protocol) -> Self {
        CdpSpec {
            protocol,
            lt: None,
            bonus: None,
            close_factor: None,
            protocol_fee: None,
            full_close_hf: None,
            partial_min_usd: None,
            dust_usd: None,
            chop: None,
            keeper_margin: None,
            flip_ttl_minutes: None,
            keepers: None,
            congestion_auctions: None,
            lone_bid_fraction: None,
            buf: None,
            cut: None,
            step_seconds: None,
            tail_minutes: None,
            cusp: None,
            tip_usd: None,
            chip: None,
            stability_pool_usd: None,
            pool_sell_fraction: None,
            gas_comp_share: None,
            gas_comp_cap_eth: None,
            gas_comp_usd: None,
            gas_comp_eth: None,
            penalty_sp: None,
            penalty_redistribution: None,
            ccr: None,
            liquidation_factor: None,
            store_front_price_factor: None,
            latency_steps: 0,
            max_liquidations_per_step: None,
            gas_usd: None,
            profit_check: None,
            profit_recheck_move: None,
            topup_target_hf: None,
            topup_restore_hf: None,
            topup_latency_steps: 0,
            borrow_rate: 0.0,
            oracle: None,
            oracle_errors: Vec::new(),
        }
    }

    /// The oracle the CDP reads: the one given, or the one the protocol reads (docs/MODEL.md,
    /// Defaults as deployed): Maker's OSM with its one-hour hop; Chainlink's ETH/USD feed (0.5%
    /// deviation, 1 h heartbeat) for Aave, Compound and Liquity; the spot price for generic.
    pub fn oracle_model(&self) -> OracleModel {
        if let Some(o) = &self.oracle {
            return o.clone();
        }
        match self.protocol {
            Protocol::Maker2020 | Protocol::Maker2021 => OracleModel::Osm { hop_hours: 1.0 },
            Protocol::AaveV3 | Protocol::CompoundV3 | Protocol::LiquityV1 | Protocol::LiquityV2 => {
                OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 1.0 }
            }
            Protocol::Generic => OracleModel::Spot,
        }
    }

    /// Checks every key: ranges, keys that do not apply to the protocol, the oracle and its bad
    /// prints. The error names the key and its allowed range.
    pub fn validate(&self) -> Result<(), CdpError> {
        self.resolve().map(|_| ())
    }
}
