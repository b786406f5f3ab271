"""Curves over training: loss and metric curves per epoch, the mean and sd of several seeds
per setting (lessons 14 and 15), and a score against the fraction of labels used (lesson 11).

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["label_fraction_curve", "loss_curves", "mean_curves", "mean_sd_plot", "paired_differences_plot",
           "paired_seeds_plot", "seed_curves"]


def _histories(histories):
    """A single history dict -> {"": history}; a dict of histories stays as it is."""
    if not histories:
        raise ValueError("histories is empty")
    if all(isinstance(v, (list, tuple, np.ndarray)) for v in histories.values()):
        return {"": histories}
    return dict(histories)


def loss_curves(histories, metrics=("loss",), validation=True, title=None, best=None):
    """Training (solid) and validation (dashed) curves per epoch, one panel per metric.

    Parameters
    ----------
    histories : dict of str -> list, or dict of name -> such a dict
        One Keras history as a dict (``{"loss": [...], "val_loss": [...]}``) or several by
        name (``{"seed": h1, "improved": h2}``); each gets its own colour.
    metrics : sequence of str
        Keys to draw, e.g. ``("loss", "auc")``; ``val_<key>`` is drawn dashed if present.
    validation : bool
        Draw the ``val_`` curves.
    title : str, optional
    best : dict of name -> int, optional
        Epoch (0-based) to mark with a dot on that history's validation curve (e.g. the
        epoch whose weights early stopping restored).

    Returns
    -------
    matplotlib.figure.Figure
    """
    histories = _histories(histories)
    metrics = tuple(metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.3), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for index, (name, history) in enumerate(histories.items()):
            colour = colours[index % len(colours)]
            prefix = f"{name}: " if name else ""
            if metric not in history:
                raise KeyError(f"history {name!r} has no {metric!r}; it has {sorted(history)}")
            train = np.asarray(history[metric], dtype=float)
            epochs = np.arange(1, len(train) + 1)
            ax.plot(epochs, train, "-", color=colour, label=f"{prefix}train")
            val = history.get(f"val_{metric}")
            if validation and val is not None:
                ax.plot(epochs[:len(val)], val, "--", color=colour, label=f"{prefix}validation")
                if best and name in best and best[name] is not None:
                    e = int(best[name])
                    ax.plot([e + 1], [val[e]], "o", color=colour, markersize=7,
                            label=f"{prefix}kept epoch ({e + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def mean_curves(curves, keys=("train_loss", "val_loss"), title=None, ylabel="loss"):
    """Mean ± sd over seeds of per-epoch curves, one line (and band) per key.

    Parameters
    ----------
    curves : list of dict of str -> list of float
        One dict per seed (e.g. ``Trial.curves``), same epochs each.
    keys : sequence of str
    title, ylabel : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not curves:
        raise ValueError("mean_curves: no curves")
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for index, key in enumerate(keys):
        values = np.array([c[key] for c in curves], dtype=np.float64)
        epochs = np.arange(1, values.shape[1] + 1)
        mean, sd = values.mean(axis=0), values.std(axis=0, ddof=1) if len(values) > 1 else 0 * values[0]
        ax.plot(epochs, mean, color=f"C{index}", label=f"{key} (mean of {len(values)})")
        ax.fill_between(epochs, mean - sd, mean + sd, color=f"C{index}", alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def mean_sd_plot(summaries, by, value="val_auc", title=None):
    """One panel per experiment: each setting's seeds as dots, their mean ± sd as a bar.

    Parameters
    ----------
    summaries : dict of str -> list of dict
        Panel title -> rows of :func:`medlab.evidence.mean_sd_by` (``values``, ``mean``, ``sd``).
    by : dict of str -> str
        Panel title -> the column that names the setting in that panel.
    value : str
        The figure's name, for the y label.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(summaries)
    if n == 0:
        raise ValueError("mean_sd_plot: no summaries")
    missing = [name for name in summaries if name not in by]
    if missing:
        raise ValueError(f"mean_sd_plot: by names no column for the panel {missing[0]!r}; expected a key for "
                         f"each of {list(summaries)}")
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 0.6, 2.9), squeeze=False, sharey=True)
    for ax, (name, rows) in zip(axes[0], summaries.items()):
        labels = [str(row[by[name]]) for row in rows]
        for i, row in enumerate(rows):
            ax.plot([i] * len(row["values"]), row["values"], "o", color="0.6", markersize=3)
            ax.errorbar([i], [row["mean"]], yerr=[row["sd"]], fmt="s", color="C0", capsize=4, markersize=5)
        ax.set_xticks(range(len(rows)), labels, rotation=30, fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel(value)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def label_fraction_curve(summary, ylabel="test ROC-AUC", title=None):
    """Mean +- sd of a figure against the fraction of labels, pretrained and from scratch.

    Parameters
    ----------
    summary : list of dict
        From :func:`medlab.pretraining.mean_sd_by_fraction`: ``fraction``, ``pretrained_mean``,
        ``pretrained_sd``, ``scratch_mean``, ``scratch_sd``.

    Returns
    -------
    matplotlib.figure.Figure
        Log-scaled x axis in percent; error bars are one sd over seeds.
    """
    if not summary:
        raise ValueError("summary is empty")
    percent = [100 * e["fraction"] for e in summary]
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for start, marker in (("pretrained", "o-"), ("scratch", "s--")):
        ax.errorbar(percent, [e[f"{start}_mean"] for e in summary], yerr=[e[f"{start}_sd"] for e in summary],
                    fmt=marker, capsize=3, label="autoencoder-pretrained" if start == "pretrained" else "from scratch")
    ax.set_xscale("log")
    ax.set_xticks(percent, [f"{p:g} %" for p in percent])
    ax.set_xlabel("labelled training images")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# faq
def seed_curves(curves, keys, ylabel, title=None, labels=None):
    """Per-epoch curves of several seeds: each seed a thin line, their mean a thick one (no band).

    Parameters
    ----------
    curves : list of dict of str -> list of float
        One dict per seed (e.g. ``Trial.curves``), the same number of epochs for every key.
    keys : sequence of str
        The curves to draw, one colour each.
    ylabel : str
        The y axis label, with the figure's unit.
    title : str, optional
    labels : dict of str -> str, optional
        Legend name of each key (default: the key).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; x: epoch (1 to E), y: the figure.
    """
    if not curves:
        raise ValueError("seed_curves: no curves; pass one dict per seed")
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for index, key in enumerate(keys):
        values = np.array([c[key] for c in curves], dtype=np.float64)
        epochs = np.arange(1, values.shape[1] + 1)
        for i, seed_values in enumerate(values):
            ax.plot(epochs, seed_values, color=f"C{index}", lw=0.8, alpha=0.45,
                    label=f"{labels.get(key, key)}: one seed" if i == 0 else None)
        ax.plot(epochs, values.mean(axis=0), color=f"C{index}", lw=2.2,
                label=f"{labels.get(key, key)}: mean of {len(values)} seeds")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def paired_differences_plot(comparisons, what, title=None, higher_is_better=True, no_verdict=()):
    """The paired verdict as a picture: per comparison, each seed's difference A - B and its t-interval.

    Parameters
    ----------
    comparisons : dict of str -> (row, row)
        Label (e.g. ``"7 x 7 - 3 x 3"``) -> rows A and B of :func:`medlab.evidence.mean_sd_by`,
        paired by their ``seeds``.
    what : str
        The figure compared, with its unit (the y label reads ``what: A - B``).
    title : str, optional
    higher_is_better : bool
        Passed to :func:`medlab.evidence.verdict` (colours: green better, red worse, grey none).
    no_verdict : str or iterable of str
        A label or labels whose verdict the lesson does not give (e.g. an interval end so near 0 that its
        side changes with the CPU's arithmetic): drawn as a hollow black square (its interval and seeds
        visible through it), labelled "no verdict given",
        whatever :func:`medlab.evidence.verdict` says on this machine.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: x the comparisons, y the difference (same unit as ``what``); grey dots one seed
        each, a square and bar the mean and 95 % t-interval, a dashed line at 0.
    """
    from medlab import evidence

    if not comparisons:
        raise ValueError("paired_differences_plot: no comparisons")
    if no_verdict is None:
        no_verdict = ()
    if isinstance(no_verdict, (str, bytes)) or not hasattr(no_verdict, "__iter__"):
        no_verdict = [no_verdict]  # one label (text or a number)
    no_verdict = set(no_verdict)  # read once: a generator
    unknown = [label for label in no_verdict if label not in comparisons]
    if unknown:
        raise ValueError(f"paired_differences_plot: no_verdict names {unknown[0]!r}, not one of the "
                         f"comparisons ({', '.join(map(str, comparisons))})")
    colours = {"better": "tab:green", "worse": "tab:red", evidence.NO_DIFFERENCE: "0.35",
               "no verdict given": "k"}
    fig, ax = plt.subplots(figsize=(1.0 * len(comparisons) + 2.6, 3.3))
    shown = set()
    for i, (label, (a, b)) in enumerate(comparisons.items()):
        v = evidence.verdict(a, b, higher_is_better=higher_is_better)
        word = "no verdict given" if label in no_verdict else v.word
        b_values = list(b["values"])
        if a.get("seeds") and b.get("seeds"):  # pair by seed, as the verdict does
            b_values = [b["values"][list(b["seeds"]).index(s)] for s in a["seeds"]]
        d = [x - y for x, y in zip(a["values"], b_values)]
        ax.plot([i] * len(d), d, "o", color="0.6", markersize=3.5, zorder=3,  # above the mean's square
                label=None if "seed" in shown else "one seed's difference")
        shown.add("seed")
        ax.errorbar([i], [v.difference], yerr=[[v.difference - v.low], [v.high - v.difference]], fmt="s", capsize=4,
                    color=colours[word], label=None if word in shown else f"mean, 95 % t-interval: {word}",
                    markerfacecolor="none" if word == "no verdict given" else colours[word])
        shown.add(word)
    ax.axhline(0, color="k", lw=0.8, ls="--", label="0: no difference")
    ax.set_xticks(range(len(comparisons)), list(comparisons), rotation=30, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(comparisons) - 0.4)
    ax.set_ylabel(f"{what}: A - B")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# training
def paired_seeds_plot(rows, by, values, labels=None, references=None, title=None):
    """Each seed's figure under two or more settings, joined by a line: the pairs a verdict compares.

    Parameters
    ----------
    rows : list of dict
        A tidy table with a ``seed`` column, one row per setting and seed (e.g. from
        :func:`medlab.training.own_images_vs_held_out`).
    by : str
        The column that names the setting; settings go along x in order of first appearance.
    values : sequence of str
        The figures to draw, one panel each (e.g. ``("accuracy", "auc")``).
    labels : dict of str -> str, optional
        y-axis label per figure, with its unit (default: the column name).
    references : dict of str -> (float, str), optional
        A dotted horizontal line per figure, with its legend text (e.g. the accuracy of
        always calling the majority class).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per figure: a grey line and dots per seed, the mean of the seeds as a black
        bar; a legend above the panel (outside the data) names them.
    """
    values = [values] if isinstance(values, str) else list(values)
    if not rows or not values:
        raise ValueError("paired_seeds_plot: rows and values must not be empty")
    missing = [c for c in ["seed", by] + values if c not in rows[0]]
    if missing:
        raise ValueError(f"paired_seeds_plot: column {missing[0]!r} not in the rows; they have {sorted(rows[0])}")
    labels, references = dict(labels or {}), dict(references or {})
    settings = list(dict.fromkeys(row[by] for row in rows))
    seeds = list(dict.fromkeys(row["seed"] for row in rows))
    fig, axes = plt.subplots(1, len(values), figsize=(3.4 * len(values) + 0.4, 3.2), squeeze=False)
    for ax, value in zip(axes[0], values):
        table = {(row["seed"], row[by]): float(row[value]) for row in rows}
        for index, seed in enumerate(seeds):
            ys = [table.get((seed, s), np.nan) for s in settings]
            ax.plot(range(len(settings)), ys, "o-", color="0.55", markersize=5, linewidth=1,
                    label="one seed" if index == 0 else None)
        means = [np.nanmean([table.get((seed, s), np.nan) for seed in seeds]) for s in settings]
        ax.plot(range(len(settings)), means, "_", color="k", markersize=22, markeredgewidth=2,
                label=f"mean of {len(seeds)} seeds")
        if value in references:
            level, text = references[value]
            ax.axhline(level, color="C3", linestyle=":", label=text)
        ax.set_xticks(range(len(settings)), settings, fontsize=8)
        ax.set_xlim(-0.5, len(settings) - 0.5)
        ax.set_xlabel(by)
        ax.set_ylabel(labels.get(value, value))
        ax.grid(alpha=0.3, axis="y")
        # above the panel, where it hides no seed
        ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
