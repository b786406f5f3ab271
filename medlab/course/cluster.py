"""Runs of a sweep or of the course as tasks on Dask distributed (``--cluster``).

::

    medlab sweep notebooks/01_medical_images.ipynb --grid seed=0,1,2 --cluster local
    medlab sweep notebooks/07_training_a_classifier.ipynb --grid learning_rate=1e-4,1e-3 \\
        --cluster tcp://scheduler.example.org:8786
    medlab course --cluster local

Each run becomes one task on a :class:`distributed.Client`: connected to the scheduler at
ADDRESS, or to a :class:`distributed.LocalCluster` of worker processes that the command
starts and stops itself (``local``). Dask is the optional extra ``cluster``
(``pip install -e ".[cluster]"``); nothing here imports it before it is needed.

**Results travel back to the client; workers need no shared file system.** The client
sends the notebook's bytes, its parameters and the per-cell timeout; the worker runs
papermill exactly as a local run does (:func:`medlab.course.processes.execute`, in a child
process) into a temporary folder, and returns the output notebook and the metrics file as
bytes. The client then files them with the same code as a local run
(:func:`medlab.course.runs.run_notebook`): hidden partial names renamed into place, never
over an existing file, ``<run>.failed.ipynb`` for a failed run, ``<run>.status.json`` for
resuming. So ``runs/`` is written by the client only, in the same layout. The kernel runs in
the notebook's folder when that folder exists on the worker (the same checkout at the
same path, or a shared file system), else in the temporary folder: the lessons read only
data that the installed package ships or makes.

What a cluster needs: the same environment on every worker (medlab and its dependencies,
the Jupyter kernel ``python3``; checked when the command connects), and the client able
to reach the scheduler.

The guarantees of local runs hold: a failed or timed-out run is reported and the others
go on; a worker that dies during a run makes that run fail (``WorkerDied``) at once, not
retried and never waited for (a :class:`~distributed.LocalCluster` started here allows no
task a second worker; a running scheduler applies its own
``distributed.scheduler.allowed-failures``, 3 by default); on Ctrl-C the pending tasks are
cancelled, the running papermill processes on the workers are stopped (before a sweep
writes its summary), and the finished runs are kept. The client never waits forever:
connecting is bounded (:data:`CONNECT_SECONDS`), so is a time with no worker at all
(``wait`` seconds); a scheduler that goes away while the client waits for workers is
reported at once, and a lost connection to the scheduler fails the runs still out.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import sys
import threading
import time
import uuid
from pathlib import Path

from medlab.course import naming
from medlab.course.cluster_worker import dask_setup, run_on_worker, stop_runs, worker_environment

#: What to install when Dask is missing.
EXTRA_INSTALL = 'pip install -e ".[cluster]"'
#: Seconds to connect to a running scheduler before giving up.
CONNECT_SECONDS = 30
#: Seconds the client waits while no worker is connected (before the first run, and
#: whenever every worker has left) before the runs still out fail; ``--cluster-wait``.
DEFAULT_WAIT = 600
#: Seconds to fetch a finished run's result from its worker.
RESULT_SECONDS = 120
#: Seconds Ctrl-C waits for the running tasks to end once they are told to stop (a worker
#: gives papermill 15 s to shut its kernel down, then kills it).
STOP_SECONDS = 30
#: Seconds between two looks at the tasks (Ctrl-C is handled at once in between).
POLL_SECONDS = 0.25
#: Seconds the scheduler may take to answer one question (its workers, their environment).
ASK_SECONDS = 30
#: Seconds one look at the workers may take while waiting for the first; then the next
#: look (so a closed connection to the scheduler is seen within this time).
LOOK_SECONDS = 2
#: The dashboard of a local cluster, if the port is free (else Dask picks another).
LOCAL_DASHBOARD = "127.0.0.1:8787"

WORKER_DIED = "WorkerDied"
#: The scheduler of a local cluster: a task whose worker dies fails at once (not retried
#: on another worker), and each worker holds only the task it runs, so a worker that dies
#: takes no queued run down with it.
LOCAL_SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0,
                          # the nanny would set OMP_NUM_THREADS=1 ... in this very process too
                          "distributed.nanny.pre-spawn-environ": {}}


class ClusterError(RuntimeError):
    """The cluster cannot take the runs (no Dask, no scheduler, no worker, other
    environment); ``str()`` is one line."""


class DaskMissing(ClusterError, ImportError):
    """Dask distributed is not installed: the optional extra ``cluster``."""


def require_dask():
    """Import ``distributed``; :class:`DaskMissing` naming the extra if it is not there."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise DaskMissing(
            f"--cluster needs Dask distributed, medlab's optional extra 'cluster' "
            f"(missing module {exc.name!r}); install it with: {EXTRA_INSTALL}") from None
    return distributed


