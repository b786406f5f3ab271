"""medlab.course.runs and ``medlab run`` / ``sweep`` / ``course``: parameterized papermill runs.

The notebooks here are tiny ones the tests write themselves: a parameters cell, the real
``medlab.params.check`` and ``medlab.report.record`` loaded from their files (so the kernel
does not import TensorFlow and a run takes a few seconds), and a record of the kernel's
working directory. Tests of the bookkeeping (skipping, interrupting, never overwriting)
replace the papermill process by ``fake_execute``.
"""

import csv
import json
import os
import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from papermill.cli import _resolve_type

from medlab import report
from medlab.course import cli, naming, processes, runs

LOAD = """import pathlib

from medlab import params, report  # light: importing medlab does not import TensorFlow

params.check(a=a, b=b, rules={"a": params.Int(0, 10), "b": params.Float(0.0, 10.0)})"""

RECORD = """report.record(score=a * b, a=a, label=label, cwd=str(pathlib.Path.cwd()))
print("score", a * b)"""


def write_notebook(path, parameters=None, body=RECORD):
    """A tiny notebook: parameters cell ``a``, ``b``, ``label`` (or ``parameters``), check, record."""
    if parameters is None:
        parameters = ('a: int = 1  # first factor, 0 to 10\n'
                      'b: float = 0.5  # second factor, 0 to 10\n'
                      'label: str = "x"  # any text')
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nb.cells = [new_markdown_cell("# 99 · Tiny"),
                new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                new_code_cell(LOAD), new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tiny(tmp_path):
    return write_notebook(tmp_path / "lessons" / "99_tiny.ipynb")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in tmp_path, so the default ``runs/`` lands there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


class FakeExecute:
    """Stands in for the papermill process: writes an output notebook and metrics at once."""

    def __init__(self, interrupt_at=None, real=None):
        self.calls = []
        self.interrupt_at, self.real = interrupt_at, real
        self.lock = threading.Lock()

    def __call__(self, notebook, parameters, output, metrics, timeout=None):
        with self.lock:
            self.calls.append(dict(parameters))
            number = len(self.calls)
        if number == self.interrupt_at:
            raise KeyboardInterrupt
        if self.real is not None:
            return self.real(notebook, parameters, output, metrics, timeout)
        nb = nbformat.read(notebook, as_version=4)
        nb.metadata["papermill"] = {"parameters": parameters}
        nbformat.write(nb, output)
        if parameters.get("a", 1) > 10:
            return {"status": "failed", "ename": "ParameterError", "cell": 3,
                    "evalue": f"parameter 'a' = {parameters['a']} (int): expected an integer in [0, 10]"}
        Path(metrics).write_text(json.dumps({"score": parameters.get("a", 1) * parameters.get("b", 0.5)}))
        return {"status": "ok"}


@pytest.fixture
def fake(monkeypatch):
    stub = FakeExecute()
    monkeypatch.setattr(processes, "execute", stub)
    return stub


def files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---- values, grids, names (no kernel) ------------------------------------------------
@pytest.mark.parametrize("text", ["True", "False", "None", "3", "-2", "1e-3", "0.5", "nan", "inf",
                                  "abc", "true", "", "3,5", "1_000", " 7"])
def test_values_are_converted_as_papermill_p_converts_them(text):
    ours, theirs = naming.parse_value(text), _resolve_type(text)
    assert type(ours) is type(theirs)
    assert ours == theirs or ours != ours and theirs != theirs  # nan


def test_grid_parses_names_and_values_in_order():
    grid = naming.parse_grid(["learning_rate=1e-4,1e-3,1e-2", "kernel_size=3,5", "augment=True,False"])
    assert grid == {"learning_rate": [1e-4, 1e-3, 1e-2], "kernel_size": [3, 5], "augment": [True, False]}
    assert [type(v) for v in grid["kernel_size"]] == [int, int]


@pytest.mark.parametrize("specs, message", [
    (["kernel_size"], "expected NAME=VALUE1,VALUE2"),
    (["3=1,2"], "expected NAME=VALUE1,VALUE2"),
    (["k=1,,2"], "empty value"),
    (["k=1,2", "k=3"], "given twice"),
    (["k=3,3"], "repeated"),
    ([], "at least one"),
])
def test_bad_grids_are_refused_with_a_message(specs, message):
    with pytest.raises(ValueError, match=message):
        naming.parse_grid(specs)


def test_combination_names_are_readable_and_safe_for_file_systems():
    assert naming.combination_name({"learning_rate": 1e-3, "kernel_size": 3}) == \
        "learning_rate=0.001__kernel_size=3"
    assert naming.combination_name({"dataset": "../data/x y.npz"}) == "dataset=.._data_x_y.npz"
    names = [name for name, _ in naming.combinations({"d": ["a/b", "a b"]})]
    assert len(set(names)) == 2 and all("/" not in n and " " not in n for n in names)
    long = naming.combination_name({"text": "x" * 500})
    assert len(long) < 140


def test_new_output_path_never_names_an_existing_run(tmp_path):
    first = naming.new_output_path("notebooks/02_convolution.ipynb", tmp_path)
    assert first.parent == tmp_path and first.suffix == ".ipynb"
    first.write_text("{}")
    second = naming.new_output_path("notebooks/02_convolution.ipynb", tmp_path)
    assert second != first and not second.exists()
    assert naming.new_output_path("x.ipynb", tmp_path, "k7") == tmp_path / "k7.ipynb"
    assert naming.new_output_path("x.ipynb", None, "k7") == Path("runs/x/k7.ipynb")
    with pytest.raises(ValueError, match="letters, digits"):
        naming.new_output_path("x.ipynb", tmp_path, "../up")


def test_summary_files_hold_every_row_and_plot_the_metrics(tmp_path):
    rows = [{"run": f"a={a}__b={b}", "a": a, "b": b, "status": "ok" if a < 3 else "failed",
             "seconds": 1.5, "score": a * b if a < 3 else None, "error": "" if a < 3 else "boom | x"}
            for a in (1, 2, 3) for b in (0.1, 10.0)]
    written = runs.write_summary(tmp_path, rows, ["a", "b"], "# Sweep t")
    assert [p.name for p in written] == ["summary.csv", "summary.md", "summary.png"]
    table = read_csv(tmp_path / "summary.csv")
    assert len(table) == 6 and list(table[0]) == ["run", "a", "b", "status", "seconds", "score", "error"]
    assert table[3]["score"] == "20.0" and table[5]["score"] == ""
    md = (tmp_path / "summary.md").read_text().splitlines()
    assert md[0] == "# Sweep t" and len([line for line in md if line.startswith("| a=")]) == 6
    assert "boom \\| x" in md[-1]
    assert (tmp_path / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_no_plot_without_numeric_metrics(tmp_path):
    rows = [{"run": "a=1", "a": 1, "status": "failed", "seconds": 0.1, "error": "x"}]
    assert [p.name for p in runs.write_summary(tmp_path, rows, ["a"])] == ["summary.csv", "summary.md"]


# ---- run_notebook ----------------------------------------------------------------------
def test_run_refuses_names_the_notebook_does_not_have(tiny, tmp_path, fake):
    with pytest.raises(ValueError, match="has no parameter 'c'; its parameters: a, b, label"):
        runs.run_notebook(tiny, {"c": 1}, tmp_path / "out.ipynb")
    with pytest.raises(ValueError, match="did you mean 'label'"):
        runs.run_notebook(tiny, {"lable": "y"}, tmp_path / "out.ipynb")
    assert fake.calls == [] and not (tmp_path / "out.ipynb").exists()


def test_run_never_overwrites_an_output_or_metrics_file(tiny, tmp_path, fake):
    out = tmp_path / "out.ipynb"
    out.write_text("mine")
    with pytest.raises(FileExistsError, match="never overwrites"):
        runs.run_notebook(tiny, {"a": 2}, out)
    (tmp_path / "other.metrics.json").write_text("mine too")
    with pytest.raises(FileExistsError, match="other.metrics.json exists"):
        runs.run_notebook(tiny, {"a": 2}, tmp_path / "other.ipynb")
    assert fake.calls == [] and out.read_text() == "mine"
    assert (tmp_path / "other.metrics.json").read_text() == "mine too"


def test_a_failed_run_keeps_its_partial_notebook_under_a_failed_name(tiny, tmp_path, fake):
    with pytest.raises(runs.RunFailed) as info:
        runs.run_notebook(tiny, {"a": 30}, tmp_path / "out.ipynb")
    assert str(info.value) == "ParameterError: parameter 'a' = 30 (int): expected an integer in [0, 10]"
    assert info.value.notebook == tmp_path / "out.failed.ipynb"
    assert files(tmp_path) == ["lessons", "out.failed.ipynb"]  # no temporary files left


def test_a_run_executes_in_the_notebooks_folder_and_writes_metrics_beside_the_output(tiny, tmp_path):
    """The one real papermill run of run_notebook here (more through the CLI and sweeps)."""
    cwd = os.getcwd()
    result = runs.run_notebook(tiny, {"a": 3, "b": 0.25, "label": "None"}, tmp_path / "o" / "r.ipynb")
    assert os.getcwd() == cwd
    assert result.output == tmp_path / "o" / "r.ipynb"
    assert result.metrics_path == tmp_path / "o" / "r.metrics.json"
    assert result.metrics == {"score": 0.75, "a": 3, "label": "None",
                              "cwd": str(tiny.parent.resolve())}
    assert report.read(result.metrics_path) == result.metrics
    nb = nbformat.read(result.output, as_version=4)
    assert nb.metadata.papermill.parameters == {"a": 3, "b": 0.25, "label": "None"}
    assert nb.metadata.kernelspec.name == "python3"
    assert files(tmp_path / "o") == ["r.ipynb", "r.metrics.json"]


# ---- sweep -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A real 2 x 2 sweep of the tiny notebook: (folder, rows, notebook)."""
    root = tmp_path_factory.mktemp("sweep")
    notebook = write_notebook(root / "lessons" / "99_tiny.ipynb")
    lines = []
    rows = runs.sweep(notebook, {"a": [1, 2], "b": [0.5, 2.0]}, {"label": "fixed"},
                      out=root / "runs" / "s", echo=lines.append)
    return root / "runs" / "s", rows, notebook, lines


def test_a_2x2_sweep_makes_4_runs_and_a_4_row_summary(swept):
    folder, rows, notebook, lines = swept
    names = ["a=1__b=0.5", "a=1__b=2.0", "a=2__b=0.5", "a=2__b=2.0"]
    assert [row["run"] for row in rows] == names
    assert [row["status"] for row in rows] == ["ok"] * 4
    assert [row["score"] for row in rows] == [0.5, 2.0, 1.0, 4.0]
    assert all(row["label"] == "fixed" and row["cwd"] == str(notebook.parent.resolve()) for row in rows)
    for name in names:
        assert (folder / f"{name}.ipynb").is_file() and (folder / f"{name}.metrics.json").is_file()
        status = json.loads((folder / f"{name}.status.json").read_text())
        assert status["status"] == "ok" and status["parameters"]["label"] == "fixed"
    table = read_csv(folder / "summary.csv")
    assert len(table) == 4 and table[3]["score"] == "4.0" and table[3]["status"] == "ok"
    assert (folder / "summary.png").is_file() and "| a=2__b=2.0 |" in (folder / "summary.md").read_text()
    assert not [p for p in folder.iterdir() if p.name.startswith(".") or "partial" in p.name]
    assert lines[-1].startswith("4 of 4 runs ok; summary: ")


def test_running_the_same_sweep_again_skips_the_finished_runs(swept, monkeypatch):
    folder, rows, notebook, _ = swept
    stub = FakeExecute()
    monkeypatch.setattr(processes, "execute", stub)
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("a=*")}
    lines = []
    again = runs.sweep(notebook, {"a": [1, 2], "b": [0.5, 2.0]}, {"label": "fixed"},
                       out=folder, echo=lines.append)
    assert stub.calls == []
    assert again == rows
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("a=*")} == before
    assert sum("skipped: finished earlier" in line for line in lines) == 4


