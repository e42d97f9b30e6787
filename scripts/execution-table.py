#!/usr/bin/env python3
"""Writes the tables of docs/results/execution.md from a sweep.csv of
experiments/sweeps/execution.toml: cost_pct_year (mean and 95% interval) for every execution
style, gas and depth, and the P holder's result beside it. Standard library only.

Usage: scripts/execution-table.py results/execution-sweep/sweep.csv > tables.md
"""
import csv
import sys
from collections import OrderedDict


def style_label(text):
    t = text.strip("{} ").replace('"', "")
    parts = OrderedDict(p.strip().split(" = ") for p in t.split(","))
    style = parts.pop("style")
    return style + (" " + ", ".join(f"{k} {v}" for k, v in parts.items()) if parts else "")


def main(path):
    rows = [r for r in csv.DictReader(open(path)) if r["primitive"] == "pn"]
    keys = ["pn.execution", "market.gas_usd", "market.liquidity.depth_eth"]
    styles = list(OrderedDict.fromkeys(r[keys[0]] for r in rows))
    gases = list(OrderedDict.fromkeys(r[keys[1]] for r in rows))
    depths = list(OrderedDict.fromkeys(r[keys[2]] for r in rows))
    cell = {(r[keys[0]], r[keys[1]], r[keys[2]], r["metric"]): r for r in rows}
    n = rows[0]["n"]

    def table(metric, fmt, title):
        print(f"### {title}\n")
        print("| style | depth (ETH) | " + " | ".join(f"gas {g} USD" for g in gases) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in gases) + " |")
        for s in styles:
            for d in depths:
                cells = []
                for g in gases:
                    r = cell[(s, g, d, metric)]
                    cells.append(fmt(float(r["mean"]), float(r["ci95_low"]), float(r["ci95_high"])))
                print(f"| {style_label(s)} | {float(d):,.0f} | " + " | ".join(cells) + " |")
        print()

    print(f"Each cell: the mean over {n} paths and its 95% interval (mean +- 1.96 se), from "
          "sweep.csv (every point on the same paths).\n")
    table("cost_pct_year", lambda m, lo, hi: f"{m:.4f} [{lo:.4f}, {hi:.4f}]",
          "Cost of rolling, % a year of the deposit (cost_pct_year)")
    table("lender_pnl_usd", lambda m, lo, hi: f"{m / 1e6:,.3f} [{lo / 1e6:,.3f}, {hi / 1e6:,.3f}]",
          "The P holder's result over the 30 days, million USD (lender_pnl_usd)")
    table("eth_sold", lambda m, lo, hi: f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]",
          "ETH the hedges sold (eth_sold)")


if __name__ == "__main__":
    main(sys.argv[1])
