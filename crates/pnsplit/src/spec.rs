//! The `[pn]` table of an experiment: payoff, maturity, roll policy, fees, pricing, the roll
//! oracle, the settlement oracle and the P-value marking interval.
//!
//! Every key has a default (the figures of benchmark B2, docs/benchmarks.md (B2), where a
//! number is needed), so an empty `[pn]` table is valid: capped payoff, maturity the horizon,
//! `trigger` policy at 1.25 rolling to 2.0, immediate execution, 0.3% fee, the process's
//! volatility, rate 0, spot roll oracle, settlement at the market price at maturity.

use crate::error::{check_above, check_range, PnError};
use crate::payoff::Payoff;
use crate::settlement::SettlementSpec;
use headroom_market::{BadPrint, OracleModel};
use serde::{Deserialize, Serialize};

/// The payoff shape named in `payoff` (see [`crate::payoff`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PayoffShape {
    /// `P = min(x, K)`.
    #[default]
    Capped,
    /// Linear between `payoff_lower K` and `payoff_upper K`.
    Linear,
    /// All to N when `x >= K`.
    Binary,
}

/// When holders roll (docs/MODEL.md). Every policy but `hold` needs the capped
/// payoff: the roll keeps a capped P stable in USD, and rolling a linear or binary P (whose
/// value far from its bounds is near 0) would multiply its units without bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RollPolicy {
    /// Never roll: every holder settles at maturity.
    Hold,
    /// Roll when the roll oracle shows `x / K < roll_trigger`, or when the time to maturity is
    /// under `roll_before_days`.
    #[default]
    Trigger,
    /// Roll when P's ETH-delta per unit, `Phi(-d1)`, exceeds `band_delta`, or when the time to
    /// maturity is under `roll_before_days`.
    Band,
    /// Every holder rolls every `calendar_every_steps` steps (and when the time to maturity is
    /// under `roll_before_days`).
    Calendar,
}

fn default_roll_trigger() -> f64 {
    1.25
}
fn default_roll_target() -> f64 {
    2.0
}
fn default_fee() -> f64 {
    0.003
}
fn default_p_drift_every() -> u32 {
    24
}
fn default_max_roll_rounds() -> u32 {
    1000
}

/// How the ETH-delta a roll sheds is traded (`[pn.execution]`, tagged by `style`;
/// docs/MODEL.md, Execution).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Execution {
    /// Each round's shed is traded at once through the liquidity model (benchmark B2). (A
    /// struct variant, so that keys of other styles are rejected.)
    Market {},
    /// Each round's shed is traded in `slices` equal slices over as many steps.
    Twap {
        /// Slices, >= 1 (1 is `market`).
        slices: u32,
    },
    /// One-sided market making: each round's shed rests as an ask at `p (1 + spread)` (a bid
    /// at `p (1 - spread)` to buy back) and fills when the step's high (low) reaches it; what
    /// is still unfilled after `max_wait_steps` steps is traded at market.
    Passive {
        /// Distance of the order from the market price when placed, within [0, 1).
        spread: f64,
        /// Steps an order rests before its remainder is traded at market, >= 1.
        max_wait_steps: u32,
    },
    /// A Dutch auction: each round's shed is offered at a discount to the market price that
    /// ramps linearly from 0 to `max_discount` over `ramp_steps` steps; a taker fills the lot
    /// when the discount covers its cost (its slippage selling it on, plus gas).
    Auction {
        /// The largest discount, a fraction of the market price, within (0, 1).
        max_discount: f64,
        /// Steps over which the discount ramps up, >= 1.
        ramp_steps: u32,
    },
}

impl Default for Execution {
    fn default() -> Self {
        Execution::Market {}
    }
}

/// The most slices a TWAP may spread a round's sale over: the world keeps one slot per slice
/// (O(slices) memory a world), and 2^32 - 1 slices asked for 32 GB and aborted the process.
pub const MAX_SLICES: u32 = 10_000;

impl Execution {
    /// Checks the style's keys (relative to `[pn]`).
    pub fn validate(&self) -> Result<(), PnError> {
        match *self {
            Execution::Market {} => Ok(()),
            Execution::Twap { slices } => {
                if !(1..=MAX_SLICES).contains(&slices) {
                    Err(PnError::invalid(
                        "execution.slices",
                        slices,
                        format!("must be within [1, {MAX_SLICES}]"),
                    ))
                } else {
                    Ok(())
                }
            }
            Execution::Passive { spread, max_wait_steps } => {
                check_range("execution.spread", spread, 0.0, 0.999_999)?;
                if max_wait_steps < 1 {
                    return Err(PnError::invalid("execution.max_wait_steps", max_wait_steps, "must be >= 1"));
                }
                Ok(())
            }
            Execution::Auction { max_discount, ramp_steps } => {
                check_above("execution.max_discount", max_discount, 0.0, 0.999_999)?;
                if ramp_steps < 1 {
                    return Err(PnError::invalid("execution.ramp_steps", ramp_steps, "must be >= 1"));
                }
                Ok(())
            }
        }
    }
}