# --------------------------------------------------------------------------
# on the client
# --------------------------------------------------------------------------
class Delivered:
    """An ``execute`` for :func:`medlab.course.runs.run_notebook` that files a worker's
    result: writes the returned bytes into the partial files, returns the outcome."""

    def __init__(self, outcome):
        self.outcome = outcome

    def __call__(self, notebook, parameters, partial, partial_metrics, timeout):
        if self.outcome.get("notebook"):
            Path(partial).write_bytes(self.outcome["notebook"])
        if self.outcome.get("metrics") is not None:
            Path(partial_metrics).write_bytes(self.outcome["metrics"])
        keep = ("status", "ename", "evalue", "cell", "seconds")
        return {key: self.outcome[key] for key in keep if key in self.outcome}


def not_submitted(*args, **kwargs):
    """The ``execute`` of a run that was not sent (finished earlier, or a file in the way):
    :func:`~medlab.course.runs.run_notebook` refuses before it would be called."""
    raise RuntimeError("internal: a run that was not submitted to the cluster was executed")


class Session:
    """A Dask client taking medlab's runs: submit, collect as they finish, stop.

    Made by :func:`session`; ``label`` says where the runs go (for messages).
    """

    def __init__(self, client, label, wait=DEFAULT_WAIT):
        self.client, self.label, self.wait = client, label, wait
        self.token = uuid.uuid4().hex[:12]
        self.queue = collections.deque()  # runs not sent yet
        self.pending = {}  # future -> caller's tag
        self.threads = 0  # worker threads of the cluster at the last look
        self.stopped = False  # its runs were stopped on the workers (stop)

    def submit(self, notebook, parameters, timeout, tag, name=""):
        """Queue one run of ``notebook`` (a Path); ``tag`` comes back from :meth:`finished`
        with its outcome. Runs go to the cluster one per worker thread at a time."""
        parameters = dict(parameters)
        self.queue.append((tag, name or notebook.stem, lambda key: self.client.submit(
            run_on_worker, self.token, str(notebook), notebook.read_bytes(), parameters,
            timeout, key=key, pure=False, retries=0)))

    def submit_call(self, function, args, kwargs, tag, name):
        """Queue the task ``function(*args, **kwargs)`` (an importable function, e.g. grading
        one submission); its return value comes back from :meth:`finished` with ``tag``."""
        self.queue.append((tag, name, lambda key: self.client.submit(
            function, *args, **kwargs, key=key, pure=False, retries=0)))

    def _send(self):
        """Send queued tasks while a worker thread is free: a worker holds only the task it
        executes, so a worker that dies takes no queued task down with it."""
        while self.queue and len(self.pending) < self.threads:
            tag, name, send = self.queue.popleft()
            future = send(f"medlab-{naming.slug(name)}-{uuid.uuid4().hex[:8]}")
            self.pending[future] = tag

    def finished(self):
        """Yield ``(tag, outcome)`` for each queued run as it finishes (any order).

        ``outcome`` is the worker's dict (see :func:`run_on_worker`) or, when the worker
        died, the connection was lost or no worker came, a failed outcome saying so.
        """
        no_worker_since = None
        last_look = 0.0
        while self.pending or self.queue:
            done = [future for future in self.pending if future.done()]
            for future in done:
                tag = self.pending.pop(future)
                yield tag, self._outcome(future)
            now = time.monotonic()
            if done or now - last_look >= 2.0:
                last_look = now
                problem = self._connection_problem()
                self.threads = self._threads() if problem is None else 0
                if problem is None and not self.threads:
                    no_worker_since = no_worker_since or now
                    if now - no_worker_since > self.wait:
                        problem = (f"no Dask worker was connected to {self.label} for "
                                   f"{self.wait:g} s (--cluster-wait); start workers and run "
                                   "the same command again")
                else:
                    no_worker_since = None
                if problem is not None:
                    self._cancel()
                    for future in list(self.pending):
                        yield self.pending.pop(future), _failed("ClusterError", problem)
                    while self.queue:
                        yield self.queue.popleft()[0], _failed("ClusterError", problem)
                    return
                self._send()
            if not done:
                time.sleep(POLL_SECONDS)

    def _outcome(self, future):
        from distributed import KilledWorker

        if future.status == "finished":
            try:
                return future.result(timeout=RESULT_SECONDS)
            except Exception as exc:  # lost on the way back
                return _failed("ClusterError", f"could not fetch the result from its worker "
                                               f"({type(exc).__name__}: {exc})")
        if future.status == "error":
            exc = future.exception(timeout=RESULT_SECONDS)
            if isinstance(exc, KilledWorker):
                worker = getattr(exc, "last_worker", None)
                where = f" ({getattr(worker, 'address', worker)})" if worker else ""
                return _failed(WORKER_DIED,
                               f"the Dask worker running this run died{where}: out of memory, "
                               "killed, or its machine was lost; its partial output is gone. "
                               "Run the same command again to retry it")
            return _failed(type(exc).__name__, f"the task failed on the worker: {exc}")
        return _failed("ClusterError", f"the task was {future.status}: the connection to "
                                       f"{self.label} was lost")

    def _connection_problem(self):
        if self.client.status not in ("running", "connecting"):
            return f"lost the connection to the Dask scheduler at {self.label}"
        return None

    def _threads(self):
        """Worker threads now; 0 if the scheduler does not answer within :data:`ASK_SECONDS`
        (then ``wait`` bounds how long that may last)."""
        try:
            return sum(self.client.nthreads(callback_timeout=ASK_SECONDS).values())
        except Exception:
            return 0

    def _cancel(self):
        """Stop this session's runs on every worker and cancel its pending tasks, each
        step bounded in time."""
        futures = list(self.pending)
        _bounded(lambda: self.client.run(stop_runs, self.token, on_error="ignore"), 10)
        if futures:
            _bounded(lambda: self.client.cancel(futures, force=True), 10)

    def stop(self):
        """Ctrl-C: forget the queued runs, stop the running ones on the workers and wait
        (at most :data:`STOP_SECONDS`) until their tasks have ended, their papermill
        processes and kernels with them; cancel what is left. A second Ctrl-C cuts the wait
        short; calling it again stops what is still out."""
        self.queue.clear()
        futures = list(self.pending)
        if self.stopped and not futures:
            return
        _bounded(lambda: self.client.run(stop_runs, self.token, on_error="ignore"), 10)
        self.stopped = True
        if futures:
            deadline = time.monotonic() + STOP_SECONDS
            while not all(future.done() for future in futures) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            _bounded(lambda: self.client.cancel(futures, force=True), 10)
        self.pending.clear()


