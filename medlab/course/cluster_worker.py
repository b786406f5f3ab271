"""The worker side of :mod:`medlab.course.cluster`: what a Dask worker runs for medlab.

==================================  ===============================================================
``run_on_worker(token, ...)``       the task: run one notebook (papermill, as a local run does)
                                    in a temporary folder, return its outcome and output as bytes
``stop_runs(token)``                (``client.run``) stop a token's papermill processes here
``worker_environment()``            (``client.run``) medlab's and Python's version, papermill
``dask_setup(worker)``              the preload of a local cluster's workers: SIGINT ignored
==================================  ===============================================================

Imported by the client only for the names it sends (Dask pickles them by reference, so a
worker imports this module, not the client's :mod:`~medlab.course.cluster`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from medlab.course import processes

_running = {}  # sweep token -> set of papermill Popen objects in this worker process
_stopped = set()  # tokens whose runs were stopped here
_lock = threading.Lock()


def run_on_worker(token, notebook_path, notebook_bytes, parameters, timeout):
    """The task: run one notebook here; return its outcome with the output as bytes.

    Parameters
    ----------
    token : str
        The sweep's (or course run's) token, for :func:`stop_runs`.
    notebook_path : str
        The notebook's path on the client (its folder is the kernel's working directory
        when it exists here).
    notebook_bytes : bytes
        The notebook itself, as the client read it.
    parameters : dict
        Papermill parameters.
    timeout : float or None
        Seconds one cell may run.

    Returns
    -------
    dict
        ``status`` (``ok`` or ``failed``), ``ename``, ``evalue``, ``cell`` as from a local
        run; ``seconds`` (wall time here), ``notebook`` and ``metrics`` (bytes or None),
        ``worker`` (this worker's address).
    """
    started = time.perf_counter()
    outcome = {"status": "failed", "ename": "Interrupted", "cell": None,
               "evalue": "stopped on the worker (the sweep was interrupted)"}
    source = Path(notebook_path)
    mine = []

    def register(proc):
        with _lock:
            stop_now = token in _stopped
            if not stop_now:
                _running.setdefault(token, set()).add(proc)
                mine.append(proc)
        if stop_now:
            processes.stop_later(proc)

    with tempfile.TemporaryDirectory(prefix="medlab-run-") as tmp:
        tmp = Path(tmp)
        if _same_file(source, notebook_bytes):  # the same checkout, or a shared file system
            here = source
        else:
            here = tmp / "in" / source.name
            here.parent.mkdir()
            here.write_bytes(notebook_bytes)
        cwd = source.parent if source.parent.is_dir() else here.parent
        output, metrics = tmp / "output.ipynb", tmp / "output.metrics.json"
        if token not in _stopped:
            try:
                outcome = processes.execute(here, parameters, output, metrics, timeout, cwd=cwd,
                                            on_start=register, environ=_without_dask_limits())
            except KeyboardInterrupt:  # stopped by stop_runs
                pass
            finally:
                with _lock:
                    left = _running.get(token, set()) - set(mine)
                    if left:
                        _running[token] = left
                    else:
                        _running.pop(token, None)
        outcome = dict(outcome)
        outcome["seconds"] = time.perf_counter() - started
        outcome["notebook"] = output.read_bytes() if output.is_file() and output.stat().st_size else None
        outcome["metrics"] = metrics.read_bytes() if metrics.is_file() else None
    outcome["worker"] = _worker_address()
    return outcome


def _without_dask_limits():
    """This worker's environment without what Dask's nanny sets for its own tasks
    (``distributed.nanny.pre-spawn-environ``: ``OMP_NUM_THREADS=1``, ``MALLOC_TRIM_THRESHOLD_``,
    ...), so a notebook runs with the threads and allocator of a local run."""
    import dask

    environ = dict(os.environ)
    for key, value in (dask.config.get("distributed.nanny.pre-spawn-environ", None) or {}).items():
        if value is not None and environ.get(key) == str(value):
            del environ[key]
    return environ


def _same_file(path, content):
    try:
        return path.is_file() and path.read_bytes() == content
    except OSError:
        return False


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def stop_runs(token):
    """On a worker (``client.run``): stop this token's papermill processes (their kernels
    shut down) and refuse its tasks that start later. Returns how many were stopped."""
    with _lock:
        _stopped.add(token)
        procs = list(_running.pop(token, ()))
    for proc in procs:
        processes.stop_later(proc)
    return len(procs)


def dask_setup(worker):
    """Preload of a local cluster's workers: they ignore SIGINT. Ctrl-C in a terminal reaches
    the whole process group; the command then stops the runs and the workers itself, so
    the workers print no traceback of their own."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_environment():
    """What a worker runs with (``client.run``): medlab's version, Python's, papermill."""
    import importlib.util

    import medlab

    return {"medlab": medlab.__version__, "python": "%d.%d" % sys.version_info[:2],
            "papermill": importlib.util.find_spec("papermill") is not None}