/// The `[pn]` table. Keys, units, defaults and ranges are listed on each field; times in days or
/// hours say so in their name, counts of steps end in `_steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PnSpec {
    /// `capped` (default), `linear` or `binary`.
    #[serde(default)]
    pub payoff: PayoffShape,
    /// Linear payoff only (required there): lower bound as a multiple of the strike, > 0.
    #[serde(default)]
    pub payoff_lower: Option<f64>,
    /// Linear payoff only (required there): upper bound as a multiple of the strike,
    /// > `payoff_lower`.
    #[serde(default)]
    pub payoff_upper: Option<f64>,
    /// Maturity of every split, and of every roll's new split, days, within (0, 36500];
    /// default: the experiment's horizon.
    #[serde(default)]
    pub maturity_days: Option<f64>,
    /// `hold`, `trigger` (default), `band` or `calendar`.
    #[serde(default)]
    pub policy: RollPolicy,
    /// Trigger policy: roll when `x / K` falls under this, > 0 (default 1.25).
    #[serde(default = "default_roll_trigger")]
    pub roll_trigger: f64,
    /// Every roll's new strike is `x / roll_target`, > 0 (default 2.0); with `trigger` it must
    /// exceed `roll_trigger`.
    #[serde(default = "default_roll_target")]
    pub roll_target: f64,
    /// Roll when the time to maturity is under this many days, >= 0 and < the maturity
    /// (default 0: off). Not with `hold`.
    #[serde(default)]
    pub roll_before_days: f64,
    /// How each round's shed is traded (default `{ style = "market" }`).
    #[serde(default)]
    pub execution: Execution,
    /// A roll whose shed is negative (the new P has more ETH-delta than the old) buys the
    /// difference back through the same execution, netted with the round's sales (default
    /// false: dropped, as in benchmark B2).
    #[serde(default)]
    pub hedge_buy_back: bool,
    /// Every this many steps the roll counterparty rebalances its hedge to the ETH-delta of the
    /// open P claims, trading the difference both ways through the same execution (docs/MODEL.md,
    /// Rebalancing the hedge); >= 1 and at most the number of steps, with a rolling policy.
    /// Default none: the hedge moves only at rolls (benchmark B2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge_every_steps: Option<u32>,
    /// Removed: `patience_steps = n` is now `[pn.execution] style = "twap"`, `slices = n`
    /// (accepted by the parser only to say so).
    #[serde(default, skip_serializing)]
    pub patience_steps: Option<u32>,
    /// Band policy only (required there): the bound on P's ETH-delta per unit, within (0, 1).
    #[serde(default)]
    pub band_delta: Option<f64>,
    /// Calendar policy only (required there): roll every this many steps, >= 1.
    #[serde(default)]
    pub calendar_every_steps: Option<u32>,
    /// Fee on each roll, a fraction of the rolled value `V`, within [0, 1) (default 0.003).
    #[serde(default = "default_fee")]
    pub fee: f64,
    /// Annualised volatility used to price P and N, within [0, 20]; default: the process's.
    #[serde(default)]
    pub pricing_vol: Option<f64>,
    /// Continuously compounded annual rate used in pricing, within [-1, 1] (default 0).
    #[serde(default)]
    pub rate: f64,
    /// The oracle the roll policy reads (default `{ model = "spot" }`).
    #[serde(default)]
    pub roll_oracle: OracleModel,
    /// Bad prints injected into the roll oracle (default none).
    #[serde(default)]
    pub roll_oracle_errors: Vec<BadPrint>,
    /// The slow settlement oracle (default: the market price at maturity, no delay).
    #[serde(default)]
    pub settlement: SettlementSpec,
    /// Mark the cohort's P value every this many steps for `p_drift`, >= 0 and at most the
    /// number of steps; 0 turns `p_drift` off (default 24). Each mark costs O(cohort).
    #[serde(default = "default_p_drift_every")]
    pub p_drift_every_steps: u32,
    /// Safety bound on roll rounds in one step, >= 1 (default 1000); a step that reaches it
    /// stops rolling until the next step (counted by [`crate::PnWorld::round_cap_hits`]).
    #[serde(default = "default_max_roll_rounds")]
    pub max_roll_rounds: u32,
}

