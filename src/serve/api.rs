//! The JSON API of `headroom serve` (docs/serve-api.md) apart from the walk ([`super::walk`]):
//! `position` and `price` answer as the commands of the same names with `--json`; `options`
//! lists the presets, oracles and windows. Every input error is an [`ApiError::BadRequest`] with
//! the command line's message.

use super::query::Query;
use headroom_cdp::{CdpSpec, Mechanism, Protocol};
use headroom_montecarlo::position::PositionInput;
use headroom_montecarlo::Error;
use serde_json::{json, Value};
use std::path::PathBuf;

/// What the API needs from the server: where the bundled history is.
#[derive(Clone, Debug, Default)]
pub struct ApiContext {
    /// The hourly ETH/USD file (`data/eth-usd-1h.csv`), absolute, if found.
    pub history: Option<PathBuf>,
}

/// An answer that is not a 200.
#[derive(Debug, PartialEq)]
pub enum ApiError {
    /// Bad input (HTTP 400): the message, and the experiment it was found in when it came
    /// from the engine's validation.
    BadRequest(String, Option<String>),
    /// No such endpoint (HTTP 404).
    NotFound(String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::BadRequest(e.to_string(), None)
    }
}

impl From<String> for ApiError {
    fn from(message: String) -> Self {
        ApiError::BadRequest(message, None)
    }
}

pub(crate) fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into(), None)
}

/// Windows of the bundled history the page offers: (key, label, first hour, hours).
pub const WINDOWS: [(&str, &str, &str, u64); 4] = [
    ("black-thursday-2020", "Black Thursday, 11-13 March 2020", "2020-03-11T00:00:00Z", 72),
    ("may-2021", "The May 2021 crash, 18-20 May 2021", "2021-05-18T00:00:00Z", 72),
    ("june-2022", "Celsius and 3AC, 12-14 June 2022", "2022-06-12T00:00:00Z", 72),
    ("ftx-2022", "FTX, 7-9 November 2022", "2022-11-07T00:00:00Z", 72),
];

/// The presets the page offers: (key, label).
pub const PRESETS: [(&str, &str); 7] = [
    ("aave-v3", "Aave v3.3"),
    ("maker-2020", "Maker 2020 (flip auctions)"),
    ("maker-2021", "Maker / Sky 2021+ (clip auctions)"),
    ("liquity-v1", "Liquity v1"),
    ("liquity-v2", "Liquity v2"),
    ("compound-v3", "Compound v3"),
    ("generic", "Generic (B1)"),
];

/// The oracle models the walk offers.
pub const ORACLES: [&str; 6] = ["spot", "heartbeat", "twap", "osm", "capo", "lag"];

/// `GET /api/options`: presets (with their resolved threshold and incentive), oracles,
/// history windows, and whether the history file was found.
pub fn options(ctx: &ApiContext) -> Value {
    let presets: Vec<Value> = PRESETS
        .iter()
        .filter_map(|(key, label)| {
            let p = protocol(key)?;
            let params = CdpSpec::preset(p).resolve().ok()?;
            Some(json!({ "key": key, "label": label, "lt": params.lt, "incentive": incentive(&params) }))
        })
        .collect();
    let windows: Vec<Value> = WINDOWS
        .iter()
        .map(|(key, label, start, hours)| json!({ "key": key, "label": label, "start": start, "hours": hours }))
        .collect();
    json!({
        "presets": presets,
        "oracles": ORACLES,
        "windows": windows,
        "history": ctx.history.as_ref().map(|p| p.display().to_string()),
    })
}

/// The preset named `key`.
pub(crate) fn protocol(key: &str) -> Option<Protocol> {
    Protocol::ALL.into_iter().find(|p| p.name() == key)
}

