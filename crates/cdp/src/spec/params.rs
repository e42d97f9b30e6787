//! The resolved parameters of the CDP world ([`CdpParams`]): what each mechanism runs with once
//! a preset's defaults and the experiment's keys are combined, and the bound of a step's work.

use super::Protocol;

/// The resolved parameters of the CDP world (the oracle is [`super::CdpSpec::oracle_model`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdpParams {
    /// The preset.
    pub protocol: Protocol,
    /// Liquidation threshold (0, 1].
    pub lt: f64,
    /// The liquidation mechanism and its parameters.
    pub mechanism: Mechanism,
    /// Liquidators' behaviour.
    pub liquidator: LiquidatorParams,
    /// Borrowers' top-ups, if any.
    pub topup: Option<TopUpParams>,
    /// Annual borrow rate (simple accrual).
    pub borrow_rate: f64,
}

impl CdpParams {
    /// Every resolved value as `(key, value)` text, in the order of the keys' documentation;
    /// the stability pool's default is described when not given.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> =
            vec![("protocol", self.protocol.name().to_string()), ("lt", self.lt.to_string())];
        match &self.mechanism {
            Mechanism::Direct(d) => {
                v.push(("bonus", d.bonus.to_string()));
                v.push(("close_factor", d.close_factor.to_string()));
                v.push(("protocol_fee", d.protocol_fee.to_string()));
                if let Some(a) = d.aave {
                    v.push(("full_close_hf", a.full_close_hf.to_string()));
                    v.push(("partial_min_usd", a.partial_min_usd.to_string()));
                    v.push(("dust_usd", a.dust_usd.to_string()));
                }
            }
            Mechanism::Flip(f) => {
                v.push(("chop", f.chop.to_string()));
                v.push(("keeper_margin", f.keeper_margin.to_string()));
                v.push(("flip_ttl_minutes", f.ttl_minutes.to_string()));
                v.push(("keepers", f.keepers.to_string()));
                v.push(("congestion_auctions", f.congestion_auctions.to_string()));
                v.push(("lone_bid_fraction", f.lone_bid_fraction.to_string()));
            }
            Mechanism::Clip(c) => {
                v.push(("chop", c.chop.to_string()));
                v.push(("keeper_margin", c.keeper_margin.to_string()));
                v.push(("buf", c.buf.to_string()));
                v.push(("cut", c.cut.to_string()));
                v.push(("step_seconds", c.step_seconds.to_string()));
                v.push(("tail_minutes", c.tail_minutes.to_string()));
                v.push(("cusp", c.cusp.to_string()));
                v.push(("tip_usd", c.tip_usd.to_string()));
                v.push(("chip", c.chip.to_string()));
            }
            Mechanism::Liquity(l) => {
                v.push((
                    "stability_pool_usd",
                    match l.stability_pool_usd {
                        Some(x) => x.to_string(),
                        None => "half the cohort's initial debt".to_string(),
                    },
                ));
                v.push(("pool_sell_fraction", l.pool_sell_fraction.to_string()));
                v.push(("gas_comp_share", l.gas_comp_share.to_string()));
                if l.gas_comp_cap_eth.is_finite() {
                    v.push(("gas_comp_cap_eth", l.gas_comp_cap_eth.to_string()));
                }
                v.push(("gas_comp_usd", l.gas_comp_usd.to_string()));
                v.push(("gas_comp_eth", l.gas_comp_eth.to_string()));
                if let Some(p) = l.penalties {
                    v.push(("penalty_sp", p.sp.to_string()));
                    v.push(("penalty_redistribution", p.redistribution.to_string()));
                }
                if let Some(ccr) = l.ccr {
                    v.push(("ccr", ccr.to_string()));
                }
            }
            Mechanism::Absorb(a) => {
                v.push(("liquidation_factor", a.liquidation_factor.to_string()));
                v.push(("store_front_price_factor", a.store_front_price_factor.to_string()));
            }
        }
        let l = &self.liquidator;
        v.push(("latency_steps", l.latency_steps.to_string()));
        v.push((
            "max_liquidations_per_step",
            match l.max_per_step {
                Some(n) => n.to_string(),
                None => format!("{LIQUIDATIONS_PER_BLOCK} a 12-second block of the step"),
            },
        ));
        if let Some(g) = l.gas_usd {
            v.push(("gas_usd", g.to_string()));
        }
        v.push(("profit_check", l.profit_check.to_string()));
        if l.profit_check {
            v.push(("profit_recheck_move", l.recheck_move.to_string()));
        }
        if let Some(t) = self.topup {
            v.push(("topup_target_hf", t.target_hf.to_string()));
            v.push(("topup_restore_hf", t.restore_hf.to_string()));
            v.push(("topup_latency_steps", t.latency_steps.to_string()));
        }
        v.push(("borrow_rate", self.borrow_rate.to_string()));
        v
    }
}

/// Liquidations one 12-second Ethereum block holds: a 30,000,000 gas limit (2021 to early 2025)
/// over about 300,000 gas a liquidation (Liquity v1 README, "Liquidation gas costs": 215k to
/// 400k gas for one trove liquidated alone). docs/MODEL.md (A step always ends).
pub const LIQUIDATIONS_PER_BLOCK: u64 = 100;

/// Seconds between Ethereum blocks since the Merge.
pub const BLOCK_SECONDS: f64 = 12.0;

