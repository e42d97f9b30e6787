//! The report writer (`headroom report`, src/report) on hand-made result folders and on a real
//! `headroom run` output: tables with the right numbers, plots that exist, are linked and carry
//! their series labels, and clear errors naming the file.
//!
//! The module is compiled into this test binary from its source, so its public API is tested
//! directly (the binary has no library target).

#[allow(dead_code)]
#[path = "../../src/report/mod.rs"]
mod report_impl;

use crate::common::{run_in, stderr, tempdir, SMALL};
use headroom_market::{Ledger, PathMetrics};
use headroom_montecarlo::stats::overlap::SeMethod;
use headroom_montecarlo::{columns, WorldKind};
use report_impl::{write_report, PathTracer, ReportError, ReportOptions, WorldTrace, REPORT_MARKER};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const MANIFEST: &str = r#"{
  "name": "fixture",
  "experiment_file": "experiments/fixture.toml",
  "config": {"name": "fixture", "description": "A hand-made result with four paths.", "seed": 9},
  "config_hash": "abc123def456",
  "seed": 9,
  "paths": 4,
  "first_path": 0,
  "path_count": 4,
  "shard": null,
  "worlds": ["cdp", "pn"],
  "version": "0.1.0",
  "git_commit": "0123456789abcdef",
  "generator": "Xoshiro256PlusPlus seeded by SplitMix64(seed, path, purpose)",
  "threads": 2,
  "wall_seconds": 0.25,
  "files": ["paths.csv", "summary.csv", "manifest.json"]
}
"#;

/// One path of the fixture: the six party columns (borrower, lender, protocol, takers, market,
/// validators; each row sums to 0) and the breakdowns (fees, slippage, oracle loss, shortfall).
struct Row {
    ledger: [f64; 6],
    breakdown: [f64; 4],
    exits: u64,
}

/// CDP costs (takers + market + validators) 95, 0, 340, 190; P/N costs 3, 5, 2, 8. Worst paths:
/// 2 (CDP) and 3 (P/N). Paired differences 92, -5, 338, 182.
const CDP_ROWS: [Row; 4] = [
    Row { ledger: [-100.0, 0.0, 5.0, 85.0, 10.0, 0.0], breakdown: [90.0, 10.0, 0.0, 0.0], exits: 1 },
    Row { ledger: [0.0; 6], breakdown: [0.0; 4], exits: 0 },
    Row { ledger: [-300.0, -50.0, 10.0, 300.0, 40.0, 0.0], breakdown: [310.0, 40.0, 20.0, 50.0], exits: 3 },
    Row { ledger: [-200.0, 0.0, 10.0, 170.0, 20.0, 0.0], breakdown: [180.0, 20.0, 0.0, 0.0], exits: 2 },
];
const PN_ROWS: [Row; 4] = [
    Row { ledger: [-30.0, 27.0, 0.0, 1.0, 2.0, 0.0], breakdown: [1.0, 2.0, 0.0, 0.0], exits: 1 },
    Row { ledger: [-30.0, 25.0, 0.0, 2.0, 3.0, 0.0], breakdown: [2.0, 3.0, 1.0, 0.0], exits: 2 },
    Row { ledger: [-30.0, 28.0, 0.0, 1.0, 1.0, 0.0], breakdown: [1.0, 1.0, 0.0, 0.0], exits: 1 },
    Row { ledger: [-30.0, 22.0, 0.0, 3.0, 5.0, 0.0], breakdown: [3.0, 5.0, 2.0, 1.0], exits: 3 },
];
const MIN_PRICES: [f64; 4] = [2900.0, 3000.0, 2000.0, 2500.0];

fn metrics(r: &Row, path: usize, pn: bool) -> PathMetrics {
    let [b, l, p, t, m, v] = r.ledger;
    let [fees, slippage, oracle, shortfall] = r.breakdown;
    let ledger = Ledger {
        borrower_usd: b,
        lender_usd: l,
        protocol_usd: p,
        takers_usd: t,
        market_usd: m,
        validators_usd: v,
    };
    let cost = ledger.cost();
    PathMetrics {
        exits: r.exits,
        eth_sold: r.exits as f64,
        fees_usd: fees,
        slippage_usd: slippage,
        oracle_loss_usd: oracle,
        wrongful_exits: 0,
        shortfall_usd: shortfall,
        max_cascade_rounds: r.exits.min(1),
        positions_hit: r.exits.min(2),
        min_price: MIN_PRICES[path],
        final_price: MIN_PRICES[path] + 100.0,
        ledger,
        cost_usd: cost,
        cost_pct_year: cost / 100.0,
        borrower_pnl_usd: b - 10.0,
        lender_pnl_usd: l + 5.0,
        deferred: 0,
        interest_usd: (!pn).then_some(5.0),
        premium_usd: pn.then_some(30.0),
        p_drift: pn.then_some(0.00001 * (path + 1) as f64),
        pricing_vol: pn.then_some(0.9),
    }
}

