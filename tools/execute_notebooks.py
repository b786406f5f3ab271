"""Execute notebooks in place so their stored outputs are what nbval compares.

    python tools/execute_notebooks.py                  # every notebook in notebooks/
    python tools/execute_notebooks.py notebooks/02_convolution.ipynb

Runs each notebook top to bottom in its own folder with the ``python3``
kernel of this environment (as ``pytest --nbval --nbval-current-env`` does),
then removes volatile metadata (widget state, timings, papermill records)
so the file passes ``tests/test_notebook_rules.py``. Exercise notebooks
(``notebooks/exercises/``) are written by ``medlab exercises release``, not here.

Where the stored outputs come from: Python 3.11 on Linux x86-64 with the pinned
``requirements/constraints.txt`` (TensorFlow 2.21, Keras 3), TensorFlow's default math
back-end (oneDNN on, every ISA the CPU has, all its cores), on a 2-core AMD EPYC with
AVX-512. Compared outputs must not depend on that: after storing, run
``python tools/portability.py`` (CONTRIBUTING.md). This script refuses to store outputs
while a variable that changes the back-end is set, so the reference stays the default.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

from medlab.course.execute import execute_client, widget_safe_notebook_client

ROOT = Path(__file__).resolve().parents[1]
VOLATILE_NOTEBOOK_KEYS = ("widgets", "papermill", "jupytext")
VOLATILE_CELL_KEYS = ("execution", "papermill", "ExecuteTime")
#: Variables that change TensorFlow's math back-end: the stored outputs use none of them.
BACKEND_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def clean(nb):
    """Drop metadata that changes from run to run or machine to machine."""
    for key in VOLATILE_NOTEBOOK_KEYS:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
    return nb


def execute(path: Path, timeout: int = 600) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = widget_safe_notebook_client()(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=True,  # False makes nbclient 0.11 fail on widget output; clean() drops the state
    )
    execute_client(client)  # a kernel that dies while starting is started again
    nb = clean(nb)
    nbformat.validator.normalize(nb)
    nbformat.write(nb, path, version=4)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    args = parser.parse_args(argv)
    changed = [f"{name}={os.environ[name]}" for name in BACKEND_VARIABLES if name in os.environ]
    if changed:
        parser.error(f"{', '.join(changed)} is set: store outputs with the default back-end "
                     "(unset it), then check the others with tools/portability.py")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        seconds = execute(path)
        print(f"{path.relative_to(ROOT) if path.is_absolute() else path}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
