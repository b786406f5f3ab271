"""Names and paths of the course's runs: parameter grids, file-safe names, output paths.

:func:`parse_grid` reads ``NAME=V1,V2`` specs as ``papermill -p`` reads values
(:func:`parse_value`); :func:`combinations` names each combination of a grid
(:func:`combination_name`); :func:`new_output_path` and :func:`new_course_folder` choose names
that are free, and :func:`move_no_clobber` renames a finished file into place without ever
overwriting one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
import unicodedata
from pathlib import Path

from medlab import files
from medlab.course.summaries import format_value

__all__ = ["RUNS_ROOT", "combination_name", "combinations", "metrics_path_for", "move_no_clobber",
           "new_course_folder", "new_output_path", "one_line", "parse_grid", "parse_value",
           "refuse_existing", "relative_path", "slug", "unique_path"]

_MAX_NAME = 120


def parse_value(text):
    """A command-line value converted as ``papermill -p`` converts it.

    ``True``, ``False``, ``None``, then an int, then a float, else the string.
    """
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_grid(specs):
    """``["learning_rate=1e-4,1e-3", "kernel_size=3,5"]`` -> ``{"learning_rate": [0.0001, 0.001], ...}``.

    Raises
    ------
    ValueError
        A spec without ``=``, an empty value, a repeated name or a repeated value.
    """
    grid = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"grid {spec!r}: expected NAME=VALUE1,VALUE2,... with a parameter name")
        if name in grid:
            raise ValueError(f"grid: parameter {name!r} given twice")
        texts = [v.strip() for v in values.split(",")]
        if any(t == "" for t in texts):
            raise ValueError(f"grid {spec!r}: empty value; separate values by single commas")
        parsed = [parse_value(t) for t in texts]
        if len({json.dumps(v) for v in parsed}) != len(parsed):
            raise ValueError(f"grid {spec!r}: a value is repeated")
        grid[name] = parsed
    if not grid:
        raise ValueError("grid: expected at least one NAME=VALUE1,VALUE2,...")
    return grid


def safe(text):
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def ascii_safe(text):
    """``safe`` after dropping accents: ``é`` -> ``e``, not ``_``."""
    return safe(unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii"))


def slug(text):
    """``text`` as a file-name-safe name: accents dropped, other characters ``_``.

    ``"Résumé 2.ipynb"`` -> ``"Resume_2.ipynb"``; only letters, digits and ``. _ + -``
    remain, never a leading dot, never empty.
    """
    return ascii_safe(text).lstrip(".") or "notebook"


def digest(payload, n=8):
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:n]


def combination_name(parameters):
    """File-system-safe name of one combination: ``learning_rate=0.001__kernel_size=3``."""
    name = "__".join(f"{key}={ascii_safe(format_value(value))}" for key, value in parameters.items())
    if len(name) > _MAX_NAME:
        name = f"{name[:_MAX_NAME]}-{digest(parameters)}"
    return name


def combinations(grid):
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    names = [combination_name(c) for c in combos]
    for i, name in enumerate(names):
        if names.count(name) > 1:  # two values that differ only in unsafe characters
            names[i] = f"{name}-{digest(combos[i])}"
    return list(zip(names, combos))


def metrics_path_for(output):
    """``runs/x/k7.ipynb`` -> ``runs/x/k7.metrics.json``: where a run's metrics go."""
    output = Path(output)
    return output.with_name(f"{output.stem}.metrics.json")


def one_line(text, limit=500):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def relative_path(path):
    """``path`` as text, relative to the working directory when it lies below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def unique_path(path):
    """``path``, or ``<stem>-2<suffix>``, ``-3``... the first name that is free."""
    if not path.exists():
        return path
    for n in itertools.count(2):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate


#: Folder that runs go into when no ``out`` is given (relative to the working directory).
RUNS_ROOT = Path("runs")


def new_output_path(notebook, out=None, name=None):
    """Where a run of ``notebook`` goes: ``OUT/NAME.ipynb``, never an existing file.

    ``out`` defaults to ``runs/<notebook stem>``; ``name`` to a timestamp
    (``20250131-142501``, with ``-2``, ``-3``... added if taken). An explicit ``name``
    is returned as given, and :func:`run_notebook` refuses it if it exists.
    """
    folder = Path(out) if out is not None else RUNS_ROOT / Path(notebook).stem
    if name is not None:
        name = str(name).removesuffix(".ipynb")
        if not name or safe(name) != name or name.startswith("."):
            raise ValueError(f"name {name!r}: use letters, digits and . _ + - = only")
        return folder / f"{name}.ipynb"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        output = folder / (f"{stamp}.ipynb" if n == 1 else f"{stamp}-{n}.ipynb")
        if not output.exists() and not metrics_path_for(output).exists():
            return output


def new_course_folder():
    """``runs/course-<timestamp>``, a folder that does not exist yet."""
    return unique_path(RUNS_ROOT / f"course-{time.strftime('%Y%m%d-%H%M%S')}")


def refuse_existing(output):
    for path in (output, metrics_path_for(output)):
        if path.exists():
            raise FileExistsError(f"{relative_path(path)} exists; medlab never overwrites a run: "
                                  "choose another name or folder, or move it away")


def move_no_clobber(source, target):
    """Rename ``source`` to ``target`` with a new file's mode (:func:`medlab.files.publish`);
    FileExistsError if ``target`` exists."""
    try:
        files.publish(source, target)
    except FileExistsError:
        raise FileExistsError(f"{target} appeared while the run was going; kept it") from None
