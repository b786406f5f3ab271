"""Parameterized runs of the lessons: one run, a sweep over a grid, the whole course.

Each run executes a notebook with papermill (kernel ``python3``, working directory
the notebook's folder, as nbval runs it) in a child process (:mod:`medlab.course.execute`,
whose client never blocks on widget traffic), with the environment
variable ``MEDLAB_METRICS_PATH`` set to ``<output stem>.metrics.json`` beside the
output notebook, so what the notebook passes to :func:`medlab.report.record` lands
there::

    from medlab.course import runs

    result = runs.run_notebook("notebooks/02_convolution.ipynb", {"kernel_size": 7},
                               "runs/02_convolution/k7.ipynb")
    rows = runs.sweep("notebooks/07_training_a_classifier.ipynb",
                      {"learning_rate": [1e-4, 1e-3], "kernel_size": [3, 5]}, jobs=2)
    rows = runs.course()            # every numbered notebook, in order

``sweep(..., cluster="local")`` or ``cluster="tcp://host:8786"`` (and ``course(cluster=...)``)
runs each notebook as a task on Dask distributed instead (:mod:`medlab.course.cluster`);
the outputs come back and are filed here exactly as local runs are.

Every cell has a time limit, :data:`DEFAULT_TIMEOUT` seconds unless ``timeout`` says
otherwise (0 or None: no limit; a fraction is rounded up to whole seconds, which is what
nbclient counts), so a run that hangs ends as a failed run and a sweep goes on with the
next one.

Nothing is ever overwritten. A run writes to hidden temporary names and renames
them when it succeeds, so an interrupted or failed run leaves no half-written
output under the final name; a sweep marks each finished run with
``<run>.status.json`` and skips it when run again. A sweep or course holds its folder
(:mod:`medlab.course.locks`): a second one into the same folder is refused at once. The command line
(``medlab run``, ``medlab sweep``, ``medlab course``) is in :mod:`medlab.course.cli`.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from medlab import files, report
from medlab.course import naming, processes, sweep_folders
from medlab.course.locks import folder_lock, holds_files
from medlab.course.notebooks import NotebookError, notebook_parameters, read_notebook
from medlab.course.summaries import format_metrics, format_value, write_summary

__all__ = [
    "DEFAULT_TIMEOUT", "RunFailed", "RunResult", "course",
    "course_notebooks", "has_parameter",
    "format_metrics", "format_value", "notebook_parameters", "run_notebook",
    "sweep", "write_summary",
]

#: The numbered lessons that ``course`` runs, in name order.
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: Seconds one cell may run unless ``timeout`` is given (``medlab run/sweep/course --timeout``).
#: The slowest lesson cell takes under a minute on 2 cores with its defaults; ten minutes
#: leave room for larger parameters and end a hang. 0 or None: no limit.
DEFAULT_TIMEOUT = 600


class RunFailed(RuntimeError):
    """A notebook run that did not finish; ``str()`` is one line, ``ename: evalue``.

    Attributes
    ----------
    ename, evalue : str
        Exception name and message from the failing cell (or from the runner).
    cell : int or None
        Execution count of the failing cell.
    notebook : pathlib.Path or None
        The partly executed output notebook, kept as ``<stem>.failed.ipynb``.
    seconds : float
        Wall time until the failure.
    """

    def __init__(self, ename, evalue, cell=None, notebook=None, seconds=0.0):
        self.ename, self.evalue, self.cell = ename, evalue, cell
        self.notebook, self.seconds = notebook, seconds
        super().__init__(naming.one_line(f"{ename}: {evalue}" if evalue else ename))


@dataclass
class RunResult:
    """A finished run: ``output`` notebook, ``metrics`` dict (empty when none recorded)."""

    notebook: Path
    parameters: dict
    output: Path
    metrics_path: Path | None
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0


# --------------------------------------------------------------------------
# values, grids, names
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# parameters of a notebook
# --------------------------------------------------------------------------
def _check_notebook(path):
    """``path`` resolved, once it is a readable notebook (one-line error naming it if not)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such notebook")
    if path.suffix != ".ipynb" and not path.is_dir():
        raise ValueError(f"{path}: expected a notebook ending in .ipynb")
    read_notebook(path)
    return path.resolve()


