"""Summaries of runs: ``summary.csv``, ``summary.md`` and ``summary.png`` in a run folder.

Written by :func:`medlab.course.runs.sweep` (one row per run, the swept parameters as
x axes of the plot) and :func:`medlab.course.runs.course` (one row per lesson). Every file
is written atomically with the permissions of a new file (:mod:`medlab.files`).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from medlab import files

__all__ = ["format_metrics", "format_value", "write_summary"]


def format_value(value):
    """Short text for a parameter value, as in a run's name: ``0.001``, ``3``, ``True``."""
    return repr(value) if isinstance(value, float) else str(value)


def format_metrics(metrics, limit=4):
    """``"val_auc=0.9123, loss=0.31"``: the first ``limit`` metrics, 4 significant digits."""
    if not metrics:
        return ""
    parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
             for k, v in list(metrics.items())[:limit]]
    return ", ".join(parts) + (", ..." if len(metrics) > limit else "")


# --------------------------------------------------------------------------
def _cell(value, column=""):
    if value is None:
        return ""
    if column == "seconds" and isinstance(value, (int, float)):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _markdown_table(rows, columns):
    if not rows:
        return ""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c), c) for c in columns) + " |")
    return "\n".join(lines)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def write_summary(folder, rows, swept, title="# Summary"):
    """Write ``summary.csv``, ``summary.md`` and (with numeric metrics) ``summary.png``.

    Parameters
    ----------
    folder : Path
        Where to write.
    rows : list of dict
        Rows as :func:`~medlab.course.runs.sweep` returns them; the columns are the keys
        of all rows, in order of appearance (a row without a key leaves its cell empty).
    swept : list of str
        The swept parameter names (the plot's x axes).
    title : str
        Markdown put above the table.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    written = [folder / "summary.csv", folder / "summary.md"]
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["run", "status"]
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=columns, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    files.write_text(written[0], table.getvalue())
    files.write_text(written[1], f"{title}\n\n{_markdown_table(rows, columns)}\n")
    png = folder / "summary.png"
    if _plot_summary(rows, swept, png):
        written.append(png)
    return written


def _plot_summary(rows, swept, path):
    """One panel per (metric, swept parameter); a line per value of the other parameters."""
    fixed_columns = {"run", "status", "seconds", "error", *swept}
    rows = [row for row in rows if all(param in row for param in swept)]
    ok = [row for row in rows if row["status"] == "ok"]
    metrics = [key for key in (rows[0] if rows else {}) if key not in fixed_columns
               and any(_is_number(row.get(key)) for row in ok)]
    if not metrics or not swept:
        return False
    from matplotlib.figure import Figure  # Agg canvas, no pyplot, no global backend change

    fig = Figure(figsize=(4.2 * len(swept), 3.2 * len(metrics)), layout="constrained")
    axes = fig.subplots(len(metrics), len(swept), squeeze=False)
    for i, metric in enumerate(metrics):
        for j, param in enumerate(swept):
            ax = axes[i][j]
            order = list(dict.fromkeys(row[param] for row in rows))
            numeric = all(_is_number(v) for v in order)
            position = (lambda v: v) if numeric else (lambda v, o=order: o.index(v))
            others = [p for p in swept if p != param]
            groups = {}
            for row in ok:
                if _is_number(row.get(metric)):
                    key = tuple(row[p] for p in others)
                    groups.setdefault(key, []).append((position(row[param]), row[metric]))
            for key, points in groups.items():
                points.sort()
                label = ", ".join(f"{p}={format_value(v)}" for p, v in zip(others, key)) or None
                ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=label)
            if numeric and min(order) > 0 and max(order) / min(order) >= 100:
                ax.set_xscale("log")
            elif numeric and all(isinstance(v, int) for v in order) and len(order) <= 12:
                ax.set_xticks(order)
            if not numeric:
                ax.set_xticks(range(len(order)), [format_value(v) for v in order])
            ax.set_xlabel(param)
            ax.set_ylabel(metric)
            if others and 1 < len(groups) <= 8:
                ax.legend(fontsize="small")
    with files.atomic_write(path) as out:
        fig.savefig(out, format="png", dpi=80)
    return True
