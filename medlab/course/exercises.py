"""Student notebooks written from the solution notebooks: ``medlab exercises release``.

Solutions are written once, in the numbered lessons, marked with nbgrader's convention
inside a code cell, and the next cell checks them with ``medlab.checks``::

    def cross_correlate(image, kernel):
        \"\"\"Valid 2-D cross-correlation ...\"\"\"
        ### BEGIN SOLUTION
        ### HINT: a hint line for the student (optional, repeatable)
        ...
        ### END SOLUTION

    # next cell
    from medlab.checks import check_cross_correlate

    check_cross_correlate(cross_correlate)

:func:`release` writes ``notebooks/exercises/<lesson>.ipynb`` for every numbered lesson with
at least one solution block:

- each solution block becomes its ``### HINT:`` lines as comments (or a generic hint) and
  ``raise NotImplementedError(...)``, at the block's indentation;
- exercise cells lose their outputs and execution count (nbval compares no output of a cell
  without an execution count), and are tagged ``exercise``;
- check cells (only imports and ``check_<name>(<exercise function>)`` calls) store what the
  checks print for an unfinished function, so nbval compares that text; tagged
  ``exercise-check``;
- a cell that raises in the student notebook (a solution block at the top level of a cell,
  or any other cell that uses an exercise's names, directly or through names computed from
  them) is tagged ``raises-exception`` and loses its outputs and execution count;
- every other cell keeps its outputs, so the student notebook shows the whole lesson;
- a short notice follows the title cell.

The result depends only on the solution notebook and ``medlab.checks``: releasing twice
writes the same bytes, and :func:`stale` lists the student notebooks that differ from a
fresh release.

A student's work is never destroyed. Beside the student notebooks, ``MANIFEST.json``
records the SHA-256 of every file :func:`release` wrote, of the solution notebook it was
made from, and of the tooling (this module and ``medlab.checks``). :func:`release` writes
over a student notebook only when its bytes are still what the previous release wrote;
a notebook that differs (a student's answers) is refused and named, unless ``force``,
which first keeps a copy in ``backups/<lesson>-<timestamp>.ipynb``. :func:`status`
(``medlab exercises check``) reads only the manifest and hashes while nothing changed, so
it answers in well under a second, and tells "has edits" (the student's work, kept) apart
from "stale" (the lesson changed since the release).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import io
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from medlab import files
from medlab.course.notebooks import code_cells, read_notebook
from medlab.course.runs import NOTEBOOK_GLOB, default_notebooks_folder, relative_path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT = "### HINT:"
#: Folder of the student notebooks, inside the lessons' folder.
EXERCISES_FOLDER = "exercises"
TAG_EXERCISE = "exercise"
TAG_CHECK = "exercise-check"
TAG_RAISES = "raises-exception"
NOTICE_ID = "exercise-notebook-notice"
#: What release wrote, beside the student notebooks.
MANIFEST = "MANIFEST.json"
#: Copies of student notebooks kept by ``release --force``, inside the student folder.
BACKUPS_FOLDER = "backups"
GENERIC_HINT = "write your code here, in place of the raise below; the check cell tells you what is wrong."

_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")


class ExerciseError(ValueError):
    """A solution notebook whose markers or check cells cannot be turned into exercises."""


class StudentWorkError(ValueError):
    """``release`` would overwrite or remove student notebooks that hold edits."""

    def __init__(self, paths):
        self.paths = list(paths)
        names = ", ".join(relative_path(p) for p in self.paths)
        super().__init__(
            f"{names}: differ{'s' if len(self.paths) == 1 else ''} from what 'medlab exercises "
            "release' wrote (a student's work?); nothing was written. 'medlab exercises release "
            f"--force' first keeps a copy of each in {BACKUPS_FOLDER}/, then writes them anew")


@dataclass
class Block:
    """One ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block of a cell's source."""

    begin: int  # line index of the BEGIN marker
    end: int  # line index of the END marker
    indent: str
    hints: list = field(default_factory=list)
    function: str | None = None  # the enclosing def, if any

    @property
    def top_level(self):
        """The block runs when the cell runs (not inside a function): the cell will raise."""
        return self.function is None


@dataclass
class Exercise:
    """An exercise cell of a lesson: its position, solution blocks and the names it defines."""

    cell: int
    blocks: list
    functions: list  # names of the functions it defines
    names: set  # every top-level name it defines


