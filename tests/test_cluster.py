"""``medlab sweep/course --cluster``: runs as tasks on a real Dask distributed cluster.

No part of Dask is mocked. A LocalCluster of 2 worker processes (one thread each, started
once for this module, with the scheduler settings of ``--cluster local``) takes the
runs: a real lesson with tiny parameters, compared with the same sweep run locally, and tiny
notebooks the tests write, which finish, fail, time out, kill their own worker (SIGKILL to
the real worker process) or sleep until interrupted. ``--cluster local`` itself is run once
through the command line, in its own process group, stopped by SIGINT to the group. Dask
missing is simulated honestly: a child process whose import system refuses ``dask`` and
``distributed``. The README's SLURM example runs as far as it goes without SLURM.

Nothing here depends on how fast the machine is (the suite shares 2 cores with other work):
a cell meant to be stopped sleeps far beyond every limit of these tests, a cell meant to
finish gets a limit far above what it needs, the tests wait for events (a file a running
cell writes, a process gone, a worker back) with generous bounds, and no test asserts on
elapsed time.
"""

import contextlib
import csv
import gc
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

try:
    import distributed  # noqa: F401
except ImportError as missing:  # make setup installs the extra; CI must not skip these tests
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):  # as tests/e2e
        raise ImportError(f"CI is set and Dask distributed is missing ({missing}): make setup "
                          "installs the optional extra 'cluster' (pyproject.toml)") from missing
    pytest.skip("needs the optional extra 'cluster': pip install -e \".[cluster]\"",
                allow_module_level=True)

import dask  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import medlab  # noqa: E402
from medlab.course import cli, cluster, runs, sweep_folders  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "01_medical_images.ipynb"  # the cheapest lesson: no TensorFlow
#: Per-cell limit of the runs that time out a cell: far above what the cells that finish
#: need on a loaded machine (milliseconds idle), far below the sleeps of BODY.
CELL_LIMIT = 30
#: Bound of every wait for an event here (a run started, processes gone, a worker back):
#: generous, and below the sleeps of BODY, so that a sleeping cell gone means stopped.
WAIT = 300

# a >= 3 sleeps 900 s, far beyond CELL_LIMIT and WAIT: such a run ends only when stopped
BODY = """import os, pathlib, time
from medlab import report

if a == 2 and marker and not pathlib.Path(marker).exists():  # die once: kill this run's worker
    import psutil
    worker = psutil.Process().parent().parent()  # kernel -> papermill process -> worker
    assert "spawn_main" in " ".join(worker.cmdline()), worker.cmdline()
    pathlib.Path(marker).write_text(str(worker.pid))
    worker.kill()
    time.sleep(900)
if a >= 3:
    if running:  # say that this run's cell is running, and in which kernel
        said = pathlib.Path(running, f".a={a}")
        said.write_text(str(os.getpid()))
        said.rename(pathlib.Path(running, f"a={a}"))
    time.sleep(900)
if a < 0:
    raise ValueError(f"a = {a} is negative")
report.record(score=10 * a, omp=os.environ.get("OMP_NUM_THREADS", "unset"))
print("a is", a)"""


def write_notebook(path, parameters='a: int = 1  # a number\nmarker: str = ""  # a file\n'
                                    'running: str = ""  # a folder'):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [new_markdown_cell("# 99 · Tiny"),
                new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                new_code_cell(BODY)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@contextlib.contextmanager
def local_cluster():
    """A running scheduler with 2 worker processes (the settings of ``--cluster local``)."""
    environ = dict(os.environ)
    with dask.config.set(cluster.LOCAL_SCHEDULER_CONFIG):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             dashboard_address=":0", silence_logs=50)
    try:
        wait_for_workers(local.scheduler_address, 2)
        yield local.scheduler_address
    finally:
        local.close(timeout=WAIT)
        os.environ.clear()  # the nannies added PYTHONHASHSEED to this process's environment
        os.environ.update(environ)


