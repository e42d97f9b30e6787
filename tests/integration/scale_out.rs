//! The scale-out scripts of docs/scale-out.md, run as far as this machine allows: the Slurm array
//! tasks and the merge job as plain bash with Slurm's environment, and the Kubernetes Indexed
//! Job's container commands with the environment Kubernetes sets. The schedulers themselves are
//! not run.

use crate::common::{root, run_in, stderr, tempdir, SMALL};
use std::path::Path;
use std::process::Command;

/// A folder with `headroom` on it, for scripts that call it by name.
fn path_with_headroom(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_headroom"), bin.join("headroom")).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn assert_same_files(a: &Path, b: &Path) {
    let x = std::fs::read(a.join("summary.csv")).unwrap();
    let y = std::fs::read(b.join("summary.csv")).unwrap();
    assert!(x == y, "summary.csv: {} differs from {}", b.display(), a.display());
}

#[test]
fn slurm_array_tasks_and_merge() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("e.toml"), SMALL.replace("paths = 300", "paths = 100")).unwrap();
    let o = run_in(d, &["run", "e.toml", "--out", "full"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = path_with_headroom(d);
    let scripts = root().join("scripts/slurm");
    for id in 10..13 {
        let o = Command::new("bash")
            .arg(scripts.join("shards.sbatch"))
            .current_dir(d)
            .env("PATH", &path)
            .env("EXPERIMENT", "e.toml")
            .env("SHARDS_DIR", "shards")
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "10")
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "task {id}: {}", stderr(&o));
    }
    let o = Command::new("bash")
        .arg(scripts.join("merge.sbatch"))
        .current_dir(d)
        .env("PATH", &path)
        .env("SHARDS_DIR", "shards")
        .env("MERGED_DIR", "merged")
        .output()
        .unwrap();
    assert!(o.status.success(), "merge: {}", stderr(&o));
    assert_same_files(&d.join("full"), &d.join("merged"));
}

/// The `args` line after `args:` of each container in the manifest.
fn container_commands(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == "args:")
        .map(|(i, _)| lines[i + 1].trim().trim_start_matches("- ").to_string())
        .collect()
}

#[test]
fn kubernetes_indexed_job_commands_and_merge() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("e.toml"), SMALL.replace("paths = 300", "paths = 100")).unwrap();
    let o = run_in(d, &["run", "e.toml", "--out", "full"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let yaml = std::fs::read_to_string(root().join("scripts/k8s/headroom-indexed-job.yaml")).unwrap();
    let cmds = container_commands(&yaml);
    assert_eq!(cmds.len(), 2, "a shard container and a merge container: {cmds:?}");
    let results = d.join("results");
    let local = |c: &str| c.replace("/results", &results.display().to_string());
    let path = path_with_headroom(d);
    for index in 0..4 {
        let o = Command::new("sh")
            .args(["-c", &local(&cmds[0])])
            .current_dir(d)
            .env("PATH", &path)
            .env("EXPERIMENT", "e.toml")
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("HEADROOM_SHARD_COUNT", "4")
            .output()
            .unwrap();
        assert!(o.status.success(), "index {index}: {}", stderr(&o));
    }
    let o =
        Command::new("sh").args(["-c", &local(&cmds[1])]).current_dir(d).env("PATH", &path).output().unwrap();
    assert!(o.status.success(), "merge: {}", stderr(&o));
    assert_same_files(&d.join("full"), &results.join("merged"));
}
