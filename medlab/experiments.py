"""Small, fast hyperparameter experiments for lesson 10: trials over seeds, grids.

=====================================  ===================================================
``SETTINGS``                           the default settings of a trial
``small_cnn(input_shape, ...)``        a narrow CNN whose kernel, activation and width vary
``learning_rate_schedule(name, ...)``  constant, step decay, cosine, warm-up (Keras schedules)
``trial(data, epochs, seed, **s)``     train it on arrays -> :class:`Trial` (AUCs, losses)
``Runner(data, epochs, seed)``         ``trial`` with its results remembered by settings
``grid(trial_fn, seeds=3, **axes)``    every combination of ``axes`` x seeds -> tidy rows
``cross_validate(data, k, ...)``       k-fold on the training split -> one row per fold
=====================================  ===================================================

A trial trains a network of a few hundred weights on a few hundred small images for a few
epochs. Building and tracing a Keras training step costs about a second, far more than the
training itself, so :func:`trial` keeps one compiled network per architecture, optimizer and
loss and, for every trial, copies in the initial weights of a network freshly built with the
trial's seed and resets the optimizer: the result is the same as with a new network
(``tests/test_experiments.py`` checks it), in a fraction of the time. Learning rate, schedule,
batch size, epochs and data change without retracing.
``medlab.course.runs.sweep`` runs the real lesson.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, tf

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
#: Names accepted by ``optimizer``, ``loss``, ``activation`` and ``schedule``.
OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSSES = ("binary_crossentropy", "mse")
ACTIVATIONS = ("relu", "sigmoid", "tanh")
SCHEDULES = ("constant", "step", "cosine", "warmup")
#: Settings that change the network, optimizer or loss (a new compiled network each).
ARCHITECTURE = ("kernel_size", "activation", "width", "batch_norm", "dropout", "l2", "augment",
                "optimizer", "loss")


def small_cnn(input_shape, kernel_size=3, activation="relu", width=8, batch_norm=True, dropout=0.0,
              l2=0.0, augment=False, seed=None, name="small_cnn"):
    """[Conv(k, width) -> BN -> act -> MaxPool 2] -> same with 2 width -> Flatten -> Dense 1 sigmoid.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
    kernel_size : int, odd
        Side of both convolution kernels ("same" padding, so any odd size fits).
    activation : str
        Hidden activation, one of :data:`ACTIVATIONS`.
    width : int
        Filters of the first convolution.
    batch_norm : bool
        Batch normalisation (momentum 0.9) between each convolution and its activation:
        it makes a network this small learn in a few epochs.
    dropout : float in [0, 1)
        Dropout rate before the output unit (0: no dropout layer).
    l2 : float >= 0
        L2 penalty on every kernel (0: none); Keras adds ``l2 * sum(w ** 2)`` to the loss.
    augment : bool
        Start with random shifts of up to 10 % and zooms (identity at inference).
    seed : int, optional
        Seeds every initializer and random layer, so the initial weights and the dropout and
        augmentation draws depend on ``seed`` alone (no global seeding needed). Default:
        Keras' global random state.

    Returns
    -------
    keras.Sequential, uncompiled, (N, H, W, C) -> (N, 1) probabilities.
    """
    validate.choice("activation", activation, ACTIVATIONS)
    kernel_size = validate.integer("kernel_size", kernel_size, low=1, odd=True)
    width = validate.integer("width", width, low=1)
    dropout = validate.number("dropout", dropout, low=0.0, high=0.99)
    l2 = validate.number("l2", l2, low=0.0)
    seed = validate.integer("seed", seed, allow_none=True)
    layers = keras.layers
    penalty = keras.regularizers.L2(l2) if l2 else None

    def seeded(index):  # a distinct seed per initializer and random layer
        return None if seed is None else 1000 * seed + index

    def kernel(index):
        return keras.initializers.GlorotUniform(seed=seeded(index))

    stack = [keras.Input(shape=tuple(int(s) for s in input_shape))]
    if augment:
        stack += [layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seeded(10), name="shift"),
                  layers.RandomZoom(0.1, fill_mode="nearest", seed=seeded(11), name="zoom")]
    for tag, filters in (("1", width), ("2", 2 * width)):
        stack.append(layers.Conv2D(filters, kernel_size, padding="same", kernel_regularizer=penalty,
                                   kernel_initializer=kernel(int(tag)), name=f"conv{tag}"))
        if batch_norm:
            stack.append(layers.BatchNormalization(momentum=0.9, name=f"bn{tag}"))
        stack += [layers.Activation(activation, name=f"{activation}{tag}"),
                  layers.MaxPooling2D(2, name=f"pool{tag}")]
    stack.append(layers.Flatten(name="flatten"))
    if dropout:
        stack.append(layers.Dropout(dropout, seed=seeded(12), name="dropout"))
    stack.append(layers.Dense(1, activation="sigmoid", kernel_regularizer=penalty, kernel_initializer=kernel(3),
                              name="output"))
    return keras.Sequential(stack, name=name)


def learning_rate_schedule(name, learning_rate, total_steps):
    """A Keras learning-rate schedule over ``total_steps`` weight updates.

    ``"constant"``: ``learning_rate`` throughout. ``"step"`` (step decay): divided by 10
    after half of the steps and again after three quarters. ``"cosine"``: from
    ``learning_rate`` down to 0 along half a cosine. ``"warmup"``: up from 0 in a straight
    line over the first quarter of the steps, then constant.

    Parameters
    ----------
    name : str, one of :data:`SCHEDULES`
    learning_rate : float > 0
    total_steps : int >= 1
        Epochs x batches per epoch.

    Returns
    -------
    keras.optimizers.schedules.LearningRateSchedule
        Call it with a step number (0-based) to get that step's rate.
    """
    validate.choice("schedule", name, SCHEDULES)
    rate = validate.number("learning_rate", learning_rate, low=0.0)
    total = validate.integer("total_steps", total_steps, low=1)
    schedules = keras.optimizers.schedules
    if name == "constant":
        return schedules.PiecewiseConstantDecay([total], [rate, rate])
    if name == "step":
        # PiecewiseConstantDecay keeps values[i] up to and including boundaries[i]
        last_full, last_tenth = max(0, total // 2 - 1), max(1, (3 * total) // 4 - 1)
        return schedules.PiecewiseConstantDecay([last_full, last_tenth], [rate, rate / 10, rate / 100])
    if name == "cosine":
        return schedules.CosineDecay(rate, decay_steps=total)
    warm = max(1, total // 4)
    return schedules.CosineDecay(0.0, decay_steps=max(1, total - warm), alpha=1.0, warmup_target=rate,
                                 warmup_steps=warm)


def _probabilities(model, images, chunk=1024):
    """Class-1 probabilities (N,) in inference mode (dropout, augmentation off; BN moving stats).

    Every call to the compiled predict step gets ``chunk`` images (the last chunk padded with
    zeros), so one traced step serves every split and data set size.
    """
    parts = []
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        padded = np.zeros((chunk,) + part.shape[1:], dtype=np.float32)
        padded[:len(part)] = part
        parts.append(np.asarray(model.predict_on_batch(padded)).reshape(-1)[:len(part)])
    return np.concatenate(parts).astype(np.float64)


def _curves_after_epoch(model, data, curves):
    """Append loss and AUC on the training and validation images, inference mode, to ``curves``."""
    from medlab.metrics import auc, binary_cross_entropy

    for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
        p = _probabilities(model, x)
        curves.setdefault(f"{split}_loss", []).append(binary_cross_entropy(y, p))
        curves.setdefault(f"{split}_auc", []).append(auc(y, p))


def _train(model, x, y, epochs, batch_size, rates, seed, data=None):
    """Shuffled mini-batch training with Keras' compiled step; the rate follows ``rates``.

    Each epoch visits the images in a new order (NumPy generator seeded with ``seed``) in
    batches of ``batch_size`` (the last one smaller). Returns the epoch losses as Keras'
    ``fit`` reports them (mean over the epoch's images, training mode) and, when ``data``
    is given, the inference-mode curves.
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    losses, curves, step = [], {}, 0
    rate = model.optimizer.learning_rate
    for _ in range(epochs):
        model.reset_metrics()
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            rate.assign(rates[step])
            batch = order[start:start + batch_size]
            logs = model.train_on_batch(x[batch], y[batch], return_dict=True)
            step += 1
        losses.append(float(logs["loss"]))
        if data is not None:
            _curves_after_epoch(model, data, curves)
    return losses, curves


def _optimizer(name, learning_rate):
    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
               "rmsprop": keras.optimizers.RMSprop}
    validate.choice("optimizer", name, OPTIMIZERS)
    return classes[name](learning_rate=float(learning_rate))


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
        model.compile(optimizer=_optimizer(s["optimizer"], s["learning_rate"]), loss=s["loss"])
        _COMPILED[key] = model
    for target, value in zip(model.variables, _INITIAL[start], strict=True):
        target.assign(value)
    for variable in model.optimizer.variables:  # iterations, moments: back to 0
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    return model


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
    schedule = learning_rate_schedule(s["schedule"], s["learning_rate"], steps)
    rates = np.array([float(schedule(step)) for step in range(steps)], dtype=np.float32)
    start = time.perf_counter()
    losses, curves = _train(model, data.x_train, data.y_train, epochs, batch_size, rates, seed,
                            data if track else None)
    seconds = time.perf_counter() - start
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


__all__ = ["ACTIVATIONS", "ARCHITECTURE", "LOSSES", "OPTIMIZERS", "Runner", "SCHEDULES", "SETTINGS", "Trial",
           "cross_validate", "grid", "learning_rate_schedule", "small_cnn", "trial"]
