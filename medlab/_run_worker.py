"""Execute one notebook with papermill in this process; used by :mod:`medlab.runs`.

Started as a fresh interpreter per run (``python -c`` with :func:`runpy.run_path`,
so neither ``medlab`` nor TensorFlow is imported here and the folder of this file
is not put on ``sys.path``)::

    python -c "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')" \
        medlab/_run_worker.py JOB.json RESULT.json

``JOB.json`` holds ``input``, ``output``, ``parameters``, ``cwd`` and ``timeout``.
papermill changes the whole process's working directory to ``cwd`` (the
notebook's folder, as nbval runs it), which is why each run has its own process.
The outcome is written to ``RESULT.json``: ``{"status": "ok"}`` or
``{"status": "failed", "ename": ..., "evalue": ..., "cell": ...}``.
``MEDLAB_METRICS_PATH`` is inherited from the caller's environment by the kernel.
"""

import json
import signal
import sys


def _execute(job):
    import papermill

    kwargs = {}
    if job.get("timeout") is not None:
        kwargs["execution_timeout"] = job["timeout"]
    try:
        papermill.execute_notebook(
            job["input"], job["output"], parameters=job["parameters"], kernel_name="python3",
            cwd=job["cwd"], progress_bar=False, log_output=False, **kwargs)
    except papermill.PapermillExecutionError as exc:
        return {"status": "failed", "ename": exc.ename, "evalue": exc.evalue,
                "cell": exc.exec_count}
    return {"status": "ok"}


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # so that papermill shuts its kernel down on SIGTERM too


def main(job_path, result_path):
    signal.signal(signal.SIGTERM, _interrupt)
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    try:
        result = _execute(job)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # no kernel, dead kernel, cell timeout, unreadable notebook...
        result = {"status": "failed", "ename": type(exc).__name__, "evalue": str(exc), "cell": None}
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
