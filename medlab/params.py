"""Validate a notebook's papermill parameters right after its ``parameters`` cell.

Each numbered notebook has one cell tagged ``parameters`` holding plain
literals, and right after it one call such as::

    medlab.params.check(kernel_size=kernel_size, learning_rate=learning_rate)

which raises :class:`ParameterError` naming the parameter, the bad value and
what is allowed. Rules are looked up by parameter name in :data:`RULES`;
a notebook can pass its own with ``rules={"name": Rule(...)}``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from medlab import validate


class ParameterError(ValueError):
    """A notebook parameter has a value its notebook cannot use."""


def _describe(value):
    return f"{value!r} ({type(value).__name__})"


# Int, Float and Choice are the constraints of medlab.validate (one vocabulary for function
# arguments and notebook parameters), called as rules: None when the value is fine, else what
# is expected. Both ends of a range are included unless ``closed`` says otherwise, as in
# validate.Interval: a learning rate is Float(0.0, 1.0, closed="right") (0 would never learn).


@dataclass(frozen=True)
class Int:
    """An int in [low, high]; ``odd=True`` also requires an odd value (a kernel's centre pixel)."""

    low: int | None = None
    high: int | None = None
    odd: bool = False

    def __call__(self, value):
        interval = validate.Interval(validate.Integer, self.low, self.high, odd=self.odd)
        return None if interval.is_satisfied_by(value) else str(interval)


@dataclass(frozen=True)
class Float:
    """A finite number from ``low`` to ``high``; ``closed`` says which ends are allowed
    ("both", the default, "left", "right" or "neither"), as in :class:`medlab.validate.Interval`."""

    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def __call__(self, value):
        interval = validate.Interval(validate.Real, self.low, self.high, self.closed)
        return None if interval.is_satisfied_by(value) else str(interval)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values (listed as the Python literals a parameters cell holds)."""

    options: tuple

    def __call__(self, value):
        options = validate.Options(self.options, quoted=True)
        return None if options.is_satisfied_by(value) else str(options)


@dataclass(frozen=True)
class Dataset:
    """A dataset name from ``names`` or the path of an existing file or folder."""

    names: tuple = ("synthetic", "pneumoniamnist")

    def __call__(self, value):
        if isinstance(value, str) and (value in self.names or os.path.exists(value)):
            return None
        return f"one of {', '.join(map(repr, self.names))} or the path of an existing .npz file or image folder"


class Bool:
    """True or False."""

    def __call__(self, value):
        return None if isinstance(value, bool) else "True or False"


RULES = {
    "seed": Int(0, 2**31 - 1),
    "epochs": Int(0, 10_000),
    "batch_size": Int(1, 65_536),
    "image_size": Int(8, 1024),
    "kernel_size": Int(1, 15, odd=True),
    "pool_size": Int(1, 16),
    "stride": Int(1, 16),
    "n_images": Int(1, 1_000_000),
    "learning_rate": Float(0.0, 1.0, closed="right"),
    "dataset": Dataset(),
    "show_versions": Bool(),
}


def check(rules=None, **parameters):
    """Check each ``name=value`` against its rule; raise on the first bad one.

    Parameters
    ----------
    rules : dict of name -> rule, optional
        Rules for this notebook's own parameters, or overrides of :data:`RULES`.
    **parameters
        The notebook's parameters, by name.

    Returns
    -------
    dict
        The checked parameters, for printing or recording.

    Raises
    ------
    ParameterError
        Names the parameter, shows its value and says what is allowed.
    KeyError
        A parameter has no rule (a bug in the notebook, not in the value).
    """
    table = {**RULES, **(rules or {})}
    for name, value in parameters.items():
        if name not in table:
            raise KeyError(f"no rule for parameter {name!r}; pass one with rules={{{name!r}: ...}}")
        expected = table[name](value)
        if expected is not None:
            raise ParameterError(f"parameter {name!r} = {_describe(value)}: expected {expected}")
    return dict(parameters)
