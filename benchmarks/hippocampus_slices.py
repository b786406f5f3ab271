"""Write a small 2-D binary mask file from the shipped 3-D hippocampus volumes.

The first ``--volumes`` volumes of the test split, each a "patient": its slices along axis 0
that show the hippocampus (about 20 per volume, 56 x 40 pixels of 1 mm), labels 1 and 2 merged
into one structure, ``subject`` = the volume's id (``medlab.data.hippocampus_slices``), written
with ``medlab.data.save_masks``. Like the issue #30 filer's held-out set (about 100 slices of 5
patients, one structure), to check that ``benchmarks/segmentation.py`` is not fitted to HC18:

    python benchmarks/hippocampus_slices.py /tmp/hippocampus_slices.npz
    python benchmarks/segmentation.py --data /tmp/hippocampus_slices.npz --seeds 3 --choose --plain --epochs 100000

The file derives from MSD Task04 and keeps its licence, CC BY-SA 4.0.
"""

from __future__ import annotations

import argparse
import sys

from medlab.data import hippocampus_slices, save_masks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the .npz to write")
    parser.add_argument("--volumes", type=int, default=5, help="volumes (patients) to slice (default 5)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    try:
        data = hippocampus_slices(volumes=args.volumes)
        path = save_masks(args.out, data, overwrite=args.overwrite)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    print(f"{path}: {data.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
