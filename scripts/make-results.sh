#!/usr/bin/env bash
# Regenerates the write-ups in docs/results/ from the bundled experiments: every command that
# made them is here, and each report records its own command line.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
hr=target/release/headroom
# The reports are this script's own and are replaced whole (each starts with headroom's marker
# line, so `headroom report` may replace it); the prose write-ups (execution.md, CHANGES.md and
# the like) are kept, and their tables are regenerated below.
mkdir -p docs/results
for r in aave-capo-2026 hyperliquid-spacex-2026 black-thursday-2020; do
  "$hr" run "experiments/replays/$r.toml" --events --out "results/$r"
  "$hr" report "results/$r" --out "docs/results/$r.md"
done
"$hr" run experiments/quickstart.toml --paths 20000 --out results/baseline
"$hr" report results/baseline --out docs/results/baseline.md --title "Baseline: Aave v3.3 CDPs against rolled P/N splits (20,000 paths)"
"$hr" sweep experiments/sweeps/depth-and-trigger.toml --out results/depth-and-trigger-sweep
"$hr" report results/depth-and-trigger-sweep --out docs/results/depth-and-trigger-sweep.md
"$hr" run experiments/bench/b1-cascade.toml --out results/b1-cascade
"$hr" run experiments/bench/b2-rolls.toml --out results/b2-rolls
"$hr" report results/b1-cascade results/b2-rolls --out docs/results/benchmarks.md --title "Benchmarks B1 and B2 against the reference figures"
"$hr" sweep experiments/sweeps/execution.toml --out results/execution-sweep
# The write-up: its text (scripts/writeups/execution.md), then the grid's tables from sweep.csv.
{ cat scripts/writeups/execution.md; python3 scripts/execution-table.py results/execution-sweep/sweep.csv; } \
  > docs/results/execution.md
# Real history: every 30-day window of 2018-2024 by execution style, gas and depth (its own
# script: the depth figures checked against the data, the sweep, 16 runs, a report, the write-up).
python3 scripts/real-history.py --bin "$hr"
