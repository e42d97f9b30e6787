//! Unit tests of the report's helpers (number formats, curves, checks), with hand-computed
//! expectations. The whole report is tested on fixture folders in tests/integration/report.rs.

use super::calendar::{costliest, from_years, positive_runs, to_years};
use super::data::{Side, SummaryRow};
use super::figures::{check_trace, worst_index};
use super::format::{fmt_ci, fmt_count, fmt_num};
use super::ledger::verdict;
use super::plots::{compact, exceedance_steps, padded, percent, thin, Ticks};
use super::WorldTrace;
use headroom_montecarlo::stats::{stats, Worst};

#[test]
fn numbers_keep_four_significant_digits() {
    let cases = [
        (0.0, "0"),
        (-0.0, "0"),
        (1234.5678, "1,235"),
        (-1_234_567.0, "-1,234,567"),
        (999.96, "1,000"),
        (999.4, "999.4"),
        (12.3456, "12.35"),
        (-2.5, "-2.5"),
        (0.5, "0.5"),
        (0.000125, "0.000125"),
        (1.5e-5, "1.500e-5"),
        (2e15, "2.000e15"),
        (f64::NAN, "n/a"),
        (f64::INFINITY, "inf"),
    ];
    for (x, want) in cases {
        assert_eq!(fmt_num(x), want, "{x}");
    }
    assert_eq!(fmt_ci(-4.8, 14.8), "[-4.8, 14.8]");
    assert_eq!(
        (fmt_count(999), fmt_count(100_000), fmt_count(1_234_567)),
        ("999".into(), "100,000".into(), "1,234,567".into())
    );
}

#[test]
fn exceedance_counts_zeros_in_n_but_draws_only_positive_values() {
    // Positive values 1, 5, 5, 10 of n = 6: S(1) = 4/6, S(5) = 3/6, S(10) = 1/6.
    let pts = exceedance_steps(&[0.0, 0.0, 5.0, 1.0, 5.0, 10.0]);
    let want = [(1.0, 4.0 / 6.0), (5.0, 4.0 / 6.0), (5.0, 3.0 / 6.0), (10.0, 3.0 / 6.0), (10.0, 1.0 / 6.0)];
    assert_eq!(pts, want);
    assert!(exceedance_steps(&[0.0, 0.0]).is_empty());
    assert!(exceedance_steps(&[]).is_empty());
}

#[test]
fn exceedance_of_many_values_is_thinned_but_keeps_the_tail() {
    let values: Vec<f64> = (1..=100_000).map(f64::from).collect();
    let pts = exceedance_steps(&values);
    assert!(pts.len() <= 2 * 1502, "{} points", pts.len());
    // The ten largest values are all there, each with its exact share (rank / n).
    for r in 1..=10u32 {
        let x = f64::from(100_001 - r);
        let s = f64::from(r) / 100_000.0;
        assert!(pts.contains(&(x, s)), "rank {r}");
    }
    assert_eq!(pts[0], (1.0, 1.0));
    assert!(pts.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 >= w[1].1));
}

