"""``medlab exercises release`` and ``check``: the student notebooks of every lesson.

:func:`release` writes ``notebooks/exercises/<lesson>.ipynb`` for every numbered lesson with
at least one solution block (the conversion: :mod:`medlab.course.student_notebook`), and
removes those it wrote whose lesson has no exercise any more (a student's copy, any other
numbered notebook, is left alone). Releasing twice writes the same bytes;
:func:`stale` lists the student notebooks that differ from a fresh release.

A student's work is never destroyed. Beside the student notebooks, ``MANIFEST.json``
records the SHA-256 of every file :func:`release` wrote, of the solution notebook it was
made from, and of the tooling (:mod:`medlab.course.student_notebook` and ``medlab.checks``).
:func:`release` writes over a student notebook only when its bytes are still what the
previous release wrote; a notebook that differs (a student's answers) is refused and named,
unless ``force``, which first keeps a copy in ``.backups/<lesson>-<timestamp>.ipynb``: a
dot-folder, which pytest does not collect (strict nbval would run a student's answers) and
git ignores (its own ``.gitignore``, so that answers are never committed and handed out).
:func:`status` (``medlab exercises check``) reads only the manifest and hashes while nothing
changed, so it answers in well under a second, and tells "has edits" (the student's work,
kept) apart from "stale" (the lesson changed since the release).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from medlab import files
from medlab.course.notebooks import code_cells, read_notebook
from medlab.course.naming import relative_path
from medlab.course.runs import NOTEBOOK_GLOB, default_notebooks_folder
from medlab.course.student_notebook import (  # noqa: F401  (part of this module's API)
    BEGIN,
    END,
    GENERIC_HINT,
    HINT,
    NOTICE_ID,
    ExerciseError,
    find_exercises,
    load_nbformat,
    render,
    solution_blocks,
    solution_lines,
    sorted_functions,
    strip_solutions,
    student_notebook,
)

#: Folder of the student notebooks, inside the lessons' folder.
EXERCISES_FOLDER = "exercises"
#: What release wrote, beside the student notebooks.
MANIFEST = "MANIFEST.json"
#: Copies of student notebooks kept by ``release --force``, inside the student folder: a
#: dot-folder, so that pytest does not collect them (its default ``norecursedirs``).
BACKUPS_FOLDER = ".backups"
#: Written into the backups folder: git ignores the folder wherever it lies.
_BACKUPS_GITIGNORE = "# Written by 'medlab exercises release --force': students' answers, never committed.\n*\n"


class StudentWorkError(ValueError):
    """``release`` would overwrite or remove student notebooks that hold edits."""

    def __init__(self, paths):
        self.paths = list(paths)
        names = ", ".join(relative_path(p) for p in self.paths)
        super().__init__(
            f"{names}: differ{'s' if len(self.paths) == 1 else ''} from what 'medlab exercises "
            "release' wrote (a student's work?); nothing was written. 'medlab exercises release "
            f"--force' first keeps a copy of each in {BACKUPS_FOLDER}/, then writes them anew")


# ------------------------------------------------------------------ release and check
def _folders(notebooks, out):
    notebooks = Path(notebooks) if notebooks is not None else default_notebooks_folder()
    if not notebooks.is_dir():
        raise FileNotFoundError(f"{notebooks}: no such folder")
    out = Path(out) if out is not None else notebooks / EXERCISES_FOLDER
    return notebooks, out


def _refuse_lesson_folders(notebooks, out):
    """Raise when writing student notebooks into ``out`` could overwrite or remove lessons:
    ``out`` is the lessons' folder (however spelt), holds it, or holds a lesson of its own
    (a numbered notebook with a solution block, e.g. another checkout's ``notebooks/``)."""
    lessons, target = notebooks.resolve(), out.resolve()
    if target == lessons:
        problem = f"it is the lessons' folder {relative_path(notebooks)}"
    elif target in lessons.parents:
        problem = f"it holds the lessons' folder {relative_path(notebooks)}"
    else:
        found = next((path for path in sorted(out.glob(NOTEBOOK_GLOB)) if _is_lesson(path)),
                     None) if out.is_dir() else None
        if found is None:
            return
        problem = f"it holds the lesson {found.name} (a solution block)"
    from medlab import validate  # numpy: only for the error

    raise validate.ArgumentError(
        f"out {str(out)!r}: {problem}, and release would overwrite or remove the lessons; "
        f"expected a folder of its own for the student notebooks, such as "
        f"{relative_path(notebooks / EXERCISES_FOLDER)}")


def _is_lesson(path):
    """Whether ``path``, in a folder for student notebooks, is a lesson (a notebook with a
    solution block). A student's file that is no readable notebook (a FIFO, which would hang,
    a folder, bytes that are not JSON) is not one, and only a regular file is opened."""
    if not path.is_file():
        return False
    try:
        return _has_solution_block(path)
    except (OSError, ValueError):  # UnicodeDecodeError, NotebookError: a student's own bytes
        return False


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
    nb = load_nbformat().read(path, as_version=4)
    return out / path.name, render(student_notebook(nb, path.name))


def expected_files(notebooks=None, out=None):
    """{student notebook path: its contents} for a fresh release."""
    notebooks, out = _folders(notebooks, out)
    return dict(expected_file(path, out) for path in lessons_with_exercises(notebooks))


def _others(out, expected, manifest):
    """The numbered notebooks of ``out`` that a release would not write: (orphans, copies).

    An orphan is one that release wrote (named in the manifest) for a lesson that has no
    exercise any more. Any other is a student's: a copy (JupyterLab's "Duplicate" makes
    ``02_convolution-Copy1.ipynb``) or their own notebook, which release leaves alone."""
    if not out.is_dir():
        return [], []
    others = [path for path in sorted(out.glob(NOTEBOOK_GLOB)) if path not in expected]
    return ([path for path in others if path.name in manifest],
            [path for path in others if path.name not in manifest])


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def tooling_fingerprint():
    """SHA-256 of the code that turns a lesson into a student notebook
    (:mod:`medlab.course.student_notebook` and the ``medlab.checks`` package): when it
    changes, a release may write other bytes."""
    here = Path(__file__).resolve()
    sources = [here.with_name("student_notebook.py"), *sorted((here.parents[1] / "checks").glob("*.py"))]
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
    if not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text(_BACKUPS_GITIGNORE, encoding="utf-8")
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

    A numbered notebook that release did not write (not in ``MANIFEST.json``: a student's
    copy, such as JupyterLab's ``02_convolution-Copy1.ipynb``) is left as it is.
    Never overwrites or removes a student notebook whose bytes differ from what the
    previous release wrote (see ``MANIFEST.json``): those are refused, all named in one
    :class:`StudentWorkError`, before anything is written, unless ``force``, which first
    copies each to ``<out>/.backups/<lesson>-<timestamp>.ipynb`` (ignored by git and pytest).

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
        Each student notebook and "written", "unchanged", "removed (...)",
        "written (edits kept in .backups/...)" or :data:`STUDENTS_COPY_KEPT`.
    """
    notebooks, out = _folders(notebooks, out)
    _refuse_lesson_folders(notebooks, out)
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
    orphans, copies = _others(out, expected, manifest)
    for path in orphans:
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
    report += [(path, STUDENTS_COPY_KEPT) for path in copies]
    if entries != manifest or not (out / MANIFEST).exists():
        _write_manifest(out, entries)
    return report


def stale(notebooks=None, out=None):
    """The student notebooks that a fresh release would change: [(Path, problem)].

    Builds every student notebook anew (seconds); :func:`status` is the fast check.
    """
    notebooks, out = _folders(notebooks, out)
    _refuse_lesson_folders(notebooks, out)
    expected = expected_files(notebooks, out)
    problems = []
    for path, text in expected.items():
        if not path.exists():
            problems.append((path, "missing"))
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append((path, "stale: differs from its solution notebook"))
    for path in _others(out, expected, read_manifest(out))[0]:
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
                     "new version after keeping a copy of this one in "
                     f"{BACKUPS_FOLDER}/",
    "orphan": "orphan: its lesson has no exercises any more",
    "orphan, edited": "orphan with edits (a student's work): its lesson has no exercises any "
                      "more; release keeps it",
    "student's copy": "a student's copy or own notebook (release did not write it): release "
                      "leaves it as it is",
}
#: What :func:`release` reports for a student's copy.
STUDENTS_COPY_KEPT = "left as it is (a student's copy: release did not write it)"


def status(notebooks=None, out=None):
    """The state of every student notebook: [(Path, state)], states as in :data:`STATES`.

    Fast: reads ``MANIFEST.json`` and hashes files; a student notebook is rebuilt only when
    its lesson or the tooling changed since the release (or when no manifest exists).
    """
    notebooks, out = _folders(notebooks, out)
    _refuse_lesson_folders(notebooks, out)
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
    orphans, copies = _others(out, expected_paths, manifest)
    for path in orphans:
        edited = not _released_as_is(path, manifest.get(path.name))
        result.append((path, "orphan, edited" if edited else "orphan"))
    result += [(path, "student's copy") for path in copies]
    return result


__all__ = ["BEGIN", "END", "HINT", "MANIFEST", "STATES", "ExerciseError", "StudentWorkError",
           "find_exercises", "strip_solutions", "solution_blocks", "student_notebook", "render",
           "solution_lines", "release", "stale", "status", "expected_files",
           "lessons_with_exercises", "read_manifest", "relative_path", "tooling_fingerprint"]
