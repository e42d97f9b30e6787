//! The server's answers without a socket: the page and its assets, the API's JSON, and every
//! bad query answered with HTTP 400 and the command line's message.

use super::api::{self, ApiContext};
use super::query::Query;
use super::walk::{self as walk_api, WALK_FILE};
use super::*;
use headroom_montecarlo::position::PositionInput;
use headroom_montecarlo::{Experiment, ExperimentSpec};
use serde_json::Value;

fn ctx() -> ApiContext {
    ApiContext { history: find_history(None).unwrap() }
}

fn get(url: &str) -> (u16, Value) {
    let a = respond_safely("GET", url, &ctx());
    let v = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    (a.status, v)
}

fn error_of(url: &str) -> String {
    let (status, v) = get(url);
    assert_eq!(status, 400, "{url}: {v}");
    v["error"].as_str().unwrap().to_string()
}

#[test]
fn the_page_and_its_assets_are_built_in_and_fetch_nothing_from_elsewhere() {
    for (url, ctype) in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let a = respond("GET", url, &ctx());
        assert_eq!(a.status, 200);
        assert!(a.content_type.starts_with(ctype));
        let text = String::from_utf8(a.body).unwrap();
        // The only absolute URL is the SVG namespace, a name that is never fetched.
        let outside = text.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside.contains("http://") && !outside.contains("https://") && !outside.contains("//cdn"),
            "{url}"
        );
        assert!(!outside.contains("@import"), "{url}");
    }
    let html = String::from_utf8(respond("GET", "/", &ctx()).body).unwrap();
    assert!(html.contains("src=\"/app.js\"") && html.contains("href=\"/style.css\""));
    assert_eq!(respond("GET", "/nothing", &ctx()).status, 404);
    assert_eq!(respond("POST", "/api/walk", &ctx()).status, 405);
}

#[test]
fn a_walk_is_the_experiment_it_returns() {
    let (status, v) = get("/api/walk?preset=aave-v3&hf=1.3&shock=gap&gap=0.3&steps=96&horizon_days=4&seed=3");
    assert_eq!(status, 200, "{v}");
    // The TOML it returns builds the same experiment, and walking it gives the same events.
    let toml = v["toml"].as_str().unwrap();
    let spec = ExperimentSpec::parse(toml, Path::new(WALK_FILE)).unwrap();
    let exp = Experiment::build(spec, Path::new(WALK_FILE)).unwrap();
    let w = exp.walk(0, None).unwrap();
    let n = exp.env.steps + 1;
    assert_eq!(v["hours"].as_array().unwrap().len(), n);
    assert_eq!(v["cdp"]["price"].as_array().unwrap().len(), n);
    assert_eq!(v["pn"]["p"].as_array().unwrap().len(), n);
    let events = v["cdp"]["events"].as_array().unwrap();
    assert_eq!(events.len(), w.cdp_events.len());
    assert!(!events.is_empty(), "HF 1.3 does not survive a 30% gap");
    for (j, e) in events.iter().zip(&w.cdp_events) {
        assert_eq!(j["step"].as_u64(), Some(e.step as u64));
        assert_eq!(j["eth"].as_f64(), Some(e.eth));
        assert_eq!(j["usd"].as_f64(), Some(e.usd));
        assert_eq!(j["kind"].as_str(), Some(e.kind.label()));
    }
    assert_eq!(v["cdp"]["trigger_step"].as_u64(), w.trigger_step.map(|s| s as u64));
    // The position's numbers are `position`'s for the start.
    let input: PositionInput = PositionInput {
        collateral: 10.0,
        debt_usd: exp.cohort.borrowers[0].debt_usd,
        price: 3000.0,
        lt: 0.83,
        bonus: 0.05,
        vol: 0.8,
        horizon_days: 4.0,
        drift: 0.0,
        oracle_minutes: 60.0,
        gap: 0.3,
    };
    let r = input.report().unwrap();
    assert_eq!(v["position"]["report"]["liquidation_price"].as_f64(), Some(r.liquidation_price));
    assert_eq!(v["position"]["report"]["p_liq_discrete"].as_f64(), Some(r.p_liq_discrete));
}

