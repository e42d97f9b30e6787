//! Bad input: exit code 2, a message naming the file and the key or line and what is allowed, no
//! panic, no output folder created, and an earlier result never overwritten.

use crate::common::{run_in, stderr, tempdir, SMALL};
use std::path::Path;

/// Writes `toml` as bad.toml, runs it into `out`, and checks the failure.
fn check_bad(toml: &str, needles: &[&str]) {
    let dir = tempdir();
    std::fs::write(dir.path().join("bad.toml"), toml).unwrap();
    let o = run_in(dir.path(), &["run", "bad.toml", "--out", "out"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "exit code for {needles:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("bad.toml"), "the message must name the file: {err}");
    for n in needles {
        assert!(err.contains(n), "message lacks {n:?}: {err}");
    }
    assert!(!dir.path().join("out").exists(), "a failed run created its output folder");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "a failed run left files: {left:?}");
    // validate reports the same problem with exit code 2.
    let o = run_in(dir.path(), &["validate", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

fn replace(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "test setup: {from:?} not in SMALL");
    SMALL.replacen(from, to, 1)
}

#[test]
fn toml_syntax_error_names_the_line() {
    check_bad(&replace("steps = 240", "steps = = 240"), &["line 7"]);
}

#[test]
fn unknown_key_is_an_error() {
    check_bad(&replace("steps = 240", "steps = 240\nstepz = 3"), &["stepz", "expected one of"]);
    check_bad(&replace("sigma = 0.8", "sigma = 0.8, sgima = 1"), &["sgima"]);
}

#[test]
fn missing_field_is_named() {
    check_bad(&replace("horizon_days = 10\n", ""), &["horizon_days"]);
}

#[test]
fn negative_sigma_names_key_and_range() {
    check_bad(&replace("sigma = 0.8", "sigma = -0.1"), &["market.process.sigma", "-0.1", "must be"]);
}

#[test]
fn every_problem_is_listed() {
    let t = replace("sigma = 0.8", "sigma = -0.1").replace("lt = 0.83", "lt = 1.5");
    check_bad(&t, &["market.process.sigma", "cohort.lt = 1.5", "(0, 1]"]);
}

#[test]
fn cohort_csv_with_nan_or_negative_names_the_line() {
    for (body, needle) in [
        ("id,collateral,debt\n0,10,20000\n1,NaN,20000\n", "line 3"),
        ("id,collateral,debt\n0,-10,20000\n", "line 2"),
    ] {
        let t = SMALL.split("[cohort]").next().unwrap().to_string()
            + "[cohort]\nsource = \"csv\"\nfile = \"cohort.csv\"\n\n[cdp]\nprotocol = \"generic\"\n";
        let dir = tempdir();
        std::fs::write(dir.path().join("bad.toml"), &t).unwrap();
        std::fs::write(dir.path().join("cohort.csv"), body).unwrap();
        let o = run_in(dir.path(), &["run", "bad.toml", "--out", "out"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("cohort.csv") && err.contains(needle) && err.contains("collateral"), "{err}");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn missing_file_and_bad_flags_exit_2() {
    let dir = tempdir();
    let o = run_in(dir.path(), &["run", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.toml"));
    std::fs::write(dir.path().join("e.toml"), SMALL).unwrap();
    for args in [
        &["run", "e.toml", "--shard", "3/3"][..],
        &["run", "e.toml", "--threads", "0"],
        &["run", "e.toml", "--paths", "x"],
    ] {
        let o = run_in(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!dir.path().join("results").exists());
    }
}

#[test]
fn failed_run_keeps_the_earlier_result() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("e.toml"), SMALL).unwrap();
    let o = run_in(d, &["run", "e.toml", "--out", "out", "--paths", "50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(d.join("out/summary.csv")).unwrap();
    std::fs::write(d.join("e.toml"), replace("sigma = 0.8", "sigma = -1.0")).unwrap();
    let o = run_in(d, &["run", "e.toml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("out/summary.csv")).unwrap(), before);
    assert!(Path::new(&d.join("out/paths.csv")).exists());
    // A successful run replaces it.
    std::fs::write(d.join("e.toml"), SMALL).unwrap();
    let o = run_in(d, &["run", "e.toml", "--out", "out", "--paths", "60"]);
    assert!(o.status.success());
    assert_ne!(std::fs::read(d.join("out/summary.csv")).unwrap(), before);
    let hidden: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "staging folders left behind: {hidden:?}");
}

#[test]
fn correlation_not_positive_definite_is_named() {
    let t = replace(
        "process = { model = \"gbm\", mu = 0.0, sigma = 0.8 }",
        "process = { model = \"basket\", sigma = [0.5, 0.5, 0.5], weights = [1.0, 1.0, 1.0], correlation = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]] }",
    );
    check_bad(&t, &["market.process.", "positive definite"]);
}

#[test]
fn price_csv_with_nan_or_negative_names_the_line() {
    for (body, needle) in [
        ("timestamp_utc,close\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,NaN\n2020-01-01T02:00:00Z,101\n", "line 3"),
        ("timestamp_utc,close\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,101\n2020-01-01T02:00:00Z,-5\n", "line 4"),
    ] {
        let t = replace("process = { model = \"gbm\", mu = 0.0, sigma = 0.8 }", "process = { model = \"bootstrap\", file = \"prices.csv\" }")
            .replace("horizon_days = 10", "horizon_days = 1")
            .replace("steps = 240", "steps = 24");
        let dir = tempdir();
        std::fs::write(dir.path().join("bad.toml"), &t).unwrap();
        std::fs::write(dir.path().join("prices.csv"), body).unwrap();
        let o = run_in(dir.path(), &["run", "bad.toml", "--out", "out"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("prices.csv") && err.contains(needle), "{err}");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn execution_keys_name_the_key_and_the_old_key_its_replacement() {
    let with_pn =
        |pn: &str| replace("worlds = [\"cdp\"]", "worlds = [\"cdp\", \"pn\"]") + "\n[pn]\n" + pn + "\n";
    check_bad(&with_pn("patience_steps = 4"), &["pn.patience_steps", "style = \"twap\", slices = 4"]);
    let t = with_pn("execution = { style = \"passive\", spread = 2.0, max_wait_steps = 3 }");
    check_bad(&t, &["pn.execution.spread", "2"]);
    check_bad(&with_pn("execution = { style = \"limit\" }"), &["limit", "market"]);
}