def has_parameter(path, name):
    """True when the notebook at ``path`` has the parameter ``name``; False also when it is
    not a readable notebook (its run then fails, saying why)."""
    try:
        return name in notebook_parameters(path)
    except (NotebookError, OSError):
        return False


def _check_names(path, names):
    """Refuse names the notebook does not have (papermill would only warn and run the defaults)."""
    if not names:
        return
    try:
        known = notebook_parameters(path)
    except NotebookError as exc:
        raise ValueError(str(exc)) from None
    if not known:
        raise ValueError(f"{path.name} has no cell tagged 'parameters', so it takes no parameters")
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"{path.name} has no parameter {name!r}; {hint}its parameters: "
                             f"{', '.join(known)}")


# --------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------


def run_notebook(path, parameters=None, output=None, *, timeout=DEFAULT_TIMEOUT, execute=None):
    """Execute a notebook with papermill in a fresh process; never overwrite anything.

    Parameters
    ----------
    path : str or Path
        The notebook (``.ipynb``) with a cell tagged ``parameters``.
    parameters : dict, optional
        Values for its parameters (names it does not have are refused).
    output : str or Path, optional
        The output notebook, ``.ipynb``; default ``runs/<stem>/<timestamp>.ipynb``.
        Its metrics go to ``<output stem>.metrics.json`` beside it.
    timeout : float, optional
        Seconds one cell may run (default :data:`DEFAULT_TIMEOUT`; 0 or None: no limit;
        rounded up to whole seconds). A
        cell that runs longer ends the run as failed (``CellTimeoutError``).
    execute : callable, optional
        ``execute(notebook, parameters, partial, partial_metrics, timeout) -> outcome``
        runs the notebook into the (hidden, temporary) ``partial`` files and returns
        ``{"status": "ok"}`` or ``{"status": "failed", "ename", "evalue", "cell"}``, with
        ``"seconds"`` if it timed the run itself. Default: papermill in a child process
        here; :mod:`medlab.course.cluster` passes one that delivers a Dask worker's result.

    Returns
    -------
    RunResult

    Raises
    ------
    FileExistsError
        ``output`` or its metrics file exists already.
    ValueError
        A parameter the notebook does not have.
    RunFailed
        A cell raised (e.g. ``ParameterError`` from ``medlab.params.check``), the
        kernel died or did not start. The partial output is kept as ``<stem>.failed.ipynb``.
    """
    notebook = _check_notebook(path)
    timeout = processes.check_timeout(timeout)
    parameters = dict(parameters or {})
    if output is None:
        output = naming.new_output_path(notebook)
    output = Path(output).absolute()
    if output.suffix != ".ipynb":
        raise ValueError(f"{output}: the output notebook must end in .ipynb")
    naming.refuse_existing(output)
    _check_names(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)

    fd, partial = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".partial.ipynb",
                                   dir=output.parent)
    os.close(fd)
    partial = Path(partial)
    partial_metrics = partial.with_name(partial.name.replace(".partial.ipynb", ".partial.metrics.json"))
    started = time.perf_counter()
    try:
        outcome = (execute or processes.execute)(notebook, parameters, partial, partial_metrics, timeout)
        seconds = outcome.get("seconds", time.perf_counter() - started)
        if outcome["status"] == "ok":
            metrics_path = None
            metrics = {}
            if partial_metrics.is_file():
                metrics = report.read(partial_metrics)
                metrics_path = naming.metrics_path_for(output)
                naming.move_no_clobber(partial_metrics, metrics_path)
            naming.move_no_clobber(partial, output)
            return RunResult(notebook, parameters, output, metrics_path, metrics, seconds)
        failed = None
        if partial.is_file() and partial.stat().st_size:
            failed = naming.unique_path(output.with_name(f"{output.stem}.failed.ipynb"))
            naming.move_no_clobber(partial, failed)
        raise RunFailed(outcome.get("ename") or "Error", outcome.get("evalue") or "",
                        outcome.get("cell"), failed, seconds)
    finally:
        partial.unlink(missing_ok=True)
        partial_metrics.unlink(missing_ok=True)


