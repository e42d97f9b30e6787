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

/// Per-path costs: CDP total costs 110, 0, 410, 220 (losses 10, 0, 110, 20); P/N total costs
/// 3, 6, 2, 11 (losses 2, 4, 1, 8). Worst paths: 2 (CDP) and 3 (P/N).
const PATHS: &str = "\
path,primitive,exits,eth_sold,fees_usd,slippage_usd,oracle_loss_usd,wrongful_exits,shortfall_usd,max_cascade_rounds,positions_hit,min_price,final_price,interest_usd,premium_usd,p_drift
0,cdp,1,1.0,100.0,10.0,0.0,0,0.0,1,1,2900.0,3000.0,5.0,,
0,pn,1,0.1,1.0,2.0,0.0,0,0.0,1,1,2900.0,3000.0,,30.0,0.01
1,cdp,0,0.0,0.0,0.0,0.0,0,0.0,0,0,3000.0,3100.0,5.0,,
1,pn,2,0.2,2.0,3.0,1.0,0,0.0,1,1,3000.0,3100.0,,30.0,0.02
2,cdp,3,3.0,300.0,40.0,20.0,1,50.0,2,2,2000.0,2100.0,5.0,,
2,pn,1,0.1,1.0,1.0,0.0,0,0.0,1,1,2000.0,2100.0,,30.0,0.03
3,cdp,2,2.0,200.0,20.0,0.0,0,0.0,1,2,2500.0,2600.0,5.0,,
3,pn,3,0.3,3.0,5.0,2.0,0,1.0,2,1,2500.0,2600.0,,30.0,0.04
";

/// Hand-made summary: the fees rows are the statistics of the per-path fees above; min_price and
/// the tiny `p_drift` exercise the number formats.
const SUMMARY: &str = "\
primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95
cdp,fees_usd,4,150.0,129.09944487358058,64.54972243679029,23.482544023891037,276.517455976109,3.0,15.0,150.0,285.0,297.0,300.0
cdp,slippage_usd,4,17.5,17.07825127659933,8.539125638299666,0.7630937489326547,34.23690625106735,0.3,1.5,15.0,37.0,39.4,40.0
cdp,oracle_loss_usd,4,5.0,10.0,5.0,-4.8,14.8,0.0,0.0,0.0,17.0,19.4,20.0
cdp,shortfall_usd,4,12.5,25.0,12.5,-12.0,37.0,0.0,0.0,0.0,42.5,48.5,50.0
cdp,min_price,4,2600.0,432.04937989385735,216.02468994692867,2176.5916077040197,3023.4083922959803,2015.0,2075.0,2700.0,2985.0,2997.0,2000.0
cdp,interest_usd,4,5.0,0.0,0.0,5.0,5.0,5.0,5.0,5.0,5.0,5.0,5.0
pn,fees_usd,4,1.75,0.9574271077563381,0.47871355387816905,0.8117254343987887,2.688274565601211,1.0,1.0,1.5,2.85,2.97,3.0
pn,slippage_usd,4,2.75,1.707825127659933,0.8539125638299665,1.0763313748932655,4.423668625106734,1.03,1.15,2.5,4.7,4.94,5.0
pn,oracle_loss_usd,4,0.75,0.9574271077563381,0.47871355387816905,-0.18827456560121127,1.6882745656012113,0.0,0.0,0.5,1.85,1.97,2.0
pn,shortfall_usd,4,0.25,0.5,0.25,-0.24,0.74,0.0,0.0,0.0,0.85,0.97,1.0
pn,min_price,4,2600.0,432.04937989385735,216.02468994692867,2176.5916077040197,3023.4083922959803,2015.0,2075.0,2700.0,2985.0,2997.0,2000.0
pn,premium_usd,4,30.0,0.0,0.0,30.0,30.0,30.0,30.0,30.0,30.0,30.0,30.0
pn,p_drift,4,0.000015,0.0000129,0.00000645,0.0000024,0.0000276,0.00001,0.00001,0.000015,0.00002,0.00002,0.00002
diff,fees_usd,4,148.25,128.5,64.25,22.32,274.18,1.0,2.0,149.0,283.0,296.0,297.0
diff,slippage_usd,4,14.75,17.0,8.5,-1.91,31.41,0.0,0.0,12.0,35.0,38.0,39.0
diff,oracle_loss_usd,4,4.25,10.2,5.1,-5.746,14.246,0.0,0.0,0.0,16.0,19.0,20.0
diff,shortfall_usd,4,12.25,25.1,12.55,-12.348,36.848,0.0,0.0,0.0,42.0,48.0,49.0
diff,min_price,4,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0
";

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
    folder(root, "fixture", &[("manifest.json", MANIFEST), ("summary.csv", SUMMARY), ("paths.csv", PATHS)])
}

