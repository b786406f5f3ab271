"""``medlab exercises grade``: a folder of submissions into a gradebook, a summary and feedback.

::

    medlab exercises grade submitted/ --out grades/

``submitted/`` is laid out as nbgrader collects it, ``<student>/<lesson>/<notebook>.ipynb``
(``alice/02_convolution/02_convolution.ipynb``), or flat, ``<student>*.ipynb``
(``alice_02_convolution.ipynb``; ``--lesson`` when the names do not say which lesson).

Each submission is graded on a copy, never changed: the statements its exercise functions
need (their ``def`` and, backwards, whatever they read at module level: imports, constants,
helpers) run in a fresh kernel with nbclient (a time limit per cell and one for the whole
notebook, output capped); then, for each exercise, the kit's own check, imported afresh (a
student who edited or deleted a check cell, or defined ``check_*``, gains nothing), runs on
the student's function while :func:`medlab.checks.framework.recording` counts the test cases
it passes. Points are partial: ``points * passed / cases``. A function that is missing,
renamed, raises or hangs, and a kernel that dies (``os._exit``), cost only that exercise's
points: the kernel is started again without the culprit and the other exercises are checked.
A file that is no notebook (empty, invalid JSON, another file) gets a row, never a crash.

Written into ``--out``: ``gradebook.csv`` (one row per student, lesson and exercise),
``summary.md`` (per exercise, how many students made each mistake) and
``feedback/<student>.html`` (their code, the checks' verdicts and hints; nbconvert).
Several submissions are graded at once in worker processes (``--jobs``), or as tasks on
Dask with ``--cluster`` (:mod:`medlab.course.cluster`).
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from medlab import files
from medlab.course.execute import START_RETRIES, kernel_died_starting, start_retry_pause
from medlab.course.naming import relative_path, slug

__all__ = ["COLUMNS", "Exercise", "Submission", "find_submissions", "grade",
           "grade_submission", "lesson_exercises", "check_cells", "needed_cells"]

#: Columns of ``gradebook.csv``.
COLUMNS = ("student", "lesson", "exercise", "passed", "cases", "points", "max", "mistake",
           "hint", "error", "notebook")
#: Points of one exercise (partial credit: ``POINTS * passed / cases``).
POINTS = 1.0
#: Seconds one cell of a submission may run (its statements, or one exercise's check).
CELL_TIMEOUT = 120
#: Seconds for a whole submission (every cell and every check, kernel starts included).
NOTEBOOK_TIMEOUT = 600
#: Seconds the student's function may take on one test case (the checks' time limit).
CASE_TIMEOUT = 10
#: Bytes of output a submission may print in all; the rest is dropped.
OUTPUT_LIMIT = 1_000_000
#: Characters of a check's verdict kept (a function that prints megabytes).
_VERDICT_LIMIT = 20_000
#: Seconds a kernel may take to start (a busy machine).
STARTUP_TIMEOUT = 120
#: Kernel starts for one submission at most (each death or hang starts one more).
_MAX_STARTS = 8
#: The mime type of a grading cell's result.
_MIME = "application/x-medlab-grade+json"
#: Written into ``--out``: the folder holds what grading wrote and may be written again.
MARKER = ".medlab-grade.json"


class GradingError(ValueError):
    """Grading cannot start (no such folder, an output folder that holds other files)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lesson: the student's ``function``, its ``check`` and its points."""

    function: str
    check: str
    points: float = POINTS


@dataclass(frozen=True)
class Submission:
    """A file of the submissions folder: whose it is, for which lesson (None: unknown)."""

    student: str
    lesson: str | None
    path: Path
    problem: str = ""  # set for a file that is not graded (an extra file)


# ------------------------------------------------------------------ the lessons
def check_cells(nb):
    """[(cell index, [(check name, function name)])] for each check cell of a lesson: a
    cell holding only imports and ``check_<name>(<exercise function>)`` calls."""
    from medlab.course.student_notebook import _check_calls, _python, find_exercises, sorted_functions

    functions = set(sorted_functions(find_exercises(nb)))
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "check_" not in cell.source:
            continue
        calls = _check_calls(_python(cell.source), functions)
        if calls:
            found.append((index, [(check, arguments[0]) for check, arguments in calls]))
    return found


