"""Training speed of the article's network and the kit's, by input size and thread count.

    python benchmarks/speed.py                                # 28, 64 and 150 px; 1 and 2 threads
    python benchmarks/speed.py --sizes 28 150 --threads 1 2 4 --steps 10

For each thread count a fresh Python process is started (TensorFlow fixes its thread pools
when it starts, so one process cannot measure two counts) with ``TF_NUM_INTRAOP_THREADS``
and ``TF_NUM_INTEROP_THREADS`` set. In it, each network is trained on random images of each
size (Adam, binary cross-entropy, batches of ``--batch``) for ``--warmup`` untimed and
``--steps`` timed steps (``medlab.summary.training_speed``). The table prints, side by side
with the article's ``seed_cnn`` as the baseline: weights, forward MFLOPs per image
(``medlab.summary.flops``, counted per layer), images per second of training and the kit
network's speed-up over the baseline at the same size and threads. Grey images (1 channel)
for both; the article's 150 x 150 x 3 input costs 3 times the first layer's FLOPs.
Wall-clock figures depend on the machine and its load: the 1-minute load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

NETWORKS = ("seed_cnn", "small_cnn")


def build(name, size):
    from medlab.models import small_cnn
    from medlab.models import seed_cnn

    return seed_cnn((size, size, 1)) if name == "seed_cnn" else small_cnn((size, size, 1), seed=0)


def measure(sizes, batch, steps, warmup):
    """In this process: one dict per (network, size)."""
    from medlab.summary import flops, training_speed

    rows = []
    for size in sizes:
        for name in NETWORKS:
            model = build(name, size)
            rows.append({"network": name, "size": size, "weights": model.count_params(),
                         "mflops": flops(model) / 1e6,
                         "images_per_s": training_speed(model, batch_size=batch, steps=steps,
                                                        warmup=warmup)})
    return rows


def worker(args):
    """Print one JSON line per measurement (run in the child process)."""
    for row in measure(args.sizes, args.batch, args.steps, args.warmup):
        print(json.dumps({**row, "threads": args.threads}), flush=True)
    return 0


def run_threads(threads, args, timeout):
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads),
           "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads),
               "--sizes", *map(str, args.sizes), "--batch", str(args.batch), "--steps", str(args.steps),
               "--warmup", str(args.warmup)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the {threads}-thread run failed:\n{done.stderr[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def table(rows):
    base = {(r["size"], r["threads"]): r["images_per_s"] for r in rows if r["network"] == "seed_cnn"}
    lines = [f"{'network':>9}  {'input':>9}  {'threads':>7}  {'weights':>9}  {'MFLOPs/image':>12}  "
             f"{'images/s':>9}  {'vs seed_cnn':>11}"]
    for r in sorted(rows, key=lambda r: (r["size"], r["threads"], r["network"])):
        ratio = r["images_per_s"] / base[(r["size"], r["threads"])]
        lines.append(f"{r['network']:>9}  {r['size']:>4} x {r['size']:<3}  {r['threads']:>7}  {r['weights']:>9}  "
                     f"{r['mflops']:>12.2f}  {r['images_per_s']:>9.0f}  {ratio:>10.1f}x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64, 150])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per thread count")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(argparse.Namespace(**{**vars(args), "threads": args.threads[0]}))
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; batch {args.batch}, "
          f"{args.steps} timed steps", flush=True)
    rows = []
    for threads in args.threads:
        rows += run_threads(threads, args, args.timeout)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
