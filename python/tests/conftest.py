"""Shared fixtures: the repository, the command line to compare with, and small experiments."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A small experiment of both worlds (3 chunks of paths at 130 paths; the P/N columns blank in
#: the CDP rows and the CDP's in the P/N rows), with a grid for sweeps.
SMALL = """
name = "small"
seed = 3
paths = 130
horizon_days = 5
steps = 120
worlds = ["cdp", "pn"]

[market]
start_price = 2000.0
process = { model = "gbm", mu = 0.0, sigma = 1.2 }
liquidity = { model = "exponential", depth_eth = 5000.0 }

[cohort]
source = "ladder"
positions = 100
collateral = 3.0
cycle = 3
hf_min = 1.01
hf_max = 1.5
lt = 0.83

[cdp]
protocol = "generic"

[pn]

[sweep]
"market.liquidity.depth_eth" = [2000.0, 20000.0]
steps = [60, 120]
"""


def headroom_bin() -> Path:
    """The `headroom` binary: $HEADROOM_BIN, else target/debug or target/release (the newer),
    else built with cargo."""
    env = os.environ.get("HEADROOM_BIN")
    if env:
        return Path(env)
    found = [p for p in (ROOT / "target/debug/headroom", ROOT / "target/release/headroom") if p.exists()]
    if found:
        return max(found, key=lambda p: p.stat().st_mtime)
    subprocess.run(["cargo", "build", "--bin", "headroom"], cwd=ROOT, check=True)
    return ROOT / "target/debug/headroom"


@pytest.fixture(scope="session")
def cli():
    """Runs the command line: `cli(args..., cwd=...)` returns the CompletedProcess (text)."""
    exe = headroom_bin()
    assert shutil.which(str(exe)) or exe.exists(), f"no headroom binary at {exe}"

    def call(*args, cwd=None, check=True):
        env = dict(os.environ, CI="true")
        p = subprocess.run([str(exe), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"headroom {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
        return p

    return call


@pytest.fixture
def small(tmp_path) -> Path:
    """SMALL written as small.toml in a fresh folder."""
    f = tmp_path / "small.toml"
    f.write_text(SMALL)
    return f