def test_a_sweep_folder_is_not_reused_with_other_fixed_parameters(swept, fake):
    folder, _, notebook, _ = swept
    with pytest.raises(ValueError, match="fixed parameters .*choose another --name"):
        runs.sweep(notebook, {"a": [1, 2]}, {"label": "other"}, out=folder)
    assert fake.calls == []


def test_a_failing_combination_does_not_stop_the_others_with_2_jobs(tiny, in_tmp):
    """Real runs, two at a time: a = 30 fails its check, the other three finish."""
    lines = []
    rows = runs.sweep(tiny, ["a=30,2", "b=0.5,3"], jobs=2, echo=lines.append)
    folder = in_tmp / "runs" / f"99_tiny-{naming.digest({'grid': {'a': [30, 2], 'b': [0.5, 3]}, 'fixed': {}})}"
    assert folder.is_dir()
    assert [(row["run"], row["status"]) for row in rows] == [
        ("a=30__b=0.5", "failed"), ("a=30__b=3", "failed"), ("a=2__b=0.5", "ok"), ("a=2__b=3", "ok")
    ], [row.get("error") for row in rows]  # shows why a run failed
    assert rows[0]["error"] == "ParameterError: parameter 'a' = 30 (int): expected an integer in [0, 10]"
    assert [row["score"] for row in rows] == [None, None, 1.0, 6]
    assert (folder / "a=30__b=0.5.failed.ipynb").is_file()
    assert not (folder / "a=30__b=0.5.ipynb").exists()
    assert json.loads((folder / "a=30__b=3.status.json").read_text())["status"] == "failed"
    assert [row["status"] for row in read_csv(folder / "summary.csv")] == ["failed", "failed", "ok", "ok"]
    assert any("failed" in line and "ParameterError" in line for line in lines)


