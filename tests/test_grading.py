"""``medlab exercises grade`` on a generated class, and the nbgrader round trip (#27).

A class of 32 submissions of two lessons (02 convolution in nbgrader's layout, 03 pooling as
a flat folder) is graded once through the command; the gradebook is asserted row by row:
right answers, each common mistake with its hint and partial credit, and every kind of bad
submission (raises, kills its kernel, prints megabytes, deleted, reordered or renamed cells,
a redefined check, invalid JSON, an empty file, a non-notebook file, an extra file). Two
hanging submissions are graded apart with short time limits. The nbgrader round trip runs
real nbgrader (sqlite gradebook in a temporary course folder, no network).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from medlab.course import grading, nbgrader_export
from medlab.course.cli import main
from medlab.course.execute import START_RETRIES
from medlab.course.student_notebook import find_exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _lesson(prefix):
    """The lesson's stem by its number (lesson files are renamed, numbers 02-08 are not)."""
    (path,) = sorted(NOTEBOOKS.glob(f"{prefix}_*.ipynb"))
    return path.stem


CONV, POOL = _lesson("02"), _lesson("03")


def _solutions(lesson):
    """{function: the lesson's exercise cell defining it (markers are comments)}."""
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return {function: nb.cells[e.cell].source for e in find_exercises(nb) for function in e.functions}


def _student(lesson):
    return nbformat.read(NOTEBOOKS / "exercises" / f"{lesson}.ipynb", as_version=4)


def _exercise_cell(nb, function):
    return next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                and f"def {function}(" in cell.source and "exercise" in cell.metadata.get("tags", []))


def _submission(lesson, code=None, *, right=(), edit=None):
    """The student notebook with ``right`` exercises solved, ``code`` {function: source}."""
    nb = _student(lesson)
    solutions = _solutions(lesson)
    for function in right:
        nb.cells[_exercise_cell(nb, function)].source = solutions[function]
    for function, source in (code or {}).items():
        nb.cells[_exercise_cell(nb, function)].source = source
    if edit is not None:
        edit(nb)
    return nbformat.writes(nb).encode()


CORRELATE = """import numpy as np

def cross_correlate(image, kernel):
    k = {kernel}
    kh, kw = k.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * k)
    {end}
"""
POOL_CODE = """import numpy as np

def {name}(image, size, stride):
    rows = (image.shape[0] - size) // {step} + 1
    cols = (image.shape[1] - size) // {step} + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = image[i * {step}:i * {step} + size, j * {step}:j * {step} + size].{how}
    return out
"""
CONV_ALL = ("cross_correlate", "conv_output_size", "zero_pad")
POOL_ALL = ("max_pool", "avg_pool")


def _flipped():
    return CORRELATE.format(kernel="np.flip(kernel)", end="return out")


def _insert_raising_cell(nb):
    nb.cells.insert(5, nbformat.v4.new_code_cell("raise RuntimeError('a cell that raises')"))


def _delete(function):
    def edit(nb):
        del nb.cells[_exercise_cell(nb, function)]
    return edit


def _reverse(nb):
    nb.cells.reverse()


def _fake_check(nb):
    index = _exercise_cell(nb, "cross_correlate")
    nb.cells[index].source += "\n\ndef check_cross_correlate(function):\n    print('all pass')\n    return True\n"
    nb.cells[index + 1].source = "print('cross_correlate: all 7 test cases pass. Well done!')"


def _drop_check_cells(nb):
    nb.cells = [cell for cell in nb.cells if "exercise-check" not in cell.metadata.get("tags", [])]


