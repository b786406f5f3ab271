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

import numbers
from dataclasses import dataclass

import numpy as np

from medlab import validate

#: What :func:`verdict` says when the paired interval includes zero.
NO_DIFFERENCE = "no difference we can see"


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
        ``values`` (the list itself) and ``seeds`` (their ``seed`` column, in the same order,
        or None when the rows have none), which :func:`verdict` pairs by.
    """
    by = [by] if isinstance(by, str) else list(by)
    if not rows:
        raise ValueError("mean_sd_by: no rows")
    missing = [name for name in by + [value] if name not in rows[0]]
    if missing:
        raise ValueError(f"mean_sd_by: column {missing[0]!r} not in the rows; they have {sorted(rows[0])}")
    groups, seeds = {}, {}
    for number, row in enumerate(rows):
        if value not in row:
            raise ValueError(f"mean_sd_by: row {number} has no column {value!r}")
        figure = validate.number(f"rows[{number}][{value!r}]", row[value])  # finite, or one clear error
        groups.setdefault(_key(row, by), []).append(figure)
        seeds.setdefault(_key(row, by), []).append(row.get("seed"))
    out = []
    for key, values in groups.items():
        v = np.asarray(values, dtype=np.float64)
        out.append({**dict(zip(by, key)), "n": len(v), "mean": float(v.mean()),
                    "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "min": float(v.min()),
                    "max": float(v.max()), "values": values,
                    "seeds": None if None in seeds[key] else seeds[key]})
    return out


def mean_sd_table(groups, by, value="val_auc", digits=2):
    """Rows of :func:`mean_sd_by` as text: setting, n, ``mean ± sd`` and ``[min, max]``.

    One seed prints its figure without ±; an sd that would round to zero gets more digits
    (:func:`mean_sd_text`).

    Returns
    -------
    str
        A header line, a rule and one line per setting, columns aligned.
    """
    by = [by] if isinstance(by, str) else list(by)
    if all(g["n"] == 1 for g in groups):  # one seed each: the figures, no spread to show
        rows = [{**{name: g[name] for name in by}, f"{value} (1 seed)": f"{g['mean']:.{digits}f}"} for g in groups]
        return table(rows, by + [f"{value} (1 seed)"], digits)
    rows = [{**{name: g[name] for name in by}, "n": g["n"],
             f"{value} mean ± sd": mean_sd_text(g["values"], digits),
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
    """The outcome of :func:`verdict`: A against B on the same seeds.

    Attributes
    ----------
    word : str
        ``"better"`` or ``"worse"`` (A against B) or :data:`NO_DIFFERENCE`.
    higher : str or None
        The name of the setting with the higher figure, or None when none can be told.
    difference : float
        Mean over seeds of the paired difference A - B.
    low, high : float
        Its t-interval (``confidence``, n - 1 degrees of freedom).
    n : int
        Number of seeds (pairs).
    text : str
    """

    word: str
    higher: str | None
    difference: float
    low: float
    high: float
    n: int
    text: str

    @property
    def differs(self):
        return self.higher is not None

    def __str__(self):
        return self.text


def _values(x, argument):
    if isinstance(x, dict):
        if "values" not in x:
            raise ValueError(f"verdict: {argument} is a dict without 'values'; pass a row of mean_sd_by or a list of figures")
        x = x["values"]
    if isinstance(x, (str, bytes)):
        raise ValueError(f"verdict: {argument} is the text {x!r}; pass one figure per seed (numbers)")
    try:
        items = [s for s in x]
        if any(isinstance(s, (str, bytes)) for s in items):
            raise TypeError("text")
        v = np.asarray(items, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"verdict: {argument} must be one figure per seed (numbers), got {x!r:.80}") from exc
    if sum(side > 1 for side in v.shape) > 1:  # a table, not one figure per seed ((n, 1) is flattened)
        raise ValueError(f"verdict: {argument} has shape {v.shape}; pass one figure per seed, a flat list")
    v = v.reshape(-1)
    if v.size == 0:
        raise ValueError(f"verdict: {argument} has no values; pass one figure per seed")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"verdict: {argument} holds a NaN or infinite figure")
    return v


def _seed_key(seed):
    """A seed as a sortable, comparable key: NumPy and Python integers alike."""
    return (0, int(seed), "") if isinstance(seed, numbers.Integral) else (1, 0, repr(seed))


def _seeds(x):
    return list(x["seeds"]) if isinstance(x, dict) and x.get("seeds") is not None else None


def _decimals_for(spread, least=2, most=6):
    """Decimals that show ``spread`` with at least one significant digit (and ``least``).

    A spread printed as ``0.000`` would say "no spread"; this keeps it visible.

    >>> _decimals_for(0.07), _decimals_for(0.0004), _decimals_for(0.0)
    (2, 4, 2)
    """
    spread = abs(float(spread))
    if spread == 0 or not np.isfinite(spread):
        return least
    return int(min(most, max(least, -np.floor(np.log10(spread)))))


def mean_sd_text(values, digits=2):
    """``mean ± sd`` of the figures of several seeds; one seed prints its figure alone.

    >>> mean_sd_text([0.91, 0.93, 0.95]), mean_sd_text([0.9104]), mean_sd_text([0.9101, 0.9102])
    ('0.93 ± 0.02', '0.91 (1 seed)', '0.91015 ± 0.00007')
    """
    v = validate.values("values", values).reshape(-1)
    digits = validate.integer("digits", digits, 0, 12)
    if v.size == 0:
        raise ValueError("mean_sd_text: values is empty; pass one figure per seed")
    if v.size == 1:
        return f"{v[0]:.{digits}f} (1 seed)"
    sd = float(v.std(ddof=1))
    if sd <= 1e-12 * max(abs(float(v.mean())), 1e-300):  # equal up to float round-off
        return f"{v[0]:.{digits}f} ± 0 (all {v.size} seeds equal)"
    d = _decimals_for(sd, least=digits)
    return f"{v.mean():.{d}f} ± {sd:.{d}f}"


def verdict(a, b, names=("A", "B"), what="the figure", higher_is_better=True, confidence=0.95):
    """Paired verdict on per-seed figures: is A better, worse, or can we not tell?

    Rule: seed i trains A and B from the same split, initial weights and batch order, so the
    evidence is the **paired** difference d_i = a_i - b_i. With n seeds, mean d and sample
    sd s (ddof = 1), the t-interval ``d ± t(n - 1) s / sqrt(n)`` at ``confidence``; A is
    "better" (or "worse") only when that interval lies wholly on one side of zero, and
    otherwise there is :data:`NO_DIFFERENCE`. With 3 seeds t = 4.30: the mean difference
    must exceed 2.5 times the sd of the differences.

    Parameters
    ----------
    a, b : sequence of float, or a row of :func:`mean_sd_by`
        The figure of each seed under each setting, in the same seed order (rows of
        :func:`mean_sd_by` are paired by their ``seeds``); at least 2 seeds.
    names : (str, str)
    what : str
        The figure's name, for the text.
    higher_is_better : bool
        False for a loss or an error: then a lower figure is "better".
    confidence : float in (0, 1)

    Returns
    -------
    Verdict

    >>> print(verdict([0.95, 0.96, 0.94], [0.90, 0.92, 0.90], ("7 x 7", "3 x 3"), "AUC"))
    7 x 7 vs 3 x 3, AUC: better by 0.043 (95 % t-interval of the paired difference over 3 seeds: 0.029 to 0.058)
    """
    from scipy import stats

    confidence = validate.number("confidence", confidence, 0.5, 0.999)
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise validate.ArgumentError(f"higher_is_better {higher_is_better!r}: expected True or False")
    try:  # a set or a dict has no order: the labels could swap from run to run
        pair = None if isinstance(names, (str, bytes, set, frozenset, dict)) else tuple(names)
    except TypeError:  # None, a number
        pair = None
    if pair is None or len(pair) != 2:
        raise validate.ArgumentError(f"names {names!r}: expected two names in order, (A, B)")
    names = pair
    seeds_a, seeds_b = _seeds(a), _seeds(b)
    a, b = _values(a, "a"), _values(b, "b")
    for name, seeds in (("a", seeds_a), ("b", seeds_b)):
        if seeds is not None and len(set(map(_seed_key, seeds))) != len(seeds):
            raise ValueError(f"verdict: {name} holds a seed more than once ({seeds}); group by every "
                             "column that names the setting (mean_sd_by's by)")
    if seeds_a is not None and seeds_b is not None:
        if sorted(map(_seed_key, seeds_a)) != sorted(map(_seed_key, seeds_b)):
            raise ValueError(f"verdict: a and b were run with different seeds ({seeds_a} vs {seeds_b}); a paired verdict needs the same ones")
        b = b[[seeds_b.index(s) for s in seeds_a]]
    if a.size != b.size:
        raise ValueError(f"verdict: a has {a.size} figures and b {b.size}; pass one per seed, the same seeds in the same order")
    if a.size < 2:
        raise ValueError("verdict: needs at least 2 seeds per setting; one seed cannot show a spread")
    d = a - b
    n = d.size
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))
    low, high = mean - half, mean + half
    if low > 0 or high < 0:
        higher = names[0] if mean > 0 else names[1]
        word = "better" if (mean > 0) == bool(higher_is_better) else "worse"
    else:
        higher, word = None, NO_DIFFERENCE
    digits = _decimals_for(half, least=3) if half > 0 else 3
    interval = (f"{confidence:.0%} t-interval of the paired difference over {n} seeds: "
                f"{low:.{digits}f} to {high:.{digits}f}").replace("%", " %")
    if higher is None:
        text = f"{names[0]} vs {names[1]}, {what}: {NO_DIFFERENCE} ({interval})"
    else:
        text = f"{names[0]} vs {names[1]}, {what}: {word} by {abs(mean):.{digits}f} ({interval})"
    return Verdict(word, higher, mean, low, high, n, text)


__all__ = ["NO_DIFFERENCE", "Verdict", "mean_sd_by", "mean_sd_table", "mean_sd_text", "table", "verdict"]
