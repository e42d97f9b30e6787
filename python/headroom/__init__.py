"""Headroom for notebooks: the engine of the ``headroom`` command line, with results as polars
DataFrames.

Headroom runs the same Monte Carlo price paths through two ways of borrowing against ETH (CDP
liquidations and P/N option splits) on the same cohort and market, and measures what each one
costs. This package calls the same Rust engine as the command line (no second implementation):

- :func:`run` runs an experiment: ``.summary`` and ``.paths`` are the DataFrames of summary.csv
  and paths.csv, ``.manifest`` the dict of manifest.json, the same numbers for the same
  experiment and seed;
- :func:`sweep` runs the grid of the experiment's ``[sweep]`` table (sweep.csv);
- :func:`validate` checks an experiment and returns it with every default filled in;
- :func:`position` and :func:`price` are ``headroom position --json`` and ``headroom price
  --json``.

An experiment is a path to a TOML file or a dict of the TOML's tables. Bad input raises
:class:`ExperimentError` (a ``ValueError``) with the command line's message. Runs release the GIL
and stop on Ctrl-C (the notebook's interrupt button) with ``KeyboardInterrupt``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import polars as pl

from . import _headroom
from ._headroom import ExperimentError, __version__

__all__ = [
    "ExperimentError",
    "Experiment",
    "Result",
    "__version__",
    "position",
    "price",
    "run",
    "sweep",
    "validate",
]

#: A path to an experiment file (TOML), or a dict of its tables (the keys of docs/EXPERIMENTS.md;
#: a None value leaves its key out).
Experiment = Union[str, "os.PathLike[str]", Mapping[str, Any]]


@dataclass(frozen=True)
class Result:
    """The result of :func:`run`: the three files of ``headroom run``, in memory."""

    summary: pl.DataFrame
    """summary.csv: one row per (primitive, metric), columns ``primitive, metric, n, mean, std,
    se, ci95_low, ci95_high, p01, p05, p50, p95, p99, es95``; ``diff`` rows hold CDP minus P/N per
    path when both worlds ran."""

    paths: pl.DataFrame
    """paths.csv: one row per path and world (``cdp`` before ``pn``), columns ``path, primitive``
    then every metric; a column that does not apply to a world is null (blank in the file)."""

    manifest: dict
    """manifest.json: the resolved experiment and its hash, seed, paths, worlds, version, git
    commit, generator, threads and wall time."""

    out: Optional[Path] = None
    """The result folder written (``out=``), or None."""

    def metric(self, metric: str, primitive: str = "diff") -> dict:
        """The summary row of ``metric`` for ``primitive`` (``"cdp"``, ``"pn"`` or ``"diff"``) as a
        dict of the summary's columns; KeyError if the summary has no such row."""
        rows = self.summary.filter(
            (pl.col("primitive") == primitive) & (pl.col("metric") == metric)
        ).to_dicts()
        if not rows:
            raise KeyError(f"no summary row for primitive {primitive!r}, metric {metric!r}")
        return rows[0]


def _frame(columns: list) -> pl.DataFrame:
    """A DataFrame from the engine's column arrays (raw little-endian bytes, viewed by numpy)."""
    series = []
    for name, kind, data, extra in columns:
        if kind == "i64":
            s = pl.Series(name, np.frombuffer(data, dtype="<i8"))
        elif kind == "f64":
            s = pl.Series(name, np.frombuffer(data, dtype="<f8"), dtype=pl.Float64)
            if extra is not None:
                blank = np.flatnonzero(np.frombuffer(extra, dtype=np.uint8) == 0)
                if blank.size:
                    s = s.scatter(blank, None)
        elif kind == "bool":
            s = pl.Series(name, np.frombuffer(data, dtype=np.uint8).astype(bool))
        elif kind == "label":
            codes = np.frombuffer(data, dtype="<u4")
            s = pl.Series(name, extra, dtype=pl.String).gather(codes)
        else:  # pragma: no cover - the engine writes only the kinds above
            raise RuntimeError(f"column {name!r}: unknown kind {kind!r}")
        series.append(s)
    return pl.DataFrame(series)


def _strip_none(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_none(x) for x in v]
    return v


def run(
    experiment: Experiment,
    *,
    paths: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    out: Union[str, "os.PathLike[str]", None] = None,
) -> Result:
    """Run an experiment, as ``headroom run`` does, and return its summary, paths and manifest.

    The numbers are the command line's for the same experiment and seed, bit for bit, at any
    thread count. The GIL is released while the engine runs; Ctrl-C (or the notebook's interrupt
    button) stops the run between chunks of 64 paths and raises ``KeyboardInterrupt``, writing
    nothing.

    Args:
        experiment: a path to an experiment file (TOML) or a dict of its tables, e.g.
            ``{"name": "x", "horizon_days": 30, "steps": 720, "market": {...}, "cohort": {...},
            "cdp": {...}}``; relative file names inside a dict are relative to the working
            directory.
        paths: number of paths (overrides the experiment's ``paths``), like ``--paths``.
        seed: master seed (overrides the experiment's ``seed``), like ``--seed``.
        threads: worker threads (default one per core), like ``--threads``; the numbers do not
            depend on it.
        out: also write the result folder of ``headroom run --out`` there (paths.csv,
            summary.csv, manifest.json), by the same rules: written into a staging folder and
            renamed into place, never half-written.

    Returns:
        A :class:`Result` with ``.summary`` and ``.paths`` (polars DataFrames) and ``.manifest``
        (a dict).

    Raises:
        ExperimentError: bad input (the file, key or line and what is allowed).
        OSError: the output folder cannot be written.
        KeyboardInterrupt: the run was interrupted.
    """
    summary, rows, manifest = _headroom.run(
        experiment, paths=paths, seed=seed, threads=threads, out=out
    )
    return Result(
        summary=_frame(summary),
        paths=_frame(rows),
        manifest=json.loads(manifest),
        out=Path(out) if out is not None else None,
    )


