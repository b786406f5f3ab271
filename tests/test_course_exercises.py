"""``medlab exercises release/check`` never destroy a student's work (small generated lessons).

A student answers an exercise in ``exercises/99_test.ipynb``; release refuses to write over
it (naming it) unless ``--force``, which keeps a timestamped copy first; check says the
notebook "has edits" and never advises an action that destroys them.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from medlab.course import cli, exercises

EXERCISE = textwrap.dedent('''\
    def conv_output_size(n, k, p, s):
        """Output size."""
        ### BEGIN SOLUTION
        ### HINT: floor((n + 2p - k) / s) + 1
        return (n + 2 * p - k) // s + 1
        ### END SOLUTION''')
CHECK = "from medlab.checks import check_conv_output_size\n\ncheck_conv_output_size(conv_output_size)"


def _lesson(path, extra=""):
    nb = new_notebook(cells=[new_markdown_cell("# 99 · Test\n\n**Learning goals**\n- none"),
                             new_code_cell(EXERCISE), new_code_cell(CHECK),
                             new_code_cell(f"print('the lesson goes on'){extra}")])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def lessons(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lesson(folder / "99_test.ipynb")
    return folder


def _main(capsys, *args):
    code = cli.main(["exercises", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _answer(path):
    """What a student does: replace the raise with an answer, save."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "raise NotImplementedError" in c.source)
    cell.source = cell.source.replace('raise NotImplementedError("conv_output_size: your code here")',
                                      "return (n + 2 * p - k) // s + 1  # my answer")
    nbformat.write(nb, path)
    return path.read_bytes()


def test_release_writes_a_manifest_and_check_is_up_to_date(lessons, capsys):
    code, out, _ = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 1 and "99_test.ipynb: missing" in out
    assert _main(capsys, "release", "--notebooks", str(lessons))[1].endswith("99_test.ipynb: written\n")
    manifest = exercises.read_manifest(lessons / "exercises")
    assert set(manifest) == {"99_test.ipynb"}
    assert _main(capsys, "release", "--notebooks", str(lessons))[1].endswith("99_test.ipynb: unchanged\n")
    assert _main(capsys, "check", "--notebooks", str(lessons)) == (0, "student notebooks up to date: 1\n", "")


def test_a_students_edited_notebook_survives_release(lessons, capsys):
    """The reported failure: check called the answered notebook stale and advised release,
    which overwrote it. Now check says it has edits, and release refuses to touch it."""
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    student = lessons / "exercises" / "99_test.ipynb"
    answered = _answer(student)

    code, out, err = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 1
    assert "99_test.ipynb: has edits (a student's work)" in out and "never overwrites it" in out
    assert "stale" not in out and "hold edits, which release keeps" in err

    code, out, err = _main(capsys, "release", "--notebooks", str(lessons))
    assert code == 1 and out == ""
    assert err.startswith("medlab: error: ") and "99_test.ipynb" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert student.read_bytes() == answered  # the student's work, untouched

    # the instructor changes the lesson: still stale AND edited, still never overwritten
    _lesson(lessons / "99_test.ipynb", extra="\nprint('new material')")
    code, out, _ = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 1 and "has edits (a student's work), and its lesson changed" in out
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 1
    assert student.read_bytes() == answered


def test_release_force_keeps_a_timestamped_copy_first(lessons, capsys):
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    student = lessons / "exercises" / "99_test.ipynb"
    fresh = student.read_bytes()
    answered = _answer(student)
    code, out, _ = _main(capsys, "release", "--force", "--notebooks", str(lessons))
    assert code == 0 and "99_test.ipynb: written (edits kept in " in out
    copies = list((lessons / "exercises" / exercises.BACKUPS_FOLDER).glob("99_test-*.ipynb"))
    assert len(copies) == 1 and copies[0].read_bytes() == answered
    assert student.read_bytes() == fresh
    assert _main(capsys, "check", "--notebooks", str(lessons))[0] == 0


def test_an_unreleased_lesson_changes_the_student_notebook_only_when_unedited(lessons, capsys):
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    _lesson(lessons / "99_test.ipynb", extra="\nprint('new material')")
    code, out, _ = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 1 and "99_test.ipynb: stale: its lesson changed" in out
    assert _main(capsys, "release", "--notebooks", str(lessons))[1].endswith("99_test.ipynb: written\n")
    assert "new material" in (lessons / "exercises" / "99_test.ipynb").read_text()


