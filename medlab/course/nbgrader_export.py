"""The lessons as nbgrader *source* assignments (``medlab exercises release --nbgrader DIR``).

For every numbered lesson with exercises, ``DIR/source/<lesson>/<lesson>.ipynb`` is the lesson
with nbgrader's cell metadata, ready for ``nbgrader generate_assignment``, ``autograde`` and
``generate_feedback`` unchanged:

- each exercise cell is a *solution* cell (``### BEGIN SOLUTION`` ... ``### END SOLUTION``
  is nbgrader's own marker); its ``### HINT:`` lines move above the block as ``# HINT:``
  comments, so the student keeps them when nbgrader replaces the block;
- each check call becomes a read-only *autograder test* cell worth :data:`POINTS`
  (``grade_id`` ``check_<function>``) whose last value is
  ``medlab.checks.points(check_<function>, <function>, POINTS)``: nbgrader takes that number
  as the cell's partial credit, and the check prints its verdict and hint as in the lesson;
- every other cell is kept as it is (nbgrader clears outputs when it generates).

A file this export did not write (or one edited since) is never overwritten: the SHA-256 of
what it wrote is kept in ``DIR/source/.medlab-nbgrader.json``. ``DIR/nbgrader_config.py``
is written only when missing (a longer per-cell timeout than nbgrader's 30 s).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from medlab import files
from medlab.course.grading import POINTS, check_cells

__all__ = ["POINTS", "export", "nbgrader_notebook"]

#: What the export wrote (SHA-256 by path), inside ``DIR/source``.
MANIFEST = ".medlab-nbgrader.json"
#: ``DIR/nbgrader_config.py`` when missing.
CONFIG = """# Written by 'medlab exercises release --nbgrader' (edit it freely: it is never overwritten).
c = get_config()  # noqa: F821
# seconds one cell may run when nbgrader autogrades (a lesson's cells take a few seconds)
c.ExecutePreprocessor.timeout = 300
"""


def _nbgrader(grade_id, *, solution, grade, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _hints_above(source):
    """The cell's ``### HINT:`` lines moved above their solution block as ``# HINT:``."""
    from medlab.course.student_notebook import solution_blocks

    lines = source.split("\n")
    blocks = solution_blocks(source)
    for block in reversed(blocks):
        inside = range(block.begin + 1, block.end)
        hints = [lines[i] for i in inside if lines[i].strip().startswith("### HINT:")]
        kept = [lines[i] for i in inside if not lines[i].strip().startswith("### HINT:")]
        moved = [f"{block.indent}# HINT: {line.strip()[len('### HINT:'):].strip()}" for line in hints]
        lines[block.begin:block.end + 1] = moved + [lines[block.begin], *kept, lines[block.end]]
    return "\n".join(lines)


def nbgrader_notebook(nb, name="lesson"):
    """The nbgrader source version of a lesson (a new notebook; ``nb`` is not changed)."""
    from medlab.course.student_notebook import find_exercises, load_nbformat

    nbformat = load_nbformat()
    nb = copy.deepcopy(nb)
    exercises = {exercise.cell: exercise for exercise in find_exercises(nb, name)}
    checks = dict(check_cells(nb))
    cells = []
    for index, cell in enumerate(nb.cells):
        if index in exercises:
            cell.source = _hints_above(cell.source)
            functions = exercises[index].functions or [f"exercise_{index}"]
            cell.metadata["nbgrader"] = _nbgrader(functions[0], solution=True, grade=False)
            cells.append(cell)
        elif index in checks:
            for check, function in checks[index]:
                test = nbformat.v4.new_code_cell(
                    f"from medlab.checks import {check}, points\n\n"
                    f"points({check}, {function}, {POINTS:g})")
                test.metadata["nbgrader"] = _nbgrader(check, solution=False, grade=True,
                                                      points=POINTS)
                test.id = check.replace("_", "-")
                cells.append(test)
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def export(out, notebooks=None):
    """Write ``out/source/<lesson>/<lesson>.ipynb`` for every lesson with exercises; return
    the paths written.

    Raises
    ------
    FileExistsError
        A notebook there that this export did not write, or that was edited since (nothing
        is written then).
    """
    from medlab.course.exercises import lessons_with_exercises
    from medlab.course.student_notebook import load_nbformat, render

    out = Path(out)
    source = out / "source"
    manifest_path = source / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        manifest = {}
    plan = []
    for lesson in lessons_with_exercises(notebooks):
        nb = load_nbformat().read(lesson, as_version=4)
        target = source / lesson.stem / lesson.name
        data = render(nbgrader_notebook(nb, lesson.name)).encode("utf-8")
        plan.append((target, data))
    edited = [target for target, data in plan if target.exists()
              and target.read_bytes() != data
              and _sha256(target.read_bytes()) != manifest.get(str(target.relative_to(source)))]
    if edited:
        raise FileExistsError(
            f"{', '.join(str(path) for path in edited)}: not written by 'medlab exercises release "
            "--nbgrader' (or edited since); nothing was written. Move them away or export into "
            "another folder")
    written = []
    for target, data in plan:
        if not target.exists() or target.read_bytes() != data:
            files.write_bytes(target, data)
        manifest[str(target.relative_to(source))] = _sha256(data)
        written.append(target)
    files.write_json(manifest_path, {"about": "Written by 'medlab exercises release --nbgrader': "
                                              "the SHA-256 of each source notebook it wrote.",
                                     "files": manifest})
    if not (out / "nbgrader_config.py").exists():
        files.write_text(out / "nbgrader_config.py", CONFIG)
    return written