@pytest.fixture(scope="module")
def address():
    """The 'connect to ADDRESS' route: a cluster the tests of this module share. No test kills
    one of its workers (on a loaded machine a nanny may give up restarting a killed worker)."""
    with local_cluster() as scheduler:
        yield scheduler


@pytest.fixture
def address_to_kill():
    """A cluster of its own for a test that kills one of its workers."""
    with local_cluster() as scheduler:
        yield scheduler


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def texts(path):
    """What each code cell printed (stdout, however chunked) and its text results, cell by
    cell (no images, no timings)."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            outputs = cell.get("outputs", [])
            printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
            results = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
            cells.append((printed, results))
    return cells


def processes_mentioning(text):
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if text in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def stop_process(proc, grace=30):
    """SIGTERM, then SIGKILL if ``proc`` is still there after ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


def wait_until(condition, seconds=WAIT):
    """Poll ``condition`` until it holds (True) or ``seconds`` have passed (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def returns_within(seconds, call):
    """``call()``'s result; the test fails if it has not returned after ``seconds`` (a hang:
    the bound is far above what the call needs, even on a loaded machine)."""
    outcome = {}

    def target():
        try:
            outcome["result"] = call()
        except BaseException as exc:  # noqa: BLE001  (re-raised below, in the test's thread)
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting after {seconds} s: a hang")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def gone(pid):
    """The process ``pid`` has ended (or is a zombie waiting for its parent)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_for_workers(address, n):
    """Until ``n`` workers are connected to ``address`` (a killed one is restarted by its
    nanny), at most :data:`WAIT` seconds."""
    with Client(address, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=WAIT)


def tasks_on(address):
    with Client(address, set_as_default=False) as client:
        return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


# ---- a real lesson ---------------------------------------------------------------------
def test_a_lesson_swept_on_the_cluster_gives_the_local_summary_and_outputs(address, tmp_path):
    grid, fixed = {"window_name": ["lung", "bone"]}, {"n_images": 4}
    lines = []
    on_dask = runs.sweep(LESSON, grid, fixed, out=tmp_path / "dask", cluster=address,
                         echo=lines.append)
    here = runs.sweep(LESSON, grid, fixed, jobs=2, out=tmp_path / "local", echo=lambda line: None)
    assert [row["status"] for row in on_dask] == ["ok", "ok"]
    assert lines[0].startswith(f"Dask: connected to {address}, 2 worker(s) now")
    without_seconds = [{k: v for k, v in row.items() if k != "seconds"} for row in on_dask]
    assert without_seconds == [{k: v for k, v in row.items() if k != "seconds"} for row in here]
    assert all(row["seconds"] > 0 for row in on_dask)
    table = read_csv(tmp_path / "dask" / "summary.csv")
    assert [(r["run"], r["status"]) for r in table] == [("window_name=lung", "ok"),
                                                        ("window_name=bone", "ok")]
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == \
        sorted(p.name for p in (tmp_path / "local").iterdir())
    for run in ("window_name=lung", "window_name=bone"):
        ours, theirs = texts(tmp_path / "dask" / f"{run}.ipynb"), texts(tmp_path / "local" / f"{run}.ipynb")
        assert ours == theirs and any(ours)
        printed = "".join(text for text, _ in ours)
        assert f"large view below uses the {run.split('=')[1]} window\n" in printed
        meta = nbformat.read(tmp_path / "dask" / f"{run}.ipynb", as_version=4).metadata.papermill
        assert meta.parameters == {"window_name": run.split("=")[1], "n_images": 4}
        assert meta.input_path == str(LESSON)  # the same checkout: run in place, in its folder


