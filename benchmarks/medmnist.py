"""Any 2-D MedMNIST file: the recipe (#30), the kit's earlier recipe and the article's network.

    python benchmarks/medmnist.py --data medlab/data/files/pneumoniamnist.npz
    python benchmarks/medmnist.py --data data/bloodmnist.npz --budget 120 --seed 0

Binary, multi-class and ordinal label sets (one label column), grey (N, H, W) or RGB
(N, H, W, 3) images; multi-label files (ChestMNIST) are refused. Prints one JSON line per
model (stdout) with ``model``, ``test_auc``, ``test_acc`` and their 95 % bootstrap intervals
(``test_auc_ci95``, ``test_acc_ci95``: ``--n-boot`` resamples of the test split, stratified by
class), ``train_seconds`` and the settings used, then one line of paired differences: the
recipe minus each baseline on the same resamples. The figures are those MedMNIST reports:
``test_auc`` is the binary AUC for two classes, else the mean of the one-vs-rest AUCs
(``medlab.metrics.multiclass_auc``); ``test_acc`` the accuracy of the calls. Ordinal sets are
scored as multi-class, as MedMNIST does.

``recipe`` (#30; :data:`RECIPE`, the same for every file): ``--members`` (1) networks of the
kit's kind (:func:`medlab.models.improved_cnn`, width 16, augmentation without flips, dropout
0.3), seeds ``--seed``, ``--seed + 1``, ..., each trained with Adam 3e-3 under its own cosine
decay over ``--epochs`` (50), batch 64, balanced class weights, each batch's images first
moved by random crops of ``--crop`` (2) pixels (:func:`medlab.data.random_crops`: edge-padded,
cut back at a random offset). One network of 50 epochs had a lower validation cross-entropy
than two of 25 (the same training time) for seeds 0 and 1, and than one of 40 or three of 17
(seed 0); the crops lowered it for seeds 0 and 1, where mixup (``--mixup``) and width 24
over 35 epochs (``--width``) did not, and label smoothing (``--label-smoothing``, judged by
the validation AUC and held-out accuracy) added to the crops lowered the held-out accuracy
for seed 1: see benchmarks/README.md. Training must end 10 s
(``--reserve``) before ``--budget`` so that inference fits in it too (``total_seconds``): once
three epochs after the first have been timed, the epochs per network shrink when the median
epoch time says they would not fit (the schedule shortened with them; ``epochs_run``, ``epochs_planned``), so a loaded
machine trains fewer epochs instead of overrunning; ``--fixed-epochs`` keeps them (the budget
still stops training). Then, on the validation split only:

* the predictor with the lowest validation cross-entropy of four: the mean over the networks
  of their best epochs' predictions (best validation AUC, as ``improved_cnn``) or of their
  last ``--snapshots`` (5) epochs' (a snapshot ensemble along each cosine's tail), each alone
  or averaged over test-time shifts of ``--tta-shift`` (2) pixels up, down, left and right
  (no flips: a mirrored chest film shows the heart on the wrong side);
* the call rule with the best accuracy on held-out halves of val (200 random stratified
  halves, fitted on one, scored on the other, both ways round): two classes, threshold 0.5,
  ``prior`` (0.5 once the training prevalence is restored, which undoes the balanced class
  weights), Youden's J, or the threshold of highest accuracy; several classes, argmax or
  ``prior`` (argmax of the probabilities times the training class shares).

Every choice is printed with the figures it was made by (``choices_on_val``, with each network
alone for comparison). The test split is used once, for the figures, and for one diagnostic
that chooses nothing (``diagnostic_never_used_for_any_choice``): the accuracy of the best
threshold found on the test split itself for the chosen predictor (:func:`oracle_accuracy`: every
cut of the ranking, calling everyone negative or positive included), the most any threshold
could get from that ranking. ``--val-only`` (with ``--only recipe``) prints the choices on val
and no test figure, for choosing the recipe's settings.

``improved_cnn`` (the recipe before #30, :data:`KIT`): the same network and training over
``--kit-epochs`` (30) with at most ``--budget`` seconds of training, the weights of the epoch
with the best validation AUC (to 4 decimals; ties, as when the AUC saturates at 1, go to the
better validation accuracy), and for two classes the Youden threshold on val.

``seed_cnn`` (the article's network, with a softmax head for several classes) with the
article's settings: Adam 1e-3, batch 32, 10 epochs, the last epoch's weights, threshold 0.5
(argmax), no class weights, no augmentation.

Seeds are fixed and TensorFlow's ops deterministic, so two runs on one machine print the same
figures unless the clock changed the training: the budget cut it short (``budget_hit``) or
the recipe's epochs shrank to fit (``epochs_run`` below ``epochs_planned``; never with
``--fixed-epochs``). ``train_seconds`` is wall-clock time and depends on the load
(``load_1min``: the 1-minute load average when training started, ``load_1min_end`` for the
recipe when it ended; ``cores``: CPUs this process may use).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from _common import ARTICLE, load_average

import medlab  # medlab.seed_everything; TensorFlow comes quietly with keras, below
from medlab import keras, metrics, ops
from medlab.data import load_medmnist, mixup_batches
from medlab.models import improved_cnn, seed_cnn
from medlab.engine.callbacks import BestWeights, EpochEnd, EpochPlan, TimeBudget
from medlab.engine.schedules import AdjustableCosine

#: The kit's recipe: the same for every data set.
KIT = {"width": 16, "dropout": 0.3, "learning_rate": 3e-3, "batch_size": 64, "augment": True,
       "class_weights": "balanced", "schedule": "cosine",
       "select": "epoch of the best val AUC (4 decimals), ties by val accuracy"}


def prepare(path):
    """Read a MedMNIST file -> float images in [0, 1] (N, H, W, C), int labels (N,), n_classes.

    Raises
    ------
    ValueError
        Naming the file: a multi-label file, a file with fewer than two classes, or a
        negative label.
    """
    splits = load_medmnist(path)
    labels = {name: split.labels for name, split in splits.items()}
    if any(y.shape[1] != 1 for y in labels.values()):
        raise ValueError(f"{path}: labels have {labels['train'].shape[1]} columns (a multi-label set, "
                         "such as ChestMNIST); this benchmark takes one label per image")
    if min(int(y.min()) for y in labels.values()) < 0:
        raise ValueError(f"{path}: a label is negative; expected class numbers 0, 1, ...")
    n_classes = int(max(int(y.max()) for y in labels.values())) + 1
    if n_classes < 2:
        raise ValueError(f"{path}: every label is 0; expected at least two classes")
    out = {}
    for name, split in splits.items():
        x = split.images.astype(np.float32) / np.float32(255.0)
        out[name] = (x[..., None] if x.ndim == 3 else x, split.labels[:, 0].astype(np.int64))
    return out, n_classes


def balanced_weights(labels, n_classes):
    """``n / (K n_c)`` for each class present: every class weighs the same in the loss."""
    counts = np.bincount(labels, minlength=n_classes)
    return {c: float(len(labels) / (n_classes * counts[c])) for c in range(n_classes) if counts[c]}


def probabilities(model, x, batch_size=512):
    """(N,) probabilities of class 1 for a sigmoid model, (N, K) for a softmax one."""
    p = np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                        for i in range(0, len(x), batch_size)])
    return p[:, 0] if p.shape[1] == 1 else p


def figures(y, p, threshold):
    """test_auc and test_acc as MedMNIST reports them (4 decimals)."""
    calls = (p >= threshold).astype(np.int64) if p.ndim == 1 else np.argmax(p, axis=1)
    return {"test_auc": round(metrics.multiclass_auc(y, p), 4), "test_acc": round(float(np.mean(calls == y)), 4)}


def selection_score(y, p):
    """The validation AUC rounded to 4 decimals, ties broken by accuracy (0.5 or argmax).

    AUC differences below 1e-4 are noise; on an easy set the AUC saturates at 1.0 from an
    early epoch, where the calls may still be poor, so the accuracy decides between such epochs.
    """
    calls = (p >= 0.5).astype(np.int64) if p.ndim == 1 else np.argmax(p, axis=1)
    return round(metrics.multiclass_auc(y, p), 4) + 1e-6 * float(np.mean(calls == y))


class ValidationScore(keras.callbacks.Callback):
    """Adds ``val_selection`` (:func:`selection_score` on the validation split) to the logs."""

    def __init__(self, x_val, y_val):
        super().__init__()
        self.x_val, self.y_val = x_val, y_val

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_selection"] = selection_score(self.y_val, probabilities(self.model, self.x_val))


def _compile(model, n_classes, learning_rate, label_smoothing=0.0, soft=False):
    """Adam and the cross-entropy; ``label_smoothing`` (Keras's) or ``soft`` targets (mixup)
    need one-hot targets for several classes (:func:`_targets`)."""
    if n_classes == 2:
        loss = (keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing) if label_smoothing
                else "binary_crossentropy")
    elif label_smoothing or soft:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    else:
        loss = "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss)


def _targets(y, n_classes, one_hot=False):
    if n_classes == 2:
        return y.astype(np.float32)
    return np.eye(n_classes, dtype=np.float32)[y] if one_hot else y


def train_kit(data, n_classes, epochs, budget, seed):
    """The kit's recipe: best validation-AUC epoch, Youden threshold on validation (two classes)."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    medlab.seed_everything(seed)
    model = improved_cnn(x_train.shape[1:], width=KIT["width"], dropout=KIT["dropout"], n_classes=n_classes)
    steps = -(-len(y_train) // KIT["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(KIT["learning_rate"], decay_steps=epochs * steps)
    _compile(model, n_classes, schedule)
    stopper, best = TimeBudget(budget), BestWeights("val_selection", "max")
    load = load_average()
    medlab.seed_everything(seed)
    started = time.perf_counter()
    history = model.fit(x_train, _targets(y_train, n_classes), epochs=epochs, batch_size=KIT["batch_size"],
                        shuffle=True, verbose=0, class_weight=balanced_weights(y_train, n_classes),
                        callbacks=[stopper, ValidationScore(x_val, y_val), best])
    seconds = time.perf_counter() - started
    p_val = probabilities(model, x_val)
    threshold = metrics.choose_threshold(y_val, p_val, rule="youden") if n_classes == 2 else None
    p_test = probabilities(model, x_test)
    return {
        "model": "improved_cnn", **figures(y_test, p_test, threshold), "_p_test": p_test,
        "_calls": calls_by_rule(p_test, "argmax", threshold),
        "train_seconds": round(seconds, 1), "val_auc": round(metrics.multiclass_auc(y_val, p_val), 4),
        "epochs": len(history.history["loss"]), "best_epoch": best.best_epoch + 1,
        "threshold": None if threshold is None else round(threshold, 4),
        "settings": {**KIT, "epochs": epochs, "budget_s": budget, "seed": seed},
        "budget_hit": stopper.stopped, "load_1min": load, "cores": ops._usable_cores(),
    }


def train_article(data, n_classes, seed):
    """The article's network and settings: the last epoch, threshold 0.5 (argmax)."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    medlab.seed_everything(seed)
    model = seed_cnn(x_train.shape[1:], n_classes=n_classes)
    _compile(model, n_classes, ARTICLE["learning_rate"])
    load = load_average()
    medlab.seed_everything(seed)
    started = time.perf_counter()
    model.fit(x_train, _targets(y_train, n_classes), epochs=ARTICLE["epochs"], batch_size=ARTICLE["batch_size"],
              shuffle=True, verbose=0)
    seconds = time.perf_counter() - started
    p_val = probabilities(model, x_val)
    threshold = ARTICLE["threshold"] if n_classes == 2 else None
    p_test = probabilities(model, x_test)
    return {
        "model": "seed_cnn", **figures(y_test, p_test, threshold), "_p_test": p_test,
        "_calls": calls_by_rule(p_test, "argmax", threshold),
        "train_seconds": round(seconds, 1), "val_auc": round(metrics.multiclass_auc(y_val, p_val), 4),
        "epochs": ARTICLE["epochs"], "threshold": threshold,
        "settings": {**ARTICLE, "seed": seed}, "load_1min": load, "cores": ops._usable_cores(),
    }


# ------------------------------------------------------------------ the recipe (#30)
#: The recipe for any 2-D MedMNIST file: the kit's network and training, then choices on val.
RECIPE = {"network": "improved_cnn", "width": 16, "dropout": 0.3, "learning_rate": 3e-3, "batch_size": 64,
          "augment": "shift, rotation, zoom, contrast; no flips", "class_weights": "balanced in training",
          "schedule": "cosine over --epochs, each network", "members": 1, "snapshots": 5, "tta_shift_px": 2,
          "label_smoothing": 0.0, "mixup_alpha": 0.0, "crop_px": 2}

#: Epochs of the recipe (the cosine schedule's length), chosen on val at a fixed count.
RECIPE_EPOCHS = 50

#: Seconds of the budget the recipe leaves for its inference (snapshots x views x val and test).
RECIPE_RESERVE = 10.0

#: The call rules a two-class recipe chooses from on val; several classes: argmax or prior.
BINARY_RULES = ("0.5", "prior", "youden", "accuracy")
MULTICLASS_RULES = ("argmax", "prior")


def shifted(x, dy, dx):
    """Images (N, H, W, C) moved ``dy`` rows down and ``dx`` columns right, edges repeated.

    >>> shifted(np.arange(4.0).reshape(1, 1, 4, 1), 0, 1)[0, 0, :, 0].tolist()
    [0.0, 0.0, 1.0, 2.0]
    """
    h, w = x.shape[1:3]
    padded = np.pad(x, ((0, 0), (abs(dy),) * 2, (abs(dx),) * 2, (0, 0)), mode="edge")
    return padded[:, abs(dy) - dy:abs(dy) - dy + h, abs(dx) - dx:abs(dx) - dx + w]


def tta_views(x, shift):
    """The image itself and four shifts of ``shift`` pixels (up, down, left, right): no flips,
    no rotations beyond training's, nothing that changes a chest film's anatomy."""
    if not shift:
        return [x]
    return [x] + [shifted(x, dy, dx) for dy, dx in ((shift, 0), (-shift, 0), (0, shift), (0, -shift))]


def view_probabilities(model, weights, x, shift):
    """Probabilities of every TTA view of ``x`` (:func:`tta_views`) with ``weights``: a list."""
    model.set_weights(weights)
    return [probabilities(model, v) for v in tta_views(x, shift)]


def cross_entropy(y, p):
    """Mean negative log-likelihood of labels ``y`` under probabilities ``p`` ((N,) or (N, K))."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    if p.ndim == 1:
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def calls_by_rule(p, rule, threshold=None, prior=None):
    """Class calls: ``p >= threshold`` for two classes, else argmax (of ``p`` times ``prior``
    for the rule ``"prior"``: the class shares of training restored, undoing balanced weights)."""
    if p.ndim == 1:
        return (p >= threshold).astype(np.int64)
    return np.argmax(p * prior if rule == "prior" else p, axis=1)


def fit_rule(y, p, rule, prior):
    """The threshold ``rule`` gives on (y, p) (two classes; None for several)."""
    if p.ndim != 1:
        return None
    if rule == "0.5":
        return 0.5
    if rule == "prior":  # 0.5 after the training prior is restored: p pi_1 = (1 - p) pi_0
        return float(prior[0])
    return metrics.choose_threshold(y, p, rule=rule)


def choose_call_rule(y_val, p_val, prior, n_splits=200, seed=0):
    """The call rule with the best held-out accuracy over random stratified halves of val.

    Each rule's threshold is fitted on one half and scored on the other (both ways round), so
    a rule that fits the 524 validation images too closely (``"accuracy"``) pays for it. Ties
    go to the earlier (simpler) rule. Returns (rule, {rule: mean held-out accuracy}).
    """
    rules = BINARY_RULES if p_val.ndim == 1 else MULTICLASS_RULES
    rng = np.random.default_rng(seed)
    scores = {rule: [] for rule in rules}
    for _ in range(n_splits):
        half = np.zeros(len(y_val), bool)
        for c in np.unique(y_val):
            members = rng.permutation(np.flatnonzero(y_val == c))
            half[members[:len(members) // 2]] = True
        for fit, held in ((half, ~half), (~half, half)):
            for rule in rules:
                threshold = fit_rule(y_val[fit], p_val[fit], rule, prior)
                calls = calls_by_rule(p_val[held], rule, threshold, prior)
                scores[rule].append(np.mean(calls == y_val[held]))
    means = {rule: round(float(np.mean(v)), 4) for rule, v in scores.items()}
    return max(rules, key=lambda rule: (means[rule], -rules.index(rule))), means


def oracle_accuracy(y, p):
    """DIAGNOSTIC, never used for any choice: the best accuracy of the calls ``p >= threshold``
    over every distinct cut of the scores ``p`` (N,) on labels ``y`` (N,) of 0/1, calling
    everyone positive and everyone negative included, and that threshold (two classes; None
    for several). The threshold is the lowest score called positive (ties of accuracy: the
    highest such threshold); for everyone negative, halfway between the highest score and 1
    (None if a score is 1 already: no threshold in [0, 1] calls it negative). 4 decimals.

    >>> oracle_accuracy(np.array([0, 0, 0, 1]), np.array([0.9, 0.1, 0.2, 0.05]))  # all negative
    {'threshold': 0.95, 'acc': 0.75}
    >>> oracle_accuracy(np.array([0, 0, 0]), np.array([0.9, 0.1, 0.2]))["acc"]  # one class only
    1.0
    """
    if p.ndim != 1:
        return None
    y = np.asarray(y)
    fpr, tpr, thresholds = roc_curve(y, p, drop_intermediate=False)  # every cut, from none positive
    positives = int(np.sum(y == 1))
    tpr, fpr = np.nan_to_num(tpr), np.nan_to_num(fpr)  # one class only: its rate is 0/0
    correct = np.rint(tpr * positives) + np.rint((1.0 - fpr) * (y.size - positives))
    index = int(np.argmax(correct))  # thresholds decrease: the first maximum is the highest
    if np.isfinite(thresholds[index]):
        threshold = float(thresholds[index])
    else:  # everyone negative: a threshold above every score
        top = float(np.max(p))
        threshold = (top + 1.0) / 2 if top < 1.0 else None
    return {"threshold": None if threshold is None else round(threshold, 4),
            "acc": round(float(correct[index] / y.size), 4)}


def train_recipe(data, n_classes, epochs, budget, seed, reserve=None, snapshots=None, shift=None,
                 width=None, members=None, scale=True, val_only=False, label_smoothing=None, mixup=None,
                 crop=None):
    """The recipe: ``members`` networks (seeds ``seed``, ``seed + 1``, ...), then four predictors
    and a call rule chosen on val.

    Each network trains for ``epochs`` epochs under its own cosine schedule; with ``scale``
    the epochs per network shrink (:class:`EpochPlan`) when the clock says they would not fit
    in ``budget - reserve`` seconds, so that a loaded machine does not overrun (``epochs_run``,
    ``epochs_planned``); the budget also stops training outright. Predictors: the mean over the
    networks of their best epochs' predictions (best validation AUC, as ``improved_cnn``) or of
    their last ``snapshots`` epochs' (a snapshot ensemble along the cosine's tail), each with or
    without test-time shifts; the one of lowest validation cross-entropy wins. The call rule:
    :func:`choose_call_rule`. ``reserve`` seconds are kept for inference (``total_seconds``).
    ``val_only`` (development): no test figure at all, only the choices on val.
    ``label_smoothing`` (Keras's: targets pulled towards 1/K by that share) and ``mixup``
    (alpha of :func:`medlab.data.mixup_batches`; 0: none; above 0 the class weights are
    blended like the images) and ``crop`` (pixels of :func:`medlab.data.random_crops` before
    the network's own augmentation; 0: none) change the training only. With either above 0
    the batches come from :func:`medlab.data.mixup_batches` and the class weights are given
    as per-image sample weights; with both 0, as Keras's ``class_weight``.
    """
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    snapshots = RECIPE["snapshots"] if snapshots is None else snapshots
    shift = RECIPE["tta_shift_px"] if shift is None else shift
    width = RECIPE["width"] if width is None else width
    members = RECIPE["members"] if members is None else members
    reserve = RECIPE_RESERVE if reserve is None else reserve
    label_smoothing = RECIPE["label_smoothing"] if label_smoothing is None else label_smoothing
    mixup = RECIPE["mixup_alpha"] if mixup is None else mixup
    crop = RECIPE["crop_px"] if crop is None else crop
    targets = _targets(y_train, n_classes, one_hot=bool(label_smoothing or mixup))
    class_weights = balanced_weights(y_train, n_classes)
    steps = -(-len(y_train) // RECIPE["batch_size"])
    load = load_average()
    started = time.perf_counter()
    plan = {"epochs": epochs, "scale": scale, "seconds": budget - reserve, "start": started, "epoch_seconds": []}
    saved, best_epochs, epochs_run, budget_hit = [], [], [], False
    for m in range(members):
        left = plan["seconds"] - (time.perf_counter() - started)
        if left <= 0 and not saved:
            raise ValueError(f"budget {budget:g} s minus reserve {reserve:g} s left no time to train one network")
        if left <= 0:
            budget_hit = True
            break
        medlab.seed_everything(seed + m)
        model = improved_cnn(x_train.shape[1:], width=width, dropout=RECIPE["dropout"], n_classes=n_classes)
        schedule = AdjustableCosine(RECIPE["learning_rate"], plan["epochs"] * steps)
        _compile(model, n_classes, schedule, label_smoothing=label_smoothing, soft=bool(mixup))
        stopper, best = TimeBudget(left), BestWeights("val_selection", "max")
        saved.append([])
        keep = EpochEnd(lambda model_, store=saved[-1]: store.append(model_.get_weights()))
        callbacks = [stopper, ValidationScore(x_val, y_val), best, keep,
                     EpochPlan(plan, schedule, steps, members - 1 - m)]
        medlab.seed_everything(seed + m)
        if mixup or crop:
            weights = np.array([class_weights[c] for c in y_train], np.float32)
            batches = mixup_batches(x_train, targets, weights, RECIPE["batch_size"], alpha=mixup, seed=seed + m,
                                    crop=crop)
            history = model.fit(batches, steps_per_epoch=steps, epochs=plan["epochs"], shuffle=False, verbose=0,
                                callbacks=callbacks)
        else:
            history = model.fit(x_train, targets, epochs=plan["epochs"], batch_size=RECIPE["batch_size"],
                                shuffle=True, verbose=0, class_weight=class_weights, callbacks=callbacks)
        best_epochs.append(best.best_epoch)
        epochs_run.append(len(history.history["loss"]))
        budget_hit = budget_hit or stopper.stopped
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lasts = [list(range(max(0, len(s) - snapshots), len(s))) for s in saved]
    members_of = {"best_epoch": [(m, b) for m, b in enumerate(best_epochs)],
                  f"last_{min(len(last) for last in lasts)}": [(m, e) for m, last in enumerate(lasts) for e in last]}
    val_views = {(m, e): view_probabilities(model, saved[m][e], x_val, shift)
                 for m, e in sorted({me for used in members_of.values() for me in used})}
    candidates = {}
    for name, used in members_of.items():
        for views in sorted({0, shift}):
            p_val = np.mean([p for me in used for p in val_views[me][:1 + 4 * bool(views)]], axis=0)
            key = name + (f"+tta{views}px" if views else "")
            candidates[key] = (used, views, p_val, cross_entropy(y_val, p_val))
    chosen = min(candidates, key=lambda k: candidates[k][3])
    used, views, p_val, _ = candidates[chosen]
    # the chosen kind of predictor from each network alone (information, not a choice)
    alone = {m: np.mean([p for me in used if me[0] == m for p in val_views[me][:1 + 4 * bool(views)]], axis=0)
             for m in range(len(saved))}
    prior = np.bincount(y_train, minlength=n_classes) / len(y_train)
    rule, held_out = choose_call_rule(y_val, p_val, prior, seed=seed)
    threshold = fit_rule(y_val, p_val, rule, prior)
    row = {"model": "recipe"}
    if not val_only:
        p_test = np.mean([p for m, e in used for p in view_probabilities(model, saved[m][e], x_test, views)], axis=0)
        calls = calls_by_rule(p_test, rule, threshold, prior)
        row.update({"test_auc": round(metrics.multiclass_auc(y_test, p_test), 4),
                    "test_acc": round(float(np.mean(calls == y_test)), 4)})
    inference_seconds = time.perf_counter() - started
    row.update({
        "train_seconds": round(train_seconds, 1), "inference_seconds": round(inference_seconds, 1),
        "total_seconds": round(train_seconds + inference_seconds, 1),
        "val_auc": round(metrics.multiclass_auc(y_val, p_val), 4),
        "val_cross_entropy": round(cross_entropy(y_val, p_val), 4),
        "members": len(saved), "epochs_planned": epochs, "epochs_run": epochs_run,
        "epochs": int(sum(epochs_run)), "best_epoch": best_epochs[0] + 1,
        "best_epochs": [b + 1 for b in best_epochs],
        "predictor": chosen, "call_rule": rule, "threshold": None if threshold is None else round(threshold, 4),
        "choices_on_val": {
            "predictors_val_cross_entropy": {k: round(v[3], 4) for k, v in candidates.items()},
            "predictors_val_auc": {k: round(metrics.multiclass_auc(y_val, v[2]), 4) for k, v in candidates.items()},
            "call_rules_held_out_accuracy": held_out,
            "each_network_alone_val_cross_entropy": [round(cross_entropy(y_val, p), 4) for p in alone.values()],
            "each_network_alone_val_auc": [round(metrics.multiclass_auc(y_val, p), 4) for p in alone.values()]},
        "settings": {**RECIPE, "width": width, "members": members, "snapshots": snapshots, "tta_shift_px": shift,
                     "label_smoothing": label_smoothing, "mixup_alpha": mixup, "crop_px": crop,
                     "epochs": epochs, "scale_epochs": scale, "budget_s": budget, "reserve_s": reserve, "seed": seed},
        "budget_hit": budget_hit, "load_1min": load, "load_1min_end": load_average(), "cores": ops._usable_cores(),
    })
    if not val_only:
        row["diagnostic_never_used_for_any_choice"] = {
            "oracle_threshold_on_test": oracle_accuracy(y_test, p_test),
            "note": "the best threshold found ON TEST for the chosen predictor: the most accuracy "
                    "any threshold could give this ranking; it chose nothing"}
        row["_p_test"], row["_calls"] = p_test, calls
    return row


def bootstrap(y, p, calls, index):
    """The test AUC (MedMNIST's) and accuracy of every resample (rows of ``index``)."""
    return {"auc": np.array([metrics.multiclass_auc(y[i], p[i]) for i in index]),
            "acc": np.mean((calls == y)[index], axis=1)}


def interval(values, level=0.95):
    """[low, high]: the central percentile interval of bootstrap ``values``, 4 decimals."""
    tail = 50 * (1 - level)
    return [round(float(v), 4) for v in np.percentile(values, [tail, 100 - tail])]


MODELS = ("recipe", "improved_cnn", "seed_cnn")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path,
                        help="a 2-D MedMNIST .npz (train/val/test splits), e.g. "
                             "medlab/data/files/pneumoniamnist.npz or one from `medlab data fetch FLAG`")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="wall-clock seconds for each of the recipe (training and inference) and "
                             "improved_cnn (training) (default 120)")
    parser.add_argument("--epochs", type=int, default=RECIPE_EPOCHS,
                        help=f"most epochs for the recipe; its rate decays over them (default {RECIPE_EPOCHS})")
    parser.add_argument("--kit-epochs", type=int, default=30,
                        help="most epochs for improved_cnn, the recipe before #30 (default 30)")
    parser.add_argument("--snapshots", type=int, default=RECIPE["snapshots"],
                        help=f"last epochs averaged by the snapshot predictor (default {RECIPE['snapshots']})")
    parser.add_argument("--tta-shift", type=int, default=RECIPE["tta_shift_px"],
                        help=f"pixels of the test-time shifts; 0: none (default {RECIPE['tta_shift_px']})")
    parser.add_argument("--width", type=int, default=RECIPE["width"],
                        help=f"filters of the recipe's first stage (default {RECIPE['width']})")
    parser.add_argument("--members", type=int, default=RECIPE["members"],
                        help=f"networks of the recipe, seeds --seed, --seed + 1, ... (default {RECIPE['members']})")
    parser.add_argument("--label-smoothing", type=float, default=RECIPE["label_smoothing"],
                        help="the recipe's label smoothing, in [0, 0.5) (Keras's; default "
                             f"{RECIPE['label_smoothing']:g})")
    parser.add_argument("--mixup", type=float, default=RECIPE["mixup_alpha"],
                        help=f"the recipe's mixup alpha; 0: none (default {RECIPE['mixup_alpha']:g})")
    parser.add_argument("--crop", type=int, default=RECIPE["crop_px"],
                        help="the recipe's random crops: pixels of edge padding cut back at a random offset; "
                             f"0: none (default {RECIPE['crop_px']})")
    parser.add_argument("--fixed-epochs", action="store_true",
                        help="train the recipe's --epochs per network whatever the clock says (the budget "
                             "still stops it); default: fewer epochs when they would not fit in the budget")
    parser.add_argument("--val-only", action="store_true",
                        help="development: with --only recipe, print the choices on val and no test figure")
    parser.add_argument("--reserve", type=float, default=RECIPE_RESERVE,
                        help=f"seconds of --budget the recipe keeps for inference (default {RECIPE_RESERVE:g})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the test split (default 1000)")
    parser.add_argument("--only", nargs="+", choices=MODELS, default=None,
                        help="train these models only (default: all three)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (a MedMNIST .npz; `medlab data fetch FLAG` downloads one)")
    if (min(args.epochs, args.kit_epochs, args.snapshots, args.n_boot, args.width, args.members) < 1
            or min(args.tta_shift, args.crop) < 0):
        parser.error("--epochs, --kit-epochs, --snapshots, --n-boot, --width and --members must be >= 1, "
                     "--tta-shift and --crop >= 0")
    if not (0 <= args.label_smoothing < 0.5) or not (math.isfinite(args.mixup) and args.mixup >= 0):
        parser.error(f"--label-smoothing {args.label_smoothing:g}, --mixup {args.mixup:g}: expected "
                     "label smoothing in [0, 0.5) and a finite mixup alpha >= 0")
    if args.val_only and args.only != ["recipe"]:
        parser.error("--val-only: expected --only recipe (the baselines print test figures)")
    if not (math.isfinite(args.budget) and args.budget > 0):
        parser.error(f"--budget {args.budget:g}: expected finite seconds > 0 (a large number lifts it)")
    if (args.only is None or "recipe" in args.only) and not (math.isfinite(args.reserve)
                                                             and 0 <= args.reserve <= args.budget - 1):
        parser.error(f"--reserve {args.reserve:g} and --budget {args.budget:g}: expected 0 <= reserve and "
                     "at least 1 s of budget left to train")
    try:
        data, n_classes = prepare(args.data)
    except ValueError as error:
        parser.error(str(error))
    info = {"data": args.data.name, "n_classes": n_classes, "image_shape": list(data["train"][0].shape[1:]),
            "n_train": len(data["train"][1])}
    y_test = data["test"][1]
    index = metrics.class_bootstrap_indices(y_test, args.n_boot, seed=args.seed)
    boots = {}
    for name in (m for m in MODELS if args.only is None or m in args.only):
        if name == "recipe":
            row = train_recipe(data, n_classes, args.epochs, args.budget, args.seed, reserve=args.reserve,
                               snapshots=args.snapshots, shift=args.tta_shift, width=args.width,
                               members=args.members, scale=not args.fixed_epochs, val_only=args.val_only,
                               label_smoothing=args.label_smoothing, mixup=args.mixup, crop=args.crop)
            if args.val_only:
                print(json.dumps({**row, **info}), flush=True)
                continue
        elif name == "improved_cnn":
            row = train_kit(data, n_classes, args.kit_epochs, args.budget, args.seed)
        else:
            row = train_article(data, n_classes, args.seed)
        boots[name] = bootstrap(y_test, row.pop("_p_test"), row.pop("_calls"), index)
        boots[name]["estimate"] = {"auc": row["test_auc"], "acc": row["test_acc"]}
        row["test_auc_ci95"], row["test_acc_ci95"] = interval(boots[name]["auc"]), interval(boots[name]["acc"])
        print(json.dumps({**row, **info, "n_boot": args.n_boot}), flush=True)
    if "recipe" in boots and len(boots) > 1:
        differences = {"model": "recipe minus baselines (paired bootstrap on the test split)"}
        for name in (m for m in boots if m != "recipe"):
            for figure in ("auc", "acc"):
                d = boots["recipe"][figure] - boots[name][figure]
                estimate = round(boots["recipe"]["estimate"][figure] - boots[name]["estimate"][figure], 4)
                differences[f"{figure}_minus_{name}"] = {"estimate": estimate, "ci95": interval(d)}
        print(json.dumps(differences), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
