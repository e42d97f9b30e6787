"""B1 (100,000 paths) through `headroom.run` against `headroom run`, interleaved whole-process
runs (docs/benchmarks.md). Usage, from the repository root, with release builds of both:

    python python/benches/b1_vs_cli.py [ROUNDS] [--bin target/release/headroom]

Each round runs, in turn: the binary (`headroom run ... --out`), a Python process timing
`headroom.run(b1)` (DataFrames, nothing written) and one timing `headroom.run(b1, out=...)` (the
same files as the binary). It prints each run's wall time and the medians of wall and CPU time (user + system, every
thread; the binary's whole process); the Python figures are
those of the call (the interpreter's start and `import polars` are paid once per notebook), the
whole Python process is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

B1 = "experiments/bench/b1-cascade.toml"

CALL = """
import sys, time, headroom
out = sys.argv[1] if len(sys.argv) > 1 else None
t, c = time.perf_counter(), time.process_time()
r = headroom.run({b1!r}, out=out)
print(time.perf_counter() - t, time.process_time() - c, r.paths.height)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rounds", type=int, nargs="?", default=7)
    ap.add_argument("--bin", default="target/release/headroom")
    a = ap.parse_args()
    env = dict(os.environ, CI="true")
    times: dict[str, list[float]] = {"cli": [], "py": [], "py_out": [], "py_process": []}
    cpu: dict[str, list[float]] = {"cli": [], "py": [], "py_out": []}

    def children_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.rounds):
            t, c = time.perf_counter(), children_cpu()
            subprocess.run([a.bin, "run", B1, "--out", f"{tmp}/cli"], env=env, check=True, capture_output=True)
            times["cli"].append(time.perf_counter() - t)
            cpu["cli"].append(children_cpu() - c)
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", CALL.format(b1=B1)], check=True, capture_output=True, text=True)
            times["py_process"].append(time.perf_counter() - t)
            times["py"].append(float(p.stdout.split()[0]))
            cpu["py"].append(float(p.stdout.split()[1]))
            p = subprocess.run([sys.executable, "-c", CALL.format(b1=B1), f"{tmp}/py"], check=True, capture_output=True, text=True)
            times["py_out"].append(float(p.stdout.split()[0]))
            cpu["py_out"].append(float(p.stdout.split()[1]))
            print(f"round {i}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in times.items()), flush=True)
        same = all(
            open(f"{tmp}/cli/{f}", "rb").read() == open(f"{tmp}/py/{f}", "rb").read() for f in ("paths.csv", "summary.csv")
        )
    print("medians: " + ", ".join(f"{k} {statistics.median(v):.3f} s ({min(v):.3f}-{max(v):.3f})" for k, v in times.items()))
    print("CPU medians: " + ", ".join(f"{k} {statistics.median(v):.3f} s" for k, v in cpu.items()))
    print(f"paths.csv and summary.csv identical: {same}")


if __name__ == "__main__":
    main()
