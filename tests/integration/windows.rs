//! Historical simulation (`model = "windows"`): every window of the bundled hourly ETH/USD as a
//! path; each equals the replay of its window; shards merge to the unsharded bytes, and one thread
//! gives the bytes of two; summary.csv's standard errors come from batch means; bad keys are
//! errors.

use crate::common::{root, run_in, stderr, tempdir};
use headroom_market::{Exogenous, Ladder, ProcessSpec};
use headroom_montecarlo::stats::overlap::batch_means_se;
use std::fs;
use std::path::Path;

const FIRST: &str = "2020-01-01T00:00:00Z";
const LAST: &str = "2020-07-01T00:00:00Z";
/// 3-day windows, 24 h apart, from 2020-01-01 to the last ending by 2020-07-01 (no missing hour
/// in between): Jan 1 to Jun 28.
const WINDOWS: usize = 180;
/// Windows sharing rows with one window: (30 days of look-back + 3 days) / 1 day.
const BLOCK: usize = 33;

fn data() -> String {
    root().join("data").join("eth-usd-1h.csv").display().to_string()
}

fn experiment(process: &str, cohort: &str, extra: &str) -> String {
    format!(
        r#"
name = "w"
seed = 11
worlds = ["cdp", "pn"]
horizon_days = 3
steps = 72
{extra}
[market]
start_price = 200.0
process = {process}
liquidity = {{ model = "exponential", depth_eth = 20000.0 }}

[cohort]
{cohort}

[cdp]
protocol = "aave-v3"
oracle = {{ model = "heartbeat", deviation = 0.005, heartbeat_hours = 1.0 }}

[pn]
roll_trigger = 1.25
roll_target = 2.0
p_drift_every_steps = 24
"#
    )
}

