//! `GET /api/walk` (docs/serve-api.md): the query read into a one-position experiment of both
//! worlds, validated as `run` validates ([`WALK_FILE`] names it in the messages), walked with
//! [`headroom_montecarlo::Experiment::walk`] and answered as columns and event rows.

use super::api::{bad, incentive, protocol, ApiContext, ApiError, ORACLES, PRESETS, WINDOWS};
use super::query::Query;
use headroom_cdp::{CdpSpec, Protocol};
use headroom_market::{BadPrint, Event, Liquidity, OracleModel, PathMetrics, ProcessSpec, ShockSpec};
use headroom_montecarlo::position::PositionInput;
use headroom_montecarlo::spec::{CohortSpec, MarketSpec};
use headroom_montecarlo::walk::{TopUp, Walk};
use headroom_montecarlo::{Experiment, ExperimentSpec, WorldKind};
use headroom_pnsplit::PnSpec;
use serde_json::{json, Value};
use std::path::Path;

/// The name the walk's experiment file has in messages (`headroom run walk.toml` gives the same).
pub const WALK_FILE: &str = "walk.toml";

/// The walk's query keys (anything else is refused, as unknown keys are in experiment files).
pub const WALK_KEYS: [&str; 45] = [
    "preset",
    "collateral",
    "debt",
    "hf",
    "price",
    "lt",
    "bonus",
    "oracle",
    "deviation",
    "heartbeat_hours",
    "window_hours",
    "hop_hours",
    "lag_hours",
    "capo_ratio",
    "capo_growth",
    "capo_age_days",
    "process",
    "sigma",
    "mu",
    "seed",
    "path",
    "horizon_days",
    "steps",
    "window",
    "start",
    "hours",
    "shock",
    "gap",
    "at_hours",
    "wick",
    "down_hours",
    "up_hours",
    "fault",
    "print_error",
    "print_start_hours",
    "print_hold_hours",
    "depth_eth",
    "roll_trigger",
    "roll_target",
    "fee",
    "topup_eth",
    "topup_step",
    "topup_latency_steps",
    "topup_gap",
    "latency_steps",
];

/// The experiment a walk query describes, with the top-up and the position's gap (see
/// docs/serve-api.md for every key).
pub struct WalkRequest {
    /// The experiment (one path, one position, both worlds).
    pub spec: ExperimentSpec,
    /// The path walked.
    pub path: u64,
    /// The borrower's own top-up, if asked.
    pub topup: Option<TopUp>,
    /// The drop `position`'s `topup_for_gap` is for.
    pub topup_gap: f64,
}