#[test]
fn a_top_up_is_reported_with_where_it_landed() {
    let base =
        "/api/walk?preset=generic&hf=1.3&shock=gap&gap=0.3&at_hours=10&steps=48&horizon_days=2&sigma=0";
    let (_, v) = get(&format!("{base}&topup_eth=5&topup_step=2&topup_latency_steps=3"));
    assert_eq!(v["topup"]["landed_step"].as_u64(), Some(5));
    assert_eq!(v["topup"]["took"].as_bool(), Some(true));
    assert_eq!(v["cdp"]["metrics"]["exits"].as_u64(), Some(0), "15 units at HF 1.3 x 1.5 survive the gap");
    let (_, v) = get(&format!("{base}&topup_eth=5&topup_step=2&topup_latency_steps=20"));
    assert_eq!(v["topup"]["took"].as_bool(), Some(false), "lands after the liquidation of step 9");
    assert_eq!(v["cdp"]["trigger_step"].as_u64(), Some(9));
}

#[test]
fn bad_walk_queries_get_the_messages_of_run() {
    // A value the engine refuses: the message of `run` on the experiment the query describes.
    let (status, v) = get("/api/walk?preset=aave-v3&lt=1.5");
    assert_eq!(status, 400);
    let toml = v["toml"].as_str().unwrap();
    let spec = ExperimentSpec::parse(toml, Path::new(WALK_FILE)).unwrap();
    let run_message = Experiment::build(spec, Path::new(WALK_FILE)).unwrap_err().to_string();
    assert_eq!(v["error"].as_str(), Some(run_message.as_str()));
    assert!(
        run_message.starts_with("walk.toml: ") && run_message.contains("cdp.lt = 1.5: must be within (0, 1]")
    );
    for (query, message) in [
        ("sigma=-1", "market.process.sigma = -1: must be within [0, 20]"),
        ("oracle=heartbeat&deviation=2", "cdp.oracle: deviation = 2: must be within [0, 1]"),
        ("preset=maker-2020&bonus=0.1", "bonus"),
        ("steps=0", "steps = 0: must be within [1, 100000000]"),
        ("collateral=-3", "cohort.collateral = -3: must be > 0"),
    ] {
        let e = error_of(&format!("/api/walk?{query}"));
        assert!(e.starts_with("walk.toml: ") && e.contains(message), "{query}: {e}");
    }
    // Values the query itself cannot read.
    for (query, message) in [
        ("preset=aave", "preset = \"aave\": allowed \"aave-v3\""),
        ("collateral=ten", "collateral = \"ten\": must be a number"),
        ("hf=1.2&debt=1000", "debt and hf: give one of them"),
        ("debt=-5", "debt = -5: must be > 0"),
        ("colateral=3", "unknown query key colateral"),
        ("topup_eth=0", "topup_eth = 0: must be > 0"),
        ("topup_eth=1&topup_step=720", "topup_step = 720: must be < steps (720)"),
        ("seed=-1", "seed = \"-1\": must be a whole number >= 0"),
        ("process=history&window=custom", "window = \"custom\": needs start"),
        (
            "process=history&window=custom&start=2019-11-12T00:00:00Z&hours=48",
            "a replay needs consecutive rows",
        ),
        ("process=history&window=custom&start=yesterday", "must be a UTC time"),
        ("steps=100000000", "steps = 100000000: a walk has at most 100000 steps here"),
        ("process=history&hours=200000", "hours = 200000: a walk has at most 100000 steps here"),
    ] {
        let e = error_of(&format!("/api/walk?{query}"));
        assert!(e.contains(message), "{query}: {e}");
    }
}