def test_an_orphan_with_edits_is_kept(lessons, capsys):
    """A student notebook that release wrote, whose lesson has no exercise any more."""
    _lesson(lessons / "98_gone.ipynb")
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    orphan = lessons / "exercises" / "98_gone.ipynb"
    answered = _answer(orphan)
    _no_exercise_lesson(lessons / "98_gone.ipynb")
    code, out, _ = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 1 and "98_gone.ipynb: orphan with edits" in out
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 1
    assert orphan.read_bytes() == answered


def test_an_unedited_orphan_is_removed(lessons, capsys):
    _lesson(lessons / "98_gone.ipynb")
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    _no_exercise_lesson(lessons / "98_gone.ipynb")
    code, out, _ = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 1 and "98_gone.ipynb: orphan: its lesson has no exercises" in out
    code, out, _ = _main(capsys, "release", "--notebooks", str(lessons))
    assert code == 0 and "98_gone.ipynb: removed" in out
    assert not (lessons / "exercises" / "98_gone.ipynb").exists()
    assert set(exercises.read_manifest(lessons / "exercises")) == {"99_test.ipynb"}


@pytest.mark.parametrize("name", ["99_test-Copy1.ipynb", "99_my_try.ipynb"])
def test_a_students_copy_is_tolerated_and_left_alone(lessons, capsys, name):
    """The reported failure: JupyterLab's Duplicate (``99_test-Copy1.ipynb``) was called an
    orphan by check, and release refused to write anything."""
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    student = lessons / "exercises" / "99_test.ipynb"
    copy = lessons / "exercises" / name
    copy.write_bytes(student.read_bytes())
    answered = _answer(copy)

    code, out, err = _main(capsys, "check", "--notebooks", str(lessons))
    assert code == 0 and err == ""
    assert f"{name}: a student's copy" in out and "orphan" not in out
    assert out.endswith("student notebooks up to date: 1; a student's copy left as it is: 1\n")

    _lesson(lessons / "99_test.ipynb", extra="\nprint('new material')")  # release has work to do
    code, out, err = _main(capsys, "release", "--notebooks", str(lessons))
    assert code == 0 and err == ""
    assert "99_test.ipynb: written" in out and f"{name}: left as it is (a student's copy" in out
    assert "new material" in student.read_text()
    assert copy.read_bytes() == answered
    assert not (lessons / "exercises" / exercises.BACKUPS_FOLDER).exists()
    assert set(exercises.read_manifest(lessons / "exercises")) == {"99_test.ipynb"}
    assert exercises.stale(lessons) == []


def test_without_a_manifest_a_differing_notebook_counts_as_the_students(lessons, capsys):
    (lessons / "exercises").mkdir()
    student = lessons / "exercises" / "99_test.ipynb"
    student.write_text("my own notes", encoding="utf-8")
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 1
    assert student.read_text() == "my own notes"


ROOT = Path(__file__).resolve().parents[1]


def _released_course(tmp_path, capsys):
    """A copy of the course's .gitignore, pytest settings and conftest, with one lesson
    released: (course folder, lessons folder)."""
    course = tmp_path / "course"
    for name in (".gitignore", "pyproject.toml", "conftest.py", "tools/portability.py",
                 "tests/nbval_sanitize.cfg"):
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, course / name)
    lessons = course / "notebooks"
    lessons.mkdir()
    _lesson(lessons / "99_test.ipynb")
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    return course, lessons


