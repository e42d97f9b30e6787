//! The `headroom` command line: runs experiments, sweeps, merges shards, prices P/N pairs, tells
//! where a position's trigger sits, and writes reports. See README.md and docs/EXPERIMENTS.md.

mod cli;
// `headroom report` (src/report): the subcommand that calls `report::write_report` is wired in
// cli.rs; until then its items are unused in the binary.
#[allow(dead_code)]
mod report;

fn main() {
    std::process::exit(cli::main());
}