def test_a_rerun_retries_only_the_failed_runs(tiny, in_tmp, monkeypatch):
    first = FakeExecute()
    monkeypatch.setattr(processes, "execute", first)
    rows = runs.sweep(tiny, {"a": [1, 30]}, name="retry", echo=lambda line: None)
    assert [row["status"] for row in rows] == ["ok", "failed"]
    second = FakeExecute()
    monkeypatch.setattr(processes, "execute", second)
    rows = runs.sweep(tiny, {"a": [1, 30]}, name="retry", echo=lambda line: None)
    assert second.calls == [{"a": 30}]
    folder = in_tmp / "runs" / "retry"
    assert (folder / "a=30.failed.ipynb").is_file() and (folder / "a=30.failed-2.ipynb").is_file()


def test_an_interrupted_sweep_keeps_finished_runs_and_a_rerun_completes_it(tiny, tmp_path, monkeypatch):
    """KeyboardInterrupt after the first (real) run; the rerun does only the other two."""
    stub = FakeExecute(interrupt_at=2, real=processes.execute)
    monkeypatch.setattr(processes, "execute", stub)
    folder = tmp_path / "interrupted"
    lines = []
    with pytest.raises(KeyboardInterrupt):
        runs.sweep(tiny, {"a": [1, 2, 3]}, out=folder, echo=lines.append)
    assert files(folder) == ["a=1.ipynb", "a=1.metrics.json", "a=1.status.json",
                             "summary.csv", "summary.md", "summary.png", "sweep.json"]
    assert [row["status"] for row in read_csv(folder / "summary.csv")] == ["ok", "not run", "not run"]
    assert lines[-1].startswith("interrupted: 1 of 3 runs finished")
    kept = (folder / "a=1.ipynb").read_bytes()

    rerun = FakeExecute()
    monkeypatch.setattr(processes, "execute", rerun)
    rows = runs.sweep(tiny, {"a": [1, 2, 3]}, out=folder, echo=lambda line: None)
    assert rerun.calls == [{"a": 2}, {"a": 3}]
    assert [row["status"] for row in rows] == ["ok"] * 3
    assert (folder / "a=1.ipynb").read_bytes() == kept


def test_an_interrupt_with_parallel_jobs_stops_and_keeps_only_finished_runs(tiny, tmp_path, monkeypatch):
    stub = FakeExecute(interrupt_at=3)
    monkeypatch.setattr(processes, "execute", stub)
    folder = tmp_path / "par"
    with pytest.raises(KeyboardInterrupt):
        runs.sweep(tiny, {"a": [1, 2, 3, 4, 5, 6]}, out=folder, jobs=2, echo=lambda line: None)
    statuses = [row["status"] for row in read_csv(folder / "summary.csv")]
    assert statuses.count("ok") >= 1 and "failed" not in statuses
    assert not [p for p in folder.iterdir() if "partial" in p.name]


