"""Type stubs of headroom (see __init__.py): signatures and docstrings for editors."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import polars as pl

__version__: str
__all__: list[str]

class ExperimentError(ValueError):
    """Bad input: an experiment (TOML syntax, an unknown key, a missing field, a value out of
    range, a bad CSV row) or an argument out of range. The message is the command line's: it
    names the file (`<dict>` for an experiment given as a dict), the key or line, and what is
    allowed."""

Experiment = Union[str, os.PathLike[str], Mapping[str, Any]]
"""A path to an experiment file (TOML), or a dict of its tables (the keys of docs/EXPERIMENTS.md;
a None value leaves its key out)."""

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
        ...

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
    ...

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
    ...

def validate(experiment: Experiment) -> dict:
    """Check an experiment and return it resolved, as ``headroom validate`` prints it: the
    experiment's tables with every default filled in (the protocol preset's keys, the P/N split's
    maturity and pricing volatility).

    Args:
        experiment: a path to an experiment file (TOML) or a dict of its tables.

    Raises:
        ExperimentError: every problem, each with its key path and what is allowed.
    """
    ...

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
    ...

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
    ...
