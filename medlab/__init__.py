"""medlab: a Jupyter-first teaching kit for deep learning in medical image analysis.

Two layers:

- the lesson library, what notebooks import: ``medlab.ops``, ``models``, ``data``,
  ``metrics``, ``training``, ``plots``, ``widgets``, ``checks`` (the exercise checks), ...;
- the course tooling, the ``medlab`` command: ``medlab.course`` (cli, runs and sweeps,
  exercises, environment). It never imports TensorFlow.

``import medlab`` is light (PEP 562): a submodule, and TensorFlow itself, are imported
the first time a name needs them. ``medlab.tf``, ``medlab.keras`` and
``medlab.seed_everything`` import TensorFlow quietly (nothing on stderr, see
``medlab._tensorflow``).
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ log lines go to stderr (nbval compares it): quiet unless asked, also when
# something imports TensorFlow before medlab does (see medlab._tensorflow).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

#: Names imported from ``medlab._tensorflow`` on first use.
_TENSORFLOW_NAMES = ("keras", "seed_everything", "tf")

__all__ = ["keras", "ops", "params", "seed_everything", "tf", "verify", "__version__"]


def __getattr__(name):
    if name in _TENSORFLOW_NAMES:
        value = getattr(importlib.import_module("medlab._tensorflow"), name)
    elif name.startswith("__"):
        raise AttributeError(name)
    else:
        try:
            value = importlib.import_module(f"medlab.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"medlab.{name}":
                raise
            raise AttributeError(f"module 'medlab' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _configure_kernel():
    from medlab._notebook import configure_inline_figures

    configure_inline_figures()


_configure_kernel()
