"""Where the test suite's time goes: run pytest once and print the seconds of each test file.

    python benchmarks/suite.py --numprocesses=2 --dist=loadscope   # as `make test` runs it
    python benchmarks/suite.py                 # the whole suite in one process
    python benchmarks/suite.py tests/test_ops.py notebooks/02_convolution.ipynb
    python benchmarks/suite.py -m "not e2e"     # options it does not know go to pytest

Prints one line per file (setup, call and teardown of its tests added up, from pytest's JUnit
report), the total against the goal of 8 minutes on an idle 2-core machine, and pytest's own
wall time. A measurement, not a test: the suite passes or fails on its own.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 8 * 60


def seconds_per_file(junit_xml):
    """{file: (tests, seconds)} from a pytest JUnit XML report."""
    totals = defaultdict(lambda: [0, 0.0])
    for case in ElementTree.parse(junit_xml).iter("testcase"):
        name = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
        # nbval cells report their notebook's path as the class name
        if ".ipynb" in case.get("classname", ""):
            name = case.get("classname").split(".ipynb")[0].replace(".", "/") + ".ipynb"
        totals[name][0] += 1
        totals[name][1] += float(case.get("time", 0.0))
    return {name: tuple(value) for name, value in totals.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="what to run (default: the configured testpaths)")
    parser.add_argument("--top", type=int, default=40, help="files to list, slowest first")
    args, pytest_options = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "junit_family=xunit1",
                               f"--junitxml={report}", *pytest_options, *args.paths], cwd=ROOT)
        wall = time.perf_counter() - started
        files = seconds_per_file(report) if report.exists() else {}
    print(f"\n{'seconds':>8} {'tests':>6}  file")
    for name, (count, seconds) in sorted(files.items(), key=lambda item: -item[1][1])[: args.top]:
        print(f"{seconds:8.1f} {count:6d}  {name}")
    total = sum(seconds for _, seconds in files.values())
    print(f"{total:8.1f} {sum(c for c, _ in files.values()):6d}  all files (the tests' own time)")
    print(f"pytest wall time {wall:.0f} s ({wall / 60:.1f} min); goal on an idle 2-core machine: "
          f"{GOAL_SECONDS / 60:.0f} min; {'met' if wall <= GOAL_SECONDS else 'NOT met'}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
