"""Collection rules for the whole suite (tests/ and notebooks/).

The student notebooks of lessons that train a network are executed by the portability check
(tests/test_portability.py, under another math back-end) instead of the main nbval run, so that
no lesson is trained twice with the same settings. Named explicitly on the command line
(``pytest notebooks/exercises/08_clinical_evaluation.ipynb``), they are collected as usual.

A notebook in an exercises folder that ``medlab exercises release`` did not write (not listed in
the ``MANIFEST.json`` beside it: a student's copy such as ``02_convolution-Copy1.ipynb``) is a
student's own file, not part of the course, and is not collected unless named.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/portability.py, for this file and tests/test_portability.py
sys.path.insert(0, str(ROOT / "benchmarks"))  # benchmarks/_common.py, for the benchmarks tests/test_benchmarks.py loads

import portability  # noqa: E402


#: Not imported by --doctest-modules: ``python -m medlab`` runs the command line on import.
collect_ignore = ["medlab/__main__.py"]


#: Seconds nbval waits for each output message of a cell once the cell has replied. nbval
#: fixes 5 s (computationalmodelling/nbval#136, #231), which a busy machine can reach;
#: pyproject.toml likewise gives a kernel 300 s to start instead of 60.
NBVAL_OUTPUT_SECONDS = 60


def pytest_configure(config):
    """nbval's kernels get medlab's start retries: two kernels started at once (``-n 2``) can
    take the same port, and one dies before it replies (jupyter/jupyter_client#154); no cell
    has run, so a new kernel is started, up to ``medlab.course.execute.START_RETRIES`` times."""
    try:
        from nbval import kernel
    except ImportError:
        return
    from medlab.course.execute import retrying_dead_starts

    if not getattr(kernel.RunningKernel.__init__, "retries_dead_starts", False):
        kernel.RunningKernel.__init__ = retrying_dead_starts(kernel.RunningKernel.__init__)


def pytest_collection_modifyitems(items):
    from nbval.plugin import IPyNbCell

    for item in items:
        if isinstance(item, IPyNbCell):
            item.output_timeout = NBVAL_OUTPUT_SECONDS


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    if path.suffix != ".ipynb" or path.parent.name != "exercises":
        return None
    named = {Path(a.split("::")[0]).resolve() for a in config.invocation_params.args if not a.startswith("-")}
    if path.resolve() in named:
        return None
    if not _released(path):
        return True
    checked_elsewhere = {p.resolve() for notebooks in portability.quick_jobs().values() for p in notebooks}
    return True if path.resolve() in checked_elsewhere else None


def _released(path):
    """Whether ``medlab exercises release`` wrote ``path`` (listed in the MANIFEST.json beside it)."""
    try:
        manifest = json.loads((path.parent / "MANIFEST.json").read_text(encoding="utf-8"))
        return path.name in manifest["notebooks"]
    except (OSError, ValueError, KeyError, TypeError):
        return True  # no readable manifest: collect as before
