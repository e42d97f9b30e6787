//! Same seed, same bytes: at any thread count (and, in shards.rs, any sharding).

use crate::common::{run_in, tempdir, SMALL};

#[test]
fn one_and_two_threads_write_identical_files() {
    let dir = tempdir();
    std::fs::write(dir.path().join("e.toml"), SMALL).unwrap();
    for t in ["1", "2"] {
        let o = run_in(dir.path(), &["run", "e.toml", "--threads", t, "--out", &format!("t{t}")]);
        assert!(o.status.success(), "{}", crate::common::stderr(&o));
    }
    for f in ["paths.csv", "summary.csv"] {
        let a = std::fs::read(dir.path().join("t1").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("t2").join(f)).unwrap();
        assert!(!a.is_empty());
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
    // A different seed gives different paths: the test above could fail.
    let o = run_in(dir.path(), &["run", "e.toml", "--seed", "8", "--out", "s8"]);
    assert!(o.status.success());
    let a = std::fs::read(dir.path().join("t1/paths.csv")).unwrap();
    let c = std::fs::read(dir.path().join("s8/paths.csv")).unwrap();
    assert_ne!(a, c);
}
