"""PneumoniaMNIST: the kit's recommended classifier against the article's, side by side.

    python benchmarks/pneumonia.py --data medlab/data/files/pneumoniamnist.npz
    python benchmarks/pneumonia.py --data data/pneumoniamnist.npz --budget 120

Prints one JSON line per model (stdout), with ``model``, ``test_auc``, ``test_acc``,
``sensitivity``, ``specificity`` and ``train_seconds``, plus what was chosen and how:

``improved_cnn`` (the kit's, :func:`medlab.models.improved_cnn`, width 16, augmentation and
dropout), at the file's resolution: Adam 3e-3 with cosine decay over ``--epochs`` epochs,
batch 64, class weights (the training split is 74 % pneumonia), at most ``--epochs`` epochs
and at most ``--budget`` seconds of training (a callback stops at the budget). The weights
of the epoch with the best validation AUC are kept, and the decision threshold is chosen on
the validation split (Youden's J); the test split is used once, for the figures.

``seed_cnn`` (the article's network) with the article's settings at the file's resolution
(28 x 28 x 1): Adam 1e-3, batch 32, 10 epochs, threshold 0.5, no class weights, no
augmentation, the last epoch's weights.

Seeds are fixed and TensorFlow's ops deterministic: two runs on the same machine print the
same figures, unless the budget cut training short (``budget_hit``: true, then the epoch
where it stopped depends on the machine's speed). ``train_seconds`` is wall-clock time
and depends on the load: ``load_1min`` is the 1-minute load average when training started.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _common import ARTICLE, load_average

import medlab  # medlab.seed_everything; TensorFlow comes quietly with keras, below
from medlab import keras, metrics
from medlab.data import load_classification_data
from medlab.models import improved_cnn, seed_cnn
from medlab.engine.callbacks import BestWeights, TimeBudget
from medlab.training import class_weights, predict_scores

#: The kit's recipe (chosen on the validation split of the development file).
KIT = {"width": 16, "dropout": 0.3, "learning_rate": 3e-3, "batch_size": 64}


def evaluate(y, p, threshold):
    """Test figures at ``threshold``, rounded to 4 decimals."""
    m = metrics.binary_metrics(y, p, threshold)
    return {"test_auc": round(metrics.auc(y, p), 4), "test_acc": round(m.accuracy, 4),
            "sensitivity": round(m.sensitivity, 4), "specificity": round(m.specificity, 4)}


def train_kit(data, epochs, budget, seed):
    """The kit's model: best-val-AUC epoch, Youden threshold on validation."""
    medlab.seed_everything(seed)
    model = improved_cnn(data.image_shape, width=KIT["width"], dropout=KIT["dropout"])
    steps = -(-len(data.y_train) // KIT["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(KIT["learning_rate"], decay_steps=epochs * steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    stopper, best = TimeBudget(budget), BestWeights("val_auc", "max")
    load = load_average()
    medlab.seed_everything(seed)
    started = time.perf_counter()
    history = model.fit(data.x_train, data.y_train.astype("float32"),
                        validation_data=(data.x_val, data.y_val.astype("float32")),
                        epochs=epochs, batch_size=KIT["batch_size"], shuffle=True, verbose=0,
                        class_weight=class_weights(data.y_train), callbacks=[stopper, best])
    seconds = time.perf_counter() - started
    p_val = predict_scores(model, data.x_val)
    threshold = metrics.choose_threshold(data.y_val, p_val, rule="youden")
    return {
        "model": "improved_cnn", **evaluate(data.y_test, predict_scores(model, data.x_test), threshold),
        "train_seconds": round(seconds, 1), "epochs": len(history.history["loss"]),
        "best_epoch": best.best_epoch + 1, "val_auc": round(metrics.auc(data.y_val, p_val), 4),
        "threshold": round(threshold, 4), "budget_s": budget, "budget_hit": stopper.stopped,
        "load_1min": load,
    }


def train_article(data, seed):
    """The article's network and settings: last epoch, threshold 0.5."""
    medlab.seed_everything(seed)
    model = seed_cnn(data.image_shape)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=ARTICLE["learning_rate"]),
                  loss="binary_crossentropy", metrics=["accuracy"])
    load = load_average()
    medlab.seed_everything(seed)
    started = time.perf_counter()
    model.fit(data.x_train, data.y_train.astype("float32"),
              validation_data=(data.x_val, data.y_val.astype("float32")),
              epochs=ARTICLE["epochs"], batch_size=ARTICLE["batch_size"], shuffle=True, verbose=0)
    seconds = time.perf_counter() - started
    p_val = predict_scores(model, data.x_val)
    return {
        "model": "seed_cnn", **evaluate(data.y_test, predict_scores(model, data.x_test), ARTICLE["threshold"]),
        "train_seconds": round(seconds, 1), "epochs": ARTICLE["epochs"],
        "val_auc": round(metrics.auc(data.y_val, p_val), 4), "threshold": ARTICLE["threshold"],
        "load_1min": load,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path,
                        help="a PneumoniaMNIST .npz (train/val/test splits), e.g. from "
                             "`medlab data fetch pneumoniamnist`")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="wall-clock seconds of training for the kit's model (default 120)")
    parser.add_argument("--epochs", type=int, default=20,
                        help="most epochs for the kit's model; its learning rate decays over them "
                             "(default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("improved_cnn", "seed_cnn"), default=None,
                        help="train one of the two models only")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (fetch it with `medlab data fetch pneumoniamnist`)")
    if args.budget <= 0 or args.epochs < 1:
        parser.error("--budget must be > 0 and --epochs >= 1")
    data = load_classification_data(str(args.data), seed=args.seed)
    if args.only in (None, "improved_cnn"):
        print(json.dumps(train_kit(data, args.epochs, args.budget, args.seed)), flush=True)
    if args.only in (None, "seed_cnn"):
        print(json.dumps(train_article(data, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