/// The largest `max_liquidations_per_step` accepted.
pub const MAX_LIQUIDATIONS_PER_STEP: u64 = 1_000_000_000;

/// The default bound of liquidations in a step of `dt_years`: its 12-second blocks (at least
/// one, rounded) times [`LIQUIDATIONS_PER_BLOCK`], at most [`MAX_LIQUIDATIONS_PER_STEP`].
pub fn default_max_liquidations_per_step(dt_years: f64) -> u64 {
    let blocks = (dt_years * 365.0 * 86_400.0 / BLOCK_SECONDS).round().max(1.0);
    (blocks * LIQUIDATIONS_PER_BLOCK as f64).min(MAX_LIQUIDATIONS_PER_STEP as f64) as u64
}

/// A liquidation mechanism with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mechanism {
    /// A liquidator repays debt and seizes collateral with a bonus (generic, aave-v3).
    Direct(DirectParams),
    /// Maker 2020: bite, then a flip English auction.
    Flip(FlipParams),
    /// Maker 2021+: bark, then a clip Dutch auction.
    Clip(ClipParams),
    /// Liquity: stability pool, then redistribution.
    Liquity(LiquityParams),
    /// Compound v3: absorb, then the store-front sale.
    Absorb(AbsorbParams),
}

/// Direct liquidation parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DirectParams {
    /// Liquidation bonus.
    pub bonus: f64,
    /// Close factor (generic: always; aave: when the partial rule applies).
    pub close_factor: f64,
    /// Share of the bonus kept by the protocol.
    pub protocol_fee: f64,
    /// Aave v3.3's rules, for aave-v3.
    pub aave: Option<AaveRules>,
}

/// Aave v3.3's close-factor and dust rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AaveRules {
    /// HF at or below which the whole debt may be repaid (0.95).
    pub full_close_hf: f64,
    /// Collateral and debt (USD) both at least this for the partial close factor (2,000).
    pub partial_min_usd: f64,
    /// Minimum leftover of collateral and debt after a partial liquidation (1,000).
    pub dust_usd: f64,
}

/// Maker 2020 flip auction parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlipParams {
    /// Liquidation penalty.
    pub chop: f64,
    /// Keepers' required discount below the market.
    pub keeper_margin: f64,
    /// Bid duration, minutes.
    pub ttl_minutes: f64,
    /// Number of keepers.
    pub keepers: u32,
    /// Congestion scale, auctions in flight.
    pub congestion_auctions: f64,
    /// Winning bid without keepers, share of the lot's market value.
    pub lone_bid_fraction: f64,
}

/// Maker 2021+ clip auction parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipParams {
    /// Liquidation penalty.
    pub chop: f64,
    /// Keepers' required discount below the market.
    pub keeper_margin: f64,
    /// Start price over the oracle price.
    pub buf: f64,
    /// Price multiplier per step.
    pub cut: f64,
    /// Seconds per price step.
    pub step_seconds: f64,
    /// Maximum auction age before a reset, minutes.
    pub tail_minutes: f64,
    /// Minimum price / top before a reset.
    pub cusp: f64,
    /// Flat keeper reward, USD.
    pub tip_usd: f64,
    /// Proportional keeper reward on the tab.
    pub chip: f64,
}

/// Liquity parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiquityParams {
    /// Stability pool size, USD (None: half the cohort's initial debt).
    pub stability_pool_usd: Option<f64>,
    /// Share of the pool's collateral sold at once.
    pub pool_sell_fraction: f64,
    /// Share of the collateral to the liquidator.
    pub gas_comp_share: f64,
    /// Cap on that share, units of collateral (infinite for v1).
    pub gas_comp_cap_eth: f64,
    /// Flat compensation, USD.
    pub gas_comp_usd: f64,
    /// Flat compensation, units of collateral (valued at the market price).
    pub gas_comp_eth: f64,
    /// v2's penalties (v1: the pool or the other troves take all the collateral).
    pub penalties: Option<LiquityPenalties>,
    /// v1's critical collateral ratio: recovery mode while the system's TCR is below it (v2 has
    /// no recovery mode: None).
    pub ccr: Option<f64>,
}

/// Liquity v2's liquidation penalties.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiquityPenalties {
    /// Penalty of a stability-pool offset.
    pub sp: f64,
    /// Penalty of a redistribution.
    pub redistribution: f64,
}

/// Compound v3 absorb parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AbsorbParams {
    /// `liquidationFactor`.
    pub liquidation_factor: f64,
    /// `storeFrontPriceFactor`.
    pub store_front_price_factor: f64,
}

/// Liquidators' behaviour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiquidatorParams {
    /// Steps between an opportunity and the action.
    pub latency_steps: u32,
    /// The most liquidations in one step (None: [`default_max_liquidations_per_step`]).
    pub max_per_step: Option<u64>,
    /// The gas a liquidator weighs in its profit check, USD (None: the market's gas).
    pub gas_usd: Option<f64>,
    /// Whether liquidators check profitability.
    pub profit_check: bool,
    /// Relative oracle move after which a declined liquidation is reconsidered.
    pub recheck_move: f64,
}

/// Borrowers' top-ups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopUpParams {
    /// Trigger: HF below this.
    pub target_hf: f64,
    /// HF the top-up restores.
    pub restore_hf: f64,
    /// Steps between the trigger and the top-up.
    pub latency_steps: u32,
}