# ------------------------------------------------------------------ parsing
def solution_blocks(source, where="cell"):
    """The solution blocks of one cell's source, checked for balanced markers.

    Raises
    ------
    ExerciseError
        A marker out of order (END before BEGIN, BEGIN inside a block, no END).
    """
    lines = source.split("\n")
    blocks, current = [], None
    for number, line in enumerate(lines):
        text = line.strip()
        if text.startswith(BEGIN):
            if current is not None:
                raise ExerciseError(f"{where}, line {number + 1}: {BEGIN} inside another solution block")
            indent = line[: len(line) - len(line.lstrip())]
            current = Block(number, -1, indent, function=_enclosing_function(lines, number, indent))
        elif text.startswith(END):
            if current is None:
                raise ExerciseError(f"{where}, line {number + 1}: {END} without {BEGIN}")
            current.end = number
            blocks.append(current)
            current = None
        elif current is not None and text.startswith(HINT):
            current.hints.append(text[len(HINT):].strip())
    if current is not None:
        raise ExerciseError(f"{where}, line {current.begin + 1}: {BEGIN} without {END}")
    return blocks


def _enclosing_function(lines, number, indent):
    """Name of the innermost function whose body holds line ``number``, or None."""
    tree = _python("\n".join(lines))
    if tree is not None:
        inner = None
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and node.lineno <= number + 1 <= node.end_lineno:
                if inner is None or node.lineno > inner.lineno:
                    inner = node
        return inner.name if inner is not None else None
    for line in reversed(lines[:number]):  # not valid Python: the nearest def above, less indented
        match = _DEF.match(line)
        if match and len(match.group(1)) < len(indent):
            return match.group(2)
    return None


def strip_solutions(source, where="cell"):
    """``source`` with every solution block replaced by its hint and ``raise NotImplementedError``.

    Returns
    -------
    (str, list of Block)
    """
    blocks = solution_blocks(source, where)
    lines = source.split("\n")
    out, previous = [], 0
    for block in blocks:
        out += lines[previous:block.begin]
        hints = block.hints or [GENERIC_HINT]
        out.append(f"{block.indent}# HINT: {hints[0]}")
        out += [f"{block.indent}#       {hint}" for hint in hints[1:]]
        what = block.function or "exercise"
        out.append(f'{block.indent}raise NotImplementedError("{what}: your code here")')
        previous = block.end + 1
    out += lines[previous:]
    return "\n".join(out), blocks


def _python(source):
    """The cell's source as a Python module (IPython magics turned into calls), or None."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # pragma: no cover - IPython is a dependency of Jupyter
        pass
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


class _Names(ast.NodeVisitor):
    """Names a module stores at its top level, and every name it loads (at any depth)."""

    def __init__(self):
        self.stored, self.loaded, self.functions = set(), set(), []
        self._depth = 0

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.loaded.add(node.id)
        elif self._depth == 0:
            self.stored.add(node.id)

    def _scope(self, node):
        if self._depth == 0 and hasattr(node, "name"):
            self.stored.add(node.name)
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_FunctionDef(self, node):
        if self._depth == 0:
            self.functions.append(node.name)
        self._scope(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = _scope
    visit_Lambda = _scope

    def visit_Import(self, node):
        if self._depth == 0:
            for alias in node.names:
                self.stored.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import


def _names(tree):
    visitor = _Names()
    if tree is not None:
        visitor.visit(tree)
    return visitor


def _runs_any(tree, names):
    """Whether the module's top-level code (not its function bodies) loads any of ``names``."""
    if tree is None:
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if _names(ast.Module(body=[statement], type_ignores=[])).loaded & names:
            return True
    return False


def _defs_using(tree, names):
    """Top-level functions and classes of the module whose bodies load any of ``names``."""
    if tree is None:
        return set()
    return {statement.name for statement in tree.body
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and _names(ast.Module(body=[statement], type_ignores=[])).loaded & names}


def _check_calls(tree, functions):
    """[(check name, [argument names])] when the cell holds only imports and check calls."""
    if tree is None or not tree.body:
        return None
    calls = []
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            return None
        call = statement.value
        func = call.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if not name.startswith("check_") or call.keywords:
            return None
        if not call.args or not all(isinstance(a, ast.Name) and a.id in functions for a in call.args):
            return None
        calls.append((name, [a.id for a in call.args]))
    return calls or None


def _stub(name):
    def unfinished(*args, **kwargs):
        raise NotImplementedError(f"{name}: your code here")

    unfinished.__name__ = unfinished.__qualname__ = name
    return unfinished


def unfinished_output(calls, where="cell"):
    """What the check calls print when every exercise function is still unfinished."""
    from medlab import checks

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        for check, arguments in calls:
            function = getattr(checks, check, None)
            if function is None:
                raise ExerciseError(f"{where} calls {check}, which medlab.checks does not define")
            function(*[_stub(name) for name in arguments])
    return buffer.getvalue()


