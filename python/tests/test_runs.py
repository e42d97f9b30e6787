"""Runs release the GIL, stop on Ctrl-C with KeyboardInterrupt and write nothing, and give the
same numbers at any thread count."""

from __future__ import annotations

import os
import signal
import threading
import time
import tomllib

import pytest
from polars.testing import assert_frame_equal

import headroom
from conftest import SMALL


def long_experiment(paths: int) -> dict:
    """SMALL with 2,000 steps a path: a chunk of 64 paths takes a fraction of a second, the whole
    run (at 50,000 paths) far longer than the tests wait."""
    t = tomllib.loads(SMALL.split("[sweep]")[0])
    t.update(steps=2000, horizon_days=30, paths=paths)
    return t


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_a_run_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            headroom.run(long_experiment(50_000), threads=2, out=out)
    finally:
        timer.cancel()
    stopped = time.monotonic() - started
    assert stopped < 5.0, f"the run went on {stopped:.1f} s after Ctrl-C"
    assert list(tmp_path.iterdir()) == [], "an interrupted run left files"
    # The module is usable afterwards.
    assert headroom.run(SMALL_DICT, paths=5).paths.height == 10


SMALL_DICT = tomllib.loads(SMALL.split("[sweep]")[0])


def run_beside_a_python_loop(paths: int) -> tuple[float, float]:
    """Runs an experiment of `paths` paths on a thread while this thread loops in Python:
    (the run's wall time, the longest the loop went without running)."""
    done = threading.Event()
    result = {}

    def work():
        try:
            result["r"] = headroom.run(long_experiment(paths), threads=1)
        finally:
            done.set()  # also when the run fails: the loop below must end

    worker = threading.Thread(target=work)
    last = started = time.monotonic()
    worker.start()
    longest_stall = 0.0
    while not done.is_set():
        now = time.monotonic()
        longest_stall = max(longest_stall, now - last)
        last = now
    worker.join()
    assert result["r"].paths.height == 2 * paths
    return time.monotonic() - started, longest_stall


def test_the_gil_is_released_while_a_run_goes_on():
    """The calling thread waits without the GIL: another Python thread keeps running. If the GIL
    were held, the loop would stall for the whole run."""
    paths = 320
    took, stall = run_beside_a_python_loop(paths)
    while took < 0.5 and paths < 100_000:  # a fast build: a longer run, to tell a stall from noise
        paths *= 4
        took, stall = run_beside_a_python_loop(paths)
    assert took >= 0.5, f"the run took {took:.2f} s: too short to tell"
    assert stall < took / 4, f"the main thread stalled {stall:.2f} s of a {took:.2f} s run"


def test_threads_do_not_change_the_numbers():
    one = headroom.run(SMALL_DICT, threads=1)
    two = headroom.run(SMALL_DICT, threads=2)
    default = headroom.run(SMALL_DICT)
    for r in (two, default):
        assert_frame_equal(one.paths, r.paths, check_exact=True)
        assert_frame_equal(one.summary, r.summary, check_exact=True)
    assert one.manifest["threads"] == 1 and two.manifest["threads"] == 2


def test_result_metric_reads_a_summary_row():
    r = headroom.run(SMALL_DICT, paths=40)
    row = r.metric("exits", "cdp")
    assert row["n"] == 40 and row["mean"] == r.paths.filter(primitive="cdp")["exits"].mean()
    with pytest.raises(KeyError):
        r.metric("nope")