def test_a_file_in_the_way_is_kept_and_that_run_is_reported(tiny, tmp_path, fake):
    folder = tmp_path / "s"
    runs.sweep(tiny, {"a": [1]}, out=folder, echo=lambda line: None)
    (folder / "a=2.ipynb").write_text("someone else's")
    rows = runs.sweep(tiny, {"a": [1, 2, 3]}, out=folder, echo=lambda line: None)
    assert [row["status"] for row in rows] == ["ok", "failed", "ok"]
    assert "a=2.ipynb exists" in rows[1]["error"] and "not a finished run" in rows[1]["error"]
    assert (folder / "a=2.ipynb").read_text() == "someone else's"
    assert fake.calls == [{"a": 1}, {"a": 3}]


def test_a_sweep_refuses_a_folder_that_is_not_a_sweep(tiny, tmp_path, fake):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a sweep folder"):
        runs.sweep(tiny, {"a": [1]}, out=tmp_path / "busy")


@pytest.mark.parametrize("grid, fixed, message", [
    ({"a": [1]}, {"a": 2}, "both swept .* and fixed"),
    ({"c": [1]}, {}, "has no parameter 'c'"),
    ({"a": []}, {}, "at least one value"),
])
def test_a_sweep_refuses_bad_settings_before_running_anything(tiny, tmp_path, fake, grid, fixed, message):
    with pytest.raises(ValueError, match=message):
        runs.sweep(tiny, grid, fixed, out=tmp_path / "s")
    assert fake.calls == [] and not (tmp_path / "s").exists()


# ---- course ------------------------------------------------------------------------------
def test_course_runs_numbered_notebooks_in_order_passing_dataset_only_where_it_is_a_parameter(tmp_path, fake):
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_first.ipynb")
    write_notebook(lessons / "02_data.ipynb", 'dataset: str = "synthetic"  # data set name\n'
                                              'a: int = 1  # a\nb: float = 0.5  # b')
    write_notebook(lessons / "draft.ipynb")
    rows = runs.course(dataset="pneumoniamnist", out=tmp_path / "c", notebooks=lessons)
    assert [(row["notebook"], row["status"]) for row in rows] == [("01_first", "ok"), ("02_data", "ok")]
    assert fake.calls == [{}, {"dataset": "pneumoniamnist"}]
    assert files(tmp_path / "c") == ["01_first.ipynb", "01_first.metrics.json", "02_data.ipynb",
                                     "02_data.metrics.json", "summary.csv", "summary.md"]
    with pytest.raises(FileExistsError, match="not empty"):
        runs.course(out=tmp_path / "c", notebooks=lessons)


# ---- command line ----------------------------------------------------------------------
def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_run_writes_the_output_and_says_where_the_metrics_went(tiny, in_tmp, capsys):
    code, out, err = run_cli(capsys, "run", tiny, "-p", "a", "4", "-p", "b", "0.5", "--name", "a4")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("output:  runs/99_tiny/a4.ipynb (")
    assert out.splitlines()[1].startswith("metrics: runs/99_tiny/a4.metrics.json  a=4, ")
    assert "score=2" in out.splitlines()[1]
    assert report.read(in_tmp / "runs/99_tiny/a4.metrics.json")["score"] == 2.0
    code, out, err = run_cli(capsys, "run", tiny, "--name", "a4")
    assert code == 1 and err.startswith("medlab: error: runs/99_tiny/a4.ipynb exists; ")
    assert err.count("\n") == 1


def test_cli_run_reports_a_parameter_error_in_one_line(tiny, in_tmp, capsys):
    code, out, err = run_cli(capsys, "run", tiny, "-p", "a", "11", "--out", "bad", "--name", "r")
    assert code == 1
    assert err == ("medlab: error: 99_tiny.ipynb: ParameterError: parameter 'a' = 11 (int): "
                   "expected an integer in [0, 10]\n")
    assert out == "partial output: bad/r.failed.ipynb\n"
    assert files(in_tmp / "bad") == ["r.failed.ipynb"]


def test_cli_run_refuses_an_unknown_parameter_without_running(tiny, in_tmp, capsys, fake):
    code, out, err = run_cli(capsys, "run", tiny, "-p", "kernel_size", "3")
    assert code == 1 and fake.calls == []
    assert err.startswith("medlab: error: 99_tiny.ipynb has no parameter 'kernel_size'")


def test_cli_sweep_prints_each_run_and_exits_1_when_one_failed(tiny, in_tmp, capsys, fake):
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a=1,30", "--grid", "b=0.5",
                             "-p", "label", "y", "--name", "cli")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("[1/2] ok") and "a=1__b=0.5" in lines[0]
    assert lines[1].startswith("[2/2] failed") and "ParameterError: parameter 'a' = 30" in lines[1]
    assert lines[2].startswith("1 of 2 runs ok; summary: runs/cli/summary.csv")
    assert fake.calls == [{"a": 1, "b": 0.5, "label": "y"}, {"a": 30, "b": 0.5, "label": "y"}]
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a=1", "--jobs", "0")
    assert code == 2 and err.startswith("medlab: error: --jobs 0: expected at least 1")
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a")
    assert code == 1 and "expected NAME=VALUE1,VALUE2" in err


def test_cli_course_prints_a_table_and_fails_when_a_notebook_fails(tmp_path, in_tmp, capsys):
    """Real runs: one lesson passes, one fails its check with its defaults."""
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_ok.ipynb")
    write_notebook(lessons / "02_broken.ipynb", 'a: int = 12  # out of range on purpose\n'
                                                'b: float = 0.5  # b\nlabel: str = "x"  # l')
    code, out, err = run_cli(capsys, "course", "--notebooks", lessons, "--out", "c")
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].split() == ["notebook", "status", "seconds"]
    assert lines[1].split()[:2] == ["01_ok", "ok"], out  # with the error, if any
    assert lines[2].split()[:2] == ["02_broken", "failed"], out
    assert lines[2].endswith("ParameterError: parameter 'a' = 12 (int): expected an integer in [0, 10]")
    assert lines[3] == "1 of 2 notebooks failed; outputs and summary in c"
    assert [r["status"] for r in read_csv(in_tmp / "c" / "summary.csv")] == ["ok", "failed"]