/// Reads a walk query into an experiment (not yet validated: [`walk`] validates it as `run`
/// does).
pub fn walk_request(q: &Query, ctx: &ApiContext) -> Result<WalkRequest, ApiError> {
    let unknown = q.unknown(&WALK_KEYS);
    if !unknown.is_empty() {
        return Err(bad(format!(
            "unknown query key {}: allowed {}",
            unknown.join(", "),
            WALK_KEYS.join(", ")
        )));
    }
    let preset_keys: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
    let preset = q.choice("preset", &preset_keys, "aave-v3")?;
    let proto = protocol(preset).ok_or_else(|| bad(format!("preset = {preset:?}: unknown")))?;
    let mut cdp = CdpSpec::preset(proto);
    cdp.lt = q.f64("lt")?;
    cdp.bonus = q.f64("bonus")?;
    cdp.latency_steps = q.u64_or("latency_steps", 0)?.min(u32::MAX as u64) as u32;
    // The threshold the position's health factor refers to: the CDP's own (its resolution
    // errors are reported by the validation below, with the other problems).
    let lt = cdp.resolve().map(|p| p.lt).unwrap_or(cdp.lt.unwrap_or(0.83));

    let oracle = match q.choice("oracle", &ORACLES, "spot")? {
        "heartbeat" => OracleModel::Heartbeat {
            deviation: q.f64_or("deviation", 0.005)?,
            heartbeat_hours: q.f64_or("heartbeat_hours", 1.0)?,
        },
        "twap" => OracleModel::Twap { window_hours: q.f64_or("window_hours", 1.0)? },
        "osm" => OracleModel::Osm { hop_hours: q.f64_or("hop_hours", 1.0)? },
        "lag" => OracleModel::Lag { lag_hours: q.f64_or("lag_hours", 1.0)? },
        "capo" => OracleModel::Capo {
            snapshot_ratio: q.f64_or("capo_ratio", q.f64_or("price", 3000.0)?)?,
            max_yearly_growth: q.f64_or("capo_growth", 0.0)?,
            snapshot_age_days: q.f64_or("capo_age_days", 0.0)?,
        },
        _ => OracleModel::Spot,
    };
    let errors = match q.choice("fault", &["none", "bad-print"], "none")? {
        "bad-print" => vec![BadPrint {
            start_hours: q.f64_or("print_start_hours", 24.0)?,
            ramp_in_hours: 0.0,
            hold_hours: q.f64_or("print_hold_hours", 1.0)?,
            ramp_out_hours: 0.0,
            error: q.f64_or("print_error", -0.2)?,
        }],
        _ => Vec::new(),
    };
    cdp.oracle = Some(oracle.clone());
    cdp.oracle_errors = errors.clone();

    let (process, steps, horizon_days, mut start_price) = match q.choice(
        "process",
        &["gbm", "history"],
        "gbm",
    )? {
        "history" => {
            let file = ctx.history.clone().ok_or_else(|| {
                bad("process = \"history\": the bundled history (data/eth-usd-1h.csv) was not found: start the server with --data FILE")
            })?;
            let window_keys: Vec<&str> = WINDOWS.iter().map(|w| w.0).chain(["custom"]).collect();
            let w = q.choice("window", &window_keys, "black-thursday-2020")?;
            let (start, hours) = match WINDOWS.iter().find(|x| x.0 == w) {
                Some(&(_, _, start, hours)) => (start.to_string(), q.u64_or("hours", hours)?),
                None => (
                    q.get("start")
                        .ok_or_else(|| bad("window = \"custom\": needs start (e.g. 2020-03-11T00:00:00Z)"))?
                        .to_string(),
                    q.u64_or("hours", 72)?,
                ),
            };
            (ProcessSpec::Replay { file, start: Some(start) }, hours, hours as f64 / 24.0, None)
        }
        _ => (
            ProcessSpec::Gbm { mu: q.f64_or("mu", 0.0)?, sigma: q.f64_or("sigma", 0.8)? },
            q.u64_or("steps", 720)?,
            q.f64_or("horizon_days", 30.0)?,
            Some(q.f64_or("price", 3000.0)?),
        ),
    };
    if steps > MAX_WALK_STEPS {
        return Err(bad(format!(
            "{} = {steps}: a walk has at most {MAX_WALK_STEPS} steps here (use `headroom run` for longer paths)",
            if q.choice("process", &["gbm", "history"], "gbm")? == "history" { "hours" } else { "steps" }
        )));
    }
    let shocks = match q.choice("shock", &["none", "gap", "wick"], "none")? {
        "gap" => vec![ShockSpec::Gap {
            size: -q.f64_or("gap", 0.3)?,
            at_hours: Some(q.f64_or("at_hours", 24.0)?),
            at: None,
        }],
        "wick" => vec![ShockSpec::Wick {
            size: -q.f64_or("wick", 0.3)?,
            down_hours: q.f64_or("down_hours", 1.0)?,
            up_hours: q.f64_or("up_hours", 6.0)?,
            at_hours: Some(q.f64_or("at_hours", 24.0)?),
            at: None,
        }],
        _ => Vec::new(),
    };
    let depth = q.f64_or("depth_eth", 1e6)?;
    let liquidity = if depth == 0.0 { Liquidity::None } else { Liquidity::Exponential { depth_eth: depth } };

    // The position: collateral and either its debt or its health factor.
    let collateral = q.f64_or("collateral", 10.0)?;
    let hf = match (q.f64("debt")?, q.f64("hf")?) {
        (Some(_), Some(_)) => return Err(bad("debt and hf: give one of them (the other follows)")),
        (Some(debt), None) => {
            if !(debt.is_finite() && debt > 0.0) {
                return Err(bad(format!("debt = {debt}: must be > 0")));
            }
            // A replay starts at its first close: read it from a build with any health factor.
            let s0 = match start_price {
                Some(s) => s,
                None => {
                    let probe = experiment(process.clone(), steps, horizon_days, 3000.0, collateral, 1.0, lt);
                    Experiment::build(probe, Path::new(WALK_FILE))?.env.start_price
                }
            };
            start_price.get_or_insert(s0);
            collateral * s0 * lt / debt
        }
        (None, h) => h.unwrap_or(1.5),
    };
    let mut spec =
        experiment(process, steps, horizon_days, start_price.unwrap_or(3000.0), collateral, hf, lt);
    spec.seed = q.u64_or("seed", 1)?;
    let path = q.u64_or("path", 0)?;
    spec.paths = Some(path.saturating_add(1));
    spec.market.shocks = shocks;
    spec.market.liquidity = liquidity;
    spec.cdp = Some(cdp);
    spec.pn = Some(PnSpec {
        roll_trigger: q.f64_or("roll_trigger", 1.25)?,
        roll_target: q.f64_or("roll_target", 2.0)?,
        fee: q.f64_or("fee", 0.003)?,
        roll_oracle: oracle,
        roll_oracle_errors: errors,
        p_drift_every_steps: 0,
        ..PnSpec::default()
    });
    spec.description = format!("headroom serve: one {preset} position walked through one path");

    let topup = match q.f64("topup_eth")? {
        None => None,
        Some(units) => {
            if !(units.is_finite() && units > 0.0) {
                return Err(bad(format!("topup_eth = {units}: must be > 0")));
            }
            let step = q.u64_or("topup_step", 0)?;
            if step >= steps {
                return Err(bad(format!("topup_step = {step}: must be < steps ({steps})")));
            }
            let latency = q.u64_or("topup_latency_steps", 0)?.min(u32::MAX as u64) as u32;
            Some(TopUp { units, step: step as usize, latency_steps: latency })
        }
    };
    let topup_gap = q.f64_or("topup_gap", q.f64_or("gap", 0.3)?)?;
    Ok(WalkRequest { spec, path, topup, topup_gap })
}

