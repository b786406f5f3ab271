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

``recipe`` (#30; :data:`RECIPE`, the same for every file): the kit's network
(:func:`medlab.models.improved_cnn`, width 16, augmentation without flips, dropout 0.3), Adam
3e-3 with cosine decay over ``--epochs`` (40), batch 64, balanced class weights; training stops
10 s before ``--budget`` so that inference fits in it too (``total_seconds``). Then, on the
validation split only:

* the predictor with the lowest validation cross-entropy of four: the best epoch's weights
  (best validation AUC, as ``improved_cnn``) or the mean prediction of the last
  ``--snapshots`` (5) epochs (a snapshot ensemble along the cosine's tail), each alone or
  averaged over test-time shifts of ``--tta-shift`` (2) pixels up, down, left and right (no
  flips: a mirrored chest film shows the heart on the wrong side);
* the call rule with the best accuracy on held-out halves of val (200 random stratified
  halves, fitted on one, scored on the other, both ways round): two classes, threshold 0.5,
  ``prior`` (0.5 once the training prevalence is restored, which undoes the balanced class
  weights), Youden's J, or the threshold of highest accuracy; several classes, argmax or
  ``prior`` (argmax of the probabilities times the training class shares).

Every choice is printed with the figures it was made by (``choices_on_val``). The test split
is used once, for the figures.

``improved_cnn`` (the recipe before #30, :data:`KIT`): the same network and training over
``--kit-epochs`` (30) with at most ``--budget`` seconds of training, the weights of the epoch
with the best validation AUC (to 4 decimals; ties, as when the AUC saturates at 1, go to the
better validation accuracy), and for two classes the Youden threshold on val.

``seed_cnn`` (the article's network, with a softmax head for several classes) with the
article's settings: Adam 1e-3, batch 32, 10 epochs, the last epoch's weights, threshold 0.5
(argmax), no class weights, no augmentation.

Seeds are fixed and TensorFlow's ops deterministic, so two runs on one machine print the same
figures unless the budget cut training short (``budget_hit``). ``train_seconds`` is
wall-clock time and depends on the load (``load_1min``: the 1-minute load average when
training started; ``cores``: CPUs this process may use).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import ARTICLE, load_average

import medlab  # medlab.seed_everything; TensorFlow comes quietly with keras, below
from medlab import keras, metrics, ops
from medlab.data import load_medmnist
from medlab.models import improved_cnn, seed_cnn
from medlab.engine.callbacks import BestWeights, EpochEnd, TimeBudget

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


def _compile(model, n_classes, learning_rate):
    loss = "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss)


def _targets(y, n_classes):
    return y.astype(np.float32) if n_classes == 2 else y


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
          "schedule": "cosine over --epochs", "snapshots": 5, "tta_shift_px": 2}

#: Epochs of the recipe (the cosine schedule's length), chosen on val at a fixed count.
RECIPE_EPOCHS = 40

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


def train_recipe(data, n_classes, epochs, budget, seed, reserve=None, snapshots=None, shift=None,
                 width=None):
    """The recipe: the kit's network trained once, then four predictors and a call rule chosen on val.

    Predictors: the best epoch's weights (as ``improved_cnn``) or the mean of the last
    ``snapshots`` epochs' predictions (a snapshot ensemble along the cosine's tail), each with
    or without test-time shifts; the one with the lowest validation cross-entropy wins. The
    call rule: :func:`choose_call_rule`. Training stops ``reserve`` seconds before ``budget``
    so that inference fits in it too (``total_seconds``).
    """
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    snapshots = RECIPE["snapshots"] if snapshots is None else snapshots
    shift = RECIPE["tta_shift_px"] if shift is None else shift
    width = RECIPE["width"] if width is None else width
    reserve = RECIPE_RESERVE if reserve is None else reserve
    medlab.seed_everything(seed)
    model = improved_cnn(x_train.shape[1:], width=width, dropout=RECIPE["dropout"], n_classes=n_classes)
    steps = -(-len(y_train) // RECIPE["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(RECIPE["learning_rate"], decay_steps=epochs * steps)
    _compile(model, n_classes, schedule)
    stopper, best = TimeBudget(budget - reserve), BestWeights("val_selection", "max")
    saved = []
    keep = EpochEnd(lambda m: saved.append(m.get_weights()))
    load = load_average()
    medlab.seed_everything(seed)
    started = time.perf_counter()
    history = model.fit(x_train, _targets(y_train, n_classes), epochs=epochs, batch_size=RECIPE["batch_size"],
                        shuffle=True, verbose=0, class_weight=balanced_weights(y_train, n_classes),
                        callbacks=[stopper, ValidationScore(x_val, y_val), best, keep])
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    last = list(range(max(0, len(saved) - snapshots), len(saved)))
    members = {"best_epoch": [best.best_epoch], f"last_{len(last)}": last}
    val_views = {e: view_probabilities(model, saved[e], x_val, shift) for e in sorted({best.best_epoch, *last})}
    candidates = {}
    for name, epochs_used in members.items():
        for views in sorted({0, shift}):
            p_val = np.mean([p for e in epochs_used for p in val_views[e][:1 + 4 * bool(views)]], axis=0)
            key = name + (f"+tta{views}px" if views else "")
            candidates[key] = (epochs_used, views, p_val, cross_entropy(y_val, p_val))
    chosen = min(candidates, key=lambda k: candidates[k][3])
    epochs_used, views, p_val, _ = candidates[chosen]
    prior = np.bincount(y_train, minlength=n_classes) / len(y_train)
    rule, held_out = choose_call_rule(y_val, p_val, prior, seed=seed)
    threshold = fit_rule(y_val, p_val, rule, prior)
    p_test = np.mean([p for e in epochs_used for p in view_probabilities(model, saved[e], x_test, views)], axis=0)
    inference_seconds = time.perf_counter() - started
    calls = calls_by_rule(p_test, rule, threshold, prior)
    return {
        "model": "recipe", "test_auc": round(metrics.multiclass_auc(y_test, p_test), 4),
        "test_acc": round(float(np.mean(calls == y_test)), 4),
        "train_seconds": round(train_seconds, 1), "inference_seconds": round(inference_seconds, 1),
        "total_seconds": round(train_seconds + inference_seconds, 1),
        "val_auc": round(metrics.multiclass_auc(y_val, p_val), 4),
        "epochs": len(history.history["loss"]), "best_epoch": best.best_epoch + 1,
        "predictor": chosen, "call_rule": rule, "threshold": None if threshold is None else round(threshold, 4),
        "choices_on_val": {
            "predictors_val_cross_entropy": {k: round(v[3], 4) for k, v in candidates.items()},
            "predictors_val_auc": {k: round(metrics.multiclass_auc(y_val, v[2]), 4) for k, v in candidates.items()},
            "call_rules_held_out_accuracy": held_out},
        "settings": {**RECIPE, "width": width, "snapshots": snapshots, "tta_shift_px": shift, "epochs": epochs,
                     "budget_s": budget, "reserve_s": reserve, "seed": seed},
        "budget_hit": stopper.stopped, "load_1min": load, "cores": ops._usable_cores(),
        "_p_test": p_test, "_calls": calls,
    }


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
    parser.add_argument("--reserve", type=float, default=RECIPE_RESERVE,
                        help=f"seconds of --budget the recipe keeps for inference (default {RECIPE_RESERVE:g})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the test split (default 1000)")
    parser.add_argument("--only", nargs="+", choices=MODELS, default=None,
                        help="train these models only (default: all three)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (a MedMNIST .npz; `medlab data fetch FLAG` downloads one)")
    if min(args.epochs, args.kit_epochs, args.snapshots, args.n_boot, args.width) < 1 or args.tta_shift < 0:
        parser.error("--epochs, --kit-epochs, --snapshots, --n-boot and --width must be >= 1, --tta-shift >= 0")
    if args.budget <= 0:
        parser.error(f"--budget {args.budget:g}: expected seconds > 0")
    if (args.only is None or "recipe" in args.only) and not 0 <= args.reserve < args.budget:
        parser.error(f"--reserve {args.reserve:g} and --budget {args.budget:g}: expected 0 <= reserve < budget")
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
                               snapshots=args.snapshots, shift=args.tta_shift, width=args.width)
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