# ---- failures on workers, resume -------------------------------------------------------
def test_a_killed_worker_and_a_timeout_fail_their_runs_the_others_finish_and_resume_retries(
        address_to_kill, tmp_path, in_tmp, capsys):
    address = address_to_kill
    notebook = write_notebook(tmp_path / "lessons" / "99_tiny.ipynb")
    marker = tmp_path / "killed-worker.txt"
    running = tmp_path / "running"
    running.mkdir()
    lines = []
    # a=2 and a=3 sleep 900 s: they end only by the killed worker and by the cell limit
    rows = runs.sweep(notebook, {"a": [1, 2, 3, -1]}, {"marker": str(marker), "running": str(running)},
                      name="kill", cluster=address, timeout=CELL_LIMIT, echo=lines.append)
    assert [row["status"] for row in rows] == ["ok", "failed", "failed", "failed"], lines
    assert rows[0]["score"] == 10
    assert marker.is_file()  # the worker really was killed
    assert rows[1]["error"].startswith("WorkerDied: the Dask worker running this run died (tcp://")
    assert "Run the same command again to retry it" in rows[1]["error"]
    assert rows[2]["error"].startswith("CellTimeoutError: cell ")
    assert f"within {CELL_LIMIT} s" in rows[2]["error"]
    assert rows[3]["error"] == "ValueError: a = -1 is negative"
    # the timed-out cell had started, and its kernel was shut down
    timed_out_kernel = int((running / "a=3").read_text())
    assert wait_until(lambda: gone(timed_out_kernel)), f"kernel {timed_out_kernel} still runs"
    folder = in_tmp / "runs" / "kill"
    assert (folder / "a=3.failed.ipynb").is_file() and (folder / "a=-1.failed.ipynb").is_file()
    assert not (folder / "a=2.ipynb").exists() and not (folder / "a=2.failed.ipynb").exists()
    assert json.loads((folder / "a=2.status.json").read_text())["status"] == "failed"
    assert [r["status"] for r in read_csv(folder / "summary.csv")] == ["ok", "failed", "failed", "failed"]
    # the papermill process and kernel of the killed worker's run end with it
    assert wait_until(lambda: not processes_mentioning(str(tmp_path / "lessons"))), \
        [p.cmdline() for p in processes_mentioning(str(tmp_path / "lessons"))]

    kept = (folder / "a=1.ipynb").read_bytes()
    code = cli.main(["sweep", str(notebook), "--grid", "a=1,2", "-p", "marker", str(marker),
                     "-p", "running", str(running), "--name", "kill", "--cluster", address,
                     "--timeout", str(CELL_LIMIT)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[0].startswith(f"Dask: connected to {address}")
    assert out[1].startswith("[1/2] ok") and out[1].endswith("a=1  skipped: finished earlier")
    assert out[2].startswith("[2/2] ok") and "a=2  " in out[2] and "score=20" in out[2]
    # neither the notebooks nor this process got the nanny's thread limits
    assert rows[0]["omp"] == os.environ.get("OMP_NUM_THREADS", "unset") != "1"
    assert (folder / "a=1.ipynb").read_bytes() == kept
    assert json.loads((folder / "a=2.status.json").read_text())["metrics"]["score"] == 20


def test_ctrl_c_cancels_the_pending_tasks_stops_the_running_ones_and_keeps_finished_runs(
        address, tmp_path):
    """Ctrl-C once a=1 has finished and a=3 is running on the other worker (its cell sleeps
    900 s): a=3 is stopped, a=4 to a=6 never run, a=1 is kept."""
    notebook = write_notebook(tmp_path / "lessons" / "99_tiny.ipynb")
    folder = tmp_path / "interrupted"
    running = tmp_path / "running"
    running.mkdir()
    wait_for_workers(address, 2)  # a=1 and a=3 start together
    lines = []

    def ctrl_c_once_a_3_runs(line):
        lines.append(line)
        if line.startswith("[1/5]"):
            assert line.startswith("[1/5] ok"), lines
            assert wait_until(lambda: (running / "a=3").is_file(), 2 * WAIT), lines
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runs.sweep(notebook, {"a": [1, 3, 4, 5, 6]}, {"running": str(running)}, out=folder,
                   cluster=address, echo=ctrl_c_once_a_3_runs)
    assert [r["status"] for r in read_csv(folder / "summary.csv")] == ["ok"] + ["not run"] * 4
    assert sorted(p.name for p in folder.iterdir()) == [
        "a=1.ipynb", "a=1.metrics.json", "a=1.status.json", "summary.csv", "summary.md",
        "summary.png", "sweep.json"]
    assert sorted(p.name for p in running.iterdir()) == ["a=3"]  # a=4 to a=6 never started
    # a=3 was stopped: its kernel, which would sleep for 900 s more, and its papermill process end
    kernel = int((running / "a=3").read_text())
    assert wait_until(lambda: gone(kernel)), f"kernel {kernel} of a=3 still runs"
    assert wait_until(lambda: not processes_mentioning(str(tmp_path / "lessons")))
    assert wait_until(lambda: tasks_on(address) == 0)  # nothing left queued on the scheduler


# ---- the command line ------------------------------------------------------------------
def test_cli_course_on_the_cluster_prints_rows_as_lessons_finish(address, tmp_path, in_tmp, capsys):
    lessons = tmp_path / "lessons"
    write_notebook(lessons / "01_ok.ipynb")
    write_notebook(lessons / "02_broken.ipynb", 'a: int = -3  # negative on purpose\nmarker: str = ""  # f')
    code = cli.main(["course", "--notebooks", str(lessons), "--out", "c", "--cluster", address])
    out = capsys.readouterr().out.splitlines()
    assert code == 1, out
    assert out[0].startswith(f"Dask: connected to {address}")
    assert out[1].split() == ["notebook", "status", "seconds"]
    assert sorted(line.split()[:2] for line in out[2:4]) == [["01_ok", "ok"], ["02_broken", "failed"]]
    assert out[-1] == "1 of 2 notebooks failed; outputs and summary in c"
    assert [(r["notebook"], r["status"], r["error"]) for r in read_csv(in_tmp / "c" / "summary.csv")] == [
        ("01_ok", "ok", ""), ("02_broken", "failed", "ValueError: a = -3 is negative")]
    assert (in_tmp / "c" / "01_ok.ipynb").is_file() and (in_tmp / "c" / "02_broken.failed.ipynb").is_file()


def test_ctrl_c_in_a_terminal_stops_a_local_cluster_sweep_and_everything_it_started(tmp_path):
    """``medlab sweep --cluster local`` in its own process group, SIGINT to the whole group
    (what Ctrl-C in a terminal does) once the first run is in: exit 130, the finished run
    kept, no traceback, and no process of the group left (cluster, workers, kernels)."""
    notebook = write_notebook(tmp_path / "lessons" / "99_tiny.ipynb")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out_path = tmp_path / "out.txt"
    with open(out_path, "w") as out, open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medlab", "sweep", str(notebook), "--grid", "a=1,3,4,5",
             "--cluster", "local", "--jobs", "2", "--name", "ctrl-c"], cwd=tmp_path, env=env,
            stdout=out, stderr=err, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            # a local cluster to start, then a first run: kernel start included, on a busy machine
            assert wait_until(lambda: "[1/4] ok" in out_path.read_text(), 2 * WAIT), out_path.read_text()
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(WAIT) == 130
        except BaseException:
            with contextlib.suppress(OSError):  # the command, its cluster, workers, kernels
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(60)
            raise
    lines = out_path.read_text().splitlines()
    assert lines[0].startswith("Dask: local cluster of 2 worker processes at tcp://127.0.0.1:")
    assert "dashboard http://127.0.0.1:" in lines[0] and lines[0].endswith("/status")
    assert lines[-1].startswith("interrupted: 1 of 4 runs finished and kept in runs/ctrl-c")
    assert (tmp_path / "err.txt").read_text() == "medlab: interrupted\n"
    folder = tmp_path / "runs" / "ctrl-c"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("a=")) == [
        "a=1.ipynb", "a=1.metrics.json", "a=1.status.json"]

    def group_left():
        return [p for p in psutil.process_iter(["pid"]) if _pgid(p.info["pid"]) == proc.pid]

    assert wait_until(lambda: not group_left()), [p.cmdline() for p in group_left()]


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


