"""3-D segmentation benchmark: a 3-D U-Net and the 2-D slice-by-slice baseline on labelled volumes.

Reads any ``.npz`` with the keys of the shipped hippocampus file (``medlab.data.load_hippocampus``'s
format): ``{train,val,test}_images`` (N, D, H, W) uint8, ``{train,val,test}_masks`` (class
numbers, 0 background, 1 and 2 the two structures), ``spacing_mm`` (3 voxel sizes in mm); any
number of volumes per split. Volumes whose sides are not divisible by the networks' stride
(2 ** depth: 8 for the 2-D U-Net) are zero-padded at the end of each axis, and the padding cut
off again before measuring. For each seed it trains ``medlab.volumes.RECIPES["3d"]`` and
``["2d"]`` on the train split (each for at most ``time_budget_s`` seconds, the epoch with the
lowest validation loss kept) and reports on the test split:

- ``test_dice_anterior``, ``test_dice_posterior``, ``test_dice_mean`` (of the two structures),
  ``test_dice_whole`` (both as one), means over volumes;
- ``hd95_mm``, the 95th-percentile Hausdorff distance in mm (spacing-aware), mean over volumes
  and both structures (``hd95_undefined`` counts empty predictions, left out);
- ``volume_error_pct``: mean |predicted - reference| / reference of the whole hippocampus's
  volume in mm³, in %; ``volume_bias_pct`` its signed mean;
- the same after largest-connected-component post-processing (``..._lcc``);
- ``val_dice_mean`` (judge a change of the recipe by it), ``train_seconds``, ``epochs_run``;
- the 2-D baseline's figures beside them, prefixed ``2d_``.

With ``--seeds N`` it repeats for seeds 0..N-1, prints one JSON line per seed and then one with
the mean and standard deviation (``..._sd``) of every figure and the load average.

    python benchmarks/segmentation3d.py --data medlab/data/files/hippocampus3d.npz --seeds 3

Goals (2 cores, at most 120 s of training per network): mean Dice of the two structures
>= 0.87 (stretch 0.89).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from _common import load_average

from medlab import volumes  # imports no TensorFlow until it trains
from medlab.data.hippocampus import VolumeSet, VolumeSplit

SPLITS = ("train", "val", "test")
FIGURES = ("test_dice_anterior", "test_dice_posterior", "test_dice_mean", "test_dice_whole", "hd95_mm",
           "volume_error_pct", "volume_bias_pct", "test_dice_mean_lcc", "hd95_mm_lcc", "volume_error_pct_lcc",
           "val_dice_mean", "train_seconds", "epochs_run")


def load_volumes(path, multiple_of=8):
    """The file's splits as a :class:`VolumeSet`, each volume zero-padded to sides divisible by
    ``multiple_of``; returns (volume set, original (D, H, W))."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {f"{s}_{k}": np.asarray(data[f"{s}_{k}"]) for s in SPLITS for k in ("images", "masks")}
            spacing = tuple(float(v) for v in np.asarray(data["spacing_mm"]).reshape(-1))
    except KeyError as exc:
        raise ValueError(f"{path}: no key {exc}: expected {{train,val,test}}_images, _masks and spacing_mm")
    shape = arrays["train_images"].shape[1:]
    if len(shape) != 3 or len(spacing) != 3:
        raise ValueError(f"{path}: volumes of shape {shape} and spacing {spacing}: expected (N, D, H, W) and 3 sizes")
    for key, a in arrays.items():
        if a.shape[1:] != shape or a.ndim != 4:
            raise ValueError(f"{path}: {key} has shape {a.shape}: expected (N, {', '.join(map(str, shape))})")
        if key.endswith("images") and a.dtype != np.uint8:
            raise ValueError(f"{path}: {key} has dtype {a.dtype}: expected uint8")
    if len(arrays["train_images"]) == 0 or len(arrays["test_images"]) == 0:
        raise ValueError(f"{path}: the train and test splits need at least one volume each")
    pad = [(0, 0)] + [(0, -s % multiple_of) for s in shape]
    splits = {}
    for s in SPLITS:
        images, masks = (np.pad(arrays[f"{s}_{k}"], pad) for k in ("images", "masks"))
        n = len(images)
        splits[s] = VolumeSplit(images, masks.astype(np.uint8), np.arange(n), np.tile(shape, (n, 1)))
    return VolumeSet(splits, spacing, ("background", "anterior", "posterior")), shape


def run_seed(data, shape, seed, overrides):
    """One seed: the 3-D recipe's figures and the 2-D baseline's (prefixed ``2d_``), rounded."""
    row = {}
    for method, prefix in (("3d", ""), ("2d", "2d_")):
        result = volumes.run_recipe(data, method, seed=seed, recipe=overrides, measure_shape=shape)
        row.update({f"{prefix}{k}": round(v, 4) if isinstance(v, float) else v for k, v in result.items()})
    return row


def summarise(rows):
    """Mean and standard deviation (ddof 0) of every figure present in all rows."""
    out = {"seeds": len(rows)}
    for prefix in ("", "2d_"):
        for key in FIGURES:
            values = [row.get(prefix + key) for row in rows]
            if all(v is not None for v in values):
                values = np.array(values, dtype=np.float64)
                out[prefix + key] = round(float(np.nanmean(values)), 4)
                out[f"{prefix}{key}_sd"] = round(float(np.nanstd(values)), 4)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with {train,val,test}_images, _masks, spacing_mm")
    parser.add_argument("--seeds", type=int, default=1, help="repeat for seeds 0..N-1 (default 1)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipes' epochs (tests)")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"override the training budget per network ({volumes.RECIPES['3d']['time_budget_s']} s)")
    parser.add_argument("--base-filters", type=int, default=None, help="override the U-Nets' width (tests)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    try:
        data, shape = load_volumes(args.data)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    overrides = {k: v for k, v in {"epochs": args.epochs, "time_budget_s": args.seconds,
                                   "base_filters": args.base_filters}.items() if v is not None}
    settings = {m: {**volumes.RECIPES[m], **overrides} for m in ("3d", "2d")}
    rows = []
    for seed in range(args.seeds):
        row = {"seed": seed, **run_seed(data, shape, seed, overrides), "load_average": load_average(),
               "settings": settings}
        rows.append(row)
        print(json.dumps(row), flush=True)
        print(f"seed {seed}: 3-D Dice anterior {row['test_dice_anterior']:.3f}, posterior "
              f"{row['test_dice_posterior']:.3f}, HD95 {row['hd95_mm']:.2f} mm, volume error "
              f"{row['volume_error_pct']:.1f} %; 2-D {row['2d_test_dice_mean']:.3f}", file=sys.stderr)
    if args.seeds > 1:
        print(json.dumps({**summarise(rows), "load_average": load_average(), "settings": settings}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
