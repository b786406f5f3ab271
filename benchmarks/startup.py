"""Start-up time of the ``medlab`` command, beside ``python -c "import numpy"``, same run.

Each command is a fresh process, timed from ``fork`` to exit, ``--repeat`` times
alternating with the baseline; the median is printed. For ``run``, ``sweep`` and
``course`` the time is that of the parent process up to the moment it would start its
first papermill child (the child is replaced by a stub that exits at once), i.e. reading
the arguments and the notebook's parameters::

    python benchmarks/startup.py               # 5 repeats
    python benchmarks/startup.py --repeat 9 --json

Goal: every line at most 1 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import child_environment

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 1.0

#: The parent of run/sweep/course, stopped where it would start papermill.
_PARENT = """import sys
from medlab.course import cli, processes

def _stop(*args, **kwargs):
    raise SystemExit(0)  # here the first papermill child would start

processes.execute = _stop
sys.exit(cli.main(sys.argv[1:]))
"""


def _commands(tmp):
    """(label, argv) of each measured command."""
    python = sys.executable
    npz = tmp / "tiny.npz"
    subprocess.run([python, "-m", "medlab", "data", "synth", "--n", "20", "--size", "16",
                    "--out", str(npz)], check=True, capture_output=True)
    lesson = ROOT / "notebooks" / "02_convolution.ipynb"
    return [
        ('python -c "import numpy" (baseline)', [python, "-c", "import numpy"]),
        ("medlab --help", [python, "-m", "medlab", "--help"]),
        ("medlab exercises check", [python, "-m", "medlab", "exercises", "check"]),
        ("medlab data info tiny.npz", [python, "-m", "medlab", "data", "info", str(npz)]),
        ("medlab run (parent)", [python, "-c", _PARENT, "run", str(lesson), "-p", "kernel_size",
                                 "5", "--out", str(tmp / "run")]),
        ("medlab sweep (parent)", [python, "-c", _PARENT, "sweep", str(lesson), "--grid",
                                   "kernel_size=3,5", "--out", str(tmp / "sweep")]),
        ("medlab course (parent)", [python, "-c", _PARENT, "course", "--out", str(tmp / "course")]),
    ]


def _time(argv, env):
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv[:4])}...: exit {done.returncode}: {done.stderr.strip()}")
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args(argv)
    env = child_environment()
    with tempfile.TemporaryDirectory(prefix="medlab-startup-") as tmp:
        commands = _commands(Path(tmp))
        times = {label: [] for label, _ in commands}
        for _ in range(args.repeat):
            for label, command in commands:  # alternating: load changes hit all alike
                times[label].append(_time(command, env))
    medians = {label: statistics.median(values) for label, values in times.items()}
    baseline = medians[commands[0][0]]
    print(f"cores: {os.cpu_count()}, median of {args.repeat} runs each, wall time per process")
    width = max(len(label) for label in medians)
    for label, seconds in medians.items():
        verdict = "" if label == commands[0][0] else (
            "  ok" if seconds <= GOAL_SECONDS else f"  OVER {GOAL_SECONDS:g} s")
        print(f"{label:<{width}}  {seconds:6.3f} s  ({seconds / baseline:4.1f}x numpy){verdict}")
    if args.json:
        print(json.dumps({"median_seconds": medians, "repeat": args.repeat}))
    return 0 if all(s <= GOAL_SECONDS for s in medians.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