def test_cli_course_says_the_machine_is_ready_when_everything_ran(tmp_path, in_tmp, capsys, fake):
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_ok.ipynb")
    code, out, err = run_cli(capsys, "course", "--notebooks", lessons)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("all 1 notebooks ran: this machine is ready for class; "
                                           "outputs and summary in runs/course-")


def test_a_finished_run_whose_status_was_not_written_is_adopted_not_rerun(swept, tmp_path, fake):
    """Interrupted between renaming the notebook into place and writing its status file."""
    folder, rows, notebook, _ = swept
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in folder.glob("a=1__b=0.5.*"):
        if not path.name.endswith(".status.json"):
            (copy / path.name).write_bytes(path.read_bytes())
    (copy / "sweep.json").write_bytes((folder / "sweep.json").read_bytes())
    again = runs.sweep(notebook, {"a": [1], "b": [0.5]}, {"label": "fixed"}, out=copy,
                       echo=lambda line: None)
    assert fake.calls == [] and again[0]["status"] == "ok" and again[0]["score"] == 0.5
    assert json.loads((copy / "a=1__b=0.5.status.json").read_text())["status"] == "ok"


def test_cli_course_notes_when_no_notebook_takes_the_dataset(tmp_path, in_tmp, capsys, fake):
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_ok.ipynb")
    code, out, err = run_cli(capsys, "course", "--notebooks", lessons, "--dataset", "synthetic")
    assert code == 0 and fake.calls == [{}]
    assert out.startswith("note: no notebook has a dataset parameter; --dataset synthetic is not used")


# ---- issue 26: hostile tester's findings ------------------------------------------------
def one_line_error(err):
    return err.startswith("medlab: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_fractional_timeout_runs_with_the_limit_rounded_up_to_whole_seconds(tiny, in_tmp, capsys):
    """nbclient's timeout is an int: 30.5 failed every run with TraitError."""
    code, out, err = run_cli(capsys, "run", tiny, "--timeout", "30.5", "--name", "frac")
    assert (code, err) == (0, ""), out + err
    assert (in_tmp / "runs" / "99_tiny" / "frac.ipynb").is_file()


def test_every_entry_point_passes_a_fractional_timeout_on_as_whole_seconds(tiny, tmp_path, monkeypatch):
    seen = []
    stub = FakeExecute()
    monkeypatch.setattr(processes, "execute", lambda nb, p, out, m, timeout=None: (
        seen.append(timeout), stub(nb, p, out, m))[1])
    runs.run_notebook(tiny, {}, tmp_path / "one.ipynb", timeout=2.5)
    runs.sweep(tiny, {"a": [1]}, out=tmp_path / "s", timeout=0.2, echo=lambda line: None)
    runs.course(out=tmp_path / "c", notebooks=tiny.parent, timeout=7.0)
    assert seen == [3, 1, 7] and all(type(value) is int for value in seen)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "-0.5"])
@pytest.mark.parametrize("command", ["run", "sweep", "course"])
def test_a_timeout_that_is_not_a_finite_number_of_seconds_is_refused_in_one_line(
        tiny, in_tmp, capsys, fake, command, value):
    argv = {"run": ["run", tiny], "sweep": ["sweep", tiny, "--grid", "a=1"],
            "course": ["course", "--notebooks", tiny.parent]}[command]
    code, out, err = run_cli(capsys, *argv, f"--timeout={value}")
    assert code == 2 and one_line_error(err), err
    assert f"--timeout {value}:" in err and "0: no limit" in err
    assert fake.calls == [] and not (in_tmp / "runs").exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, "10", True])
def test_the_python_api_refuses_a_bad_timeout_naming_the_argument(tiny, tmp_path, fake, value):
    for call in (lambda: runs.run_notebook(tiny, {}, tmp_path / "o.ipynb", timeout=value),
                 lambda: runs.sweep(tiny, {"a": [1]}, out=tmp_path / "s", timeout=value),
                 lambda: runs.course(out=tmp_path / "c", notebooks=tiny.parent, timeout=value)):
        with pytest.raises(ValueError, match=r"^timeout .*: expected a finite number of seconds >= 0"):
            call()
    assert fake.calls == [] and files(tmp_path) == ["lessons"]


HOLDER = """import json, sys
import nbformat
from medlab.course import processes, runs

def run_when_told(notebook, parameters, output, metrics, timeout=None):
    print("running", json.dumps(parameters), flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["papermill"] = {"parameters": parameters}
    nbformat.write(nb, output)
    return {"status": "ok"}

processes.execute = run_when_told
command, notebook, folder = sys.argv[1:4]
if command == "sweep":
    rows = runs.sweep(notebook, {"a": [1, 2]}, out=folder, echo=lambda line: None)
else:
    rows = runs.course(out=folder, notebooks=notebook)
print("done", json.dumps([row["status"] for row in rows]), flush=True)
"""


