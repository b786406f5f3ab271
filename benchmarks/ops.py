"""medlab.ops against TensorFlow's CPU kernels on the seed network's layer shapes.

    python benchmarks/ops.py [--repeats 15] [--json]

For each layer of ``seed_cnn`` at 150x150x3 and at 28x28x1 (batch 32): the
max abs error of ``medlab.ops.conv2d`` / ``max_pool2d`` against ``tf.nn.conv2d``
/ ``tf.nn.max_pool2d`` and the ratio of their median times, both measured in
this run. Then the same for a small 3-D network (3x3x3 convolutions with 8 and 16
filters, 2x2x2 max then average pooling) on a batch of 4 real hippocampus MRI volumes of
40x56x40 voxels (``medlab.data.load_hippocampus``): ``medlab.ops3d.conv3d`` /
``max_pool3d`` / ``avg_pool3d`` against ``tf.nn.conv3d`` / ``max_pool3d`` / ``avg_pool3d``, each layer fed the
previous layer's output (after a ReLU). Goal: error <= 1e-5 and ratio <= 1.0
(NumPy no slower) on every shape.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from medlab import ops, ops3d, tf  # tf: TensorFlow, imported quietly (no stderr)
from medlab.data import load_hippocampus


def layer_cases(batch=32):
    """(name, kind, input shape, kernel shape or pool size) for seed_cnn at both sizes."""
    cases = []
    for size, channels in ((150, 3), (28, 1)):
        h1 = ops.output_size(size, 3)
        p1 = ops.output_size(h1, 2, 2)
        h2 = ops.output_size(p1, 3)
        cases += [
            (f"conv1 {size}px", "conv", (batch, size, size, channels), (3, 3, channels, 32)),
            (f"pool1 {size}px", "pool", (batch, h1, h1, 32), 2),
            (f"conv2 {size}px", "conv", (batch, p1, p1, 32), (3, 3, 32, 64)),
            (f"pool2 {size}px", "pool", (batch, h2, h2, 64), 2),
        ]
    return cases


def volume_cases(batch=4):
    """(name, kind, input shape, kernel shape or pool size) for a 3-D network on hippocampus volumes."""
    d, h, w = 40, 56, 40
    c1 = [ops.output_size(n, 3) for n in (d, h, w)]
    p1 = [ops.output_size(n, 2, 2) for n in c1]
    c2 = [ops.output_size(n, 3) for n in p1]
    return [
        ("conv1 3d", "conv3d", (batch, d, h, w, 1), (3, 3, 3, 1, 8)),
        ("maxpool1 3d", "maxpool3d", (batch, *c1, 8), 2),
        ("conv2 3d", "conv3d", (batch, *p1, 8), (3, 3, 3, 8, 16)),
        ("avgpool2 3d", "avgpool3d", (batch, *c2, 16), 2),
    ]


def hippocampus_batch(batch):
    """The first ``batch`` training volumes, float32 in [0, 1], shape (batch, 40, 56, 40, 1)."""
    images = load_hippocampus()["train"].images[:batch]
    return (images[..., None] / np.float32(255)).astype(np.float32)


def median_seconds(function, repeats):
    function()  # warm up: first calls allocate and pick kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_case(kind, input_shape, weight, repeats, rng, x=None):
    """(max abs error, our median s, TensorFlow's median s, our output) of one layer on ``x``
    (default: standard normal values of ``input_shape``)."""
    x = rng.standard_normal(input_shape, dtype=np.float32) if x is None else x
    assert x.shape == tuple(input_shape), (x.shape, input_shape)
    if kind in ("conv", "conv3d"):
        w = rng.standard_normal(weight, dtype=np.float32) / np.sqrt(np.prod(weight[:-1]))
    if kind == "conv":
        ours = lambda: ops.conv2d(x, w)  # noqa: E731
        theirs = lambda: tf.nn.conv2d(x, w, 1, "VALID").numpy()  # noqa: E731
    elif kind == "conv3d":
        ours = lambda: ops3d.conv3d(x, w)  # noqa: E731
        theirs = lambda: tf.nn.conv3d(x, w, [1] * 5, "VALID").numpy()  # noqa: E731
    elif kind == "maxpool3d":
        ours = lambda: ops3d.max_pool3d(x, weight)  # noqa: E731
        theirs = lambda: tf.nn.max_pool3d(x, weight, weight, "VALID").numpy()  # noqa: E731
    elif kind == "avgpool3d":
        ours = lambda: ops3d.avg_pool3d(x, weight)  # noqa: E731
        theirs = lambda: tf.nn.avg_pool3d(x, weight, weight, "VALID").numpy()  # noqa: E731
    else:
        ours = lambda: ops.max_pool2d(x, weight)  # noqa: E731
        theirs = lambda: tf.nn.max_pool2d(x, weight, weight, "VALID").numpy()  # noqa: E731
    output = ours()
    error = float(np.abs(output - theirs()).max())
    # interleave the two so that machine load affects both alike
    t_ours, t_theirs = [], []
    for _ in range(3):
        t_theirs.append(median_seconds(theirs, max(1, repeats // 3)))
        t_ours.append(median_seconds(ours, max(1, repeats // 3)))
    return error, float(np.median(t_ours)), float(np.median(t_theirs)), output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per op (default 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per shape")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    volumes = volume_cases()
    x = hippocampus_batch(volumes[0][2][0]) if volumes else None
    for name, kind, shape, weight in layer_cases() + volumes:
        error, t_ours, t_theirs, output = run_case(kind, shape, weight, args.repeats, rng,
                                                   x if kind.endswith("3d") else None)
        if kind.endswith("3d"):
            x = np.maximum(output, 0)  # the next 3-D layer's input
        rows.append({
            "layer": name, "input": "x".join(map(str, shape)), "max_abs_error": error,
            "numpy_ms": 1e3 * t_ours, "tf_ms": 1e3 * t_theirs, "ratio": t_ours / t_theirs,
        })
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"medlab.ops vs TensorFlow {tf.__version__} CPU, {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    print(f"{'layer':<13} {'input':<16} {'max abs err':>11} {'numpy ms':>9} {'tf ms':>8} {'numpy/tf':>9}")
    for r in rows:
        print(f"{r['layer']:<13} {r['input']:<16} {r['max_abs_error']:>11.1e} {r['numpy_ms']:>9.2f} "
              f"{r['tf_ms']:>8.2f} {r['ratio']:>9.2f}")
    worst = max(rows, key=lambda r: r["ratio"])
    print(f"max error {max(r['max_abs_error'] for r in rows):.1e} (goal <= 1e-5); "
          f"slowest ratio {worst['ratio']:.2f} on {worst['layer']} (goal <= 1.00)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
