"""Execute one notebook with papermill's API, in a child process, without the widget hang.

:mod:`medlab.course.runs` starts one child per run::

    python -m medlab.course.execute INPUT.ipynb OUTPUT.ipynb --cwd DIR --timeout 600 \
        -p kernel_size 7 -p learning_rate 0.001

(``-p NAME VALUE`` with VALUE as JSON, so types arrive exactly). The child calls
:func:`papermill.execute_notebook` with the engine ``medlab`` registered below, and prints
one JSON line on stdout: ``{"status": "ok"}`` or ``{"status": "failed", "ename",
"evalue", "cell"}``; exit status 0 or 1.

Why a child process (measured, ``benchmarks/startup.py``): importing papermill costs
1.4 to 2.9 s on 2 cores (nbformat's validator imports jsonschema, whose format checker
builds the rfc3987 grammar), which would break the 1 s start-up of ``medlab run`` and
``medlab sweep``; and papermill's ``cwd`` changes the working directory of the whole
process, so two runs at once (``--jobs 2``) need two processes. The environment variable
``MEDLAB_METRICS_PATH`` reaches the kernel through the child's environment.

The widget hang (jupyter/nbclient#312, PR #311): nbclient plays the front end of an
``ipywidgets.Output`` widget (``interact`` draws into one). Each output it captures is
synced back to the kernel as a ``comm_msg`` *sent on the shell socket*, from the task that
reads IOPub, while another task awaits the execute reply on that same socket with
``get_msg(timeout=None)``. Now and then the send consumes the socket's (edge-triggered)
readiness, the pending receive is never woken, and the run waits forever with kernel and
client idle. :class:`WidgetSafeClient` keeps the Output widget's captured outputs (they are
stored in the notebook's widget state as before) but never sends anything to the kernel
while a cell runs, so nothing can race the reply; and it waits for the reply in bounded
slices, so even a lost wake-up costs at most :data:`SHELL_POLL_SECONDS`. The per-cell
``timeout`` (papermill's ``execution_timeout``) ends any other hang as a failed run.
Code that drives nbclient itself gets the same client from :func:`widget_safe_notebook_client`.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import signal
import sys

#: Longest single wait for a shell message before looking again (seconds).
SHELL_POLL_SECONDS = 1.0
#: Seconds a kernel may take to start. papermill's default, 60 s, is reached on a busy
#: machine (two test workers and other work on 2 cores); a kernel that never starts still
#: ends its run as failed.
KERNEL_START_SECONDS = 300
#: Kernels that die before their first cell runs are started again this many times: two
#: kernels started at once can pick the same free port (jupyter_client chooses ports, then
#: the kernel binds them: jupyter/jupyter_client#154, nteract/papermill#511), and one of them
#: then dies before replying. No cell of the notebook has run, so starting again is safe.
START_RETRIES = 2
ENGINE_NAME = "medlab"


def kernel_died_starting(exc):
    """Whether ``exc``, raised before any cell ran, says the kernel died (worth a new start,
    :data:`START_RETRIES` times); a kernel that did not answer in time is not retried: it
    has already had its wait.

    >>> kernel_died_starting(RuntimeError("Kernel died before replying to kernel_info"))
    True
    >>> kernel_died_starting(RuntimeError("Kernel didn't respond in 300 seconds"))
    False
    >>> kernel_died_starting(RuntimeError("ImportError: a studied module"))
    False
    """
    return isinstance(exc, RuntimeError) and ("kernel died" in str(exc).lower()
                                              or type(exc).__name__ == "DeadKernelError")


def start_retry_pause(attempt):
    """Seconds to wait before start number ``attempt + 2`` (0.5, 1.0, ...)."""
    return 0.5 * (attempt + 1)


def retrying_dead_starts(start, cells_ran=None):
    """``start`` (a callable that starts a kernel, and may go on to run cells) wrapped so that
    a kernel that dies while starting (:func:`kernel_died_starting`) is started again, up to
    :data:`START_RETRIES` times, :func:`start_retry_pause` seconds apart. ``cells_ran``, called
    with ``start``'s arguments after a failure, says whether a cell had already run: then the
    error is raised as it is (the notebook's own code may have killed the kernel).

    >>> starts = []
    >>> def dies_once():
    ...     starts.append(len(starts))
    ...     if len(starts) == 1:
    ...         raise RuntimeError("Kernel died before replying to kernel_info")
    ...     return "a kernel"
    >>> retrying_dead_starts(dies_once)(), len(starts)
    ('a kernel', 2)
    """
    import time

    @functools.wraps(start)
    def retrying(*args, **kwargs):
        for attempt in range(START_RETRIES + 1):
            try:
                return start(*args, **kwargs)
            except RuntimeError as exc:  # "Kernel died before replying to kernel_info"
                if (not kernel_died_starting(exc) or attempt == START_RETRIES
                        or (cells_ran is not None and cells_ran(*args, **kwargs))):
                    raise
                time.sleep(start_retry_pause(attempt))

    retrying.retries_dead_starts = True
    return retrying


def execute_client(client, **kwargs):
    """``client.execute(**kwargs)`` for an nbclient ``NotebookClient`` (code that drives
    nbclient itself), a kernel that dies before the first cell runs started again as in
    :func:`retrying_dead_starts`; returns the executed notebook (nbformat's node)."""
    return retrying_dead_starts(client.execute,
                                cells_ran=lambda **_: client.code_cells_executed > 0)(**kwargs)


@functools.lru_cache(maxsize=None)
def _mixin():
    """The widget-safe behaviour, as a mixin for any nbclient ``NotebookClient``."""
    from nbclient.output_widget import OutputWidget

    class HeadlessOutputWidget(OutputWidget):
        """nbclient's Output-widget mimic that never writes to the kernel's shell socket."""

        def sync_state(self):
            """Keep the outputs here (stored in the notebook's widget state); send nothing."""

    class WidgetSafeMixin:
        """A notebook client without the comm traffic that can lose the execute reply."""

        def reset_execution_trackers(self):
            super().reset_execution_trackers()
            self.widget_registry = {"@jupyter-widgets/output": {"OutputModel": HeadlessOutputWidget}}

        async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg,
                                        task_poll_kernel_alive):
            """The reply to ``msg_id``, read in slices of SHELL_POLL_SECONDS."""
            import asyncio
            from queue import Empty
            from time import monotonic

            from nbclient.exceptions import CellTimeoutError
            from nbclient.util import ensure_async

            deadline = None if timeout is None else monotonic() + timeout
            while True:
                left = None if deadline is None else deadline - monotonic()
                if left is not None and left <= 0:
                    task_poll_kernel_alive.cancel()
                    await self._async_check_alive()
                    reply = await self._async_handle_timeout(timeout, cell)
                    if reply is None:  # interrupted, no error reply configured: wait on
                        deadline = None
                        continue
                    return reply
                wait = SHELL_POLL_SECONDS if left is None else min(SHELL_POLL_SECONDS, left)
                try:
                    msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=wait))
                except Empty:
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if self.record_timing:
                    from nbclient.client import timestamp

                    cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(msg)
                try:
                    await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
                except (asyncio.TimeoutError, Empty):
                    if self.raise_on_iopub_timeout:
                        task_poll_kernel_alive.cancel()
                        raise CellTimeoutError.error_from_timeout_and_cell(
                            "Timeout waiting for IOPub output", self.iopub_timeout, cell) from None
                    self.log.warning("Timeout waiting for IOPub output")
                task_poll_kernel_alive.cancel()
                return msg

    return WidgetSafeMixin


