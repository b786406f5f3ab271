"""How hard is ``synthetic_chest``? Generation time and three baselines, per seed.

For each data seed: draw ``--n-train + --n-test`` images, then report

- ROC-AUC of the mean intensity of each image (should be near 0.5),
- ROC-AUC of a logistic regression on raw pixels (sklearn defaults),
- ROC-AUC of the article's CNN (``medlab.models.seed_cnn``, Adam 1e-3,
  batch 32) after each epoch, and the wall-clock seconds of ``fit``,

and, once, the seconds (wall and CPU) to draw 2,000 images of 64x64.
The defaults are those of ``tests/test_synthetic.py``.

    python benchmarks/synthetic.py                      # data seeds 0 1 2
    python benchmarks/synthetic.py --seeds 1 --epochs 10 --size 64
"""

from __future__ import annotations

import argparse
import time
import warnings

from medlab._tensorflow import keras, seed_everything  # TensorFlow, imported quietly (no stderr)
from medlab.data.synthetic import synthetic_chest
from medlab.models import seed_cnn


def generation_seconds(n=2000, size=64, repeat=3):
    """Best wall-clock and CPU seconds of ``repeat`` calls of ``synthetic_chest(n, size)``."""
    synthetic_chest(8, size=size)  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        synthetic_chest(n, size=size, seed=0)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def baselines(seed, size, n_train, n_test, epochs, model_seed=0):
    """Mean-intensity, logistic-regression and CNN ROC-AUCs on one data seed."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    images, labels = synthetic_chest(n_train + n_test, size=size, seed=seed)
    x_train, y_train = images[:n_train, ..., None], labels[:n_train]
    x_test, y_test = images[n_train:, ..., None], labels[n_train:]
    result = {"mean_auc": roc_auc_score(labels, images.mean(axis=(1, 2)))}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        linear = LogisticRegression(max_iter=100).fit(x_train.reshape(n_train, -1), y_train)
    result["lr_auc"] = roc_auc_score(y_test, linear.decision_function(x_test.reshape(n_test, -1)))

    seed_everything(model_seed)
    model = seed_cnn((size, size, 1))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    result["fit_s"], result["cnn_auc"] = 0.0, []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
        result["fit_s"] += time.perf_counter() - start
        result["cnn_auc"].append(roc_auc_score(y_test, model.predict(x_test, verbose=0)[:, 0]))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args(argv)

    wall, cpu = generation_seconds()
    print(f"synthetic_chest(2000, size=64): {wall:.2f} s wall, {cpu:.2f} s CPU")
    for seed in args.seeds:
        r = baselines(seed, args.size, args.n_train, args.n_test, args.epochs)
        curve = " ".join(f"{auc:.3f}" for auc in r["cnn_auc"])
        print(f"seed {seed}: mean-intensity AUC {r['mean_auc']:.3f}  LR AUC {r['lr_auc']:.3f}  "
              f"CNN AUC by epoch {curve}  (fit {r['fit_s']:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
