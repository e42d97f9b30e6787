"""The text of docs/results/real-history.md, from the results scripts/real-history.py made: every
number below is read from sweep.csv, the runs' paths.csv and windows.csv, or the price file, and
every comparison in the findings is decided from them (no number is typed in)."""
import csv
import os
import statistics
from datetime import datetime, timedelta, timezone

# Events a window can contain (start date of the event, what it was).
EVENTS = [
    ("2018-11-14", "November 2018 sell-off"),
    ("2020-03-12", "Black Thursday"),
    ("2021-05-19", "the May 2021 crash"),
    ("2022-06-13", "June 2022 (Celsius, 3AC)"),
    ("2022-11-08", "November 2022 (FTX)"),
]


def ci(m, lo, hi, d=2):
    return f"{m:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def day(t):
    return t.strftime("%Y-%m-%d")


class Sweep:
    """sweep.csv by (gas, volume, style, primitive, metric)."""

    def __init__(self, rows, styles):
        self.cell = {}
        self.n = None
        for r in rows:
            key = (r["market.gas_usd"], r["market.liquidity.daily_volume_eth"], r["pn.execution"],
                   r["primitive"], r["metric"])
            self.cell[key] = r
            self.n = int(r["n"])
        self.styles = styles

    def get(self, gas, vol, style, prim, metric):
        r = self.cell[(gas, vol, style, prim, metric)]
        return float(r["mean"]), float(r["ci95_low"]), float(r["ci95_high"])


