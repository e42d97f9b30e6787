#!/usr/bin/env python3
"""Writes the tables of docs/results/execution.md from the sweep.csv of
experiments/sweeps/execution.toml: cost_pct_year (mean and 95% interval) for every execution
style, depth and roll fee (rows) and gas (columns), the P holder's result beside it, and the
gas arithmetic of a single holder. Standard library only.

Usage: scripts/execution-table.py results/execution-sweep/sweep.csv > tables.md
"""
import csv
import sys
from collections import OrderedDict

STYLE, GAS, DEPTH, FEE = "pn.execution", "market.gas_usd", "market.liquidity.depth_eth", "pn.fee"
HOLDERS, HORIZON_YEARS = 5000, 30 / 365


def style_label(text):
    t = text.strip("{} ").replace('"', "")
    parts = OrderedDict(p.strip().split(" = ") for p in t.split(","))
    style = parts.pop("style")
    return style + (" (" + ", ".join(f"{k} {v}" for k, v in parts.items()) + ")" if parts else "")


def main(path):
    rows = [r for r in csv.DictReader(open(path)) if r["primitive"] == "pn"]
    axis = {k: list(OrderedDict.fromkeys(r[k] for r in rows)) for k in (STYLE, GAS, DEPTH, FEE)}
    cell = {(r[STYLE], r[GAS], r[DEPTH], r[FEE], r["metric"]): r for r in rows}
    n = rows[0]["n"]

    def table(metric, fmt, title):
        print(f"### {title}\n")
        print("| style | depth (ETH) | roll fee | " + " | ".join(f"gas {g} USD" for g in axis[GAS]) + " |")
        print("| --- | --- | --- | " + " | ".join("---" for _ in axis[GAS]) + " |")
        for f in axis[FEE]:
            for d in axis[DEPTH]:
                for s in axis[STYLE]:
                    cells = []
                    for g in axis[GAS]:
                        r = cell[(s, g, d, f, metric)]
                        cells.append(fmt(float(r["mean"]), float(r["ci95_low"]), float(r["ci95_high"])))
                    line = f"| {style_label(s)} | {float(d):,.0f} | {float(f):.1%} | " + " | ".join(cells)
                    print(line + " |")
        print()

    print(f"Each cell: the mean over {n} paths and its 95% interval (mean +- 1.96 se), from "
          "sweep.csv (every point on the same paths).\n")
    table("cost_pct_year", lambda m, lo, hi: f"{m:.4f} [{lo:.4f}, {hi:.4f}]",
          "Cost of rolling, % a year of the deposit (cost_pct_year)")
    table("lender_pnl_usd", lambda m, lo, hi: f"{m / 1e6:,.3f} [{lo / 1e6:,.3f}, {hi / 1e6:,.3f}]",
          "The P holder's result over the 30 days, million USD (lender_pnl_usd)")
    table("slippage_usd", lambda m, lo, hi: f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]",
          "The P holder's slippage over the 30 days, USD (slippage_usd)")

    # Gas per holder: what a holder pays a year in gas alone, and the deposit under which that
    # exceeds 2% a year, from the rolls per holder of the market style at B2's depth and fee.
    base = cell[(axis[STYLE][0], axis[GAS][-1], axis[DEPTH][-1], axis[FEE][-1], "exits")]
    rolls_year = float(base["mean"]) / HOLDERS / HORIZON_YEARS
    print("### Gas per holder\n")
    print(f"Rolls per holder and year ({style_label(axis[STYLE][0])}, depth "
          f"{float(axis[DEPTH][-1]):,.0f} ETH, fee {float(axis[FEE][-1]):.1%}): {rolls_year:.2f}.\n")
    print("| gas per roll, USD | gas a year per holder, USD | deposit under which gas alone exceeds 2% a year, USD |")
    print("| --- | --- | --- |")
    for g in axis[GAS]:
        a = float(g) * rolls_year
        print(f"| {float(g):g} | {a:,.2f} | {a / 0.02:,.0f} |")
    print()


if __name__ == "__main__":
    main(sys.argv[1])
