//! Nothing of the user's is ever lost: `--out` of run, sweep, merge and report replaces only the
//! command's own earlier output; Ctrl-C, SIGTERM, SIGKILL and a full disk leave the earlier
//! result as it was and no staging folder in sight; a run too large for the disk is refused
//! before it starts.

use crate::common::{headroom, run_in, stderr, tempdir, SMALL};
use headroom_montecarlo::output::{write_run, WriteOptions};
use headroom_montecarlo::staging::Disk;
use headroom_montecarlo::{Error, Experiment, RunOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Every file below `dir` with its content, sorted (folders as names only).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.clone(), Vec::new()));
                stack.push(p);
            } else {
                let content = fs::read(&p).unwrap();
                out.push((p, content));
            }
        }
    }
    out.sort();
    out
}

/// Names in `dir` that start with a dot (staging folders).
fn hidden(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Runs `args` in `dir` and checks the refusal: exit code 2, a message naming `needle`, and
/// nothing in `dir` changed.
fn refused(dir: &Path, args: &[&str], needle: &str) {
    let before = snapshot(dir);
    let o = run_in(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?} must name {needle:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(snapshot(dir), before, "{args:?} changed the folder");
}

fn setup() -> tempfile::TempDir {
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("e.toml"), SMALL.replace("paths = 300", "paths = 40")).unwrap();
    fs::create_dir(d.join("mydocs")).unwrap();
    fs::write(d.join("mydocs/thesis.md"), "three years of work").unwrap();
    fs::write(d.join("notes.csv"), "a,b\n1,2\n").unwrap();
    fs::write(d.join("notes.md"), "# My notes\n\nkeep me\n").unwrap();
    dir
}

#[test]
fn run_refuses_what_it_did_not_write() {
    let dir = setup();
    let d = dir.path();
    refused(d, &["run", "e.toml", "--out", "mydocs"], "mydocs");
    refused(d, &["run", "e.toml", "--out", "notes.csv"], "notes.csv");
    refused(d, &["run", "e.toml", "--out", "notes.csv/sub"], "notes.csv");
    refused(d, &["run", "e.toml", "--out", "."], "did not write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("mydocs", d.join("link")).unwrap();
        refused(d, &["run", "e.toml", "--out", "link"], "symbolic link");
        fs::remove_file(d.join("link")).unwrap();
    }
    // The default folder results/<name>/ follows the same rule.
    fs::create_dir_all(d.join("results/small")).unwrap();
    fs::write(d.join("results/small/mine.txt"), "x").unwrap();
    refused(d, &["run", "e.toml"], "results/small");
    fs::remove_dir_all(d.join("results")).unwrap();

    // An earlier result is replaced; an empty folder is taken.
    for args in [&["run", "e.toml", "--out", "res"][..], &["run", "e.toml", "--out", "res", "--paths", "30"]]
    {
        let o = run_in(d, args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(fs::read_to_string(d.join("res/manifest.json")).unwrap().contains("\"path_count\": 30"));
    fs::create_dir(d.join("empty")).unwrap();
    assert!(run_in(d, &["run", "e.toml", "--out", "empty"]).status.success());
    // A result folder the user added a file to is theirs now.
    fs::write(d.join("res/analysis.py"), "print(1)").unwrap();
    refused(d, &["run", "e.toml", "--out", "res"], "analysis.py");
    // A sweep folder is not a result folder.
    let sweep =
        SMALL.replace("paths = 300", "paths = 20") + "\n[sweep]\n\"market.process.sigma\" = [0.5, 0.9]\n";
    fs::write(d.join("s.toml"), sweep).unwrap();
    assert!(run_in(d, &["sweep", "s.toml", "--out", "sw"]).status.success());
    refused(d, &["run", "e.toml", "--out", "sw"], "sweep folder");
    assert!(hidden(d).is_empty(), "{:?}", hidden(d));
}

#[test]
fn sweep_refuses_what_it_did_not_write() {
    let dir = setup();
    let d = dir.path();
    let sweep =
        SMALL.replace("paths = 300", "paths = 20") + "\n[sweep]\n\"market.process.sigma\" = [0.5, 0.9]\n";
    fs::write(d.join("s.toml"), sweep).unwrap();
    refused(d, &["sweep", "s.toml", "--out", "mydocs"], "mydocs");
    refused(d, &["sweep", "s.toml", "--out", "notes.csv"], "notes.csv");
    assert!(run_in(d, &["run", "e.toml", "--out", "res"]).status.success());
    refused(d, &["sweep", "s.toml", "--out", "res"], "result folder");
    fs::create_dir_all(d.join("results/small-sweep")).unwrap();
    fs::write(d.join("results/small-sweep/x.txt"), "x").unwrap();
    refused(d, &["sweep", "s.toml"], "small-sweep");
    for _ in 0..2 {
        let o = run_in(d, &["sweep", "s.toml", "--out", "sw"]);
        assert!(o.status.success(), "an earlier sweep is replaced: {}", stderr(&o));
    }
    assert!(hidden(d).is_empty());
}

#[test]
fn merge_refuses_what_it_did_not_write_and_its_own_inputs() {
    let dir = setup();
    let d = dir.path();
    for i in 0..2 {
        let o = run_in(d, &["run", "e.toml", "--shard", &format!("{i}/2"), "--out", &format!("s{i}")]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    refused(d, &["merge", "s0", "s1", "--out", "mydocs"], "mydocs");
    refused(d, &["merge", "s0", "s1", "--out", "notes.csv"], "notes.csv");
    refused(d, &["merge", "s0", "s1", "--out", "s0/merged"], "inside the shard folder");
    refused(d, &["merge", "s0", "s1", "--out", "s0"], "own input");
    refused(d, &["merge", "s0", "s1", "--out", "."], "own input");
    for _ in 0..2 {
        let o = run_in(d, &["merge", "s0", "s1", "--out", "merged"]);
        assert!(o.status.success(), "an earlier merge is replaced: {}", stderr(&o));
    }
    // A run may replace a merged result and the other way round: both are result folders.
    assert!(run_in(d, &["run", "e.toml", "--out", "merged"]).status.success());
    assert!(hidden(d).is_empty());
}

#[test]
fn report_refuses_what_it_did_not_write() {
    let dir = setup();
    let d = dir.path();
    assert!(run_in(d, &["run", "e.toml", "--out", "res"]).status.success());
    refused(d, &["report", "res", "--out", "notes.md"], "notes.md");
    refused(d, &["report", "res", "--out", "res/summary.csv"], "summary.csv");
    refused(d, &["report", "res", "--out", "mydocs"], "mydocs");
    // A plots folder beside the report that holds something else.
    fs::create_dir(d.join("rep_files")).unwrap();
    fs::write(d.join("rep_files/photo.jpg"), "jpeg").unwrap();
    refused(d, &["report", "res", "--out", "rep.md"], "rep_files");
    fs::remove_dir_all(d.join("rep_files")).unwrap();
    for _ in 0..2 {
        let o = run_in(d, &["report", "res", "--out", "rep.md"]);
        assert!(o.status.success(), "an earlier report is replaced: {}", stderr(&o));
    }
    // Its first line marks it; once the user deletes that line, the file is theirs.
    let text = fs::read_to_string(d.join("rep.md")).unwrap();
    let edited = text.lines().skip(1).collect::<Vec<_>>().join("\n");
    fs::write(d.join("rep.md"), edited).unwrap();
    refused(d, &["report", "res", "--out", "rep.md"], "rep.md");
    // A report written inside a result folder keeps the folder replaceable.
    assert!(run_in(d, &["report", "res", "--out", "res/extra.md"]).status.success());
    assert!(run_in(d, &["run", "e.toml", "--out", "res"]).status.success());
    assert!(hidden(d).is_empty());
}

#[test]
fn a_run_too_large_for_the_disk_is_refused_before_it_starts() {
    let dir = setup();
    let d = dir.path();
    let t = Instant::now();
    // 2^40 paths, inside the documented range, need hundreds of terabytes.
    let o = run_in(d, &["run", "e.toml", "--out", "big", "--paths", "1099511627776", "--no-paths"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("1099511627776 paths need about") && err.contains("free"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(30), "refused before running");
    assert!(!d.join("big").exists() && hidden(d).is_empty());
}

/// Starts a long run into `out` (an earlier result there) and waits for its staging folder.
fn start_long_run(d: &Path, out: &str) -> Child {
    let child = headroom()
        .current_dir(d)
        .args(["run", "e.toml", "--out", out, "--paths", "20000000", "--no-paths", "--threads", "2"])
        .env("CI", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!(".{out}.tmp-");
    let t = Instant::now();
    while !hidden(d).iter().any(|n| n.starts_with(&prefix)) {
        assert!(t.elapsed() < Duration::from_secs(60), "the run never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn kill(child: &Child, signal: &str) {
    let ok = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

#[cfg(unix)]
#[test]
fn ctrl_c_and_sigterm_stop_a_run_promptly_and_touch_nothing() {
    let dir = setup();
    let d = dir.path();
    assert!(run_in(d, &["run", "e.toml", "--out", "res"]).status.success());
    let before = snapshot(&d.join("res"));
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let child = start_long_run(d, "res");
        let sent = Instant::now();
        kill(&child, signal);
        let o = child.wait_with_output().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(10), "{signal}: stopped in {:?}", sent.elapsed());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{signal}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(snapshot(&d.join("res")), before, "{signal} touched the earlier result");
        assert!(hidden(d).is_empty(), "{signal} left {:?}", hidden(d));
    }
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_only_a_hidden_folder_that_the_next_run_removes() {
    let dir = setup();
    let d = dir.path();
    assert!(run_in(d, &["run", "e.toml", "--out", "res"]).status.success());
    let before = snapshot(&d.join("res"));
    let mut child = start_long_run(d, "res");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(snapshot(&d.join("res")), before);
    let left = hidden(d);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".res.tmp-"));
    let o = run_in(d, &["run", "e.toml", "--out", "res", "--paths", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(hidden(d).is_empty(), "the stale staging folder is removed: {:?}", hidden(d));
}

/// Writes a run of `SMALL` into `out` on a disk that fills up after `bytes`.
fn run_on_full_disk(d: &Path, out: &Path, bytes: u64, events: bool) -> Result<(), Error> {
    let exp = Experiment::from_file(&d.join("e.toml")).unwrap();
    let run = RunOptions { paths: 0..exp.spec.paths(), event_paths: 5, ..Default::default() };
    let opts = WriteOptions {
        paths_csv: true,
        events_csv: events,
        threads: 1,
        disk: Disk::full_after(bytes),
        ..Default::default()
    };
    write_run(out, &exp, &run, &opts)
}

#[test]
fn a_full_disk_stops_the_write_at_every_point_and_keeps_the_earlier_result() {
    let dir = setup();
    let d = dir.path();
    let out = d.join("res");
    run_on_full_disk(d, &out, u64::MAX, true).unwrap();
    let before = snapshot(&out);
    let total: u64 = before.iter().map(|(_, c)| c.len() as u64).sum();
    // The run writes its spilled rows, paths.csv, summary.csv, events.csv and manifest.json:
    // the disk fills up inside each of them in turn.
    let spilled = 40 * 8 * headroom_montecarlo::columns::all_metrics().count() as u64;
    let mut cuts: Vec<u64> = (0..12).map(|i| i * (total + spilled) / 12).collect();
    cuts.extend([0, 1, 4096]);
    for bytes in cuts {
        let e = run_on_full_disk(d, &out, bytes, true).unwrap_err();
        assert!(
            matches!(&e, Error::Write { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
            "{e}"
        );
        assert!(!e.is_input_error());
        assert!(e.to_string().contains("the disk is full"), "{e}");
        assert_eq!(snapshot(&out), before, "a full disk after {bytes} bytes touched the result");
        assert!(hidden(d).is_empty(), "{:?}", hidden(d));
    }
}

/// The same through the binary on a real full disk: a 2 MB tmpfs, where this machine allows
/// mounting one (as root); elsewhere the injected disk above is the test.
#[cfg(target_os = "linux")]
#[test]
fn a_full_tmpfs_gives_exit_code_1_and_keeps_the_earlier_result() {
    let dir = setup();
    let d = dir.path();
    let mnt = d.join("small-disk");
    fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here; the injected full disk covers ENOSPC");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let o = run_in(d, &["run", "e.toml", "--out", "small-disk/res", "--paths", "20"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let before = snapshot(&mnt.join("res"));
        // 40,000 paths need about 10 MB of rows and paths.csv: more than the disk holds, and the
        // estimate says so before running. Then fill the disk so that a small run passes the
        // check (its estimate is about 16 kB) and runs out of space while writing (each of its
        // files takes at least a 4 kB page).
        let o = run_in(d, &["run", "e.toml", "--out", "small-disk/res", "--paths", "40000"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("free"), "{}", stderr(&o));
        let filler = vec![0u8; 1 << 16];
        let mut f = fs::File::create(mnt.join("filler")).unwrap();
        use std::io::Write;
        while f.write_all(&filler).is_ok() {}
        drop(f);
        let keep = fs::metadata(mnt.join("filler")).unwrap().len();
        // Free about 40 kB: the check passes (its estimate is under that) but the write fails.
        let f = fs::OpenOptions::new().write(true).open(mnt.join("filler")).unwrap();
        f.set_len(keep.saturating_sub(40_000)).unwrap();
        drop(f);
        let o = run_in(d, &["run", "e.toml", "--out", "small-disk/res", "--paths", "60"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("No space left on device") && err.contains("the disk is full"), "{err}");
        assert_eq!(snapshot(&mnt.join("res")), before);
        assert!(hidden(&mnt).is_empty(), "{:?}", hidden(&mnt));
    });
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
