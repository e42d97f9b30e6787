use super::*;
use crate::rng::{stream, Purpose};
use crate::series::tests::data_dir;
use crate::shock::ShockTime;
use crate::testutil::{assert_within_4se, mean_se, var_se};

const HOUR: f64 = 1.0 / HOURS_PER_YEAR;
const DAY: f64 = 1.0 / 365.0;

fn build(spec: &ProcessSpec, dt_years: f64, steps: usize) -> Exogenous {
    Exogenous::build(spec, &[], dt_years, steps, &data_dir()).unwrap()
}

fn build_err(spec: &ProcessSpec, dt_years: f64, steps: usize) -> String {
    Exogenous::build(spec, &[], dt_years, steps, &data_dir()).unwrap_err().to_string()
}

/// `ln(S_T / S_0)` of `paths` paths.
fn log_terminal(ex: &Exogenous, paths: u64, seed: u64) -> Vec<f64> {
    (0..paths)
        .map(|p| {
            let mut rng = stream(seed, p, Purpose::Exogenous);
            let mut path = ex.start_path(&mut rng);
            (0..ex.steps()).map(|_| path.next_log_return(ex, &mut rng)).sum()
        })
        .collect()
}

/// The log-prices `ln(S_k / S_0)`, k = 0..=steps, of one path.
fn log_prices(ex: &Exogenous, seed: u64, path_index: u64) -> Vec<f64> {
    let mut rng = stream(seed, path_index, Purpose::Exogenous);
    let mut path = ex.start_path(&mut rng);
    let mut x = 0.0;
    let mut out = vec![0.0];
    for _ in 0..ex.steps() {
        x += path.next_log_return(ex, &mut rng);
        out.push(x);
    }
    out
}

fn parse(text: &str) -> Result<ProcessSpec, String> {
    toml::from_str::<ProcessSpec>(text).map_err(|e| e.to_string())
}

#[test]
fn gbm_mean_and_log_variance() {
    // E[S_T] = S_0 e^{mu T}, Var[ln S_T] = sigma^2 T (Glasserman 2003, §3.2).
    let (mu, sigma, steps) = (0.3, 0.8, 120);
    let ex = build(&ProcessSpec::Gbm { mu, sigma }, DAY, steps);
    let t = steps as f64 * DAY;
    let x = log_terminal(&ex, 20_000, 11);
    let s: Vec<f64> = x.iter().map(|v| v.exp()).collect();
    let (m, se) = mean_se(&s);
    assert_within_4se("GBM E[S_T]", m, se, (mu * t).exp());
    let (v, se) = var_se(&x);
    assert_within_4se("GBM Var[ln S_T]", v, se, sigma * sigma * t);
    let (m, se) = mean_se(&x);
    assert_within_4se("GBM E[ln S_T]", m, se, (mu - 0.5 * sigma * sigma) * t);
    assert_eq!(ex.annual_vol(), sigma);
    assert_eq!(ex.start_price(), None);
}

#[test]
fn merton_mean_and_log_variance() {
    // Compensated drift: E[S_T] = S_0 e^{mu T}; Var[ln S_T] = (sigma^2 + lambda (m^2 + s^2)) T
    // (Merton 1976).
    let (mu, sigma, lambda, m, s) = (0.1, 0.4, 12.0, -0.08, 0.1);
    let spec = ProcessSpec::Merton { mu, sigma, jump_intensity: lambda, jump_mean: m, jump_std: s };
    let steps = 90;
    let ex = build(&spec, DAY, steps);
    let t = steps as f64 * DAY;
    let x = log_terminal(&ex, 20_000, 12);
    let st: Vec<f64> = x.iter().map(|v| v.exp()).collect();
    let (mean, se) = mean_se(&st);
    assert_within_4se("Merton E[S_T]", mean, se, (mu * t).exp());
    let var_rate = sigma * sigma + lambda * (m * m + s * s);
    let (v, se) = var_se(&x);
    assert_within_4se("Merton Var[ln S_T]", v, se, var_rate * t);
    // E[ln S_T] = (mu - sigma^2/2 - lambda k + lambda m) T: the jumps' own mean shows here.
    let k = (m + 0.5 * s * s).exp() - 1.0;
    let (ml, se) = mean_se(&x);
    assert_within_4se("Merton E[ln S_T]", ml, se, (mu - 0.5 * sigma * sigma - lambda * k + lambda * m) * t);
    assert!((ex.annual_vol() - var_rate.sqrt()).abs() < 1e-15);
}

