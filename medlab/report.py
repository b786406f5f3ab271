"""Record a notebook's headline metrics so that a papermill run can read them back.

In a lesson::

    medlab.report.record(test_auc=0.97, test_accuracy=0.91, sensitivity=0.95, ...)

prints nothing, and returns the metrics recorded so far as a dict. When the environment
variable ``MEDLAB_METRICS_PATH`` is set (a papermill runner sets it before executing the
notebook), every call also writes all metrics recorded so far in this process to that
file as JSON, atomically. The runner then reads them with :func:`read`::

    env = {**os.environ, "MEDLAB_METRICS_PATH": "runs/lr_1e-3.json"}
    ...  # run the notebook with papermill in a subprocess with env
    metrics = medlab.report.read("runs/lr_1e-3.json")

Values are stored as given (full precision): numbers (NumPy scalars become Python
numbers, a NaN or infinity becomes ``null``), bools, strings or None.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path

from medlab import files

#: Environment variable naming the JSON file :func:`record` writes.
ENV_VAR = "MEDLAB_METRICS_PATH"

_recorded: dict = {}


def _plain(name, value):
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # NumPy / TensorFlow scalars
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    raise TypeError(
        f"metric {name!r} = {value!r} ({type(value).__name__}): expected a number, bool, str or None"
    )


def write_json(path, payload, allow_nan=False):
    """Write ``payload`` to ``path`` as JSON, atomically (see :mod:`medlab.files`); return the path."""
    return files.write_json(path, payload, allow_nan=allow_nan)


def record(**metrics):
    """Record named metrics; write them to ``$MEDLAB_METRICS_PATH`` when it is set.

    Parameters
    ----------
    **metrics
        ``name=value``; a later call with the same name replaces the value.

    Returns
    -------
    dict
        Every metric recorded so far in this process (a copy).

    Raises
    ------
    TypeError
        A value that is not a number, bool, str or None.
    """
    clean = {name: _plain(name, value) for name, value in metrics.items()}
    _recorded.update(clean)
    path = os.environ.get(ENV_VAR)
    if path:
        write_json(path, _recorded)
    return dict(_recorded)


def recorded():
    """The metrics recorded so far in this process (a copy)."""
    return dict(_recorded)


def clear():
    """Forget the metrics recorded so far (the file, if any, is left as it is)."""
    _recorded.clear()


def read(path):
    """Metrics written by :func:`record` to ``path``, as a dict.

    Raises
    ------
    FileNotFoundError
        No file there: the notebook did not reach its ``record`` call (or the variable was
        not set for its kernel).
    ValueError
        The file is not a JSON object.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no metrics file; was {ENV_VAR} set for the notebook's kernel, and did the "
            "notebook reach medlab.report.record(...)?"
        )
    payload = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object of metrics, got {type(payload).__name__}")
    return payload


__all__ = ["ENV_VAR", "clear", "read", "record", "recorded", "write_json"]