/// The fixture's paths.csv and summary.csv, written by the engine's own writers.
fn fixture_files() -> (String, String) {
    fixture_files_with_drift([1e-5, 2e-5, 3e-5, 4e-5])
}

/// [`fixture_files`] with the P/N paths' `p_drift` set to `drift`.
fn fixture_files_with_drift(drift: [f64; 4]) -> (String, String) {
    let cdp: Vec<PathMetrics> = CDP_ROWS.iter().enumerate().map(|(i, r)| metrics(r, i, false)).collect();
    let mut pn: Vec<PathMetrics> = PN_ROWS.iter().enumerate().map(|(i, r)| metrics(r, i, true)).collect();
    for (m, d) in pn.iter_mut().zip(drift) {
        m.p_drift = Some(d);
    }
    let kinds = [WorldKind::Cdp, WorldKind::Pn];
    let worlds: [&[PathMetrics]; 2] = [&cdp, &pn];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns::paths_header()).unwrap();
    columns::write_path_rows(&mut w, 0, &kinds, &worlds).unwrap();
    let paths = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    columns::write_summary(&mut w, &columns::summary_rows(&kinds, &worlds, SeMethod::Iid)).unwrap();
    (paths, String::from_utf8(w.into_inner().unwrap()).unwrap())
}

/// Writes a result folder `name` under `root` with the given files.
fn folder(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        fs::write(dir.join(f), text).unwrap();
    }
    dir
}

fn full_fixture(root: &Path) -> PathBuf {
    let (paths, summary) = fixture_files();
    folder(root, "fixture", &[("manifest.json", MANIFEST), ("summary.csv", &summary), ("paths.csv", &paths)])
}

/// A tracer that records what it is asked and returns a small cascade: the price falls from
/// 3,000 to 2,000 over 10 days and recovers, the oracle lags one point, 3 exits on day 5.
#[derive(Default)]
struct FakeTracer {
    calls: Mutex<Vec<(PathBuf, WorldKind, u64)>>,
    fail: bool,
    bad_lengths: bool,
}

