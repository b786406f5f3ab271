"""Pretraining with scarce labels: an autoencoder's encoder fine-tuned as a classifier.

The article claims the autoencoder reduces dimension "to better predict and classify". The
test: train an autoencoder on *all* training images without labels, then fine-tune its
encoder (plus one sigmoid unit) on a fraction of the labelled images, and compare it with the
same network started from random weights, trained the same way on the same images.

=================================================  =========================================
``pretraining_curve(encoder, data, ...)``          every fraction x seed x start -> tidy rows
``mean_sd_by_fraction(rows)``                      mean and sd of the test AUC per fraction
``fraction_table(by_fraction)``                    those rows as text
=================================================  =========================================

Every run makes the same number of weight updates (``steps``), whatever the fraction: a run
on 1 % of the labels sees its images many times, one on 100 % about once or twice.
"""

from __future__ import annotations

import math

import numpy as np

from medlab import metrics, validate
from medlab._tensorflow import keras, seed_everything
from medlab.engine.callbacks import BatchLosses
from medlab.engine.fit import fit
from medlab.engine.predict import as_batch

#: The label fractions of the full comparison.
FRACTIONS = (0.01, 0.05, 0.2, 1.0)
#: How a classifier's encoder starts.
STARTS = ("pretrained", "scratch")


def _label_subset(labels, fraction, seed=0):
    """Indices of a stratified random ``fraction`` of the images (at least 2 of each class).

    Parameters
    ----------
    labels : array (N,) of 0/1
    fraction : float in (0, 1]
    seed : int

    Returns
    -------
    int array (M,), sorted; ``fraction`` 1 gives every index.
    """
    y = np.asarray(labels).reshape(-1)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must hold only 0 and 1")
    fraction = validate.number("fraction", fraction, low=0.0, high=1.0, low_open=True)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in (0, 1):
        members = np.flatnonzero(y == c)
        if len(members) < 2:
            raise ValueError(f"labels: class {c} has {len(members)} images, need at least 2")
        n = min(len(members), max(2, int(round(fraction * len(members)))))
        chosen.append(rng.choice(members, size=n, replace=False))
    return np.sort(np.concatenate(chosen))


def _encoder_classifier(encoder, pretrained=True, seed=0, name=None):
    """A classifier: a copy of ``encoder`` then ``Dense(1, sigmoid)``.

    Parameters
    ----------
    encoder : keras.Model
        (N, H, W, C) -> (N, D), e.g. the encoder f of :func:`medlab.models.conv_autoencoder`.
        It is copied, never changed.
    pretrained : bool
        True: the copy starts from ``encoder``'s weights; False: from fresh random weights
        (the same architecture and initialisers, seeded by ``seed``).
    seed : int

    Returns
    -------
    keras.Model, uncompiled: (N, H, W, C) -> (N, 1), P(class 1)
    """
    seed_everything(seed)
    copy = keras.models.clone_model(encoder)  # new variables, freshly initialised
    if pretrained:
        copy.set_weights(encoder.get_weights())
    inputs = keras.Input(shape=encoder.input_shape[1:])
    p = keras.layers.Dense(1, activation="sigmoid", name="p")(copy(inputs))
    start = "pretrained" if pretrained else "scratch"
    return keras.Model(inputs, p, name=name or f"{start}_classifier")


def _batches(n, steps, batch_size, rng):
    """Indices (steps * batch_size,) of shuffled passes over n images, cut to length."""
    passes = math.ceil(steps * batch_size / n)
    order = np.concatenate([rng.permutation(n) for _ in range(passes)])
    return order[: steps * batch_size]


