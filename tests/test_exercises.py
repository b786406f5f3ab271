"""medlab.course.exercises and ``medlab exercises``: student notebooks made from the solution notebooks.

The committed student notebooks (notebooks/exercises/) must equal a fresh release and hold no
solution line; a student notebook runs with errors only where the release expects them.
"""

import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from medlab.course import cli, exercises, runs
from medlab.course.execute import KERNEL_START_SECONDS  # nbclient's own 60 s are reached under load
from medlab.course.execute import execute_client  # a kernel that dies while starting is started again
from medlab.course.exercises import BEGIN, END, ExerciseError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / exercises.EXERCISES_FOLDER
#: Lessons that must have at least two exercises each.
LESSONS_WITH_EXERCISES = ("02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13")


def _read(path):
    return nbformat.read(path, as_version=4)


def _lessons():
    return exercises.lessons_with_exercises(NOTEBOOKS)


# ------------------------------------------------------------ the committed notebooks
def test_committed_student_notebooks_are_up_to_date():
    problems = exercises.stale(NOTEBOOKS)
    assert not problems, (f"{problems}: run 'medlab exercises release' after editing a lesson "
                          "(or medlab.checks)")


@pytest.mark.parametrize("prefix", LESSONS_WITH_EXERCISES)
def test_lesson_has_at_least_two_checked_exercises(prefix):
    (path,) = NOTEBOOKS.glob(f"{prefix}_*.ipynb")
    nb = _read(path)
    functions = exercises.sorted_functions(exercises.find_exercises(nb))
    assert len(functions) >= 2, f"{path.name}: exercises {functions}"
    student = _read(STUDENT / path.name)
    checks = [c.source for c in student.cells if "exercise-check" in c.metadata.get("tags", [])]
    for function in functions:
        assert any(f"({function})" in source for source in checks), f"{function} is not checked"


@pytest.mark.parametrize("path", sorted(STUDENT.glob("*.ipynb")), ids=lambda p: p.name)
def test_no_solution_line_in_student_notebook(path):
    solution = _read(NOTEBOOKS / path.name)
    hidden = exercises.solution_lines(solution)
    assert hidden, "the solution notebook has no solution lines"
    shown = {line.strip() for cell in _read(path).cells for line in cell.source.split("\n")}
    text = path.read_text(encoding="utf-8")
    assert not hidden & shown, f"solution lines in {path.name}: {sorted(hidden & shown)}"
    assert BEGIN not in text and END not in text


@pytest.mark.parametrize("path", sorted(STUDENT.glob("*.ipynb")), ids=lambda p: p.name)
def test_student_notebook_keeps_the_lesson(path):
    """Same cells as the lesson plus the notice; the outputs of non-exercise cells are kept."""
    solution, student = _read(NOTEBOOKS / path.name), _read(path)
    assert [c.id for c in student.cells] == [solution.cells[0].id, exercises.NOTICE_ID] + [
        c.id for c in solution.cells[1:]]
    for ours, theirs in zip(student.cells[2:], solution.cells[1:]):
        tags = ours.metadata.get("tags", [])
        if ours.cell_type == "code" and not {"exercise", "exercise-check", "raises-exception"} & set(tags):
            assert ours == theirs


def test_exercise_folder_is_not_a_lesson_folder():
    """``medlab course``, the papermill tests and the execution-order rule skip it."""
    lessons = runs.course_notebooks(NOTEBOOKS)
    assert lessons and all(path.parent == NOTEBOOKS for path in lessons)
    assert sorted(STUDENT.glob(runs.NOTEBOOK_GLOB)) == [STUDENT / p.name for p in _lessons()]