impl PathTracer for FakeTracer {
    fn trace(&self, dir: &Path, world: WorldKind, path: u64) -> Result<Option<WorldTrace>, String> {
        self.calls.lock().unwrap().push((dir.to_path_buf(), world, path));
        if self.fail {
            return Err("the engine refused".into());
        }
        let n = 41;
        let times_days: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
        let price: Vec<f64> =
            times_days.iter().map(|t| 3000.0 - 1000.0 * (1.0 - (t - 10.0).abs() / 10.0)).collect();
        let mut oracle_price = vec![price[0]];
        oracle_price.extend_from_slice(&price[..n - 1]);
        let exits_cumulative = times_days.iter().map(|t| if *t >= 5.0 { 3 } else { 0 }).collect();
        let mut t = WorldTrace { times_days, price, oracle_price, exits_cumulative };
        if self.bad_lengths {
            t.price.pop();
        }
        Ok(Some(t))
    }
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `![..](target)` of the markdown.
fn image_links(md: &str) -> Vec<String> {
    md.lines()
        .filter_map(|l| {
            l.strip_prefix("![")
                .and_then(|r| r.split_once("]("))
                .map(|(_, t)| t.trim_end_matches(')').to_string())
        })
        .collect()
}

#[test]
fn the_run_and_every_metric_have_the_numbers_of_summary_csv() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    let out = tmp.path().join("report.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.markdown, out);
    assert_eq!(s.folders, 1);
    let md = read(&out);
    // Title, description and the run's facts from manifest.json.
    assert!(md.starts_with(&format!("{REPORT_MARKER}\n# Headroom report: fixture\n")), "{md}");
    assert!(md.contains("> A hand-made result with four paths."));
    for fact in [
        "| paths | 4 |",
        "| seed | 9 |",
        "| worlds | CDP, P/N |",
        "| config hash | `abc123def456` |",
        "| git commit | `0123456789abcdef` |",
    ] {
        assert!(md.contains(fact), "missing {fact:?} in\n{md}");
    }
    // CDP costs 0, 95, 190, 340 (sorted): mean 156.25, p50 142.5, p95 190 + 0.85 x 150 = 317.5,
    // p99 335.5, es95 340. Sum of squared deviations 63,068.75, sd 144.99, se 72.496; four paths
    // take Student's t(0.975, 3) = 3.1824: half-width 230.72, [-74.47, 386.97].
    for row in [
        "| `cost_usd` | CDP | 4 | 156.2 | [-74.47, 387] | 142.5 | 317.5 | 335.5 | 340 |",
        // P/N fees 1, 2, 1, 3: mean 1.75, sd 0.9574, se 0.4787, t x se = 1.5235.
        "| `fees_usd` | P/N | 4 | 1.75 | [0.2265, 3.273] | 1.5 | 2.85 | 2.97 | 3 |",
        // min_price's es95 is the lowest value.
        "| `min_price` | CDP | 4 | 2,600 |",
        "| `p_drift` | P/N | 4 | 2.500e-5 |",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
    // Rows are grouped by metric: cdp, pn, diff.
    let a = md.find("| `fees_usd` | CDP |").unwrap();
    let b = md.find("| `fees_usd` | P/N |").unwrap();
    let c = md.find("| `fees_usd` | diff").unwrap();
    assert!(a < b && b < c);
}

#[test]
fn who_pays_what_is_the_ledger_with_its_breakdowns_apart() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    let out = tmp.path().join("r.md");
    write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    // Party means: CDP borrower (-100 + 0 - 300 - 200) / 4 = -150, takers 555 / 4 = 138.75,
    // market 17.5; P/N borrower -30 on every path (no sampling error: [-30, -30]).
    for row in [
        "| borrower (`borrower_usd`) | the borrower | the N holder | -150 [",
        "| takers (`takers_usd`) | liquidators, keepers, stability-pool depositors, searchers | roll counterparties, auction takers, searchers | 138.8 [",
        "| -30 [-30, -30] |",
        "| **cost** (`cost_usd`) | takers + market + validators | the same | **156.2 [-74.47, 387]** | **4.5 [",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
    // The breakdowns are listed with payer and payee, apart from the ledger.
    let ledger = md.find("### Who pays what: the ledger").unwrap();
    let parts = md.find("### Breakdowns (parts of the ledger, never added to it)").unwrap();
    assert!(ledger < parts);
    for row in [
        "| `shortfall_usd` | debt left unpaid (bad debt) | lender |",
        "| `interest_usd` | interest on the debt | borrower | lender | 5 [5, 5] |",
        "| `oracle_loss_usd` | settlement transfer (absolute), zero-sum between P and N |",
        "| `premium_usd` | put premium at the start | borrower (N holder) | lender (P holder) | 30 [30, 30] |",
    ] {
        assert!(md[parts..].contains(row), "missing {row:?} in\n{md}");
    }
    // Nothing adds a breakdown to a total: no "total loss" and no sum of fees and slippage.
    assert!(!md.contains("total loss") && !md.contains("total cost"), "{md}");
    // Each side's result: P/N lender pnl 27 + 5, 25 + 5, 28 + 5, 22 + 5: mean 30.5.
    assert!(md.contains("| lender (`lender_pnl_usd`) | -7.5 ["), "{md}");
    assert!(md.contains("| 30.5 ["), "{md}");
}

/// The P holder's value drift, `p_drift` x 100 in % a year with its interval, beside the
/// proposal's 1-4% a year. Four paths take Student's t(0.975, 3) = 3.18245.
#[test]
fn the_p_holders_drift_is_in_percent_a_year_beside_the_claim() {
    let tmp = tempdir();
    let report = |name: &str, drift: [f64; 4]| {
        let (paths, summary) = fixture_files_with_drift(drift);
        let dir = folder(tmp.path(), name, &[("summary.csv", &summary), ("paths.csv", &paths)]);
        let out = tmp.path().join(format!("{name}.md"));
        write_report(&[dir], &out, &ReportOptions::default()).unwrap();
        read(&out)
    };
    let line = |md: &str| {
        md.lines().find(|l| l.starts_with("**The P holder's value drift**")).unwrap_or_default().to_string()
    };
    // 1e-5 .. 4e-5: mean 2.5e-5, sd 1.29099e-5, se 6.45497e-6, half-width 2.05427e-5: in %
    // 0.0025 [0.0004457, 0.004554], below the claim.
    let md = report("low", [1e-5, 2e-5, 3e-5, 4e-5]);
    let l = line(&md);
    assert!(
        l.contains("over 4 paths): **0.0025 % a year** [0.0004457, 0.004554], **below** the 1-4% a year"),
        "{md}"
    );
    // It sits under each side's whole result.
    assert!(md.find("### Each side's whole result").unwrap() < md.find(&l).unwrap());
    // 0.020, 0.024, 0.026, 0.030: mean 0.025, sd sqrt(5.2e-5 / 3) = 0.0041633, se 0.0020817,
    // half-width 0.0066248: 2.5 [1.838, 3.162] % a year, inside.
    let l = line(&report("inside", [0.020, 0.024, 0.026, 0.030]));
    assert!(l.contains("**2.5 % a year** [1.838, 3.162], **inside** the 1-4% a year"), "{l}");
    // Twice that: 5 [3.675, 6.325], across the claim's upper end.
    let l = line(&report("across", [0.040, 0.048, 0.052, 0.060]));
    assert!(l.contains("**5 % a year** [3.675, 6.325], across the 4% end of the 1-4% a year"), "{l}");
    // 0.05 .. 0.08: 6.5 [4.446, 8.554], above.
    let l = line(&report("above", [0.05, 0.06, 0.07, 0.08]));
    assert!(l.contains("**6.5 % a year** [4.446, 8.554], **above** the 1-4% a year"), "{l}");
}

/// The fixture's paths as windows of a historical simulation (windows.csv), the last three
/// 45, 15 and 61 days after the one before.
const WINDOWS_CSV: &str = "path,start_utc,start_price,known_vol
0,2020-01-01T00:00:00Z,3000.0,0.8
1,2020-02-15T00:00:00Z,3100.0,0.8
2,2020-03-01T00:00:00Z,2500.0,0.9
3,2020-05-01T00:00:00Z,2800.0,0.7
";

#[test]
fn windows_get_their_costliest_episodes_and_a_calendar_chart() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    fs::write(dir.join("windows.csv"), WINDOWS_CSV).unwrap();
    fs::write(
        dir.join("manifest.json"),
        MANIFEST.replace(r#""seed": 9},"#, r#""seed": 9, "horizon_days": 30.0},"#),
    )
    .unwrap();
    let out = tmp.path().join("r.md");
    let s = write_report(std::slice::from_ref(&dir), &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    // CDP costs 0.95, 0, 3.4, 1.9 % a year: paths 2, 3, 0 (61 and 60 days apart), path 1 none.
    // P/N 0.03, 0.05, 0.02, 0.08: paths 3, 1, 0; path 2 starts 15 days after path 1, which cost
    // more: the same episode. Lowest prices 2,900, 3,000, 2,000, 2,500 against the starts.
    let rows = [
        "| CDP | 1 | 2020-03-01 | 2,500 | 2,000 (-20%) | 3.4 | 340 |",
        "| CDP | 2 | 2020-05-01 | 2,800 | 2,500 (-10.71%) | 1.9 | 190 |",
        "| CDP | 3 | 2020-01-01 | 3,000 | 2,900 (-3.333%) | 0.95 | 95 |",
        "| P/N | 1 | 2020-05-01 | 2,800 | 2,500 (-10.71%) | 0.08 | 8 |",
        "| P/N | 2 | 2020-02-15 | 3,100 | 3,000 (-3.226%) | 0.05 | 5 |",
        "| P/N | 3 | 2020-01-01 | 3,000 | 2,900 (-3.333%) | 0.03 | 3 |",
    ];
    let at: Vec<usize> =
        rows.iter().map(|r| md.find(r).unwrap_or_else(|| panic!("missing {r:?} in\n{md}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{md}");
    assert!(!md.contains("| P/N | 4 | 2020") && !md.contains("| CDP | 4 | 2020"), "{md}");
    assert!(md.contains("(4 windows, 2020-01-01 to 2020-05-01)"), "{md}");
    assert!(
        md.contains("| files | summary.csv, paths.csv, manifest.json, windows.csv (4 windows) |"),
        "{md}"
    );
    // The chart: linked, written, with its three series.
    let svg = s.plots.iter().find(|p| p.ends_with("1-fixture-calendar.svg")).expect("a calendar plot");
    assert!(image_links(&md).iter().any(|l| l.ends_with("1-fixture-calendar.svg")), "{md}");
    let text = read(svg);
    for label in
        ["ETH price at the start of each window", "CDP: cost of the window", "P/N: cost of the window"]
    {
        assert!(text.contains(label), "missing {label:?} in the calendar");
    }
    // Windows of paths that paths.csv does not have, or a bad time: errors naming the file.
    fs::write(dir.join("windows.csv"), WINDOWS_CSV.replace("3,2020-05-01", "7,2020-05-01")).unwrap();
    let e = write_report(std::slice::from_ref(&dir), &out, &ReportOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("windows.csv") && e.to_string().contains("path 7 has no row of world `cdp`"),
        "{e}"
    );
    assert!(e.is_input_error());
    fs::write(dir.join("windows.csv"), WINDOWS_CSV.replace("2020-02-15T00:00:00Z", "Feb 15")).unwrap();
    let e = write_report(std::slice::from_ref(&dir), &out, &ReportOptions::default()).unwrap_err();
    assert!(
        e.to_string().ends_with(
            "windows.csv: line 3: column `start_utc`: \"Feb 15\" is not a time YYYY-MM-DDTHH:MM:SSZ"
        ),
        "{e}"
    );
    // The earlier report is kept.
    assert_eq!(read(&out), md);
}

#[test]
fn the_headline_is_the_engines_paired_difference_with_the_paths_it_rests_on() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    let out = tmp.path().join("r.md");
    write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    assert!(
        md.contains("- **CDP**: 156.2 USD per path [-74.47, 387], 1.562 % a year of the deposit"),
        "{md}"
    );
    assert!(md.contains("- **P/N**: 4.5 USD per path"), "{md}");
    // Differences 92, -5, 338, 182: mean 151.75, sd 145.77, se 72.885; t(3) x se = 231.95.
    assert!(
        md.contains(
            "The CDP minus P/N difference of cost, 151.8 USD per path (95% CI [-80.2, 383.7]; in % a \
             year [-0.802, 3.837]; paired, Student's t, over 4 paths), is **not significant** at the 5% \
             level: the interval contains 0."
        ),
        "{md}"
    );
}
#[test]
fn plots_exist_are_linked_and_carry_their_series_labels() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    let out = tmp.path().join("report.md");
    let tracer = FakeTracer::default();
    let opts = ReportOptions { tracer: Some(&tracer), ..ReportOptions::default() };
    let s = write_report(std::slice::from_ref(&dir), &out, &opts).unwrap();
    assert_eq!(s.plots_dir, tmp.path().join("report_files"));
    assert_eq!(s.plots.len(), 3, "{:?}", s.plots);
    // The tracer was asked for the worst path of each world: CDP path 2, P/N path 3.
    let calls = tracer.calls.lock().unwrap().clone();
    assert_eq!(calls, vec![(dir.clone(), WorldKind::Cdp, 2), (dir, WorldKind::Pn, 3)]);
    let md = read(&out);
    assert!(md.contains(
        "- CDP: path 2, cost 340 USD (3.4 % a year): borrower -300, lender -50, protocol 10, takers \
         300, market 40, validators 0."
    ));
    let links = image_links(&md);
    assert_eq!(links.len(), s.plots.len());
    for (link, plot) in links.iter().zip(&s.plots) {
        let target = tmp.path().join(link);
        assert_eq!(&target, plot);
        assert!(target.is_file(), "{link} is linked but missing");
    }
    let losses = read(&s.plots[0]);
    assert!(losses.starts_with("<svg"), "{losses:.200}");
    for label in ["CDP cost", "P/N cost", "USD per path (log scale)"] {
        assert!(losses.contains(&format!(">\n{label}\n</text>")), "no text {label:?}");
    }
    assert!(md.contains("CDP: 3 of 4 paths (75%) have a positive cost; P/N: 4 of 4 paths (100%)"));
    assert!(losses.contains("<text"), "text is written as SVG text elements");
    let worst = read(&s.plots[1]);
    for label in [
        "market price",
        "oracle price",
        "cumulative liquidations (right axis)",
        "time (days)",
        "Worst CDP path (path 2)",
    ] {
        assert!(worst.contains(label), "no {label:?} in the worst CDP path");
    }
    assert!(read(&s.plots[2]).contains("cumulative rolls (right axis)"));
    // No staging folder is left behind.
    let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with('.')), "{left:?}");
}

#[test]
fn without_paths_csv_the_ledger_stays_and_the_plots_are_skipped() {
    let tmp = tempdir();
    let (_, summary) = fixture_files();
    let dir = folder(tmp.path(), "nopaths", &[("manifest.json", MANIFEST), ("summary.csv", &summary)]);
    let out = tmp.path().join("r.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert!(s.plots.is_empty());
    assert!(s.notes.iter().any(|n| n.contains("paths.csv is absent")), "{:?}", s.notes);
    let md = read(&out);
    // The totals and the verdict are summary.csv's own rows: the same as with paths.csv.
    assert!(md.contains(
        "| **cost** (`cost_usd`) | takers + market + validators | the same | **156.2 [-74.47, 387]**"
    ));
    assert!(md.contains("paired, Student's t, over 4 paths"), "{md}");
}

#[test]
fn a_summary_without_the_ledger_says_so() {
    let tmp = tempdir();
    let old = "primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95\n\
               cdp,fees_usd,2,1.0,0.0,0.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0\n";
    let dir = folder(tmp.path(), "old", &[("summary.csv", old)]);
    let out = tmp.path().join("r.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert!(s.notes.iter().any(|n| n.contains("no `cost_usd` row")), "{:?}", s.notes);
}

#[test]
fn an_all_zero_run_gives_a_plain_sentence() {
    let tmp = tempdir();
    let zero = |path: usize| PathMetrics {
        min_price: 3000.0 - 500.0 * path as f64,
        final_price: 3000.0,
        ..Default::default()
    };
    let rows: Vec<PathMetrics> = (0..2).map(zero).collect();
    let kinds = [WorldKind::Cdp, WorldKind::Pn];
    let worlds: [&[PathMetrics]; 2] = [&rows, &rows];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns::paths_header()).unwrap();
    columns::write_path_rows(&mut w, 0, &kinds, &worlds).unwrap();
    let paths = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    columns::write_summary(&mut w, &columns::summary_rows(&kinds, &worlds, SeMethod::Iid)).unwrap();
    let summary = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let dir = folder(tmp.path(), "zero", &[("summary.csv", &summary), ("paths.csv", &paths)]);
    let out = tmp.path().join("r.md");
    let tracer = FakeTracer::default();
    let s =
        write_report(&[dir], &out, &ReportOptions { tracer: Some(&tracer), ..Default::default() }).unwrap();
    let md = read(&out);
    assert!(md.contains("cost exactly the same on each of the 2 paths"), "{md}");
    assert!(md.contains("manifest.json is absent"));
    assert!(s.notes.iter().any(|n| n.contains("no path has a positive cost: no distribution to draw")));
    assert!(md.contains("CDP: 0 of 2 paths (0%) have a positive cost"));
    // Ties: the worst path is the first one; the two worst paths are drawn.
    assert_eq!(tracer.calls.lock().unwrap()[0].2, 0);
    assert_eq!(s.plots.len(), 2);
}

/// A sweep over depth: (depth, primitive, [cost_usd, cost_pct_year, fees, slippage, shortfall,
/// oracle loss]) means, each with se 1 and the interval mean +- 1.96.
fn sweep_csv() -> String {
    let metrics =
        ["cost_usd", "cost_pct_year", "fees_usd", "slippage_usd", "shortfall_usd", "oracle_loss_usd"];
    let points: [(u32, &str, [f64; 6]); 4] = [
        (1000, "cdp", [100.0, 1.0, 50.0, 40.0, 10.0, 0.0]),
        (1000, "pn", [25.0, 0.25, 5.0, 20.0, 0.0, 1.0]),
        (10000, "cdp", [54.0, 0.54, 50.0, 4.0, 1.0, 0.0]),
        (10000, "pn", [7.0, 0.07, 5.0, 2.0, 0.0, 1.0]),
    ];
    let mut s = String::from(
        "depth_eth,primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95\n",
    );
    for (depth, prim, means) in points {
        for (m, v) in metrics.iter().zip(means) {
            s.push_str(&format!("{depth},{prim},{m},100,{v},10,1,{},{},0,0,0,0,0,0\n", v - 1.96, v + 1.96));
        }
    }
    s
}

#[test]
fn a_sweeps_facts_come_from_its_points() {
    // A sweep's manifest records one experiment per point: the worlds are the first point's,
    // and the config hash is one per point rather than "not recorded".
    let tmp = tempdir();
    let manifest = r#"{"name": "grid", "paths": 100, "seed": 7,
        "configs": [{"worlds": ["cdp", "pn"]}, {"worlds": ["cdp", "pn"]}]}"#;
    let dir = folder(tmp.path(), "sweep", &[("sweep.csv", &sweep_csv()), ("manifest.json", manifest)]);
    let out = tmp.path().join("sweep.md");
    write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    assert!(md.contains("| worlds | CDP, P/N |"), "{md}");
    assert!(md.contains("| config hash | one per point (2 points: `configs` in manifest.json) |"), "{md}");
}

#[test]
fn a_sweep_gets_a_table_and_one_chart_per_key_metric() {
    let tmp = tempdir();
    let dir = folder(tmp.path(), "sweep", &[("sweep.csv", &sweep_csv())]);
    let out = tmp.path().join("sweep.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    assert!(md.contains("### Sweep over `depth_eth`"));
    // The cost is sweep.csv's own cost_usd, never a sum of the breakdowns beside it.
    assert!(md.contains("| 1000 | CDP | 100 | 1 [-0.96, 2.96] | 50 | 40 | 10 | 0 |"), "{md}");
    assert!(md.contains("| 10000 | P/N | 7 | 0.07 [-1.89, 2.03] | 5 | 2 | 0 | 1 |"), "{md}");
    assert_eq!(s.plots.len(), 4, "{:?}", s.plots);
    let pct = read(&s.plots[0]);
    for label in [
        "CDP (mean, 95% CI band)",
        "P/N (mean, 95% CI band)",
        "depth_eth",
        "% a year",
        "cost in % a year of the deposit against depth_eth",
    ] {
        assert!(pct.contains(label), "no {label:?}");
    }
    assert!(pct.contains("<polygon"), "the CI band is drawn");
    assert!(read(&s.plots[1]).contains("USD per path"));
    assert_eq!(image_links(&md).len(), 4);
}

#[test]
fn several_folders_get_one_section_each() {
    let tmp = tempdir();
    let a = full_fixture(tmp.path());
    let b = folder(tmp.path(), "sweep", &[("sweep.csv", &sweep_csv())]);
    let out = tmp.path().join("both.md");
    let s = write_report(
        &[a, b],
        &out,
        &ReportOptions {
            title: Some("Two"),
            command_line: Some("headroom report a b --out both.md"),
            ..Default::default()
        },
    )
    .unwrap();
    let md = read(&out);
    assert!(md.starts_with(&format!("{REPORT_MARKER}\n# Two\n")));
    assert!(md.contains("Generated with `headroom report a b --out both.md`."));
    assert!(md.contains("## 1. fixture") && md.contains("## 2. sweep"));
    assert_eq!(s.folders, 2);
    let names: Vec<String> =
        s.plots.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names[0].starts_with("1-fixture-") && names.last().unwrap().starts_with("2-sweep-"), "{names:?}");
}

#[test]
fn a_real_run_with_both_worlds_is_reported() {
    let tmp = tempdir();
    let exp = SMALL
        .replace("worlds = [\"cdp\"]", "worlds = [\"cdp\", \"pn\"]")
        .replace("paths = 300", "paths = 200")
        + "\n[pn]\n";
    fs::write(tmp.path().join("e.toml"), exp).unwrap();
    let o = run_in(tmp.path(), &["run", "e.toml", "--out", "res", "--events"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("small.md");
    let s = write_report(&[tmp.path().join("res")], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    assert!(md.starts_with(&format!("{REPORT_MARKER}\n# Headroom report: small\n")));
    assert!(
        md.contains("| paths | 200 |") && md.contains("| seed | 7 |") && md.contains("| worlds | CDP, P/N |")
    );
    assert!(md.contains("events.csv ("));
    assert!(md.contains("| `min_price` | CDP | 200 |"));
    assert!(md.contains("### Who pays what: the ledger") && md.contains("| `cost_usd` | CDP | 200 |"));
    // Without a tracer the only plot is the cost distributions: a curve for each world with a
    // positive cost on some path (read from the run's own paths.csv), none when no world has one.
    let paths = read(&tmp.path().join("res/paths.csv"));
    let mut rows = csv::Reader::from_reader(paths.as_bytes());
    let cost = rows.headers().unwrap().iter().position(|h| h == "cost_usd").unwrap();
    let mut costly = [false, false];
    for r in rows.records() {
        let r = r.unwrap();
        costly[usize::from(&r[1] == "pn")] |= r[cost].parse::<f64>().unwrap() > 0.0;
    }
    if costly.iter().any(|c| *c) {
        assert_eq!(s.plots.len(), 1);
        let svg = read(&s.plots[0]);
        for (w, c) in ["CDP cost", "P/N cost"].iter().zip(costly) {
            assert_eq!(svg.contains(&format!(">\n{w}\n</text>")), c, "{w}");
        }
    } else {
        assert!(s.plots.is_empty());
        assert!(s.notes.iter().any(|n| n.contains("no distribution to draw")));
    }
    assert!(s.notes.iter().any(|n| n.contains("no path tracer")));
}

#[test]
fn errors_name_the_folder_or_file() {
    let tmp = tempdir();
    let out = tmp.path().join("r.md");
    let opts = ReportOptions::default();

    let e = write_report(&[], &out, &opts).unwrap_err();
    assert!(matches!(e, ReportError::NoFolders));

    let missing = tmp.path().join("nowhere");
    let e = write_report(std::slice::from_ref(&missing), &out, &opts).unwrap_err();
    assert!(matches!(&e, ReportError::MissingFolder { dir } if *dir == missing), "{e:?}");
    assert_eq!(e.to_string(), format!("{}: no such result folder", missing.display()));

    let empty = folder(tmp.path(), "empty", &[("manifest.json", MANIFEST)]);
    let e = write_report(std::slice::from_ref(&empty), &out, &opts).unwrap_err();
    assert!(e.to_string().starts_with(&format!("{}: missing", empty.join("summary.csv").display())), "{e}");

    let (paths, summary) = fixture_files();
    let bad_number = summary.replacen("cdp,eth_sold,4,1.5,", "cdp,eth_sold,4,lots,", 1);
    assert_ne!(bad_number, summary);
    let d = folder(tmp.path(), "badnum", &[("summary.csv", &bad_number)]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: line 3: column `mean`: \"lots\" is not a number", d.join("summary.csv").display())
    );

    let bad_primitive = summary.replacen("\ncdp,", "\nCDP,", 1);
    let d = folder(tmp.path(), "badprim", &[("summary.csv", &bad_primitive)]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 2: primitive \"CDP\": allowed \"cdp\", \"pn\", \"diff\"",
            d.join("summary.csv").display()
        )
    );

    let mut lines: Vec<String> = paths.lines().map(String::from).collect();
    lines[4] = "1,pn,2,0.2".into();
    let short_row = lines.join("\n") + "\n";
    let d = folder(tmp.path(), "shortrow", &[("summary.csv", &summary), ("paths.csv", &short_row)]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: line 5: 4 fields where the header has 28", d.join("paths.csv").display())
    );

    let no_column = summary.replacen("es95", "es99", 1);
    let d = folder(tmp.path(), "nocol", &[("summary.csv", &no_column)]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: line 1: no `es95` column in the header", d.join("summary.csv").display())
    );

    let d = folder(tmp.path(), "emptycsv", &[("summary.csv", "")]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("{}: line 1: empty file", d.join("summary.csv").display())),
        "{e}"
    );

    let d = folder(tmp.path(), "badjson", &[("summary.csv", &summary), ("manifest.json", "{\"seed\": -1}")]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: key `seed` must be a whole number >= 0", d.join("manifest.json").display())
    );

    let unordered = paths.replace("\n2,cdp,", "\n0,cdp,");
    let d = folder(tmp.path(), "unordered", &[("summary.csv", &summary), ("paths.csv", &unordered)]);
    let e = write_report(&[d], &out, &opts).unwrap_err();
    assert!(e.to_string().contains("line 6: path 0 of `cdp` after path 1"), "{e}");

    let good = full_fixture(tmp.path());
    let tracer = FakeTracer { fail: true, ..FakeTracer::default() };
    let e = write_report(std::slice::from_ref(&good), &out, &ReportOptions { tracer: Some(&tracer), ..opts })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: tracing path 2 of world `cdp`: the engine refused", good.display())
    );
    let tracer = FakeTracer { bad_lengths: true, ..FakeTracer::default() };
    let e = write_report(&[good], &out, &ReportOptions { tracer: Some(&tracer), ..opts }).unwrap_err();
    assert!(e.to_string().contains("price has 40 points where times_days has 41"), "{e}");