class Holder:
    """A second medlab process running a sweep or course into ``folder``; each of its runs
    waits for ``go`` on its stdin, so it holds the folder until the test lets it finish."""

    def __init__(self, tmp_path, command, notebook, folder):
        import queue
        import subprocess
        import sys

        script = tmp_path / "holder.py"
        script.write_text(HOLDER)
        root = Path(runs.__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, str(script), command, str(notebook), str(folder)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout],
                         daemon=True).start()

    def next_line(self, limit=300):
        """The holder's next line of output (bounded wait: it starts Python and medlab)."""
        line = self.lines.get(timeout=limit)
        assert not line.startswith("Traceback"), line
        return line

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(60)


@pytest.fixture
def holder(tmp_path):
    started = []
    yield lambda *args: started.append(Holder(tmp_path, *args)) or started[-1]
    for one in started:
        one.close()


def test_a_second_sweep_into_a_folder_in_use_is_refused_at_once_and_the_first_finishes(
        tiny, in_tmp, capsys, fake, holder):
    import socket

    folder = in_tmp / "runs" / "shared"
    first = holder("sweep", tiny, folder)
    assert first.next_line().startswith("running")  # the first holds the folder: a run is going
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a=1,2", "--out", folder)
    assert code == 1 and one_line_error(err), err
    assert (f"runs/shared is in use by another medlab sweep (pid {first.proc.pid} on "
            f"{socket.gethostname()}, since ") in err
    assert "kill" in err and "run this again" in err
    assert fake.calls == [] and not list(folder.glob("*.status.json"))
    first.go()
    assert first.next_line().startswith("running")
    first.go()
    assert first.next_line() == 'done ["ok", "ok"]\n'
    assert first.proc.wait(60) == 0
    statuses = [json.loads(p.read_text())["status"] for p in sorted(folder.glob("*.status.json"))]
    assert statuses == ["ok", "ok"]
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a=1,2", "--out", folder)
    assert code == 0 and fake.calls == [] and out.count("skipped: finished earlier") == 2
    assert ".medlab.lock" not in files(folder)


def test_the_folder_lock_dies_with_its_process(tiny, in_tmp, capsys, fake, holder):
    """Killed outright (no clean-up): its lock file stays, but the lock goes with the process."""
    folder = in_tmp / "runs" / "killed"
    first = holder("sweep", tiny, folder)
    assert first.next_line().startswith("running")
    first.proc.kill()
    first.proc.wait(60)
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a=1,2", "--out", folder)
    assert (code, err) == (0, "")
    assert [call["a"] for call in fake.calls] == [1, 2]
    assert ".medlab.lock" not in files(folder)


def test_a_second_course_into_a_folder_in_use_is_refused_at_once(tmp_path, in_tmp, capsys, fake, holder):
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_ok.ipynb")
    first = holder("course", lessons, in_tmp / "c")
    assert first.next_line().startswith("running")
    code, out, err = run_cli(capsys, "course", "--notebooks", lessons, "--out", "c")
    assert code == 1 and one_line_error(err), err
    assert f"c is in use by another medlab course (pid {first.proc.pid} on " in err
    assert fake.calls == []
    first.go()
    assert first.next_line() == 'done ["ok"]\n'
    assert first.proc.wait(60) == 0
    assert files(in_tmp / "c") == ["01_ok.ipynb", "summary.csv", "summary.md"]


VALID_CELL = {"cell_type": "code", "source": "a = 1", "metadata": {}, "outputs": [],
              "execution_count": None}


def notebook_json(cells=None, **top):
    return json.dumps({"cells": [VALID_CELL] if cells is None else cells, "metadata": {},
                       "nbformat": 4, "nbformat_minor": 5, **top})