def _class(folder):
    """Write the class; return nothing (the expected rows are in EXPECTED)."""
    conv = {  # student -> notebook bytes, nbgrader's layout
        "ada": _submission(CONV, right=CONV_ALL),
        "ben": _submission(CONV, {"cross_correlate": _flipped()}, right=CONV_ALL[1:]),
        "cai": _submission(CONV, {"conv_output_size": "def conv_output_size(n, k, p, s):\n"
                                                      "    return n + 2 * p - k + 1\n"},
                           right=("cross_correlate", "zero_pad")),
        "dan": _submission(CONV, {"conv_output_size": "def conv_output_size(n, k, p, s):\n"
                                                      "    return (n + 2 * p - k) // s\n"},
                           right=("cross_correlate", "zero_pad")),
        "eve": _submission(CONV, {"zero_pad": "import numpy as np\n\ndef zero_pad(images, p):\n"
                                              "    return np.pad(images, p)\n"}, right=CONV_ALL[:2]),
        "fay": _submission(CONV, {"zero_pad": "import numpy as np\n\ndef zero_pad(images, p):\n"
                                              "    return np.pad(images, ((0, 0), (p, p), (p, p), "
                                              "(0, 0)), mode='edge')\n"}, right=CONV_ALL[:2]),
        "gus": _submission(CONV),  # the released notebook, untouched
        "hal": _submission(CONV, {"cross_correlate": "def cross_correlate(image, kernel):\n"
                                                     "    raise ValueError('shapes do not match')\n"},
                           right=CONV_ALL[1:], edit=_insert_raising_cell),
        "ivy": _submission(CONV, {"zero_pad": "import os\n\ndef zero_pad(images, p):\n"
                                              "    os._exit(3)\n"}, right=CONV_ALL[:2]),
        "jon": _submission(CONV, {"cross_correlate": _flipped().replace(
            "    k = np.flip(kernel)", "    print('x' * 1_000_000)\n    k = kernel")},
            right=CONV_ALL[1:]),
        "kim": _submission(CONV, right=CONV_ALL, edit=_delete("conv_output_size")),
        "lea": _submission(CONV, right=CONV_ALL, edit=_reverse),
        "max": _submission(CONV, {"zero_pad": _solutions(CONV)["zero_pad"].replace(
            "def zero_pad(", "def my_zero_pad(")}, right=CONV_ALL[:2]),
        "ned": _submission(CONV, {"cross_correlate": _flipped()}, right=CONV_ALL[1:],
                           edit=_fake_check),
        "oli": _submission(CONV, right=CONV_ALL, edit=_drop_check_cells),
        "pia": _submission(CONV, {"cross_correlate": CORRELATE.format(kernel="kernel", end="pass")},
                           right=CONV_ALL[1:]),
        "quy": _submission(CONV, {"conv_output_size": "def conv_output_size(n, k, p, s)\n"
                                                      "    return 1\n"},
                           right=("cross_correlate", "zero_pad")),
        "ray": _submission(CONV, {"conv_output_size": "import sys\n\ndef conv_output_size(n, k, p, s):\n"
                                                      "    sys.exit(1)\n"},
                           right=("cross_correlate", "zero_pad")),
        "sam": _submission(CONV, right=CONV_ALL)[:4000],  # cut short: invalid JSON
        "tia": b"",
        "uma": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    }
    for student, data in conv.items():
        path = folder / student / CONV / f"{CONV}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    (folder / "ada" / CONV / "notes.txt").write_text("my notes\n")
    (folder / "ada" / CONV / ".ipynb_checkpoints").mkdir()
    (folder / "ada" / CONV / ".ipynb_checkpoints" / f"{CONV}-checkpoint.ipynb").write_bytes(conv["gus"])
    pool = {  # flat: <student>_<lesson>.ipynb
        "vic": _submission(POOL, right=POOL_ALL),
        "wes": _submission(POOL, {"max_pool": POOL_CODE.format(name="max_pool", step="stride",
                                                               how="mean()")}, right=("avg_pool",)),
        "xia": _submission(POOL, {"avg_pool": POOL_CODE.format(name="avg_pool", step="stride",
                                                               how="sum()")}, right=("max_pool",)),
        "yan": _submission(POOL, {"max_pool": POOL_CODE.format(name="max_pool", step="size",
                                                               how="max()")}, right=("avg_pool",)),
        "zoe": _submission(POOL),
        "abe": _submission(POOL, {"avg_pool": POOL_CODE.format(name="mean_pool", step="stride",
                                                               how="mean()")}, right=("max_pool",)),
        "bea": _submission(POOL, {"max_pool": "def max_pool(image, size, stride):\n"
                                              "    return image[::stride, ::stride] + undefined_name\n"},
                           right=("avg_pool",)),
        "cid": _submission(POOL, right=POOL_ALL, edit=_reverse),
        "dee": b'{"cells": [',
        "eli": _submission(POOL, {"max_pool": POOL_CODE.format(name="max_pool", step="stride",
                                                               how="max()").replace(
            "def max_pool", "def check_max_pool(f):\n    return True\n\ndef max_pool").replace(
            "    return out", "    return out[:-1]")}, right=("avg_pool",)),
        "fin": _submission(POOL, right=POOL_ALL, edit=_drop_check_cells),
    }
    for student, data in pool.items():
        (folder / f"{student}_{POOL}.ipynb").write_bytes(data)