def _failed(ename, evalue):
    return {"status": "failed", "ename": ename, "evalue": evalue, "cell": None}


def _bounded(call, seconds):
    """Run ``call`` in a thread; give up waiting after ``seconds`` (it is best effort)."""
    thread = threading.Thread(target=lambda: _quietly(call), daemon=True)
    thread.start()
    thread.join(seconds)


def _quietly(call):
    try:
        call()
    except Exception:
        pass


def _check_workers(client, label):
    """Every worker runs medlab's tasks with the same medlab and Python as here."""
    import medlab

    here = {"medlab": medlab.__version__, "python": "%d.%d" % sys.version_info[:2]}
    try:
        answers = client.run(worker_environment, on_error="return", callback_timeout=ASK_SECONDS)
    except (TimeoutError, OSError) as exc:
        raise ClusterError(f"the workers of {label} did not say within {ASK_SECONDS} s which "
                           f"medlab and Python they run ({type(exc).__name__}); check that they "
                           "are alive (the dashboard) and run the same command again") from None
    for address, facts in answers.items():
        if isinstance(facts, BaseException):
            raise ClusterError(
                f"worker {address} of {label} cannot run medlab's tasks ({type(facts).__name__}: "
                f"{facts}); every worker needs the same environment as this machine "
                f"(medlab installed, {EXTRA_INSTALL})")
        theirs = {key: facts.get(key) for key in here}
        if theirs != here or not facts.get("papermill"):
            raise ClusterError(
                f"worker {address} of {label} runs medlab {theirs['medlab']} on Python "
                f"{theirs['python']}{'' if facts.get('papermill') else ' without papermill'}, "
                f"this machine medlab {here['medlab']} on Python {here['python']}; every "
                "worker needs the same environment")