MISSING_DASK = """import sys

class NoDask:
    '''An import system without the optional extra: dask and distributed are not found.'''
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoDask())
from medlab.course import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def test_without_dask_cluster_options_fail_in_one_line_naming_the_extra(tmp_path):
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for argv in (["sweep", str(notebook), "--grid", "a=1,2", "--cluster", "local"],
                 ["course", "--notebooks", str(tmp_path), "--cluster", "tcp://127.0.0.1:8786"]):
        done = subprocess.run([sys.executable, "-c", MISSING_DASK, *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert done.stderr == ("medlab: error: --cluster needs Dask distributed, medlab's optional "
                               "extra 'cluster' (missing module 'dask'); install it with: "
                               'pip install -e ".[cluster]"\n')
        assert done.stdout == ""
    assert not (tmp_path / "runs").exists()
    helped = subprocess.run([sys.executable, "-c", MISSING_DASK, "sweep", "--help"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--cluster ADDRESS" in helped.stdout


def test_the_command_imports_dask_only_when_a_cluster_is_used():
    """``benchmarks/startup.py`` keeps every command under 1 s: Dask (about 1 s to import)
    is imported by ``--cluster`` only."""
    probe = ("import contextlib, io, json, sys\nfrom medlab.course import cli, cluster\n"
             "for argv in (['sweep', '--help'], ['course', '--help']):\n"
             "    with contextlib.redirect_stdout(io.StringIO()):\n"
             "        cli.main(argv)\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('dask', 'distributed', 'bokeh', 'dask_jobqueue'))))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_no_scheduler_and_no_worker_are_one_line_errors_not_hangs(tmp_path, in_tmp, capsys,
                                                                   monkeypatch):
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2)
    # each command returns well within WAIT (a hang fails the test): the no-worker wait
    # without --cluster-wait would be 600 s
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0", silence_logs=50) as empty:
        code = returns_within(WAIT, lambda: cli.main([
            "sweep", str(notebook), "--grid", "a=1", "--cluster", empty.scheduler_address,
            "--cluster-wait", "2"]))
        out, err = capsys.readouterr()
        assert code == 1
        assert err == (f"medlab: error: no Dask worker connected to {empty.scheduler_address} "
                       "within 2 s (--cluster-wait); start workers, e.g. dask worker ADDRESS\n")
    # a port bound here and never listened on refuses connections, and no other process
    # (another xdist worker's cluster) can take it meanwhile
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        free_port = refusing.getsockname()[1]
        code = returns_within(WAIT, lambda: cli.main([
            "sweep", str(notebook), "--grid", "a=1", "--cluster", f"tcp://127.0.0.1:{free_port}"]))
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"medlab: error: could not connect to the Dask scheduler at "
                          f"tcp://127.0.0.1:{free_port} within 2 s") and err.count("\n") == 1
    code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster", "foo://host:8786"])
    out, err = capsys.readouterr()
    assert code == 1 and err.startswith("medlab: error: --cluster 'foo://host:8786': unknown "
                                        "address scheme 'foo'") and err.count("\n") == 1
    assert err.rstrip().endswith("expected 'local' or a scheduler address such as tcp://host:8786")
    assert not (in_tmp / "runs").exists()
    code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster", "tcp://x:1", "--jobs", "2"])
    assert code == 2 and "leave --jobs out" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"^workers 2 with cluster 'tcp://x:1': only a local"):
        runs.sweep(notebook, {"a": [1]}, jobs=2, cluster="tcp://x:1")
    assert not (in_tmp / "runs").exists()


# ---- the README's SLURM route, as far as it goes without SLURM ---------------------------
def readme_slurm_block():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("**SLURM, with dask-jobqueue.**", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_slurm_example_makes_a_scheduler_and_a_worker_command_a_sweep_runs_on(
        tmp_path, in_tmp):
    """The block runs up to ``cluster.scale`` (which would call sbatch); the worker command of
    its job script is then started here, as SLURM would start it on a node."""
    pytest.importorskip("dask_jobqueue")
    block = readme_slurm_block()
    before_sbatch = block.split("cluster.scale(")[0]
    assert "SLURMCluster(" in before_sbatch and "cluster.scheduler_address" in block
    namespace = {}
    # only loopback here: the scheduler listens on 127.0.0.1 (on a login node: its network)
    with dask.config.set({"jobqueue.slurm.scheduler-options": {"host": "127.0.0.1",
                                                                "dashboard_address": ":0"}}):
        exec(compile(before_sbatch, "README.md (SLURM example)", "exec"), namespace)
    slurm = namespace["cluster"]
    worker = None
    try:
        script = slurm.job_script()
        assert "#SBATCH -p cpu" in script and "#SBATCH --cpus-per-task=4" in script
        assert "#SBATCH --mem=" in script and "#SBATCH -t 02:00:00" in script
        command = script.strip().splitlines()[-1].split()
        assert command[1:3] == ["-m", "distributed.cli.dask_worker"]
        assert command[3] == slurm.scheduler_address and "--nthreads" in command
        assert command[command.index("--nthreads") + 1] == "1"  # one notebook at a time
        worker = subprocess.Popen([sys.executable, *command[1:]], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        notebook = write_notebook(tmp_path / "99_tiny.ipynb")
        rows = runs.sweep(notebook, {"a": [1, 2]}, out=tmp_path / "slurm",
                          cluster=slurm.scheduler_address, cluster_wait=2 * WAIT, echo=lambda line: None)
        assert [(row["status"], row["score"]) for row in rows] == [("ok", 10), ("ok", 20)]
        # that worker's nanny sets OMP_NUM_THREADS=1 for Dask's own tasks; a notebook runs
        # with the threads of a local run
        assert [row["omp"] for row in rows] == [os.environ.get("OMP_NUM_THREADS", "unset")] * 2
    finally:
        if worker is not None:
            stop_process(worker)
        slurm.close()


def test_a_worker_with_another_environment_is_refused_in_one_line(tmp_path, in_tmp, capsys):
    """A worker whose Python finds another medlab (here a stand-in package first on its
    PYTHONPATH, as on a machine set up from another checkout) cannot run medlab's tasks:
    the command says which worker and stops before anything runs or is written."""
    other = tmp_path / "other-env" / "medlab"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text('__version__ = "0.0.1"\n')
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    env = {**os.environ, "PYTHONPATH": str(other.parent)}
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0", silence_logs=50) as empty:
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", empty.scheduler_address,
             "--nthreads", "1", "--no-nanny", "--no-dashboard"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster",
                             empty.scheduler_address, "--cluster-wait", str(2 * WAIT)])
        finally:
            stop_process(worker)
    out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1, err
    # an editable install's import hook may still find medlab.course for the stand-in (the
    # task runs and reports medlab 0.0.1); else the task cannot even be loaded: both refuse
    here = re.escape(f"this machine medlab {medlab.__version__} on Python 3.")
    assert re.fullmatch(
        rf"medlab: error: worker tcp://127\.0\.0\.1:\d+ of {re.escape(empty.scheduler_address)} "
        rf"(runs medlab 0\.0\.1 on Python 3\.\d+, {here}\d+; every worker needs the same "
        r"environment|cannot run medlab's tasks \(.+\); every worker needs the same environment "
        r'as this machine \(medlab installed, pip install -e "\.\[cluster\]"\))\n', err), err
    assert not (in_tmp / "runs").exists()


# ---- addresses Dask refuses, a scheduler that goes away -----------------------------------
def open_clients():
    """The Clients alive in this process that are not closed (a Client that failed while
    connecting is in no registry; one left half-made hangs the interpreter's exit for 60 s
    in ``Client.__del__``)."""
    return {id(obj): obj for obj in gc.get_objects()
            if isinstance(obj, Client) and obj.status not in ("closed", "newly-created")}


@pytest.mark.parametrize("address, problem", [
    ("http://127.0.0.1:8786", "unknown address scheme 'http'"),
    ("tcp://127.0.0.1", "missing port number in address '127.0.0.1'"),
])
def test_an_address_dask_refuses_is_one_line_and_leaves_no_client_to_close(
        address, problem, tmp_path, in_tmp, capsys):
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    before = open_clients()
    code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster", address])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith(f"medlab: error: --cluster {address!r}: {problem}") and err.count("\n") == 1
    assert err.rstrip().endswith("expected 'local' or a scheduler address such as tcp://host:8786")
    assert [c for key, c in open_clients().items() if key not in before] == []
    assert not (in_tmp / "runs").exists()


def test_tls_without_its_configuration_is_one_line_and_leaves_no_client_to_close(
        tmp_path, in_tmp, capsys):
    """Dask fails a Client for tls:// without certificates with a TypeError in the middle of
    connecting: one line, and the half-made Client is closed at once."""
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    before = open_clients()
    code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster", "tls://127.0.0.1:8786"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("medlab: error: could not connect to the Dask scheduler at "
                          "tls://127.0.0.1:8786 (TypeError: TLS expects") and err.count("\n") == 1
    assert [c for key, c in open_clients().items() if key not in before] == []


def test_the_command_ends_after_the_one_line_without_a_client_traceback(tmp_path):
    """As a user runs it: the process exits after the line, with nothing on stderr from
    Dask (it took 60 s and printed ``Exception ignored in ... Client.__del__``)."""
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "medlab", "sweep", str(notebook), "--grid", "a=1",
                           "--cluster", "http://127.0.0.1:8786"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=45)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("medlab: error: --cluster 'http://127.0.0.1:8786': unknown "
                                  "address scheme 'http'") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("port, refused", [
    ("99999", "port 99999: expected an integer in [1, 65535]"),
    ("0", "port 0: expected an integer in [1, 65535]"),
    ("http", "port 'http' (str): expected an integer in [1, 65535]"),
    ("\u00b2", "port '\u00b2' (str): expected an integer in [1, 65535]"),  # was int()'s raw error
    ("\u0668\u0660", "port '\u0668\u0660' (str): expected an integer in [1, 65535]"),  # 80 in Arabic-Indic digits
])
def test_a_port_outside_1_to_65535_is_refused_before_connecting(port, refused, tmp_path, in_tmp,
                                                                 capsys):
    """The line is the address check's: connecting (30 s of retries) would end with 'could
    not connect ... within 30 s' instead."""
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    before = open_clients()
    code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster", f"tcp://127.0.0.1:{port}"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err == f"medlab: error: --cluster 'tcp://127.0.0.1:{port}': {refused}\n"
    assert [c for key, c in open_clients().items() if key not in before] == []
    assert not (in_tmp / "runs").exists()