def _nbformat():
    import nbformat  # 1 to 2 s to import (jsonschema): only when notebooks are built

    return nbformat


def find_exercises(nb, name="notebook"):
    """The exercise cells of a notebook (code cells holding a solution block)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        blocks = solution_blocks(cell.source, f"{name}, cell {index}")
        if not blocks:
            continue
        names = _names(_python(cell.source))
        found.append(Exercise(index, blocks, list(names.functions), set(names.stored)))
    return found


# ------------------------------------------------------------------ the student notebook
def _tag(cell, *tags):
    current = list(cell.metadata.get("tags", []))
    for tag in tags:
        if tag not in current:
            current.append(tag)
    cell.metadata["tags"] = current


def _clear(cell):
    cell.outputs = []
    cell.execution_count = None


def student_notebook(nb, name="this lesson"):
    """The student version of a solution notebook (a new notebook; ``nb`` is not changed).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The solution notebook, as read by ``nbformat.read(path, as_version=4)``.
    name : str
        The lesson's file name, for error messages.

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    ExerciseError
        Unbalanced markers, a check cell calling a check that ``medlab.checks`` lacks, or an
        exercise function that no check cell checks.
    """
    nb = copy.deepcopy(nb)
    exercises = {exercise.cell: exercise for exercise in find_exercises(nb, name)}
    functions = set(sorted_functions(exercises.values()))
    tainted, checked = set(), set()  # names undefined or raising in the student notebook
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{name}, cell {index}"
        if index in exercises:
            exercise = exercises[index]
            own = {block.function for block in exercise.blocks} - {None}
            cell.source, _ = strip_solutions(cell.source, where)
            _clear(cell)
            _tag(cell, TAG_EXERCISE)
            if any(block.top_level for block in exercise.blocks) \
                    or _runs_any(_python(cell.source), own | tainted):
                _tag(cell, TAG_RAISES)
                tainted |= exercise.names
            else:
                tainted |= own | _defs_using(_python(cell.source), own | tainted)
            continue
        tree = _python(cell.source)
        loaded = _names(tree).loaded if tree is not None else {
            word for word in re.findall(r"\w+", cell.source) if word in tainted}
        if not loaded & tainted:
            continue
        calls = _check_calls(tree, functions)
        if calls is not None:
            text = unfinished_output(calls, where)
            cell.outputs = [_nbformat().v4.new_output("stream", name="stdout", text=text)] if text else []
            _tag(cell, TAG_CHECK)
            checked.update(argument for _, arguments in calls for argument in arguments)
        else:  # uses an exercise's result: raises NotImplementedError (or NameError after one)
            _clear(cell)
            _tag(cell, TAG_RAISES)
            tainted |= _names(tree).stored
    unchecked = sorted(functions - checked)
    if unchecked:
        raise ExerciseError(f"{name}: no check cell for {', '.join(unchecked)}; add a cell "
                            f"calling check_<name>(<name>) from medlab.checks after the exercise")
    if exercises:
        nb.cells.insert(1, _notice(nb, list(exercises.values())))
    return nb


def sorted_functions(exercises):
    """Names of the functions holding a solution block, in notebook order."""
    return [f for e in exercises for f in e.functions
            if any(block.function == f for block in e.blocks)]


def _notice(nb, exercises):
    functions = sorted_functions(exercises)
    count = sum(len(e.blocks) for e in exercises)
    listed = ": " + ", ".join(f"`{f}`" for f in functions) if functions else ""
    text = (
        f"> **Exercise notebook.** This lesson has {count} exercise{'s' if count != 1 else ''}"
        f"{listed}. In each, replace `raise NotImplementedError(...)` with your code, run the "
        "cell, then run the check cell below it: it says whether your function is right and, "
        "if not, shows the first failing case with a hint. The rest of the lesson runs as it "
        "is. (Written by `medlab exercises release` from the solution notebook.)"
    )
    cell = _nbformat().v4.new_markdown_cell(text, id=NOTICE_ID)
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        del cell["id"]
    return cell


def render(nb):
    """The notebook's file contents, as ``nbformat.write`` writes them."""
    text = _nbformat().writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def solution_lines(nb):
    """Lines of the solution blocks that appear nowhere else in the notebook (stripped).

    A student notebook must contain none of them (hint lines are meant to be shown and are
    left out).
    """
    inside, outside = set(), set()
    for cell in nb.cells:
        lines = cell.source.split("\n")
        blocks = solution_blocks(cell.source) if cell.cell_type == "code" else []
        hidden = {i for b in blocks for i in range(b.begin + 1, b.end)}
        for number, line in enumerate(lines):
            text = line.strip()
            if not text or text.startswith(HINT):
                continue
            (inside if number in hidden else outside).add(text)
    return inside - outside


