//! The `[cdp]` table of an experiment ([`CdpSpec`]) and its resolution against a protocol preset
//! into the parameters the engine runs with ([`CdpParams`]).
//!
//! Every key with a preset default is optional; a key the chosen protocol's mechanism does not
//! use is rejected ([`CdpError::NotApplicable`]) rather than silently ignored. Preset values and
//! their sources are in docs/MODEL.md (The CDP model).

use crate::error::{CdpError, Range};
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
    /// Gas cost of one liquidation, USD, >= 0 (requires `profit_check = true`).
    #[serde(default)]
    pub gas_usd: f64,
    /// Liquidators act only when what they receive covers the repaid debt, gas and the slippage
    /// of selling it alone.
    #[serde(default)]
    pub profit_check: bool,
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
    /// The oracle the CDP reads (the runner builds the market's oracle from it).
    #[serde(default)]
    pub oracle: OracleModel,
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
            liquidation_factor: None,
            store_front_price_factor: None,
            latency_steps: 0,
            max_liquidations_per_step: None,
            gas_usd: 0.0,
            profit_check: false,
            profit_recheck_move: None,
            topup_target_hf: None,
            topup_restore_hf: None,
            topup_latency_steps: 0,
            borrow_rate: 0.0,
            oracle: OracleModel::Spot,
            oracle_errors: Vec::new(),
        }
    }

    /// Checks every key: ranges, keys that do not apply to the protocol, the oracle and its bad
    /// prints. The error names the key and its allowed range.
    pub fn validate(&self) -> Result<(), CdpError> {
        self.resolve().map(|_| ())
    }

    /// The parameters the engine runs with: the preset's values overridden by the keys given.
    pub fn resolve(&self) -> Result<CdpParams, CdpError> {
        let proto = self.protocol;
        let fam = proto.family();
        let na = |key: &'static str, ok: &[Protocol]| CdpError::NotApplicable {
            key,
            protocol: proto.name(),
            applies_to: ok.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
        };
        // `pick(key, given, allowed presets, range, preset default)`.
        let pick = |key: &'static str,
                    given: Option<f64>,
                    ok: &[Protocol],
                    range: Range,
                    default: f64|
         -> Result<f64, CdpError> {
            match given {
                Some(v) if !ok.contains(&proto) => {
                    let _ = v;
                    Err(na(key, ok))
                }
                Some(v) => range.check(key, v),
                None => Ok(default),
            }
        };
        const DIRECT: &[Protocol] = &[Protocol::AaveV3, Protocol::Generic];
        const AAVE: &[Protocol] = &[Protocol::AaveV3];
        const MAKER: &[Protocol] = &[Protocol::Maker2020, Protocol::Maker2021];
        const FLIP: &[Protocol] = &[Protocol::Maker2020];
        const CLIP: &[Protocol] = &[Protocol::Maker2021];
        const LIQUITY: &[Protocol] = &[Protocol::LiquityV1, Protocol::LiquityV2];
        const LIQUITY2: &[Protocol] = &[Protocol::LiquityV2];
        const COMP: &[Protocol] = &[Protocol::CompoundV3];
        const PROFIT: &[Protocol] = &[
            Protocol::AaveV3,
            Protocol::Generic,
            Protocol::Maker2021,
            Protocol::LiquityV1,
            Protocol::LiquityV2,
        ];

        let default_lt = match proto {
            Protocol::AaveV3 | Protocol::Generic => 0.83,
            Protocol::Maker2020 | Protocol::Maker2021 => 1.0 / 1.5,
            Protocol::LiquityV1 | Protocol::LiquityV2 => 1.0 / 1.1,
            Protocol::CompoundV3 => 0.84,
        };
        let lt = pick("lt", self.lt, &Protocol::ALL, Range::open_closed(0.0, 1.0), default_lt)?;

        let is_aave = proto == Protocol::AaveV3;
        let bonus = pick("bonus", self.bonus, DIRECT, Range::closed(0.0, 1.0), 0.05)?;
        let close_factor = pick(
            "close_factor",
            self.close_factor,
            DIRECT,
            Range::open_closed(0.0, 1.0),
            if is_aave { 0.5 } else { 1.0 },
        )?;
        let protocol_fee = pick(
            "protocol_fee",
            self.protocol_fee,
            DIRECT,
            Range::closed(0.0, 1.0),
            if is_aave { 0.1 } else { 0.0 },
        )?;
        let full_close_hf =
            pick("full_close_hf", self.full_close_hf, AAVE, Range::open_closed(0.0, 1.0), 0.95)?;
        let partial_min_usd =
            pick("partial_min_usd", self.partial_min_usd, AAVE, Range::at_least(0.0), 2000.0)?;
        let dust_usd = pick("dust_usd", self.dust_usd, AAVE, Range::at_least(0.0), 1000.0)?;
        if is_aave && lt * (1.0 + bonus) > 1.0 {
            return Err(CdpError::invalid(
                "bonus",
                bonus,
                format!("lt x (1 + bonus) must be <= 1 (Aave's configuration rule), here lt = {lt}"),
            ));
        }

        let chop = pick("chop", self.chop, MAKER, Range::closed(0.0, 1.0), 0.13)?;
        let keeper_margin = pick(
            "keeper_margin",
            self.keeper_margin,
            MAKER,
            Range::closed_open(0.0, 1.0),
            if proto == Protocol::Maker2020 { 0.03 } else { 0.01 },
        )?;
        let flip_ttl_minutes =
            pick("flip_ttl_minutes", self.flip_ttl_minutes, FLIP, Range::above(0.0), 10.0)?;
        let keepers = match self.keepers {
            Some(_) if !FLIP.contains(&proto) => return Err(na("keepers", FLIP)),
            Some(k) if k > 1000 => return Err(CdpError::invalid("keepers", k, "must be within [0, 1000]")),
            Some(k) => k,
            None => 3,
        };
        let congestion_auctions =
            pick("congestion_auctions", self.congestion_auctions, FLIP, Range::above(0.0), 20.0)?;
        let lone_bid_fraction =
            pick("lone_bid_fraction", self.lone_bid_fraction, FLIP, Range::closed(0.0, 1.0), 0.0)?;
        let buf = pick("buf", self.buf, CLIP, Range::closed(1.0, 100.0), 1.2)?;
        let cut = pick("cut", self.cut, CLIP, Range::open(0.0, 1.0), 0.99)?;
        let step_seconds = pick("step_seconds", self.step_seconds, CLIP, Range::above(0.0), 90.0)?;
        let tail_minutes = pick("tail_minutes", self.tail_minutes, CLIP, Range::above(0.0), 90.0)?;
        let cusp = pick("cusp", self.cusp, CLIP, Range::open(0.0, 1.0), 0.4)?;
        let tip_usd = pick("tip_usd", self.tip_usd, CLIP, Range::at_least(0.0), 300.0)?;
        let chip = pick("chip", self.chip, CLIP, Range::closed(0.0, 1.0), 0.001)?;

        let v2 = proto == Protocol::LiquityV2;
        let stability_pool_usd = match self.stability_pool_usd {
            Some(_) if !LIQUITY.contains(&proto) => return Err(na("stability_pool_usd", LIQUITY)),
            Some(v) => Some(Range::at_least(0.0).check("stability_pool_usd", v)?),
            None => None,
        };
        let pool_sell_fraction =
            pick("pool_sell_fraction", self.pool_sell_fraction, LIQUITY, Range::closed(0.0, 1.0), 1.0)?;
        let gas_comp_share =
            pick("gas_comp_share", self.gas_comp_share, LIQUITY, Range::closed_open(0.0, 1.0), 0.005)?;
        let gas_comp_cap_eth = pick(
            "gas_comp_cap_eth",
            self.gas_comp_cap_eth,
            LIQUITY2,
            Range::above(0.0),
            if v2 { 2.0 } else { f64::INFINITY },
        )?;
        let gas_comp_usd = pick(
            "gas_comp_usd",
            self.gas_comp_usd,
            LIQUITY,
            Range::at_least(0.0),
            if v2 { 0.0 } else { 200.0 },
        )?;
        let gas_comp_eth = pick(
            "gas_comp_eth",
            self.gas_comp_eth,
            LIQUITY,
            Range::at_least(0.0),
            if v2 { 0.0375 } else { 0.0 },
        )?;
        let penalty_sp = pick("penalty_sp", self.penalty_sp, LIQUITY2, Range::closed(0.0, 1.0), 0.05)?;
        let penalty_redistribution = pick(
            "penalty_redistribution",
            self.penalty_redistribution,
            LIQUITY2,
            Range::closed(0.0, 1.0),
            0.10,
        )?;
        let liquidation_factor =
            pick("liquidation_factor", self.liquidation_factor, COMP, Range::open_closed(0.0, 1.0), 0.95)?;
        let store_front_price_factor = pick(
            "store_front_price_factor",
            self.store_front_price_factor,
            COMP,
            Range::closed(0.0, 1.0),
            0.5,
        )?;

        // Liquidators.
        if self.profit_check && !PROFIT.contains(&proto) {
            return Err(na("profit_check", PROFIT));
        }
        let gas_usd = Range::at_least(0.0).check("gas_usd", self.gas_usd)?;
        if gas_usd > 0.0 && !self.profit_check {
            return Err(CdpError::invalid("gas_usd", gas_usd, "gas is used only with profit_check = true"));
        }
        let max_per_step = match self.max_liquidations_per_step {
            Some(v) if !(1..=MAX_LIQUIDATIONS_PER_STEP).contains(&v) => {
                return Err(CdpError::invalid(
                    "max_liquidations_per_step",
                    v,
                    format!("must be within [1, {MAX_LIQUIDATIONS_PER_STEP}]"),
                ))
            }
            v => v,
        };
        let recheck_move = match self.profit_recheck_move {
            Some(v) if !self.profit_check => {
                return Err(CdpError::invalid("profit_recheck_move", v, "requires profit_check = true"))
            }
            Some(v) => Range::open(0.0, 1.0).check("profit_recheck_move", v)?,
            None => 0.01,
        };

        // Borrowers.
        let topup = match self.topup_target_hf {
            None => {
                if let Some(v) = self.topup_restore_hf {
                    return Err(CdpError::invalid("topup_restore_hf", v, "requires topup_target_hf"));
                }
                if self.topup_latency_steps != 0 {
                    return Err(CdpError::invalid(
                        "topup_latency_steps",
                        self.topup_latency_steps,
                        "requires topup_target_hf",
                    ));
                }
                None
            }
            Some(target) => {
                let target_hf = Range::closed(1.0, 100.0).check("topup_target_hf", target)?;
                let restore_hf = match self.topup_restore_hf {
                    Some(v) => Range::closed(target_hf, 100.0).check("topup_restore_hf", v)?,
                    None => target_hf,
                };
                Some(TopUpParams { target_hf, restore_hf, latency_steps: self.topup_latency_steps })
            }
        };
        let borrow_rate = Range::closed(0.0, 10.0).check("borrow_rate", self.borrow_rate)?;
        self.oracle.validate().map_err(|e| CdpError::Market { key: "oracle".into(), source: e })?;
        for (i, b) in self.oracle_errors.iter().enumerate() {
            b.validate().map_err(|e| CdpError::Market { key: format!("oracle_errors[{i}]"), source: e })?;
        }

        let mechanism = match fam {
            Family::Direct => Mechanism::Direct(DirectParams {
                bonus,
                close_factor,
                protocol_fee,
                aave: is_aave.then_some(AaveRules { full_close_hf, partial_min_usd, dust_usd }),
            }),
            Family::Flip => Mechanism::Flip(FlipParams {
                chop,
                keeper_margin,
                ttl_minutes: flip_ttl_minutes,
                keepers,
                congestion_auctions,
                lone_bid_fraction,
            }),
            Family::Clip => Mechanism::Clip(ClipParams {
                chop,
                keeper_margin,
                buf,
                cut,
                step_seconds,
                tail_minutes,
                cusp,
                tip_usd,
                chip,
            }),
            Family::Liquity => Mechanism::Liquity(LiquityParams {
                stability_pool_usd,
                pool_sell_fraction,
                gas_comp_share,
                gas_comp_cap_eth,
                gas_comp_usd,
                gas_comp_eth,
                penalties: v2
                    .then_some(LiquityPenalties { sp: penalty_sp, redistribution: penalty_redistribution }),
            }),
            Family::Absorb => {
                Mechanism::Absorb(AbsorbParams { liquidation_factor, store_front_price_factor })
            }
        };
        Ok(CdpParams {
            protocol: proto,
            lt,
            mechanism,
            liquidator: LiquidatorParams {
                latency_steps: self.latency_steps,
                max_per_step,
                gas_usd,
                profit_check: self.profit_check,
                recheck_move,
            },
            topup,
            borrow_rate,
        })
    }
}

