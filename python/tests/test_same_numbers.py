"""headroom.run gives the command line's numbers: every cell of paths.csv and summary.csv, bit
for bit, and the same manifest; out= writes the same files."""

from __future__ import annotations

import csv
import json
import math
import struct
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import headroom

#: Keys of manifest.json that differ between two runs of the same experiment.
RUN_KEYS = {"wall_seconds", "git_commit"}


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def assert_frame_is_csv(df: pl.DataFrame, path: Path) -> None:
    """Every cell of `df` is the value the text of the same cell of the CSV file reads back to:
    integers equal, floats bit-equal (NaN for NaN), blank cells null."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert df.columns == header
    assert df.height == len(body)
    for j, name in enumerate(header):
        dtype = df.schema[name]
        for i, v in enumerate(df.get_column(name).to_list()):
            text = body[i][j]
            where = f"{path.name} row {i + 2} column {name}: {text!r} vs {v!r}"
            if text == "":
                assert v is None, where
            elif dtype == pl.Int64:
                assert v == int(text), where
            elif dtype == pl.Float64:
                x = float(text)
                assert v is not None and (bits(v) == bits(x) or (math.isnan(v) and math.isnan(x))), where
            elif dtype == pl.Boolean:
                assert str(v).lower() == text, where
            else:
                assert v == text, where
    # What a polars user reading the file gets is the same frame.
    read = pl.read_csv(path, schema=df.schema)
    assert_frame_equal(read, df, check_exact=True)


@pytest.mark.parametrize("threads", [1, 2])
def test_run_equals_the_command_line(small, cli, threads):
    cli("run", small.name, "--seed", 11, "--threads", 2, "--out", "cli", cwd=small.parent)
    r = headroom.run(small, seed=11, threads=threads)
    out = small.parent / "cli"
    assert_frame_is_csv(r.paths, out / "paths.csv")
    assert_frame_is_csv(r.summary, out / "summary.csv")
    assert r.paths.height == 2 * 130
    assert set(r.summary.get_column("primitive").unique()) == {"cdp", "pn", "diff"}
    want = json.loads((out / "manifest.json").read_text())
    # The CLI was given the file name relative to its folder; the module its full path.
    want["experiment_file"] = str(small)
    want["threads"] = threads
    for k in RUN_KEYS:
        want.pop(k), r.manifest.pop(k)
    assert r.manifest == want


def test_out_writes_the_command_lines_files(small, cli):
    cli("run", small.name, "--paths", 70, "--out", "cli", cwd=small.parent)
    r = headroom.run(small, paths=70, out=small.parent / "py")
    assert r.out == small.parent / "py"
    for name in ["paths.csv", "summary.csv"]:
        assert (small.parent / "py" / name).read_bytes() == (small.parent / "cli" / name).read_bytes(), name
    got = json.loads((small.parent / "py/manifest.json").read_text())
    want = json.loads((small.parent / "cli/manifest.json").read_text())
    assert got["config_hash"] == want["config_hash"] and got["files"] == want["files"]
    assert got["paths"] == 70
    # Nothing but the result folder is left beside it (no staging folder).
    assert sorted(p.name for p in small.parent.iterdir()) == ["cli", "py", "small.toml"]


def test_a_dict_is_the_same_experiment_as_its_file(small):
    table = tomllib.loads(small.read_text())
    a = headroom.run(small, paths=64)
    b = headroom.run(table, paths=64)
    assert_frame_equal(a.paths, b.paths, check_exact=True)
    assert_frame_equal(a.summary, b.summary, check_exact=True)
    assert a.manifest["config_hash"] == b.manifest["config_hash"]
    assert b.manifest["experiment_file"] == "<dict>"


def test_sweep_equals_the_command_line(small, cli):
    cli("sweep", small.name, "--paths", 40, "--out", "cli", cwd=small.parent)
    df = headroom.sweep(small, paths=40, out=small.parent / "py")
    assert df.schema["market.liquidity.depth_eth"] == pl.Float64
    assert df.schema["steps"] == pl.Int64
    assert_frame_is_csv(df, small.parent / "cli" / "sweep.csv")
    got = (small.parent / "py/sweep.csv").read_bytes()
    assert got == (small.parent / "cli/sweep.csv").read_bytes()


def test_validate_equals_the_command_line(small, cli):
    printed = cli("validate", small).stdout
    assert headroom.validate(small) == tomllib.loads(printed)
    assert headroom.validate(tomllib.loads(small.read_text())) == tomllib.loads(printed)


def test_price_and_position_give_the_command_lines_json(cli):
    want = json.loads(cli("price", "--spot", 3000, "--strike", 2400, "--vol", 0.8, "--days", 30, "--rate", 0.02, "--json").stdout)
    assert headroom.price(spot=3000, strike=2400, vol=0.8, days=30, rate=0.02) == want
    assert set(want) == {"p_usd", "n_usd", "p_delta", "n_delta"}
    flags = dict(collateral=10, debt=20000, price=3000, lt=0.83, bonus=0.05, vol=0.8, horizon_days=10,
                 oracle_minutes=60, gap=0.2)
    args = [a for k, v in flags.items() for a in (f"--{k.replace('_', '-')}", v)]
    want = json.loads(cli("position", *args, "--mc", 500, "--json").stdout)
    got = headroom.position(**flags, mc=500, threads=1)
    assert got == want
    assert set(got) == {"liquidation_price", "health_factor", "distance_pct", "distance_sigmas", "p_liq_continuous",
                        "p_liq_discrete", "topup_for_gap", "bonus_at_risk_usd", "p_liq_mc", "p_liq_mc_se"}
    assert "p_liq_mc" not in headroom.position(**flags)


def test_to_pandas_when_pandas_and_pyarrow_are_installed(small):
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    r = headroom.run(small, paths=10)
    pdf = r.paths.to_pandas()
    assert list(pdf.columns) == r.paths.columns and len(pdf) == 20
