#!/usr/bin/env bash
# The cost of every bundled experiment at its default paths, as docs/benchmarks.md records it:
# wall time, CPU time (user + system), peak memory (maximum resident set) and paths a second, the
# median of ROUNDS whole-process runs taken in interleaved order (every experiment once per
# round), so that a drift of the machine's speed falls on all of them alike.
#
# Usage: scripts/bench-experiments.sh [ROUNDS (default 3)]
# Prints a markdown table. Needs /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo build --release --locked -q
hr=target/release/headroom
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=$(find experiments -name '*.toml' | sort)
# A sweep is a file with a [sweep] table; the rest are runs.
cmd_of() {
  if grep -q '^\[sweep\]' "$1"; then echo sweep; else echo run; fi
}
for r in $(seq "$rounds"); do
  for f in $files; do
    key=$(echo "$f" | tr '/' '_')
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/$key.$r" \
      "$hr" "$(cmd_of "$f")" "$f" --out "$tmp/out-$key" >/dev/null 2>&1
    rm -rf "$tmp/out-$key"
  done
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| experiment | command | paths | wall | CPU | peak memory | paths a second |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for f in $files; do
  key=$(echo "$f" | tr '/' '_')
  cmd=$(cmd_of "$f")
  wall=$(cat "$tmp/$key".* | awk '{print $1}' | median)
  cpu=$(cat "$tmp/$key".* | awk '{print $2 + $3}' | median)
  mem=$(cat "$tmp/$key".* | awk '{print $4}' | median)
  # Paths per point from the run's own manifest (a sweep: points x paths).
  "$hr" "$cmd" "$f" --out "$tmp/m" >/dev/null 2>&1
  paths=$(python3 -c "
import json
m = json.load(open('$tmp/m/manifest.json'))
print(m['paths'] * len(m.get('configs', [None])))")
  rm -rf "$tmp/m"
  # GNU time reports hundredths of a second: a run under 10 ms has no measured rate.
  rate=$(awk -v p="$paths" -v w="$wall" 'BEGIN {if (w > 0) printf "%.0f", p / w; else printf "n/a (under 10 ms)"}')
  printf '| %s | %s | %s | %.2f s | %.2f s | %.1f MB | %s |\n' "$f" "$cmd" "$paths" "$wall" "$cpu" \
    "$(awk -v k="$mem" 'BEGIN {print k / 1024}')" "$rate"
done
