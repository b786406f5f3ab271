"""The folder of a sweep: its record (``sweep.json``), the runs' status files, its summary.

A sweep (:func:`medlab.course.runs.sweep`) writes ``<run>.status.json`` for every finished
run and ``sweep.json`` for the sweep; here they are read back (a finished run is skipped when
the sweep runs again, one renamed into place without its status file is adopted), checked
(another sweep's folder is refused, a damaged record repaired only with ``--repair``) and
summed up in the rows of the summary table.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from medlab import files, report
from medlab.course import naming
from medlab.course.locks import holds_files
from medlab.course.summaries import format_value, write_summary

def read_json(path):
    """The JSON in ``path``, or None when it is missing, unreadable, damaged or not a regular
    file (a FIFO would be read forever)."""
    if files.kind_of_path(path) != "":
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def metrics_of(status):
    """The metrics dict of a run's status, {} when missing or not an object (edited by hand)."""
    metrics = status.get("metrics")
    return metrics if isinstance(metrics, dict) else {}


def status_path(folder, name):
    return folder / f"{name}.status.json"


def finished(folder, name, parameters):
    """The stored status of a finished run with these parameters, else None."""
    status = read_json(status_path(folder, name))
    if (isinstance(status, dict) and status.get("status") == "ok"
            and status.get("parameters") == json.loads(json.dumps(parameters))
            and (folder / f"{name}.ipynb").is_file()):
        return status
    return None