@pytest.mark.parametrize("wait", ["nan", "inf", "-inf", "0", "-5"])
def test_cluster_wait_must_be_finite_seconds_above_zero(wait, tmp_path, in_tmp, capsys):
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    code = cli.main(["sweep", str(notebook), "--grid", "a=1", "--cluster", "local",
                     f"--cluster-wait={wait}"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err == f"medlab: error: --cluster-wait {float(wait):g}: expected finite seconds > 0\n"
    assert not (in_tmp / "runs").exists()
    code = cli.main(["course", "--notebooks", str(tmp_path), "--cluster", "local",
                     f"--cluster-wait={wait}"])
    assert code == 2 and capsys.readouterr().err == err
    with pytest.raises(ValueError, match=r"^cluster_wait (nan|inf|-inf|0|-5): expected "
                                         r"finite seconds > 0$"):
        runs.sweep(notebook, {"a": [1]}, cluster="local", cluster_wait=float(wait))
    assert not (in_tmp / "runs").exists()


def test_a_scheduler_killed_while_waiting_for_workers_is_said_at_once_without_log_noise(tmp_path):
    """A real scheduler process with no worker, SIGKILLed once the command has connected: the
    command says that the scheduler went away (not 'no worker within 600 s', which is all the
    old wait could say, after Dask's 30 s of reconnecting and its ERROR log line)."""
    notebook = write_notebook(tmp_path / "99_tiny.ipynb")
    address_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", ":0", "--scheduler-file", str(address_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = None
    try:
        assert wait_until(lambda: address_file.is_file() and address_file.stat().st_size, 120)
        address = json.loads(address_file.read_text())["address"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            command = subprocess.Popen(
                [sys.executable, "-m", "medlab", "sweep", str(notebook), "--grid", "a=1",
                 "--cluster", address, "--cluster-wait", "600"], cwd=tmp_path, env=env,
                stdout=out, stderr=err)
        assert wait_until(lambda: "Dask: connected" in out_path.read_text(), 120), \
            (out_path.read_text(), err_path.read_text())
        scheduler.kill()
        scheduler.wait(60)
        assert command.wait(300) == 1
    finally:
        for proc in (scheduler, command):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(60)
    assert out_path.read_text().splitlines()[0].startswith(f"Dask: connected to {address}, 0 worker(s)")
    assert err_path.read_text() == (
        f"medlab: error: the Dask scheduler at {address} went away (its connection closed) while "
        "waiting for a worker; start it again, then run the same command again\n")
    assert not (tmp_path / "runs").exists()


# ---- Ctrl-C twice ------------------------------------------------------------------------
def test_ctrl_c_twice_stops_the_runs_first_then_writes_the_summary_and_says_interrupted(
        address, tmp_path, monkeypatch):
    """Ctrl-C reaches the command twice when it runs under ``timeout`` (the terminal's signal
    and the one ``timeout`` passes on) or is pressed twice. As in a local sweep, the runs on
    the workers are stopped first, where a second Ctrl-C lands; the summary and the
    'interrupted' line come after. Before, the summary came first, with the runs still
    going, and a second Ctrl-C there left no summary and no line."""
    notebook = write_notebook(tmp_path / "lessons" / "99_tiny.ipynb")
    folder = tmp_path / "twice"
    lines, running_at_summary = [], []

    def ctrl_c_after_the_first_run(line):
        lines.append(line)
        if line.startswith("[1/3] ok"):
            raise KeyboardInterrupt

    stop, write_summary = cluster.Session.stop, sweep_folders.write_summary

    def stop_then_ctrl_c_again(session):
        stop(session)
        raise KeyboardInterrupt

    def write_summary_seeing_the_runs(*args, **kwargs):
        running_at_summary.append(processes_mentioning(str(tmp_path / "lessons")))
        return write_summary(*args, **kwargs)

    monkeypatch.setattr(cluster.Session, "stop", stop_then_ctrl_c_again)
    monkeypatch.setattr(sweep_folders, "write_summary", write_summary_seeing_the_runs)
    with pytest.raises(KeyboardInterrupt):
        runs.sweep(notebook, {"a": [1, 3, 4]}, out=folder, cluster=address,
                   echo=ctrl_c_after_the_first_run)
    assert running_at_summary == [[]]  # a=3's papermill process had stopped
    assert lines[-1].startswith("interrupted: 1 of 3 runs finished and kept in ")
    assert [r["status"] for r in read_csv(folder / "summary.csv")] == ["ok", "not run", "not run"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "a=1.ipynb", "a=1.metrics.json", "a=1.status.json", "summary.csv", "summary.md",
        "summary.png", "sweep.json"]
    assert wait_until(lambda: tasks_on(address) == 0)  # nothing left queued on the scheduler