GOOD = {"passed": None, "mistake": "pass", "hint": "", "error": ""}
CASES = {"cross_correlate": 7, "conv_output_size": 10, "zero_pad": 4, "max_pool": 6, "avg_pool": 6}


def _right(student, lesson, functions):
    return [(student, lesson, f, CASES[f], CASES[f], 1.0, "pass", "", "") for f in functions]


def _none(student, lesson, functions, mistake, error=""):
    return [(student, lesson, f, 0, 0 if mistake in ("unreadable", "missing") else CASES[f], 0.0,
             mistake, "", error) for f in functions]


#: (student, lesson, exercise, passed, cases, points, mistake, hint starts with, error holds)
EXPECTED = [
    *_right("ada", CONV, CONV_ALL),
    ("ada", CONV, "", 0, 0, 0.0, "extra file", "", "notes.txt: not a notebook"),
    ("abe", POOL, "max_pool", 6, 6, 1.0, "pass", "", ""),
    ("abe", POOL, "avg_pool", 0, 0, 0.0, "missing", "", "the notebook defines mean_pool: renamed?"),
    ("bea", POOL, "max_pool", 0, 6, 0.0, "raised", "", "NameError: name 'undefined_name'"),
    ("bea", POOL, "avg_pool", 6, 6, 1.0, "pass", "", ""),
    ("ben", CONV, "cross_correlate", 1, 7, 0.14, "wrong: flipped_kernel", "your result is the true convolution", ""),
    *_right("ben", CONV, CONV_ALL[1:]),
    ("cai", CONV, "cross_correlate", 7, 7, 1.0, "pass", "", ""),
    ("cai", CONV, "conv_output_size", 5, 10, 0.5, "wrong: stride_ignored", "the stride is ignored", ""),
    ("cai", CONV, "zero_pad", 4, 4, 1.0, "pass", "", ""),
    *_right("cid", POOL, POOL_ALL),
    ("dan", CONV, "cross_correlate", 7, 7, 1.0, "pass", "", ""),
    ("dan", CONV, "conv_output_size", 0, 10, 0.0, "wrong: off_by_one", "off by one in the output size", ""),
    ("dan", CONV, "zero_pad", 4, 4, 1.0, "pass", "", ""),
    *_none("dee", POOL, POOL_ALL, "unreadable", "invalid JSON"),
    ("eli", POOL, "max_pool", 0, 6, 0.0, "wrong: off_by_one", "off by one in the output size", ""),
    ("eli", POOL, "avg_pool", 6, 6, 1.0, "pass", "", ""),
    *_right("eve", CONV, CONV_ALL[:2]),
    ("eve", CONV, "zero_pad", 1, 4, 0.25, "wrong: wrong_axes", "padding on the wrong axes", ""),
    *_right("fay", CONV, CONV_ALL[:2]),
    ("fay", CONV, "zero_pad", 1, 4, 0.25, "wrong: not_zeros", "pad with zeros", ""),
    *_right("fin", POOL, POOL_ALL),
    *_none("gus", CONV, CONV_ALL, "unfinished"),
    ("hal", CONV, "cross_correlate", 0, 7, 0.0, "raised", "", "ValueError: shapes do not match"),
    *_right("hal", CONV, CONV_ALL[1:]),
    *_right("ivy", CONV, CONV_ALL[:2]),
    ("ivy", CONV, "zero_pad", 0, 0, 0.0, "crashed", "", "the kernel died while the check ran"),
    ("jon", CONV, "cross_correlate", 7, 7, 1.0, "pass", "", ""),
    *_right("jon", CONV, CONV_ALL[1:]),
    ("kim", CONV, "cross_correlate", 7, 7, 1.0, "pass", "", ""),
    ("kim", CONV, "conv_output_size", 0, 0, 0.0, "missing", "", "no function named conv_output_size (deleted or renamed?)"),
    ("kim", CONV, "zero_pad", 4, 4, 1.0, "pass", "", ""),
    *_right("lea", CONV, CONV_ALL),
    *_right("max", CONV, CONV_ALL[:2]),
    ("max", CONV, "zero_pad", 0, 0, 0.0, "missing", "", "the notebook defines my_zero_pad: renamed?"),
    ("ned", CONV, "cross_correlate", 1, 7, 0.14, "wrong: flipped_kernel", "your result is the true convolution", ""),
    *_right("ned", CONV, CONV_ALL[1:]),
    *_right("oli", CONV, CONV_ALL),
    ("pia", CONV, "cross_correlate", 0, 7, 0.0, "none", "", ""),
    *_right("pia", CONV, CONV_ALL[1:]),
    ("quy", CONV, "cross_correlate", 7, 7, 1.0, "pass", "", ""),
    ("quy", CONV, "conv_output_size", 0, 0, 0.0, "missing", "", "SyntaxError"),
    ("quy", CONV, "zero_pad", 4, 4, 1.0, "pass", "", ""),
    ("ray", CONV, "cross_correlate", 7, 7, 1.0, "pass", "", ""),
    ("ray", CONV, "conv_output_size", 0, 10, 0.0, "raised", "", "SystemExit: 1"),
    ("ray", CONV, "zero_pad", 4, 4, 1.0, "pass", "", ""),
    *_none("sam", CONV, CONV_ALL, "unreadable", "invalid JSON"),
    *_none("tia", CONV, CONV_ALL, "unreadable", "an empty file"),
    *_none("uma", CONV, CONV_ALL, "unreadable", "invalid JSON"),
    *_right("vic", POOL, POOL_ALL),
    ("wes", POOL, "max_pool", 0, 6, 0.0, "wrong: max_avg_mixed", "max and average are mixed up", ""),
    ("wes", POOL, "avg_pool", 6, 6, 1.0, "pass", "", ""),
    ("xia", POOL, "max_pool", 6, 6, 1.0, "pass", "", ""),
    ("xia", POOL, "avg_pool", 0, 6, 0.0, "wrong: sum_not_mean", "divide by the number of pixels", ""),
    ("yan", POOL, "max_pool", 3, 6, 0.5, "wrong: stride_ignored", "the stride is ignored", ""),
    ("yan", POOL, "avg_pool", 6, 6, 1.0, "pass", "", ""),
    *_none("zoe", POOL, POOL_ALL, "unfinished"),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    submissions, out = folder / "submitted", folder / "grades"
    _class(submissions)
    before = {path: path.read_bytes() for path in submissions.rglob("*") if path.is_file()}
    code = main(["exercises", "grade", str(submissions), "--out", str(out), "--notebooks",
                 str(NOTEBOOKS), "--jobs", "2"])
    assert code == 0
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return submissions, before, out, rows


def test_the_class_is_large_enough():
    students = {row[0] for row in EXPECTED}
    assert len(students) >= 30 and {row[1] for row in EXPECTED} == {CONV, POOL}


def test_gradebook_row_by_row(graded):
    _, _, _, rows = graded
    assert list(rows[0]) == list(grading.COLUMNS)
    got = sorted(rows, key=lambda row: (row["student"], row["notebook"], row["exercise"]))
    expected = sorted(EXPECTED, key=lambda row: row[0])
    by_student = {}
    for row in got:
        by_student.setdefault(row["student"], []).append(row)
    assert sorted(by_student) == sorted({row[0] for row in EXPECTED})
    for student, lesson, exercise, passed, cases, points, mistake, hint, error in expected:
        (row,) = [r for r in by_student[student] if r["exercise"] == exercise]
        where = f"{student} {exercise}: {row}"
        assert row["lesson"] == lesson, where
        assert (int(row["passed"]), int(row["cases"]), float(row["points"])) == (passed, cases, points), where
        assert float(row["max"]) == (1.0 if exercise else 0.0), where
        assert row["mistake"] == mistake, where
        assert row["hint"].startswith(hint) and bool(row["hint"]) == bool(hint), where
        assert error in row["error"] and bool(row["error"]) == bool(error), where
    assert len(rows) == len(EXPECTED)


def test_submissions_are_never_changed(graded):
    submissions, before, _, _ = graded
    assert len(before) == 32 + 2  # the notes and the checkpoint beside them
    for path, data in before.items():
        assert path.read_bytes() == data
    assert sorted(path for path in submissions.rglob("*") if path.is_file()) == sorted(before)


def test_summary_counts_the_mistakes(graded):
    _, _, out, _ = graded
    text = (out / "summary.md").read_text(encoding="utf-8")
    section = text.split(f"### {CONV} · cross_correlate", 1)[1].split("###", 1)[0]
    assert "| pass | 13 |" in section
    assert "| wrong: flipped_kernel | 2 |" in section
    assert "| unreadable | 3 |" in section
    assert "notes.txt: not a notebook" in text
    assert "| ada | 02_convolution | 3.00 | 3 |" in text.replace(CONV, "02_convolution")


def test_feedback_shows_code_verdict_and_hint(graded):
    _, _, out, _ = graded
    html = (out / "feedback" / "ben.html").read_text(encoding="utf-8")
    assert "flip" in html and "kernel" in html  # the student's code
    assert "cross_correlate: case" in html  # the check's verdict
    assert "your result is the true convolution" in html
    assert len(list((out / "feedback").glob("*.html"))) == len({row[0] for row in EXPECTED})
    jon = (out / "feedback" / "jon.html").read_text(encoding="utf-8")
    assert "output cut" in jon and len(jon) < 500_000  # a megabyte of prints, capped


def test_hanging_submissions_cost_only_their_exercise(tmp_path):
    loop = _submission(CONV, {"cross_correlate": "def cross_correlate(image, kernel):\n"
                                                 "    while True:\n        pass\n"},
                       right=CONV_ALL[1:])
    stuck = _submission(CONV, {"conv_output_size": "STEP = 1\nwhile True:\n    STEP = 1\n\n"
                                                   "def conv_output_size(n, k, p, s):\n"
                                                   "    return (n + 2 * p - k) // s + STEP\n"},
                        right=("cross_correlate", "zero_pad"))
    for student, data in (("loop", loop), ("stuck", stuck)):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f"{student}-{CONV}.ipynb").write_bytes(data)
    rows = grading.grade(tmp_path / "in", tmp_path / "out", notebooks=NOTEBOOKS, jobs=2,
                         cell_timeout=30, case_timeout=2, feedback=False)
    got = {(row["student"], row["exercise"]): row for row in rows}
    assert got["loop", "cross_correlate"]["mistake"] == "timeout"
    assert got["loop", "cross_correlate"]["points"] == 0.0
    assert got["stuck", "conv_output_size"]["mistake"] == "missing"
    assert "did not finish within 30 s" in got["stuck", "conv_output_size"]["error"]
    for key in (("loop", "conv_output_size"), ("loop", "zero_pad"), ("stuck", "cross_correlate"),
                ("stuck", "zero_pad")):
        assert got[key]["mistake"] == "pass", got[key]