/// A one-position experiment of both worlds (the rest is set by the caller).
fn experiment(
    process: ProcessSpec,
    steps: u64,
    horizon_days: f64,
    start_price: f64,
    collateral: f64,
    hf: f64,
    lt: f64,
) -> ExperimentSpec {
    ExperimentSpec {
        name: "walk".into(),
        description: String::new(),
        seed: 1,
        paths: Some(1),
        worlds: vec![WorldKind::Cdp, WorldKind::Pn],
        horizon_days,
        steps,
        market: MarketSpec {
            start_price,
            process,
            shocks: Vec::new(),
            liquidity: Liquidity::None,
            resilience_half_life_hours: None,
            gas_usd: 0.0,
            frontrun_share: 0.0,
        },
        cohort: CohortSpec::Ladder { positions: 1, collateral, cycle: 1, hf_min: hf, hf_max: hf, lt },
        cdp: Some(CdpSpec::preset(Protocol::Generic)),
        pn: Some(PnSpec::default()),
        report: false,
        reference: Vec::new(),
        sweep: None,
    }
}

/// The experiment as a TOML file `headroom run` takes.
pub fn experiment_toml(spec: &ExperimentSpec) -> String {
    let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
    crate::cli::strip_nulls(&mut v);
    toml::Value::try_from(&v).and_then(|v| toml::to_string_pretty(&v)).unwrap_or_default()
}

/// `GET /api/walk`: builds, validates (the messages of `run` on [`WALK_FILE`]) and walks.
pub fn walk(q: &Query, ctx: &ApiContext) -> Result<Value, ApiError> {
    let WalkRequest { spec, path, topup, topup_gap } = walk_request(q, ctx)?;
    let toml_text = experiment_toml(&spec);
    let exp = Experiment::build(spec, Path::new(WALK_FILE))
        .map_err(|e| ApiError::BadRequest(e.to_string(), Some(toml_text.clone())))?;
    let w = exp.walk(path, topup)?;
    Ok(walk_json(&exp, &w, topup, topup_gap, toml_text))
}

fn metrics_json(m: &PathMetrics) -> Value {
    json!({
        "exits": m.exits, "eth_sold": m.eth_sold, "fees_usd": m.fees_usd, "slippage_usd": m.slippage_usd,
        "oracle_loss_usd": m.oracle_loss_usd, "wrongful_exits": m.wrongful_exits,
        "shortfall_usd": m.shortfall_usd, "max_cascade_rounds": m.max_cascade_rounds,
        "positions_hit": m.positions_hit, "min_price": m.min_price, "final_price": m.final_price,
        "interest_usd": m.interest_usd, "premium_usd": m.premium_usd,
    })
}

fn event_json(e: &Event) -> Value {
    json!({
        "step": e.step, "round": e.round, "kind": e.kind.label(), "eth": e.eth, "usd": e.usd,
        "fee_usd": e.fee_usd, "oracle_price": e.oracle_price, "market_price": e.market_price,
        "wrongful": e.wrongful,
    })
}