# --------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------


def _sweep_one(notebook, folder, name, parameters, timeout, stop, execute=None):
    """Run one combination (``execute`` as in :func:`run_notebook`); write its status file;
    return the status dict."""
    adopted = sweep_folders.adopt(folder, name, parameters)
    if adopted is not None:
        return adopted
    status = {"run": name, "parameters": parameters, "notebook": str(notebook)}
    try:
        result = run_notebook(notebook, parameters, folder / f"{name}.ipynb", timeout=timeout,
                              execute=execute)
    except (RunFailed, FileExistsError, ValueError) as exc:
        if stop.is_set():
            raise KeyboardInterrupt from None
        seconds = getattr(exc, "seconds", 0.0)
        if isinstance(exc, FileExistsError):
            exc = FileExistsError(f"{exc} (it is not a finished run of this sweep)")
        status.update(status="failed", seconds=round(seconds, 3), error=str(exc), metrics={},
                      finished=time.strftime("%Y-%m-%d %H:%M:%S"))
        if getattr(exc, "notebook", None):
            status["failed_notebook"] = exc.notebook.name
    else:
        status.update(status="ok", seconds=round(result.seconds, 3), error="",
                      metrics=result.metrics, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    files.write_json(sweep_folders.status_path(folder, name), status, allow_nan=True)
    return status


def _default_sweep_name(notebook, grid, fixed):
    return f"{naming.slug(notebook.stem)}-{naming.digest({'grid': grid, 'fixed': fixed})}"


def sweep(path, grid, fixed=None, jobs=None, out=None, name=None, *, timeout=DEFAULT_TIMEOUT,
          progress=None, echo=None, cluster=None, cluster_wait=None, repair=False):
    """Run a notebook once per combination of ``grid``; return the summary rows.

    Parameters
    ----------
    path : str or Path
        The notebook.
    grid : dict of name -> list, or list of ``"name=v1,v2"`` strings
        The values to sweep; every combination runs once (first name varies slowest).
    fixed : dict, optional
        Parameters given to every run.
    jobs : int, optional
        Runs at the same time, each in its own process (default 1). With
        ``cluster="local"``: the local cluster's worker processes (default: the cores).
    out : str or Path, optional
        The sweep folder; default ``runs/<name>``.
    name : str, optional
        Sweep name; default ``<notebook stem>-<hash of grid and fixed>``, so the same
        sweep run again finds its folder and skips its finished runs.
    timeout : float, optional
        Seconds one cell may run (default :data:`DEFAULT_TIMEOUT`; 0 or None: no limit;
        rounded up to whole seconds).
    progress : bool, optional
        Show a tqdm bar over the runs; default when stderr is a terminal.
    echo : callable, optional
        Receives one line per run; default prints it above the bar.
    cluster : str or distributed.Client, optional
        Run each combination as a task on Dask distributed (:mod:`medlab.course.cluster`):
        ``"local"`` (a LocalCluster started and stopped here), a scheduler address
        (``"tcp://host:8786"``) or a Client. Outputs come back and land here as usual.
    cluster_wait : float, optional
        Seconds to wait while no worker is connected before failing the runs still out
        (default :data:`medlab.course.cluster.DEFAULT_WAIT`).
    repair : bool, optional
        Rebuild a damaged or lost ``sweep.json`` from the runs' ``*.status.json`` (when they
        are runs of this notebook with these fixed parameters), keeping the damaged file as
        ``sweep.damaged.json``, and go on. Without it such a folder is refused, saying so.

    Returns
    -------
    list of dict
        One row per combination, in grid order: ``run``, the swept parameters,
        ``status`` (``ok``, ``failed`` or ``not run``), ``seconds``, each recorded
        metric, ``error``. Also written to ``summary.csv`` and ``summary.md``, with
        ``summary.png`` plotting each numeric metric against each swept parameter.

    A finished run (``<run>.status.json`` says ``ok``) is not run again. A failed run is
    reported and the sweep goes on. On KeyboardInterrupt, running notebooks are
    stopped, the summary is written for what finished, and the interrupt is re-raised.
    """
    notebook = _check_notebook(path)
    timeout = processes.check_timeout(timeout)
    if not isinstance(grid, dict):
        grid = naming.parse_grid(grid)
    grid = {key: list(values) for key, values in grid.items()}
    if not grid or any(not values for values in grid.values()):
        raise ValueError("grid: expected at least one parameter with at least one value")
    fixed = dict(fixed or {})
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"parameter {both[0]!r} is both swept (--grid) and fixed (-p)")
    if jobs is not None and int(jobs) < 1:
        raise ValueError(f"jobs {jobs}: expected at least 1")
    _check_names(notebook, [*grid, *fixed])
    if out is not None:
        folder = Path(out)
        name = name or folder.name
    else:
        name = name or _default_sweep_name(notebook, grid, fixed)
        if naming.safe(name) != name or name in (".", ".."):
            raise ValueError(f"sweep name {name!r}: use letters, digits and . _ + - = only")
        folder = naming.RUNS_ROOT / name
    folder = folder.absolute()
    with contextlib.ExitStack() as stack:
        stack.enter_context(folder_lock(folder, "sweep"))  # a second sweep here is refused
        sweep_folders.check_sweep_folder(folder, notebook, fixed, repair)  # refused before connecting
        tasks = None
        everything_done = all(sweep_folders.finished(folder, run, {**combo, **fixed}) is not None
                              for run, combo in naming.combinations(grid))
        if cluster is not None and not everything_done:  # connect before anything is written
            tasks = stack.enter_context(_cluster_session(cluster, jobs, cluster_wait, echo))
            jobs = None
        return _run_sweep(notebook, grid, fixed, int(jobs or 1), folder, name, timeout, progress,
                          echo, tasks, repair)