def _address_error(label, problem):
    return ClusterError(f"--cluster {label!r}: {problem}; expected 'local' or a scheduler "
                        "address such as tcp://host:8786")


def _check_address(label):
    """Refuse at once, before any Client is made, a scheduler address Dask cannot connect
    to: an unknown scheme (``http://``), no port, a port outside 1-65535."""
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    from medlab import validate

    scheme, location = parse_address(label, strict=False)
    try:
        get_backend(scheme)
    except ValueError as exc:
        raise _address_error(label, exc) from None
    if scheme == "inproc":  # inproc://host/pid/n: this process only
        return
    after_host = location.rpartition("]")[2] if location.startswith("[") else location  # [::1]:8786
    if ":" not in after_host:
        raise _address_error(label, f"missing port number in address {location!r}")
    port = after_host.rpartition(":")[2]
    try:
        validate.integer("port", int(port) if port.isascii() and port.isdigit() else port, 1, 65535)
    except validate.ArgumentError as exc:
        raise ClusterError(f"--cluster {label!r}: {exc}") from None
    try:
        parse_host_port(location)  # any other form Dask refuses (IPv6 without brackets)
    except ValueError as exc:
        raise _address_error(label, exc) from None


def _connect(distributed, target, label):
    """A Client of ``target`` (a LocalCluster, or the address ``label``), within
    :data:`CONNECT_SECONDS`; :class:`ClusterError` saying why not."""
    try:
        return distributed.Client(target, timeout=CONNECT_SECONDS, set_as_default=False)
    except OSError as exc:  # Dask closes the Client itself
        raise ClusterError(f"could not connect to the Dask scheduler at {label} "
                           f"within {CONNECT_SECONDS} s ({exc})") from None
    except Exception as exc:  # e.g. tls:// without certificates (TypeError)
        _close_half_made_client(distributed, exc)
        if isinstance(exc, ValueError):
            raise _address_error(label, exc) from None
        raise ClusterError(f"could not connect to the Dask scheduler at {label} "
                           f"({type(exc).__name__}: {exc})") from None


def _close_half_made_client(distributed, exc):
    """Close the Client whose constructor raised ``exc``. Dask closes it only after an
    OSError; left half-made, it hangs for 60 s (and prints a traceback) when it is
    collected, at the latest when Python exits (``Client.__del__``)."""
    traceback = exc.__traceback__
    while traceback is not None:
        made = traceback.tb_frame.f_locals.get("self")
        if isinstance(made, distributed.Client) and made.status not in ("closed", "newly-created"):
            _bounded(functools.partial(made.close, timeout=10), 15)
            return
        traceback = traceback.tb_next


def _workers_now(client, label):
    try:
        return len(client.nthreads(callback_timeout=ASK_SECONDS))
    except (TimeoutError, OSError):
        raise ClusterError(f"the Dask scheduler at {label} did not answer within "
                           f"{ASK_SECONDS} s after connecting") from None


def _wait_for_workers(client, label, wait):
    """Return once a worker is connected; :class:`ClusterError` after ``wait`` seconds
    without one, or at once when the connection to the scheduler closes (it was stopped or
    killed; Dask itself would try to reconnect for 30 s, then log an error)."""
    deadline = time.monotonic() + wait
    while True:
        _check_connected(client, label, "while waiting for a worker")
        try:
            if client.nthreads(callback_timeout=LOOK_SECONDS):
                return
        except Exception:  # no answer yet: the connection or the deadline decides
            pass
        _check_connected(client, label, "while waiting for a worker")
        if time.monotonic() >= deadline:
            raise ClusterError(f"no Dask worker connected to {label} within {wait:g} s "
                               "(--cluster-wait); start workers, e.g. dask worker ADDRESS")
        time.sleep(POLL_SECONDS)


def _check_connected(client, label, when):
    """:class:`ClusterError` if the client's connection to the scheduler is gone (Dask then
    says ``connecting`` while it tries again, ``closed`` after)."""
    if client.status != "running":
        raise ClusterError(f"the Dask scheduler at {label} went away (its connection closed) "
                           f"{when}; start it again, then run the same command again")