/// The preset's incentive as a share of the debt, what `position --bonus` takes: the bonus
/// (direct), the penalty `chop` (Maker), Liquity v1's `MCR - 1` (the collateral above the debt
/// at the trigger) or v2's stability-pool penalty, Compound's `(1 - liquidationFactor) / LT`
/// (what absorb keeps of the collateral at the trigger).
pub(crate) fn incentive(p: &headroom_cdp::CdpParams) -> f64 {
    match p.mechanism {
        Mechanism::Direct(d) => d.bonus,
        Mechanism::Flip(f) => f.chop,
        Mechanism::Clip(c) => c.chop,
        Mechanism::Liquity(l) => l.penalties.map_or(1.0 / p.lt - 1.0, |x| x.sp),
        Mechanism::Absorb(a) => (1.0 - a.liquidation_factor) / p.lt,
    }
}

/// `GET /api/position`: `headroom position --json` (the same keys in the same order) with the flags as query keys
/// (`horizon-days`, `oracle-minutes`, ...); the same messages for bad values.
pub fn position(q: &Query) -> Result<String, ApiError> {
    const KEYS: [&str; 11] = [
        "collateral",
        "debt",
        "price",
        "lt",
        "bonus",
        "vol",
        "horizon-days",
        "drift",
        "oracle-minutes",
        "gap",
        "mc",
    ];
    let flag = |k: &str| -> Result<Option<f64>, ApiError> {
        q.f64(k).map_err(|_| bad(format!("--{k}: {:?}: must be a number", q.get(k).unwrap_or(""))))
    };
    let required = |k: &str| -> Result<f64, ApiError> {
        flag(k)?.ok_or_else(|| bad(format!("--{k}: missing: required")))
    };
    let unknown = q.unknown(&KEYS);
    if !unknown.is_empty() {
        return Err(bad(format!("unknown query key {}: allowed {}", unknown.join(", "), KEYS.join(", "))));
    }
    let input = PositionInput {
        collateral: required("collateral")?,
        debt_usd: required("debt")?,
        price: required("price")?,
        lt: required("lt")?,
        bonus: required("bonus")?,
        vol: required("vol")?,
        horizon_days: required("horizon-days")?,
        drift: flag("drift")?.unwrap_or(0.0),
        oracle_minutes: flag("oracle-minutes")?.unwrap_or(0.0),
        gap: flag("gap")?.unwrap_or(0.0),
    };
    let mut r = input.report()?;
    if q.has("mc") {
        let n = q
            .u64_or("mc", 0)
            .map_err(|_| bad(format!("--mc: {:?}: must be a whole number", q.get("mc").unwrap_or(""))))?;
        if n > MAX_MC {
            return Err(bad(format!(
                "--mc: {n}: at most {MAX_MC} paths here (use the command line for more)"
            )));
        }
        let (p, se) = input.mc(n, None)?;
        r.p_liq_mc = Some(p);
        r.p_liq_mc_se = Some(se);
    }
    Ok(serde_json::to_string(&r).unwrap_or_default())
}

/// The most `--mc` paths one request may simulate (it keeps the server responsive).
pub const MAX_MC: u64 = 100_000;

/// `GET /api/price`: `headroom price --json` with the flags as query keys.
pub fn price(q: &Query) -> Result<String, ApiError> {
    const KEYS: [&str; 5] = ["spot", "strike", "vol", "days", "rate"];
    let unknown = q.unknown(&KEYS);
    if !unknown.is_empty() {
        return Err(bad(format!("unknown query key {}: allowed {}", unknown.join(", "), KEYS.join(", "))));
    }
    let flag = |k: &str| -> Result<Option<f64>, ApiError> {
        q.f64(k).map_err(|_| bad(format!("--{k}: {:?}: must be a number", q.get(k).unwrap_or(""))))
    };
    let required = |k: &str| -> Result<f64, ApiError> {
        flag(k)?.ok_or_else(|| bad(format!("--{k}: missing: required")))
    };
    let quote = crate::cli::price_quote(
        required("spot")?,
        required("strike")?,
        required("vol")?,
        required("days")?,
        flag("rate")?.unwrap_or(0.0),
    )?;
    Ok(serde_json::to_string(&quote).unwrap_or_default())
}
