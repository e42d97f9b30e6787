//! The `headroom` command line: runs experiments, sweeps, merges shards, prices P/N pairs, tells
//! where a position's trigger sits, writes reports, and serves a page that walks one position
//! toward its trigger. See README.md and docs/EXPERIMENTS.md.

mod cli;
mod report;
mod serve;

fn main() {
    std::process::exit(cli::main());
}