def test_out_folder_is_never_clobbered(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "grades.xlsx").write_text("the instructor's own file")
    with pytest.raises(grading.GradingError, match="did not write"):
        grading.grade(tmp_path / "in", tmp_path / "mine", notebooks=NOTEBOOKS)
    with pytest.raises(grading.GradingError, match="inside the submissions"):
        grading.grade(tmp_path / "in", tmp_path / "in" / "out", notebooks=NOTEBOOKS)
    assert main(["exercises", "grade", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"),
                 "--notebooks", str(NOTEBOOKS)]) == 1
    assert main(["exercises", "grade", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                 "--notebooks", str(NOTEBOOKS), "--lesson", "99_none"]) == 1


def test_needed_cells_skip_what_grading_does_not_need():
    sources = ["from medlab import keras, ops\nimport numpy as np", "import os\nos._exit(1)",
               "SCALE = 2\nprint(keras)", "def helper(x):\n    return SCALE * x",
               "def f(image):\n    total = np.sum(image)\n    return helper(total)", "f(1)"]
    assert grading.needed_cells(sources, ["f"]) == [
        (0, "import numpy as np"), (2, "SCALE = 2"), (3, sources[3]), (4, sources[4])]


def test_nbgrader_source_cells(tmp_path):
    written = nbgrader_export.export(tmp_path, NOTEBOOKS)
    path = tmp_path / "source" / CONV / f"{CONV}.ipynb"
    assert path in written
    nb = nbformat.read(path, as_version=4)
    meta = [cell.metadata.get("nbgrader") for cell in nb.cells if "nbgrader" in cell.metadata]
    assert [(m["grade_id"], m["solution"], m["grade"], m.get("points")) for m in meta] == [
        ("cross_correlate", True, False, None), ("check_cross_correlate", False, True, 1.0),
        ("conv_output_size", True, False, None), ("check_conv_output_size", False, True, 1.0),
        ("zero_pad", True, False, None), ("check_zero_pad", False, True, 1.0)]
    assert all(m["locked"] for m in meta if m["grade"])
    solution = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    assert "    # HINT:" in solution.split("### BEGIN SOLUTION")[0]
    assert nbgrader_export.export(tmp_path, NOTEBOOKS) == written  # again: the same files
    path.write_text(path.read_text().replace("Learning goals", "Goals"))
    with pytest.raises(FileExistsError, match="edited since"):
        nbgrader_export.export(tmp_path, NOTEBOOKS)
    assert "Goals" in path.read_text()


