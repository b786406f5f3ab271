"""Stress test: the slider lessons run headless under papermill, again and again, never hang.

Runs lessons 02 (kernel slider), 03 (pooling slider) and 07 (learning-rate slider) with
tiny parameters through :func:`medlab.course.runs.run_notebook`, one after another, until
``--runs`` runs are done (default 30: 12 of 02, 12 of 03, 6 of 06, interleaved), with a
per-cell timeout (default 180 s, far above the slowest cell). Before the fix, 2 of about 18
such runs waited forever in the widget cell (jupyter/nbclient#312). A run that hits the
timeout is counted as a hang; any other failure is counted and shown::

    python benchmarks/stress_widgets.py                # 30 runs, about 10 minutes on 2 cores
    python benchmarks/stress_widgets.py --runs 60 --timeout 120

Exit status 0 when every run finished (0 hangs, 0 failures).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from medlab.course import runs
from medlab.course.notebooks import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: lesson -> (runs per cycle, list of tiny parameter sets to cycle through)
LESSONS = {
    "02_convolution": (2, [{"kernel_size": k, "kernel_kind": kind, "stride": s, "seed": seed}
                           for k, kind, s, seed in ((3, "sobel_x", 2, 1), (5, "gaussian", 1, 2),
                                                    (7, "mean", 1, 3), (3, "laplacian", 2, 4))]),
    "03_pooling": (2, [{"pool_size": p, "shift": s, "seed": seed}
                       for p, s, seed in ((2, 1, 1), (3, 2, 2), (4, 1, 3), (2, 2, 4))]),
    "07_training_a_classifier": (1, [{"epochs": 1, "image_size": 16, "model": "seed", "batch_size": 64,
                               "seed": seed} for seed in (1, 2, 3)]),
}


def _plan(total):
    """[(lesson, parameters)] of ``total`` runs: 2 of 02, 2 of 03, 1 of 07, repeated."""
    plan, counters = [], collections.Counter()
    while len(plan) < total:
        for lesson, (per_cycle, settings) in LESSONS.items():
            for _ in range(per_cycle):
                if len(plan) < total:
                    plan.append((lesson, settings[counters[lesson] % len(settings)]))
                    counters[lesson] += 1
    return plan


def _known(lesson, parameters):
    """Only the parameters the lesson has (lesson 07 may gain or lose some)."""
    names = notebook_parameters(NOTEBOOKS / f"{lesson}.ipynb")
    return {k: v for k, v in parameters.items() if k in names}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs in all (default 30)")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds a cell may run before the run counts as a hang (default 180)")
    args = parser.parse_args(argv)
    outcomes = collections.defaultdict(lambda: {"ok": 0, "hang": 0, "failed": 0, "seconds": []})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medlab-stress-") as tmp:
        for number, (lesson, parameters) in enumerate(_plan(args.runs), 1):
            parameters = _known(lesson, parameters)
            output = Path(tmp) / lesson / f"run{number:03d}.ipynb"
            begin = time.perf_counter()
            try:
                runs.run_notebook(NOTEBOOKS / f"{lesson}.ipynb", parameters, output,
                                  timeout=args.timeout)
                status, note = "ok", ""
            except runs.RunFailed as exc:
                status = "hang" if exc.ename == "CellTimeoutError" else "failed"
                note = f"  {exc}"
            seconds = time.perf_counter() - begin
            outcomes[lesson][status] += 1
            outcomes[lesson]["seconds"].append(seconds)
            print(f"[{number:>3}/{args.runs}] {lesson:<18} {status:<6} {seconds:6.1f} s{note}",
                  flush=True)
    print()
    print(f"{'lesson':<18} {'runs':>4} {'ok':>4} {'hangs':>5} {'failed':>6} {'longest':>8}")
    for lesson, result in outcomes.items():
        count = len(result["seconds"])
        print(f"{lesson:<18} {count:>4} {result['ok']:>4} {result['hang']:>5} {result['failed']:>6} "
              f"{max(result['seconds']):7.1f}s")
    total = sum(len(r["seconds"]) for r in outcomes.values())
    hangs = sum(r["hang"] for r in outcomes.values())
    failed = sum(r["failed"] for r in outcomes.values())
    print(f"{total} headless runs in {time.perf_counter() - started:.0f} s: {hangs} hangs, "
          f"{failed} other failures (per-cell timeout {args.timeout:g} s)")
    return 0 if hangs == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
