"""Validation-only comparison of training targets for the head circumference (issue #30).

For each seed and each ``--targets`` kind (``medlab.segmentation.TARGETS``: the 0/1 masks, or
the ellipse fitted to each mask drawn with sub-pixel detail, "area" or "distance"), trains
``medlab.segmentation.RECIPE`` with the given options for a fixed number of epochs (no
wall-clock budget: figures that do not depend on the load) on the split of that seed, and
measures the **validation** examinations only (the test split is never predicted) with every
measure (``medlab.segmentation.MEASURES``: mask, contour, moments), at level 0.5 and at the
level of ``medlab.segmentation.LEVELS`` with the lowest validation HC error (optimistic: chosen
on the same images). One JSON line per (seed, targets); then, for every target kind against
the first, the paired verdict (``medlab.evidence.verdict``) of the validation HC error at 0.5
per measure over the seeds.

    python benchmarks/segmentation_targets.py --data medlab/data/files/hc18_64.npz --seeds 2 --flip --epochs 24
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from medlab import evidence, metrics, segmentation
from medlab.data import load_masks


def validation_figures(data, seed, settings):
    """Train ``settings`` on the split of ``seed``; validation Dice and HC errors per measure."""
    train, val, _ = segmentation.split_masks(data, seed, "grouped", settings["val_fraction"], settings["test_fraction"])
    model, history = segmentation.train_settings(train, val, settings, seed)
    p_val = segmentation._probabilities(model, val.images, settings)
    targets = segmentation.training_targets(train.masks, settings["targets"])
    row = {"val_dice": metrics.dice(val.masks, segmentation.threshold_masks(p_val)),
           "epochs_run": history["epochs_run"], "train_seconds": history["train_seconds"]}
    for measure in segmentation.MEASURES:
        correction = segmentation.circumference_correction(targets, train.pixel_size_mm,
                                                           train.head_circumference_mm, measure)
        at05 = segmentation.hc_figures(val, p_val, correction, measure, 0.5)
        level, errors = segmentation.choose_level(p_val, val.pixel_size_mm, val.head_circumference_mm,
                                                  correction, measure)
        chosen = segmentation.hc_figures(val, p_val, correction, measure, level)
        row.update({f"{measure}_hc_mae_mm": at05["hc_mae_mm"], f"{measure}_hc_median_mm": at05["hc_median_mm"],
                    f"{measure}_hc_signed_mm": at05["hc_signed_mm"], f"{measure}_chosen_level": level,
                    f"{measure}_chosen_hc_mae_mm": chosen["hc_mae_mm"],
                    f"{measure}_chosen_hc_median_mm": chosen["hc_median_mm"]})
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with images, masks, pixel_size_mm, "
                        "head_circumference_mm and subject")
    parser.add_argument("--seeds", type=int, default=2, help="how many seeds (default 2)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first seed (default 0): seeds first .. first + seeds - 1")
    parser.add_argument("--epochs", type=int, default=24, help="exactly this many epochs (default 24)")
    parser.add_argument("--targets", nargs="+", default=list(segmentation.TARGETS),
                        choices=segmentation.TARGETS, help="target kinds; the first is the reference")
    parser.add_argument("--flip", action="store_true", help="train on mirrors too, predict the mean")
    parser.add_argument("--base-filters", type=int, default=None, help="override the U-Net width (tests)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1 or args.first_seed < 0:
        parser.error(f"--seeds and --epochs must be at least 1 and --first-seed at least 0, got {args.seeds}, "
                     f"{args.epochs} and {args.first_seed}")
    if len(set(args.targets)) != len(args.targets):
        parser.error(f"--targets {' '.join(args.targets)}: expected distinct kinds (the first is the reference)")
    if args.base_filters is not None and args.base_filters < 1:
        parser.error(f"--base-filters {args.base_filters}: expected an integer >= 1")
    try:
        data = load_masks(args.data)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    if data.pixel_size_mm is None or data.head_circumference_mm is None or data.subject is None:
        parser.error(f"{args.data}: expected pixel_size_mm, head_circumference_mm and subject")
    rows = {kind: [] for kind in args.targets}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for kind in args.targets:
            settings = {**segmentation.RECIPE, **segmentation.RECIPE_OPTIONS, "epochs": args.epochs,
                        "time_budget_s": None, "flip": args.flip, "targets": kind}
            if args.base_filters is not None:
                settings["base_filters"] = args.base_filters
            row = {"seed": seed, "targets": kind, **validation_figures(data, seed, settings),
                   "load_1min": round(os.getloadavg()[0], 2)}
            rows[kind].append(row)
            print(json.dumps(row), flush=True)
    reference = args.targets[0]
    for kind in args.targets[1:]:
        for measure in segmentation.MEASURES:
            key = f"{measure}_hc_mae_mm"
            if args.seeds > 1:
                print(evidence.verdict([r[key] for r in rows[kind]], [r[key] for r in rows[reference]],
                                       (f"{kind} targets", f"{reference} targets"),
                                       f"validation HC error, {measure} (mm)", higher_is_better=False),
                      file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
