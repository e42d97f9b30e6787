//! End-to-end tests of the `headroom` binary: one test binary, a module per area.

mod bad_input;
mod commands;
mod common;
mod determinism;
mod paired;
mod report;
mod scale_out;
mod serve;
mod shards;
mod sweep;
mod webdriver;
mod windows;
