"""Small, fast hyperparameter experiments for lessons 14 and 15 (the article's FAQ): trials over seeds, grids.

=====================================  ===================================================
``SETTINGS``                           the default settings of a trial
``trial(data, epochs, seed, **s)``     train :func:`medlab.models.small_cnn` on arrays ->
                                       :class:`Trial` (AUCs, losses)
``Runner(data, epochs, seed)``         ``trial`` with its results remembered by settings
``grid(trial_fn, seeds=3, **axes)``    every combination of ``axes`` x seeds -> tidy rows
``cross_validate(data, k, ...)``       k-fold on the training split -> one row per fold
``preprocess(data, how)``              the same images with other grey-level scaling
=====================================  ===================================================

A trial trains a network of a few hundred weights on a few hundred small images for a few
epochs. Building and tracing a Keras training step costs about a second, far more than the
training itself, so :func:`trial` keeps one compiled network per architecture, optimizer and
loss and, for every trial, restarts it (:func:`medlab.engine.fit.restart`) from the initial
weights of a network freshly built with the trial's seed: the result is the same as with a
new network (``tests/test_experiments.py`` checks it), in a fraction of the time. Learning
rate, schedule (:mod:`medlab.engine.schedules`), batch size, epochs and data change without
retracing.
``medlab.course.runs.sweep`` runs the real lesson.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from medlab import validate
from medlab._tensorflow import tf
from medlab.engine.callbacks import EpochEnd, StepRates
from medlab.engine.fit import ShuffledBatches, fit, restart
from medlab.engine.predict import predict
from medlab.engine.schedules import OPTIMIZERS, SCHEDULES, optimizer, schedule_rates
from medlab.models import small_cnn

#: The settings a trial varies, and their defaults.
SETTINGS = {
    "kernel_size": 3,
    "activation": "relu",
    "learning_rate": 1e-3,
    "schedule": "constant",
    "batch_size": 32,
    "optimizer": "adam",
    "loss": "binary_crossentropy",
    "width": 8,
    "batch_norm": True,
    "dropout": 0.0,
    "l2": 0.0,
    "augment": False,
}
#: Names accepted by ``loss`` (``optimizer``: :data:`medlab.engine.schedules.OPTIMIZERS`,
#: ``schedule``: :data:`medlab.engine.schedules.SCHEDULES`, ``activation``:
#: :data:`medlab.models.ACTIVATIONS`).
LOSSES = ("binary_crossentropy", "mse")
#: Settings that change the network, optimizer or loss (a new compiled network each).
ARCHITECTURE = ("kernel_size", "activation", "width", "batch_norm", "dropout", "l2", "augment",
                "optimizer", "loss")


def _probabilities(model, images):
    """Class-1 probabilities (N,), float64, in inference mode (dropout, augmentation off)."""
    return predict(model, images).reshape(-1).astype(np.float64)


def _curves_after_epoch(model, data, curves):
    """Append loss and AUC on the training and validation images, inference mode, to ``curves``."""
    from medlab.metrics import auc, binary_cross_entropy

    for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
        p = _probabilities(model, x)
        curves.setdefault(f"{split}_loss", []).append(binary_cross_entropy(y, p))
        curves.setdefault(f"{split}_auc", []).append(auc(y, p))


#: Compiled networks by (input shape, architecture settings), reused by every trial.
_COMPILED = {}
#: Initial values of every variable by (input shape, network settings, seed): many trials share them.
_INITIAL = {}


def _network(input_shape, s, seed):
    """The compiled network for these settings, holding freshly seeded initial weights."""
    arch = {name: s[name] for name in ARCHITECTURE if name not in ("optimizer", "loss")}
    start = (tuple(input_shape), tuple(arch.items()), seed)
    if start not in _INITIAL:  # the seed's initial weights (and dropout/augmentation RNG state)
        _INITIAL[start] = [v.numpy() for v in small_cnn(input_shape, **arch, seed=seed).variables]
    key = (tuple(input_shape),) + tuple(s[name] for name in ARCHITECTURE)
    model = _COMPILED.get(key)
    if model is None:
        model = small_cnn(input_shape, **arch)
        model.compile(optimizer=optimizer(s["optimizer"], s["learning_rate"]), loss=s["loss"])
        _COMPILED[key] = model
    return restart(model, _INITIAL[start])


@dataclass
class Trial:
    """What one trial gives back.

    Attributes
    ----------
    settings : dict
        The full settings (defaults filled in).
    seed, epochs : int
    history : dict of str -> list of float
        ``loss`` per epoch as Keras reports it while training: averaged over the epoch's
        batches, with dropout and augmentation on and the L2 penalty added.
    curves : dict of str -> list of float
        With ``track=True``: ``train_loss``, ``val_loss`` (cross-entropy) and ``train_auc``,
        ``val_auc`` after every epoch, all in inference mode; else empty.
    train_loss, val_loss : float
        Cross-entropy of the final weights in inference mode (the same yardstick for both
        splits and every setting, whatever loss was trained).
    train_auc, val_auc : float
        Exact ROC AUC (:func:`medlab.metrics.auc`) of the final weights.
    val_scores : array (N_val,)
        Probabilities of class 1 on the validation images.
    parameters : int
        Trainable weights of the network.
    seconds : float
        Wall-clock seconds of ``fit`` (volatile: never compare it across machines).
    """

    settings: dict
    seed: int
    epochs: int
    history: dict
    curves: dict
    train_loss: float
    val_loss: float
    train_auc: float
    val_auc: float
    val_scores: np.ndarray = field(repr=False)
    parameters: int
    seconds: float

    def row(self):
        """Settings and results as one flat dict (for :mod:`medlab.evidence`)."""
        return {**self.settings, "seed": self.seed, "epochs": self.epochs, "train_loss": self.train_loss,
                "val_loss": self.val_loss, "fit_loss": self.history["loss"][-1], "train_auc": self.train_auc,
                "val_auc": self.val_auc, "parameters": self.parameters, "seconds": self.seconds}


def _settings(settings):
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; expected some of {sorted(SETTINGS)}")
    s = {**SETTINGS, **settings}
    validate.choice("loss", s["loss"], LOSSES)
    validate.choice("optimizer", s["optimizer"], OPTIMIZERS)
    validate.choice("schedule", s["schedule"], SCHEDULES)
    validate.number("learning_rate", s["learning_rate"], low=0.0)
    validate.integer("batch_size", s["batch_size"], low=1)
    return s


def trial(data, epochs=3, seed=0, track=False, **settings):
    """Train :func:`small_cnn` on ``data``'s train split; evaluate on its validation split.

    Parameters
    ----------
    data : ClassificationData
        From :func:`medlab.data.load_classification_data`; only train and val are used.
    epochs : int >= 1
    seed : int
        Seeds the initial weights, the batches and dropout/augmentation: two trials with the
        same seed differ only by their settings.
    track : bool
        Also record :attr:`Trial.curves` (one pass over both splits per epoch).
    **settings
        Any of :data:`SETTINGS` (others keep their defaults).

    Returns
    -------
    Trial
    """
    from medlab.metrics import auc, binary_cross_entropy

    epochs = validate.integer("epochs", epochs, low=1)
    seed = validate.integer("seed", seed)
    s = _settings(settings)
    tf.config.experimental.enable_op_determinism()  # same seed, same machine: same figures
    model = _network(data.x_train.shape[1:], s, seed)
    batch_size = int(s["batch_size"])
    steps = epochs * -(-len(data.x_train) // batch_size)
    callbacks = [StepRates(schedule_rates(s["schedule"], s["learning_rate"], steps))]
    curves = {}
    if track:
        callbacks.append(EpochEnd(lambda network: _curves_after_epoch(network, data, curves)))
    # batches in a NumPy-seeded new order every epoch; the rate of every step set in advance
    batches = ShuffledBatches(data.x_train, data.y_train, batch_size, epochs, seed)
    done = fit(model, batches, epochs=epochs, callbacks=callbacks)
    losses, seconds = done.history["loss"], done.seconds
    p_train, p_val = _probabilities(model, data.x_train), _probabilities(model, data.x_val)
    return Trial(s, seed, epochs, {"loss": losses}, curves, binary_cross_entropy(data.y_train, p_train),
                 binary_cross_entropy(data.y_val, p_val), auc(data.y_train, p_train), auc(data.y_val, p_val),
                 p_val.astype(np.float32), int(sum(np.prod(w.shape) for w in model.trainable_weights)), seconds)


class Runner:
    """``trial`` with fixed data, epochs and seed, remembering every result by its settings.

    ``run = Runner(data, epochs=3, seed=0)``; ``run(kernel_size=5)`` trains once, and any
    later call with the same full settings, seed and epochs (``run(kernel_size=5,
    activation="relu")``) returns the same :class:`Trial` without training again, so
    sections that share a setting (the baseline above all) share its runs. ``seed=``,
    ``epochs=`` and ``track=`` override the runner's own for one call. Use it as ``grid``'s
    ``trial_fn``.
    """

    def __init__(self, data, epochs=3, seed=0):
        self.data, self.epochs, self.seed = data, epochs, seed
        self.done = {}

    def __call__(self, seed=None, epochs=None, track=False, **settings):
        seed = self.seed if seed is None else seed
        epochs = self.epochs if epochs is None else epochs
        full = _settings(settings)
        key = (seed, epochs) + tuple(sorted(full.items()))
        if key not in self.done or (track and not self.done[key].curves):
            self.done[key] = trial(self.data, epochs=epochs, seed=seed, track=track, **settings)
        return self.done[key]


def grid(trial_fn, seeds=None, **axes):
    """Call ``trial_fn(**combination)`` for every combination of ``axes`` (and seed).

    Parameters
    ----------
    trial_fn : callable
        Keyword arguments -> :class:`Trial` (or a dict); e.g. a :class:`Runner`.
    seeds : int or sequence of int, optional
        Train every combination once per seed (an int n: seeds 0 to n - 1), passed as
        ``seed=``; the rows then carry a ``seed`` column. Default: one call, no seed given.
    **axes : name -> sequence of values
        First name varies slowest; seeds vary fastest.

    Returns
    -------
    list of dict
        A tidy table: one row per combination and seed, the swept values (and ``seed``),
        then the trial's results.
    """
    if not axes or any(len(values) == 0 for values in axes.values()):
        raise ValueError("grid: expected at least one axis with at least one value")
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = list(range(validate.integer("seeds", seeds, low=1)))
    elif seeds is not None:
        seeds = [validate.integer("seeds", s) for s in seeds]
        if not seeds:
            raise ValueError("grid: seeds is empty; expected at least one seed")
    names = list(axes)
    rows = []
    for values in itertools.product(*axes.values()):
        combination = dict(zip(names, values))
        for seed in ([None] if seeds is None else seeds):
            keys = combination if seed is None else {**combination, "seed": seed}
            result = trial_fn(**keys)
            result = result.row() if hasattr(result, "row") else dict(result)
            rows.append({**keys, **{k: v for k, v in result.items() if k not in keys}})
    return rows


def cross_validate(data, k=5, epochs=3, split_seed=0, trial_fn=None, **settings):
    """k-fold cross-validation on the training split; the validation and test splits stay unused.

    The training images are cut into ``k`` folds of equal class balance
    (``sklearn.model_selection.StratifiedKFold``, shuffled with ``split_seed``); each fold in
    turn is held out and scored while the network trains on the other k - 1.

    Parameters
    ----------
    data : ClassificationData
    k : int >= 2
    epochs : int >= 1
    split_seed : int
        Seeds the folds and the trials.
    trial_fn : callable, optional
        ``trial_fn(data, epochs=..., seed=..., **settings)`` -> :class:`Trial` or dict;
        default :func:`trial`.
    **settings
        Passed to every trial.

    Returns
    -------
    list of dict
        One row per fold: ``fold``, ``split_seed``, ``n_train``, ``n_held_out`` and the
        trial's results (``val_auc`` is the held-out fold's AUC).
    """
    from sklearn.model_selection import StratifiedKFold

    from medlab.data import ClassificationData

    k = validate.integer("k", k, low=2)
    split_seed = validate.integer("split_seed", split_seed)
    if trial_fn is not None and not callable(trial_fn):
        raise TypeError(f"cross_validate: trial_fn must be callable like experiments.trial, got {trial_fn!r}")
    counts = np.bincount(np.asarray(data.y_train, dtype=np.int64), minlength=2)
    if counts.min() < k:
        raise ValueError(f"cross_validate: k={k} folds need at least {k} training images of each class, "
                         f"got {counts.tolist()}")
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=int(split_seed))
    rows = []
    for fold, (train, held_out) in enumerate(folds.split(data.x_train, data.y_train)):
        part = ClassificationData(data.x_train[train], data.y_train[train], data.x_train[held_out],
                                  data.y_train[held_out], data.x_test[:0], data.y_test[:0],
                                  f"{data.name} fold {fold}", data.class_names)
        result = (trial_fn or trial)(part, epochs=epochs, seed=int(split_seed), **settings)
        result = result.row() if hasattr(result, "row") else dict(result)
        rows.append({"fold": fold, "split_seed": int(split_seed), "n_train": len(train),
                     "n_held_out": len(held_out), **result})
    return rows


#: How :func:`preprocess` scales the grey levels: raw 8-bit values, [0, 1], per-image z-score.
PREPROCESSING = ("raw 0-255", "0-1", "per-image z")


def preprocess(data, how):
    """The same X-rays, labels and splits with another grey-level scaling (the FAQ's "which preprocessing?").

    Parameters
    ----------
    data : ClassificationData
        Images float32 (N, S, S, 1) in [0, 1], as :func:`medlab.data.load_classification_data` gives.
    how : str, one of :data:`PREPROCESSING`
        ``"0-1"``: unchanged (grey level / 255, the loader's scaling); ``"raw 0-255"``: times 255,
        the 8-bit values of the files; ``"per-image z"``: each image minus its own mean, divided by
        its own sd (its brightness and contrast removed; no unit: sds from the image's mean).

    Returns
    -------
    ClassificationData
        Same shapes, labels and name, images float32.
    """
    import dataclasses

    validate.choice("how", how, PREPROCESSING)

    def scaled(x):
        x = np.asarray(x, dtype=np.float32)
        if how == "raw 0-255":
            return x * np.float32(255)
        if how == "per-image z" and len(x):
            axes = tuple(range(1, x.ndim))
            sd = x.std(axis=axes, keepdims=True)
            return ((x - x.mean(axis=axes, keepdims=True)) / np.maximum(sd, np.float32(1e-6))).astype(np.float32)
        return x

    return dataclasses.replace(data, x_train=scaled(data.x_train), x_val=scaled(data.x_val), x_test=scaled(data.x_test))


__all__ = ["ARCHITECTURE", "LOSSES", "PREPROCESSING", "Runner", "SETTINGS", "Trial", "cross_validate", "grid",
           "preprocess", "trial"]