#[test]
fn thinning_keeps_spikes_and_order() {
    let mut ys = vec![1.0; 100];
    ys[55] = 50.0;
    ys[12] = -3.0;
    let keep = thin(&ys, 40);
    assert!(keep.len() <= 40);
    assert!(keep.contains(&55) && keep.contains(&12) && keep.contains(&0) && keep.contains(&99));
    assert!(keep.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(thin(&ys[..10], 40), (0..10).collect::<Vec<_>>());
}

#[test]
fn axis_ranges_and_labels() {
    assert_eq!(padded(0.0, 0.0, 0.1), (0.0, 1.0));
    assert_eq!(padded(5.0, 5.0, 0.1), (4.75, 5.25));
    assert_eq!(padded(0.0, 100.0, 0.1), (0.0, 110.0));
    assert_eq!(padded(f64::NAN, 1.0, 0.1), (0.0, 1.1));
    let k = Ticks::for_range(0.0, 12_000.0);
    assert_eq!((k.label(2500.0), k.label(10_000.0), k.label(0.0)), ("2.5k".into(), "10k".into(), "0".into()));
    let plain = Ticks::for_range(1800.0, 3000.0);
    assert_eq!(plain.label(2500.0), "2,500");
    assert_eq!(Ticks::for_range(0.0, 1.0).label(0.25), "0.25");
    assert_eq!(Ticks::for_range(0.0, 3e6).label(1.5e6), "1.5M");
    assert_eq!(
        (compact(&2000.0), compact(&1.5e6), compact(&50.0)),
        ("2k".into(), "1.5M".into(), "50".into())
    );
    assert_eq!(
        [1.0, 0.1, 0.01, 0.001, 0.0001].map(|v| percent(&v)),
        ["100%", "10%", "1%", "0.1%", "0.01%"].map(String::from)
    );
}

/// A `diff` row of `metric` with the statistics of `values`.
fn diff_row(metric: &str, values: &[f64]) -> SummaryRow {
    SummaryRow { primitive: Side::Diff, metric: metric.into(), stats: stats(values, Worst::High) }
}

#[test]
fn the_verdict_follows_the_interval_and_says_what_it_rests_on() {
    // 40 paths, mean 10, spread 1: significant, normal interval.
    let v: Vec<f64> = (0..40).map(|i| 10.0 + if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let pct: Vec<f64> = v.iter().map(|x| x / 100.0).collect();
    let s = verdict(&diff_row("cost_usd", &v), Some(&diff_row("cost_pct_year", &pct)));
    assert!(s.contains("is **significant**") && s.contains("costs 10 USD per path (0.1 % a year"), "{s}");
    assert!(s.contains("paired, over 40 paths") && !s.contains("Student"), "{s}");
    // Negative: the CDP costs less.
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    let s = verdict(&diff_row("cost_usd", &neg), None);
    assert!(s.contains("costs 10 USD per path less"), "{s}");
    // 5 paths around 0: not significant, Student's t.
    let s = verdict(&diff_row("cost_usd", &[1.0, -1.0, 2.0, -2.0, 0.5]), None);
    assert!(s.contains("**not significant**") && s.contains("Student's t, over 5 paths"), "{s}");
    // The same difference on every path: exact, never "significant" (the CAPO replay's case).
    let s = verdict(&diff_row("cost_usd", &[-1985.0; 20]), None);
    assert!(s.contains("**exact** (no sampling error)") && !s.contains("significant"), "{s}");
    assert!(s.contains("costs 1,985 USD per path less") && s.contains("each of the 20 paths"), "{s}");
    let s = verdict(&diff_row("cost_usd", &[0.0; 7]), None);
    assert!(s.contains("exactly the same on each of the 7 paths"), "{s}");
    let s = verdict(&diff_row("cost_usd", &[3.0]), None);
    assert!(s.contains("with 1 path it has no interval"), "{s}");
}

#[test]
fn the_worst_path_is_the_first_largest_cost() {
    assert_eq!(worst_index(&[1.0, 5.0, 2.0, 5.0]), Some(1));
    assert_eq!(worst_index(&[0.0, 0.0]), Some(0));
    assert_eq!(worst_index(&[]), None);
}

#[test]
fn traces_are_checked_before_drawing() {
    let good = WorldTrace {
        times_days: vec![0.0, 0.5, 1.0],
        price: vec![3000.0, 2500.0, 2600.0],
        oracle_price: vec![3000.0, 3000.0, 2500.0],
        exits_cumulative: vec![0, 2, 2],
    };
    assert_eq!(check_trace(&good), Ok(()));
    let mut t = good.clone();
    t.oracle_price.pop();
    assert_eq!(check_trace(&t).unwrap_err(), "oracle_price has 2 points where times_days has 3");
    let mut t = good.clone();
    t.times_days[2] = 0.2;
    assert!(check_trace(&t).unwrap_err().contains("times_days[2] = 0.2"));
    let mut t = good.clone();
    t.price[1] = f64::NAN;
    assert!(check_trace(&t).unwrap_err().starts_with("price[1] = NaN"));
    let mut t = good.clone();
    t.exits_cumulative[2] = 1;
    assert_eq!(check_trace(&t).unwrap_err(), "exits_cumulative decreases at point 2");
    let t = WorldTrace {
        times_days: vec![0.0],
        price: vec![1.0],
        oracle_price: vec![1.0],
        exits_cumulative: vec![0],
    };
    assert!(check_trace(&t).is_err());
}

#[test]
fn the_calendar_axis_is_in_years_exact_at_new_years() {
    let t = |s: &str| headroom_market::process::parse_time(s).unwrap();
    assert_eq!(to_years(t("2020-01-01T00:00:00Z")), 2020.0);
    // 2020 has 366 days: 2 July is 183 days in, halfway.
    assert_eq!(to_years(t("2020-07-02T00:00:00Z")), 2020.5);
    assert_eq!(from_years(2020.5), t("2020-07-02T00:00:00Z"));
    // 2021 has 365: noon of 2 July is 182.5 days in.
    assert_eq!(to_years(t("2021-07-02T12:00:00Z")), 2021.5);
    for s in ["2018-06-24T09:00:00Z", "2024-02-25T21:00:00Z", "2019-12-31T23:00:00Z"] {
        assert_eq!(from_years(to_years(t(s))), t(s), "{s}");
    }
}

#[test]
fn costly_windows_run_until_a_free_one_or_a_skipped_start() {
    // Starts one unit apart except 3 -> 5 (a skipped window).
    let starts = [0, 1, 2, 3, 5, 6, 7];
    let runs = positive_runs(&starts, &[1.0, 2.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
    assert_eq!(runs, vec![0..2, 3..4, 4..6]);
    assert_eq!(positive_runs(&starts, &[0.0; 7]), vec![]);
    assert_eq!(positive_runs(&starts[..2], &[1.0, 1.0]), vec![0..2]);
}

#[test]
fn the_costliest_windows_are_one_per_episode() {
    // Episodes of 10: 30 (index 3) first; 5 at 32 and 4 at 25 are its episode; 4 at 0 and 4 at
    // 12 tie: the earlier first, and 12 is 12 away from 0, so both.
    let starts = [0, 12, 25, 30, 32, 50];
    let cost = [4.0, 4.0, 4.0, 9.0, 5.0, 0.0];
    assert_eq!(costliest(&starts, &cost, 10, 5), vec![3, 0, 1]);
    assert_eq!(costliest(&starts, &cost, 10, 2), vec![3, 0]);
    assert_eq!(costliest(&starts, &[0.0; 6], 10, 5), Vec::<usize>::new());
}