#[test]
fn merton_without_jumps_is_gbm_draw_for_draw() {
    let gbm = build(&ProcessSpec::Gbm { mu: 0.2, sigma: 0.5 }, HOUR, 50);
    let spec =
        ProcessSpec::Merton { mu: 0.2, sigma: 0.5, jump_intensity: 0.0, jump_mean: -0.1, jump_std: 0.1 };
    let merton = build(&spec, HOUR, 50);
    assert_eq!(log_prices(&gbm, 5, 3), log_prices(&merton, 5, 3));
}

#[test]
fn garch_unconditional_variance() {
    // Starting at h_0 = E[h], E[h_t] = omega / (1 - alpha - beta) = annual_vol^2 dt at every t,
    // and E[eps_t^2] = E[h_t]: the mean over paths of each path's average eps^2 is annual_vol^2 dt
    // exactly (Bollerslev 1986).
    let (annual_vol, alpha, beta, mu) = (0.8, 0.08, 0.9, 0.05);
    let ex = build(&ProcessSpec::Garch { mu, annual_vol, alpha, beta }, HOUR, 400);
    let target = annual_vol * annual_vol * HOUR;
    let mut per_path = Vec::new();
    let mut h_spread = (f64::INFINITY, 0.0f64);
    for p in 0..3000 {
        let mut rng = stream(21, p, Purpose::Exogenous);
        let mut path = ex.start_path(&mut rng);
        let mut sum_sq = 0.0;
        for _ in 0..ex.steps() {
            let h = path.h;
            h_spread = (h_spread.0.min(h), h_spread.1.max(h));
            let r = path.next_log_return(&ex, &mut rng);
            let eps = r - mu * HOUR + 0.5 * h;
            sum_sq += eps * eps;
        }
        per_path.push(sum_sq / ex.steps() as f64 / target);
    }
    let (m, se) = mean_se(&per_path);
    assert_within_4se("GARCH E[eps^2] / (annual_vol^2 dt)", m, se, 1.0);
    // The variance does move (volatility clusters): it spans more than a factor 2.
    assert!(h_spread.1 > 2.0 * h_spread.0, "{h_spread:?}");
    assert_eq!(ex.annual_vol(), annual_vol);
}

#[test]
fn garch_recursion_draw_for_draw() {
    // The same stream through an independent transcription of the recursion.
    let (annual_vol, alpha, beta, mu) = (0.6, 0.1, 0.85, -0.2);
    let ex = build(&ProcessSpec::Garch { mu, annual_vol, alpha, beta }, HOUR, 30);
    let got = log_prices(&ex, 3, 9);
    let mut rng = stream(3, 9, Purpose::Exogenous);
    let mut h = annual_vol * annual_vol * HOUR;
    let omega = (1.0 - alpha - beta) * h;
    let mut x = 0.0;
    for (k, g) in got.iter().enumerate().skip(1) {
        let z: f64 = rng.sample(StandardNormal);
        let eps = h.sqrt() * z;
        x += mu * HOUR - h / 2.0 + eps;
        h = omega + alpha * eps * eps + beta * h;
        assert!((g - x).abs() < 1e-14, "step {k}: {g} vs {x}");
    }
}

/// The regime of each step (the one its return uses), for `paths` paths.
fn regimes(ex: &Exogenous, paths: u64, seed: u64) -> Vec<Vec<u8>> {
    (0..paths)
        .map(|p| {
            let mut rng = stream(seed, p, Purpose::Exogenous);
            let mut path = ex.start_path(&mut rng);
            (0..ex.steps())
                .map(|_| {
                    let r = path.regime;
                    path.next_log_return(ex, &mut rng);
                    r
                })
                .collect()
        })
        .collect()
}

