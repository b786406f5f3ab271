"""Images per second: medlab's tf.data pipeline against the article's ImageDataGenerator.

Both read the same folder of PNG files (synthetic chest X-rays from
``synthetic_chest(n, size=64)``), resize to 150x150, batch 32, and run the
same number of full passes (epochs). Times include building the pipeline
(listing and, for medlab, checking every file). Both are measured in this
run, on this machine, alternating, best of ``--repeat`` runs each.

    python benchmarks/pipeline.py                 # 2,000 images, 2 epochs
    python benchmarks/pipeline.py --json          # machine-readable result too
    python benchmarks/pipeline.py --keep /tmp/png # keep the exported folder

Legacy: ``ImageDataGenerator(rescale=1/255).flow_from_directory(dir,
target_size=(150, 150), class_mode="binary", batch_size=32)`` (its default
colour mode, RGB, as in the article). medlab: ``image_folder_dataset(dir,
image_size=(150, 150), batch_size=32, color_mode="rgb")`` so that both make
tensors of the same shape. Each resizes with its own default (legacy:
nearest neighbour in Pillow; medlab: bilinear in TensorFlow, smoother and
dearer); ``--interpolation bilinear`` makes both do the same work.

The first epoch decodes every file in both pipelines; medlab's cache makes
every later epoch skip decoding and resizing, so the speed-up grows with
``--epochs``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

from medlab._tensorflow import tf  # TensorFlow, imported quietly (no stderr)
from medlab.data import export_image_folder, image_folder_dataset, synthetic_chest


def _time_epochs(batches_of_epoch, epochs):
    """Seconds of each full pass and the number of images seen in all of them."""
    seconds, seen = [], 0
    for _ in range(epochs):
        start = time.perf_counter()
        for images, _labels in batches_of_epoch():
            seen += int(images.shape[0])
        seconds.append(time.perf_counter() - start)
    return seconds, seen


def time_medlab(folder, epochs, image_size, batch_size, color_mode, interpolation=None):
    """Build medlab's pipeline and run ``epochs`` full passes: (build s, [epoch s], images)."""
    start = time.perf_counter()
    dataset = image_folder_dataset(folder, image_size=image_size, batch_size=batch_size,
                                   color_mode=color_mode, verbose=False,
                                   interpolation=interpolation or "bilinear")
    build = time.perf_counter() - start
    return (build, *_time_epochs(lambda: dataset, epochs))


def time_legacy(folder, epochs, image_size, batch_size, color_mode, interpolation=None):
    """The article's ImageDataGenerator, ``epochs`` full passes: (build s, [epoch s], images)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # deprecation notices of the legacy API
        start = time.perf_counter()
        generator = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255)
        flow = generator.flow_from_directory(
            str(folder), target_size=image_size, class_mode="binary", batch_size=batch_size,
            color_mode=color_mode, interpolation=interpolation or "nearest")
        build = time.perf_counter() - start
        steps = math.ceil(flow.n / batch_size)  # one epoch = every image once
        return (build, *_time_epochs(lambda: (next(flow) for _ in range(steps)), epochs))


PIPELINES = (("ImageDataGenerator (legacy)", time_legacy),
             ("medlab image_folder_dataset", time_medlab))


def run(n, epochs, folder, repeat=3, image_size=(150, 150), batch_size=32, color_mode="rgb",
        interpolation=None):
    """Export ``n`` synthetic images to ``folder`` and time both pipelines.

    Each pipeline runs ``repeat`` times, alternating; the fastest run of each
    counts (the machine may be shared, and noise only ever adds time).
    ``interpolation=None`` keeps each API's default resampling (legacy:
    nearest, medlab: bilinear); a name makes both use it.

    Returns
    -------
    dict
        ``{"n", "epochs", ..., "results": [{"pipeline", "build_s", "epoch_s",
        "seconds", "images", "images_per_s"}, ...], "speedup"}``, where
        ``seconds`` = build + all epochs and ``speedup`` = medlab images/s /
        legacy images/s.
    """
    images, labels = synthetic_chest(n, size=64, seed=0)
    export_image_folder(images, labels, ["normal", "pneumonia"], folder)
    best = {}
    for _ in range(repeat):
        for name, timer in PIPELINES:
            build, epoch_s, seen = timer(folder, epochs, image_size, batch_size, color_mode,
                                         interpolation)
            total = build + sum(epoch_s)
            if name not in best or total < best[name]["seconds"]:
                best[name] = {"pipeline": name, "build_s": build, "epoch_s": epoch_s,
                              "seconds": total, "images": seen, "images_per_s": seen / total}
    results = [best[name] for name, _ in PIPELINES]
    speedup = results[1]["images_per_s"] / results[0]["images_per_s"]
    return {"n": n, "epochs": epochs, "repeat": repeat, "image_size": list(image_size),
            "batch_size": batch_size, "color_mode": color_mode,
            "interpolation": interpolation or "defaults (legacy nearest, medlab bilinear)",
            "results": results,
            "speedup": speedup}


def print_table(report):
    """Print the result: build time, first epoch, mean of later epochs, total, images/s."""
    size = report["image_size"]
    print(f"{report['n']} PNG images 64x64 -> {size[0]}x{size[1]} {report['color_mode']}, "
          f"batch {report['batch_size']}, {report['epochs']} epochs, best of {report['repeat']}, "
          f"resize: {report['interpolation']}")
    print(f"{'pipeline':<28} {'build s':>7} {'epoch 1 s':>9} {'later s':>8} {'total s':>7} "
          f"{'images/s':>9} {'speed-up':>8}")
    base = report["results"][0]["images_per_s"]
    for row in report["results"]:
        later = row["epoch_s"][1:]
        later_s = f"{sum(later) / len(later):>8.2f}" if later else f"{'-':>8}"
        print(f"{row['pipeline']:<28} {row['build_s']:>7.2f} {row['epoch_s'][0]:>9.2f} {later_s} "
              f"{row['seconds']:>7.2f} {row['images_per_s']:>9.0f} "
              f"{row['images_per_s'] / base:>7.1f}x")
    print("(later s: mean seconds of each epoch after the first; total s includes the build)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="images to export (default 2000)")
    parser.add_argument("--epochs", type=int, default=2, help="full passes each (default 2)")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="export into DIR and keep it (must not hold the files already)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each pipeline; the fastest counts (default 3)")
    parser.add_argument("--interpolation", choices=("nearest", "bilinear"), default=None,
                        help="resize both with this method (default: each API's own default, "
                             "legacy nearest, medlab bilinear)")
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args(argv)
    if args.n < 2 or args.epochs < 1 or args.repeat < 1:
        parser.error("--n must be >= 2, --epochs and --repeat >= 1")
    try:
        if args.keep:
            report = run(args.n, args.epochs, Path(args.keep), repeat=args.repeat,
                         interpolation=args.interpolation)
        else:
            with tempfile.TemporaryDirectory(prefix="medlab-bench-") as tmp:
                report = run(args.n, args.epochs, Path(tmp), repeat=args.repeat,
                             interpolation=args.interpolation)
    except FileExistsError as exc:
        print(f"pipeline.py: error: {exc} (--keep needs a new or empty folder)", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"pipeline.py: error: {exc}", file=sys.stderr)
        return 1
    print_table(report)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