MALFORMED = [  # (file content, what the one line must say)
    ('{"cells": 3}', "'cells' is int, expected a list of cells"),
    ("", "the file is empty"),
    ('{"cells": [', "invalid JSON"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    ("[1, 2]", "the JSON is a list, not a notebook object"),
    ('{"a": 1}', "no 'cells'"),
    (json.dumps({"worksheets": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}), "format 3"),
    (notebook_json(nbformat=None), "'nbformat' is None, expected 4"),
    (notebook_json(metadata=[]), "'metadata' is list, expected an object"),
    (notebook_json(nbformat_minor="x"), "'nbformat_minor' is str, expected an integer"),
    (notebook_json(cells=[3]), "cell 1 is int, expected an object"),
    (notebook_json(cells=[VALID_CELL, {**VALID_CELL, "cell_type": "python"}]),
     "cell 2: 'cell_type' is 'python', expected code, markdown or raw"),
    (notebook_json(cells=[{**VALID_CELL, "source": 5}]),
     "cell 1: 'source' is int, expected text or a list of lines"),
    (notebook_json(cells=[{k: v for k, v in VALID_CELL.items() if k != "source"}]),
     "cell 1: no 'source'"),
    (notebook_json(cells=[{k: v for k, v in VALID_CELL.items() if k != "metadata"}]),
     "cell 1: no 'metadata'"),
    (notebook_json(cells=[{**VALID_CELL, "metadata": {"tags": "parameters"}}]),
     "cell 1: 'tags' is str, expected a list of texts"),
    (notebook_json(cells=[{**VALID_CELL, "outputs": {}}]), "cell 1: 'outputs' is dict, expected a list"),
    (None, "a folder, not a notebook file"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),  # was a RecursionError traceback
]


@pytest.mark.parametrize("content, message", MALFORMED)
@pytest.mark.parametrize("command", ["run", "run -p", "sweep", "course"])
def test_a_malformed_notebook_is_refused_in_one_line_naming_the_file_and_the_fault(
        tmp_path, in_tmp, capsys, fake, command, content, message):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    path = lessons / "01_bad.ipynb"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    argv = {"run": ["run", path], "run -p": ["run", path, "-p", "a", "2"],
            "sweep": ["sweep", path, "--grid", "a=1,2"],
            "course": ["course", "--notebooks", lessons, "--out", "c", "--dataset", "synthetic"]}[command]
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and fake.calls == []
    if command == "course":  # the course goes on; this lesson's row says what is wrong
        assert err == "" and "Traceback" not in out
        row = next(line for line in out.splitlines() if line.startswith("01_bad"))
        assert row.split()[:2] == ["01_bad", "failed"], out
        assert f"{path}: " in row and message in row
        assert message in read_csv(in_tmp / "c" / "summary.csv")[0]["error"]
    else:
        assert one_line_error(err), err
        assert err.startswith(f"medlab: error: {path}: ") and message in err, err


@pytest.mark.parametrize("command", ["run", "sweep", "course"])
def test_a_fifo_named_as_a_notebook_is_refused_at_once_not_read_forever(
        tmp_path, in_tmp, capsys, fake, fifos, command):
    path = fifos.make("lessons/01_pipe.ipynb")
    argv = {"run": ["run", path], "sweep": ["sweep", path, "--grid", "a=1,2"],
            "course": ["course", "--notebooks", path.parent, "--out", "c"]}[command]
    code, out, err = fifos.call(run_cli, capsys, *argv)
    assert code == 1 and fake.calls == []
    shown = err if command != "course" else next(
        line for line in out.splitlines() if line.startswith("01_pipe"))
    assert f"{path}: a FIFO (named pipe), not a notebook file" in shown, out + err


def test_a_parameters_cell_with_a_null_byte_is_named_without_a_line_number(tmp_path, in_tmp, capsys, fake):
    path = write_notebook(tmp_path / "lessons" / "99_nul.ipynb", parameters="a = 1\x00")
    code, out, err = run_cli(capsys, "run", path, "-p", "a", "2")
    assert code == 1 and one_line_error(err), err
    assert err == (f"medlab: error: 99_nul.ipynb: the parameters cell is not valid Python "
                   "(source code string cannot contain null bytes)\n")


def test_a_course_runs_the_good_lessons_beside_a_malformed_one(tmp_path, in_tmp, capsys, fake):
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_ok.ipynb")
    (lessons / "02_bad.ipynb").write_text('{"cells": 3}')
    write_notebook(lessons / "03_ok.ipynb")
    code, out, err = run_cli(capsys, "course", "--notebooks", lessons, "--out", "c")
    assert code == 1 and err == ""
    assert [line.split()[:2] for line in out.splitlines()[1:4]] == [
        ["01_ok", "ok"], ["02_bad", "failed"], ["03_ok", "ok"]]
    assert len(fake.calls) == 2


def test_a_cell_that_times_out_is_named_as_jupyter_shows_it(tmp_path, in_tmp, capsys):
    """It was named by its 0-based index among all cells, markdown and the injected
    parameters cell included ("cell 7"); Jupyter shows In [4] and the code."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [new_markdown_cell("# 99 · Slow"),
                new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
                new_markdown_cell("Some text."), new_code_cell("b = 2"), new_code_cell(""),
                new_markdown_cell("The slow one:"),
                new_code_cell("\nimport time  # the slow one\ntime.sleep(600 if a == 1 else 0)")]
    path = in_tmp / "99_slow.ipynb"
    nbformat.write(nb, path)
    # 20 s per cell: the quick cells must finish within it on a loaded machine; the slow one never can
    named = 'cell In [4] ("import time # the slow one") did not finish within 20 s'
    code, out, err = run_cli(capsys, "sweep", path, "--grid", "a=1,2", "--timeout", "20", "--name", "slow")
    assert code == 1
    assert named in out.splitlines()[0]
    row = read_csv(in_tmp / "runs" / "slow" / "summary.csv")[0]
    assert row["status"] == "failed" and named in row["error"]
    failed = nbformat.read(in_tmp / "runs" / "slow" / "a=1.failed.ipynb", as_version=4)
    slow = [cell for cell in failed.cells if "the slow one" in cell.source][0]
    assert slow.execution_count == 4  # what Jupyter shows for the output it keeps
    with pytest.raises(runs.RunFailed) as info:
        runs.run_notebook(path, {}, in_tmp / "one.ipynb", timeout=20)
    assert named.replace("[4]", "[3]") in str(info.value) and info.value.cell == 3  # no injected cell


def snapshot(folder):
    """{name: bytes} of every file in ``folder`` (a folder named sweep.json: its marker)."""
    return {p.name: p.read_bytes() if p.is_file() else b"<folder>" for p in Path(folder).iterdir()}


DAMAGED = [  # (what sweep.json holds, what the line says about it)
    (b'{"notebook": "/x/99_tiny.ipynb", "fi', "invalid JSON"),
    (b"", "the file is empty"),
    (b"\x00\x00\x00\x00", "invalid JSON"),
    (b"[1, 2]", "a list, expected an object"),
    (b'{"notebook": 3, "fixed": {}}', "'notebook' is int"),
    (b'{"notebook": "/x/99_tiny.ipynb", "fixed": []}', "'fixed' is list"),
    (None, "not a regular file"),
]


def test_a_fifo_in_a_sweep_folder_is_never_read(tiny, in_tmp, capsys, fake):
    """A FIFO named sweep.json, or a run's status file, was read forever (the command hung)."""
    argv = ["sweep", tiny, "--grid", "a=1,2", "--name", "s"]
    assert run_cli(capsys, *argv)[0] == 0
    folder = in_tmp / "runs" / "s"
    (folder / "a=2.status.json").unlink()
    os.mkfifo(folder / "a=2.status.json")  # read as "not finished": a=2 runs again
    result = {}
    worker = threading.Thread(target=lambda: result.update(done=run_cli(capsys, *argv)), daemon=True)
    worker.start()
    worker.join(300)
    if worker.is_alive():  # let the hung reader go, so the test process can end
        with open(folder / "a=2.status.json", "wb"):
            pass
        pytest.fail("the sweep read a FIFO status file forever")
    (folder / "sweep.json").unlink()
    os.mkfifo(folder / "sweep.json")
    worker = threading.Thread(target=lambda: result.update(record=run_cli(capsys, *argv)), daemon=True)
    worker.start()
    worker.join(300)
    if worker.is_alive():
        with open(folder / "sweep.json", "wb"):
            pass
        pytest.fail("the sweep read a FIFO sweep.json forever")
    code, out, err = result["record"]
    assert code == 1 and one_line_error(err) and "not a regular file" in err, err


@pytest.mark.parametrize("content, fault", DAMAGED)
def test_a_damaged_sweep_json_is_named_and_repair_resumes_from_the_status_files(
        tiny, in_tmp, capsys, fake, content, fault):
    argv = ["sweep", tiny, "--grid", "a=1,2", "-p", "label", "y", "--name", "s"]
    assert run_cli(capsys, *argv)[0] == 0
    folder = in_tmp / "runs" / "s"
    record = folder / "sweep.json"
    record.unlink()
    if content is None:
        record.mkdir()
    else:
        record.write_bytes(content)
    before = snapshot(folder)
    fake.calls.clear()
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and one_line_error(err), err
    assert err.startswith(f"medlab: error: runs/s/sweep.json is damaged (") and fault in err, err
    assert "2 finished runs in runs/s are kept" in err and "again with --repair" in err
    assert snapshot(folder) == before and fake.calls == []

    code, out, err = run_cli(capsys, *argv, "--repair")
    assert (code, err) == (0, ""), err
    assert out.splitlines()[0] == ("repaired runs/s/sweep.json from the status files of 2 runs; "
                                   "the damaged one is kept as runs/s/sweep.damaged.json")
    assert out.count("skipped: finished earlier") == 2 and fake.calls == []
    assert snapshot(folder)["sweep.damaged.json"] == before["sweep.json"]
    rebuilt = json.loads(record.read_text())
    assert rebuilt["notebook"] == str(tiny.resolve()) and rebuilt["fixed"] == {"label": "y"}
    assert rebuilt["grids"] == [{"a": [1, 2]}]
    code, out, err = run_cli(capsys, "sweep", tiny, "--grid", "a=3", "-p", "label", "y", "--name", "s")
    assert code == 0 and fake.calls == [{"a": 3, "label": "y"}]  # the repaired sweep goes on


def test_status_files_whose_metrics_are_not_an_object_do_not_break_the_summary(tiny, in_tmp, capsys, fake):
    """A finished run's, and an earlier grid's, status file edited by hand: a traceback
    (AttributeError) before; their metrics are left out, the runs are kept."""
    argv = ["sweep", tiny, "--grid", "a=1,2", "--name", "s"]
    assert run_cli(capsys, *argv)[0] == 0
    folder = in_tmp / "runs" / "s"
    status = json.loads((folder / "a=1.status.json").read_text())
    (folder / "a=1.status.json").write_text(json.dumps({**status, "metrics": "abc"}))
    (folder / "a=9.status.json").write_text(json.dumps({"parameters": {"a": 9}, "metrics": [1]}))
    code, out, err = run_cli(capsys, *argv)
    assert (code, err) == (0, ""), err
    assert out.count("skipped: finished earlier") == 2
    rows = read_csv(folder / "summary.csv")
    assert [row["run"] for row in rows] == ["a=1", "a=2", "a=9"]
    assert rows[0]["score"] == "" and float(rows[1]["score"]) == 1.0


def test_a_lost_sweep_json_is_rebuilt_with_repair_and_the_api_takes_repair_too(tiny, tmp_path, fake):
    folder = tmp_path / "s"
    runs.sweep(tiny, {"a": [1, 2]}, out=folder, echo=lambda line: None)
    (folder / "sweep.json").unlink()
    with pytest.raises(FileExistsError, match=r"no sweep.json but holds the status files of 2 runs; "
                                              r"run the same sweep again with --repair"):
        runs.sweep(tiny, {"a": [1, 2]}, out=folder, echo=lambda line: None)
    lines = []
    rows = runs.sweep(tiny, {"a": [1, 2]}, out=folder, echo=lines.append, repair=True)
    assert [row["status"] for row in rows] == ["ok", "ok"] and len(fake.calls) == 2
    assert lines[0] == f"repaired {folder / 'sweep.json'} from the status files of 2 runs"


def test_repair_refuses_status_files_of_another_sweep_and_changes_nothing(tiny, tmp_path, fake):
    folder = tmp_path / "s"
    runs.sweep(tiny, {"a": [1]}, {"label": "y"}, out=folder, echo=lambda line: None)
    (folder / "sweep.json").write_text("{")
    before = snapshot(folder)
    fake.calls.clear()
    with pytest.raises(ValueError, match=r"a=1.status.json is a run with label = 'y', not 'z'; "
                                         r"choose another --name or --out"):
        runs.sweep(tiny, {"a": [1]}, {"label": "z"}, out=folder, repair=True)
    other = write_notebook(tmp_path / "lessons" / "98_other.ipynb")
    with pytest.raises(ValueError, match=r"a=1.status.json is a run of 99_tiny.ipynb, not of "
                                         r"98_other.ipynb; choose another --name or --out"):
        runs.sweep(other, {"a": [1]}, {"label": "y"}, out=folder, repair=True)
    assert snapshot(folder) == before and fake.calls == []
