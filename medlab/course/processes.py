"""The papermill child processes of the course's runs: start one, keep track of it, stop it.

:func:`execute` runs one notebook with papermill in a child process
(``python -m medlab.course.execute``) and registers it while it runs, so that
:func:`stop_all` (a sweep interrupted by Ctrl-C) and :func:`stop_later` (a cluster worker told
to stop a sweep's runs) can stop it; a run stopped that way raises KeyboardInterrupt in the
thread that waits for it. Local runs (:mod:`medlab.course.runs`) and runs on a Dask worker
(:mod:`medlab.course.cluster`) both start their processes here.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from medlab import report

__all__ = ["check_timeout", "execute", "stop", "stop_all", "stop_later"]

_active = {}  # Popen -> stopped by us?
_active_lock = threading.Lock()


def stop_all():
    """Interrupt every running papermill process (their kernels shut down), then kill."""
    with _active_lock:
        procs = list(_active)
        for proc in procs:
            _active[proc] = True
    for proc in procs:
        stop(proc)


def stop(proc, grace=15):
    """Interrupt ``proc`` (papermill shuts its kernel down), kill it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        proc.wait(grace)  # papermill's KeyboardInterrupt shuts its kernel down
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except OSError:
        pass


def execute(notebook, parameters, output, metrics, timeout=None, *, cwd=None, on_start=None,
             environ=None):
    """Run papermill on ``notebook`` in a child process; return its outcome as a dict.

    The child (``python -m medlab.course.execute``) runs the kernel in ``cwd`` (default the
    notebook's folder) with ``MEDLAB_METRICS_PATH=metrics``; ``on_start(proc)``, if given,
    receives the child's ``Popen`` as soon as it runs; ``environ`` replaces ``os.environ``
    as the child's environment. Returns ``{"status": "ok"}`` or
    ``{"status": "failed", "ename", "evalue", "cell"}``.
    """
    cwd = Path(cwd) if cwd is not None else notebook.parent
    env = {**(os.environ if environ is None else environ), report.ENV_VAR: str(metrics)}
    command = [sys.executable, "-m", "medlab.course.execute", str(notebook), str(output),
               "--cwd", str(cwd)]
    timeout = check_timeout(timeout)
    if timeout:
        command += ["--timeout", str(timeout)]
    for name, value in parameters.items():
        command += ["-p", name, json.dumps(value)]
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace")
    with _active_lock:
        _active[proc] = False
    try:
        if on_start is not None:
            on_start(proc)
        out, err = proc.communicate()
    except BaseException:
        stop(proc)
        raise
    finally:
        with _active_lock:
            stopped = _active.pop(proc, False)
    if stopped:
        raise KeyboardInterrupt
    for line in reversed(out.splitlines()):
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and "status" in result:
            return result
    lines = [line for line in err.splitlines() if line.strip()]
    return {"status": "failed", "ename": "RunnerError", "cell": None,
            "evalue": f"papermill process exited with code {proc.returncode}"
                      + (f": {lines[-1]}" if lines else "")}


def check_timeout(timeout, name="timeout"):
    """``timeout`` (seconds one cell may run) as nbclient takes it: whole seconds, rounded
    up (``2.5`` -> 3), or None for no limit (``0`` or None).

    Raises ValueError naming ``name`` for anything but a finite number >= 0 (nan, inf,
    negatives, text, bools).
    """
    if timeout is None:
        return None
    from medlab import validate  # imports NumPy: not at start-up

    try:
        seconds = validate.number(name, timeout, low=0)
    except validate.ArgumentError:
        shown = f"{timeout:g}" if isinstance(timeout, float) else repr(timeout)
        raise validate.ArgumentError(f"{name} {shown}: expected a finite number of seconds "
                                     ">= 0 (0: no limit)") from None
    return math.ceil(seconds) or None


def stop_later(proc):
    """Mark ``proc`` as stopped by us (its :func:`execute` raises KeyboardInterrupt) and stop
    it in a background thread."""
    with _active_lock:
        if proc in _active:
            _active[proc] = True
    threading.Thread(target=stop, args=(proc,), daemon=True).start()
