"""What several benchmarks share: the article's recipe, the load average, a child's environment.

Imported as ``_common`` (a script's own folder is on ``sys.path``; the test suite's root
``conftest.py`` puts ``benchmarks/`` there too).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The article's recipe: Adam 1e-3, batches of 32, 10 epochs, threshold 0.5.
ARTICLE = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 10, "threshold": 0.5}


def load_average():
    """The 1-minute load average, rounded to 2 decimals; None where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def child_environment():
    """``os.environ`` with this checkout first on PYTHONPATH, for the processes a benchmark starts."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