def test_student_notebook_runs_with_only_expected_errors():
    """Run one student notebook (the quickest lesson) as a student would, errors allowed."""
    path = STUDENT / "03_pooling.ipynb"
    nb = _read(path)
    execute_client(NotebookClient(nb, timeout=300, startup_timeout=KERNEL_START_SECONDS,
                                  kernel_name="python3", allow_errors=True,
                                  resources={"metadata": {"path": str(path.parent)}}))
    stored = _read(path)
    for cell, before in zip(nb.cells, stored.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert all(o.ename == "NotImplementedError" for o in errors), errors
        if errors:
            assert "exercise" in tags or "raises-exception" in tags, cell.source
        if "exercise-check" in tags:
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "not done yet" in text and text == "".join(o.text for o in before.outputs)


# ------------------------------------------------------------ release on small notebooks
def _lesson(*cells):
    nb = new_notebook(cells=[new_markdown_cell("# 99 · Test\n\n**Learning goals**\n- none")]
                      + list(cells))
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"
        if cell.cell_type == "code":
            cell.execution_count = number
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {number}\n")]
    return nb


EXERCISE = textwrap.dedent('''\
    def conv_output_size(n, k, p, s):
        """Output size."""
        ### BEGIN SOLUTION
        ### HINT: the formula above
        ### HINT: uses // to round down
        return (n + 2 * p - k) // s + 1
        ### END SOLUTION''')
CHECK = "from medlab.checks import check_conv_output_size\n\ncheck_conv_output_size(conv_output_size)"


def test_solution_block_becomes_hint_and_raise():
    source, blocks = exercises.strip_solutions(EXERCISE)
    assert source == textwrap.dedent('''\
        def conv_output_size(n, k, p, s):
            """Output size."""
            # HINT: the formula above
            #       uses // to round down
            raise NotImplementedError("conv_output_size: your code here")''')
    assert [(b.function, b.top_level, b.hints) for b in blocks] == [
        ("conv_output_size", False, ["the formula above", "uses // to round down"])]
    bare = "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\nz = 3"
    assert exercises.strip_solutions(bare)[0] == (
        f"x = 1\n# HINT: {exercises.GENERIC_HINT}\n"
        'raise NotImplementedError("exercise: your code here")\nz = 3')


@pytest.mark.parametrize("source, message", [
    (f"{BEGIN}\nx = 1", "without ### END"),
    (f"x = 1\n{END}", "without ### BEGIN"),
    (f"{BEGIN}\n{BEGIN}\n{END}", "inside another"),
])
def test_unbalanced_markers_are_refused(source, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.strip_solutions(source)


def test_student_version_of_a_small_lesson():
    nb = _lesson(new_code_cell("import numpy as np"), new_code_cell(EXERCISE), new_code_cell(CHECK),
                 new_code_cell("print(conv_output_size(5, 3, 0, 1))"),  # uses the exercise
                 new_code_cell("y = conv_output_size(7, 3, 1, 2) + 1"),
                 new_code_cell("print(y)"),  # depends on it through y
                 new_code_cell("print('lesson goes on')"))
    student = exercises.student_notebook(nb, "99_test.ipynb")
    cells = student.cells
    assert cells[1].id == exercises.NOTICE_ID and "`conv_output_size`" in cells[1].source
    imports, exercise, check, uses, computes, prints, after = cells[2:]
    assert imports == nb.cells[1]
    assert exercise.metadata.tags == ["exercise"] and exercise.outputs == []
    assert exercise.execution_count is None and "NotImplementedError" in exercise.source
    assert check.metadata.tags == ["exercise-check"] and check.execution_count == 3
    assert [o.text for o in check.outputs] == [
        "conv_output_size: not done yet (it raises NotImplementedError). Write your code in place "
        "of the `raise NotImplementedError(...)` line, run that cell, then run this check again.\n"]
    for cell in (uses, computes, prints):
        assert cell.metadata.tags == ["raises-exception"]
        assert cell.outputs == [] and cell.execution_count is None
    assert after == nb.cells[-1]
    assert nb.cells[2].source == EXERCISE, "the solution notebook is not changed"
    assert exercises.render(exercises.student_notebook(nb, "99_test.ipynb")) == exercises.render(student)


def test_top_level_solution_cell_is_expected_to_raise():
    nb = _lesson(new_code_cell(f"{BEGIN}\nanswer = 42\n{END}"), new_code_cell("print(answer)"),
                 new_code_cell("print('fine')"))
    student = exercises.student_notebook(nb)
    assert "This lesson has 1 exercise. In each" in student.cells[1].source
    assert student.cells[2].metadata.tags == ["exercise", "raises-exception"]
    assert student.cells[3].metadata.tags == ["raises-exception"]
    assert "tags" not in student.cells[4].metadata


def test_exercise_without_check_and_unknown_check_are_refused():
    with pytest.raises(ExerciseError, match="no check cell for conv_output_size"):
        exercises.student_notebook(_lesson(new_code_cell(EXERCISE)))
    bad = _lesson(new_code_cell(EXERCISE),
                  new_code_cell("from medlab import checks\nchecks.check_nothing(conv_output_size)"))
    with pytest.raises(ExerciseError, match="check_nothing, which medlab.checks does not define"):
        exercises.student_notebook(bad)


def test_small_student_notebook_executes_with_errors_only_where_tagged():
    """nbclient, errors allowed: the tagged cells raise, the rest of the lesson runs."""
    nb = _lesson(new_code_cell(f"{BEGIN}\nanswer = 42\n{END}"), new_code_cell("print(answer)"),
                 new_code_cell("print('the lesson goes on')"))
    student = exercises.student_notebook(nb)
    execute_client(NotebookClient(student, timeout=60, startup_timeout=KERNEL_START_SECONDS,
                                  kernel_name="python3", allow_errors=True))
    raised = {i: [o.ename for o in c.outputs if o.output_type == "error"]
              for i, c in enumerate(student.cells) if c.cell_type == "code"}
    assert raised == {2: ["NotImplementedError"], 3: ["NameError"], 4: []}
    assert [student.cells[i].metadata.get("tags") for i in (2, 3, 4)] == [
        ["exercise", "raises-exception"], ["raises-exception"], None]
    assert student.cells[4].outputs[0].text == "the lesson goes on\n"


# ------------------------------------------------------------ release, check, the CLI
@pytest.fixture
def lessons(tmp_path):
    """A copy of two lessons (one with exercises, one without) in a temporary folder."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOKS / "04_dense_layers.ipynb", folder)
    shutil.copy(NOTEBOOKS / "00_course_map.ipynb", folder)
    return folder


def test_release_is_idempotent_and_matches_the_committed_student_notebook(lessons, capsys):
    """(Edited student notebooks, check's messages: tests/test_course_exercises.py.)"""
    assert cli.main(["exercises", "release", "--notebooks", str(lessons)]) == 0
    assert capsys.readouterr().out.endswith("04_dense_layers.ipynb: written\n")
    written = lessons / "exercises" / "04_dense_layers.ipynb"
    assert written.read_bytes() == (STUDENT / "04_dense_layers.ipynb").read_bytes()
    assert cli.main(["exercises", "release", "--notebooks", str(lessons)]) == 0
    assert capsys.readouterr().out.endswith("04_dense_layers.ipynb: unchanged\n")
    assert cli.main(["exercises", "check", "--notebooks", str(lessons)]) == 0
    assert capsys.readouterr().out == "student notebooks up to date: 1\n"


def test_release_reports_a_broken_lesson_as_one_line(lessons, capsys):
    nb = _read(lessons / "04_dense_layers.ipynb")
    cell = next(c for c in nb.cells if END in c.source)
    cell.source = cell.source.replace(END, "")
    nbformat.write(nb, lessons / "04_dense_layers.ipynb")
    assert cli.main(["exercises", "release", "--notebooks", str(lessons)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("medlab: error: 04_dense_layers.ipynb, cell ") and "without ### END" in err
