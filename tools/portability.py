"""Re-run lessons under other math back-ends and compare with their stored outputs, as nbval does.

    python tools/portability.py                         # the full matrix, every training lesson
    python tools/portability.py --configs onednn-off    # one configuration
    python tools/portability.py notebooks/10_autoencoder.ipynb --configs avx2,1-thread

The stored outputs come from the default configuration on one machine (see CONTRIBUTING.md).
Every configuration below must reproduce what nbval compares, because students run the course
on every kind of CPU: other instruction sets change oneDNN's kernels, TensorFlow without
oneDNN uses Eigen's, and the thread count changes how sums are split. Each configuration runs
strict nbval (the project's pytest settings) on the notebooks in a fresh pytest process and
prints one line per configuration; the exit status is 1 when any configuration fails.
``tests/test_portability.py`` runs :data:`QUICK` inside ``make test``.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Code that trains a network: a lesson with any of these is re-run by the portability check.
TRAINS = re.compile(r"\.fit\(|\bfit_classifier\(|\btrain_denoiser\(|\bexperiments\.(trial|Runner)\("
                    r"|\bnumpy_training\.train_(keras|numpy)\(|\bsegmentation\.(compare_losses|train_segmenter)\("
                    r"|\btrust\.(train_members|augmentation_trial)\(|\bvolumes\.(compare_methods|train_method|run_recipe)\(")


@dataclass(frozen=True)
class Config:
    """One way to run the math: environment variables and how many CPUs TensorFlow may use."""

    name: str
    env: dict
    cpus: int | None = None  # None: all of them
    needs: str | None = None  # a /proc/cpuinfo flag the CPU must have for this to differ

    def usable(self):
        """(True, "") when this machine can run the configuration, else (False, why)."""
        if self.cpus is not None:
            if not hasattr(os, "sched_setaffinity"):
                return False, "this system cannot restrict a process to some CPUs"
            if len(os.sched_getaffinity(0)) <= self.cpus:
                return False, f"this process has {self.cpus} CPU(s) or fewer already"
        if self.needs and self.needs not in cpu_flags():
            return False, f"the CPU has no {self.needs}: this back-end is the default here"
        return True, ""


CONFIGS = {
    "onednn-off": Config("onednn-off", {"TF_ENABLE_ONEDNN_OPTS": "0"}),
    "sse41": Config("sse41", {"ONEDNN_MAX_CPU_ISA": "SSE41"}, needs="avx"),
    "avx2": Config("avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, needs="avx512f"),
    "avx512": Config("avx512", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, needs="avx512_vnni"),
    "1-thread": Config("1-thread", {}, cpus=1),
    "2-threads": Config("2-threads", {}, cpus=2),
}
#: The configurations ``make test`` checks (tests/test_portability.py): Eigen instead of oneDNN,
#: and oneDNN limited to AVX2 where the CPU has more, the two that failed on other machines.
QUICK = ("onednn-off", "avx2")


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (an empty set elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:(.*)$", text, flags=re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def training_lessons(folder=ROOT / "notebooks"):
    """The numbered lessons in ``folder`` whose code trains a network, sorted."""
    from medlab.course.notebooks import code_cells, read_notebook  # JSON only: no schema check

    found = []
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")):
        code = "\n".join(source for _, source, _ in code_cells(read_notebook(path)))
        if TRAINS.search(code):
            found.append(path)
    return found


def student_notebook(lesson):
    """The student copy of ``lesson`` (notebooks/exercises/, same name), or None."""
    copy = Path(lesson).parent / "exercises" / Path(lesson).name
    return copy if copy.exists() else None


@functools.lru_cache(maxsize=None)
def quick_jobs(folder=ROOT / "notebooks"):
    """What ``make test`` re-runs: {config name: [notebooks]}, each training lesson under one config.

    A training lesson with exercises is re-run through its student notebook, which holds the
    lesson's stored outputs in every cell but the exercises: the portability check is then also
    the student notebook's nbval run, and the main run skips it (see conftest.py), so no lesson
    is trained more often than before. The lessons take the :data:`QUICK` configurations in
    turn; where the CPU has nothing above AVX2, each gets ``onednn-off``.
    """
    configs = [CONFIGS[name] for name in QUICK if CONFIGS[name].usable()[0]]
    jobs = {}
    for i, lesson in enumerate(training_lessons(folder)):
        config = configs[i % len(configs)]
        jobs.setdefault(config.name, []).append(student_notebook(lesson) or lesson)
    return jobs


def run(config, notebooks, python=sys.executable, timeout=900):
    """Run strict nbval on ``notebooks`` under ``config``; return (passed, seconds, pytest's tail)."""
    env = {**os.environ, **config.env}
    env.pop("PYTEST_ADDOPTS", None)
    cpus = sorted(os.sched_getaffinity(0))[: config.cpus] if config.cpus else None
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *map(str, notebooks)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-40:])
    return done.returncode == 0, time.perf_counter() - started, tail


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson that trains a network")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated, from {', '.join(CONFIGS)} (default: all)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"--configs: unknown {', '.join(unknown)}; expected names from {', '.join(CONFIGS)}")
    notebooks = [p.resolve() for p in args.notebooks] or training_lessons()
    print("notebooks:", ", ".join(p.name for p in notebooks))
    failed = False
    for name in names:
        usable, why = CONFIGS[name].usable()
        if not usable:
            print(f"{name:>11}: skipped ({why})")
            continue
        passed, seconds, tail = run(CONFIGS[name], notebooks)
        print(f"{name:>11}: {'passed' if passed else 'FAILED'} in {seconds:.0f} s")
        if not passed:
            failed = True
            print("    " + tail.replace("\n", "\n    "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