def _fine_tune(model, images, labels, steps=200, batch_size=32, learning_rate=1e-3, seed=0):
    """Train ``model`` with Adam and binary cross-entropy for exactly ``steps`` updates.

    Parameters
    ----------
    model : keras.Model
        (N, H, W, C) -> (N, 1) probabilities; compiled here.
    images : float array (N, H, W, C)
    labels : array (N,) of 0/1
    steps, batch_size : int
        Weight updates and images per update; the images are shuffled pass after pass.
    learning_rate : float
    seed : int
        Seeds the order of the images and TensorFlow.

    Returns
    -------
    float
        The mean loss of the last 10 % of the steps.
    """
    steps = validate.integer("steps", steps, low=1)
    batch_size = validate.integer("batch_size", batch_size, low=1)
    learning_rate = validate.number("learning_rate", learning_rate, low=0.0, low_open=True)
    x = as_batch(images)
    y = validate.values("labels", labels, 0, 1).astype(np.float32).reshape(-1, 1)
    if len(x) != len(y):
        raise ValueError(f"images ({len(x)}) and labels ({len(y)}): expected the same length")
    batch_size = min(batch_size, len(x))
    order = _batches(len(x), steps, batch_size, np.random.default_rng(seed))
    losses = BatchLosses()
    fit(model, x[order], y[order], epochs=1, batch_size=batch_size, seed=seed, shuffle=False,
        callbacks=[losses], optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy")
    tail = max(1, len(losses.losses) // 10)
    return float(np.mean(losses.losses[-tail:]))


def pretraining_curve(encoder, data, fractions=FRACTIONS, seeds=(0, 1, 2), steps=200,
                      batch_size=32, learning_rate=1e-3):
    """Pretrained against scratch classifiers at every label fraction and seed.

    Parameters
    ----------
    encoder : keras.Model
        The encoder of an autoencoder trained (without labels) on the training images.
    data : medlab.data.ClassificationData
        Its train split gives the labelled subsets; val and test are scored whole.
    fractions : sequence of float in (0, 1]
    seeds : sequence of int
        Each seed draws its own labelled subset (shared by both starts) and initialisation.
    steps, batch_size, learning_rate
        Of :func:`_fine_tune`, the same for every run.

    Returns
    -------
    list of dict, one per run (a tidy table): ``fraction``, ``labels`` (images used),
    ``seed``, ``start`` ("pretrained" or "scratch"), ``val_auc``, ``test_auc``.
    """
    from medlab.training import predict_scores

    if not fractions or not seeds:
        raise ValueError("fractions and seeds must each hold at least one value")
    rows = []
    for fraction in fractions:
        for seed in seeds:
            subset = _label_subset(data.y_train, fraction, seed=seed)
            for start in STARTS:
                model = _encoder_classifier(encoder, pretrained=start == "pretrained", seed=seed)
                _fine_tune(model, data.x_train[subset], data.y_train[subset], steps=steps,
                          batch_size=batch_size, learning_rate=learning_rate, seed=seed)
                rows.append({
                    "fraction": float(fraction), "labels": int(len(subset)), "seed": int(seed),
                    "start": start,
                    "val_auc": metrics.auc(data.y_val, predict_scores(model, data.x_val)),
                    "test_auc": metrics.auc(data.y_test, predict_scores(model, data.x_test)),
                })
    return rows


def mean_sd_by_fraction(rows, key="test_auc"):
    """Mean and sample sd of ``key`` per fraction and start, and the pretrained - scratch gap.

    :func:`medlab.evidence.mean_sd_by` over the seeds that ran both starts, with the gap of
    each seed (pretrained - scratch, same labelled subset) as a third start.

    Returns
    -------
    list of dict, one per fraction (ascending): ``fraction``, ``labels``, ``runs`` (seeds),
    ``pretrained_mean``, ``pretrained_sd``, ``scratch_mean``, ``scratch_sd``, ``gap_mean``
    (mean over seeds of pretrained - scratch, same subset), ``gap_sd``, the per-seed
    ``pretrained_values`` and ``scratch_values`` (same seed order), and ``verdict``
    (:func:`medlab.evidence.verdict`, paired by seed; None with one seed). An sd of one run is 0.
    """
    from medlab.evidence import mean_sd_by, verdict

    if not rows:
        raise ValueError("rows is empty")
    out = []
    for fraction in sorted({r["fraction"] for r in rows}):
        by_seed = {}
        for r in rows:
            if r["fraction"] == fraction:
                by_seed.setdefault(r["seed"], {})[r["start"]] = r
        paired = [s for s in by_seed.values() if set(s) == set(STARTS)]
        if not paired:
            raise ValueError(f"fraction {fraction}: no seed has both a pretrained and a scratch run")
        runs = [{"start": start, key: s[start][key]} for start in STARTS for s in paired]
        runs += [{"start": "gap", key: s["pretrained"][key] - s["scratch"][key]} for s in paired]
        entry = {"fraction": fraction, "labels": paired[0]["pretrained"]["labels"], "runs": len(paired)}
        for group in mean_sd_by(runs, "start", key):
            entry[f"{group['start']}_mean"], entry[f"{group['start']}_sd"] = group["mean"], group["sd"]
            entry[f"{group['start']}_values"] = group["values"]
        entry["verdict"] = (verdict(entry["pretrained_values"], entry["scratch_values"],
                                    ("pretrained", "from scratch"), key)
                            if len(paired) > 1 else None)
        out.append(entry)
    return out


def fraction_table(by_fraction, what="test ROC-AUC"):
    """Rows of :func:`mean_sd_by_fraction` as text, one line per fraction.

    Mean ± sd over seeds (one seed: its figure alone, no ±) and, with several seeds, the
    paired verdict of pretrained against from scratch (:func:`medlab.evidence.verdict`).
    """
    from medlab.evidence import mean_sd_text

    several = any(e["runs"] > 1 for e in by_fraction)
    header = [f"{'labels':>14}", f"{'pretrained ' + what:>24}", f"{'from scratch':>17}",
              f"{'pretrained - scratch':>22}"]
    lines = [" | ".join(header + (["paired verdict"] if several else []))]
    for e in by_fraction:
        gaps = [p - s for p, s in zip(e["pretrained_values"], e["scratch_values"])]
        cells = [f"{100 * e['fraction']:g} % ({e['labels']})",
                 mean_sd_text(e["pretrained_values"], 3), mean_sd_text(e["scratch_values"], 3),
                 ("+" if e["gap_mean"] >= 0 else "") + mean_sd_text(gaps, 3)]
        cells = [c.rjust(len(h)) for c, h in zip(cells, header)]
        if several:
            cells.append(e["verdict"].word if e["verdict"] is not None else "one seed: none")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


__all__ = ["FRACTIONS", "STARTS",
           "mean_sd_by_fraction", "pretraining_curve", "fraction_table"]
