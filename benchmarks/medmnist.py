"""Any 2-D MedMNIST file: the kit's recipe and the article's network, side by side.

    python benchmarks/medmnist.py --data medlab/data/files/pneumoniamnist.npz
    python benchmarks/medmnist.py --data data/bloodmnist.npz --budget 120

Binary, multi-class and ordinal label sets (one label column), grey (N, H, W) or RGB
(N, H, W, 3) images; multi-label files (ChestMNIST) are refused. Prints one JSON line per
model (stdout) with ``model``, ``test_auc``, ``test_acc``, ``train_seconds`` and the
settings used. The figures are those MedMNIST reports: ``test_auc`` is the binary AUC for two
classes, else the mean of the one-vs-rest AUCs (``medlab.metrics.multiclass_auc``);
``test_acc`` the accuracy of the calls (argmax for several classes; for two classes the
threshold below). Ordinal sets are scored as multi-class, as MedMNIST does.

``improved_cnn`` (the kit's recipe, :func:`medlab.models.improved_cnn`, unchanged from set
to set): width 16, augmentation (shift, rotation, zoom, contrast; no flips) and dropout 0.3,
Adam 3e-3 with cosine decay over ``--epochs`` epochs, batch 64, balanced class weights, at
most ``--budget`` seconds of training. Everything is chosen on the validation split: the
weights of the epoch with the best validation AUC (to 4 decimals; ties, as when the AUC
saturates at 1, go to the better validation accuracy), and for two classes the decision
threshold (Youden's J). The test split is used once, for the figures.

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
from medlab.engine.callbacks import BestWeights, TimeBudget

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
    return {
        "model": "improved_cnn", **figures(y_test, probabilities(model, x_test), threshold),
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
    return {
        "model": "seed_cnn", **figures(y_test, probabilities(model, x_test), threshold),
        "train_seconds": round(seconds, 1), "val_auc": round(metrics.multiclass_auc(y_val, p_val), 4),
        "epochs": ARTICLE["epochs"], "threshold": threshold,
        "settings": {**ARTICLE, "seed": seed}, "load_1min": load, "cores": ops._usable_cores(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path,
                        help="a 2-D MedMNIST .npz (train/val/test splits), e.g. "
                             "medlab/data/files/pneumoniamnist.npz or one from `medlab data fetch FLAG`")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="wall-clock seconds of training for the kit's model (default 120)")
    parser.add_argument("--epochs", type=int, default=30,
                        help="most epochs for the kit's model; its learning rate decays over them (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("improved_cnn", "seed_cnn"), default=None,
                        help="train one of the two models only")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (a MedMNIST .npz; `medlab data fetch FLAG` downloads one)")
    if args.budget <= 0 or args.epochs < 1:
        parser.error("--budget must be > 0 and --epochs >= 1")
    try:
        data, n_classes = prepare(args.data)
    except ValueError as error:
        parser.error(str(error))
    info = {"data": args.data.name, "n_classes": n_classes, "image_shape": list(data["train"][0].shape[1:]),
            "n_train": len(data["train"][1])}
    if args.only in (None, "improved_cnn"):
        print(json.dumps({**train_kit(data, n_classes, args.epochs, args.budget, args.seed), **info}), flush=True)
    if args.only in (None, "seed_cnn"):
        print(json.dumps({**train_article(data, n_classes, args.seed), **info}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
