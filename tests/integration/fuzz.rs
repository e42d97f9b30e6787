//! Fuzzing the experiment file: a deterministic generator (fixed seed) writes experiment files
//! over every table and key of docs/EXPERIMENTS.md — valid values, out-of-range ones, wrong
//! types, extreme and subnormal numbers, missing, unknown and duplicated keys, truncated files,
//! bad rows in the CSV inputs — and runs each through the binary. Every case must exit 0 or 2
//! (never a panic, an abort or exit 1), leave no output and no staging folder when it fails,
//! and finish within a bound proportional to its paths and steps.
//!
//! The keys that scale the work (`paths`, `steps`, `positions`) take small values or invalid
//! ones, never huge valid ones, so that the cases fit in a minute. Cases it found that failed
//! are kept below as named regression tests, minimised.

use crate::common::{headroom, stderr, tempdir};
use headroom_market::rng::splitmix64;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use toml::{Table, Value};

/// Cases run by [`generated_experiments_exit_0_or_2_and_leave_nothing_on_error`] (the
/// environment variable `HEADROOM_FUZZ_CASES` runs more, for a longer search by hand).
const CASES: usize = 1000;

/// A deterministic generator.
struct Gen(u64);

impl Gen {
    fn u(&mut self) -> f64 {
        (splitmix64(&mut self.0) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (splitmix64(&mut self.0) % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.u() < p
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.u()
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (splitmix64(&mut self.0) % (hi - lo + 1) as u64) as i64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// A hostile value: out of range, of the wrong type, extreme or subnormal.
    fn hostile(&mut self) -> Value {
        match self.below(24) {
            0 => Value::Float(0.0),
            1 => Value::Float(-0.0),
            2 => Value::Float(-1.0),
            3 => Value::Float(f64::MAX),
            4 => Value::Float(-f64::MAX),
            5 => Value::Float(5e-324),
            6 => Value::Float(-5e-324),
            7 => Value::Float(f64::MIN_POSITIVE),
            8 => Value::Float(f64::NAN),
            9 => Value::Float(f64::INFINITY),
            10 => Value::Float(f64::NEG_INFINITY),
            11 => Value::Float(1e-300),
            12 => Value::Integer(0),
            13 => Value::Integer(-1),
            14 => Value::Integer(i64::MAX),
            15 => Value::Integer(i64::MIN),
            16 => Value::Integer(u32::MAX as i64),
            17 => Value::Integer(1 << 53),
            18 => Value::String("text".into()),
            19 => Value::Boolean(true),
            20 => Value::Array(vec![]),
            21 => Value::Array(vec![Value::Float(1.0), Value::String("x".into())]),
            22 => Value::Table(Table::new()),
            _ => Value::Float(1e15),
        }
    }
}

fn f(x: f64) -> Value {
    Value::Float(x)
}
fn i(x: i64) -> Value {
    Value::Integer(x)
}
fn s(x: &str) -> Value {
    Value::String(x.to_string())
}
fn table(pairs: Vec<(&str, Value)>) -> Value {
    Value::Table(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A key and a generator of an in-range value for it.
type KeyGen = (&'static str, fn(&mut Gen) -> Value);

/// Keys whose huge valid values would make a case run for hours: they get small or invalid
/// values only.
const WORK_KEYS: [&str; 3] = ["paths", "steps", "positions"];

fn oracle(g: &mut Gen) -> Value {
    match g.below(6) {
        0 => table(vec![("model", s("spot"))]),
        1 => table(vec![("model", s("lag")), ("lag_hours", f(g.range(0.0, 48.0)))]),
        2 => table(vec![
            ("model", s("heartbeat")),
            ("deviation", f(g.range(0.0, 0.1))),
            ("heartbeat_hours", f(g.range(0.1, 24.0))),
        ]),
        3 => table(vec![("model", s("twap")), ("window_hours", f(g.range(0.1, 24.0)))]),
        4 => table(vec![("model", s("osm")), ("hop_hours", f(g.range(0.1, 6.0)))]),
        _ => table(vec![
            ("model", s("capo")),
            ("snapshot_ratio", f(g.range(0.5, 2.0))),
            ("max_yearly_growth", f(g.range(0.0, 1.0))),
            ("snapshot_age_days", f(g.range(0.0, 30.0))),
        ]),
    }
}

fn bad_prints(g: &mut Gen) -> Value {
    let n = g.below(3);
    Value::Array(
        (0..n)
            .map(|_| {
                table(vec![
                    ("start_hours", f(g.range(0.0, 24.0))),
                    ("ramp_in_hours", f(g.range(0.0, 2.0))),
                    ("hold_hours", f(g.range(0.0, 6.0))),
                    ("ramp_out_hours", f(g.range(0.0, 2.0))),
                    ("error", f(g.range(-0.5, 0.5))),
                ])
            })
            .collect(),
    )
}

fn process(g: &mut Gen, steps: i64) -> (Value, Option<f64>) {
    let two = |g: &mut Gen, lo: f64, hi: f64| Value::Array(vec![f(g.range(lo, hi)), f(g.range(lo, hi))]);
    match g.below(8) {
        0 => (
            table(vec![("model", s("gbm")), ("mu", f(g.range(-1.0, 1.0))), ("sigma", f(g.range(0.0, 2.0)))]),
            None,
        ),
        1 => (
            table(vec![
                ("model", s("merton")),
                ("sigma", f(g.range(0.0, 2.0))),
                ("jump_intensity", f(g.range(0.0, 50.0))),
                ("jump_mean", f(g.range(-0.3, 0.1))),
                ("jump_std", f(g.range(0.0, 0.3))),
            ]),
            None,
        ),
        2 => (
            table(vec![
                ("model", s("garch")),
                ("annual_vol", f(g.range(0.1, 2.0))),
                ("alpha", f(g.range(0.0, 0.2))),
                ("beta", f(g.range(0.0, 0.75))),
            ]),
            None,
        ),
        3 => (
            table(vec![
                ("model", s("regime_switch")),
                ("mu", two(g, -1.0, 1.0)),
                ("sigma", two(g, 0.1, 2.0)),
                ("switch_intensity", two(g, 0.0, 50.0)),
                ("start_regime", i(g.int(0, 1))),
            ]),
            None,
        ),
        4 => (
            table(vec![
                ("model", s("bootstrap")),
                ("file", s("prices.csv")),
                ("block_hours", i(g.int(1, 4))),
            ]),
            Some(steps as f64 / 24.0),
        ),
        5 => (
            table(vec![
                ("model", s("replay")),
                ("file", s("prices.csv")),
                ("start", s(&format!("2020-01-01T{:02}:00:00Z", g.int(0, 5)))),
            ]),
            Some(steps as f64 / 24.0),
        ),
        6 => {
            let mut t = vec![("model", s("windows")), ("file", s("prices.csv"))];
            if g.chance(0.7) {
                t.push(("stride_hours", i(g.int(1, 48))));
            }
            if g.chance(0.3) {
                t.push(("first", s(&format!("2020-01-0{}T00:00:00Z", g.int(1, 3)))));
            }
            if g.chance(0.3) {
                t.push(("last", s(&format!("2020-02-0{}T00:00:00Z", g.int(1, 9)))));
            }
            (table(t), Some(steps as f64 / 24.0))
        }
        _ => {
            let n = g.int(1, 3) as usize;
            let corr: Vec<Value> = (0..n)
                .map(|a| Value::Array((0..n).map(|b| f(if a == b { 1.0 } else { 0.3 })).collect()))
                .collect();
            (
                table(vec![
                    ("model", s("basket")),
                    ("sigma", Value::Array((0..n).map(|_| f(g.range(0.1, 1.5))).collect())),
                    ("weights", Value::Array((0..n).map(|_| f(g.range(0.1, 2.0))).collect())),
                    ("correlation", Value::Array(corr)),
                ]),
                None,
            )
        }
    }
}

fn market(g: &mut Gen, steps: i64) -> (Value, Option<f64>) {
    let (proc_, horizon) = process(g, steps);
    let liquidity = match g.below(5) {
        0 => table(vec![("model", s("none"))]),
        1 => table(vec![("model", s("exponential")), ("depth_eth", f(g.range(10.0, 1e6)))]),
        2 => table(vec![("model", s("linear")), ("depth_eth", f(g.range(10.0, 1e6)))]),
        3 => table(vec![
            ("model", s("constant_product")),
            ("reserve_eth", f(g.range(10.0, 1e5))),
            ("reference_price", f(g.range(100.0, 5000.0))),
            ("fee", f(g.range(0.0, 0.01))),
        ]),
        _ => table(vec![
            ("model", s("square_root")),
            ("y", f(g.range(0.1, 2.0))),
            ("sigma_daily", f(g.range(0.01, 0.1))),
            ("daily_volume_eth", f(g.range(100.0, 1e6))),
        ]),
    };
    let shocks: Vec<Value> = (0..g.below(3))
        .map(|_| {
            let at = if g.chance(0.5) { ("at", s("random")) } else { ("at_hours", f(g.range(0.0, 24.0))) };
            if g.chance(0.5) {
                table(vec![("kind", s("gap")), ("size", f(g.range(-0.5, 0.3))), at])
            } else {
                table(vec![
                    ("kind", s("wick")),
                    ("size", f(g.range(0.05, 0.5))),
                    ("down_hours", f(g.range(0.5, 6.0))),
                    ("up_hours", f(g.range(0.5, 6.0))),
                    at,
                ])
            }
        })
        .collect();
    let mut m = vec![
        ("start_price", f(g.range(100.0, 5000.0))),
        ("process", proc_),
        ("liquidity", liquidity),
        ("shocks", Value::Array(shocks)),
    ];
    if g.chance(0.3) {
        m.push(("resilience_half_life_hours", f(g.range(0.5, 48.0))));
    }
    (table(m), horizon)
}

fn cohort(g: &mut Gen) -> Value {
    let positions = i(g.int(1, 120));
    match g.below(3) {
        0 => table(vec![
            ("source", s("ladder")),
            ("positions", positions),
            ("collateral", f(g.range(0.1, 100.0))),
            ("cycle", i(g.int(1, 10))),
            ("hf_min", f(g.range(1.0, 1.2))),
            ("hf_max", f(g.range(1.2, 3.0))),
            ("lt", f(g.range(0.5, 0.95))),
        ]),
        1 => table(vec![
            ("source", s("random")),
            ("positions", positions),
            ("collateral_median", f(g.range(0.1, 100.0))),
            ("collateral_log_sd", f(g.range(0.0, 1.5))),
            ("hf_min", f(g.range(1.0, 1.2))),
            ("hf_max", f(g.range(1.2, 3.0))),
            ("lt", f(g.range(0.5, 0.95))),
        ]),
        _ => table(vec![("source", s("csv")), ("file", s("cohort.csv"))]),
    }
}

/// The `[cdp]` keys, each with a generator of an in-range value; a case takes a random subset
/// (keys that do not apply to its protocol are errors, which is tested too).
fn cdp(g: &mut Gen) -> Value {
    let protocol = *g.pick(&[
        "aave-v3",
        "maker-2020",
        "maker-2021",
        "liquity-v1",
        "liquity-v2",
        "compound-v3",
        "generic",
    ]);
    let mut t = vec![("protocol", s(protocol))];
    // Which protocols each key applies to (docs/EXPERIMENTS.md); a key given where it does not
    // apply is an error, which one case in ten tests.
    let direct = ["generic", "aave-v3"];
    let applies = |k: &str| -> bool {
        let sets: &[(&[&str], &[&str])] = &[
            (&["bonus", "close_factor", "protocol_fee"], &direct),
            (&["full_close_hf", "partial_min_usd", "dust_usd"], &["aave-v3"]),
            (&["chop", "keeper_margin"], &["maker-2020", "maker-2021"]),
            (&["flip_ttl_minutes", "keepers", "congestion_auctions", "lone_bid_fraction"], &["maker-2020"]),
            (&["buf", "cut", "step_seconds", "tail_minutes", "cusp", "tip_usd", "chip"], &["maker-2021"]),
            (
                &[
                    "stability_pool_usd",
                    "pool_sell_fraction",
                    "gas_comp_share",
                    "gas_comp_usd",
                    "gas_comp_eth",
                ],
                &["liquity-v1", "liquity-v2"],
            ),
            (&["gas_comp_cap_eth", "penalty_sp", "penalty_redistribution"], &["liquity-v2"]),
            (&["liquidation_factor", "store_front_price_factor"], &["compound-v3"]),
            (
                &["profit_check", "gas_usd", "profit_recheck_move"],
                &["generic", "aave-v3", "liquity-v1", "liquity-v2", "maker-2021"],
            ),
        ];
        sets.iter()
            .find(|(keys, _)| keys.contains(&k))
            .is_none_or(|(_, protocols)| protocols.contains(&protocol))
    };
    let loose = g.chance(0.1);
    let keys: [KeyGen; 42] = [
        ("lt", |g| f(g.range(0.5, 0.95))),
        ("bonus", |g| f(g.range(0.0, 0.1))),
        ("close_factor", |g| f(g.range(0.1, 1.0))),
        ("protocol_fee", |g| f(g.range(0.0, 0.5))),
        ("full_close_hf", |g| f(g.range(0.5, 1.0))),
        ("partial_min_usd", |g| f(g.range(0.0, 5000.0))),
        ("dust_usd", |g| f(g.range(0.0, 2000.0))),
        ("chop", |g| f(g.range(0.0, 0.2))),
        ("keeper_margin", |g| f(g.range(0.0, 0.1))),
        ("flip_ttl_minutes", |g| f(g.range(1.0, 60.0))),
        ("keepers", |g| i(g.int(0, 10))),
        ("congestion_auctions", |g| f(g.range(1.0, 50.0))),
        ("lone_bid_fraction", |g| f(g.range(0.0, 1.0))),
        ("buf", |g| f(g.range(1.0, 2.0))),
        ("cut", |g| f(g.range(0.5, 0.999))),
        ("step_seconds", |g| f(g.range(1.0, 600.0))),
        ("tail_minutes", |g| f(g.range(1.0, 300.0))),
        ("cusp", |g| f(g.range(0.1, 0.9))),
        ("tip_usd", |g| f(g.range(0.0, 500.0))),
        ("chip", |g| f(g.range(0.0, 0.01))),
        ("stability_pool_usd", |g| f(g.range(0.0, 1e7))),
        ("pool_sell_fraction", |g| f(g.range(0.0, 1.0))),
        ("gas_comp_share", |g| f(g.range(0.0, 0.01))),
        ("gas_comp_cap_eth", |g| f(g.range(0.1, 5.0))),
        ("gas_comp_usd", |g| f(g.range(0.0, 300.0))),
        ("gas_comp_eth", |g| f(g.range(0.0, 0.1))),
        ("penalty_sp", |g| f(g.range(0.0, 0.1))),
        ("penalty_redistribution", |g| f(g.range(0.0, 0.2))),
        ("liquidation_factor", |g| f(g.range(0.5, 1.0))),
        ("store_front_price_factor", |g| f(g.range(0.0, 1.0))),
        ("latency_steps", |g| i(g.int(0, 5))),
        ("profit_check", |g| Value::Boolean(g.chance(0.5))),
        ("gas_usd", |g| f(g.range(0.0, 100.0))),
        ("profit_recheck_move", |g| f(g.range(0.001, 0.5))),
        ("topup_target_hf", |g| f(g.range(1.0, 2.0))),
        ("topup_restore_hf", |g| f(g.range(2.0, 3.0))),
        ("topup_latency_steps", |g| i(g.int(0, 5))),
        ("borrow_rate", |g| f(g.range(0.0, 0.3))),
        ("max_liquidations_per_step", |g| i(g.int(1, 1000))),
        ("ccr", |g| f(g.range(1.0, 2.0))),
        ("oracle", oracle),
        ("oracle_errors", bad_prints),
    ];
    for (k, v) in keys {
        if (loose || applies(k)) && g.chance(0.3) {
            t.push((k, v(g)));
        }
    }
    // The top-up's keys need its target.
    if t.iter().any(|(k, _)| k.starts_with("topup_"))
        && !loose
        && !t.iter().any(|(k, _)| *k == "topup_target_hf")
    {
        t.retain(|(k, _)| *k != "topup_restore_hf");
        t.push(("topup_target_hf", f(g.range(1.0, 2.0))));
    }
    // The profit check's keys need it on.
    if t.iter().any(|(k, _)| *k == "gas_usd" || *k == "profit_recheck_move") && !loose {
        t.retain(|(k, _)| *k != "profit_check");
        t.push(("profit_check", Value::Boolean(true)));
    }
    table(t)
}

fn pn(g: &mut Gen) -> Value {
    let mut t: Vec<(&str, Value)> = Vec::new();
    let loose = g.chance(0.1);
    // The payoff and the policy first: the keys that belong to them follow.
    let payoff = *g.pick(&["capped", "capped", "capped", "linear", "binary"]);
    let policy = if payoff == "capped" || loose {
        *g.pick(&["hold", "trigger", "trigger", "band", "calendar"])
    } else {
        "hold"
    };
    if payoff != "capped" || g.chance(0.3) {
        t.push(("payoff", s(payoff)));
    }
    if policy != "trigger" || g.chance(0.3) {
        t.push(("policy", s(policy)));
    }
    if payoff == "linear" || loose && g.chance(0.3) {
        let lo = g.range(0.1, 1.0);
        t.push(("payoff_lower", f(lo)));
        t.push(("payoff_upper", f(lo + g.range(0.1, 2.0))));
    }
    if policy == "band" || loose && g.chance(0.3) {
        t.push(("band_delta", f(g.range(0.6, 0.95))));
    }
    if policy == "calendar" || loose && g.chance(0.3) {
        t.push(("calendar_every_steps", i(g.int(1, 24))));
    }
    let keys: [KeyGen; 15] = [
        ("maturity_days", |g| f(g.range(5.0, 60.0))),
        ("roll_trigger", |g| f(g.range(1.0, 1.5))),
        ("roll_target", |g| f(g.range(1.6, 3.0))),
        ("roll_before_days", |g| f(g.range(0.0, 1.0))),
        ("execution", |g| match g.below(4) {
            0 => table(vec![("style", s("market"))]),
            1 => table(vec![("style", s("twap")), ("slices", i(g.int(1, 6)))]),
            2 => table(vec![
                ("style", s("passive")),
                ("spread", f(g.range(0.0, 0.02))),
                ("max_wait_steps", i(g.int(1, 12))),
            ]),
            _ => table(vec![
                ("style", s("auction")),
                ("max_discount", f(g.range(0.001, 0.05))),
                ("ramp_steps", i(g.int(1, 12))),
            ]),
        }),
        ("hedge_buy_back", |g| Value::Boolean(g.chance(0.5))),
        ("hedge_every_steps", |g| i(g.int(1, 6))),
        ("fee", |g| f(g.range(0.0, 0.01))),
        ("pricing_vol", |g| f(g.range(0.0, 2.0))),
        ("rate", |g| f(g.range(-0.05, 0.1))),
        ("roll_oracle", oracle),
        ("roll_oracle_errors", bad_prints),
        ("settlement", |g| {
            let mut t = vec![
                ("method", s(if g.chance(0.5) { "twap" } else { "median" })),
                ("window_hours", f(g.range(0.0, 6.0))),
                ("delay_hours", f(g.range(0.0, 3.0))),
                ("error", f(g.range(-0.1, 0.1))),
            ];
            if g.chance(0.3) {
                t.push((
                    "manipulation",
                    table(vec![("share", f(g.range(0.0, 1.0))), ("size", f(g.range(-0.5, 0.5)))]),
                ));
            }
            table(t)
        }),
        ("max_roll_rounds", |g| i(g.int(1, 50))),
        ("rate", |g| f(g.range(0.0, 0.05))),
    ];
    // The default (24) needs at least 24 steps.
    if !loose || g.chance(0.5) {
        t.push(("p_drift_every_steps", i(g.int(0, 1))));
    }
    for (k, v) in keys {
        // Keys that need a rolling policy (hedge_every_steps: a counterparty that mints pairs).
        let roll_key = k.starts_with("roll_") && k != "roll_oracle" && k != "roll_oracle_errors"
            || k == "hedge_every_steps";
        if (loose || !(roll_key && policy == "hold")) && g.chance(0.25) && !t.iter().any(|(n, _)| *n == k) {
            t.push((k, v(g)));
        }
    }
    table(t)
}

/// A generated experiment: its TOML table and the CSV inputs it may read.
fn experiment(g: &mut Gen, case: usize) -> (Table, String, String) {
    let steps = g.int(1, 48);
    let (market, fixed_horizon) = market(g, steps);
    let worlds = g.pick(&[&["cdp"][..], &["pn"], &["cdp", "pn"]]).iter().map(|w| s(w)).collect();
    let mut t: Vec<(&str, Value)> = vec![
        ("name", s(&format!("fz{case}"))),
        ("description", s("a generated case")),
        ("seed", i((splitmix64(&mut g.0) >> 1) as i64)),
        ("paths", i(g.int(1, 24))),
        ("worlds", Value::Array(worlds)),
        ("horizon_days", f(fixed_horizon.unwrap_or_else(|| g.range(0.1, 10.0)))),
        ("steps", i(steps)),
        ("market", market),
        ("cohort", cohort(g)),
        ("cdp", cdp(g)),
        ("pn", pn(g)),
    ];
    if g.chance(0.03) {
        t.push(("report", Value::Boolean(true)));
    }
    if g.chance(0.2) {
        let metric = *g.pick(&["exits", "fees_usd", "min_price", "exits", "no_such_metric"]);
        let prim = *g.pick(&["cdp", "pn", "diff", "cdp", "other"]);
        t.push((
            "reference",
            Value::Array(vec![table(vec![
                ("label", s("a figure")),
                ("primitive", s(prim)),
                ("metric", s(metric)),
                ("value", f(g.range(0.0, 100.0))),
                ("se", f(g.range(0.0, 1.0))),
                ("source", s("a test")),
            ])]),
        ));
    }
    let Value::Table(tab) = table(t) else { unreachable!() };
    // The CSV inputs: mostly valid, sometimes with a bad row.
    let mut cohort_csv = String::from("id,collateral,debt\n");
    for k in 0..g.int(1, 40) {
        let (c, d) = (g.range(0.5, 50.0), g.range(100.0, 50_000.0));
        let row = match g.below(200) {
            0 => format!("{k},NaN,{d}\n"),
            1 => format!("{k},{c},-5\n"),
            2 => format!("0,{c},{d}\n"),
            3 => format!("{k},{c}\n"),
            _ => format!("{k},{c},{d}\n"),
        };
        cohort_csv.push_str(&row);
    }
    let mut prices = String::from("timestamp_utc,close\n");
    let mut p = 2000.0;
    for h in 0..120 {
        p *= (0.02 * (g.u() - 0.5)).exp();
        let row = match g.below(6000) {
            0 => format!("2020-01-{:02}T{:02}:00:00Z,NaN\n", 1 + h / 24, h % 24),
            1 => format!("2020-01-{:02}T{:02}:00:00Z,-1\n", 1 + h / 24, h % 24),
            2 => String::new(),
            _ => format!("2020-01-{:02}T{:02}:00:00Z,{p}\n", 1 + h / 24, h % 24),
        };
        prices.push_str(&row);
    }
    (tab, cohort_csv, prices)
}

/// Every leaf of `t` as a key path.
fn leaves(t: &Table, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (k, v) in t {
        prefix.push(k.clone());
        match v {
            Value::Table(sub) if !sub.is_empty() => leaves(sub, prefix, out),
            _ => out.push(prefix.clone()),
        }
        prefix.pop();
    }
}

fn slot<'a>(t: &'a mut Table, path: &[String]) -> Option<&'a mut Table> {
    let mut cur = t;
    for p in &path[..path.len() - 1] {
        cur = cur.get_mut(p)?.as_table_mut()?;
    }
    Some(cur)
}

/// Mutates a generated experiment: hostile values, missing and unknown keys.
fn mutate(g: &mut Gen, t: &mut Table) {
    for _ in 0..g.below(3) {
        let mut all = Vec::new();
        leaves(t, &mut Vec::new(), &mut all);
        let path = g.pick(&all).clone();
        let key = path.last().cloned().unwrap_or_default();
        let Some(parent) = slot(t, &path) else { continue };
        match g.below(10) {
            0 => {
                parent.remove(&key);
            }
            1 => {
                parent.insert(format!("{key}_typo"), Value::Integer(1));
            }
            _ if WORK_KEYS.contains(&key.as_str()) => {
                // Invalid or small only: 0, just above the range, negative, wrong type.
                let above = match key.as_str() {
                    "paths" => (1 << 40) + 1,
                    "steps" => 100_000_001,
                    _ => 10_000_001,
                };
                let choices = [i(0), i(-3), i(above), i(i64::MAX), f(2.5), s("many"), i(3)];
                let v = g.pick(&choices).clone();
                parent.insert(key, v);
            }
            // An extreme value of the key's own type (what validation must catch), or anything.
            _ => {
                let v = match parent.get(&key) {
                    Some(Value::Integer(_)) if g.chance(0.6) => {
                        i(*g.pick(&[0, -1, u32::MAX as i64, i32::MAX as i64, i64::MAX, 1 << 40, 1_000_000]))
                    }
                    Some(Value::Float(_)) if g.chance(0.6) => f(*g.pick(&[
                        0.0,
                        -0.0,
                        5e-324,
                        f64::MIN_POSITIVE,
                        1e-300,
                        f64::MAX,
                        -f64::MAX,
                        1e300,
                        f64::NAN,
                        f64::INFINITY,
                        -1e-9,
                        1e9,
                    ])),
                    _ => g.hostile(),
                };
                parent.insert(key, v);
            }
        }
    }
}

/// Text-level damage: a duplicated key line, or the file cut at a random byte.
fn damage(g: &mut Gen, text: String) -> String {
    if g.chance(0.05) {
        let lines: Vec<&str> = text.lines().collect();
        let keyed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].contains(" = ")).collect();
        if let Some(&k) = keyed.get(g.below(keyed.len().max(1))) {
            let mut out: Vec<&str> = lines.clone();
            out.insert(k + 1, lines[k]);
            return out.join("\n");
        }
    }
    if g.chance(0.05) {
        let mut cut = g.below(text.len().max(1));
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return text[..cut].to_string();
    }
    text
}

/// A case's exit code and wall time, or what was wrong.
type Outcome = Result<(i32, Duration), String>;

/// One case's outcome, after checking what it left.
fn run_case(dir: &Path, text: &str, cohort_csv: &str, prices: &str) -> Outcome {
    fs::write(dir.join("case.toml"), text).unwrap();
    fs::write(dir.join("cohort.csv"), cohort_csv).unwrap();
    fs::write(dir.join("prices.csv"), prices).unwrap();
    let paths = text.lines().find_map(|l| l.strip_prefix("paths = ")).and_then(|v| v.parse::<u64>().ok());
    let steps = text.lines().find_map(|l| l.strip_prefix("steps = ")).and_then(|v| v.parse::<u64>().ok());
    // The bound: a constant for the process and the build, and time proportional to the
    // path-steps (generous for a debug build on a shared machine).
    let work = paths.unwrap_or(24).min(24) * (steps.unwrap_or(48).min(48) + 120);
    let bound = Duration::from_secs(10) + Duration::from_micros(2_000 * work);
    let started = Instant::now();
    let mut child = headroom()
        .current_dir(dir)
        .args(["run", "case.toml", "--out", "out", "--threads", "1", "--events"])
        .env("CI", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            // The killed run's hidden staging folder would be the next case's finding.
            for e in fs::read_dir(dir).unwrap().flatten() {
                if e.file_name().to_string_lossy().starts_with('.') {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
            return Err(format!("ran longer than {bound:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    let code = o.status.code().unwrap_or(-1);
    if err.contains("panicked") || !(code == 0 || code == 2) {
        return Err(format!("exit {code} (status {}): {err}", o.status));
    }
    let left: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    if !left.is_empty() {
        return Err(format!("left {left:?}"));
    }
    if code == 2 && std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("EXIT2 {}", err.lines().next().unwrap_or("").chars().take(160).collect::<String>());
    }
    if code == 2 {
        if dir.join("out").exists() {
            return Err(format!("exit 2 but an output folder was written: {err}"));
        }
        if err.trim().is_empty() {
            return Err("exit 2 without a message".into());
        }
    }
    let _ = fs::remove_dir_all(dir.join("out"));
    Ok((code, took))
}

/// The text of case `case` of the generator with seed `seed`.
fn case_text(seed: u64, case: usize) -> (String, String, String) {
    let mut g = Gen(seed ^ (case as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let (mut t, cohort_csv, prices) = experiment(&mut g, case);
    if g.chance(0.4) {
        mutate(&mut g, &mut t);
    }
    let text = toml::to_string(&t).unwrap_or_default();
    (damage(&mut g, text), cohort_csv, prices)
}

#[test]
fn generated_experiments_exit_0_or_2_and_leave_nothing_on_error() {
    let started = Instant::now();
    let cases: usize =
        std::env::var("HEADROOM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CASES).max(CASES);
    let workers = 2;
    let results: Vec<Vec<(usize, Outcome)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                sc.spawn(move || {
                    let dir = tempdir();
                    (w..cases)
                        .step_by(workers)
                        .map(|case| {
                            let (text, cohort_csv, prices) = case_text(2024, case);
                            (case, run_case(dir.path(), &text, &cohort_csv, &prices))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ok = 0;
    let mut bad_input = 0;
    let mut failures = Vec::new();
    for (case, r) in results.into_iter().flatten() {
        match r {
            Ok((0, _)) => ok += 1,
            Ok(_) => bad_input += 1,
            Err(e) => failures.push(format!("case {case}: {e}\n{}", case_text(2024, case).0)),
        }
    }
    eprintln!("{cases} cases in {:?}: {ok} ran, {bad_input} refused with exit 2", started.elapsed());
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n----\n"));
    // Both outcomes are exercised: the generator is neither all valid nor all broken.
    assert!(ok >= cases / 10 && bad_input >= cases / 10, "{ok} ran, {bad_input} refused");
}

/// Every key and model name of docs/EXPERIMENTS.md's tables (the first two columns, from the top
/// level to `[cohort]`, and `[[reference]]`) is one the generator writes: a key added to the
/// experiment file without a place in the generator fails here.
#[test]
fn the_generator_covers_every_documented_key() {
    let doc = fs::read_to_string(crate::common::root().join("docs/EXPERIMENTS.md")).unwrap();
    let me = fs::read_to_string(crate::common::root().join("tests/integration/fuzz.rs")).unwrap();
    let (start, end) = (doc.find("## Top level").unwrap(), doc.find("## `[sweep]`").unwrap());
    let reference = doc.find("## `[[reference]]`").unwrap();
    let tables = format!("{}{}", &doc[start..end], &doc[reference..]);
    let mut keys = Vec::new();
    for line in tables.lines().filter(|l| l.starts_with("| ")) {
        for cell in line.split('|').skip(1).take(2) {
            // The backticked words of the cell: `name`, `settlement.method` (its last part).
            for (k, tok) in cell.split('`').enumerate() {
                let word = k % 2 == 1
                    && tok.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && tok
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
                if word {
                    keys.push(tok.rsplit('.').next().unwrap_or(tok).to_string());
                }
            }
        }
    }
    assert!(keys.len() > 100, "{} keys read from docs/EXPERIMENTS.md", keys.len());
    let missing: Vec<&String> = keys.iter().filter(|k| !me.contains(&format!("\"{k}\""))).collect();
    assert!(missing.is_empty(), "documented keys the generator never writes: {missing:?}");
}

/// A minimised case: runs `toml` and expects exit code 2 with every `needles` in the message,
/// and nothing written.
fn refused_case(toml: &str, needles: &[&str]) {
    let dir = tempdir();
    let (code, _) = run_case(dir.path(), toml, "", "").unwrap_or_else(|e| panic!("{e}"));
    let o = headroom()
        .current_dir(dir.path())
        .args(["run", "case.toml", "--out", "out"])
        .env("CI", "true")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!((code, o.status.code()), (2, Some(2)), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

/// The smallest experiment with both worlds, for the regression cases.
const MINIMAL: &str = r#"
name = "min"
paths = 2
horizon_days = 1.0
steps = 24
[market]
start_price = 2000.0
process = { model = "gbm", sigma = 0.8 }
[cohort]
source = "ladder"
positions = 3
collateral = 1.0
hf_min = 1.1
hf_max = 1.5
lt = 0.83
[cdp]
protocol = "generic"
[pn]
p_drift_every_steps = 0
"#;

#[test]
fn regression_patience_steps_of_u32_max_is_refused_not_an_abort() {
    // Found by the generator: `patience_steps = 4294967295` (valid for serde's u32) allocated a
    // slot per step of patience, 32 GB, and the process aborted (SIGABRT). The key is now
    // replaced by `[pn.execution]`, whose TWAP slices keep the same slots: both are refused.
    refused_case(
        &MINIMAL.replace("p_drift_every_steps = 0", "p_drift_every_steps = 0\npatience_steps = 4294967295"),
        &["pn.patience_steps", "replaced by the execution table"],
    );
    refused_case(
        &MINIMAL.replace(
            "p_drift_every_steps = 0",
            "p_drift_every_steps = 0\nexecution = { style = \"twap\", slices = 4294967295 }",
        ),
        &["pn.execution.slices", "4294967295", "[1, 10000]"],
    );
    refused_case(
        &MINIMAL.replace(
            "p_drift_every_steps = 0",
            "p_drift_every_steps = 0\nexecution = { style = \"twap\", slices = 10001 }",
        ),
        &["execution.slices"],
    );
}