@functools.lru_cache(maxsize=None)
def widget_safe_notebook_client():
    """nbclient's ``NotebookClient`` made widget-safe: the same arguments, no hang.

    For code that drives nbclient itself (e.g. a script storing notebook outputs)::

        client_class = widget_safe_notebook_client()
        execute_client(client_class(nb, timeout=600, kernel_name="python3"))
    """
    from nbclient import NotebookClient

    return type("WidgetSafeNotebookClient", (_mixin(), NotebookClient), {})


@functools.lru_cache(maxsize=None)
def _classes():
    """WidgetSafeClient (papermill's client, widget-safe) and MedlabEngine, built on first
    use (papermill is heavy to import)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    class WidgetSafeClient(_mixin(), PapermillNotebookClient):
        """Papermill's client without the comm traffic that can lose the execute reply."""

    class MedlabEngine(NBClientEngine):
        """papermill's nbclient engine, executing with :class:`WidgetSafeClient`."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None,
                                     **kwargs):
            kwargs.pop("input_path", None)
            kwargs.pop("timeout", None)
            kwargs.pop("startup_timeout", None)
            client = WidgetSafeClient(
                nb_man, timeout=execution_timeout, startup_timeout=start_timeout,
                kernel_name=kernel_name, log=_papermill_logger(), log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file, **kwargs)
            return client.execute()

    return WidgetSafeClient, MedlabEngine


def _papermill_logger():
    from papermill.log import logger

    return logger


def register_engine():
    """Register the ``medlab`` papermill engine (idempotent); return the engine class."""
    from papermill.engines import papermill_engines

    _, engine = _classes()
    papermill_engines.register(ENGINE_NAME, engine)
    return engine


def _first_line(source, limit=60):
    """The first line of a cell's code that is not blank, its runs of spaces made one,
    shortened to ``limit`` characters."""
    text = "".join(source) if isinstance(source, list) else str(source)
    line = next((" ".join(line.split()) for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _cell_name(cell):
    """A running cell as Jupyter shows it: ``cell In [4] ("import time")``, or ``a cell``."""
    if cell is None:
        return "a cell"
    return f'cell In [{cell["count"]}] ("{cell["first_line"]}")'


def _timeout_message(timeout, cell):
    return (f"{_cell_name(cell)} did not finish within {math.ceil(timeout)} s (the per-cell "
            "timeout); the run was stopped. Give a larger --timeout, or --timeout 0 for none")


def execute(input_path, output_path, parameters, cwd, timeout=None):
    """Run papermill once; return ``{"status": "ok"}`` or a failure dict (never raises,
    except KeyboardInterrupt). A failure's ``cell`` is the execution count of the cell
    (``In [n]``), as for a cell that raised. A kernel that dies before the first cell runs
    is started again, up to :data:`START_RETRIES` times (a port taken by another kernel)."""
    import time

    for attempt in range(START_RETRIES + 1):
        outcome = _execute_once(input_path, output_path, parameters, cwd, timeout)
        if not outcome.pop("before_first_cell", False) or attempt == START_RETRIES:
            return outcome
        time.sleep(start_retry_pause(attempt))


def _execute_once(input_path, output_path, parameters, cwd, timeout):
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    register_engine()
    running = {"count": 0, "cell": None}

    def on_cell_execute(cell, cell_index, **_):  # code cells that run, as the kernel counts
        running["count"] += 1
        running["cell"] = {"count": running["count"], "first_line": _first_line(cell.source)}

    def count():
        return running["cell"] and running["cell"]["count"]

    try:
        papermill.execute_notebook(
            input_path, output_path, parameters=parameters, kernel_name="python3", cwd=cwd,
            engine_name=ENGINE_NAME, progress_bar=False, log_output=False,
            execution_timeout=math.ceil(timeout) if timeout else None,  # nbclient: an int
            start_timeout=KERNEL_START_SECONDS, on_cell_execute=on_cell_execute)
    except papermill.PapermillExecutionError as exc:
        return {"status": "failed", "ename": exc.ename, "evalue": exc.evalue,
                "cell": exc.exec_count}
    except CellTimeoutError:
        return {"status": "failed", "ename": "CellTimeoutError", "cell": count(),
                "evalue": _timeout_message(timeout, running["cell"])}
    except DeadKernelError as exc:
        return {"status": "failed", "ename": "DeadKernelError", "cell": count(),
                "evalue": f"the kernel died in {_cell_name(running['cell'])} ({exc}); "
                          "out of memory?", "before_first_cell": kernel_died_starting(exc) and not count()}
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # no kernel, unreadable notebook, ...
        return {"status": "failed", "ename": type(exc).__name__, "evalue": str(exc),
                "cell": count(), "before_first_cell": kernel_died_starting(exc) and not count()}
    return {"status": "ok"}


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # papermill then shuts its kernel down


#: Seconds between two looks at whether the process that started this one is still there.
PARENT_POLL_SECONDS = 1.0


def _end_with_parent(grace=30.0):
    """Stop this run as Ctrl-C does when its parent dies (a Dask worker killed, the
    ``medlab`` process killed with SIGKILL): papermill shuts the kernel down, nothing is
    left running. Exits outright if that takes longer than ``grace`` seconds."""
    import _thread
    import os
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        _thread.interrupt_main()
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="medlab-parent-watch", daemon=True).start()


def _seconds(text):
    """A finite number of seconds >= 0, for ``--timeout``."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m medlab.course.execute",
                                     description="Run one notebook with papermill (medlab's engine).")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--cwd", required=True, help="working directory of the kernel")
    parser.add_argument("--timeout", type=_seconds, default=None,
                        help="seconds one cell may run, rounded up; 0 or none: no limit")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "JSON"),
                        dest="parameters", help="a parameter, its value as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the parent ignored it
    _end_with_parent()
    parameters = {name: json.loads(value) for name, value in args.parameters}
    result = execute(args.input, args.output, parameters, args.cwd, args.timeout)
    print(json.dumps(result), flush=True)
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
