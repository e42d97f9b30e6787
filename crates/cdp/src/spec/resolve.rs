//! Resolving a `[cdp]` table against its preset: every key given is first checked to apply to
//! the protocol ([`CdpError::NotApplicable`] otherwise), then each mechanism takes its keys with
//! their ranges and the preset's defaults (sources in docs/MODEL.md, The CDP model).

use super::{CdpSpec, Family, Protocol};
use crate::error::{CdpError, Range};
use crate::spec::params::*;

use Protocol::*;

const ALL: &[Protocol] = &Protocol::ALL;
const DIRECT: &[Protocol] = &[AaveV3, Generic];
const AAVE: &[Protocol] = &[AaveV3];
const MAKER: &[Protocol] = &[Maker2020, Maker2021];
const FLIP: &[Protocol] = &[Maker2020];
const CLIP: &[Protocol] = &[Maker2021];
const LIQUITY: &[Protocol] = &[LiquityV1, LiquityV2];
const LIQUITY1: &[Protocol] = &[LiquityV1];
const LIQUITY2: &[Protocol] = &[LiquityV2];
const COMP: &[Protocol] = &[CompoundV3];
/// Presets whose liquidators may decline (Compound's absorb and Maker's flip bids are not
/// theirs to weigh).
const PROFIT: &[Protocol] = &[AaveV3, Generic, Maker2021, LiquityV1, LiquityV2];

/// Each optional key and the presets it applies to, in the order of the keys' documentation.
fn applicable(s: &CdpSpec) -> [(&'static str, bool, &'static [Protocol]); 31] {
    [
        ("lt", s.lt.is_some(), ALL),
        ("bonus", s.bonus.is_some(), DIRECT),
        ("close_factor", s.close_factor.is_some(), DIRECT),
        ("protocol_fee", s.protocol_fee.is_some(), DIRECT),
        ("full_close_hf", s.full_close_hf.is_some(), AAVE),
        ("partial_min_usd", s.partial_min_usd.is_some(), AAVE),
        ("dust_usd", s.dust_usd.is_some(), AAVE),
        ("chop", s.chop.is_some(), MAKER),
        ("keeper_margin", s.keeper_margin.is_some(), MAKER),
        ("flip_ttl_minutes", s.flip_ttl_minutes.is_some(), FLIP),
        ("keepers", s.keepers.is_some(), FLIP),
        ("congestion_auctions", s.congestion_auctions.is_some(), FLIP),
        ("lone_bid_fraction", s.lone_bid_fraction.is_some(), FLIP),
        ("buf", s.buf.is_some(), CLIP),
        ("cut", s.cut.is_some(), CLIP),
        ("step_seconds", s.step_seconds.is_some(), CLIP),
        ("tail_minutes", s.tail_minutes.is_some(), CLIP),
        ("cusp", s.cusp.is_some(), CLIP),
        ("tip_usd", s.tip_usd.is_some(), CLIP),
        ("chip", s.chip.is_some(), CLIP),
        ("stability_pool_usd", s.stability_pool_usd.is_some(), LIQUITY),
        ("pool_sell_fraction", s.pool_sell_fraction.is_some(), LIQUITY),
        ("gas_comp_share", s.gas_comp_share.is_some(), LIQUITY),
        ("gas_comp_cap_eth", s.gas_comp_cap_eth.is_some(), LIQUITY2),
        ("gas_comp_usd", s.gas_comp_usd.is_some(), LIQUITY),
        ("gas_comp_eth", s.gas_comp_eth.is_some(), LIQUITY),
        ("penalty_sp", s.penalty_sp.is_some(), LIQUITY2),
        ("penalty_redistribution", s.penalty_redistribution.is_some(), LIQUITY2),
        ("ccr", s.ccr.is_some(), LIQUITY1),
        ("liquidation_factor", s.liquidation_factor.is_some(), COMP),
        ("store_front_price_factor", s.store_front_price_factor.is_some(), COMP),
    ]
}

fn not_applicable(key: &'static str, protocol: Protocol, ok: &[Protocol]) -> CdpError {
    CdpError::NotApplicable {
        key,
        protocol: protocol.name(),
        applies_to: ok.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
    }
}

/// A key's value: the one given, checked against its range, or the preset's default.
fn pick(key: &'static str, given: Option<f64>, range: Range, default: f64) -> Result<f64, CdpError> {
    match given {
        Some(v) => range.check(key, v),
        None => Ok(default),
    }
}