fn windows_process() -> String {
    format!(r#"{{ model = "windows", file = "{}", first = "{FIRST}", last = "{LAST}" }}"#, data())
}

fn ladder() -> Ladder {
    Ladder { positions: 60, collateral: 5.0, cycle: 4, hf_min: 1.02, hf_max: 1.8, lt: 0.83 }
}

const LADDER: &str =
    "source = \"ladder\"\npositions = 60\ncollateral = 5.0\ncycle = 4\nhf_min = 1.02\nhf_max = 1.8\nlt = 0.83";

fn run_ok(dir: &Path, args: &[&str]) {
    let o = run_in(dir, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
}

/// The lines of paths.csv for `path` (cdp then pn).
fn rows_of(paths_csv: &str, path: usize) -> Vec<String> {
    let prefix = format!("{path},");
    paths_csv.lines().filter(|l| l.starts_with(&prefix)).map(String::from).collect()
}

/// A column of paths.csv for `primitive`, in path order.
fn column(paths_csv: &str, primitive: &str, name: &str) -> Vec<f64> {
    let mut lines = paths_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let j = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[1] == primitive)
        .map(|f| f[j].parse().unwrap())
        .collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn every_window_is_a_path_and_equals_its_replay() {
    let tmp = tempdir();
    let d = tmp.path();
    fs::write(d.join("w.toml"), experiment(&windows_process(), LADDER, "")).unwrap();
    run_ok(d, &["run", "w.toml", "--out", "full"]);
    let m = manifest(&d.join("full"));
    assert_eq!(m["paths"], WINDOWS as u64, "`paths` omitted: every window");
    assert_eq!(m["windows"]["count"], WINDOWS as u64);
    assert_eq!(m["windows"]["skipped_missing_rows"], 0);
    assert_eq!(m["windows"]["first_start"], FIRST);
    assert_eq!(m["windows"]["last_end"], "2020-07-01T00:00:00Z");
    assert_eq!(m["summary_se"]["method"], "batch_means_lag1");
    assert_eq!(m["summary_se"]["block_paths"], BLOCK as u64);
    assert!(m["config"]["pn"].get("pricing_vol").is_none(), "each window prices at its own");
    let paths = fs::read_to_string(d.join("full/paths.csv")).unwrap();

    // Each path prices P and N at the realised volatility of the 30 days before its window.
    let spec = ProcessSpec::Windows {
        file: data().into(),
        stride_hours: 24.0,
        first: Some(FIRST.into()),
        last: Some(LAST.into()),
    };
    let exo = Exogenous::build(&spec, &[], 3.0 / 365.0 / 72.0, 72, Path::new(".")).unwrap();
    let vols = column(&paths, "pn", "pricing_vol");
    assert_eq!(vols.len(), WINDOWS);
    for (i, v) in vols.iter().enumerate() {
        assert_eq!(*v, exo.window(i as u64).unwrap().known_vol, "window {i}");
    }
    assert!(column(&paths, "cdp", "exits").iter().sum::<f64>() > 0.0, "2020 liquidates someone");
    // windows.csv says which window each path replayed.
    let table = fs::read_to_string(d.join("full/windows.csv")).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows[0], "path,start_utc,start_price,known_vol");
    assert_eq!(rows.len(), WINDOWS + 1);
    assert_eq!(rows[1].split(',').take(2).collect::<Vec<_>>(), ["0", FIRST]);
    for (i, row) in rows[1..].iter().enumerate() {
        let w = exo.window(i as u64).unwrap();
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f[0], i.to_string());
        assert_eq!(f[1], headroom_market::process::format_time(w.start_time));
        assert_eq!(
            (f[2].parse::<f64>().unwrap(), f[3].parse::<f64>().unwrap()),
            (w.start_price, w.known_vol)
        );
    }
    assert_eq!(rows[72].split(',').nth(1), Some("2020-03-12T00:00:00Z"), "window 71: Black Thursday");

    // Window i is the replay of its 72 hours from its first close, with the cohort scaled to
    // that close (collateral kept, debts times S_w / 200) and priced at the same month-before
    // volatility: the same rows, byte for byte. Black Thursday's window is i = 71 (2020-03-12).
    for i in [0usize, 71, WINDOWS - 1] {
        let w = exo.window(i as u64).unwrap();
        let mut cohort = headroom_market::Cohort::default();
        headroom_montecarlo::windows::scale_cohort(
            &ladder().cohort(200.0),
            w.start_price / 200.0,
            &mut cohort,
        );
        let mut csv = String::from("id,collateral,debt\n");
        for b in &cohort.borrowers {
            // `{}` writes the shortest text that reads back to the same f64.
            csv += &format!("{},{},{}\n", b.id, b.collateral, b.debt_usd);
        }
        fs::write(d.join(format!("cohort-{i}.csv")), csv).unwrap();
        let start = headroom_market::process::format_time(w.start_time);
        let replay = format!(r#"{{ model = "replay", file = "{}", start = "{start}" }}"#, data());
        let cohort_table = format!("source = \"csv\"\nfile = \"cohort-{i}.csv\"");
        let text = experiment(&replay, &cohort_table, &format!("paths = {}", i + 1));
        fs::write(d.join(format!("r{i}.toml")), text).unwrap();
        run_ok(d, &["run", &format!("r{i}.toml"), "--out", &format!("r{i}")]);
        let replayed = fs::read_to_string(d.join(format!("r{i}/paths.csv"))).unwrap();
        let rows = rows_of(&paths, i);
        assert_eq!(rows.len(), 2, "a cdp and a pn row");
        assert_eq!(rows, rows_of(&replayed, i), "window {i} ({start})");
        if i == 71 {
            let exits: u64 = rows[0].split(',').nth(2).unwrap().parse().unwrap();
            assert!(exits > 0, "Black Thursday's window liquidates: {}", rows[0]);
        }
    }

    // summary.csv's se: batch means over blocks of 33 windows, far above std / sqrt(n) for a
    // quantity that moves slowly from window to window.
    let summary = fs::read_to_string(d.join("full/summary.csv")).unwrap();
    let row: Vec<&str> =
        summary.lines().find(|l| l.starts_with("pn,pricing_vol,")).unwrap().split(',').collect();
    let (n, std, se): (f64, f64, f64) =
        (row[2].parse().unwrap(), row[4].parse().unwrap(), row[5].parse().unwrap());
    assert_eq!(se, batch_means_se(&vols, BLOCK));
    assert!(se > 3.0 * std / n.sqrt(), "se {se} vs naive {}", std / n.sqrt());
    let zero = summary.lines().find(|l| l.starts_with("pn,wrongful_exits,")).unwrap();
    assert_eq!(zero.split(',').nth(5), Some("0.0"), "a constant has se 0: {zero}");

    // --paths takes the first windows.
    run_ok(d, &["run", "w.toml", "--paths", "10", "--out", "ten"]);
    let ten = fs::read_to_string(d.join("ten/paths.csv")).unwrap();
    assert_eq!(ten.lines().skip(1).collect::<Vec<_>>(), paths.lines().skip(1).take(20).collect::<Vec<_>>());
}

#[test]
fn window_shards_merge_to_the_unsharded_bytes() {
    let tmp = tempdir();
    let d = tmp.path();
    fs::write(d.join("w.toml"), experiment(&windows_process(), LADDER, "")).unwrap();
    run_ok(d, &["run", "w.toml", "--out", "full", "--events", "--event-paths", "5"]);
    for i in 0..3 {
        run_ok(
            d,
            &[
                "run",
                "w.toml",
                "--shard",
                &format!("{i}/3"),
                "--out",
                &format!("s{i}"),
                "--no-paths",
                "--events",
                "--event-paths",
                "5",
            ],
        );
    }
    run_ok(d, &["merge", "s1", "s2", "s0", "--out", "merged"]);
    run_ok(d, &["run", "w.toml", "--threads", "1", "--out", "one", "--events", "--event-paths", "5"]);
    for f in ["paths.csv", "summary.csv", "events.csv", "windows.csv"] {
        let a = fs::read(d.join("full").join(f)).unwrap();
        let b = fs::read(d.join("merged").join(f)).unwrap();
        assert!(a == b, "{f} of the merge differs from the unsharded run");
        assert!(a == fs::read(d.join("one").join(f)).unwrap(), "{f} on one thread differs");
    }
    // A shard whose windows.csv is missing or broken is an error naming it.
    let fail = |args: &[&str], needle: &str| {
        let o = run_in(d, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    };
    let copy = |name: &str| {
        fs::create_dir_all(d.join(name)).unwrap();
        for e in fs::read_dir(d.join("s1")).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), d.join(name).join(e.file_name())).unwrap();
        }
    };
    copy("s1-none");
    let m = fs::read_to_string(d.join("s1-none/manifest.json")).unwrap();
    fs::write(d.join("s1-none/manifest.json"), m.replace(",\n    \"windows.csv\"", "")).unwrap();
    fail(&["merge", "s0", "s1-none", "s2", "--out", "m2"], "windows.csv is in some shards only");
    copy("s1-bad");
    let w = fs::read_to_string(d.join("s1-bad/windows.csv")).unwrap();
    fs::write(d.join("s1-bad/windows.csv"), w.replacen("2020-", "2020/", 1)).unwrap();
    fail(&["merge", "s0", "s1-bad", "s2", "--out", "m2"], "windows.csv: line 2: start_utc: not a UTC time");
    assert!(!d.join("m2").exists());

    let (a, b) = (manifest(&d.join("full")), manifest(&d.join("merged")));
    for key in ["windows", "summary_se", "config_hash", "paths"] {
        assert_eq!(a[key], b[key], "{key}");
    }
}