/// A tracer that records what it is asked and returns a small cascade: the price falls from
/// 3,000 to 2,000 over 10 days and recovers, the oracle lags one point, 3 exits on day 5.
#[derive(Default)]
struct FakeTracer {
    calls: Mutex<Vec<(PathBuf, String, u64)>>,
    fail: bool,
    bad_lengths: bool,
}

impl PathTracer for FakeTracer {
    fn trace(&self, dir: &Path, world: &str, path: u64) -> Result<Option<WorldTrace>, String> {
        self.calls.lock().unwrap().push((dir.to_path_buf(), world.to_string(), path));
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
fn summary_table_has_the_numbers_of_summary_csv() {
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
    // Summary rows: mean, [ci95_low, ci95_high], p50, p95, p99, es95 with 4 significant digits.
    for row in [
        "| `fees_usd` | CDP | 4 | 150 | [23.48, 276.5] | 150 | 285 | 297 | 300 |",
        "| `fees_usd` | P/N | 4 | 1.75 | [0.8117, 2.688] | 1.5 | 2.85 | 2.97 | 3 |",
        "| `fees_usd` | diff (CDP - P/N) | 4 | 148.2 | [22.32, 274.2] | 149 | 283 | 296 | 297 |",
        "| `min_price` | CDP | 4 | 2,600 | [2,177, 3,023] | 2,700 | 2,985 | 2,997 | 2,000 |",
        "| `p_drift` | P/N | 4 | 1.500e-5 | [2.400e-6, 2.760e-5] | 1.500e-5 | 2.000e-5 | 2.000e-5 | 2.000e-5 |",
        "| `oracle_loss_usd` | CDP | 4 | 5 | [-4.8, 14.8] | 0 | 17 | 19.4 | 20 |",
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
fn totals_and_the_paired_difference_are_computed_per_path() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    let out = tmp.path().join("r.md");
    write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    // CDP costs 110, 0, 410, 220: mean 185, sd 174.833, se 87.4166; P/N 3, 6, 2, 11: mean 5.5;
    // differences 107, -6, 408, 209: mean 179.5, sd 175.830, se 87.9152, CI 179.5 +- 172.31.
    for row in [
        "| total cost | CDP | 4 | 185 | [13.66, 356.3] | 165 | 381.5 | 404.3 | 410 |",
        "| total cost | P/N | 4 | 5.5 | [1.539, 9.461] | 4.5 | 10.25 | 10.85 | 11 |",
        "| total cost | diff (CDP - P/N) | 4 | 179.5 | [7.186, 351.8] | 158 | 378.1 | 402 | 408 |",
        "| total loss | CDP | 4 | 35 | [-14.65, 84.65] | 15 | 96.5 | 107.3 | 110 |",
        "| total loss | P/N | 4 | 3.75 | [0.7162, 6.784] | 3 | 7.4 | 7.88 | 8 |",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
    assert!(md.contains(
        "The CDP minus P/N difference of total cost is **significant** at the 5% level: the CDP \
         costs 179.5 USD per path more than the P/N split (95% CI [7.186, 351.8], paired over 4 paths)."
    ));
}

#[test]
fn who_pays_what_keeps_transfers_and_losses_apart() {
    let tmp = tempdir();
    let dir = full_fixture(tmp.path());
    let out = tmp.path().join("r.md");
    write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    for row in [
        "| transfer to third parties | liquidation bonus | `fees_usd` | liquidated borrower | liquidators (and the protocol's fee share) | 150 | [23.48, 276.5] |",
        "| loss | bad debt | `shortfall_usd` | lender (suppliers, reserves) | nobody: the collateral ran out | 12.5 | [-12, 37] |",
        "| transfer borrower to lender | interest | `interest_usd` | borrower | lender | 5 | [5, 5] |",
        "| transfer to third parties | roll fees | `fees_usd` | P holder who rolls | the counterparty minting the new pairs | 1.75 | [0.8117, 2.688] |",
        "| transfer borrower to lender | put premium at the start | `premium_usd` | borrower (N holder) | P holder (lender) | 30 | [30, 30] |",
        // Subtotals from paths.csv: CDP fees 100, 0, 300, 200; losses mean 35; cost 185.
        "| **all transfers to third parties** | | | | | **150** | [23.48, 276.5] |",
        "| **all losses** | | | | | **35** | [-14.65, 84.65] |",
        "| **total cost (third parties + losses)** | | | | | **185** | [13.66, 356.3] |",
        "| **all transfers borrower to lender** | | | | | **30** | [30, 30] |",
    ] {
        assert!(md.contains(row), "missing {row:?} in\n{md}");
    }
    let cdp = md.find("**CDP world**").unwrap();
    let pn = md.find("**P/N world**").unwrap();
    let interest = md.find("| interest |").unwrap();
    assert!(cdp < interest && interest < pn, "interest belongs to the CDP world's table");
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
    assert_eq!(calls, vec![(dir.clone(), "cdp".to_string(), 2), (dir, "pn".to_string(), 3)]);
    let md = read(&out);
    assert!(md.contains(
        "- CDP: path 2, total cost 410 USD (fees 300, slippage 40, shortfall 50, oracle loss 20)."
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
    for label in
        ["CDP total cost", "CDP total loss", "P/N total cost", "P/N total loss", "USD per path (log scale)"]
    {
        assert!(losses.contains(&format!(">\n{label}\n</text>")), "no text {label:?}");
    }
    assert!(md.contains("CDP: 3 of 4 paths (75%) have a positive total cost; P/N: 4 of 4 paths (100%)"));
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
fn without_paths_csv_the_totals_are_conservative_and_the_plots_skipped() {
    let tmp = tempdir();
    let dir = folder(tmp.path(), "nopaths", &[("manifest.json", MANIFEST), ("summary.csv", SUMMARY)]);
    let out = tmp.path().join("r.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert!(s.plots.is_empty());
    assert!(s.notes.iter().any(|n| n.contains("paths.csv is absent")), "{:?}", s.notes);
    let md = read(&out);
    // diff total cost: 148.25 + 14.75 + 12.25 + 4.25 = 179.5; se sum 64.25 + 8.5 + 12.55 + 5.1
    // = 90.4, half-width 1.96 x 90.4 = 177.184: [2.316, 356.684], conservative and still > 0.
    assert!(md.contains("| total cost | diff (CDP - P/N) | 179.5 | [2.316, 356.7] |"), "{md}");
    assert!(md.contains("is **significant** at the 5% level: the CDP costs 179.5 USD per path more"));
    assert!(md.contains("conservative, from summary.csv, over 4 paths"));
    // CDP losses: 17.5 + 12.5 + 5 = 35, se 8.539 + 12.5 + 5 = 26.039 -> [-16.04, 86.04].
    assert!(md.contains("| **all losses** | | | | | **35** | [-16.04, 86.04] (conservative) |"), "{md}");
}

#[test]
fn an_all_zero_run_gives_a_plain_sentence() {
    let tmp = tempdir();
    let zero_paths = "path,primitive,exits,eth_sold,fees_usd,slippage_usd,oracle_loss_usd,wrongful_exits,shortfall_usd,max_cascade_rounds,positions_hit,min_price,final_price,interest_usd,premium_usd,p_drift\n\
                      0,cdp,0,0.0,0.0,0.0,0.0,0,0.0,0,0,3000.0,3000.0,,,\n\
                      0,pn,0,0.0,0.0,0.0,0.0,0,0.0,0,0,3000.0,3000.0,,,\n\
                      1,cdp,0,0.0,0.0,0.0,0.0,0,0.0,0,0,2000.0,2500.0,,,\n\
                      1,pn,0,0.0,0.0,0.0,0.0,0,0.0,0,0,2000.0,2500.0,,,\n";
    let summary = "primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95\n\
                   cdp,fees_usd,2,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n\
                   pn,fees_usd,2,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n\
                   diff,fees_usd,2,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n";
    let dir = folder(tmp.path(), "zero", &[("summary.csv", summary), ("paths.csv", zero_paths)]);
    let out = tmp.path().join("r.md");
    let tracer = FakeTracer::default();
    let s =
        write_report(&[dir], &out, &ReportOptions { tracer: Some(&tracer), ..Default::default() }).unwrap();
    let md = read(&out);
    assert!(md.contains("cost exactly the same on each of the 2 paths"), "{md}");
    assert!(md.contains("manifest.json is absent"));
    assert!(s.notes.iter().any(|n| n.contains("every path has a total cost of 0: no distribution to draw")));
    assert!(md.contains("CDP: 0 of 2 paths (0%) have a positive total cost"));
    // Ties: the worst path is the first one; the two worst paths are drawn.
    assert_eq!(tracer.calls.lock().unwrap()[0].2, 0);
    assert_eq!(s.plots.len(), 2);
}

const SWEEP: &str = "\
depth_eth,primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95
1000,cdp,fees_usd,100,50.0,10.0,1.0,48.04,51.96,0,0,0,0,0,0
1000,cdp,slippage_usd,100,40.0,10.0,1.0,38.04,41.96,0,0,0,0,0,0
1000,cdp,oracle_loss_usd,100,0.0,0.0,0.0,0.0,0.0,0,0,0,0,0,0
1000,cdp,shortfall_usd,100,10.0,10.0,1.0,8.04,11.96,0,0,0,0,0,0
1000,pn,fees_usd,100,5.0,1.0,0.1,4.804,5.196,0,0,0,0,0,0
1000,pn,slippage_usd,100,20.0,2.0,0.2,19.608,20.392,0,0,0,0,0,0
1000,pn,oracle_loss_usd,100,1.0,0.5,0.05,0.902,1.098,0,0,0,0,0,0
1000,pn,shortfall_usd,100,0.0,0.0,0.0,0.0,0.0,0,0,0,0,0,0
10000,cdp,fees_usd,100,50.0,10.0,1.0,48.04,51.96,0,0,0,0,0,0
10000,cdp,slippage_usd,100,4.0,1.0,0.1,3.804,4.196,0,0,0,0,0,0
10000,cdp,oracle_loss_usd,100,0.0,0.0,0.0,0.0,0.0,0,0,0,0,0,0
10000,cdp,shortfall_usd,100,1.0,1.0,0.1,0.804,1.196,0,0,0,0,0,0
10000,pn,fees_usd,100,5.0,1.0,0.1,4.804,5.196,0,0,0,0,0,0
10000,pn,slippage_usd,100,2.0,0.2,0.02,1.9608,2.0392,0,0,0,0,0,0
10000,pn,oracle_loss_usd,100,1.0,0.5,0.05,0.902,1.098,0,0,0,0,0,0
10000,pn,shortfall_usd,100,0.0,0.0,0.0,0.0,0.0,0,0,0,0,0,0
";

#[test]
fn a_sweep_gets_a_table_and_one_chart_per_key_metric() {
    let tmp = tempdir();
    let dir = folder(tmp.path(), "sweep", &[("sweep.csv", SWEEP)]);
    let out = tmp.path().join("sweep.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    let md = read(&out);
    assert!(md.contains("### Sweep over `depth_eth`"));
    // Total cost at depth 1000: CDP 50 + 40 + 0 + 10 = 100, P/N 5 + 20 + 1 + 0 = 26.
    assert!(md.contains("| 1000 | CDP | 50 | 40 | 10 | 0 | 100 |"), "{md}");
    assert!(md.contains("| 10000 | P/N | 5 | 2 | 0 | 1 | 8 |"), "{md}");
    assert_eq!(s.plots.len(), 5, "{:?}", s.plots);
    let total = read(&s.plots[0]);
    for label in [
        "CDP (mean, 95% CI band)",
        "P/N (mean, 95% CI band)",
        "depth_eth",
        "USD per path",
        "total cost against depth_eth",
    ] {
        assert!(total.contains(label), "no {label:?}");
    }
    assert!(total.contains("<polygon"), "the CI band is drawn");
    assert_eq!(image_links(&md).len(), 5);
}

#[test]
fn several_folders_get_one_section_each() {
    let tmp = tempdir();
    let a = full_fixture(tmp.path());
    let b = folder(tmp.path(), "sweep", &[("sweep.csv", SWEEP)]);
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
    assert!(
        md.contains("The CDP minus P/N difference of total cost") || md.contains("cost exactly the same")
    );
    // Without a tracer the only plot is the loss distributions, drawn unless every cost is 0.
    let any_cost = md.contains("The CDP minus P/N difference of total cost");
    if any_cost {
        assert_eq!(s.plots.len(), 1);
        assert!(read(&s.plots[0]).contains("CDP total cost"));
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

    let bad_number = SUMMARY.replace("cdp,slippage_usd,4,17.5,", "cdp,slippage_usd,4,lots,");
    let d = folder(tmp.path(), "badnum", &[("summary.csv", &bad_number)]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: line 3: column `mean`: \"lots\" is not a number", d.join("summary.csv").display())
    );

    let short_row = PATHS.replace("1,pn,2,0.2,2.0,3.0,1.0,0,0.0,1,1,3000.0,3100.0,,30.0,0.02", "1,pn,2,0.2");
    let d = folder(tmp.path(), "shortrow", &[("summary.csv", SUMMARY), ("paths.csv", &short_row)]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: line 5: 4 fields where the header has 16", d.join("paths.csv").display())
    );

    let no_column = SUMMARY.replacen("es95", "es99", 1);
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

    let d = folder(tmp.path(), "badjson", &[("summary.csv", SUMMARY), ("manifest.json", "{\"seed\": -1}")]);
    let e = write_report(std::slice::from_ref(&d), &out, &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: key `seed` must be a whole number >= 0", d.join("manifest.json").display())
    );

    let unordered = PATHS.replace("2,cdp,3,3.0,300.0", "0,cdp,3,3.0,300.0");
    let d = folder(tmp.path(), "unordered", &[("summary.csv", SUMMARY), ("paths.csv", &unordered)]);
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
    fs::write(good.join("paths.csv"), PATHS.replace("100.0,10.0", "x,10.0")).unwrap();
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
    // P/N rows all zero: only the CDP curves are drawn.
    let mut paths = String::new();
    for (i, line) in PATHS.lines().enumerate() {
        if i > 0 && line.contains(",pn,") {
            let p = line.split(',').next().unwrap();
            paths.push_str(&format!("{p},pn,0,0.0,0.0,0.0,0.0,0,0.0,0,0,2900.0,3000.0,,30.0,0.0\n"));
        } else {
            paths.push_str(line);
            paths.push('\n');
        }
    }
    let dir = folder(tmp.path(), "half", &[("summary.csv", SUMMARY), ("paths.csv", &paths)]);
    let out = tmp.path().join("r.md");
    let s = write_report(&[dir], &out, &ReportOptions::default()).unwrap();
    assert_eq!(s.plots.len(), 1);
    let svg = read(&s.plots[0]);
    assert!(svg.contains(">\nCDP total cost\n</text>") && !svg.contains("P/N total cost"));
    assert!(s
        .notes
        .iter()
        .any(|n| n.ends_with("every path of the P/N world has a total cost of 0: not drawn")));
    assert!(read(&out).contains("P/N: 0 of 4 paths (0%) have a positive total cost"));
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
                ["fees_usd", "slippage_usd", "oracle_loss_usd", "shortfall_usd"].iter().enumerate()
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
    assert_eq!(s.plots.len(), 10, "5 metrics x 2 values of depth_eth");
    let md = read(&out);
    assert!(md.contains("### Sweep over `oracle`, `depth_eth`"));
    // spot at depth 1000: fees 2, slippage 4, shortfall 8, oracle loss 6; total 20.
    assert!(md.contains("| spot | 1000 | CDP | 2 | 4 | 8 | 6 | 20 |"), "{md}");
    assert!(md.contains("| twap | 5000 | diff (CDP - P/N) | 0.2 | 0.4 | 0.8 | 0.6 | 2 |"), "{md}");
    let first = read(&s.plots[0]);
    assert!(first.contains("grid: total cost against oracle (depth_eth = 1000)"));
    // The categories label the x axis.
    assert!(first.contains(">\nspot\n</text>") && first.contains(">\ntwap\n</text>"));
    assert!(read(&s.plots[5]).contains("(depth_eth = 5000)"));
}