    let e = write_report(&[tmp.path().join("fixture")], tmp.path(), &opts).unwrap_err();
    assert!(matches!(e, ReportError::Output { .. }), "{e:?}");

    // Nothing was written by any failure.
    assert!(!out.exists());
    assert!(!tmp.path().join("r_files").exists());
}

#[test]
fn a_failed_report_keeps_the_earlier_one() {
    let tmp = tempdir();
    let good = full_fixture(tmp.path());
    let out = tmp.path().join("r.md");
    let first = write_report(std::slice::from_ref(&good), &out, &ReportOptions::default()).unwrap();
    let before = read(&out);
    let plot_before = read(&first.plots[0]);
    let (paths, _) = fixture_files();
    fs::write(good.join("paths.csv"), paths.replacen("\n0,cdp,1,", "\n0,cdp,x,", 1)).unwrap();
    assert!(write_report(std::slice::from_ref(&good), &out, &ReportOptions::default()).is_err());
    assert_eq!(read(&out), before);
    assert_eq!(read(&first.plots[0]), plot_before);
    // A successful run replaces it, plots included, and leaves no stale plot.
    fs::remove_file(good.join("paths.csv")).unwrap();
    let second = write_report(&[good], &out, &ReportOptions::default()).unwrap();
    assert_ne!(read(&out), before);
    assert!(second.plots.is_empty());
    assert!(!first.plots[0].exists());
    let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with('.')), "{left:?}");
}