#[test]
fn regime_switch_occupancy() {
    // q_0 = 40 / year out of regime 0, q_1 = 120 / year out of regime 1: pi_1 = 40 / 160 = 0.25.
    let (q0, q1) = (40.0, 120.0);
    let pi1 = q0 / (q0 + q1);
    let spec = |start_regime| ProcessSpec::RegimeSwitch {
        mu: [0.0, 0.0],
        sigma: [0.5, 1.5],
        switch_intensity: [q0, q1],
        start_regime,
    };
    // Stationary start: the expected share of time in regime 1 is pi_1 at every step.
    let ex = build(&spec(None), HOUR, 24 * 20);
    let shares: Vec<f64> = regimes(&ex, 3000, 31)
        .iter()
        .map(|r| r.iter().filter(|&&g| g == 1).count() as f64 / r.len() as f64)
        .collect();
    let (m, se) = mean_se(&shares);
    assert_within_4se("stationary share of regime 1", m, se, pi1);
    let vol = (0.75f64 * 0.25 + 0.25 * 2.25).sqrt();
    assert!((ex.annual_vol() - vol).abs() < 1e-15);

    // From regime 0: P(regime 1 at t) = pi_1 (1 - e^{-(q_0 + q_1) t}) (the two-state chain's
    // transition function), checked at 6 h and 24 h with the binomial standard error.
    let ex = build(&spec(Some(0)), HOUR, 25);
    let paths = regimes(&ex, 20_000, 32);
    for k in [6usize, 24] {
        let p = pi1 * (1.0 - (-(q0 + q1) * k as f64 * HOUR).exp());
        let hits = paths.iter().filter(|r| r[k] == 1).count() as f64 / paths.len() as f64;
        let se = (p * (1.0 - p) / paths.len() as f64).sqrt();
        assert_within_4se(&format!("P(regime 1 at {k} h | regime 0 at 0)"), hits, se, p);
    }
}

#[test]
fn regime_switch_mean_price() {
    // With the same mu in both regimes, E[S_T] = S_0 e^{mu T} whatever the regime path.
    let mu = 0.4;
    let spec = ProcessSpec::RegimeSwitch {
        mu: [mu, mu],
        sigma: [0.4, 1.2],
        switch_intensity: [20.0, 30.0],
        start_regime: None,
    };
    let ex = build(&spec, DAY, 60);
    let st: Vec<f64> = log_terminal(&ex, 20_000, 33).iter().map(|v| v.exp()).collect();
    let (m, se) = mean_se(&st);
    assert_within_4se("regime switch E[S_T]", m, se, (mu * 60.0 * DAY).exp());
}

fn bootstrap(file: &str, block_hours: f64) -> ProcessSpec {
    ProcessSpec::Bootstrap { file: file.into(), block_hours }
}

/// The returns of consecutive rows one hour apart, computed here from the loaded rows.
fn file_returns(name: &str) -> Vec<f64> {
    let s = series::load(&data_dir().join(name)).unwrap();
    (1..s.closes.len())
        .filter(|&i| s.times[i] - s.times[i - 1] == 3600)
        .map(|i| (s.closes[i] / s.closes[i - 1]).ln())
        .collect()
}

#[test]
fn bootstrap_draws_only_the_files_returns() {
    let name = "eth-2019-11-19-gap.csv";
    let want = file_returns(name);
    assert_eq!(want.len(), 39, "41 rows, 40 pairs, one across the gap");
    let ex = build(&bootstrap(name, 1.0), HOUR, 300);
    let mut seen = vec![false; want.len()];
    for p in 0..10 {
        let mut rng = stream(41, p, Purpose::Exogenous);
        let mut path = ex.start_path(&mut rng);
        for _ in 0..ex.steps() {
            let r = path.next_log_return(&ex, &mut rng);
            let i = want.iter().position(|w| w.to_bits() == r.to_bits());
            let i = i.unwrap_or_else(|| panic!("{r} is not a return of the file"));
            seen[i] = true;
        }
    }
    // 3000 iid draws from 39 values: each is missed with probability (38/39)^3000 < 1e-33.
    assert!(seen.iter().all(|&s| s), "some returns never drawn: {seen:?}");
    let (_, se) = mean_se(&want);
    let sd = se * (want.len() as f64).sqrt();
    assert!((ex.annual_vol() - sd / HOUR.sqrt()).abs() < 1e-12);
}

