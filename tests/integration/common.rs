//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `headroom` binary.
pub fn headroom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
}

/// Runs `headroom` with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    headroom().current_dir(dir).args(args).env("CI", "true").output().expect("the binary runs")
}

/// The repository root (experiments/, scripts/ and data/ live there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// A small valid experiment with both worlds, for tests that vary one key.
pub const SMALL: &str = r#"
name = "small"
seed = 7
paths = 300
worlds = ["cdp"]
horizon_days = 10
steps = 240

[market]
start_price = 2000.0
process = { model = "gbm", mu = 0.0, sigma = 0.8 }
liquidity = { model = "exponential", depth_eth = 20000.0 }

[cohort]
source = "ladder"
positions = 200
collateral = 5.0
cycle = 4
hf_min = 1.01
hf_max = 1.6
lt = 0.83

[cdp]
protocol = "generic"
"#;

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