class Run:
    """One run's windows and each world's rows."""

    def __init__(self, folder):
        self.windows = []
        with open(os.path.join(folder, "windows.csv")) as f:
            for r in csv.DictReader(f):
                t = datetime.strptime(r["start_utc"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                self.windows.append((t, float(r["start_price"])))
        self.rows = {"cdp": [], "pn": []}
        with open(os.path.join(folder, "paths.csv")) as f:
            for r in csv.DictReader(f):
                self.rows[r["primitive"]].append(r)

    def col(self, prim, name):
        return [float(r[name]) for r in self.rows[prim]]


def episodes(starts, cost, k, days=30):
    """The k costliest windows, one per episode (no two starting within `days`)."""
    order = sorted((i for i in range(len(cost)) if cost[i] > 0), key=lambda i: (-cost[i], i))
    picked = []
    for i in order:
        if len(picked) == k:
            break
        if all(abs((starts[i] - starts[j]).total_seconds()) >= days * 86400 for j in picked):
            picked.append(i)
    return picked


def events_in(start, days=30):
    end = start + timedelta(days=days)
    out = []
    for d, name in EVENTS:
        t = datetime.strptime(d, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        if start <= t < end:
            out.append(name)
    return ", ".join(out)


def quantile(v, q):
    s = sorted(v)
    x = q * (len(s) - 1)
    i = int(x)
    return s[i] if i + 1 >= len(s) else s[i] + (x - i) * (s[i + 1] - s[i])


def write(p, args, rows, depth, sweep_rows, runs, log, elapsed, report_name):
    """The markdown. `p` is the pipeline (scripts/real-history.py: the grid and the claims),
    `rows` the price file, `depth` its depth figures, `runs` each run's folder by name, `log`
    the commands with their wall times."""
    styles = [s for s, _, _ in p.STYLES]
    label = {s: name for s, name, _ in p.STYLES}
    desc = {name: d for _, name, d in p.STYLES}
    sw = Sweep(sweep_rows, styles)
    vols = [v for v, _ in p.DEPTHS]
    vlabel = dict(p.DEPTHS)
    gases = [g for g, _, _ in p.GAS]
    glabel = {g: lab for g, lab, _ in p.GAS}
    gusd = {g: x for g, _, x in p.GAS}
    median_vol, n_days, sd_daily, n_rets = depth
    base = "12762.0"
    deep = "408384.0"
    L2, MAIN = gases
    market, twap, passive, auction = styles
    patient = [twap, passive, auction]
    n = sw.n

    # Per-window data of the runs.
    R = {name: Run(folder) for name, folder in runs.items()}
    ref = R["x1-passive-L2"]
    starts = [t for t, _ in ref.windows]
    # The cohort's collateral, units: cost_pct_year = 100 cost_usd / (units x start price) / years.
    units = statistics.median(
        100 * c / (pct * s * p.YEARS)
        for c, pct, (_, s) in zip(ref.col("cdp", "cost_usd"), ref.col("cdp", "cost_pct_year"), ref.windows)
        if pct > 0)
    deposit = [units * s for _, s in ref.windows]
    # The file's own low and close in each window (the exogenous path, without any world's sales).
    index = {t: i for i, (t, *_rest) in enumerate(rows)}
    steps = int(p.HORIZON_DAYS * 24)
    file_low = []
    for t, s in ref.windows:
        i = index[t]
        file_low.append(min(r[2] for r in rows[i + 1:i + steps + 1]))

    out = []
    w = out.append
    cdp = lambda g, v, m="cost_pct_year": sw.get(g, v, market, "cdp", m)  # noqa: E731
    pn = lambda g, v, s, m="cost_pct_year": sw.get(g, v, s, "pn", m)  # noqa: E731
    diff = lambda g, v, s, m="cost_pct_year": sw.get(g, v, s, "diff", m)  # noqa: E731

    w("# Real history: CDP liquidations against P/N rolls over every 30-day window of 2018-2024")
    w("")
    w("The P/N proposal claims that rolling options instead of liquidating debt costs the borrower "
      f"about {p.CLAIM_COST:g}% a year of the deposit, and that the P holder's claim drifts by "
      f"{p.CLAIM_DRIFT[0]:g}-{p.CLAIM_DRIFT[1]:g}% a year. This write-up replays the hourly ETH/USD "
      "history bundled with the project through both primitives, the same borrowers in each, and "
      "measures both in those units: the cost in % a year of the deposit (`cost_pct_year`: what "
      "borrowers, lenders and the protocol lose together to liquidators, roll counterparties, "
      "auction takers, the market and validators; docs/MODEL.md, The ledger), and the P holder's "
      "value drift (`p_drift` x 100, the realised annualised volatility of the cohort's P value "
      "marked daily).")
    w("")
    first, last = starts[0], starts[-1]
    w(f"**Setup.** Every 30-day window of {p.DATA} (Gemini's hourly candles) that starts 24 h after "
      f"the one before: {len(starts):,} windows, from {day(first)} to the last that starts "
      f"{day(last)}, one path each, 720 hourly steps (the 64 candidates that span one of the file's "
      "three missing hours are skipped). On every window: a cohort of 2,000 Aave v3.3 borrowers "
      f"({units:,.0f} ETH of WETH collateral in all, median 20 ETH a borrower, health factors "
      "1.05 to 2.5, LT 83%, bonus 5%, 3% borrow rate) behind the preset's own oracle (Chainlink "
      "ETH/USD: a new price on a 0.5% move or after 1 h), against the same borrowers holding P/N "
      "splits that roll to K' = x/2 when x/K falls under 1.25 (0.3% fee of the rolled value), "
      "priced at the realised volatility of the 30 days before the window (what a trader knew then), "
      "their P value marked every 24 h. Each window lends to the cohort at its own start price "
      "(collateral and health factors kept, debts scaled). Forced sales and the hedges of rolls "
      f"trade against the square-root law, I = sigma_daily sqrt(q / V) with the file's own figures: "
      f"V = {median_vol:,.0f} ETH, the median daily volume over its {n_days:,} whole UTC days, and "
      f"sigma_daily = {sd_daily:.4f}, the standard deviation of its {n_rets:,} daily log returns; "
      "impact decays with a 6-hour half-life. The volume is Gemini's alone, one venue's, so the "
      "same grid runs at a quarter, 4 and 32 times it. Gas is paid by every liquidation, every "
      "holder's roll and every auction take: an L2's 0.05 USD or mainnet's 50 USD. The rolls' "
      "hedges are traded four ways (docs/MODEL.md, Execution):")
    w("")
    for s in styles:
        w(f"- {desc[label[s]]};")
    w("")
    w("Intervals are 95% intervals of the mean over the windows, from batch means over blocks of 60 "
      "consecutive windows (neighbouring windows share most of their hours: docs/MODEL.md), as "
      "summary.csv and sweep.csv give them.")
    w("")
    w("**Commands.** `scripts/real-history.py` (also run by scripts/make-results.sh) runs, from the "
      "repository's root:")
    w("")
    w("```")
    sweep_cmd = [c for c, _ in log if " sweep " in c][0]
    n_runs = sum(1 for c, _ in log if " run " in c)
    report_cmd = [c for c, _ in log if " report " in c][0]
    w(sweep_cmd.replace(args.bin, "headroom"))
    w(f"headroom run {args.results}/runs/NAME.toml --out {args.results}/runs/NAME   # {n_runs} runs")
    w(report_cmd.replace(args.bin, "headroom"))
    w("```")
    w("")
    t_sweep = sum(t for c, t in log if " sweep " in c)
    t_runs = sum(t for c, t in log if " run " in c)
    w(f"The sweep ({len(vols) * len(gases) * len(styles)} points of {len(starts):,} windows, both "
      f"worlds) took {t_sweep:.0f} s, the {n_runs} runs (each style and gas at the file's depth and "
      f"at 32 times it, whose windows are shown one by one below; each run's experiment is the "
      f"sweep's with the point's values) {t_runs:.0f} s, the whole generation {elapsed:.0f} s on the "
      f"shared 2-core machine. The runs' reports, with every table of summary.csv, are in "
      f"[{report_name}]({report_name}).")
    w("")

    # ---- Findings ----
    w("## What it shows")
    w("")
    # 1. P/N patient styles against 2%.
    pts = [(g, v, s) for g in gases for v in vols if v != vols[0] for s in patient]
    l2 = [pn(L2, v, s) for v in vols[1:] for s in patient]
    lo_m, hi_m = min(x[0] for x in l2), max(x[0] for x in l2)
    hi_ci = max(x[2] for x in l2)
    fee_share = pn(L2, deep, passive, "fees_usd")[0] / pn(L2, deep, passive, "cost_usd")[0]
    below = hi_ci < p.CLAIM_COST
    w(f"- **P/N rolled patiently costs {lo_m:.2f}-{hi_m:.2f}% a year at an L2's gas**, with TWAP, "
      f"passive or auction execution at every depth from the file's own up (the highest upper end "
      f"of their intervals is {hi_ci:.2f}%): "
      + ("**well under the proposal's 2% a year**" if below else "not clearly under the proposal's 2% a year")
      + f". Most of it is the 0.3% roll fee ({100 * fee_share:.1f}% of the passive style's cost at "
      f"32 times the depth): the patient styles pay almost no slippage (a passive fill pays none, "
      f"only the few asks still open after 24 h are sold at market; an auction's taker pays its "
      f"own and is paid by the discount). At a quarter of the depth TWAP costs "
      f"{ci(*pn(L2, vols[0], twap))} and the passive and auction styles "
      f"{pn(L2, vols[0], passive)[0]:.2f} and {pn(L2, vols[0], auction)[0]:.2f}.")
    main_patient = [pn(MAIN, v, s) for v in vols[1:] for s in patient]
    add = [pn(MAIN, v, s)[0] - pn(L2, v, s)[0] for v in vols[1:] for s in patient]
    rolls = pn(L2, base, passive, "exits")[0] / 2000 / p.YEARS
    gas_year = rolls * gusd[MAIN]
    over = max(x[2] for x in main_patient) >= p.CLAIM_COST
    w(f"- **Mainnet gas adds {min(add):.2f}-{max(add):.2f}% a year** to the patient styles "
      f"({min(x[0] for x in main_patient):.2f}-{max(x[0] for x in main_patient):.2f}% in all; the "
      f"highest upper end {max(x[2] for x in main_patient):.2f}%"
      + (", reaching 2%" if over else ", still under 2%") + "). A holder rolls "
      f"{rolls:.2f} times a year here, so 50 USD a transaction costs it about {gas_year:,.0f} USD a "
      f"year whatever its size: more than 2% a year of any deposit under "
      f"{gas_year / 0.02:,.0f} USD. On mainnet gas decides for small holders; on an L2 it never "
      f"does ({rolls * gusd[L2]:.2f} USD a year).")
    # 2. Market execution.
    mk = {v: pn(L2, v, market) for v in vols}
    run_mk = R["x1-market-L2"]
    mins = run_mk.col("pn", "min_price")
    crashed = sum(1 for m, (_, s) in zip(mins, run_mk.windows) if m < 0.01 * s)
    w(f"- **Selling each round's shed at once is the exception: it can spiral.** At a quarter of the "
      f"file's depth market execution costs {ci(*mk[vols[0]], d=0)}% a year; at the file's depth "
      f"{ci(*mk[base])}, because in {crashed} of the {len(starts):,} windows the rolls' own sales "
      f"push the price down far enough to trigger more rolls, whose sales push it further, until "
      f"the price collapses to under 1% of the window's start (the P/N world's price, not the "
      f"file's; a sale stops at 1e-12 of the start, docs/MODEL.md, Liquidity). At 4 and 32 times the depth it costs {mk[vols[2]][0]:.2f} and "
      f"{mk[deep][0]:.2f}, as the patient styles do. The proposal's warning that instant selling "
      f"loses money is borne out, and more: with a cohort this size against one venue, it is not "
      f"a cost but a collapse.")
    # 3. CDP against depth.
    cd = {v: cdp(L2, v) for v in vols}
    hit = ref.col("cdp", "positions_hit")
    full = [i for i, h in enumerate(hit) if h == 2000]
    full_cost = statistics.median(ref.col("cdp", "cost_pct_year")[i] for i in full) if full else 0.0
    cdp_vs = ("above" if cd[deep][1] > p.CLAIM_COST else "below" if cd[deep][2] < p.CLAIM_COST
              else "not distinguishable from")
    w(f"- **The CDP's cost is a matter of depth.** At an L2's gas it costs {ci(*cd[vols[0]])}% a "
      f"year at a quarter of the file's depth, {ci(*cd[base])} at the file's, {ci(*cd[vols[2]])} at "
      f"4 times it and {ci(*cd[deep])} at 32 times it ({cdp_vs} 2% a year). The cohort's "
      f"{units:,.0f} ETH of collateral is {units / median_vol:.1f} days of the venue's median "
      f"volume: at that depth a 5% dip liquidates the lowest health factors, their sales move the "
      f"price through the next ones, and in {len(full):,} of the {len(starts):,} windows "
      f"({100 * len(full) / len(starts):.0f}%) every borrower is liquidated (a median "
      f"{full_cost:.1f}% a year: the 5% bonus and the sales' slippage on everything); in the "
      f"other {len(starts) - len(full):,} none is. Each block of a cascade is priced by the square-root "
      f"law afresh from the price the previous one left, so a cascade of many blocks moves the price "
      f"more than one sale of their total would: at thin depth the CDP figures are pessimistic.")
    # 4. The difference.
    sig_more = [(g, v, s) for g in gases for v in vols for s in styles if diff(g, v, s)[1] > 0]
    sig_less = [(g, v, s) for g in gases for v in vols for s in styles if diff(g, v, s)[2] < 0]
    total = len(gases) * len(vols) * len(styles)
    dpas = diff(L2, deep, passive)
    line = (f"- **Paired window by window, the CDP costs more than the P/N split at {len(sig_more)} "
            f"of the {total} points** (the interval of the difference above 0), by "
            f"{ci(*dpas)}% a year against passive rolls at 32 times the depth and an L2's gas")
    if sig_less:
        names = "; ".join(f"{label[s]} at {vlabel[v]} depth, {glabel[g]} gas" for g, v, s in sig_less)
        line += f"; the P/N split costs more at {len(sig_less)} ({names}): market execution spiralling"
    w(line + ".")
    # 5. Gas for the CDP.
    cm = {v: (cdp(L2, v), cdp(MAIN, v)) for v in vols}
    ex = {v: (cdp(L2, v, "exits")[0], cdp(MAIN, v, "exits")[0]) for v in vols}
    sf = {v: (cdp(L2, v, "shortfall_usd")[0], cdp(MAIN, v, "shortfall_usd")[0]) for v in vols}
    full_main = sum(1 for h in R["x1-passive-mainnet"].col("cdp", "positions_hit") if h == 2000)
    w(f"- **Mainnet gas lowers the CDP's measured cost a little** ({cm[base][0][0]:.2f} to "
      f"{cm[base][1][0]:.2f}% a year at the file's depth, {cm[deep][0][0]:.2f} to "
      f"{cm[deep][1][0]:.2f} at 32 times it): Aave's liquidators weigh gas against the bonus and "
      f"leave the smallest positions alone ({ex[base][0]:,.0f} liquidations a window on average "
      f"on an L2, {ex[base][1]:,.0f} on mainnet at the file's depth; {full_main:,} windows "
      f"liquidate every borrower, against {len(full):,} on an L2). What they leave is the "
      f"lender's: the debt left unpaid averages {sf[deep][1]:,.0f} USD a window on mainnet "
      f"against {sf[deep][0]:,.0f} on an L2 at 32 times the depth.")
    # 6. Worst windows.
    deep_run = R["x32-passive-L2"]
    top_c = episodes(starts, deep_run.col("cdp", "cost_pct_year"), 6)
    top_p = episodes(starts, deep_run.col("pn", "cost_pct_year"), 6)
    named = lambda idx: [events_in(starts[i]) for i in idx if events_in(starts[i])]  # noqa: E731
    w(f"- **The worst windows are the crashes.** At 32 times the depth the CDP's six costliest "
      f"episodes are the windows starting "
      + ", ".join(f"{day(starts[i])} ({deep_run.col('cdp', 'cost_pct_year')[i]:.1f}%)" for i in top_c)
      + "; the P/N split's (passive) "
      + ", ".join(f"{day(starts[i])} ({deep_run.col('pn', 'cost_pct_year')[i]:.2f}%)" for i in top_p)
      + f". They hold {'; '.join(sorted(set(named(top_c) + named(top_p))))}. "
      + ftx_sentence(starts, deep_run, ref.windows, file_low)
      + " At the file's own depth the CDP's ranking says little: most windows cost the whole "
      "cohort's liquidation.")
    # 7. Drift.
    dr = {(v, s): tuple(100 * x for x in pn(L2, v, s, "p_drift")) for v in vols for s in styles}
    a, b = p.CLAIM_DRIFT
    pd = dr[(deep, passive)]
    where = ("inside" if pd[1] >= a and pd[2] <= b else "below" if pd[2] < a else "above" if pd[1] > b
             else f"across the {a:g}% end of" if pd[1] < a else f"across the {b:g}% end of")
    w(f"- **The P holder's value drifts by {ci(*pd)}% a year** (passive rolls, 32 times the depth; "
      f"{min(dr[(v, s)][0] for v in vols[2:] for s in styles):.2f}-"
      f"{max(dr[(v, s)][0] for v in vols[2:] for s in styles):.2f} for every style at 4 and 32 times "
      f"it), {where} the proposal's {a:g}-{b:g}% a year. Where market execution spirals the P value "
      f"collapses with the price: {dr[(base, market)][0]:,.0f}% a year at the file's depth.")
    # 8. Lender results.
    w("- **The P holder's result is centred near zero with wide tails; the CDP lender earns the "
      "interest and rarely loses.** Per window, in % of the deposit:")
    w("")
    w("| side | execution, depth | mean | 1% | 5% | median | 95% | 99% | windows with a loss |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, side, what in [("x32-passive-L2", "cdp", "CDP lender (`lender_pnl_usd`)"),
                             ("x1-passive-L2", "cdp", "CDP lender"),
                             ("x32-passive-L2", "pn", "P holder"),
                             ("x32-market-L2", "pn", "P holder"),
                             ("x1-passive-L2", "pn", "P holder"),
                             ("x1-market-L2", "pn", "P holder")]:
        run = R[name]
        v = [100 * x / d for x, d in zip(run.col(side, "lender_pnl_usd"), deposit)]
        dep, sty = name.split("-")[0], name.split("-")[1]
        how = f"{dep} depth" if side == "cdp" else f"{sty}, {dep} depth"
        qs = " | ".join(f"{quantile(v, q):.2f}" for q in (0.01, 0.05, 0.5, 0.95, 0.99))
        loss = sum(1 for x in v if x < 0)
        w(f"| {what} | {how} | {statistics.fmean(v):.2f} | {qs} | {100 * loss / len(v):.0f}% |")
    w("")
    loss_deep = share_loss(R["x32-passive-L2"], "cdp", deposit)
    loss_base = share_loss(R["x1-passive-L2"], "cdp", deposit)
    w("  The P holder is paid the put premium and bears the P value's moves (its exposure to the "
      "price below the strikes, unfilled hedge inventory): it gains when ETH rises and loses when "
      "it falls, about as often. The CDP lender's claim is its debt with interest: it loses only "
      f"where the price falls through positions faster than they are liquidated ({loss_deep:.0f}% of "
      f"the windows at 32 times the depth, {loss_base:.0f}% at the file's, where the cascades "
      "liquidate everyone early, before any position is under water, and the lender is repaid but "
      "stops earning interest).")
    w("")

    # ---- Tables ----
    w("## Cost, % a year of the deposit")
    w("")
    w(f"Mean over the {n:,} windows and its 95% interval (batch means), from sweep.csv. Depth "
      f"multiplies the file's median daily volume, {median_vol:,.0f} ETH.")
    w("")
    w("| depth (daily volume, ETH) | gas | CDP | P/N market | P/N TWAP | P/N passive | P/N auction |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for v in vols:
        for g in gases:
            cells = [ci(*cdp(g, v))] + [ci(*pn(g, v, s)) for s in styles]
            w(f"| {vlabel[v]} ({float(v):,.0f}) | {glabel[g]} ({gusd[g]:g} USD) | " + " | ".join(cells) + " |")
    w("")
    w("### CDP minus P/N, paired window by window, % a year")
    w("")
    w("| depth | gas | against market | TWAP | passive | auction |")
    w("| --- | --- | ---: | ---: | ---: | ---: |")
    for v in vols:
        for g in gases:
            w(f"| {vlabel[v]} | {glabel[g]} | " + " | ".join(ci(*diff(g, v, s)) for s in styles) + " |")
    w("")
    w("### The P holder's value drift, % a year (`p_drift` x 100), L2 gas")
    w("")
    w(f"Beside the proposal's {a:g}-{b:g}% a year.")
    w("")
    w("| depth | market | TWAP | passive | auction |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for v in vols:
        cells = []
        for s in styles:
            m, lo, hi = dr[(v, s)]
            cells.append(ci(m, lo, hi) if m < 100 else f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]")
        w(f"| {vlabel[v]} | " + " | ".join(cells) + " |")
    w("")

    # ---- Calendar ----
    w("## Along the calendar")
    w("")
    w("Each window's cost in % a year of the deposit at its start date (log scale; windows without "
      "cost are left blank), under ETH's price then, from `headroom report` of the runs "
      f"([{report_name}]({report_name})). Passive rolls, L2 gas; first at 32 times the file's "
      "depth, then at the file's own, then market rolls at the file's depth.")
    w("")
    files = os.path.splitext(report_name)[0] + "_files"
    for k, name in [(4, "x32-passive-L2"), (2, "x1-passive-L2"), (1, "x1-market-L2")]:
        slug = f"real-history-{name}".lower()
        w(f"![{name}]({files}/{k}-{slug}-calendar.svg)")
        w("")

    # ---- Episodes ----
    w("## The costliest episodes")
    w("")
    w("The costliest windows of each primitive, one per episode (no two starting within 30 days), "
      "at 32 times the file's depth and an L2's gas (P/N: passive rolls). The low is the file's "
      "own (the candles' lowest low in the window), not moved by either world's sales.")
    w("")
    w("| primitive | window start | ETH at start | file's low in the window | cost, % a year | holds |")
    w("| --- | --- | ---: | ---: | ---: | --- |")
    for prim, top in [("CDP", top_c), ("P/N", top_p)]:
        cost = deep_run.col(prim.lower().replace("/", ""), "cost_pct_year")
        for i in top:
            s = ref.windows[i][1]
            w(f"| {prim} | {day(starts[i])} | {s:,.2f} | {file_low[i]:,.2f} ({100 * (file_low[i] / s - 1):.0f}%) "
              f"| {cost[i]:.2f} | {events_in(starts[i])} |")
    w("")

    # ---- Left out ----
    w("## What the model leaves out")
    w("")
    yearly = yearly_volume(rows)
    w(f"- **Depth.** One venue's volume stands for the market, and one figure for six years (the "
      f"file's median daily volume by year runs from {min(yearly.values()):,.0f} to "
      f"{max(yearly.values()):,.0f} ETH: " + ", ".join(f"{y} {v:,.0f}" for y, v in sorted(yearly.items()))
      + "). Liquidators and hedgers sell on many venues and DEXs at once. The square-root law "
      "prices every block of a cascade as a fresh order from the price the last one left, with a "
      "6-hour resilience; a real market's impact of a long sequence of sales is nearer that of "
      "one order of their total. Both make thin-depth figures, the CDP's cascades and market-style "
      "rolls' spirals, pessimistic; the sweep over depth shows how much the answer rests on it.")
    w("- **The same borrowers every month, and no reaction.** The cohort is redrawn at each window's "
      "price with the same health factors; nobody tops up, repays, opens or closes a position in "
      "a window, and the borrow rate is a fixed 3%. Real Aave borrowers see a crash coming and add "
      "collateral; real health factors are not spread evenly between 1.05 and 2.5, as the cohort's "
      "are.")
    w("- **Hourly closes.** The CDP and the oracle see each hour's close; what happens inside the "
      "hour reaches only passive fills, through the candle's high and low. A passive ask fills "
      "whole at its price when the high reaches it: no queue, no adverse selection (the price is "
      "history, not informed flow), so passive figures are a lower bound.")
    w("- **Fixed gas.** 50 USD a transaction on mainnet, however congested; gas spiked in the very "
      "crashes that cost most. No front-running (`frontrun_share` 0).")
    w("- **Pricing and counterparties.** P and N are priced by Black-Scholes at the month-before "
      "volatility; roll counterparties hedge by selling what a roll sheds and never run out of "
      "capital; an auction's taker appears as soon as the discount covers its slippage and gas.")
    span = (starts[-1] - starts[0]).days + p.HORIZON_DAYS
    w(f"- **Overlapping windows.** {len(starts):,} windows one day apart cover {span:,} days, about "
      f"{span // p.HORIZON_DAYS} disjoint 30-day stretches: the intervals (batch means) account for "
      "the overlap, not for the histories the file does not hold.")
    w("")
    return "\n".join(out)


def share_loss(run, side, deposit):
    v = [x / d for x, d in zip(run.col(side, "lender_pnl_usd"), deposit)]
    return 100 * sum(1 for x in v if x < 0) / len(v)


def ftx_sentence(starts, run, windows, file_low):
    """Where November 2022 (FTX) ranks, for both worlds."""
    t = datetime(2022, 11, 8, tzinfo=timezone.utc)
    idx = [i for i, s in enumerate(starts) if s <= t < s + timedelta(days=30)]
    fall = max(1 - file_low[i] / windows[i][1] for i in idx)
    parts = []
    for prim, name in [("cdp", "the CDP"), ("pn", "the P/N split")]:
        cost = run.col(prim, "cost_pct_year")
        i = max(idx, key=lambda j: cost[j])
        rank = 1 + sum(1 for c in cost if c > cost[i])
        parts.append(f"{cost[i]:.2f}% a year for {name} (window {day(starts[i])}, rank {rank:,} of {len(cost):,})")
    return ("November 2022 (FTX) shows, further down: its costliest window costs " + " and ".join(parts)
            + f": ETH fell at most {100 * fall:.0f}% within a window then, less than in the crashes above.")


def yearly_volume(rows):
    """The median daily volume of each year's whole UTC days."""
    vol, count = {}, {}
    for t, _, _, _, v in rows:
        d = t.date()
        vol[d] = vol.get(d, 0.0) + v
        count[d] = count.get(d, 0) + 1
    years = {}
    for d, v in vol.items():
        if count[d] == 24:
            years.setdefault(d.year, []).append(v)
    return {y: statistics.median(v) for y, v in years.items()}