impl CdpSpec {
    /// The parameters the engine runs with: the preset's values overridden by the keys given.
    pub fn resolve(&self) -> Result<CdpParams, CdpError> {
        let proto = self.protocol;
        for (key, given, ok) in applicable(self) {
            if given && !ok.contains(&proto) {
                return Err(not_applicable(key, proto, ok));
            }
        }
        if self.profit_check == Some(true) && !PROFIT.contains(&proto) {
            return Err(not_applicable("profit_check", proto, PROFIT));
        }
        let default_lt = match proto {
            AaveV3 | Generic => 0.83,
            Maker2020 | Maker2021 => 1.0 / 1.5,
            LiquityV1 | LiquityV2 => 1.0 / 1.1,
            CompoundV3 => 0.84,
        };
        let lt = pick("lt", self.lt, Range::open_closed(0.0, 1.0), default_lt)?;
        let mechanism = match proto.family() {
            Family::Direct => Mechanism::Direct(self.direct(lt)?),
            Family::Flip => Mechanism::Flip(self.flip()?),
            Family::Clip => Mechanism::Clip(self.clip()?),
            Family::Liquity => Mechanism::Liquity(self.liquity()?),
            Family::Absorb => Mechanism::Absorb(self.absorb()?),
        };
        let liquidator = self.liquidator()?;
        let topup = self.topup()?;
        let borrow_rate = Range::closed(0.0, 10.0).check("borrow_rate", self.borrow_rate)?;
        self.oracle_model().validate().map_err(|e| CdpError::Market { key: "oracle".into(), source: e })?;
        for (i, b) in self.oracle_errors.iter().enumerate() {
            b.validate().map_err(|e| CdpError::Market { key: format!("oracle_errors[{i}]"), source: e })?;
        }
        Ok(CdpParams { protocol: proto, lt, mechanism, liquidator, topup, borrow_rate })
    }

    /// generic and aave-v3 (Aave v3.3, Ethereum Core WETH).
    fn direct(&self, lt: f64) -> Result<DirectParams, CdpError> {
        let aave = self.protocol == AaveV3;
        let bonus = pick("bonus", self.bonus, Range::closed(0.0, 1.0), 0.05)?;
        let close_factor = pick(
            "close_factor",
            self.close_factor,
            Range::open_closed(0.0, 1.0),
            if aave { 0.5 } else { 1.0 },
        )?;
        let protocol_fee =
            pick("protocol_fee", self.protocol_fee, Range::closed(0.0, 1.0), if aave { 0.1 } else { 0.0 })?;
        let rules = if aave {
            if lt * (1.0 + bonus) > 1.0 {
                return Err(CdpError::invalid(
                    "bonus",
                    bonus,
                    format!("lt x (1 + bonus) must be <= 1 (Aave's configuration rule), here lt = {lt}"),
                ));
            }
            Some(AaveRules {
                full_close_hf: pick("full_close_hf", self.full_close_hf, Range::open_closed(0.0, 1.0), 0.95)?,
                partial_min_usd: pick("partial_min_usd", self.partial_min_usd, Range::at_least(0.0), 2000.0)?,
                dust_usd: pick("dust_usd", self.dust_usd, Range::at_least(0.0), 1000.0)?,
            })
        } else {
            None
        };
        Ok(DirectParams { bonus, close_factor, protocol_fee, aave: rules })
    }

    /// Maker's penalty and keepers' margin, both liquidation systems.
    fn maker(&self, margin: f64) -> Result<(f64, f64), CdpError> {
        Ok((
            pick("chop", self.chop, Range::closed(0.0, 1.0), 0.13)?,
            pick("keeper_margin", self.keeper_margin, Range::closed_open(0.0, 1.0), margin)?,
        ))
    }

    /// maker-2020: flip auctions (March 2020).
    fn flip(&self) -> Result<FlipParams, CdpError> {
        let (chop, keeper_margin) = self.maker(0.03)?;
        let keepers = match self.keepers {
            Some(k) if k > 1000 => return Err(CdpError::invalid("keepers", k, "must be within [0, 1000]")),
            Some(k) => k,
            None => 3,
        };
        Ok(FlipParams {
            chop,
            keeper_margin,
            ttl_minutes: pick("flip_ttl_minutes", self.flip_ttl_minutes, Range::above(0.0), 10.0)?,
            keepers,
            congestion_auctions: pick(
                "congestion_auctions",
                self.congestion_auctions,
                Range::above(0.0),
                20.0,
            )?,
            lone_bid_fraction: pick(
                "lone_bid_fraction",
                self.lone_bid_fraction,
                Range::closed(0.0, 1.0),
                0.0,
            )?,
        })
    }

