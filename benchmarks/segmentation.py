"""Segmentation benchmark: the kit's U-Net recipe on any file of images and masks.

Reads any ``.npz`` with ``images`` (N, H, W) and ``masks`` (N, H, W) of 0/1, and optionally
``pixel_size_mm``, ``head_circumference_mm`` and ``subject`` (``medlab.data.load_masks``).
Splits train / val / test (70 / 15 / 15 %) by ``subject`` when the file has it (whole
examinations on one side), else image by image. A file with fewer than 3 subjects cannot give
each side one: the script refuses it with a one-line error (exit 2); ``--split image`` is then
the only, leaky, way. Trains ``medlab.segmentation.RECIPE`` unchanged from file to file (a
4-level U-Net 8-16-32-64, BCE + soft Dice, Adam 3e-3 with cosine decay over the budget, best
epoch by validation loss, stopped by the wall clock); thresholds at 0.5 and reports on the test
split:

- ``test_dice``, ``test_iou`` (means over images);
- with pixel sizes and circumferences: ``hc_mae_mm`` and ``hc_median_mm``, the mean and median
  |HC of the ellipse fitted to the prediction - expert HC|, in mm, the fit's bias corrected
  by a factor learned on the training masks; ``--measure contour`` fits the ellipse to the
  sub-pixel 0.5 outline of the probabilities instead of the thresholded mask's pixels;
- the baselines of the same run, side by side: ``baseline_dice`` (the mean training mask,
  thresholded at 0.5: no learning) and ``floor_hc_mae_mm`` (the same ellipse fit on the
  expert's own test masks, with a correction factor learnt on the training masks (the recipe's
  own factor where ``--targets`` is ``mask``; with ``area`` or ``distance`` targets the recipe's
  factor is learnt on those): the best any mask at this size can do; without the factor the
  fit runs about 1 mm long, as lesson 12 prints);
- where the HC error comes from (``medlab.segmentation.hc_figures``): ``hc_signed_mm`` (mean
  predicted - expert: a bias, which a shifted outline level could remove), ``hc_share_over_5mm``
  (the share of images with an error > 5 mm: large failures) and ``hc_over_5mm_part`` (the share
  of the summed error they carry);
- ``val_dice`` (and ``val_hc_mae_mm``, ``val_hc_median_mm``, ``val_hc_signed_mm``, ...), on the
  validation subjects: judge a change of the recipe by them, so that the test figures stay a
  measurement; ``val_masks_multi_region``, ``val_masks_with_holes``, ``val_masks_at_edge``
  count the validation predictions whose fit a stray region, a hole or the image's edge could
  pull (``medlab.metrics.mask_defects``). Each seed's stderr line is followed by this diagnosis;
- ``train_seconds``, ``epochs_run``, ``load_1min`` (the machine's 1-minute load average at
  the end of the seed: time-budgeted figures depend on it) and the settings.

Options that change the recipe: ``--flip`` (train on the images and their left-right mirrors,
predict the mean of both); ``--targets area`` or ``distance`` (train on sub-pixel targets: the
ellipse fitted to each mask, anti-aliased or as a sigmoid of the signed distance to its outline,
``medlab.segmentation.ellipse_targets``; the HC correction is then learnt on those targets);
``--measure moments`` (the HC from the probability-weighted moments of the head's region,
``medlab.metrics.moment_circumference_mm``); ``--choose`` (try ``medlab.segmentation.CANDIDATES``, the recipe,
a 16-filter U-Net at 1e-3 and ``--flip``, each for 1/6 of the budget, keep the best by
validation Dice, train it from scratch for the other half: the budgets add up to one run's;
the JSON says what was ``chosen`` and each ``candidate_val_dice``). ``--level L`` takes the
outline for the HC at probability L instead of 0.5 (Dice stays at 0.5); ``--level choose``
picks it from ``medlab.segmentation.LEVELS`` (0.3 to 0.7) by the validation HC error after
training (``chosen_level``, ``level_val_hc_mae_mm``; the ``val_hc_...`` figures are then the
ones it was chosen by, optimistic) and prints the same network's figures at 0.5 beside
(``level05_...``) and, with ``--seeds`` 2 or more, the paired verdict of the test HC error
(``medlab.evidence.verdict``); the summary's diagnosis lists the level each seed chose (the JSON's
mean ``chosen_level`` is no seed's choice). A file without pixel sizes and circumferences has no
HC for ``--level`` to change: it is refused. ``--plain`` also trains
``medlab.segmentation.PLAIN_UNET`` on the same split for the same budget (a 3-level U-Net of 16
base filters, BCE, Adam at a constant 1e-3, batches of 8, the last epoch's weights) and prints
``plain_...`` figures and ``recipe_minus_plain_test_dice``. ``--seconds 0 --epochs N`` trains
exactly N epochs instead of a wall-clock budget: figures that do not depend on the machine's
load (the idle 2-core machine fits 26 to 27 epochs of the recipe on HC18 64 px in 110 s, 23
to 25 with ``--flip``).

``--split image`` splits image by image even when the file has subjects: the leaky split, to
measure how much it flatters the figures. With ``--seeds N`` it repeats for seeds 0..N-1 (split
and weights), prints one JSON line per seed and then one with the mean and standard deviation
(``..._sd``) of every figure.

    python benchmarks/segmentation.py --data medlab/data/files/hc18_64.npz --seeds 3
    python benchmarks/segmentation.py --data medlab/data/files/hc18_64.npz --seeds 3 --flip --measure contour
    python benchmarks/segmentation.py --data medlab/data/files/hc18_64.npz --seeds 3 --flip --level choose --seconds 0 --epochs 24
    python benchmarks/segmentation.py --data medlab/data/files/hc18_64.npz --seeds 3 --flip --targets area --measure contour
    python benchmarks/segmentation_targets.py --data medlab/data/files/hc18_64.npz --seeds 2 --flip --epochs 24   # validation only
    python benchmarks/hippocampus_slices.py /tmp/hippocampus_slices.npz   # 108 slices of 5 volumes
    python benchmarks/segmentation.py --data /tmp/hippocampus_slices.npz --seeds 3 --choose --plain --epochs 100000

Goals on HC18 64 px (2 cores, at most 120 s of training): Dice >= 0.970, HC MAE <= 2.0 mm,
median <= 1.5 mm (issue #30; the earlier goals were 0.965, 3.0 and 2.0). On any other 2-D
binary set: within 0.03 test Dice of the plain U-Net trained as long.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from medlab import evidence, metrics, segmentation  # segmentation imports TensorFlow, quietly (no stderr)
from medlab.data import load_masks

SUMMARISED = ("val_dice", "test_dice", "test_iou", "hc_mae_mm", "hc_median_mm", "hc_signed_mm",
              "hc_share_over_5mm", "hc_over_5mm_part", "val_hc_mae_mm", "val_hc_median_mm", "val_hc_signed_mm",
              "val_hc_share_over_5mm", "val_hc_over_5mm_part", "val_masks_multi_region", "val_masks_with_holes",
              "val_masks_at_edge", "chosen_level", "level05_hc_mae_mm", "level05_hc_median_mm",
              "level05_hc_signed_mm", "level05_val_hc_mae_mm", "level05_val_hc_median_mm",
              "level05_val_hc_signed_mm", "baseline_dice", "floor_hc_mae_mm", "train_seconds", "epochs_run",
              "plain_val_dice", "plain_test_dice", "plain_hc_mae_mm", "plain_hc_median_mm",
              "plain_epochs_run", "recipe_minus_plain_test_dice", "load_1min")


def baselines(data, seed, recipe, split="grouped"):
    """Figures without learning, on the test split of ``seed``: mean-mask Dice, ellipse floor."""
    train, _, test = segmentation.split_masks(data, seed, split, recipe["val_fraction"], recipe["test_fraction"])
    mean_mask = (train.masks.mean(axis=0) >= 0.5).astype(np.uint8)
    out = {"baseline_dice": metrics.dice(test.masks, np.broadcast_to(mean_mask, test.masks.shape))}
    if train.pixel_size_mm is not None and train.head_circumference_mm is not None:
        measure = recipe.get("measure", "mask")
        factor = segmentation.circumference_correction(train.masks, train.pixel_size_mm,
                                                       train.head_circumference_mm, measure)
        floor = segmentation.measure_circumferences(test.masks.astype(np.float32), test.pixel_size_mm, measure)
        out["floor_hc_mae_mm"] = metrics.mean_absolute_difference(test.head_circumference_mm, floor * factor)
    return out


def run_seed(data, seed, recipe, split="grouped", choose=False, plain=False):
    """One seed: the recipe's figures, the baselines and (``plain``) the plain U-Net's, as one dict."""
    result = segmentation.run_recipe(data, seed=seed, recipe=recipe, split=split, choose=choose)
    result.update(baselines(data, seed, {**segmentation.RECIPE, **segmentation.RECIPE_OPTIONS, **recipe}, split))
    if plain:  # the same split, budget and measurement; only the network and its training differ
        budget = {k: recipe[k] for k in ("epochs", "time_budget_s", "measure") if k in recipe}
        other = segmentation.run_recipe(data, seed=seed, recipe={**budget, **segmentation.PLAIN_UNET}, split=split)
        result.update({f"plain_{k}": other[k] for k in ("val_dice", "test_dice", "hc_mae_mm", "hc_median_mm",
                                                         "train_seconds", "epochs_run") if k in other})
        result["recipe_minus_plain_test_dice"] = result["test_dice"] - other["test_dice"]
    result["load_1min"] = os.getloadavg()[0]
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


def diagnosis(row, chosen_levels=None):
    """One line of where the HC error comes from (validation, then test): bias or failures.

    ``chosen_levels``: for a summary of seeds, the level each seed chose (a summary's mean
    ``chosen_level`` is a level no seed may have chosen: it is not printed as a choice)."""
    def hc(prefix):
        return (f"HC error {row[prefix + 'hc_mae_mm']:.2f} mm (median {row[prefix + 'hc_median_mm']:.2f}, signed "
                f"{row[prefix + 'hc_signed_mm']:+.2f}; {row[prefix + 'hc_share_over_5mm']:.1%} of images over 5 mm, "
                f"carrying {row[prefix + 'hc_over_5mm_part']:.0%} of the error)")
    text = (f"validation predictions with more than one region / holes / pixels on the image edge: "
            f"{row['val_masks_multi_region']:g} / {row['val_masks_with_holes']:g} / {row['val_masks_at_edge']:g}")
    if "val_hc_mae_mm" in row:
        text += f"; {hc('val_')}; test: {hc('')}"
    if chosen_levels is not None:
        text += f"; outline levels chosen by validation HC error, seed by seed: {', '.join(map(format, chosen_levels))}"
    elif "chosen_level" in row:
        text += f"; outline level {row['chosen_level']:g} chosen by validation HC error"
        if "level_val_hc_mae_mm" in row:
            text += f" {row['level_val_hc_mae_mm']} at {list(segmentation.LEVELS)}"
    if "level05_hc_mae_mm" in row:
        text += (f"; at level 0.5 (the recipe's): validation {row['level05_val_hc_mae_mm']:.2f} mm (median "
                 f"{row['level05_val_hc_median_mm']:.2f}, signed {row['level05_val_hc_signed_mm']:+.2f}), test "
                 f"{row['level05_hc_mae_mm']:.2f} mm (median {row['level05_hc_median_mm']:.2f})")
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with images and masks (optionally "
                        "pixel_size_mm, head_circumference_mm, subject)")
    parser.add_argument("--seeds", type=int, default=1, help="repeat for seeds 0..N-1 (default 1)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"override the recipe's epochs ({segmentation.RECIPE['epochs']}): the most it "
                             "runs, or, with --seconds 0, exactly how many")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"override the training budget ({segmentation.RECIPE['time_budget_s']} s); 0: "
                             "no wall-clock budget, train --epochs (figures that do not depend on the load)")
    parser.add_argument("--split", choices=("grouped", "image"), default="grouped",
                        help="grouped: by subject when the file has it (default); image: image by "
                             "image, to measure what a leaky split changes")
    parser.add_argument("--base-filters", type=int, default=None, help="override the U-Net width (tests)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"override the recipe's batch size ({segmentation.RECIPE['batch_size']})")
    parser.add_argument("--measure", choices=segmentation.MEASURES, default=None,
                        help="HC from the thresholded mask's moments (the recipe's), from an ellipse "
                             "fitted to the probabilities' sub-pixel 0.5 outline (contour), or from the "
                             "probability-weighted moments of the head's region (moments)")
    parser.add_argument("--targets", choices=segmentation.TARGETS, default=None,
                        help="train on the 0/1 masks (the recipe's) or on the ellipse fitted to each mask "
                             "drawn with sub-pixel detail: the share of each pixel inside it (area) or a "
                             "sigmoid of the signed distance to its outline (distance)")
    parser.add_argument("--level", default=None,
                        help="the probability at which the outline is taken for the HC (default 0.5), or "
                             "'choose': the one of medlab.segmentation.LEVELS with the lowest validation HC error")
    parser.add_argument("--flip", action="store_true",
                        help="train on the images and their left-right mirrors, predict the mean of both")
    parser.add_argument("--choose", action="store_true",
                        help="the recipe first tries medlab.segmentation.CANDIDATES on the validation "
                             "subjects with half the budget, then trains the best with the other half")
    parser.add_argument("--plain", action="store_true",
                        help="also train the plain U-Net (medlab.segmentation.PLAIN_UNET) on the same "
                             "split for the same budget, and print both")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    try:
        data = load_masks(args.data)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    if args.level not in (None, "choose"):
        try:
            args.level = float(args.level)
        except ValueError:
            parser.error(f"--level must be a number in (0, 1) or 'choose', got {args.level!r}")
        if not 0 < args.level < 1:
            parser.error(f"--level must be a number in (0, 1) or 'choose', got {args.level}")
    if args.level is not None and (data.pixel_size_mm is None or data.head_circumference_mm is None):
        parser.error(f"--level {args.level}: {args.data} has no pixel_size_mm and head_circumference_mm, "
                     "so no head circumference for an outline level to change (Dice is at 0.5)")
    if args.seconds is not None and args.seconds < 0:
        parser.error(f"--seconds must be 0 (no budget) or more, got {args.seconds}")
    overrides = {"epochs": args.epochs, "time_budget_s": args.seconds,
                 "base_filters": args.base_filters, "batch_size": args.batch_size, "measure": args.measure,
                 "flip": args.flip or None, "level": args.level,
                 "targets": args.targets}
    recipe = {k: v for k, v in overrides.items() if v is not None}
    if args.seconds == 0:
        recipe["time_budget_s"] = None
    split = "subject" if data.subject is not None and args.split == "grouped" else "image"
    if split == "subject" and len(np.unique(data.subject)) < 3:
        parser.error(f"{args.data}: {len(np.unique(data.subject))} subject(s); a split by subject into train, "
                     "validation and test needs at least 3 (--split image splits image by image, leaky)")
    settings = {**segmentation.RECIPE, **segmentation.RECIPE_OPTIONS, **recipe, "split": split,
                "choose": args.choose}
    rows = []
    for seed in range(args.seeds):
        row = {"seed": seed, **run_seed(data, seed, recipe, args.split, args.choose, args.plain),
               "settings": settings}
        rows.append(row)
        print(json.dumps(row), flush=True)
        hc = (f", HC error {row['hc_mae_mm']:.2f} mm (median {row['hc_median_mm']:.2f}; floor "
              f"{row['floor_hc_mae_mm']:.2f})" if "hc_mae_mm" in row else "")
        chose = f"; chose {row['chosen']} (val Dice {row['candidate_val_dice']})" if args.choose else ""
        plain = (f"; plain U-Net Dice {row['plain_test_dice']:.4f} ({row['plain_epochs_run']} epochs)"
                 if args.plain else "")
        print(f"seed {seed}: Dice {row['test_dice']:.4f} (mean-mask baseline "
              f"{row['baseline_dice']:.3f}), IoU {row['test_iou']:.4f}{hc}; {row['epochs_run']} "
              f"epochs in {row['train_seconds']:.0f} s{chose}{plain}; load {row['load_1min']:.1f}",
              file=sys.stderr)
        if "val_dice" in row:
            print(f"  {diagnosis(row)}", file=sys.stderr)
    if args.seeds > 1:
        summary = summarise(rows)
        print(json.dumps({**summary, "settings": settings}), flush=True)
        if "val_dice" in summary:
            levels = [row["chosen_level"] for row in rows] if all("chosen_level" in row for row in rows) else None
            print(f"mean of {args.seeds} seeds: {diagnosis(summary, levels)}", file=sys.stderr)
        if all("level05_hc_mae_mm" in row for row in rows):  # the level's effect, paired seed by seed
            print(evidence.verdict([row["hc_mae_mm"] for row in rows], [row["level05_hc_mae_mm"] for row in rows],
                                   (f"outline level {args.level}", "level 0.5"), "test HC error (mm)",
                                   higher_is_better=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
