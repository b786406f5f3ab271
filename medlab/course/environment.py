"""What the course needs from the machine, checked in a way that prints the same everywhere.

Importing this module does not import TensorFlow; :func:`keras_is_3` and
:func:`machine_report` do, when called (lesson 00 calls them).
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from packaging.requirements import Requirement

#: The oldest Python the pinned dependencies install on (numpy 2.4, scipy, keras...).
MINIMUM_PYTHON = (3, 11)


def requirement_checks(distribution="medlab"):
    """Check every runtime requirement of ``distribution`` against what is installed.

    Returns
    -------
    list of (requirement: str, ok: bool, installed: str or None)
        One row per requirement in the package metadata, extras excluded,
        sorted by name.
    """
    rows = []
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            installed = None
        ok = installed is not None and requirement.specifier.contains(installed, prereleases=True)
        rows.append((str(requirement), ok, installed))
    return sorted(rows, key=lambda row: row[0].lower())


def python_ok(minimum=MINIMUM_PYTHON):
    """True when this Python is at least ``minimum``."""
    return sys.version_info[:2] >= minimum


def keras_is_3():
    """True when Keras 3 is the Keras that TensorFlow uses (the course's API).

    Imports TensorFlow (quietly), like the lessons do.
    """
    from medlab._tensorflow import keras, tf

    return keras.__version__.split(".")[0] == "3" and tf.keras.__name__.startswith("keras")


def machine_report():
    """Machine-specific facts (versions, cores, GPUs): for display, not for comparison.

    Imports TensorFlow (quietly) to list the GPUs it sees.
    """
    from medlab._tensorflow import keras, tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cpu_cores": os.cpu_count(),
        "gpus": [gpu.name for gpu in gpus] or "none (the course runs on CPU)",
    }
