//! The one-shot commands: `price` and `position`.

use crate::common::{run_in, stderr, tempdir};

fn json(args: &[&str]) -> serde_json::Value {
    let dir = tempdir();
    let o = run_in(dir.path(), args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn fails(args: &[&str], flag: &str) {
    let dir = tempdir();
    let o = run_in(dir.path(), args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(flag) && !stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
}

#[test]
fn price_prints_values_and_deltas_that_add_up() {
    let v = json(&[
        "price", "--spot", "3000", "--strike", "2500", "--vol", "0.8", "--days", "30", "--rate", "0.05",
        "--json",
    ]);
    assert_eq!(keys(&v), sorted(&["p_usd", "n_usd", "p_delta", "n_delta"]));
    let f = |k: &str| v[k].as_f64().unwrap();
    // P + N = x (the split), deltas sum to 1 ETH, and put-call parity: P = K e^{-rT} - Put.
    assert!((f("p_usd") + f("n_usd") - 3000.0).abs() < 1e-9);
    assert!((f("p_delta") + f("n_delta") - 1.0).abs() < 1e-12);
    assert!(f("p_usd") < 2500.0 && f("n_usd") > 500.0);
    let dir = tempdir();
    let o =
        run_in(dir.path(), &["price", "--spot", "3000", "--strike", "2500", "--vol", "0.8", "--days", "30"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("ETH-delta"));
}

#[test]
fn price_bad_arguments_exit_2() {
    let base = ["price", "--spot", "3000", "--strike", "2500", "--vol", "0.8", "--days", "30"];
    let with = |i: usize, v: &'static str| {
        let mut a = base.to_vec();
        a[i] = v;
        a
    };
    fails(&with(6, "-0.1"), "--vol");
    fails(&with(8, "0"), "--days");
    fails(&with(4, "0"), "--strike");
    fails(&with(4, "-5"), "--strike");
    fails(&with(2, "abc"), "--spot");
}

/// `headroom position` for 10 ETH against 20,000 USD at 3,000 (LT 0.83, bonus 5%, vol 80%) over
/// `days`, then `extra` flags.
fn position_args<'a>(days: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "position",
        "--collateral",
        "10",
        "--debt",
        "20000",
        "--price",
        "3000",
        "--lt",
        "0.83",
        "--bonus",
        "0.05",
        "--vol",
        "0.8",
        "--horizon-days",
        days,
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn position_json_has_the_contracts_keys() {
    let v = json(&position_args("30", &["--oracle-minutes", "60", "--gap", "0.3", "--json"]));
    assert_eq!(
        keys(&v),
        sorted(&[
            "liquidation_price",
            "health_factor",
            "distance_pct",
            "distance_sigmas",
            "p_liq_continuous",
            "p_liq_discrete",
            "topup_for_gap",
            "bonus_at_risk_usd"
        ])
    );
    assert!((v["liquidation_price"].as_f64().unwrap() - 20000.0 / 8.3).abs() < 1e-9);
    assert_eq!(v["bonus_at_risk_usd"].as_f64().unwrap(), 1000.0);
}

#[test]
fn position_bad_flags_exit_2() {
    let base = position_args("30", &[]);
    let with = |i: usize, v: &'static str| {
        let mut a = base.to_vec();
        a[i] = v;
        a
    };
    fails(&with(4, "0"), "--debt");
    fails(&with(4, "-1"), "--debt");
    fails(&with(8, "1.5"), "--lt");
    fails(&with(8, "0"), "--lt");
    fails(&with(12, "-0.2"), "--vol");
}

#[test]
fn validate_prints_the_resolved_experiment_which_reads_back() {
    let dir = tempdir();
    let d = dir.path();
    let q = crate::common::root().join("experiments/quickstart.toml");
    let o = run_in(d, &["validate", q.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    // Preset defaults are resolved: Aave v3.3's close factor and dust rule are printed.
    assert!(text.contains("close_factor = 0.5") && text.contains("dust_usd = 1000"), "{text}");
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("again.toml"), &body).unwrap();
    let o = run_in(d, &["validate", "again.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again: String =
        String::from_utf8_lossy(&o.stdout).lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(body, again);
}

#[test]
fn position_mc_adds_the_simulated_probability() {
    let v = json(&position_args("5", &["--oracle-minutes", "60", "--mc", "3000", "--json"]));
    let p = v["p_liq_mc"].as_f64().unwrap();
    let se = v["p_liq_mc_se"].as_f64().unwrap();
    let closed = v["p_liq_discrete"].as_f64().unwrap();
    assert!(se > 0.0 && (p - closed).abs() < 4.0 * se, "mc {p} se {se} closed {closed}");
    fails(&position_args("5", &["--mc", "1"]), "--mc");
}