def _nbgrader(course, *args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_nbgrader_round_trip(tmp_path):
    pytest.importorskip("nbgrader")
    course = tmp_path / "course"
    assert main(["exercises", "release", "--notebooks", str(NOTEBOOKS), "--out",
                 str(tmp_path / "students"), "--nbgrader", str(course)]) == 0
    for other in (course / "source").iterdir():  # one lesson is enough for the round trip
        if other.is_dir() and other.name != POOL:
            shutil.rmtree(other)
    _nbgrader(course, "generate_assignment", POOL, "--force")
    released = nbformat.read(course / "release" / POOL / f"{POOL}.ipynb", as_version=4)
    solutions = _solutions(POOL)
    right, wrong = nbformat.from_dict(released), nbformat.reads(nbformat.writes(released), 4)
    for nb, code in ((right, solutions),
                     (wrong, {"max_pool": POOL_CODE.format(name="max_pool", step="size", how="max()"),
                              "avg_pool": "def avg_pool(image, size, stride):\n    return None\n"})):
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = code[grade_id]
            if grade_id == "check_max_pool" and nb is wrong:
                cell.source = "print('all pass')"  # nbgrader puts the test cell back
    for student, nb in (("right", right), ("wrong", wrong)):
        (course / "submitted" / student / POOL).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / POOL / f"{POOL}.ipynb")
    _nbgrader(course, "autograde", POOL, "--create", "--force")
    _nbgrader(course, "generate_feedback", POOL, "--force")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: {grade.name: grade.score for notebook in
                            gradebook.find_submission(POOL, student).notebooks
                            for grade in notebook.grades} for student in ("right", "wrong")}
    assert scores == {"right": {"check_max_pool": 1.0, "check_avg_pool": 1.0},
                      "wrong": {"check_max_pool": 0.5, "check_avg_pool": 0.0}}
    feedback = (course / "feedback" / "wrong" / POOL / f"{POOL}.html").read_text(encoding="utf-8")
    assert "the stride is ignored" in feedback