# ------------------------------------------------------------------ release and check
def _folders(notebooks, out):
    notebooks = Path(notebooks) if notebooks is not None else default_notebooks_folder()
    if not notebooks.is_dir():
        raise FileNotFoundError(f"{notebooks}: no such folder")
    out = Path(out) if out is not None else notebooks / EXERCISES_FOLDER
    return notebooks, out


def _has_solution_block(path):
    """Whether a code cell of the notebook holds a ``### BEGIN SOLUTION`` line (json only)."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text:
        return False
    return any(line.strip().startswith(BEGIN) for _, source, _ in code_cells(read_notebook(path))
               for line in source.split("\n"))


def lessons_with_exercises(notebooks=None):
    """The numbered lessons ``NN_name.ipynb`` of ``notebooks`` with a solution block, sorted."""
    notebooks, _ = _folders(notebooks, None)
    return [path for path in sorted(notebooks.glob(NOTEBOOK_GLOB)) if _has_solution_block(path)]


def expected_file(path, out):
    """(student notebook path, its contents) for the solution notebook ``path``."""
    nb = _nbformat().read(path, as_version=4)
    return out / path.name, render(student_notebook(nb, path.name))


def expected_files(notebooks=None, out=None):
    """{student notebook path: its contents} for a fresh release."""
    notebooks, out = _folders(notebooks, out)
    return dict(expected_file(path, out) for path in lessons_with_exercises(notebooks))


def _orphans(out, expected):
    if not out.is_dir():
        return []
    return [path for path in sorted(out.glob(NOTEBOOK_GLOB)) if path not in expected]


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def tooling_fingerprint():
    """SHA-256 of the code that turns a lesson into a student notebook (this module and
    the ``medlab.checks`` package): when it changes, a release may write other bytes."""
    here = Path(__file__).resolve()
    sources = [here, *sorted((here.parents[1] / "checks").glob("*.py"))]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def read_manifest(out):
    """{student notebook name: {"sha256", "solution_sha256", "tooling"}} from ``MANIFEST.json``."""
    try:
        payload = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{Path(out) / MANIFEST}: unreadable ({exc}); expected the JSON "
                         "that 'medlab exercises release' writes") from None
    entries = payload.get("notebooks") if isinstance(payload, dict) else None
    return entries if isinstance(entries, dict) else {}


def _write_manifest(out, entries):
    files.write_json(Path(out) / MANIFEST, {
        "about": "Written by 'medlab exercises release': the SHA-256 of each student notebook "
                 "as released, of its solution notebook and of the tooling. A student notebook "
                 "whose bytes differ holds a student's edits; release never overwrites it.",
        "notebooks": dict(sorted(entries.items())),
    })


def _backup(path, out, stamp):
    folder = out / BACKUPS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    n = 2
    while target.exists():
        target = folder / f"{path.stem}-{stamp}-{n}{path.suffix}"
        n += 1
    shutil.copy2(path, target)
    return target


def _released_as_is(path, entry):
    """Whether ``path`` holds exactly the bytes the previous release wrote."""
    return entry is not None and _sha256(path.read_bytes()) == entry.get("sha256")


def release(notebooks=None, out=None, *, force=False):
    """Write the student notebooks; remove those whose lesson has no exercise any more.

    Never overwrites or removes a student notebook whose bytes differ from what the
    previous release wrote (see ``MANIFEST.json``): those are refused, all named in one
    :class:`StudentWorkError`, before anything is written, unless ``force``, which first
    copies each to ``<out>/backups/<lesson>-<timestamp>.ipynb``.

    Parameters
    ----------
    notebooks : str or Path, optional
        Folder of the solution notebooks (default ``notebooks/``).
    out : str or Path, optional
        Folder of the student notebooks (default ``<notebooks>/exercises``).
    force : bool
        Write over (remove) edited student notebooks, after keeping a copy of each.

    Returns
    -------
    list of (Path, str)
        Each student notebook and "written", "unchanged", "removed (...)" or
        "written (edits kept in backups/...)".
    """
    notebooks, out = _folders(notebooks, out)
    lessons = lessons_with_exercises(notebooks)
    expected = dict(expected_file(path, out) for path in lessons)
    solution_hashes = {out / path.name: _sha256(path.read_bytes()) for path in lessons}
    manifest = read_manifest(out)
    tooling = tooling_fingerprint()
    plan = []  # (path, data or None to remove)
    for path, text in expected.items():
        data = text.encode("utf-8")
        if path.exists() and path.read_bytes() == data:
            plan.append((path, data, "unchanged"))
        else:
            plan.append((path, data, "written"))
    for path in _orphans(out, expected):
        plan.append((path, None, "removed (its lesson has no exercises)"))
    edited = [path for path, _, action in plan if action != "unchanged" and path.exists()
              and not _released_as_is(path, manifest.get(path.name))]
    if edited and not force:
        raise StudentWorkError(edited)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    report, entries = [], {}
    for path, data, action in plan:
        if path in edited:
            kept = _backup(path, out, stamp)
            action += f" (edits kept in {relative_path(kept)})"
        if data is None:
            path.unlink()
        else:
            if not action.startswith("unchanged"):
                files.write_bytes(path, data)
            entries[path.name] = {"sha256": _sha256(data), "solution_sha256": solution_hashes[path],
                                  "tooling": tooling}
        report.append((path, action))
    if entries != manifest or not (out / MANIFEST).exists():
        _write_manifest(out, entries)
    return report


def stale(notebooks=None, out=None):
    """The student notebooks that a fresh release would change: [(Path, problem)].

    Builds every student notebook anew (seconds); :func:`status` is the fast check.
    """
    notebooks, out = _folders(notebooks, out)
    expected = expected_files(notebooks, out)
    problems = []
    for path, text in expected.items():
        if not path.exists():
            problems.append((path, "missing"))
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append((path, "stale: differs from its solution notebook"))
    for path in _orphans(out, expected):
        problems.append((path, "orphan: its lesson has no exercises"))
    return problems


#: What :func:`status` says of a student notebook, by state.
STATES = {
    "up to date": "up to date",
    "missing": "missing: 'medlab exercises release' writes it",
    "stale": "stale: its lesson changed since the release; 'medlab exercises release' "
             "updates it",
    "edited": "has edits (a student's work): it differs from what 'medlab exercises release' "
              "wrote; release keeps it and never overwrites it",
    "stale, edited": "has edits (a student's work), and its lesson changed since the release: "
                     "release keeps it as it is; 'medlab exercises release --force' writes the "
                     "new version after keeping a copy of this one in backups/",
    "orphan": "orphan: its lesson has no exercises any more",
    "orphan, edited": "orphan with edits (a student's work): its lesson has no exercises any "
                      "more; release keeps it",
}


def status(notebooks=None, out=None):
    """The state of every student notebook: [(Path, state)], states as in :data:`STATES`.

    Fast: reads ``MANIFEST.json`` and hashes files; a student notebook is rebuilt only when
    its lesson or the tooling changed since the release (or when no manifest exists).
    """
    notebooks, out = _folders(notebooks, out)
    manifest = read_manifest(out)
    tooling = None
    result = []
    lessons = lessons_with_exercises(notebooks)
    expected_paths = {out / path.name for path in lessons}
    for lesson in lessons:
        path = out / lesson.name
        entry = manifest.get(path.name)
        if not path.exists():
            result.append((path, "missing"))
            continue
        current = _sha256(path.read_bytes())
        tooling = tooling or tooling_fingerprint()
        if entry is not None and entry.get("solution_sha256") == _sha256(lesson.read_bytes()) \
                and entry.get("tooling") == tooling:
            fresh_hash = entry.get("sha256")  # the release would write these bytes again
        else:
            fresh_hash = _sha256(expected_file(lesson, out)[1].encode("utf-8"))
        released = entry.get("sha256") if entry is not None else fresh_hash
        edited = current != released and current != fresh_hash
        changed = released != fresh_hash
        if edited:
            result.append((path, "stale, edited" if changed else "edited"))
        elif current != fresh_hash:
            result.append((path, "stale"))
        else:
            result.append((path, "up to date"))
    for path in sorted(out.glob(NOTEBOOK_GLOB)) if out.is_dir() else []:
        if path not in expected_paths:
            edited = not _released_as_is(path, manifest.get(path.name))
            result.append((path, "orphan, edited" if edited else "orphan"))
    return result


__all__ = ["BEGIN", "END", "HINT", "MANIFEST", "STATES", "ExerciseError", "StudentWorkError",
           "find_exercises", "strip_solutions", "solution_blocks", "student_notebook", "render",
           "solution_lines", "release", "stale", "status", "expected_files",
           "lessons_with_exercises", "read_manifest", "relative_path", "tooling_fingerprint"]