#[test]
fn a_world_without_any_cost_is_noted_not_drawn() {
    let tmp = tempdir();
    // P/N rows without any cost: only the CDP curve is drawn.
    let cdp: Vec<PathMetrics> = CDP_ROWS.iter().enumerate().map(|(i, r)| metrics(r, i, false)).collect();
    let pn: Vec<PathMetrics> = (0..4)
        .map(|i| PathMetrics {
            min_price: MIN_PRICES[i],
            final_price: 3000.0,
            premium_usd: Some(30.0),
            ..Default::default()
        })
        .collect();
    let kinds = [WorldKind::Cdp, WorldKind::Pn];
    let worlds: [&[PathMetrics]; 2] = [&cdp, &pn];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns::paths_header()).unwrap();
    columns::write_path_rows(&mut w, 0, &kinds, &worlds).unwrap();
    let paths = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let (_, summary) = fixture_files();
    let dir = folder(tmp.path(), "half", &[("summary.csv", &summary), ("paths.csv", &paths)]);
    let out = tmp.path().join("r.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.plots.len(), 1);
    let svg = read(&s.plots[0]);
    assert!(svg.contains(">\nCDP cost\n</text>") && !svg.contains("P/N cost"));
    assert!(s.notes.iter().any(|n| n.ends_with("no path of the P/N world has a positive cost: not drawn")));
    assert!(read(&out).contains("P/N: 0 of 4 paths (0%) have a positive cost"));
}

