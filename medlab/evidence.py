"""Several seeds per setting: mean and spread, and a verdict only where the difference shows.

=======================================  =================================================
``mean_sd_by(rows, by, value)``          one row per setting: n, mean, sd, min, max
``mean_sd_table(groups, by, value)``     those rows as text, ``mean ± sd`` and the range
``verdict(a, b, names, what)``           which setting is higher, or that none can be told
``table(rows, columns)``                 any rows as a fixed-width text table, rounded
=======================================  =================================================

A trial trained with one seed is one draw: other initial weights and another batch order
give another figure. :func:`medlab.experiments.grid` with ``seeds=`` gives one row per
setting and seed (a tidy table); these functions turn it into evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: What :func:`verdict` says when the difference does not exceed the spread.
NO_DIFFERENCE = "no difference we can see at this size"


def _key(row, by):
    return tuple(row.get(name) for name in by)


def mean_sd_by(rows, by, value="val_auc"):
    """Mean and spread of ``value`` per setting (the distinct values of the ``by`` columns).

    Parameters
    ----------
    rows : list of dict
        A tidy table, e.g. from ``experiments.grid(..., seeds=3)``.
    by : str or sequence of str
        The columns that name a setting; rows that agree on them are repeats (seeds).
    value : str
        The column to summarise.

    Returns
    -------
    list of dict
        In order of first appearance: the ``by`` values, then ``n``, ``mean``, ``sd``
        (sample standard deviation, ddof = 1; 0 for a single value), ``min``, ``max`` and
        ``values`` (the list itself).
    """
    by = [by] if isinstance(by, str) else list(by)
    if not rows:
        raise ValueError("mean_sd_by: no rows")
    missing = [name for name in by + [value] if name not in rows[0]]
    if missing:
        raise ValueError(f"mean_sd_by: column {missing[0]!r} not in the rows; they have {sorted(rows[0])}")
    groups = {}
    for row in rows:
        groups.setdefault(_key(row, by), []).append(float(row[value]))
    out = []
    for key, values in groups.items():
        v = np.asarray(values, dtype=np.float64)
        out.append({**dict(zip(by, key)), "n": len(v), "mean": float(v.mean()),
                    "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "min": float(v.min()),
                    "max": float(v.max()), "values": values})
    return out


def mean_sd_table(groups, by, value="val_auc", digits=2):
    """Rows of :func:`mean_sd_by` as text: setting, n, ``mean ± sd`` and ``[min, max]``.

    Returns
    -------
    str
        A header line, a rule and one line per setting, columns aligned.
    """
    by = [by] if isinstance(by, str) else list(by)
    rows = [{**{name: g[name] for name in by}, "n": g["n"],
             f"{value} mean ± sd": f"{g['mean']:.{digits}f} ± {g['sd']:.{digits}f}",
             "range": f"[{g['min']:.{digits}f}, {g['max']:.{digits}f}]"} for g in groups]
    return table(rows, by + ["n", f"{value} mean ± sd", "range"], digits)


def _cell(value, digits):
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return f"{value:.0e}" if value != 0 and abs(value) < 0.01 else f"{value:.{digits}f}"
    return str(value)


def table(rows, columns, digits=2):
    """Rows as a text table of ``columns``, floats rounded to ``digits`` (small ones as 1e-04).

    Returns
    -------
    str
        A header line, a rule, and one line per row, columns right-aligned.
    """
    columns = list(columns)
    cells = [[_cell(row.get(c), digits) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verdict`.

    Attributes
    ----------
    higher : str or None
        The name of the setting with the higher mean, or None when the difference does not
        exceed the spread.
    difference : float
        Mean of the first minus mean of the second.
    spread : float
        Sum of the two standard deviations (the bar the difference must clear).
    text : str
    """

    higher: str | None
    difference: float
    spread: float
    text: str

    @property
    def differs(self):
        return self.higher is not None

    def __str__(self):
        return self.text


def _values(x):
    v = np.asarray([s for s in x], dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("verdict: each setting needs at least one value")
    return v


def verdict(a, b, names=("A", "B"), what="the figure"):
    """Tell two settings apart only where the difference exceeds their spread.

    Rule: with means m_a, m_b and sample standard deviations s_a, s_b (ddof = 1, over the
    seeds), the settings differ when ``|m_a - m_b| > s_a + s_b``; the one with the higher
    mean is named. Otherwise the verdict is :data:`NO_DIFFERENCE`. The rule is strict on
    purpose: with 3 seeds a difference of one standard deviation is easily luck, and it
    asks for a gap the size of two.

    Parameters
    ----------
    a, b : sequence of float, or a row of :func:`mean_sd_by` (uses its ``values``)
        The figure of each seed under each setting; at least 2 values each.
    names : (str, str)
    what : str
        The figure's name, for the text.

    Returns
    -------
    Verdict
    """
    a = _values(a["values"] if isinstance(a, dict) else a)
    b = _values(b["values"] if isinstance(b, dict) else b)
    if min(a.size, b.size) < 2:
        raise ValueError("verdict: needs at least 2 values (seeds) per setting to measure a spread")
    difference = float(a.mean() - b.mean())
    spread = float(a.std(ddof=1) + b.std(ddof=1))
    if abs(difference) > spread:
        higher, lower = (names[0], names[1]) if difference > 0 else (names[1], names[0])
        return Verdict(higher, difference, spread,
                       f"{higher} gives a higher {what} than {lower} (by more than the spread)")
    return Verdict(None, difference, spread, f"{names[0]} vs {names[1]}, {what}: {NO_DIFFERENCE}")


__all__ = ["NO_DIFFERENCE", "Verdict", "mean_sd_by", "mean_sd_table", "table", "verdict"]