def adopt(folder, name, parameters):
    """A run renamed into place whose status file was not written (interrupted just then).

    Only papermill writes ``metadata.papermill``; with these parameters and no exception
    the notebook ran to its end, so it is recorded as finished. Else None.
    """
    output = folder / f"{name}.ipynb"
    try:
        meta = json.loads(output.read_text(encoding="utf-8"))["metadata"]["papermill"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (meta.get("parameters") != json.loads(json.dumps(parameters)) or meta.get("exception")
            or not meta.get("end_time")):
        return None
    metrics_path = naming.metrics_path_for(output)
    metrics = report.read(metrics_path) if metrics_path.is_file() else {}
    status = {"run": name, "parameters": parameters, "status": "ok", "error": "", "metrics": metrics,
              "seconds": round(float(meta.get("duration") or 0.0), 3), "finished": meta["end_time"]}
    files.write_json(status_path(folder, name), status, allow_nan=True)
    return status


def record_fault(record):
    """Why the sweep record ``record`` (``sweep.json``) cannot be used, or "" when it is sound."""
    kind = files.kind_of_path(record)
    if kind:
        return f"it is {kind}, not a regular file"
    try:
        data = record.read_bytes()
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    if not data.strip():
        return "the file is empty"
    try:
        earlier = json.loads(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError too
        return f"invalid JSON: {exc}"
    if not isinstance(earlier, dict):
        return f"it holds a {type(earlier).__name__}, expected an object"
    for key, kind, what in (("notebook", str, "the notebook's path"), ("fixed", dict, "an object"),
                            ("grids", list, "a list")):
        if (key in earlier or key != "grids") and not isinstance(earlier.get(key), kind):
            return f"'{key}' is {type(earlier.get(key)).__name__}, expected {what}"
    return ""


def status_files(folder):
    """{path: status} of the readable ``*.status.json`` run records in ``folder``."""
    found = {}
    for path in sorted(folder.glob("*.status.json")):
        status = read_json(path)
        if isinstance(status, dict) and isinstance(status.get("parameters"), dict):
            found[path] = status
    return found


def check_statuses_agree(notebook, fixed, statuses):
    """Refuse to rebuild a sweep record from status files of another notebook or other fixed
    parameters (another sweep's runs)."""
    fixed = json.loads(json.dumps(fixed))
    for path, status in statuses.items():
        ran = status.get("notebook")
        if ran is not None and ran != str(notebook):
            raise ValueError(f"{naming.relative_path(path)} is a run of {Path(str(ran)).name}, not of "
                             f"{notebook.name}; choose another --name or --out")
        for key, value in fixed.items():
            if key not in status["parameters"]:
                raise ValueError(f"{naming.relative_path(path)} is a run without {key}; choose another "
                                 "--name or --out")
            if status["parameters"][key] != value:
                raise ValueError(f"{naming.relative_path(path)} is a run with {key} = "
                                 f"{status['parameters'][key]!r}, not {value!r}; choose another "
                                 "--name or --out")


def check_sweep_folder(folder, notebook, fixed, repair=False):
    """What ``folder`` holds for this sweep: its sound record (dict), None for a new or empty
    folder, or ``"repair"`` when ``repair`` and the record is damaged or lost but the runs'
    status files agree with this sweep. Anything else is refused with one line."""
    record = folder / "sweep.json"
    here = json.loads(json.dumps({"notebook": str(notebook), "fixed": fixed}))
    if record.exists() or record.is_symlink():
        fault = record_fault(record)
        if not fault:
            earlier = json.loads(record.read_text(encoding="utf-8"))
            if {k: earlier.get(k) for k in here} != here:
                raise ValueError(
                    f"{naming.relative_path(folder)} holds a sweep of {Path(earlier['notebook']).name} "
                    f"with fixed parameters {earlier['fixed']}; choose another --name or --out")
            return earlier
        statuses = status_files(folder)
        if not repair:
            done = sum(status.get("status") == "ok" for status in statuses.values())
            raise ValueError(f"{naming.relative_path(record)} is damaged ({naming.one_line(fault, 200)}); the "
                             f"{done} finished runs in {naming.relative_path(folder)} are kept: run the same "
                             "sweep again with --repair to rebuild it from their status files and "
                             "go on")
    elif not folder.exists() or not holds_files(folder):
        return None
    else:
        statuses = status_files(folder)
        if not statuses:
            raise FileExistsError(f"{naming.relative_path(folder)} exists and is not a sweep folder; "
                                  "choose another --name or --out")
        if not repair:
            raise FileExistsError(f"{naming.relative_path(folder)} has no sweep.json but holds the status "
                                  f"files of {len(statuses)} runs; run the same sweep again with "
                                  "--repair to rebuild it from them and go on")
    check_statuses_agree(notebook, fixed, statuses)
    return "repair"


def prepare_sweep_folder(folder, notebook, grid, fixed, repair=False):
    """Check ``folder`` (:func:`check_sweep_folder`), then write its ``sweep.json``; a
    damaged one is first moved aside, never deleted. Returns a line to show, or None."""
    earlier = check_sweep_folder(folder, notebook, fixed, repair)
    record = folder / "sweep.json"
    note = None
    if earlier == "repair":
        statuses = status_files(folder)
        note = f"repaired {naming.relative_path(record)} from the status files of {len(statuses)} runs"
        if record.exists() or record.is_symlink():
            kept = naming.unique_path(folder / "sweep.damaged.json")
            os.rename(record, kept)
            note += f"; the damaged one is kept as {naming.relative_path(kept)}"
        finished = sorted(s["finished"] for s in statuses.values() if isinstance(s.get("finished"), str))
        earlier = {"started": finished[0] if finished else None,
                   "repaired": time.strftime("%Y-%m-%d %H:%M:%S")}
    here = {"notebook": str(notebook), "fixed": fixed}
    folder.mkdir(parents=True, exist_ok=True)
    grids = (earlier or {}).get("grids", [])
    if grid not in grids:
        grids.append(grid)
    started = (earlier or {}).get("started") or time.strftime("%Y-%m-%d %H:%M:%S")
    extra = {"repaired": earlier["repaired"]} if earlier and earlier.get("repaired") else {}
    files.write_json(record, {**here, "grid": grid, "grids": grids, "started": started, **extra},
                     allow_nan=True)
    return note


def earlier_rows(folder, combos, fixed):
    """Rows of the runs in ``folder`` that are not combinations of this grid (an earlier
    grid of the same sweep), from their status files, in name order."""
    mine = {run for run, _ in combos}
    rows = []
    for path in sorted(folder.glob("*.status.json")):
        run = path.name[: -len(".status.json")]
        if run in mine:
            continue
        status = read_json(path)
        if not isinstance(status, dict) or not isinstance(status.get("parameters"), dict):
            continue
        swept = {k: v for k, v in status["parameters"].items() if k not in fixed}
        row = {"run": run, **swept, "status": status.get("status", "?"),
               "seconds": status.get("seconds")}
        reserved = {"run", "status", "seconds", "error", *swept}
        for key, value in metrics_of(status).items():
            row[f"metric_{key}" if key in reserved else key] = value
        row["error"] = status.get("error") or ""
        rows.append(row)
    return rows


def write_sweep_summary(folder, rows, combos, grid, fixed, name, notebook):
    """Write the summary of this grid's rows and of every earlier run kept in ``folder``."""
    earlier = earlier_rows(folder, combos, fixed)
    title = sweep_title(name, notebook, grid, fixed)
    if earlier:
        title += (f"\n\nAlso {len(earlier)} run(s) of an earlier grid of this sweep, kept in the "
                  "folder and listed after this grid's runs.")
    all_rows = rows + earlier
    columns = list(dict.fromkeys(key for row in all_rows for key in row if key != "error"))
    ordered = [{key: row.get(key) for key in [*columns, "error"]} for row in all_rows]
    return write_summary(folder, ordered, list(grid), title)


def sweep_title(name, notebook, grid, fixed):
    lines = [f"# Sweep {name}", "", f"Notebook `{notebook.name}`; grid: "
             + "; ".join(f"`{k}` = {', '.join(format_value(v) for v in vs)}" for k, vs in grid.items())]
    if fixed:
        lines[-1] += "; fixed: " + ", ".join(f"`{k}` = {format_value(v)}" for k, v in fixed.items())
    return "\n".join(lines)


def summary_rows(combos, grid, statuses):
    metric_names = []
    for run, _ in combos:
        for key in metrics_of(statuses.get(run) or {}):
            if key not in metric_names:
                metric_names.append(key)
    reserved = {"run", "status", "seconds", "error", *grid}
    rows = []
    for run, combo in combos:
        status = statuses.get(run) or {"status": "not run", "seconds": None, "error": "", "metrics": {}}
        row = {"run": run, **combo, "status": status["status"], "seconds": status.get("seconds")}
        metrics = metrics_of(status)
        for key in metric_names:
            row[f"metric_{key}" if key in reserved else key] = metrics.get(key)
        row["error"] = status.get("error") or ""
        rows.append(row)
    return rows