def _cluster_session(cluster, workers, wait, echo):
    from medlab.course import cluster as dask_cluster

    return dask_cluster.session(cluster, workers=workers, say=echo or print,
                                wait=dask_cluster.DEFAULT_WAIT if wait is None else wait)


def _needs_run(folder, run, parameters):
    """False for a run that need not be sent to a cluster: one adopted as finished, or one
    whose output name is taken (:func:`_sweep_one` reports it without running)."""
    output = folder / f"{run}.ipynb"
    return (sweep_folders.adopt(folder, run, parameters) is None and not output.exists()
            and not naming.metrics_path_for(output).exists())


def _run_sweep(notebook, grid, fixed, jobs, folder, name, timeout, progress, echo, tasks,
               repair=False):
    """The sweep after its checks: ``jobs`` local processes, or the cluster ``tasks``."""
    from tqdm.auto import tqdm

    repaired = sweep_folders.prepare_sweep_folder(folder, notebook, grid, fixed, repair)

    combos = naming.combinations(grid)
    total = len(combos)
    statuses = {}
    bar = tqdm(total=total, desc=name, unit="run", file=sys.stderr,
               disable=not (sys.stderr.isatty() if progress is None else progress))
    say = echo or (lambda line: bar.write(line, file=sys.stdout))
    width = len(str(total))
    if repaired:
        say(repaired)

    def report_line(index, status, note=""):
        label = f"[{index + 1:>{width}}/{total}] {status['status']:<7}"
        seconds = f"{status.get('seconds', 0):7.1f} s" if not note else " " * 9
        tail = note or status.get("error") or format_metrics(sweep_folders.metrics_of(status))
        say(f"{label} {seconds}  {status['run']}" + (f"  {tail}" if tail else ""))

    todo = []
    for index, (run, combo) in enumerate(combos):
        done = sweep_folders.finished(folder, run, {**combo, **fixed})
        if done is not None:
            statuses[run] = done
            report_line(index, done, "skipped: finished earlier")
            bar.update(1)
        else:
            todo.append((index, run, combo))

    stop = threading.Event()
    futures = {}
    try:
        results = _sweep_results(notebook, folder, todo, fixed, timeout, jobs, tasks, stop, futures)
        with contextlib.closing(results):  # on an interrupt, the runs still out stop first
            for index, run, status in results:
                statuses[run] = status
                report_line(index, status)
                bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        # runs that finished while the interrupt was being handled are kept, so say so
        for future, (_, run) in futures.items():
            if run not in statuses and future.done() and not future.cancelled() and future.exception() is None:
                if future.result().get("status") == "ok":
                    statuses[run] = future.result()
        rows = sweep_folders.summary_rows(combos, grid, statuses)
        sweep_folders.write_sweep_summary(folder, rows, combos, grid, fixed, name, notebook)
        say(f"interrupted: {sum(r['status'] == 'ok' for r in rows)} of {total} runs finished "
            f"and kept in {naming.relative_path(folder)}; run the same sweep again to do the rest")
        raise
    bar.close()
    rows = sweep_folders.summary_rows(combos, grid, statuses)
    written = sweep_folders.write_sweep_summary(folder, rows, combos, grid, fixed, name, notebook)
    n_ok = sum(row["status"] == "ok" for row in rows)
    say(f"{n_ok} of {total} runs ok; summary: " + ", ".join(naming.relative_path(p) for p in written))
    return rows


