//! Shards: three shards merged give the bytes of one unsharded run; bad shard sets are errors.

use crate::common::{headroom, run_in, stderr, tempdir, SMALL};
use std::path::Path;

fn run_ok(dir: &Path, args: &[&str]) {
    let o = run_in(dir, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
}

#[test]
fn three_shards_merge_to_the_unsharded_bytes() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("e.toml"), SMALL.replace("paths = 300", "paths = 203")).unwrap();
    run_ok(d, &["run", "e.toml", "--out", "full", "--events", "--event-paths", "100"]);
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = format!("s{i}");
        // --no-paths: a shard keeps its per-path values all the same.
        run_ok(
            d,
            &[
                "run",
                "e.toml",
                "--shard",
                &shard,
                "--out",
                &out,
                "--no-paths",
                "--events",
                "--event-paths",
                "100",
            ],
        );
        assert!(d.join(&out).join("paths.csv").exists());
    }
    run_ok(d, &["merge", "s2", "s0", "s1", "--out", "merged"]);
    for f in ["paths.csv", "summary.csv", "events.csv"] {
        let a = std::fs::read(d.join("full").join(f)).unwrap();
        let b = std::fs::read(d.join("merged").join(f)).unwrap();
        assert!(a == b, "{f} of the merge differs from the unsharded run");
    }

    // A missing shard, a duplicated one, another seed or another experiment are errors.
    let fail = |args: &[&str], needle: &str| {
        let o = run_in(d, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    };
    fail(&["merge", "s0", "s2", "--out", "m2"], "missing shard(s) 1/3");
    fail(&["merge", "s0", "s1", "s1", "s2", "--out", "m2"], "given twice");
    run_ok(d, &["run", "e.toml", "--shard", "1/3", "--seed", "99", "--out", "seed99"]);
    fail(&["merge", "s0", "seed99", "s2", "--out", "m2"], "seed");
    std::fs::write(
        d.join("f.toml"),
        SMALL.replace("paths = 300", "paths = 203").replace("sigma = 0.8", "sigma = 0.7"),
    )
    .unwrap();
    run_ok(d, &["run", "f.toml", "--shard", "1/3", "--out", "other"]);
    fail(&["merge", "s0", "other", "s2", "--out", "m2"], "config hash");
    fail(&["merge", "s0", "full", "s2", "--out", "m2"], "not a shard");
    fail(&["merge", "s0", "s1", "s2", "--out", "s1/.."], "replace its own input");
    assert!(!d.join("m2").exists());
}

#[test]
fn schedulers_environment_picks_the_shard() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("e.toml"), SMALL.replace("paths = 300", "paths = 10")).unwrap();
    let o = headroom()
        .current_dir(d)
        .args(["run", "e.toml"])
        .env("SLURM_ARRAY_TASK_ID", "4")
        .env("SLURM_ARRAY_TASK_MIN", "3")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("results/small-shards/1-of-2/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["shard"]["index"], 1);
    assert_eq!(m["first_path"], 5);
    let o = headroom()
        .current_dir(d)
        .args(["run", "e.toml", "--out", "k"])
        .env("JOB_COMPLETION_INDEX", "0")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HEADROOM_SHARD_COUNT"));
}

#[test]
fn merge_of_a_hand_edited_manifest_is_an_error_not_a_panic() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("e.toml"), SMALL.replace("paths = 300", "paths = 20")).unwrap();
    for i in 0..2 {
        run_ok(d, &["run", "e.toml", "--shard", &format!("{i}/2"), "--out", &format!("s{i}")]);
    }
    // A short, different hash in one manifest: the shards no longer match.
    let m = d.join("s1/manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = v["config_hash"].as_str().unwrap().to_string();
    std::fs::write(&m, text.replace(&hash, "abc")).unwrap();
    let o = run_in(d, &["merge", "s0", "s1", "--out", "m"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("abc") && !stderr(&o).contains("panicked"), "{}", stderr(&o));
    // A manifest that is not JSON.
    std::fs::write(&m, "{ not json").unwrap();
    let o = run_in(d, &["merge", "s0", "s1", "--out", "m"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("manifest.json"), "{}", stderr(&o));
    assert!(!d.join("m").exists());
}