impl Default for PnSpec {
    fn default() -> Self {
        PnSpec {
            payoff: PayoffShape::Capped,
            payoff_lower: None,
            payoff_upper: None,
            maturity_days: None,
            policy: RollPolicy::Trigger,
            roll_trigger: default_roll_trigger(),
            roll_target: default_roll_target(),
            roll_before_days: 0.0,
            execution: Execution::Market {},
            hedge_buy_back: false,
            hedge_every_steps: None,
            patience_steps: None,
            band_delta: None,
            calendar_every_steps: None,
            fee: default_fee(),
            pricing_vol: None,
            rate: 0.0,
            roll_oracle: OracleModel::Spot,
            roll_oracle_errors: Vec::new(),
            settlement: SettlementSpec::default(),
            p_drift_every_steps: default_p_drift_every(),
            max_roll_rounds: default_max_roll_rounds(),
        }
    }
}

fn only_with(key: &str, value: impl ToString, when: &str) -> PnError {
    PnError::invalid(key, value, format!("only allowed with {when}"))
}

impl PnSpec {
    /// Checks every key's range and the keys' consistency; errors name the key (relative to
    /// the `[pn]` table) and the allowed range. Checks that need the experiment (the horizon,
    /// the number of steps, the pricing of a fresh roll) are made by [`crate::PnWorld::new`].
    pub fn validate(&self) -> Result<(), PnError> {
        match self.payoff {
            PayoffShape::Linear => {
                let lower = self.payoff_lower.ok_or_else(|| PnError::Missing {
                    key: "payoff_lower".into(),
                    when: "payoff = \"linear\"".into(),
                })?;
                let upper = self.payoff_upper.ok_or_else(|| PnError::Missing {
                    key: "payoff_upper".into(),
                    when: "payoff = \"linear\"".into(),
                })?;
                check_above("payoff_lower", lower, 0.0, 1e6)?;
                if !(upper.is_finite() && upper > lower && upper <= 1e6) {
                    return Err(PnError::invalid(
                        "payoff_upper",
                        upper,
                        format!("must be > payoff_lower ({lower}) and <= 1000000"),
                    ));
                }
            }
            _ => {
                if let Some(v) = self.payoff_lower {
                    return Err(only_with("payoff_lower", v, "payoff = \"linear\""));
                }
                if let Some(v) = self.payoff_upper {
                    return Err(only_with("payoff_upper", v, "payoff = \"linear\""));
                }
            }
        }
        if let Some(m) = self.maturity_days {
            check_above("maturity_days", m, 0.0, 36_500.0)?;
            if self.roll_before_days >= m {
                return Err(PnError::invalid(
                    "roll_before_days",
                    self.roll_before_days,
                    format!("must be < maturity_days ({m})"),
                ));
            }
        }
        if self.policy != RollPolicy::Hold && self.payoff != PayoffShape::Capped {
            return Err(PnError::invalid(
                "policy",
                format!("{:?}", self.policy).to_lowercase(),
                "rolling needs payoff = \"capped\" (the roll keeps a capped P stable in USD); \
                 linear and binary payoffs take policy = \"hold\"",
            ));
        }
        check_above("roll_trigger", self.roll_trigger, 0.0, 1e6)?;
        check_above("roll_target", self.roll_target, 0.0, 1e6)?;
        if self.policy == RollPolicy::Trigger && self.roll_target <= self.roll_trigger {
            return Err(PnError::invalid(
                "roll_target",
                self.roll_target,
                format!(
                    "must be > roll_trigger ({}) with policy = \"trigger\" (a fresh roll would trigger at once)",
                    self.roll_trigger
                ),
            ));
        }
        check_range("roll_before_days", self.roll_before_days, 0.0, 36_500.0)?;
        if self.policy == RollPolicy::Hold && self.roll_before_days > 0.0 {
            return Err(only_with(
                "roll_before_days",
                self.roll_before_days,
                "a rolling policy (not \"hold\")",
            ));
        }
        if let Some(n) = self.patience_steps {
            return Err(PnError::invalid(
                "patience_steps",
                n,
                format!(
                    "replaced by the execution table: write [pn.execution] style = \"twap\", slices = {n} \
                     (or execution = {{ style = \"twap\", slices = {n} }} inside [pn])"
                ),
            ));
        }
        self.execution.validate()?;
        if let Some(n) = self.hedge_every_steps {
            if self.policy == RollPolicy::Hold {
                return Err(only_with(
                    "hedge_every_steps",
                    n,
                    "a rolling policy (not \"hold\": no counterparty mints pairs to hedge)",
                ));
            }
            if n < 1 {
                return Err(PnError::invalid("hedge_every_steps", n, "must be >= 1"));
            }
        }
        match (self.policy, self.band_delta) {
            (RollPolicy::Band, None) => {
                return Err(PnError::Missing { key: "band_delta".into(), when: "policy = \"band\"".into() })
            }
            (RollPolicy::Band, Some(b)) => {
                if !(b.is_finite() && b > 0.0 && b < 1.0) {
                    return Err(PnError::invalid("band_delta", b, "must be within (0, 1)"));
                }
            }
            (_, Some(b)) => return Err(only_with("band_delta", b, "policy = \"band\"")),
            (_, None) => {}
        }
        match (self.policy, self.calendar_every_steps) {
            (RollPolicy::Calendar, None) => {
                return Err(PnError::Missing {
                    key: "calendar_every_steps".into(),
                    when: "policy = \"calendar\"".into(),
                })
            }
            (RollPolicy::Calendar, Some(n)) if n < 1 => {
                return Err(PnError::invalid("calendar_every_steps", n, "must be >= 1"))
            }
            (RollPolicy::Calendar, Some(_)) => {}
            (_, Some(n)) => return Err(only_with("calendar_every_steps", n, "policy = \"calendar\"")),
            (_, None) => {}
        }
        check_range("fee", self.fee, 0.0, 0.999_999)?;
        if let Some(v) = self.pricing_vol {
            check_range("pricing_vol", v, 0.0, 20.0)?;
        }
        check_range("rate", self.rate, -1.0, 1.0)?;
        self.roll_oracle.validate().map_err(|e| PnError::market("roll_oracle", e))?;
        for (i, b) in self.roll_oracle_errors.iter().enumerate() {
            b.validate().map_err(|e| PnError::market(&format!("roll_oracle_errors[{i}]"), e))?;
        }
        self.settlement.validate().map_err(|e| PnError::market("settlement", e))?;
        if self.max_roll_rounds < 1 {
            return Err(PnError::invalid("max_roll_rounds", self.max_roll_rounds, "must be >= 1"));
        }
        Ok(())
    }

