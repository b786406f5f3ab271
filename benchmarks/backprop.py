"""One training step of the article's network in NumPy against Keras, on this machine.

    python benchmarks/backprop.py [--repeats 9] [--batch 32] [--sizes 28,150] [--json]

For ``seed_cnn`` at 28 x 28 x 1 and 150 x 150 x 3 (batch 32, random images and labels, the
same initial weights): the largest relative difference between the NumPy gradients
(``medlab.numpy_training.loss_and_gradients``) and Keras's (``tf.GradientTape``), per weight
array relative to its largest magnitude, and the median time of one full training step:
NumPy forward + backward + ``medlab.optimizers.SGD`` update against ``model.train_on_batch``
with ``keras.optimizers.SGD``. Both are measured in this run, a step of each in turn, so
machine load hits both alike; the load average (1 minute) before and after each size is
printed with them. Goal: gradients within 1e-5 relative, NumPy no more than 2x Keras's time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from medlab import backprop, keras, numpy_training, optimizers, tf  # keras, tf: TensorFlow, quietly
from medlab.models import seed_cnn

#: (side, channels) of the two input sizes: MedMNIST's 28 x 28 grey, the article's 150 x 150 RGB.
CHANNELS = {28: 1, 150: 3}


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_size(size, batch, repeats, seed=0):
    """Gradient agreement and step times at one input size; a dict of figures."""
    load_before = _load()
    keras.utils.set_random_seed(seed)
    channels = CHANNELS.get(size, 1)
    model = seed_cnn((size, size, channels))
    rng = np.random.default_rng(seed)
    x = rng.random((batch, size, size, channels), dtype=np.float32)
    y = rng.integers(0, 2, batch)
    start = numpy_training.initial_weights(model)
    loss, grads = numpy_training.loss_and_gradients(model, start, x, y)
    keras_loss, keras_grads = numpy_training.keras_loss_and_gradients(model, start, x, y)
    grad_error = max(backprop.scaled_difference(g, k) for g, k in zip(grads, keras_grads))

    weights = [w.copy() for w in start]
    sgd = optimizers.SGD(1e-3)

    def numpy_step():
        _, g = numpy_training.loss_and_gradients(model, weights, x, y)
        sgd.apply(weights, g)

    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="binary_crossentropy")
    labels = y.astype(np.float32).reshape(-1, 1)

    def keras_step():
        model.train_on_batch(x, labels)

    numpy_step()
    keras_step()  # warm up: tracing, kernel choice, allocation
    t_numpy, t_keras = [], []
    for _ in range(repeats):  # step by step in turn: a change of load hits both alike
        t_keras.append(_seconds(keras_step))
        t_numpy.append(_seconds(numpy_step))
    t_numpy, t_keras = float(np.median(t_numpy)), float(np.median(t_keras))
    return {
        "input": f"{batch}x{size}x{size}x{channels}", "loss_difference": abs(loss - keras_loss),
        "max_relative_gradient_error": grad_error, "numpy_ms": 1e3 * t_numpy,
        "keras_ms": 1e3 * t_keras, "ratio": t_numpy / t_keras, "load": [load_before, _load()],
    }


def _load():
    """The 1-minute load average (runnable processes; more than the cores: they wait), or nan."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed steps per side (default 9)")
    parser.add_argument("--batch", type=int, default=32, help="images per step (default 32)")
    parser.add_argument("--sizes", default="28,150", help="input sides, comma-separated")
    parser.add_argument("--json", action="store_true", help="print one JSON line per size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.repeats < 1 or args.batch < 1 or min(sizes) < 8:
        parser.error("--repeats and --batch must be >= 1 and every size >= 8")
    rows = [run_size(size, args.batch, args.repeats) for size in sizes]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"one training step of seed_cnn: NumPy (medlab) vs Keras {keras.__version__} / "
          f"TensorFlow {tf.__version__} CPU, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}")
    print(f"{'input':<16} {'grad rel err':>12} {'numpy ms':>9} {'keras ms':>9} {'numpy/keras':>11} "
          f"{'load':>11}")
    for r in rows:
        print(f"{r['input']:<16} {r['max_relative_gradient_error']:>12.1e} {r['numpy_ms']:>9.1f} "
              f"{r['keras_ms']:>9.1f} {r['ratio']:>11.2f} {r['load'][0]:>5.1f}-{r['load'][1]:<5.1f}")
    print(f"largest gradient error {max(r['max_relative_gradient_error'] for r in rows):.1e} "
          f"(goal <= 1e-5); slowest ratio {max(r['ratio'] for r in rows):.2f} (goal <= 2.00)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