/// The resolved parameters of the CDP world.
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
        v.push(("gas_usd", l.gas_usd.to_string()));
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
    /// Gas cost of one liquidation, USD.
    pub gas_usd: f64,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<CdpSpec, String> {
        toml::from_str::<CdpSpec>(s).map_err(|e| e.to_string())
    }

    #[test]
    fn presets_resolve_with_their_sources_values() {
        let p = CdpSpec::preset(Protocol::AaveV3).resolve().unwrap();
        assert_eq!(p.lt, 0.83);
        let Mechanism::Direct(d) = p.mechanism else { panic!() };
        assert_eq!((d.bonus, d.close_factor, d.protocol_fee), (0.05, 0.5, 0.1));
        assert_eq!(
            d.aave,
            Some(AaveRules { full_close_hf: 0.95, partial_min_usd: 2000.0, dust_usd: 1000.0 })
        );
        let p = CdpSpec::preset(Protocol::Maker2021).resolve().unwrap();
        assert!((p.lt - 1.0 / 1.5).abs() < 1e-15);
        let Mechanism::Clip(c) = p.mechanism else { panic!() };
        assert_eq!((c.buf, c.cut, c.step_seconds, c.tail_minutes, c.cusp), (1.2, 0.99, 90.0, 90.0, 0.4));
        assert_eq!((c.chop, c.tip_usd, c.chip), (0.13, 300.0, 0.001));
        let p = CdpSpec::preset(Protocol::LiquityV2).resolve().unwrap();
        let Mechanism::Liquity(l) = p.mechanism else { panic!() };
        assert_eq!(l.penalties, Some(LiquityPenalties { sp: 0.05, redistribution: 0.10 }));
        for proto in Protocol::ALL {
            let p = CdpSpec::preset(proto).resolve().unwrap();
            assert_eq!(p.entries()[0], ("protocol", proto.name().to_string()));
        }
    }

    #[test]
    fn toml_keys_parse_and_unknown_keys_are_rejected() {
        let s = parse(
            "protocol = \"generic\"\nlt = 0.83\nbonus = 0.05\nclose_factor = 1\nborrow_rate = 0.05\n\
             [oracle]\nmodel = \"spot\"\n[[oracle_errors]]\nstart_hours = 1\nhold_hours = 2\nerror = -0.1\n",
        )
        .unwrap();
        assert_eq!(s.close_factor, Some(1.0));
        assert_eq!(s.oracle_errors.len(), 1);
        s.validate().unwrap();
        let e = parse("protocol = \"generic\"\nltv = 0.8\n").unwrap_err();
        assert!(e.contains("ltv"), "{e}");
        let e = parse("protocol = \"aave-v4\"\n").unwrap_err();
        assert!(e.contains("aave-v4"), "{e}");
    }

    fn err(s: CdpSpec) -> String {
        s.validate().unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key_and_range() {
        let mut s = CdpSpec::preset(Protocol::Generic);
        s.lt = Some(1.2);
        assert_eq!(err(s), "lt = 1.2: must be within (0, 1]");
        let mut s = CdpSpec::preset(Protocol::Generic);
        s.lt = Some(0.0);
        assert_eq!(err(s), "lt = 0: must be within (0, 1]");
        let mut s = CdpSpec::preset(Protocol::AaveV3);
        s.buf = Some(1.1);
        assert!(err(s).starts_with("buf does not apply to protocol \"aave-v3\""));
        let mut s = CdpSpec::preset(Protocol::AaveV3);
        s.lt = Some(0.97);
        s.bonus = Some(0.05);
        assert!(err(s).starts_with("bonus = 0.05: lt x (1 + bonus) must be <= 1"));
        let mut s = CdpSpec::preset(Protocol::Maker2021);
        s.cut = Some(1.0);
        assert_eq!(err(s), "cut = 1: must be within (0, 1)");
        let mut s = CdpSpec::preset(Protocol::Generic);
        s.gas_usd = 5.0;
        assert!(err(s).starts_with("gas_usd = 5: "));
        let mut s = CdpSpec::preset(Protocol::CompoundV3);
        s.profit_check = true;
        assert!(err(s).starts_with("profit_check does not apply"));
        let mut s = CdpSpec::preset(Protocol::Generic);
        s.topup_target_hf = Some(1.2);
        s.topup_restore_hf = Some(1.1);
        assert_eq!(err(s), "topup_restore_hf = 1.1: must be within [1.2, 100]");
        let mut s = CdpSpec::preset(Protocol::Generic);
        s.borrow_rate = -0.1;
        assert_eq!(err(s), "borrow_rate = -0.1: must be within [0, 10]");
        let mut s = CdpSpec::preset(Protocol::Generic);
        s.oracle_errors.push(BadPrint {
            start_hours: 0.0,
            ramp_in_hours: 0.0,
            hold_hours: 1.0,
            ramp_out_hours: 0.0,
            error: -1.5,
        });
        assert!(err(s).starts_with("oracle_errors[0]: error = -1.5"));
        let mut s = CdpSpec::preset(Protocol::Maker2020);
        s.keepers = Some(5000);
        assert_eq!(err(s), "keepers = 5000: must be within [0, 1000]");
        let mut s = CdpSpec::preset(Protocol::LiquityV1);
        s.penalty_sp = Some(0.05);
        assert!(err(s).starts_with("penalty_sp does not apply to protocol \"liquity-v1\""));
    }
}