def _sweep_results(notebook, folder, todo, fixed, timeout, jobs, tasks, stop, futures):
    """Run the ``(index, run, combo)`` of ``todo``; yield ``(index, run, status)`` as each
    ends.

    One at a time here (``jobs`` 1), ``jobs`` at once in threads (each future is also put in
    ``futures``), or as tasks of the cluster session ``tasks``. When closed early (Ctrl-C),
    the runs still out are stopped.
    """
    if tasks is not None:
        yield from _cluster_results(notebook, folder, todo, fixed, timeout, tasks, stop)
    elif jobs == 1:
        for index, run, combo in todo:
            yield index, run, _sweep_one(notebook, folder, run, {**combo, **fixed}, timeout, stop)
    else:
        with ThreadPoolExecutor(max_workers=int(jobs)) as pool:
            futures.update({pool.submit(_sweep_one, notebook, folder, run, {**combo, **fixed},
                                        timeout, stop): (index, run) for index, run, combo in todo})
            try:
                for future in _as_completed(futures):
                    yield *futures[future], future.result()
            except BaseException:  # also GeneratorExit: closed by an interrupt
                stop.set()
                for future in futures:
                    future.cancel()
                processes.stop_all()
                raise


def _cluster_results(notebook, folder, todo, fixed, timeout, tasks, stop):
    """:func:`_sweep_results` on a cluster: runs that need no run (finished, or a file in the
    way) are filed at once; the others are sent and filed as their results come back."""
    from medlab.course.cluster import Delivered, not_submitted

    try:
        for index, run, combo in todo:
            parameters = {**combo, **fixed}
            if _needs_run(folder, run, parameters):
                tasks.submit(notebook, parameters, timeout, (index, run, parameters), run)
            else:
                yield index, run, _sweep_one(notebook, folder, run, parameters, timeout, stop,
                                             execute=not_submitted)
        for (index, run, parameters), outcome in tasks.finished():
            yield index, run, _sweep_one(notebook, folder, run, parameters, timeout, stop,
                                         execute=Delivered(outcome))
    except BaseException:  # also GeneratorExit: closed by an interrupt
        tasks.stop()  # as in a local sweep: before the summary, where a second Ctrl-C lands
        raise


def _as_completed(futures):
    """concurrent.futures.as_completed, polling so that Ctrl-C reaches the main thread."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
        yield from done


# --------------------------------------------------------------------------
# the whole course
# --------------------------------------------------------------------------
def default_notebooks_folder():
    """``notebooks/`` here when it holds numbered lessons, else the checkout's."""
    here = Path("notebooks")
    if any(here.glob(NOTEBOOK_GLOB)):
        return here
    return Path(__file__).resolve().parents[1] / "notebooks"


def course_notebooks(folder=None):
    """The numbered lessons ``NN_name.ipynb`` of ``folder`` (default ``notebooks/``), sorted."""
    folder = Path(folder) if folder is not None else default_notebooks_folder()
    found = sorted(folder.glob(NOTEBOOK_GLOB))
    if not found:
        raise FileNotFoundError(f"{folder}: no numbered notebooks (NN_name.ipynb)")
    return found