def lesson_exercises(notebooks=None):
    """{lesson stem: [Exercise]} for every numbered lesson with exercises, in notebook order.

    >>> exercises = lesson_exercises()
    >>> [e.function for e in exercises["03_pooling"]]
    ['max_pool', 'avg_pool']
    """
    from medlab.course.exercises import lessons_with_exercises
    from medlab.course.student_notebook import load_nbformat

    result = {}
    for path in lessons_with_exercises(notebooks):
        nb = load_nbformat().read(path, as_version=4)
        result[path.stem] = [Exercise(function, check) for _, calls in check_cells(nb)
                             for check, function in calls]
    return result


# ------------------------------------------------------------------ the submissions
def _lesson_in(text, lessons):
    """The lesson whose stem appears in ``text`` (the longest), else None."""
    found = [lesson for lesson in lessons if lesson in text]
    return max(found, key=len) if found else None


def _student_from_flat(stem, lesson):
    name = stem.replace(lesson, "") if lesson else stem
    return name.strip(" _-.") or stem


def find_submissions(folder, lessons, lesson=None):
    """The files of ``folder`` as :class:`Submission` s, sorted by path.

    ``<student>/<lesson>/<notebook>.ipynb`` (nbgrader's layout), ``<student>/<notebook>.ipynb``
    or ``<student>*.ipynb``; the lesson is ``lesson`` if given, else the lesson named by the
    folder or file name (None when none is: the notebook's contents decide). Hidden files
    and folders (``.ipynb_checkpoints``) are skipped; any other file that is not a notebook
    is a submission with a ``problem``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"submissions {str(folder)!r}: no such folder; expected "
                           "<student>/<lesson>/<notebook>.ipynb or <student>*.ipynb files")
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") or part == "__pycache__" for part in parts) or path.is_dir():
            continue
        named = lesson or _lesson_in("/".join(parts[1:]) if len(parts) > 1 else path.stem, lessons)
        student = parts[0] if len(parts) > 1 else _student_from_flat(path.stem, named)
        problem = "" if path.suffix == ".ipynb" else \
            f"{path.name}: not a notebook (an extra file), not graded"
        found.append(Submission(student, named, path, problem))
    return found


# ------------------------------------------------------------------ what grading executes
def _statements(source):
    """[(text, stored names, read names)] for the top-level statements of a cell, an import
    of several names split into one per name; None when the cell is not valid Python."""
    from medlab.course.student_notebook import _names

    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython's own parse errors: the plain source
        pass
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    result = []
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)) and len(statement.names) > 1:
            pieces = [type(statement)(names=[alias], **({"module": statement.module,
                                                         "level": statement.level}
                                                        if isinstance(statement, ast.ImportFrom) else {}))
                      for alias in statement.names]
            texts = [ast.unparse(piece) for piece in pieces]
        else:
            pieces, texts = [statement], [ast.get_source_segment(source, statement)]
        for piece, text in zip(pieces, texts):
            stored = _names(ast.Module(body=[piece], type_ignores=[])).stored
            if isinstance(piece, ast.ImportFrom) and piece.names[0].name == "*":
                stored = {"*"}
            result.append((text, stored, _reads(text)))
    return result


def _reads(text):
    """Module-level names a statement reads, its functions' bodies included (their free
    names), but not their parameters and locals."""
    import symtable

    try:
        top = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set()
    names = set()

    def walk(table):
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (table is top or symbol.is_global()):
                names.add(symbol.get_name())
        for child in table.get_children():
            walk(child)

    walk(top)
    return names


def _defines(source, function):
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(function)}\s*\(", source, re.M) is not None


def needed_cells(sources, functions):
    """What to execute of a notebook's code cells so that ``functions`` are defined:
    [(cell index, source)], in order.

    The statements defining the functions and, backwards, those defining what they read
    (imports one name at a time, constants, helpers), wherever they are in the notebook (cells
    may have been moved); a cell that is no valid Python is kept
    whole when it defines one of them (its error then explains the missing function).

    >>> cells = ["import numpy as np, os", "x = np.ones(3)\\nprint(x)", "def f(a):\\n    return np.sum(a)"]
    >>> needed_cells(cells, ["f"])
    [(0, 'import numpy as np'), (2, 'def f(a):\\n    return np.sum(a)')]
    """
    statements = []  # (cell, text, stored, reads)
    for index, source in enumerate(sources):
        parsed = _statements(source)
        if parsed is None:
            if any(_defines(source, name) for name in functions):
                statements.append((index, source, set(functions), set()))
            continue
        statements += [(index, *statement) for statement in parsed]
    needed, keep = set(functions), set()
    grown = True
    while grown:  # any order: a function reads its globals when called, not when defined
        grown = False
        for number, (_, _, stored, reads) in enumerate(statements):
            if number not in keep and (stored & needed or "*" in stored):
                keep.add(number)
                needed |= reads
                grown = True
    cells = {}
    for number in sorted(keep):
        index, text = statements[number][:2]
        cells.setdefault(index, []).append(text)
    return [(index, "\n".join(texts)) for index, texts in sorted(cells.items())]


_GRADER = '''
import contextlib, importlib, io, os, sys
os.environ["MEDLAB_CHECK_TIME_LIMIT"] = {limit!r}
for _module in [m for m in list(sys.modules) if m == "medlab.checks" or m.startswith("medlab.checks.")]:
    del sys.modules[_module]
checks = importlib.import_module("medlab.checks")
framework = importlib.import_module("medlab.checks.framework")
import IPython
user = IPython.get_ipython().user_ns

class Capped(io.TextIOBase):
    def __init__(self, limit):
        self.parts, self.left = [], limit
    def writable(self):
        return True
    def write(self, text):
        if self.left > 0:
            self.parts.append(text[:self.left])
            if len(text) > self.left:
                self.parts.append("\\n... (output cut)\\n")
            self.left -= len(text)
        return len(text)

result = {{"nonce": {nonce!r}, "defined": {function!r} in user, "record": None}}
out = Capped({verdict_limit})
if result["defined"]:
    with framework.recording() as records, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        getattr(checks, {check!r})(user[{function!r}])
    if records:
        r = records[-1]
        result["record"] = {{"cases": [bool(c) for c in r.cases], "verdict": r.verdict,
                            "hint": r.hint, "hint_text": r.hint_text, "error": r.error}}
result["text"] = "".join(out.parts)
IPython.display.display({{{mime!r}: result}}, raw=True)
'''


def _grading_source(exercise, nonce, case_timeout):
    code = _GRADER.format(limit=str(case_timeout), nonce=nonce, function=exercise.function,
                          check=exercise.check, verdict_limit=_VERDICT_LIMIT, mime=_MIME)
    return ("import builtins as _medlab_builtins\n"
            f"_medlab_builtins.exec(_medlab_builtins.compile({code!r}, '<medlab grading>', 'exec'), "
            "{'__builtins__': _medlab_builtins, '__name__': '__medlab_grading__'})")


# ------------------------------------------------------------------ one submission
def _read(data, name):
    """The notebook in ``data`` (bytes), or a str saying why it is none."""
    if not data.strip():
        return f"{name}: an empty file, not a notebook"
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"{name}: not a notebook (invalid JSON: {str(exc)[:120]})"
    if not isinstance(payload, dict) or not isinstance(payload.get("cells"), list):
        return f"{name}: not a notebook (JSON without a list of cells)"
    from medlab.course.student_notebook import load_nbformat

    try:
        nb = load_nbformat().reads(json.dumps(payload), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any nbformat failure: the student's file
        return f"{name}: not a notebook nbformat can read ({type(exc).__name__}: {str(exc)[:120]})"
    return nb


def _guess_lesson(nb, lessons):
    """The lesson whose exercise functions the notebook defines most, or None."""
    text = "\n".join(cell.get("source", "") for cell in nb.cells if cell.get("cell_type") == "code")
    scores = {lesson: sum(_defines(text, e.function) for e in exercises)
              for lesson, exercises in lessons.items()}
    best = max(scores.values(), default=0)
    winners = [lesson for lesson, score in scores.items() if score == best]
    return winners[0] if best and len(winners) == 1 else None


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """nbclient keeping at most ``output_limit`` bytes of output in all."""

        output_left = OUTPUT_LIMIT

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            if _MIME not in content.get("data", {}):
                size = len(json.dumps(content, default=str))
                if self.output_left <= 0:
                    return None
                self.output_left -= size
                if self.output_left <= 0:
                    from nbformat.v4 import new_output

                    outs.append(new_output("stream", name="stderr",
                                           text="... output cut (medlab grading keeps "
                                                f"{OUTPUT_LIMIT} bytes)\n"))
                    return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


def _run_cells(cells, limits, deadline, cwd):
    """Execute ``cells`` [(key, source)] in one fresh kernel; return (outcomes, stop):
    {key: ("ok"|"error"|"died"|"timeout"|"late", outputs)} for the cells that ran, and the key
    of the cell that killed or hung the kernel (None when none did)."""
    import os
    import subprocess

    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(source) for _, source in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = _client_class()(nb, timeout=limits["cell"], kernel_name="python3", allow_errors=True,
                             interrupt_on_timeout=False, startup_timeout=STARTUP_TIMEOUT,
                             shutdown_kernel="immediate", resources={"metadata": {"path": cwd}})
    client.output_left = limits["output"]
    env = {**os.environ, "MPLBACKEND": "Agg", "MEDLAB_CHECK_TIME_LIMIT": str(limits["case"])}
    outcomes = {}
    try:
        with client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            for index, (key, _) in enumerate(cells):
                left = deadline - time.monotonic()
                if left <= 1:
                    return outcomes, None
                client.timeout = max(1, int(min(limits["cell"], left)))
                cell = nb.cells[index]
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    outcomes[key] = ("timeout", cell.outputs)
                    return outcomes, key
                except DeadKernelError:
                    outcomes[key] = ("died", cell.outputs)
                    return outcomes, key
                failed = any(o.get("output_type") == "error" for o in cell.outputs)
                outcomes[key] = ("error" if failed else "ok", cell.outputs)
    except DeadKernelError:  # died between cells, or while shutting down: the last one ran
        pass
    except (RuntimeError, TimeoutError) as exc:  # the kernel did not start
        outcomes["start"] = ("died" if kernel_died_starting(exc) else "error",
                             [{"output_type": "error", "ename": "KernelError", "evalue": str(exc)[:200]}])
    return outcomes, None


def _error_text(outputs):
    for output in outputs:
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {str(output.get('evalue', ''))[:200]}".rstrip(": ")
    return ""


def _defined_functions(nb):
    """Functions defined in the exercise cells (tagged ``exercise`` by release), else in
    every code cell: the candidates for a renamed exercise function."""
    cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    tagged = [cell for cell in cells if "exercise" in cell.get("metadata", {}).get("tags", [])]
    names = []
    for cell in tagged or cells:
        names += re.findall(r"^def\s+(\w+)\s*\(", cell.source, re.M)
    return names


def grade_submission(data, name, student, lesson, exercises, *, cell_timeout=CELL_TIMEOUT,
                     notebook_timeout=NOTEBOOK_TIMEOUT, case_timeout=CASE_TIMEOUT,
                     output_limit=OUTPUT_LIMIT, lessons=None):
    """Grade one submission (the notebook's ``data``, bytes); return a dict with its ``rows``
    (dicts of :data:`COLUMNS`), its ``lesson`` and, for the feedback, each exercise's
    ``code`` and ``verdict`` text.

    ``lesson`` None: the notebook's contents decide among ``lessons`` ({lesson: exercises}).
    Never raises for a bad submission: every problem is a row.
    """
    import tempfile

    started = time.monotonic()
    nb = _read(data, name)
    if lesson is None and not isinstance(nb, str) and lessons:
        lesson = _guess_lesson(nb, lessons)
        exercises = lessons.get(lesson, [])
    base = {"student": student, "lesson": lesson or "", "notebook": name}
    if lesson is None:
        problem = nb if isinstance(nb, str) else \
            f"{name}: no lesson's exercise functions found; name the lesson with --lesson"
        mistake = "unreadable" if isinstance(nb, str) else "unknown lesson"
        return {"lesson": "", "rows": [_row(base, "", 0, 0, 0, mistake, error=problem)],
                "feedback": {}}
    if isinstance(nb, str):
        return {"lesson": lesson, "feedback": {e.function: {"code": "", "verdict": nb}
                                               for e in exercises},
                "rows": [_row(base, e.function, 0, 0, e.points, "unreadable", error=nb)
                         for e in exercises]}
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    code = {}
    for exercise in exercises:
        defining = [source for source in sources if _defines(source, exercise.function)]
        code[exercise.function] = defining[-1] if defining else ""
    plan = needed_cells(sources, [e.function for e in exercises])
    limits = {"cell": cell_timeout, "case": case_timeout, "output": output_limit}
    deadline = started + notebook_timeout
    nonce = uuid.uuid4().hex
    excluded, results, cell_errors, failed_starts = set(), {}, {}, 0
    with tempfile.TemporaryDirectory(prefix="medlab-grade-") as cwd:
        for _ in range(_MAX_STARTS + START_RETRIES):
            todo = [e for e in exercises if e.function not in results]
            if not todo or time.monotonic() > deadline - 1:
                break
            cells = [(("cell", index), source) for index, source in plan
                     if ("cell", index) not in excluded]
            cells += [(("check", e.function), _grading_source(e, nonce, case_timeout)) for e in todo]
            outcomes, culprit = _run_cells(cells, limits, deadline, cwd)
            if set(outcomes) == {"start"} and outcomes["start"][0] == "died" and failed_starts < START_RETRIES:
                # no submitted code ran: a kernel that dies before it answers (e.g. two kernels
                # started at once on a busy machine) is the machine's fault, so start another
                time.sleep(start_retry_pause(failed_starts))
                failed_starts += 1
                continue
            for key, (state, outputs) in outcomes.items():
                if key == "start":
                    cell_errors[key] = _error_text(outputs)
                elif key[0] == "cell":
                    if state in ("error", "died", "timeout"):
                        cell_errors[key[1]] = {"died": "the kernel died (os._exit?)",
                                               "timeout": f"did not finish within {limits['cell']:g} s",
                                               }.get(state) or _error_text(outputs)
                else:
                    results[key[1]] = _result(state, outputs, nonce, limits)
            if culprit is None:
                if "start" in cell_errors:
                    break
                continue
            excluded.add(culprit)
    rows, feedback = [], {}
    defined = _defined_functions(nb)
    for exercise in exercises:
        result = results.get(exercise.function)
        if result is None and "start" in cell_errors:
            text = f"not checked: the kernel did not start ({cell_errors['start']})"
            result = {"mistake": "crashed", "error": text, "text": text}
        elif result is None:
            text = f"not checked: the submission's time limit ({notebook_timeout:g} s) ran out"
            result = {"mistake": "timeout", "error": text, "text": text}
        elif result.get("missing"):
            why = [f"cell {i}: {e}" for i, e in cell_errors.items() if i != "start"
                   and _defines(dict(plan).get(i, ""), exercise.function)]
            others = [f for f in defined if f not in {e.function for e in exercises}]
            result["error"] = (f"no function named {exercise.function}"
                               + (f" (the notebook defines {', '.join(others[:5])}: renamed?)"
                                  if others else " (deleted or renamed?)")
                               + (f"; {'; '.join(why)}" if why else ""))
            result["text"] = result["error"]
        cases = result.get("cases", [])
        passed = sum(cases)
        points = round(exercise.points * passed / len(cases), 2) if cases else 0.0
        rows.append(_row(base, exercise.function, passed, len(cases), exercise.points,
                         result["mistake"], points=points, hint=result.get("hint_text", ""),
                         error=result.get("error", "")))
        feedback[exercise.function] = {"code": code[exercise.function],
                                       "verdict": result.get("text", "")}
    return {"lesson": lesson, "rows": rows, "feedback": feedback}


def _result(state, outputs, nonce, limits):
    """What one grading cell found: {"mistake", "cases", "hint_text", "error", "text"}."""
    found = None
    for output in outputs:
        payload = output.get("data", {}).get(_MIME)
        if isinstance(payload, dict) and payload.get("nonce") == nonce:
            found = payload
    if state == "died":
        text = "the kernel died while the check ran this function (os._exit? out of memory?)"
        return {"mistake": "crashed", "error": text, "text": text}
    if state == "timeout" or found is None:
        text = (f"the check did not finish within {limits['cell']:g} s" if state == "timeout"
                else f"the check gave no result ({_error_text(outputs) or 'no output'})")
        return {"mistake": "timeout" if state == "timeout" else "crashed", "error": text, "text": text}
    if not found["defined"]:
        return {"mistake": "missing", "missing": True}
    record = found["record"] or {"cases": [], "verdict": "crashed", "hint": "", "hint_text": "",
                                 "error": "the check recorded nothing"}
    mistake = record["verdict"]
    if mistake == "wrong":
        mistake = f"wrong: {record['hint']}" if record["hint"] else "wrong (no known mistake)"
    return {"mistake": mistake, "cases": record["cases"], "hint_text": record["hint_text"],
            "error": record["error"], "text": found["text"]}


def _row(base, exercise, passed, cases, maximum, mistake, *, points=0.0, hint="", error=""):
    return {**base, "exercise": exercise, "passed": passed, "cases": cases, "points": points,
            "max": maximum, "mistake": mistake, "hint": hint, "error": error}


# ------------------------------------------------------------------ the class
def _prepare_out(out, submissions):
    out = Path(out)
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise GradingError(f"out {str(out)!r}: inside the submissions folder; expected a folder "
                           "of its own (a second run would grade the feedback files)")
    if out.exists() and not out.is_dir():
        raise GradingError(f"out {str(out)!r}: a file; expected a folder for the gradebook")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise GradingError(f"out {str(out)!r}: holds files that 'medlab exercises grade' did not "
                           "write; expected a new or empty folder (nothing is overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def grade(submissions, out, *, notebooks=None, lesson=None, jobs=None, cell_timeout=CELL_TIMEOUT,
          notebook_timeout=NOTEBOOK_TIMEOUT, case_timeout=CASE_TIMEOUT, progress=False,
          cluster=None, cluster_wait=None, feedback=True):
    """Grade every submission of the folder ``submissions``; write the gradebook, the
    summary and the feedback into ``out``; return the rows (dicts of :data:`COLUMNS`).

    Parameters
    ----------
    submissions, out : str or Path
        The submissions' folder; the output folder (new, empty, or written by an earlier
        grading: nothing else is overwritten).
    notebooks : str or Path, optional
        Folder of the lessons (default ``notebooks/``): which exercises each lesson has.
    lesson : str, optional
        The lesson of every submission (e.g. ``02_convolution``), when names do not say it.
    jobs : int, optional
        Submissions graded at once, each in a worker process (default: the usable cores).
    cell_timeout, notebook_timeout, case_timeout : float
        Seconds for one cell, for a whole submission, for one test case of a check.
    cluster : str, optional
        ``"local"`` or a Dask scheduler's address: each submission is a Dask task.
    """
    from medlab import validate
    from medlab.course import cluster as dask_cluster

    submissions = Path(submissions)
    lessons = lesson_exercises(notebooks)
    if lesson is not None and lesson not in lessons:
        raise validate.ArgumentError(f"lesson {lesson!r}: expected a lesson with exercises, one "
                                     f"of {', '.join(sorted(lessons))}")
    limits = dict(cell_timeout=validate.number("cell_timeout", cell_timeout, low=1),
                  notebook_timeout=validate.number("notebook_timeout", notebook_timeout, low=1),
                  case_timeout=validate.number("case_timeout", case_timeout, low=0.1))
    jobs = dask_cluster.usable_cores() if jobs is None else validate.integer("jobs", jobs, low=1)
    found = find_submissions(submissions, lessons, lesson)
    out = _prepare_out(out, submissions)
    results = [None] * len(found)
    todo = []
    for index, submission in enumerate(found):
        name = str(submission.path.relative_to(submissions))
        if submission.problem:
            results[index] = {"lesson": submission.lesson or "", "feedback": {}, "rows": [
                _row({"student": submission.student, "lesson": submission.lesson or "",
                      "notebook": name}, "", 0, 0, 0, "extra file", error=submission.problem)]}
        else:
            data = submission.path.read_bytes() if submission.path.is_file() else b""
            exercises = lessons.get(submission.lesson, [])
            todo.append((index, (data, name, submission.student, submission.lesson, exercises),
                         {**limits, "lessons": lessons}))
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="grading", unit="notebook", disable=not progress)
    try:
        for index, result in _graded(todo, jobs, cluster, cluster_wait):
            results[index] = result
            bar.update()
    finally:
        bar.close()
    rows = [row for result in results for row in result["rows"]]
    rows.sort(key=lambda row: (row["student"], row["lesson"], row["notebook"]))
    _write_outputs(out, rows, found, results, feedback)
    return rows


def _failed_result(arguments, text):
    data, name, student, lesson, exercises = arguments
    base = {"student": student, "lesson": lesson or "", "notebook": name}
    return {"lesson": lesson or "", "feedback": {},
            "rows": [_row(base, e.function, 0, 0, e.points, "crashed", error=text)
                     for e in exercises] or [_row(base, "", 0, 0, 0, "crashed", error=text)]}


def _graded(todo, jobs, cluster, cluster_wait):
    """Yield (index, result) for each task of ``todo`` as it finishes (any order)."""
    if cluster is not None:
        yield from _graded_on_cluster(todo, cluster, cluster_wait)
    elif jobs == 1 or len(todo) <= 1:
        for index, arguments, options in todo:
            yield index, grade_submission(*arguments, **options)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        from medlab.course.runs import _as_completed

        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(grade_submission, *arguments, **options):
                       (index, arguments, options) for index, arguments, options in todo}
            try:
                for future in _as_completed(futures):
                    index, arguments, _ = futures[future]
                    try:
                        yield index, future.result()
                    except BrokenProcessPool:  # a pool that cannot run (no __main__ to import)
                        yield index, grade_submission(*arguments, **futures[future][2])
                    except Exception as exc:  # noqa: BLE001 - a worker process lost
                        yield index, _failed_result(arguments, f"grading failed: "
                                                               f"{type(exc).__name__}: {exc}")
            except BaseException:  # Ctrl-C, SIGTERM: stop the workers, not wait for them
                for future in futures:
                    future.cancel()
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()  # its kernels see their parent gone and exit
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def _graded_on_cluster(todo, cluster, cluster_wait):
    from medlab.course import cluster as dask_cluster

    wait = dask_cluster.DEFAULT_WAIT if cluster_wait is None else cluster_wait
    with dask_cluster.session(cluster, wait=wait) as tasks:
        for index, arguments, options in todo:
            tasks.submit_call(grade_submission, arguments, options, (index, arguments),
                              f"grade-{arguments[2]}")
        for (index, arguments), outcome in tasks.finished():
            if isinstance(outcome, dict) and "rows" in outcome:
                yield index, outcome
            else:
                yield index, _failed_result(arguments, f"{outcome.get('ename')}: "
                                                       f"{outcome.get('evalue')}")


# ------------------------------------------------------------------ outputs
def gradebook_csv(rows):
    """The rows as CSV text, columns :data:`COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row[key] for key in COLUMNS})
    return buffer.getvalue()


def summary_markdown(rows):
    """``summary.md``: per exercise how many students made each mistake (a text histogram,
    most frequent first, with each mistake's hint), then each student's points per lesson."""
    graded = [row for row in rows if row["exercise"]]
    lines = ["# Grading summary", "",
             f"{len({row['student'] for row in rows})} students, {len(graded)} graded exercises "
             f"(points are partial: max x test cases passed / cases).", "",
             "## Mistakes per exercise", ""]
    order = {}  # lesson order: as the exercises come in each student's rows
    for row in graded:
        order.setdefault((row["lesson"], row["exercise"]), len(order))
    for lesson, exercise in sorted(order, key=lambda key: (key[0], order[key])):
        these = [row for row in graded if (row["lesson"], row["exercise"]) == (lesson, exercise)]
        mean = sum(row["points"] for row in these) / len(these)
        lines += [f"### {lesson} · {exercise}", "",
                  f"{len(these)} submissions, mean {mean:.2f} of {these[0]['max']:g} points.", "",
                  "| outcome | students | |", "|---|---:|---|"]
        counts = Counter(row["mistake"] for row in these)
        for mistake, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            bar = "█" * round(20 * count / len(these))
            lines.append(f"| {mistake} | {count} | {bar} |")
        hints = {row["mistake"]: row["hint"] for row in these if row["hint"]}
        lines += [""] + [f"- *{mistake}*: {hint}" for mistake, hint in sorted(hints.items())]
        lines.append("")
    lines += ["## Points per student", "", "| student | lesson | points | max |", "|---|---|---:|---:|"]
    totals = {}
    for row in graded:
        key = (row["student"], row["lesson"])
        points, maximum = totals.get(key, (0.0, 0.0))
        totals[key] = (points + row["points"], maximum + row["max"])
    for (student, lesson), (points, maximum) in sorted(totals.items()):
        lines.append(f"| {student} | {lesson} | {points:.2f} | {maximum:g} |")
    others = [row for row in rows if not row["exercise"]]
    if others:
        lines += ["", "## Files not graded", ""]
        lines += [f"- {row['notebook']} ({row['student']}): {row['error']}" for row in others]
    return "\n".join(lines) + "\n"


def feedback_notebook(student, results):
    """One student's feedback as a notebook: their points, then per exercise their code,
    the check's verdict (as the cell's output) and the hint."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    cells = [new_markdown_cell(f"# Feedback for {student}\n\nWritten by `medlab exercises grade`: "
                               "each exercise was checked by the course's own checks; points "
                               "count the test cases your function passes.")]
    for result in results:
        rows = [row for row in result["rows"]]
        table = ["| exercise | points | max | verdict |", "|---|---:|---:|---|"]
        table += [f"| {row['exercise'] or row['notebook']} | {row['points']:.2f} | {row['max']:g} "
                  f"| {row['mistake']} |" for row in rows]
        cells.append(new_markdown_cell(f"## {result['lesson'] or 'Not graded'} "
                                       f"({rows[0]['notebook']})\n\n" + "\n".join(table)))
        for row in rows:
            if not row["exercise"]:
                cells.append(new_markdown_cell(f"{row['error']}"))
                continue
            verdict = result["feedback"].get(row["exercise"], {})
            cells.append(new_markdown_cell(f"### {row['exercise']}: {row['points']:.2f} of "
                                           f"{row['max']:g} points ({row['passed']} of "
                                           f"{row['cases']} test cases)"))
            cell = new_code_cell(verdict.get("code") or f"# no function named {row['exercise']}")
            text = verdict.get("verdict") or row["error"]
            cell.outputs = [new_output("stream", name="stdout", text=text)] if text else []
            cells.append(cell)
            if row["hint"]:
                cells.append(new_markdown_cell(f"**Hint:** {row['hint']}"))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _write_outputs(out, rows, found, results, feedback):
    files.write_json(out / MARKER, {"about": "Written by 'medlab exercises grade'; a new grading "
                                             "may write this folder again."})
    files.write_text(out / "gradebook.csv", gradebook_csv(rows))
    files.write_text(out / "summary.md", summary_markdown(rows))
    if not feedback:
        return
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    by_student = {}
    for submission, result in zip(found, results):
        by_student.setdefault(submission.student, []).append(result)
    names = set()
    for student, student_results in sorted(by_student.items()):
        name = slug(student)
        while name in names:
            name += "_"
        names.add(name)
        html, _ = exporter.from_notebook_node(feedback_notebook(student, student_results))
        files.write_text(out / "feedback" / f"{name}.html", html)


def describe(rows, out):
    """One line for the command: students, rows, mean points, where the files are."""
    graded = [row for row in rows if row["exercise"]]
    points = sum(row["points"] for row in graded)
    maximum = sum(row["max"] for row in graded)
    return (f"{len({row['student'] for row in rows})} students, {len(graded)} exercises graded: "
            f"{points:.2f} of {maximum:g} points in all; gradebook "
            f"{relative_path(Path(out) / 'gradebook.csv')}, summary.md and feedback/ beside it")