def sweep(
    experiment: Experiment,
    *,
    paths: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    out: Union[str, "os.PathLike[str]", None] = None,
) -> pl.DataFrame:
    """Run the grid of the experiment's ``[sweep]`` table, every point on the same seed, as
    ``headroom sweep`` does, and return sweep.csv as a DataFrame.

    The columns are the grid's keys (integers, floats, booleans or text, as their values), then
    summary.csv's; one row per point, primitive and metric. Interruptible like :func:`run`.

    Args:
        experiment: a path to an experiment file with a ``[sweep]`` table, or a dict of its tables
            with a ``"sweep"`` dict, e.g. ``{"sweep": {"market.liquidity.depth_eth": [1e5, 1e6]}}``.
        paths: number of paths of every point, like ``--paths``.
        seed: master seed, the same at every point, like ``--seed``.
        threads: worker threads (default one per core), like ``--threads``.
        out: also write the folder of ``headroom sweep --out`` (sweep.csv, manifest.json).

    Raises:
        ExperimentError: bad input, or no ``[sweep]`` table.
        OSError: the output folder cannot be written.
        KeyboardInterrupt: the sweep was interrupted.
    """
    return _frame(
        _headroom.sweep(experiment, paths=paths, seed=seed, threads=threads, out=out)
    )


def validate(experiment: Experiment) -> dict:
    """Check an experiment and return it resolved, as ``headroom validate`` prints it: the
    experiment's tables with every default filled in (the protocol preset's keys, the P/N split's
    maturity and pricing volatility).

    Args:
        experiment: a path to an experiment file (TOML) or a dict of its tables.

    Raises:
        ExperimentError: every problem, each with its key path and what is allowed.
    """
    return _strip_none(json.loads(_headroom.validate(experiment)))


def position(
    *,
    collateral: float,
    debt: float,
    price: float,
    lt: float,
    bonus: float,
    vol: float,
    horizon_days: float,
    drift: float = 0.0,
    oracle_minutes: float = 0.0,
    gap: float = 0.0,
    mc: Optional[int] = None,
    threads: Optional[int] = None,
) -> dict:
    """Where one position's trigger sits, as ``headroom position --json``: a dict with keys
    ``liquidation_price, health_factor, distance_pct, distance_sigmas, p_liq_continuous,
    p_liq_discrete, topup_for_gap, bonus_at_risk_usd`` (and ``p_liq_mc, p_liq_mc_se`` with
    ``mc``).

    Args:
        collateral: collateral, units of the asset (> 0).
        debt: debt, USD (> 0).
        price: price of the asset now, USD (> 0).
        lt: liquidation threshold, within (0, 1].
        bonus: liquidation bonus, a fraction within [0, 1) (0.05 = 5%).
        vol: annualised volatility (> 0; 0.8 = 80%).
        horizon_days: horizon, days (> 0).
        drift: annualised drift of the price, within [-10, 10].
        oracle_minutes: minutes between oracle checks (0 = continuous).
        gap: an instant drop to survive, a fraction within [0, 1), for ``topup_for_gap``.
        mc: also simulate this many paths (>= 2) with the engine of :func:`run`.
        threads: worker threads of the simulation (default one per core).

    Raises:
        ExperimentError: a value out of range, named by its command-line flag
            (``--horizon-days`` for ``horizon_days``).
    """
    return json.loads(
        _headroom.position(
            collateral=collateral,
            debt=debt,
            price=price,
            lt=lt,
            bonus=bonus,
            vol=vol,
            horizon_days=horizon_days,
            drift=drift,
            oracle_minutes=oracle_minutes,
            gap=gap,
            mc=mc,
            threads=threads,
        )
    )


def price(
    *, spot: float, strike: float, vol: float, days: float, rate: float = 0.0
) -> dict:
    """Black-Scholes values and ETH-deltas of one P/N pair, as ``headroom price --json``: a dict
    with keys ``p_usd, n_usd, p_delta, n_delta`` (P + N = spot).

    Args:
        spot: price of the asset, USD (> 0).
        strike: strike K of the pair, USD (> 0).
        vol: pricing volatility, annualised, within [0, 20].
        days: days to maturity (> 0).
        rate: interest rate, annualised, continuously compounded, within [-1, 1].

    Raises:
        ExperimentError: a value out of range, named by its command-line flag.
    """
    return json.loads(
        _headroom.price(spot=spot, strike=strike, vol=vol, days=days, rate=rate)
    )