def test_grading_on_a_local_dask_cluster_and_lesson_from_the_code(tmp_path):
    pytest.importorskip("distributed")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "zed.ipynb").write_bytes(_submission(POOL, right=POOL_ALL))  # no lesson in the name
    (tmp_path / "in" / "amy.ipynb").write_bytes(_submission(CONV, {"cross_correlate": _flipped()},
                                                            right=CONV_ALL[1:]))
    rows = grading.grade(tmp_path / "in", tmp_path / "out", notebooks=NOTEBOOKS, cluster="local",
                         feedback=False)
    got = [(row["student"], row["lesson"], row["exercise"], row["points"], row["mistake"]) for row in rows]
    assert got == [("amy", CONV, "cross_correlate", 0.14, "wrong: flipped_kernel"),
                   ("amy", CONV, "conv_output_size", 1.0, "pass"), ("amy", CONV, "zero_pad", 1.0, "pass"),
                   ("zed", POOL, "max_pool", 1.0, "pass"), ("zed", POOL, "avg_pool", 1.0, "pass")]


def test_a_notebook_of_no_lesson_with_exercises_gets_a_row_and_no_kernel():
    data = (NOTEBOOKS / f"{_lesson('01')}.ipynb").read_bytes()
    result = grading.grade_submission(data, "x.ipynb", "amy", None, [],
                                      lessons=grading.lesson_exercises(NOTEBOOKS))
    (row,) = result["rows"]
    assert (row["exercise"], row["mistake"], row["points"]) == ("", "unknown lesson", 0.0)
    assert "name the lesson with --lesson" in row["error"]