    /// The payoff the keys describe (after [`PnSpec::validate`]).
    pub fn payoff(&self) -> Payoff {
        match self.payoff {
            PayoffShape::Capped => Payoff::Capped,
            PayoffShape::Binary => Payoff::Binary,
            PayoffShape::Linear => Payoff::Linear {
                lower: self.payoff_lower.unwrap_or(f64::NAN),
                upper: self.payoff_upper.unwrap_or(f64::NAN),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::SettlementMethod;

    fn parse(text: &str) -> Result<PnSpec, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn empty_table_gives_the_defaults() {
        let s = parse("").unwrap();
        assert_eq!(s, PnSpec::default());
        s.validate().unwrap();
        assert_eq!(
            (s.roll_trigger, s.roll_target, s.fee, s.execution),
            (1.25, 2.0, 0.003, Execution::Market {})
        );
        assert_eq!((s.policy, s.payoff(), s.p_drift_every_steps), (RollPolicy::Trigger, Payoff::Capped, 24));
    }

    #[test]
    fn every_key_parses() {
        let s = parse(
            r#"
            payoff = "capped"
            maturity_days = 30
            policy = "band"
            roll_trigger = 1.2
            roll_target = 2.5
            roll_before_days = 2
            hedge_buy_back = true
            hedge_every_steps = 6
            band_delta = 0.25
            fee = 0.001
            pricing_vol = 0.7
            rate = 0.02
            roll_oracle = { model = "spot" }
            roll_oracle_errors = [{ start_hours = 5, hold_hours = 1, error = -0.1 }]
            p_drift_every_steps = 0
            max_roll_rounds = 50
            [settlement]
            method = "median"
            window_hours = 2
            delay_hours = 48
            error = 0.01
            manipulation = { share = 0.1, size = 0.05 }
            [execution]
            style = "passive"
            spread = 0.002
            max_wait_steps = 12
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.policy, RollPolicy::Band);
        assert_eq!((s.band_delta, s.hedge_every_steps), (Some(0.25), Some(6)));
        assert_eq!(s.settlement.method, SettlementMethod::Median);
        assert_eq!(s.settlement.manipulation.unwrap().size, 0.05);
        assert_eq!(s.roll_oracle_errors.len(), 1);
        assert_eq!(s.execution, Execution::Passive { spread: 0.002, max_wait_steps: 12 });
        for (text, want) in [
            ("execution = { style = \"twap\", slices = 6 }", Execution::Twap { slices: 6 }),
            (
                "execution = { style = \"auction\", max_discount = 0.02, ramp_steps = 12 }",
                Execution::Auction { max_discount: 0.02, ramp_steps: 12 },
            ),
            ("execution = { style = \"market\" }", Execution::Market {}),
        ] {
            let e = parse(text).unwrap();
            e.validate().unwrap();
            assert_eq!(e.execution, want);
        }
        let lin =
            parse("payoff = \"linear\"\npayoff_lower = 0.5\npayoff_upper = 1.5\npolicy = \"hold\"").unwrap();
        lin.validate().unwrap();
        assert_eq!(lin.payoff(), Payoff::Linear { lower: 0.5, upper: 1.5 });
        let cal = parse("policy = \"calendar\"\ncalendar_every_steps = 24").unwrap();
        cal.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(parse("roll_triger = 1.2").unwrap_err().to_string().contains("roll_triger"));
        assert!(parse("[settlement]\nwindow = 2").unwrap_err().to_string().contains("window"));
        assert!(parse("policy = \"sometimes\"").is_err());
        assert!(parse("execution = { style = \"market\", slices = 2 }").is_err());
        assert!(parse("execution = { style = \"iceberg\" }").unwrap_err().to_string().contains("iceberg"));
    }

    fn check(text: &str, key: &str) {
        let e = parse(text).unwrap().validate().unwrap_err().to_string();
        assert!(e.starts_with(key), "{text:?}: {e}");
    }

    #[test]
    fn validation_names_the_key_and_range() {
        check("roll_trigger = 2.5", "roll_target");
        check("roll_trigger = -1", "roll_trigger");
        check("fee = 1.5", "fee");
        check("pricing_vol = -0.2", "pricing_vol");
        check("rate = 3", "rate");
        check("maturity_days = 0", "maturity_days");
        check("maturity_days = 10\nroll_before_days = 10", "roll_before_days");
        check("execution = { style = \"twap\", slices = 0 }", "execution.slices");
        check("execution = { style = \"twap\", slices = 4294967295 }", "execution.slices");
        check("execution = { style = \"passive\", spread = 1.5, max_wait_steps = 3 }", "execution.spread");
        check(
            "execution = { style = \"passive\", spread = 0.01, max_wait_steps = 0 }",
            "execution.max_wait_steps",
        );
        check(
            "execution = { style = \"auction\", max_discount = 0, ramp_steps = 3 }",
            "execution.max_discount",
        );
        check(
            "execution = { style = \"auction\", max_discount = 0.02, ramp_steps = 0 }",
            "execution.ramp_steps",
        );
        // The old key points to the new table.
        let e = parse("patience_steps = 4").unwrap().validate().unwrap_err().to_string();
        assert!(e.starts_with("patience_steps") && e.contains("style = \"twap\", slices = 4"), "{e}");
        check("policy = \"band\"", "band_delta");
        check("policy = \"band\"\nband_delta = 1.0", "band_delta");
        check("band_delta = 0.5", "band_delta");
        check("policy = \"calendar\"", "calendar_every_steps");
        check("policy = \"calendar\"\ncalendar_every_steps = 0", "calendar_every_steps");
        check("calendar_every_steps = 5", "calendar_every_steps");
        check("policy = \"hold\"\nroll_before_days = 1", "roll_before_days");
        check("payoff = \"linear\"\npolicy = \"hold\"", "payoff_lower");
        check(
            "payoff = \"linear\"\npolicy = \"hold\"\npayoff_lower = 1.5\npayoff_upper = 1.0",
            "payoff_upper",
        );
        check("payoff = \"binary\"", "policy");
        check("payoff_lower = 0.5", "payoff_lower");
        check("max_roll_rounds = 0", "max_roll_rounds");
        check("hedge_every_steps = 0", "hedge_every_steps");
        let e =
            parse("policy = \"hold\"\nhedge_every_steps = 4").unwrap().validate().unwrap_err().to_string();
        assert!(e.starts_with("hedge_every_steps") && e.contains("rolling policy"), "{e}");
        assert!(parse("hedge_every_steps = -1").is_err());
        check("[settlement]\nwindow_hours = -1", "settlement.window_hours");
        check("[settlement]\nmanipulation = { share = 2, size = 0.1 }", "settlement.manipulation.share");
        check(
            "roll_oracle_errors = [{ start_hours = 1, hold_hours = 1, error = -2 }]",
            "roll_oracle_errors[0].error",
        );
    }
}
