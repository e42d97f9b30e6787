#!/usr/bin/env python3
"""Generates docs/results/real-history.md: every 30-day window of hourly ETH/USD 2018-2024, an
Aave v3.3 cohort against the same borrowers holding rolled P/N splits, by roll execution style,
gas and depth (experiments/history/real-history.toml). Standard library only.

Steps (each command is printed and recorded in the write-up):
  1. checks the experiment's depth figures against data/eth-usd-1h.csv (the median daily volume
     over whole UTC days, and the standard deviation of daily log returns);
  2. `headroom sweep experiments/history/real-history.toml`: cost with batch-means intervals at
     every point of style x gas x depth;
  3. `headroom run` of the points whose windows the write-up shows one by one (every style and
     gas at the file's own depth and at 32 times it): paths.csv and windows.csv;
  4. `headroom report` of four of those runs (docs/results/real-history-runs.md), whose
     calendar charts the write-up shows;
  5. the write-up, from sweep.csv, the runs' paths.csv and windows.csv and the price file.

Usage: scripts/real-history.py [--bin target/release/headroom] [--results results/real-history]
                               [--out docs/results/real-history.md]
"""
import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SWEEP = "experiments/history/real-history.toml"
BASE = "experiments/history/eth-30d-windows.toml"
DATA = "data/eth-usd-1h.csv"
HORIZON_DAYS = 30
YEARS = HORIZON_DAYS / 365
CLAIM_COST = 2.0  # the proposal's "2% a year"
CLAIM_DRIFT = (1.0, 4.0)  # its "quadratic drift" of 1-4% a year

# The grid, as sweep.csv writes its values.
STYLES = [
    ('{ style = "market" }', "market", "market: each round's shed sold at once"),
    ('{ slices = 6, style = "twap" }', "twap", "TWAP: in 6 hourly slices"),
    ('{ max_wait_steps = 24, spread = 0.001, style = "passive" }', "passive",
     "passive: an ask 0.1% above the price, filled when a candle's high reaches it, else sold at market after 24 h"),
    ('{ max_discount = 0.005, ramp_steps = 12, style = "auction" }', "auction",
     "auction: a Dutch auction whose discount ramps to 0.5% over 12 h"),
]
STYLE_TOML = {
    "market": '{ style = "market" }',
    "twap": '{ style = "twap", slices = 6 }',
    "passive": '{ style = "passive", spread = 0.001, max_wait_steps = 24 }',
    "auction": '{ style = "auction", max_discount = 0.005, ramp_steps = 12 }',
}
GAS = [("0.05", "L2", 0.05), ("50.0", "mainnet", 50.0)]
VOLUME = 12762.0
DEPTHS = [("3190.5", "x0.25"), ("12762.0", "x1"), ("51048.0", "x4"), ("408384.0", "x32")]
RUN_DEPTHS = [("12762.0", "x1"), ("408384.0", "x32")]
REPORTED = ["x1-market-L2", "x1-passive-L2", "x32-market-L2", "x32-passive-L2"]


def sh(cmd, log):
    """Runs a command from the repository's root, recording it and its wall time."""
    t0 = time.time()
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    log.append((" ".join(cmd), time.time() - t0))


