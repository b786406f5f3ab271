"""Segmentation benchmark: the kit's U-Net recipe on any file of images and masks.

Reads any ``.npz`` with ``images`` (N, H, W) and ``masks`` (N, H, W) of 0/1, and optionally
``pixel_size_mm``, ``head_circumference_mm`` and ``subject`` (``medlab.data.load_masks``).
Splits train / val / test (70 / 15 / 15 %) by ``subject`` when the file has it (whole
examinations on one side), else image by image; trains ``medlab.segmentation.RECIPE``
unchanged from file to file (a 4-level U-Net 8-16-32-64, BCE + soft Dice, Adam with cosine
decay, best epoch by validation loss, stopped by the wall clock); thresholds at 0.5 and
reports on the test split:

- ``test_dice``, ``test_iou`` (means over images);
- with pixel sizes and circumferences: ``hc_mae_mm`` and ``hc_median_mm``, the mean and median
  |HC of the ellipse fitted to the predicted mask - expert HC|, in mm, the fit's bias corrected
  by a factor learned on the training masks;
- the baselines of the same run, side by side: ``baseline_dice`` (the mean training mask,
  thresholded at 0.5: no learning) and ``floor_hc_mae_mm`` (the same ellipse fit on the
  expert's own test masks: the best any mask at this size can do);
- ``val_dice``, the Dice on the validation examinations: judge a change of the recipe by it,
  so that the test figures stay a measurement, not a choice;
- ``train_seconds`` and the settings.

``--split image`` splits image by image even when the file has subjects: the leaky split,
to measure how much it flatters the figures. With ``--seeds N`` it repeats for seeds 0..N-1
(split and weights), prints one JSON line per seed and then one with the mean and standard
deviation (``..._sd``) of every figure.

    python benchmarks/segmentation.py --data medlab/data/files/hc18_64.npz --seeds 3

Goals on HC18 64 px (2 cores, at most 120 s of training): Dice >= 0.965, HC MAE <= 3.0 mm,
median <= 2.0 mm.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from medlab import metrics, segmentation  # segmentation imports TensorFlow, quietly (no stderr)
from medlab.data import load_masks
from medlab.data.splits import split_by_group, split_by_image

SUMMARISED = ("val_dice", "test_dice", "test_iou", "hc_mae_mm", "hc_median_mm", "baseline_dice",
              "floor_hc_mae_mm", "train_seconds")


def baselines(data, seed, recipe, split="grouped"):
    """Figures without learning, on the test split of ``seed``: mean-mask Dice, ellipse floor."""
    fractions = dict(val_fraction=recipe["val_fraction"], test_fraction=recipe["test_fraction"])
    parts = (split_by_group(data.subject, seed=seed, **fractions)
             if data.subject is not None and split == "grouped"
             else split_by_image(len(data), seed=seed, **fractions))
    train, test = data.subset(parts["train"]), data.subset(parts["test"])
    mean_mask = (train.masks.mean(axis=0) >= 0.5).astype(np.uint8)
    out = {"baseline_dice": metrics.dice(test.masks, np.broadcast_to(mean_mask, test.masks.shape))}
    if train.pixel_size_mm is not None and train.head_circumference_mm is not None:
        factor = segmentation.circumference_correction(train.masks, train.pixel_size_mm,
                                                       train.head_circumference_mm)
        floor = metrics.mask_circumference_mm(test.masks, test.pixel_size_mm) * factor
        out["floor_hc_mae_mm"] = metrics.mean_absolute_difference(test.head_circumference_mm, floor)
    return out


def run_seed(data, seed, recipe, split="grouped"):
    """One seed: the recipe's figures and the baselines, rounded, as one dict."""
    result = segmentation.run_recipe(data, seed=seed, recipe=recipe, split=split)
    result.update(baselines(data, seed, {**segmentation.RECIPE, **recipe}, split))
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def summarise(rows):
    """Mean and standard deviation (ddof 0) of every figure present in all rows."""
    out = {"seeds": len(rows)}
    for key in SUMMARISED:
        if all(key in row for row in rows):
            values = np.array([row[key] for row in rows], dtype=np.float64)
            out[key] = round(float(values.mean()), 4)
            out[f"{key}_sd"] = round(float(values.std()), 4)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with images and masks (optionally "
                        "pixel_size_mm, head_circumference_mm, subject)")
    parser.add_argument("--seeds", type=int, default=1, help="repeat for seeds 0..N-1 (default 1)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"override the recipe's epochs ({segmentation.RECIPE['epochs']}; tests)")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"override the training budget ({segmentation.RECIPE['time_budget_s']} s)")
    parser.add_argument("--split", choices=("grouped", "image"), default="grouped",
                        help="grouped: by subject when the file has it (default); image: image by "
                             "image, to measure what a leaky split changes")
    parser.add_argument("--base-filters", type=int, default=None, help="override the U-Net width (tests)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"override the recipe's batch size ({segmentation.RECIPE['batch_size']})")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    try:
        data = load_masks(args.data)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    overrides = {"epochs": args.epochs, "time_budget_s": args.seconds, "base_filters": args.base_filters,
                 "batch_size": args.batch_size}
    recipe = {k: v for k, v in overrides.items() if v is not None}
    settings = {**segmentation.RECIPE, **recipe,
                "split": "subject" if data.subject is not None and args.split == "grouped" else "image"}
    rows = []
    for seed in range(args.seeds):
        row = {"seed": seed, **run_seed(data, seed, recipe, args.split), "settings": settings}
        rows.append(row)
        print(json.dumps(row), flush=True)
        hc = (f", HC error {row['hc_mae_mm']:.2f} mm (median {row['hc_median_mm']:.2f}; floor "
              f"{row['floor_hc_mae_mm']:.2f})" if "hc_mae_mm" in row else "")
        print(f"seed {seed}: Dice {row['test_dice']:.4f} (mean-mask baseline "
              f"{row['baseline_dice']:.3f}), IoU {row['test_iou']:.4f}{hc}; {row['epochs_run']} "
              f"epochs in {row['train_seconds']:.0f} s", file=sys.stderr)
    if args.seeds > 1:
        print(json.dumps({**summarise(rows), "settings": settings}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