/// The walk as columns (one value per point: the start, then each step) and event rows; each
/// event row also carries its step's slippage and the change of the borrower's loss.
fn walk_json(exp: &Experiment, w: &Walk, topup: Option<TopUp>, topup_gap: f64, toml_text: String) -> Value {
    let dt_hours = exp.env.dt_years * 365.0 * 24.0;
    let n = w.cdp.len();
    let col = |f: &dyn Fn(usize) -> Value| -> Vec<Value> { (0..n).map(f).collect() };
    let c = &w.cdp;
    let step_delta =
        |k: usize, f: &dyn Fn(&headroom_montecarlo::walk::CdpPoint) -> f64| f(&c[k + 1]) - f(&c[k]);
    let cdp_events: Vec<Value> = w
        .cdp_events
        .iter()
        .map(|e| {
            let mut v = event_json(e);
            let k = e.step as usize;
            if k + 1 < n {
                v["step_slippage_usd"] = json!(step_delta(k, &|p| p.metrics.slippage_usd));
                v["step_borrower_loss_usd"] = json!(step_delta(k, &|p| p.borrower_loss_usd));
            }
            v
        })
        .collect();
    let pn = &w.pn;
    let pn_events: Vec<Value> = w
        .pn_events
        .iter()
        .map(|e| {
            let mut v = event_json(e);
            let k = e.step as usize;
            if k + 1 < pn.len() {
                v["step_slippage_usd"] = json!(pn[k + 1].metrics.slippage_usd - pn[k].metrics.slippage_usd);
            }
            v
        })
        .collect();
    let cdp_params = exp.spec.cdp.as_ref().and_then(|s| s.resolve().ok());
    let b = exp.cohort.borrowers[0];
    let position = cdp_params.map(|p| {
        let oracle_minutes = match exp.spec.cdp.as_ref().map(|c| c.oracle_model()) {
            Some(OracleModel::Heartbeat { heartbeat_hours, .. }) => heartbeat_hours * 60.0,
            Some(OracleModel::Osm { hop_hours }) => hop_hours * 60.0,
            _ => 0.0,
        }
        .max(dt_hours * 60.0);
        let input = PositionInput {
            collateral: b.collateral,
            debt_usd: b.debt_usd,
            price: exp.env.start_price,
            lt: p.lt,
            bonus: incentive(&p),
            vol: exp.env.process_vol,
            horizon_days: exp.spec.horizon_days,
            drift: 0.0,
            oracle_minutes,
            gap: topup_gap,
        };
        match input.report() {
            Ok(r) => json!({ "report": r, "input": {
                "collateral": input.collateral, "debt": input.debt_usd, "price": input.price, "lt": input.lt,
                "bonus": input.bonus, "vol": input.vol, "horizon_days": input.horizon_days,
                "oracle_minutes": input.oracle_minutes, "gap": input.gap } }),
            Err(e) => json!({ "error": e.to_string() }),
        }
    });
    json!({
        "toml": toml_text,
        "experiment": headroom_montecarlo::output::resolved_config(exp),
        "path": w.path,
        "position_id": w.position,
        "steps": exp.env.steps,
        "dt_hours": dt_hours,
        "start_price": exp.env.start_price,
        "process_vol": exp.env.process_vol,
        "lt": cdp_params.map(|p| p.lt),
        "hours": col(&|i| json!(c[i].time_years * 365.0 * 24.0)),
        "cdp": {
            "price": col(&|i| json!(c[i].price)),
            "oracle": col(&|i| json!(c[i].oracle_price)),
            "oracle_before": col(&|i| json!(c[i].oracle_before)),
            "collateral": col(&|i| json!(c[i].collateral)),
            "debt": col(&|i| json!(c[i].debt_usd)),
            "hf": col(&|i| json!(c[i].health_factor)),
            "liq_price": col(&|i| json!(c[i].liquidation_price)),
            "borrower_loss": col(&|i| json!(c[i].borrower_loss_usd)),
            "exits": col(&|i| json!(c[i].metrics.exits)),
            "fees": col(&|i| json!(c[i].metrics.fees_usd)),
            "slippage": col(&|i| json!(c[i].metrics.slippage_usd)),
            "wrongful": col(&|i| json!(c[i].metrics.wrongful_exits)),
            "shortfall": col(&|i| json!(c[i].metrics.shortfall_usd)),
            "trigger_step": w.trigger_step,
            "events": cdp_events,
            "metrics": w.cdp_metrics.as_ref().map(metrics_json),
        },
        "pn": {
            "price": pn.iter().map(|p| json!(p.price)).collect::<Vec<_>>(),
            "oracle": pn.iter().map(|p| json!(p.oracle_price)).collect::<Vec<_>>(),
            "p": pn.iter().map(|p| json!(p.p_usd)).collect::<Vec<_>>(),
            "n": pn.iter().map(|p| json!(p.n_usd)).collect::<Vec<_>>(),
            "exits": pn.iter().map(|p| json!(p.metrics.exits)).collect::<Vec<_>>(),
            "fees": pn.iter().map(|p| json!(p.metrics.fees_usd)).collect::<Vec<_>>(),
            "slippage": pn.iter().map(|p| json!(p.metrics.slippage_usd)).collect::<Vec<_>>(),
            "events": pn_events,
            "metrics": w.pn_metrics.as_ref().map(metrics_json),
        },
        "topup": topup.map(|t| json!({
            "eth": t.units, "step": t.step, "latency_steps": t.latency_steps,
            "landed_step": w.topup_landed.map(|l| l.0), "took": w.topup_landed.map(|l| l.1),
        })),
        "position": position,
    })
}

/// The most steps one walk may have: its answer holds every step (about 300 bytes each).
pub const MAX_WALK_STEPS: u64 = 100_000;