@contextlib.contextmanager
def _client_quiet_once_disconnected(client):
    """Drop what Dask's client logs once its connection is lost or while it closes
    (``Failed to reconnect to scheduler ...``): the command says it in its own line."""
    import logging

    def connected(record):
        return client.status == "running"

    logger = logging.getLogger("distributed.client")
    logger.addFilter(connected)
    try:
        yield
    finally:
        logger.removeFilter(connected)


def _start_local(workers, say):
    import logging
    import warnings

    import dask
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dashboard's port taken: Dask picks another
        with dask.config.set(LOCAL_SCHEDULER_CONFIG):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=LOCAL_DASHBOARD,
                                   silence_logs=logging.CRITICAL, preload=[dask_setup.__module__])
    dashboard = cluster.dashboard_link if _has_bokeh() else "none (install bokeh)"
    say(f"Dask: local cluster of {workers} worker process{'es' if workers != 1 else ''} at "
        f"{cluster.scheduler_address}, dashboard {dashboard}")
    return cluster


@functools.lru_cache(maxsize=None)
def _has_bokeh():
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def check_wait(wait, name="cluster_wait"):
    """``wait`` (``--cluster-wait``) as seconds: a finite number > 0, else
    :class:`medlab.validate.ArgumentError` naming ``name``."""
    from medlab import validate

    shown = f"{wait:g}" if isinstance(wait, float) else repr(wait)
    refused = validate.ArgumentError(f"{name} {shown}: expected finite seconds > 0")
    try:
        seconds = validate.number(name, wait)
    except validate.ArgumentError:
        raise refused from None
    if seconds <= 0:
        raise refused
    return seconds


def usable_cores():
    """Cores this process may run on (the local cluster's default number of workers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def session(cluster, *, workers=None, wait=DEFAULT_WAIT, say=print):
    """A :class:`Session` on ``cluster``; on leaving, stop what is still out, and stop a
    local cluster started here.

    Parameters
    ----------
    cluster : str or distributed.Client
        ``"local"`` (start a LocalCluster of ``workers`` processes, one thread each), a
        scheduler address such as ``"tcp://host:8786"``, or a connected Client (kept open).
    workers : int, optional
        Worker processes of a local cluster; default the usable cores.
    wait : float
        Seconds to wait for a first worker, and at most with none, before failing.
    say : callable
        Receives one line about the cluster (where it is, its dashboard).
    """
    distributed = require_dask()
    wait = check_wait(wait)
    local = client = None
    environ = dict(os.environ)  # a local cluster's nannies add PYTHONHASHSEED to it
    if isinstance(cluster, distributed.Client):
        client, label = cluster, cluster.scheduler.address
    elif cluster == "local":
        workers = usable_cores() if workers is None else int(workers)
        if workers < 1:
            raise ValueError(f"workers {workers}: expected at least 1")
        local = _start_local(workers, say)
        label = local.scheduler_address
    else:
        label = str(cluster)
        if workers is not None:  # the API's jobs/workers; the command line refuses --jobs
            raise ValueError(f"workers {workers} with cluster {label!r}: only a local cluster "
                             "(cluster='local') is started with a number of workers; leave "
                             "it out, the scheduler's workers decide")
        if "://" not in label and ":" not in label:
            raise ValueError(f"--cluster {label!r}: expected 'local' or a scheduler address "
                             "such as tcp://host:8786")
        _check_address(label)
    quiet = contextlib.ExitStack()
    try:
        if client is None:
            client = _connect(distributed, local if local is not None else label, label)
        quiet.enter_context(_client_quiet_once_disconnected(client))
        if local is None and client is not cluster:
            say(f"Dask: connected to {label}, {_workers_now(client, label)} worker(s) now, "
                f"dashboard {client.dashboard_link}")
        _wait_for_workers(client, label, wait)
        _check_workers(client, label)
        current = Session(client, label, wait)
        try:
            yield current
        except BaseException:
            current.stop()
            raise
    finally:
        if client is not None and client is not cluster:
            _bounded(client.close, 30)
        if local is not None:
            _bounded(local.close, 60)
            os.environ.clear()
            os.environ.update(environ)
        quiet.close()