def parse_time(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def load_data():
    """The price file: hourly rows (time, high, low, close, volume)."""
    rows = []
    with open(os.path.join(ROOT, DATA)) as f:
        for r in csv.DictReader(f):
            rows.append((parse_time(r["timestamp_utc"]), float(r["high"]), float(r["low"]),
                         float(r["close"]), float(r["volume_eth"])))
    return rows


def depth_figures(rows):
    """The median daily volume over whole UTC days (24 rows) and the standard deviation of the
    daily log returns (the last close of each day, consecutive days)."""
    vol, count, close = defaultdict(float), defaultdict(int), {}
    for t, _, _, c, v in rows:
        d = t.date()
        vol[d] += v
        count[d] += 1
        close[d] = c
    whole = [vol[d] for d in vol if count[d] == 24]
    days = sorted(close)
    rets = [math.log(close[b] / close[a]) for a, b in zip(days, days[1:]) if (b - a).days == 1]
    return statistics.median(whole), len(whole), statistics.stdev(rets), len(rets)


def check_depth(rows):
    median, n_days, sd, n_rets = depth_figures(rows)
    for f in (SWEEP, BASE):
        text = open(os.path.join(ROOT, f)).read()
        want = f"sigma_daily = {sd:.4f}, daily_volume_eth = {median:.0f}.0"
        if want not in text:
            sys.exit(f"{f}: the liquidity must read `{want}` (from {DATA}); fix the experiment")
    return median, n_days, sd, n_rets


def variant(depth, style, gas):
    """The experiment of one point of the grid: the sweep's file without its [sweep] table, with
    the point's values; written next to the runs."""
    text = open(os.path.join(ROOT, SWEEP)).read().split("\n[sweep]")[0]
    name = f"{DEPTH_LABEL[depth]}-{style}-{GAS_LABEL[gas]}"
    out = []
    for line in text.splitlines():
        if line.startswith('name = "real-history"'):
            line = f'name = "real-history-{name}"'
        elif line.startswith("process = "):
            rel = os.path.relpath(os.path.join(ROOT, DATA), RUNS_DIR)
            line = line.replace('"../../data/eth-usd-1h.csv"', f'"{rel}"')
        elif line.startswith("liquidity = "):
            assert "daily_volume_eth = 12762.0" in line
            line = line.replace("daily_volume_eth = 12762.0", f"daily_volume_eth = {depth}")
        out.append(line)
        if line == "[market]":
            out.append(f"gas_usd = {gas}")
        elif line == "[pn]":
            out.append(f"execution = {STYLE_TOML[style]}")
    return name, "\n".join(out) + "\n"


DEPTH_LABEL = dict(DEPTHS)
GAS_LABEL = {g: label for g, label, _ in GAS}
RUNS_DIR = None


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main():
    global RUNS_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/headroom")
    ap.add_argument("--results", default="results/real-history")
    ap.add_argument("--out", default="docs/results/real-history.md")
    ap.add_argument("--write-only", action="store_true",
                    help="write the markdown from the results of an earlier full run")
    a = ap.parse_args()
    results = os.path.join(ROOT, a.results)
    RUNS_DIR = os.path.join(results, "runs")
    log = []
    started = time.time()
    rows = load_data()
    depth = check_depth(rows)
    report_md = os.path.join(os.path.dirname(a.out), "real-history-runs.md")
    runs = {}
    names = [variant(d, style, g)[0] for d, _ in RUN_DEPTHS for style in STYLE_TOML for g, _, _ in GAS]
    for n in names:
        runs[n] = os.path.join(RUNS_DIR, n)
    log_file = os.path.join(results, "commands.json")
    if a.write_only:
        saved = json.load(open(log_file))
        log, elapsed = [tuple(c) for c in saved["commands"]], saved["seconds"]
    else:
        shutil.rmtree(results, ignore_errors=True)
        os.makedirs(RUNS_DIR)
        sh([a.bin, "sweep", SWEEP, "--out", f"{a.results}/sweep"], log)
        for d, _ in RUN_DEPTHS:
            for style in STYLE_TOML:
                for g, _, _ in GAS:
                    name, text = variant(d, style, g)
                    exp = os.path.join(RUNS_DIR, name + ".toml")
                    open(exp, "w").write(text)
                    sh([a.bin, "run", os.path.relpath(exp, ROOT), "--out", f"{a.results}/runs/{name}"], log)
        sh([a.bin, "report", *[f"{a.results}/runs/{n}" for n in REPORTED], "--out", report_md,
            "--title", "Real history: four of the runs behind docs/results/real-history.md"], log)
        elapsed = time.time() - started
        json.dump({"commands": log, "seconds": elapsed}, open(log_file, "w"), indent=1)
    import real_history_writeup as w  # noqa: E402  (the write-up's text, next to this script)
    text = w.write(sys.modules[__name__], a, rows, depth, read_csv(os.path.join(results, "sweep", "sweep.csv")),
                   runs, log, elapsed, os.path.basename(report_md))
    with open(os.path.join(ROOT, a.out), "w") as f:
        f.write(text)
    print(f"wrote {a.out} in {elapsed:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