#[test]
fn bootstrap_blocks_stay_inside_runs() {
    // Rows 100, 101, 102, (03:00 missing), 200, 202, 199: runs of returns (a, b) and (c, d).
    let (a, b, c, d) = ((1.01f64).ln(), (102.0f64 / 101.0).ln(), (1.01f64).ln(), (199.0f64 / 202.0).ln());
    let across = (200.0f64 / 102.0).ln();
    let ex = build(&bootstrap("synthetic-gap.csv", 2.0), HOUR, 40);
    let (mut first, mut second) = (0, 0);
    for p in 0..50 {
        let mut rng = stream(42, p, Purpose::Exogenous);
        let mut path = ex.start_path(&mut rng);
        for _ in 0..ex.steps() / 2 {
            let pair = (path.next_log_return(&ex, &mut rng), path.next_log_return(&ex, &mut rng));
            assert!(pair.0 != across && pair.1 != across);
            if pair == (a, b) {
                first += 1;
            } else if pair == (c, d) {
                second += 1;
            } else {
                panic!("{pair:?} is not a block of the file");
            }
        }
    }
    // Two equally likely blocks over 1000 draws: binomial(1000, 1/2) within 4 standard errors.
    assert_within_4se("share of the first block", first as f64 / 1000.0, (0.25f64 / 1000.0).sqrt(), 0.5);
    assert_eq!(first + second, 1000);

    let e = build_err(&bootstrap("synthetic-gap.csv", 3.0), HOUR, 10);
    assert!(e.starts_with("block_hours = 3") && e.contains("no run of 3"), "{e}");
    let e = build_err(&bootstrap("synthetic-gap.csv", 1.5), HOUR, 10);
    assert!(e.starts_with("block_hours = 1.5") && e.contains("whole positive number"), "{e}");
}

#[test]
fn bootstrap_and_replay_need_the_files_step() {
    let e = build_err(&bootstrap("quarter-hourly.csv", 1.0), HOUR, 10);
    assert!(e.starts_with("file = ") && e.contains("900 s apart") && e.contains("3600"), "{e}");
    let e = build_err(&bootstrap("synthetic-gap.csv", 1.0), 2.0 * HOUR, 10);
    assert!(e.contains("3600 s apart") && e.contains("7200"), "{e}");
    // A 15-minute experiment on the 15-minute file is fine.
    let ex = build(&bootstrap("quarter-hourly.csv", 0.25), HOUR / 4.0, 10);
    assert_eq!(ex.steps(), 10);
}

#[test]
fn shipped_file_realised_volatility() {
    // data/README.md: realised volatility 0.8755 over the whole file (gaps skipped, sample sd,
    // 8760 h a year); the worst hour 2020-03-12 10:00, log-return -0.2409.
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let ex = Exogenous::build(&bootstrap("eth-usd-1h.csv", 1.0), &[], HOUR, 10, &base).unwrap();
    assert!((ex.annual_vol() - 0.8755).abs() < 5e-5, "{}", ex.annual_vol());
    let Kind::Bootstrap { returns, starts, .. } = &ex.kind else { panic!("not a bootstrap") };
    assert_eq!(returns.len(), 50_457 - 3, "three gaps");
    assert_eq!(starts.len(), returns.len());
    let worst = returns.iter().copied().fold(f64::INFINITY, f64::min);
    assert!((worst - -0.2409).abs() < 5e-5, "{worst}");
}

fn replay(file: &str, start: Option<&str>) -> ProcessSpec {
    ProcessSpec::Replay { file: file.into(), start: start.map(String::from) }
}

#[test]
fn replay_reproduces_the_closes() {
    let name = "eth-2020-03-12-black-thursday.csv";
    let s = series::load(&data_dir().join(name)).unwrap();
    let ex = build(&replay(name, Some("2020-03-12T00:00:00Z")), HOUR, 47);
    assert_eq!(ex.start_price(), Some(193.37));
    let mut price = ex.start_price().unwrap();
    let mut rng = stream(0, 0, Purpose::Exogenous);
    let mut path = ex.start_path(&mut rng);
    for k in 0..47 {
        price *= path.next_log_return(&ex, &mut rng).exp();
        assert!((price / s.closes[k + 1] - 1.0).abs() < 1e-12, "step {k}: {price} vs {}", s.closes[k + 1]);
    }
    assert!((price - 135.40).abs() < 1e-9);
    assert_eq!(path.next_log_return(&ex, &mut rng), 0.0, "past the window the price stays");

    // From a later row, by its timestamp.
    let ex = build(&replay(name, Some("2020-03-12 10:00:00")), HOUR, 3);
    assert_eq!(ex.start_price(), Some(s.closes[10]));
    let x = log_prices(&ex, 0, 0);
    assert!(((s.closes[13] / s.closes[10]).ln() - x[3]).abs() < 1e-14);
    // The worst hour of the file (data/README.md): the return into 2020-03-12 10:00.
    assert!(((s.closes[10] / s.closes[9]).ln() - -0.2409).abs() < 5e-5);
}

