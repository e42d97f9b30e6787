//! Sweeps: every point on the same seed; sweep.csv has the grid's columns then summary.csv's.

use crate::common::{run_in, stderr, tempdir, SMALL};

#[test]
fn sweep_points_share_the_seed_and_match_single_runs() {
    let dir = tempdir();
    let d = dir.path();
    let t = SMALL.replace("paths = 300", "paths = 40")
        + "\n[sweep]\n\"market.liquidity.depth_eth\" = [20000.0, 500.0]\n\"cohort.hf_min\" = [1.01, 1.2]\n";
    std::fs::write(d.join("e.toml"), &t).unwrap();
    let o = run_in(d, &["sweep", "e.toml", "--out", "sw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(d.join("sw/sweep.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "cohort.hf_min,market.liquidity.depth_eth,primitive,metric,n,mean,std,se,ci95_low,ci95_high,p01,p05,p50,p95,p99,es95"
    );
    // The point (1.2, 500) equals a plain run of that experiment, row for row.
    std::fs::write(
        d.join("p.toml"),
        t.replace("depth_eth = 20000.0", "depth_eth = 500.0").replace("hf_min = 1.01", "hf_min = 1.2"),
    )
    .unwrap();
    let o = run_in(d, &["run", "p.toml", "--out", "p"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let single = std::fs::read_to_string(d.join("p/summary.csv")).unwrap();
    let point: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("1.2,500.0,"))
        .map(|l| l.trim_start_matches("1.2,500.0,").to_string())
        .collect();
    let rows: Vec<&str> = single.lines().skip(1).collect();
    assert_eq!(point, rows);
    // Points on the same seed see the same exogenous paths: with no trades, the price rows agree.
    let finals: Vec<&str> = text.lines().filter(|l| l.contains(",cdp,final_price,")).collect();
    assert_eq!(finals.len(), 4);
}

#[test]
fn points_that_share_a_worlds_run_match_single_runs() {
    // The trigger is the P/N world's alone: the CDP world runs once per depth and the points of
    // a depth read its rows; every point still equals a plain run of it, byte for byte.
    let dir = tempdir();
    let d = dir.path();
    let t = SMALL.replace("paths = 300", "paths = 40").replace("worlds = [\"cdp\"]", "worlds = [\"cdp\", \"pn\"]")
        + "\n[pn]\n\n[sweep]\n\"market.liquidity.depth_eth\" = [20000.0, 500.0]\n\"pn.roll_trigger\" = [1.15, 1.4]\n";
    std::fs::write(d.join("e.toml"), &t).unwrap();
    let o = run_in(d, &["sweep", "e.toml", "--out", "sw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(d.join("sw/sweep.csv")).unwrap();
    for depth in ["20000.0", "500.0"] {
        for trigger in ["1.15", "1.4"] {
            let p = t
                .replace("depth_eth = 20000.0", &format!("depth_eth = {depth}"))
                .replace("[pn]\n", &format!("[pn]\nroll_trigger = {trigger}\n"));
            std::fs::write(d.join("p.toml"), p).unwrap();
            let out = format!("p-{depth}-{trigger}");
            let o = run_in(d, &["run", "p.toml", "--out", &out, "--no-paths"]);
            assert!(o.status.success(), "{}", stderr(&o));
            let single = std::fs::read_to_string(d.join(out).join("summary.csv")).unwrap();
            let prefix = format!("{depth},{trigger},");
            let point: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix(&prefix)).collect();
            let rows: Vec<&str> = single.lines().skip(1).collect();
            assert_eq!(point, rows, "point {prefix}");
            assert!(rows.iter().any(|r| r.starts_with("diff,")));
        }
    }
}

#[test]
fn bad_sweep_is_an_input_error() {
    let dir = tempdir();
    let d = dir.path();
    for (grid, needle) in [
        ("\"market.process.sigma\" = [0.5, -1.0]\n", "market.process.sigma"),
        ("\"market.process.sigma\" = []\n", "non-empty list"),
        ("\"steps.x\" = [1]\n", "not a table"),
        ("\"market.process.sgima\" = [1.0]\n", "sgima"),
    ] {
        std::fs::write(d.join("e.toml"), SMALL.to_string() + "\n[sweep]\n" + grid).unwrap();
        let o = run_in(d, &["sweep", "e.toml", "--out", "sw"]);
        assert_eq!(o.status.code(), Some(2), "{grid}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle) && stderr(&o).contains("e.toml"), "{grid}: {}", stderr(&o));
        assert!(!d.join("sw").exists());
    }
}