#[test]
fn position_and_price_answer_as_the_commands() {
    let q = "collateral=10&debt=20000&price=3000&lt=0.83&bonus=0.05&vol=0.8&horizon-days=30&oracle-minutes=60&gap=0.3";
    let a = respond("GET", &format!("/api/position?{q}"), &ctx());
    assert_eq!(a.status, 200);
    let r = PositionInput {
        collateral: 10.0,
        debt_usd: 20000.0,
        price: 3000.0,
        lt: 0.83,
        bonus: 0.05,
        vol: 0.8,
        horizon_days: 30.0,
        drift: 0.0,
        oracle_minutes: 60.0,
        gap: 0.3,
    }
    .report()
    .unwrap();
    // The same bytes as `position --json` prints (compact here).
    assert_eq!(String::from_utf8(a.body).unwrap(), serde_json::to_string(&r).unwrap());
    // The command line's messages (`error: --lt: 1.5: must be within (0, 1]`).
    assert_eq!(
        error_of(&format!("/api/position?{}", q.replace("lt=0.83", "lt=1.5"))),
        "--lt: 1.5: must be within (0, 1]"
    );
    assert_eq!(error_of("/api/position?collateral=1"), "--debt: missing: required");
    assert!(error_of(&format!("/api/position?{q}&mc=1000000")).contains("at most 100000"));
    let a = respond("GET", "/api/price?spot=3000&strike=2000&vol=0.8&days=30", &ctx());
    assert_eq!(a.status, 200);
    let quote = crate::cli::price_quote(3000.0, 2000.0, 0.8, 30.0, 0.0).unwrap();
    assert_eq!(String::from_utf8(a.body).unwrap(), serde_json::to_string(&quote).unwrap());
    assert_eq!(error_of("/api/price?spot=3000&strike=-1&vol=0.8&days=30"), "--strike: -1: must be > 0");
    assert_eq!(error_of("/api/price?spot=x&strike=1&vol=0.8&days=30"), "--spot: \"x\": must be a number");
}

#[test]
fn no_query_brings_the_server_down() {
    // Odd values of every kind: each is answered (200 or 400), none is a 500.
    let odd = [
        "",
        "NaN",
        "inf",
        "-inf",
        "1e308",
        "-1e308",
        "0",
        "-0",
        "%",
        "%FF",
        "1e-320",
        "99999999999999999999",
    ];
    let keys = [
        "collateral",
        "hf",
        "debt",
        "price",
        "sigma",
        "steps",
        "gap",
        "at_hours",
        "wick",
        "depth_eth",
        "deviation",
        "heartbeat_hours",
        "hop_hours",
        "lag_hours",
        "window_hours",
        "capo_ratio",
        "hours",
        "roll_trigger",
        "roll_target",
        "fee",
        "topup_eth",
        "topup_step",
        "topup_latency_steps",
        "print_error",
        "print_hold_hours",
        "horizon_days",
        "lt",
        "bonus",
        "latency_steps",
    ];
    let mut answered = 0;
    for k in keys {
        for v in odd {
            for extra in
                ["", "&shock=gap", "&shock=wick&steps=24&horizon_days=1", "&oracle=twap&fault=bad-print"]
            {
                let url = format!("/api/walk?steps=48&horizon_days=2&{k}={v}{extra}");
                let a = respond_safely("GET", &url, &ctx());
                assert!(a.status == 200 || a.status == 400, "{url}: {}", a.status);
                answered += 1;
            }
        }
    }
    assert_eq!(answered, keys.len() * odd.len() * 4);
    for url in ["/api/position?mc=abc", "/api/price", "/api/walk?preset=%00", "/api/walk?&&&=&="] {
        let a = respond_safely("GET", url, &ctx());
        assert_eq!(a.status, 400, "{url}");
    }
}

#[test]
fn options_list_the_presets_and_windows() {
    let v = api::options(&ctx());
    assert_eq!(v["presets"].as_array().unwrap().len(), api::PRESETS.len());
    assert_eq!(v["presets"][0]["lt"].as_f64(), Some(0.83));
    assert_eq!(v["windows"][0]["start"].as_str(), Some("2020-03-11T00:00:00Z"));
    assert!(v["history"].is_string(), "the source tree's data file is found");
    let q = Query::parse("preset=maker-2020&process=history&window=may-2021");
    let r = walk_api::walk_request(&q, &ctx()).unwrap();
    assert_eq!(r.spec.steps, 72);
    assert!(matches!(r.spec.market.process, headroom_market::ProcessSpec::Replay { .. }));
}