def test_output_is_capped_in_the_grading_kernel(tmp_path):
    import time

    cells = [(("cell", 0), "for _ in range(30):\n    print('x' * 100_000)"), (("cell", 1), "print('after')")]
    limits = {"cell": 120, "case": 10, "output": 200_000}
    outcomes, culprit = grading._run_cells(cells, limits, time.monotonic() + 300, str(tmp_path))
    assert culprit is None
    state, outputs = outcomes["cell", 0]
    assert state == "ok"
    assert sum(len(output.get("text", "")) for output in outputs) < 400_000  # not 3 MB
    assert "output cut" in outputs[-1]["text"]
    assert outcomes["cell", 1][1] == []  # over the budget: dropped, the cell still ran


def test_every_lessons_own_solutions_get_full_points(tmp_path):
    """What grading executes of a lesson (its functions' definitions and what they read) is
    enough: each lesson's solution notebook, as a submission, passes every check."""
    lessons = grading.lesson_exercises(NOTEBOOKS)
    for lesson in lessons:
        (tmp_path / "in" / "teacher" / lesson).mkdir(parents=True)
        shutil.copy(NOTEBOOKS / f"{lesson}.ipynb", tmp_path / "in" / "teacher" / lesson)
    rows = grading.grade(tmp_path / "in", tmp_path / "out", notebooks=NOTEBOOKS, jobs=2,
                         feedback=False)
    assert [(row["lesson"], row["exercise"]) for row in rows] == [
        (lesson, exercise.function) for lesson in sorted(lessons) for exercise in lessons[lesson]]
    assert [row for row in rows if row["mistake"] != "pass" or row["points"] != 1.0] == []


def test_a_kernel_that_dies_before_it_starts_is_started_again(monkeypatch):
    """A kernel that dies before answering (two kernels started at once on a busy machine) is
    the machine's fault: grading starts another, and says so only when starts keep failing."""
    lesson = _lesson("02")
    exercises = grading.lesson_exercises(NOTEBOOKS)[lesson]
    data = (NOTEBOOKS / f"{lesson}.ipynb").read_bytes()
    real, calls = grading._run_cells, []

    def flaky(cells, limits, deadline, cwd, fail=1):
        calls.append(len(calls))
        if len(calls) <= fail:
            return {"start": ("died", [{"output_type": "error", "ename": "KernelError",
                                        "evalue": "Kernel died before replying to kernel_info"}])}, None
        return real(cells, limits, deadline, cwd)

    monkeypatch.setattr(grading, "_run_cells", flaky)
    rows = grading.grade_submission(data, "s.ipynb", "amy", lesson, exercises)["rows"]
    assert [row["points"] for row in rows] == [e.points for e in exercises] and len(calls) == 2
    calls.clear()
    monkeypatch.setattr(grading, "_run_cells", lambda *a: flaky(*a, fail=99))
    rows = grading.grade_submission(data, "s.ipynb", "amy", lesson, exercises)["rows"]
    assert all("the kernel did not start (KernelError: Kernel died" in row["error"] for row in rows)
    assert len(calls) == 1 + START_RETRIES
    calls.clear()  # a kernel that did not answer in time has had its wait: not started again

    def silent(cells, limits, deadline, cwd):
        calls.append(len(calls))
        return {"start": ("error", [{"output_type": "error", "ename": "KernelError",
                                     "evalue": "Kernel didn't respond in 120 seconds"}])}, None

    monkeypatch.setattr(grading, "_run_cells", silent)
    rows = grading.grade_submission(data, "s.ipynb", "amy", lesson, exercises)["rows"]
    assert all("the kernel did not start (KernelError: Kernel didn't respond" in row["error"] for row in rows)
    assert len(calls) == 1
