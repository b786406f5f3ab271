"""Wall time of one 6-run sweep: ``--jobs 1``, ``--jobs 2`` and ``--cluster local``, same run.

The sweep is lesson 01 (the cheapest lesson: no TensorFlow) with tiny parameters, three CT
windows times two seeds::

    medlab sweep notebooks/01_medical_images.ipynb --grid window_name=lung,bone,brain seed=0,1 \\
        -p n_images 4 --out TMP/<mode>

Each mode is a fresh ``medlab`` process into a new temporary folder (nothing to resume),
timed from start to exit, so ``--cluster local`` includes starting and stopping its Dask
cluster of 2 worker processes. Besides wall time, the CPU time (user + system) of the
process and everything it started (workers, papermill processes, kernels) is printed: on
shared cores it is the steadier figure of what the engine costs. Modes alternate over
``--repeat`` rounds; the median is printed with the load average before and after::

    python benchmarks/sweep.py               # 1 round
    python benchmarks/sweep.py --repeat 3 --json

Needs the optional extra ``cluster`` (``pip install -e ".[cluster]"``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import child_environment

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "01_medical_images.ipynb"
GRID = ["window_name=lung,bone,brain", "seed=0,1"]
FIXED = ["-p", "n_images", "4"]
MODES = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"],
         "--cluster local (2 workers)": ["--cluster", "local", "--jobs", "2"]}


#: Seconds one mode's sweep may take before the benchmark gives up on it.
SWEEP_SECONDS = 1800


def _cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sweep(label, extra, folder, env):
    """Wall seconds and CPU seconds of one ``medlab sweep`` process (with all it started),
    and the mean seconds of its runs."""
    command = [sys.executable, "-m", "medlab", "sweep", str(LESSON), "--grid", *GRID, *FIXED,
               "--out", str(folder), *extra]
    cpu = _cpu_of_children()
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=SWEEP_SECONDS)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{label}: the sweep took over {SWEEP_SECONDS} s: {command}") from None
    seconds = time.perf_counter() - start
    cpu = _cpu_of_children() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{label}: exit {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    with open(folder / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) != 6 or any(row["status"] != "ok" for row in rows):
        raise RuntimeError(f"{label}: expected 6 runs ok, got {[row['status'] for row in rows]}")
    return seconds, cpu, statistics.mean(float(row["seconds"]) for row in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three modes (default 1)")
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args(argv)
    env = child_environment()
    load_before = os.getloadavg()
    walls = {label: [] for label in MODES}
    cpus = {label: [] for label in MODES}
    per_run = {label: [] for label in MODES}
    with tempfile.TemporaryDirectory(prefix="medlab-sweep-bench-") as tmp:
        for round_ in range(args.repeat):
            for i, (label, extra) in enumerate(MODES.items()):
                wall, cpu, mean = _sweep(label, extra, Path(tmp) / f"r{round_}-m{i}", env)
                walls[label].append(wall)
                cpus[label].append(cpu)
                per_run[label].append(mean)
    load_after = os.getloadavg()
    baseline = statistics.median(walls["--jobs 1"])
    print(f"6-run sweep of {LESSON.name} (n_images 4), {os.cpu_count()} cores, median of "
          f"{args.repeat} round(s); load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    width = max(len(label) for label in MODES)
    print(f"{'mode':<{width}}  {'wall s':>7}  {'vs --jobs 1':>11}  {'CPU s':>6}  {'mean s per run':>14}")
    result = {}
    for label in MODES:
        wall, mean = statistics.median(walls[label]), statistics.median(per_run[label])
        cpu = statistics.median(cpus[label])
        result[label] = {"wall_seconds": wall, "cpu_seconds": cpu, "mean_run_seconds": mean}
        print(f"{label:<{width}}  {wall:7.1f}  {wall / baseline:10.2f}x  {cpu:6.1f}  {mean:14.1f}")
    if args.json:
        print(json.dumps({"modes": result, "repeat": args.repeat,
                          "load_before": load_before, "load_after": load_after}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