def course(dataset=None, out=None, *, notebooks=None, timeout=DEFAULT_TIMEOUT, echo=None,
           cluster=None, cluster_wait=None, workers=None):
    """Run every numbered notebook in order, each with its defaults; return one row each.

    Parameters
    ----------
    dataset : str, optional
        Passed as ``-p dataset`` to the notebooks that have a ``dataset`` parameter.
    out : str or Path, optional
        A new folder for the outputs; default ``runs/course-<timestamp>``.
    notebooks : str or Path, optional
        Folder of the lessons; default ``notebooks/`` here, else the checkout's.
    timeout : float, optional
        Seconds one cell may run (default :data:`DEFAULT_TIMEOUT`; 0 or None: no limit;
        rounded up to whole seconds).
    echo : callable, optional
        Receives one row per notebook as it finishes (default: nothing).
    cluster : str or distributed.Client, optional
        Run the notebooks as tasks on Dask distributed, all at once, as :func:`sweep` does;
        rows reach ``echo`` as notebooks finish, and are returned in lesson order.
    cluster_wait, workers : optional
        As ``cluster_wait`` and ``jobs`` of :func:`sweep` (``workers``: of a local cluster).

    Returns
    -------
    list of dict
        ``notebook``, ``status`` (``ok`` or ``failed``), ``seconds``, ``output`` (the
        output notebook, or the partial one of a failed run) and ``error`` per
        notebook; also written to ``summary.csv`` and ``summary.md`` in the folder.
    """
    timeout = processes.check_timeout(timeout)
    paths = course_notebooks(notebooks)
    folder = naming.new_course_folder() if out is None else Path(out)
    parameters = {}
    for path in paths:
        parameters[path] = {}
        if dataset is not None and has_parameter(path, "dataset"):
            parameters[path]["dataset"] = dataset
    with contextlib.ExitStack() as stack:
        stack.enter_context(folder_lock(folder, "course"))  # a second course here is refused
        if holds_files(folder):
            raise FileExistsError(f"{naming.relative_path(folder)} exists and is not empty; "
                                  "a course run goes into a new folder")
        tasks = None
        if cluster is not None:  # connect before anything is written
            tasks = stack.enter_context(_cluster_session(cluster, workers, cluster_wait, None))
        by_path = {}
        for path, row in _course_results(paths, parameters, folder, timeout, tasks):
            by_path[path] = row
            if echo:
                echo(row)
        rows = [by_path[path] for path in paths]
        write_summary(folder, rows, [], f"# Course run\n\nFolder `{naming.relative_path(folder)}`"
                      + (f"; dataset `{dataset}`" if dataset is not None else ""))
    return rows


def _course_results(paths, parameters, folder, timeout, tasks=None):
    """Run each lesson of :func:`course` into ``folder``; yield ``(path, row)`` as each
    ends: in order here, or all at once as tasks of the cluster session ``tasks``."""
    if tasks is None:
        for path in paths:
            yield path, _course_row(path, parameters[path], folder, timeout)
        return
    from medlab.course.cluster import Delivered

    for path in paths:
        tasks.submit(path, parameters[path], timeout, path, path.stem)
    for path, outcome in tasks.finished():
        yield path, _course_row(path, parameters[path], folder, timeout, Delivered(outcome))


def _course_row(path, parameters, folder, timeout, execute=None):
    """Run one lesson of :func:`course` into ``folder``; its summary row."""
    try:
        result = run_notebook(path, parameters, folder / path.name, timeout=timeout,
                              execute=execute)
        return {"notebook": path.stem, "status": "ok", "seconds": round(result.seconds, 1),
                "output": naming.relative_path(result.output), "error": ""}
    except (RunFailed, ValueError, OSError) as exc:
        kept = getattr(exc, "notebook", None)
        return {"notebook": path.stem, "status": "failed",
                "seconds": round(getattr(exc, "seconds", 0.0), 1),
                "output": naming.relative_path(kept) if kept else "", "error": naming.one_line(exc)}