    /// maker-2021: clip auctions (Liquidations 2.0).
    fn clip(&self) -> Result<ClipParams, CdpError> {
        let (chop, keeper_margin) = self.maker(0.01)?;
        Ok(ClipParams {
            chop,
            keeper_margin,
            buf: pick("buf", self.buf, Range::closed(1.0, 100.0), 1.2)?,
            cut: pick("cut", self.cut, Range::open(0.0, 1.0), 0.99)?,
            step_seconds: pick("step_seconds", self.step_seconds, Range::above(0.0), 90.0)?,
            tail_minutes: pick("tail_minutes", self.tail_minutes, Range::above(0.0), 90.0)?,
            cusp: pick("cusp", self.cusp, Range::open(0.0, 1.0), 0.4)?,
            tip_usd: pick("tip_usd", self.tip_usd, Range::at_least(0.0), 300.0)?,
            chip: pick("chip", self.chip, Range::closed(0.0, 1.0), 0.001)?,
        })
    }

    /// liquity-v1 and liquity-v2 (the WETH branch).
    fn liquity(&self) -> Result<LiquityParams, CdpError> {
        let v2 = self.protocol == LiquityV2;
        let stability_pool_usd = match self.stability_pool_usd {
            Some(v) => Some(Range::at_least(0.0).check("stability_pool_usd", v)?),
            None => None,
        };
        let penalties = if v2 {
            Some(LiquityPenalties {
                sp: pick("penalty_sp", self.penalty_sp, Range::closed(0.0, 1.0), 0.05)?,
                redistribution: pick(
                    "penalty_redistribution",
                    self.penalty_redistribution,
                    Range::closed(0.0, 1.0),
                    0.10,
                )?,
            })
        } else {
            None
        };
        Ok(LiquityParams {
            stability_pool_usd,
            pool_sell_fraction: pick(
                "pool_sell_fraction",
                self.pool_sell_fraction,
                Range::closed(0.0, 1.0),
                1.0,
            )?,
            gas_comp_share: pick("gas_comp_share", self.gas_comp_share, Range::closed_open(0.0, 1.0), 0.005)?,
            gas_comp_cap_eth: pick(
                "gas_comp_cap_eth",
                self.gas_comp_cap_eth,
                Range::above(0.0),
                if v2 { 2.0 } else { f64::INFINITY },
            )?,
            gas_comp_usd: pick(
                "gas_comp_usd",
                self.gas_comp_usd,
                Range::at_least(0.0),
                if v2 { 0.0 } else { 200.0 },
            )?,
            gas_comp_eth: pick(
                "gas_comp_eth",
                self.gas_comp_eth,
                Range::at_least(0.0),
                if v2 { 0.0375 } else { 0.0 },
            )?,
            penalties,
            // LiquityBase.sol: CCR 150%.
            ccr: if v2 { None } else { Some(pick("ccr", self.ccr, Range::closed(1.0, 10.0), 1.5)?) },
        })
    }

    /// compound-v3 (Comet's absorb and store front).
    fn absorb(&self) -> Result<AbsorbParams, CdpError> {
        Ok(AbsorbParams {
            liquidation_factor: pick(
                "liquidation_factor",
                self.liquidation_factor,
                Range::open_closed(0.0, 1.0),
                0.95,
            )?,
            store_front_price_factor: pick(
                "store_front_price_factor",
                self.store_front_price_factor,
                Range::closed(0.0, 1.0),
                0.5,
            )?,
        })
    }

    /// The liquidators: latency, the step's bound, gas and the profitability check.
    fn liquidator(&self) -> Result<LiquidatorParams, CdpError> {
        // Liquidators weigh profit by default where the protocol leaves it to them.
        let profit_check =
            self.profit_check.unwrap_or(PROFIT.contains(&self.protocol) && self.protocol != Generic);
        let gas_usd = match self.gas_usd {
            Some(g) => Some(Range::at_least(0.0).check("gas_usd", g)?),
            None => None,
        };
        if let Some(g) = gas_usd.filter(|&g| g > 0.0 && !profit_check) {
            return Err(CdpError::invalid("gas_usd", g, "gas is used only with profit_check = true"));
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
            Some(v) if !profit_check => {
                return Err(CdpError::invalid("profit_recheck_move", v, "requires profit_check = true"))
            }
            Some(v) => Range::open(0.0, 1.0).check("profit_recheck_move", v)?,
            None => 0.01,
        };
        Ok(LiquidatorParams {
            latency_steps: self.latency_steps,
            max_per_step,
            gas_usd,
            profit_check,
            recheck_move,
        })
    }

    /// The borrowers' top-ups, if a target is given.
    fn topup(&self) -> Result<Option<TopUpParams>, CdpError> {
        let Some(target) = self.topup_target_hf else {
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
            return Ok(None);
        };
        let target_hf = Range::closed(1.0, 100.0).check("topup_target_hf", target)?;
        let restore_hf = match self.topup_restore_hf {
            Some(v) => Range::closed(target_hf, 100.0).check("topup_restore_hf", v)?,
            None => target_hf,
        };
        Ok(Some(TopUpParams { target_hf, restore_hf, latency_steps: self.topup_latency_steps }))
    }
}