#[test]
fn the_shipped_history_experiment_validates() {
    let tmp = tempdir();
    let e = root().join("experiments/history/eth-30d-windows.toml");
    let o = run_in(tmp.path(), &["validate", e.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains(
            "# 1979 windows from 2018-06-24T09:00:00Z to 2024-02-25T09:00:00Z (64 skipped across missing rows); \
             summary se by batch means of 60 windows"
        ),
        "{text}"
    );
    assert!(text.contains("paths = 1979"), "{text}");
}

#[test]
fn bad_window_keys_are_errors() {
    let tmp = tempdir();
    let d = tmp.path();
    let fail = |name: &str, text: String, needles: &[&str]| {
        fs::write(d.join(name), text).unwrap();
        let o = run_in(d, &["run", name, "--out", "never"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        for n in needles {
            assert!(stderr(&o).contains(n), "{name}: {}", stderr(&o));
        }
        assert!(!d.join("never").exists());
    };
    fail(
        "many.toml",
        experiment(&windows_process(), LADDER, "paths = 181"),
        &["paths = 181: the windows process has 180 windows (2020-01-01T00:00:00Z to 2020-07-01T00:00:00Z, 0 skipped"],
    );
    let stride = windows_process().replace("model = \"windows\"", "model = \"windows\", stride_hours = 1.5");
    fail("stride.toml", experiment(&stride, LADDER, ""), &["market.process.stride_hours = 1.5"]);
    let late = windows_process().replace(FIRST, "2025-01-01T00:00:00Z");
    fail(
        "late.toml",
        experiment(&late, LADDER, ""),
        &["market.process.first = 2025-01-01T00:00:00Z", "must be within the file's rows"],
    );
    // A replay from the file's first row knew no volatility: P/N needs pricing_vol then.
    let replay = format!(r#"{{ model = "replay", file = "{}" }}"#, data());
    fail("replay.toml", experiment(&replay, LADDER, ""), &["pn.pricing_vol: missing", "30 days"]);
    let o = {
        let text = experiment(&replay, LADDER, "")
            .replace("p_drift_every_steps = 24", "p_drift_every_steps = 24\npricing_vol = 0.8");
        fs::write(d.join("replay-vol.toml"), text).unwrap();
        run_in(d, &["run", "replay-vol.toml", "--paths", "2", "--out", "ok"])
    };
    assert!(o.status.success(), "with pricing_vol it runs: {}", stderr(&o));
}