#[test]
fn a_sweep_with_a_categorical_first_column_and_a_second_one_draws_one_set_per_value() {
    let tmp = tempdir();
    let mut sweep = String::from(
        "oracle,depth_eth,primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95\n",
    );
    for (oracle, depth) in [("spot", 1000), ("twap", 1000), ("spot", 5000), ("twap", 5000)] {
        for prim in ["cdp", "pn", "diff"] {
            for (k, metric) in
                ["cost_usd", "cost_pct_year", "fees_usd", "slippage_usd", "shortfall_usd", "oracle_loss_usd"]
                    .iter()
                    .enumerate()
            {
                let mean =
                    (k + 1) as f64 * 1000.0 / f64::from(depth) * if oracle == "spot" { 2.0 } else { 1.0 };
                sweep.push_str(&format!(
                    "{oracle},{depth},{prim},{metric},10,{mean},1,0.5,{},{},0,0,0,0,0,0\n",
                    mean - 0.98,
                    mean + 0.98
                ));
            }
        }
    }
    let dir = folder(tmp.path(), "grid", &[("sweep.csv", &sweep)]);
    let out = tmp.path().join("g.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.plots.len(), 8, "4 metrics x 2 values of depth_eth");
    let md = read(&out);
    assert!(md.contains("### Sweep over `oracle`, `depth_eth`"));
    // spot at depth 1000: metric k (1-based) has mean 2k.
    assert!(md.contains("| spot | 1000 | CDP | 2 | 4 [3.02, 4.98] | 6 | 8 | 10 | 12 |"), "{md}");
    assert!(
        md.contains("| twap | 5000 | diff (CDP - P/N) | 0.2 | 0.4 [-0.58, 1.38] | 0.6 | 0.8 | 1 | 1.2 |"),
        "{md}"
    );
    let first = read(&s.plots[0]);
    assert!(first.contains("grid: cost in % a year of the deposit against oracle (depth_eth = 1000)"));
    // The categories label the x axis.
    assert!(first.contains(">\nspot\n</text>") && first.contains(">\ntwap\n</text>"));
    assert!(read(&s.plots[4]).contains("(depth_eth = 5000)"));
}
