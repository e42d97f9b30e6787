"""Bad input raises ExperimentError (a ValueError) with the command line's message, creates no
output and never touches an earlier result; nothing escapes as a panic."""

from __future__ import annotations

import tomllib

import pytest

import headroom
from conftest import SMALL

# The sweep table is not part of a run's experiment in these cases.
BASE = SMALL.split("[sweep]")[0]


def cli_message(cli, *args, cwd=None) -> str:
    """The command line's error message (exit code 2)."""
    p = cli(*args, cwd=cwd, check=False)
    assert p.returncode == 2, p.stderr
    assert "panicked" not in p.stderr
    text = p.stderr
    assert text.startswith("error: ") and text.endswith("\n"), text
    return text[len("error: "):-1]


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


CASES = {
    "toml syntax": (replace(BASE, "steps = 120", "steps = = 120"), ["line 6", "steps = = 120"]),
    "unknown key": (replace(BASE, "steps = 120", "steps = 120\nstepz = 3"), ["stepz", "expected one of"]),
    "unknown nested key": (replace(BASE, "sigma = 1.2", "sigma = 1.2, sgima = 1"), ["sgima"]),
    "missing field": (replace(BASE, "horizon_days = 5\n", ""), ["horizon_days"]),
    "negative sigma": (replace(BASE, "sigma = 1.2", "sigma = -0.1"), ["market.process.sigma", "-0.1", "must be"]),
    "every problem": (
        replace(replace(BASE, "sigma = 1.2", "sigma = -0.1"), "lt = 0.83", "lt = 1.5"),
        ["market.process.sigma", "cohort.lt = 1.5", "(0, 1]"],
    ),
    "missing world table": (replace(BASE, "[pn]\n", ""), ["missing table [pn]"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_files_raise_the_command_lines_message(tmp_path, cli, case):
    text, needles = CASES[case]
    f = tmp_path / "bad.toml"
    f.write_text(text)
    want = cli_message(cli, "run", f, "--out", tmp_path / "cli")
    for call in (lambda: headroom.run(f, out=tmp_path / "py"), lambda: headroom.validate(f)):
        with pytest.raises(headroom.ExperimentError) as e:
            call()
        assert isinstance(e.value, ValueError)
        assert str(e.value) == want
        assert str(f) in str(e.value)
        for n in needles:
            assert n in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"], "a failed run left files"


def test_a_bad_cohort_csv_names_its_line(tmp_path, cli):
    text = BASE.split("[cohort]")[0] + '[cohort]\nsource = "csv"\nfile = "cohort.csv"\n\n[cdp]\nprotocol = "generic"\n'
    text = replace(text, 'worlds = ["cdp", "pn"]', 'worlds = ["cdp"]')
    (tmp_path / "bad.toml").write_text(text)
    (tmp_path / "cohort.csv").write_text("id,collateral,debt\n0,10,20000\n1,NaN,20000\n")
    want = cli_message(cli, "run", tmp_path / "bad.toml", "--out", tmp_path / "out")
    with pytest.raises(headroom.ExperimentError, match="line 3") as e:
        headroom.run(tmp_path / "bad.toml", out=tmp_path / "out")
    assert str(e.value) == want
    assert str(tmp_path / "cohort.csv") in want and "collateral" in want
    assert not (tmp_path / "out").exists()


def test_a_missing_file_and_bad_arguments(tmp_path, small, cli):
    missing = tmp_path / "nope.toml"
    with pytest.raises(headroom.ExperimentError) as e:
        headroom.run(missing)
    assert str(e.value) == cli_message(cli, "run", missing)
    with pytest.raises(headroom.ExperimentError) as e:
        headroom.run(small, threads=0)
    assert str(e.value) == cli_message(cli, "run", small, "--threads", 0) == "--threads: 0: must be >= 1"
    with pytest.raises(headroom.ExperimentError) as e:
        headroom.run(small, paths=0)
    assert str(e.value) == cli_message(cli, "run", small, "--paths", 0)
    for bad in (-1, 2.5, "10", True):
        with pytest.raises(headroom.ExperimentError, match="--paths"):
            headroom.run(small, paths=bad)
    with pytest.raises(headroom.ExperimentError, match="--seed"):
        headroom.run(small, seed=-3)
    with pytest.raises(headroom.ExperimentError, match="experiment"):
        headroom.run(42)


def test_bad_dicts_name_the_key(small):
    table = tomllib.loads(BASE)
    table["stepz"] = 3
    with pytest.raises(headroom.ExperimentError, match="stepz") as e:
        headroom.run(table)
    assert str(e.value).startswith("<dict>: ")
    table = tomllib.loads(BASE)
    table["market"]["process"]["sigma"] = -0.1
    with pytest.raises(headroom.ExperimentError, match=r"market\.process\.sigma = -0\.1: must be"):
        headroom.run(table)
    table = tomllib.loads(BASE)
    table["market"]["shocks"] = [{"kind": "gap", "size": {1, 2}}]
    with pytest.raises(headroom.ExperimentError, match=r"market\.shocks\[0\]\.size: \{1, 2\}: a set is not a TOML value"):
        headroom.run(table)
    table = tomllib.loads(BASE)
    table["market"][7] = 1
    with pytest.raises(headroom.ExperimentError, match="keys must be strings"):
        headroom.validate(table)
    # A None leaves its key out: here a required one.
    table = tomllib.loads(BASE)
    table["horizon_days"] = None
    with pytest.raises(headroom.ExperimentError, match="horizon_days"):
        headroom.validate(table)


def test_a_failed_run_never_touches_an_earlier_result(small, tmp_path):
    out = tmp_path / "res"
    headroom.run(small, paths=10, out=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.toml"
    bad.write_text(replace(BASE, "sigma = 1.2", "sigma = -1"))
    with pytest.raises(headroom.ExperimentError):
        headroom.run(bad, out=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_sweep_needs_a_grid(tmp_path, cli):
    f = tmp_path / "nogrid.toml"
    f.write_text(BASE)
    with pytest.raises(headroom.ExperimentError) as e:
        headroom.sweep(f)
    assert str(e.value) == cli_message(cli, "sweep", f)


def test_bad_flags_of_position_and_price(cli):
    good = dict(collateral=10, debt=20000, price=3000, lt=0.83, bonus=0.05, vol=0.8, horizon_days=30)
    for key, value in [("debt", 0), ("lt", 1.2), ("vol", -0.1), ("horizon_days", float("nan")), ("gap", 1.0)]:
        flags = {**good, key: value}
        args = [a for k, v in flags.items() for a in (f"--{k.replace('_', '-')}", v)]
        with pytest.raises(headroom.ExperimentError) as e:
            headroom.position(**flags)
        assert str(e.value) == cli_message(cli, "position", *args), key
    with pytest.raises(headroom.ExperimentError, match="--mc: 1: must be >= 2"):
        headroom.position(**good, mc=1)
    with pytest.raises(headroom.ExperimentError, match="--lt: 'high': must be a number"):
        headroom.position(**{**good, "lt": "high"})
    pair = dict(spot=3000, strike=2000, vol=0.8, days=30)
    for key, value in [("spot", 0), ("vol", 21), ("days", -1), ("rate", 2)]:
        flags = {**pair, key: value}
        args = [a for k, v in flags.items() for a in (f"--{k}", v)]
        with pytest.raises(headroom.ExperimentError) as e:
            headroom.price(**flags)
        assert str(e.value) == cli_message(cli, "price", *args), key
