"""A solution notebook turned into its student notebook (used by ``medlab exercises release``).

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

:func:`student_notebook` makes the student version of such a lesson:

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

The result depends only on the solution notebook and ``medlab.checks``: the same lesson
gives the same bytes (:func:`render`).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import re
from dataclasses import dataclass, field

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT = "### HINT:"
TAG_EXERCISE = "exercise"
TAG_CHECK = "exercise-check"
TAG_RAISES = "raises-exception"
NOTICE_ID = "exercise-notebook-notice"
GENERIC_HINT = "write your code here, in place of the raise below; the check cell tells you what is wrong."

_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")


class ExerciseError(ValueError):
    """A solution notebook whose markers or check cells cannot be turned into exercises."""


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


def load_nbformat():
    """The nbformat module, imported on first use (1 to 2 s: jsonschema), so that
    ``medlab exercises check`` does not pay for it while nothing changed."""
    import nbformat

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
            cell.outputs = [load_nbformat().v4.new_output("stream", name="stdout", text=text)] if text else []
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
    cell = load_nbformat().v4.new_markdown_cell(text, id=NOTICE_ID)
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        del cell["id"]
    return cell


def render(nb):
    """The notebook's file contents, as ``nbformat.write`` writes them."""
    text = load_nbformat().writes(nb, version=4)
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


__all__ = ["BEGIN", "END", "GENERIC_HINT", "HINT", "NOTICE_ID", "ExerciseError", "find_exercises", "load_nbformat",
           "render", "solution_blocks", "solution_lines", "sorted_functions", "strip_solutions",
           "student_notebook", "unfinished_output"]
