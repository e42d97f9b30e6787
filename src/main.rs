//! The `headroom` command line: runs experiments, sweeps, merges shards, prices P/N pairs, tells
//! where a position's trigger sits, and writes reports. See README.md and docs/EXPERIMENTS.md.

mod cli;
mod report;

fn main() {
    std::process::exit(cli::main());
}