def _collected(course, *args):
    """What ``pytest --collect-only`` in ``course`` lists (this checkout's medlab on the path)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=course, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600,
        capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_backup_is_neither_collected_by_pytest_nor_seen_by_git(tmp_path, capsys):
    """The reported failure: backups/ beside the student notebooks was run by strict nbval
    (``make test`` red) and shown by ``git status`` (a student's answers could be committed).
    The course's own .gitignore, pytest settings and conftest, on a copy of the layout."""
    course, lessons = _released_course(tmp_path, capsys)
    answered = _answer(lessons / "exercises" / "99_test.ipynb")
    assert _main(capsys, "release", "--force", "--notebooks", str(lessons))[0] == 0
    backups = [p for p in (lessons / "exercises").rglob("99_test-*.ipynb")]
    assert len(backups) == 1 and backups[0].read_bytes() == answered

    subprocess.run(["git", "init", "-q", str(course)], check=True, timeout=60)
    seen_by_git = subprocess.run(["git", "-C", str(course), "status", "--porcelain", "--untracked-files=all"],
                                 check=True, timeout=60, capture_output=True, text=True).stdout
    assert "notebooks/exercises/99_test.ipynb" in seen_by_git  # the student notebook: yes
    assert backups[0].name not in seen_by_git

    collected = _collected(course)
    assert "notebooks/exercises/99_test.ipynb::Cell 0" in collected
    assert backups[0].name not in collected


def test_a_students_copy_is_not_collected_by_pytest_unless_named(tmp_path, capsys):
    """JupyterLab's "Duplicate" puts ``99_test-Copy1.ipynb`` beside the student notebooks: a
    student's own file, which strict nbval must not run in ``make test`` (its edits would turn the
    suite red). Named on the command line, it is collected as any notebook."""
    course, lessons = _released_course(tmp_path, capsys)
    copy = lessons / "exercises" / "99_test-Copy1.ipynb"
    shutil.copy2(lessons / "exercises" / "99_test.ipynb", copy)
    everything = _collected(course)
    assert "notebooks/exercises/99_test.ipynb::Cell 0" in everything
    assert copy.name not in everything
    assert "notebooks/exercises/99_test-Copy1.ipynb::Cell 0" in _collected(course, str(copy.relative_to(course)))


def _no_exercise_lesson(path):
    nb = new_notebook(cells=[new_markdown_cell("# 00 · Map"), new_code_cell("print('no exercise')")])
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("out", ["lessons", "lessons via ..", "lessons via a link", "above the lessons",
                                 "another course's lessons"])
@pytest.mark.parametrize("force", [False, True])
def test_release_refuses_an_out_folder_that_would_clobber_lessons(lessons, tmp_path, capsys, out, force):
    """The reported failure: ``release --out notebooks --force`` replaced the solution notebooks
    with student versions and deleted the lessons without exercises."""
    _no_exercise_lesson(lessons / "00_map.ipynb")
    other_course = tmp_path / "other" / "notebooks"
    other_course.mkdir(parents=True)
    _lesson(other_course / "98_theirs.ipynb")
    (tmp_path / "link").symlink_to(lessons, target_is_directory=True)
    folder = {"lessons": lessons, "lessons via ..": lessons / "exercises" / "..",
              "lessons via a link": tmp_path / "link", "above the lessons": tmp_path,
              "another course's lessons": other_course}[out]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    code, stdout, err = _main(capsys, "release", "--notebooks", str(lessons), "--out", str(folder),
                              *(["--force"] if force else []))
    assert code == 1 and stdout == ""
    assert err.startswith(f"medlab: error: out {str(folder)!r}: ") and "lessons" in err
    assert len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written
    code, _, err = _main(capsys, "check", "--notebooks", str(lessons), "--out", str(folder))
    assert code == 1 and err.startswith(f"medlab: error: out {str(folder)!r}: ")


def test_release_writes_into_an_out_folder_of_its_own(lessons, tmp_path, capsys):
    _no_exercise_lesson(lessons / "00_map.ipynb")
    out = tmp_path / "handout"
    assert _main(capsys, "release", "--notebooks", str(lessons), "--out", str(out))[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["99_test.ipynb", "MANIFEST.json"]
    assert _main(capsys, "check", "--notebooks", str(lessons), "--out", str(out))[0] == 0


@pytest.mark.parametrize("kind", ["fifo", "folder", "not utf-8", "not json"])
def test_an_odd_students_file_is_never_opened_and_left_alone(lessons, capsys, fifos, kind):
    """Looking for lessons in the output folder read every numbered notebook there: a FIFO
    hung check and release, bytes that are not UTF-8 gave a message naming no file."""
    assert _main(capsys, "release", "--notebooks", str(lessons))[0] == 0
    odd = lessons / "exercises" / "99_test-Copy1.ipynb"
    if kind == "fifo":
        fifos.make(odd.relative_to(fifos.folder))
    elif kind == "folder":
        odd.mkdir()
    else:
        odd.write_bytes(b"\xff\xfe my notes" if kind == "not utf-8" else b"{my notes")
    for action in ("check", "release"):
        code, out, err = fifos.call(_main, capsys, action, "--notebooks", str(lessons))
        assert (code, err) == (0, "")
        assert "99_test-Copy1.ipynb: " in out and "student's copy" in out
    assert odd.exists() and (kind in ("fifo", "folder") or odd.read_bytes().endswith(b"my notes"))