#[test]
fn replay_errors_name_the_problem() {
    let name = "eth-2020-03-12-black-thursday.csv";
    let e = build_err(&replay(name, None), HOUR, 48);
    assert!(e.contains("has 48 rows from the start") && e.contains("needs 49"), "{e}");
    let e = build_err(&replay(name, Some("2020-03-14T00:00:00Z")), HOUR, 1);
    assert!(e.starts_with("start = 2020-03-14T00:00:00Z") && e.contains("must be a timestamp_utc"), "{e}");
    let e = build_err(&replay(name, Some("12 March")), HOUR, 1);
    assert!(e.starts_with("start = 12 March"), "{e}");
    // The window crosses the missing 2019-11-20 02:00: an error at the row after it (line 22).
    match Exogenous::build(&replay("eth-2019-11-19-gap.csv", None), &[], HOUR, 30, &data_dir()) {
        Err(MarketError::Csv { line, message, .. }) => {
            assert_eq!(line, 22, "{message}");
            assert!(message.contains("7200 s after"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // After the gap it replays.
    let ex = build(&replay("eth-2019-11-19-gap.csv", Some("2019-11-20T03:00:00Z")), HOUR, 20);
    assert_eq!(ex.start_price(), Some(176.19));
    let e = build_err(&replay("no-such-file.csv", None), HOUR, 1);
    assert!(e.contains("no-such-file.csv"), "{e}");
    let e = build_err(&replay("nan-close.csv", None), HOUR, 1);
    assert!(e.contains("nan-close.csv: line 5"), "{e}");
}

#[test]
fn shocks_on_a_flat_process() {
    let flat = ProcessSpec::Gbm { mu: 0.0, sigma: 0.0 };
    let gap = ShockSpec::Gap { size: -0.3, at_hours: Some(12.0), at: None };
    let wick = ShockSpec::Wick { size: -0.2, down_hours: 2.0, up_hours: 4.0, at_hours: Some(3.0), at: None };
    let ex = Exogenous::build(&flat, &[gap, wick], HOUR, 24, &data_dir()).unwrap();
    let prices: Vec<f64> = log_prices(&ex, 0, 0).iter().map(|x| x.exp()).collect();
    // Hours 0..=24: the wick bottoms at 5 h and is back at 9 h; the gap shows from 12 h on.
    let w = 0.8f64;
    let mut want = vec![1.0, 1.0, 1.0, 1.0, w.sqrt(), w, w.powf(0.75), w.sqrt(), w.powf(0.25), 1.0, 1.0, 1.0];
    want.extend([0.7; 13]);
    assert_eq!(prices.len(), want.len());
    for (h, (p, w)) in prices.iter().zip(&want).enumerate() {
        assert!((p - w).abs() < 1e-14, "hour {h}: {p} vs {w}");
    }
}

#[test]
fn shock_on_a_replay_moves_it_and_returns() {
    let name = "eth-2020-03-12-black-thursday.csv";
    let wick = ShockSpec::Wick { size: -0.5, down_hours: 1.0, up_hours: 1.0, at_hours: Some(2.0), at: None };
    let plain = build(&replay(name, None), HOUR, 6);
    let shocked = Exogenous::build(&replay(name, None), &[wick], HOUR, 6, &data_dir()).unwrap();
    let (a, b) = (log_prices(&plain, 0, 0), log_prices(&shocked, 0, 0));
    let diff: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (y - x).exp()).collect();
    let want = [1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0];
    for (d, w) in diff.iter().zip(want) {
        assert!((d - w).abs() < 1e-12, "{diff:?}");
    }
}

#[test]
fn random_gap_time_is_uniform_over_the_steps() {
    let flat = ProcessSpec::Gbm { mu: 0.0, sigma: 0.0 };
    let steps = 100;
    let shocks = [
        ShockSpec::Gap { size: -0.3, at_hours: None, at: Some(ShockTime::Random) },
        ShockSpec::Gap { size: 0.1, at_hours: Some(50.0), at: None },
    ];
    let ex = Exogenous::build(&flat, &shocks, HOUR, steps, &data_dir()).unwrap();
    let mut at = Vec::new();
    for p in 0..4000 {
        let x = log_prices(&ex, 51, p);
        // Step 49 carries the fixed gap, and the random one too when it lands there.
        let random_in = |k: usize| {
            let r = x[k + 1] - x[k] - if k == 49 { 1.1f64.ln() } else { 0.0 };
            if r.abs() < 1e-12 {
                false
            } else {
                assert!((r - 0.7f64.ln()).abs() < 1e-12, "path {p}, step {k}: return {r}");
                true
            }
        };
        let jumps: Vec<usize> = (0..steps).filter(|&k| random_in(k)).collect();
        assert_eq!(jumps.len(), 1, "path {p}: the random gap happens once");
        assert!((x[steps] - (0.7f64 * 1.1).ln()).abs() < 1e-12);
        at.push(jumps[0] as f64);
    }
    // Uniform on 0..99: mean 49.5, variance (100^2 - 1) / 12.
    let (m, _) = mean_se(&at);
    let se = ((steps * steps - 1) as f64 / 12.0 / at.len() as f64).sqrt();
    assert_within_4se("mean step of the random gap", m, se, 49.5);
    assert_eq!(at.iter().copied().fold(f64::INFINITY, f64::min), 0.0);
    assert_eq!(at.iter().copied().fold(0.0, f64::max), 99.0);
}

#[test]
fn validation_names_the_key_and_range() {
    let cases: Vec<(ProcessSpec, &str)> = vec![
        (ProcessSpec::Gbm { mu: 0.0, sigma: -0.1 }, "sigma = -0.1: must be within [0, 20]"),
        (
            ProcessSpec::Merton { mu: 0.0, sigma: 0.5, jump_intensity: -1.0, jump_mean: 0.0, jump_std: 0.1 },
            "jump_intensity = -1: must be within [0, 10000]",
        ),
        (
            ProcessSpec::Merton { mu: 0.0, sigma: 0.5, jump_intensity: 1.0, jump_mean: 0.0, jump_std: -0.1 },
            "jump_std = -0.1: must be within [0, 5]",
        ),
        (
            ProcessSpec::Garch { mu: 0.0, annual_vol: 0.0, alpha: 0.1, beta: 0.8 },
            "annual_vol = 0: must be > 0",
        ),
        (
            ProcessSpec::Garch { mu: 0.0, annual_vol: 0.5, alpha: 0.2, beta: 0.8 },
            "beta = 0.8: alpha + beta must be < 1",
        ),
        (ProcessSpec::Garch { mu: 0.0, annual_vol: 0.5, alpha: -0.1, beta: 0.8 }, "alpha = -0.1"),
        (
            ProcessSpec::RegimeSwitch {
                mu: [0.0, 0.0],
                sigma: [0.5, -1.0],
                switch_intensity: [1.0, 1.0],
                start_regime: None,
            },
            "sigma[1] = -1: must be within [0, 20]",
        ),
        (
            ProcessSpec::RegimeSwitch {
                mu: [0.0, 0.0],
                sigma: [0.5, 1.0],
                switch_intensity: [1.0, 1.0],
                start_regime: Some(2),
            },
            "start_regime = 2: must be 0 or 1",
        ),
        (
            ProcessSpec::RegimeSwitch {
                mu: [0.0, 0.0],
                sigma: [0.5, 1.0],
                switch_intensity: [0.0, 0.0],
                start_regime: None,
            },
            "start_regime = (missing)",
        ),
        (bootstrap("synthetic-gap.csv", 0.0), "block_hours = 0: must be > 0"),
    ];
    for (spec, want) in cases {
        let e = build_err(&spec, HOUR, 10);
        assert!(e.starts_with(want), "{spec:?}: {e}");
    }
    let gbm = ProcessSpec::Gbm { mu: 0.0, sigma: 0.5 };
    assert!(build_err(&gbm, 0.0, 10).starts_with("dt_years = 0: must be > 0"));
    assert!(build_err(&gbm, HOUR, 0).starts_with("steps = 0: must be within [1, 4294967295]"));
    let many = vec![ShockSpec::Gap { size: -0.1, at_hours: Some(1.0), at: None }; MAX_SHOCKS + 1];
    let e = Exogenous::build(&gbm, &many, HOUR, 10, &data_dir()).unwrap_err().to_string();
    assert!(e.starts_with("shocks = 17: at most 16"), "{e}");
}

#[test]
fn serde_keys_defaults_and_unknown_keys() {
    assert_eq!(parse("model = \"gbm\"\nsigma = 0.9").unwrap(), ProcessSpec::Gbm { mu: 0.0, sigma: 0.9 });
    assert_eq!(
        parse("model = \"merton\"\nsigma = 0.5\njump_intensity = 2\njump_mean = -0.1\njump_std = 0.05")
            .unwrap(),
        ProcessSpec::Merton { mu: 0.0, sigma: 0.5, jump_intensity: 2.0, jump_mean: -0.1, jump_std: 0.05 }
    );
    assert_eq!(
        parse("model = \"garch\"\nannual_vol = 0.8\nalpha = 0.05\nbeta = 0.9").unwrap(),
        ProcessSpec::Garch { mu: 0.0, annual_vol: 0.8, alpha: 0.05, beta: 0.9 }
    );
    assert_eq!(
        parse("model = \"regime_switch\"\nsigma = [0.5, 1.5]\nswitch_intensity = [4, 12]").unwrap(),
        ProcessSpec::RegimeSwitch {
            mu: [0.0, 0.0],
            sigma: [0.5, 1.5],
            switch_intensity: [4.0, 12.0],
            start_regime: None
        }
    );
    assert_eq!(
        parse("model = \"bootstrap\"\nfile = \"data/eth-usd-1h.csv\"").unwrap(),
        bootstrap("data/eth-usd-1h.csv", 1.0)
    );
    assert_eq!(
        parse("model = \"replay\"\nfile = \"x.csv\"\nstart = \"2020-03-12T00:00:00Z\"").unwrap(),
        replay("x.csv", Some("2020-03-12T00:00:00Z"))
    );
    let e = parse("model = \"gbm\"\nsigma = 0.9\nvol = 1").unwrap_err();
    assert!(e.contains("unknown field `vol`"), "{e}");
    let e = parse("model = \"garch\"\nannual_vol = 0.8\nalpha = 0.05").unwrap_err();
    assert!(e.contains("missing field `beta`"), "{e}");
    let e = parse("model = \"heston\"").unwrap_err();
    assert!(e.contains("unknown variant `heston`"), "{e}");
    let e = parse("model = \"regime_switch\"\nsigma = [0.5]\nswitch_intensity = [4, 12]").unwrap_err();
    assert!(e.contains("sigma") || e.contains("length 2"), "{e}");

    let shocks: Vec<ShockSpec> = toml::from_str::<std::collections::BTreeMap<String, Vec<ShockSpec>>>(
        "[[shocks]]\nkind = \"gap\"\nsize = -0.3\nat_hours = 12\n\
         [[shocks]]\nkind = \"wick\"\nsize = -0.45\ndown_hours = 0.5\nup_hours = 1\nat = \"random\"\n",
    )
    .unwrap()
    .remove("shocks")
    .unwrap();
    assert_eq!(shocks[0], ShockSpec::Gap { size: -0.3, at_hours: Some(12.0), at: None });
    assert_eq!(
        shocks[1],
        ShockSpec::Wick {
            size: -0.45,
            down_hours: 0.5,
            up_hours: 1.0,
            at_hours: None,
            at: Some(ShockTime::Random)
        }
    );
    let e =
        toml::from_str::<ShockSpec>("kind = \"gap\"\nsize = -0.3\nat_hours = 1\ndown_hours = 2").unwrap_err();
    assert!(e.to_string().contains("unknown field `down_hours`"), "{e}");
}

#[test]
fn paths_are_reproducible_and_distinct() {
    let ex = build(
        &ProcessSpec::Merton { mu: 0.0, sigma: 0.9, jump_intensity: 50.0, jump_mean: -0.05, jump_std: 0.05 },
        HOUR,
        100,
    );
    assert_eq!(log_prices(&ex, 7, 1), log_prices(&ex, 7, 1));
    assert_ne!(log_prices(&ex, 7, 1), log_prices(&ex, 7, 2));
}

#[test]
fn basket_of_one_asset_is_gbm() {
    // One asset, weight 1: B = S, so the basket's returns are GBM's, draw for draw.
    let gbm = build(&ProcessSpec::Gbm { mu: 0.1, sigma: 0.7 }, HOUR, 48);
    let basket = build(
        &ProcessSpec::Basket {
            mu: vec![0.1],
            sigma: vec![0.7],
            correlation: vec![vec![1.0]],
            weights: vec![3.0],
        },
        HOUR,
        48,
    );
    let (a, b) = (log_prices(&gbm, 5, 2), log_prices(&basket, 5, 2));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
    assert!((basket.annual_vol() - 0.7).abs() < 1e-15);
}

#[test]
fn basket_mean_and_correlation() {
    // E[B_T] = sum_i w_i e^{mu_i T} (each asset is a GBM with E[S_i(T)/S_i(0)] = e^{mu_i T}).
    let (mu, sigma, w) = (vec![0.2, -0.1], vec![0.9, 0.4], vec![0.25, 0.75]);
    let rho = 0.6;
    let spec = ProcessSpec::Basket {
        mu: mu.clone(),
        sigma: sigma.clone(),
        correlation: vec![vec![1.0, rho], vec![rho, 1.0]],
        weights: w.clone(),
    };
    let steps = 60;
    let ex = build(&spec, DAY, steps);
    let t = steps as f64 * DAY;
    let b: Vec<f64> = log_terminal(&ex, 20_000, 21).iter().map(|x| x.exp()).collect();
    let (m, se) = mean_se(&b);
    assert_within_4se("basket E[B_T]", m, se, w[0] * (mu[0] * t).exp() + w[1] * (mu[1] * t).exp());
    let var = w[0] * w[0] * sigma[0] * sigma[0]
        + w[1] * w[1] * sigma[1] * sigma[1]
        + 2.0 * w[0] * w[1] * rho * sigma[0] * sigma[1];
    assert!((ex.annual_vol() - var.sqrt()).abs() < 1e-12);
}

#[test]
fn basket_rejects_bad_correlation_and_shapes() {
    let spec = |corr: Vec<Vec<f64>>, w: Vec<f64>| ProcessSpec::Basket {
        mu: vec![],
        sigma: vec![0.5, 0.5],
        correlation: corr,
        weights: w,
    };
    let e = spec(vec![vec![1.0, 1.2], vec![1.2, 1.0]], vec![1.0, 1.0]).validate().unwrap_err().to_string();
    assert!(e.contains("correlation"), "{e}");
    let e = spec(vec![vec![1.0, 0.5], vec![0.4, 1.0]], vec![1.0, 1.0]).validate().unwrap_err().to_string();
    assert!(e.contains("symmetric"), "{e}");
    let e = spec(vec![vec![1.0, 0.5], vec![0.5, 1.0]], vec![1.0]).validate().unwrap_err().to_string();
    assert!(e.contains("weights"), "{e}");
    // Pairwise fine, jointly impossible: not positive definite.
    let p = ProcessSpec::Basket {
        mu: vec![],
        sigma: vec![0.5; 3],
        correlation: vec![vec![1.0, 0.9, -0.9], vec![0.9, 1.0, 0.9], vec![-0.9, 0.9, 1.0]],
        weights: vec![1.0; 3],
    };
    let e = p.validate().unwrap_err().to_string();
    assert!(e.contains("positive definite"), "{e}");
}

#[test]
fn filled_blocks_equal_step_by_step_returns() {
    let shocks = [
        ShockSpec::Gap { size: -0.2, at_hours: None, at: Some(ShockTime::Random) },
        ShockSpec::Wick { size: -0.3, down_hours: 3.0, up_hours: 5.0, at_hours: Some(10.0), at: None },
    ];
    let specs = [
        ProcessSpec::Gbm { mu: 0.1, sigma: 0.9 },
        ProcessSpec::Merton { mu: 0.0, sigma: 0.5, jump_intensity: 50.0, jump_mean: -0.05, jump_std: 0.1 },
    ];
    for spec in &specs {
        let ex = Exogenous::build(spec, &shocks, HOUR, 100, &data_dir()).unwrap();
        let mut r1 = stream(9, 4, Purpose::Exogenous);
        let mut p1 = ex.start_path(&mut r1);
        let one: Vec<f64> = (0..100).map(|_| p1.next_log_return(&ex, &mut r1)).collect();
        let mut r2 = stream(9, 4, Purpose::Exogenous);
        let mut p2 = ex.start_path(&mut r2);
        let mut blocks = vec![0.0; 100];
        for chunk in blocks.chunks_mut(37) {
            p2.fill_log_returns(&ex, &mut r2, chunk);
        }
        assert_eq!(one, blocks, "{spec:?}");
    }
}
