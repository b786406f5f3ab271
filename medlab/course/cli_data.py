"""``medlab data ...``: make, download, convert and inspect data sets.

Registered by importing this module (:mod:`medlab.course.cli` does); like the rest of the
command line it imports only the standard library at the top, the data modules in the
handlers.
"""

from __future__ import annotations

import collections
from pathlib import Path

from medlab.course.commands import CLIError, register_command, show_progress

# --------------------------------------------------------------------------
# medlab data ...
# --------------------------------------------------------------------------
@register_command("data", help="make, download, convert and inspect data sets")
def _configure_data(parser):
    actions = parser.add_subparsers(title="data commands", metavar="COMMAND", dest="data_command",
                                    required=True)

    synth = actions.add_parser(
        "synth", help="write synthetic chest X-rays as a MedMNIST .npz",
        description="Draw synthetic chest X-rays (medlab.data.synthetic_chest) and write them "
                    "in the MedMNIST .npz format: train/val/test 70/15/15, images uint8 "
                    "(N, S, S), labels uint8 (N, 1) with 0 = normal, 1 = pneumonia.")
    synth.add_argument("--n", type=int, default=1000,
                       help="number of images, at least 7 (default 1000)")
    synth.add_argument("--size", type=int, default=64,
                       help=f"image side in pixels, 16 to {MAX_SYNTH_SIZE} (default 64)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument("--prevalence", type=float, default=0.5,
                       help="fraction of pneumonia images (default 0.5)")
    synth.add_argument("--out", required=True, metavar="FILE.npz", help="file to write")
    synth.add_argument("--force", action="store_true", help="overwrite FILE.npz if it exists")
    synth.set_defaults(handler=_data_synth)

    from medlab.data.medmnist import medmnist_flags  # numpy only

    fetch = actions.add_parser(
        "fetch", help="download an official MedMNIST .npz (MD5 checked)",
        description="Download an official MedMNIST file from Zenodo once, check its MD5 and "
                    "save it as ROOT/FLAG.npz (or ROOT/FLAG_SIZE.npz). Flags: "
                    + ", ".join(medmnist_flags()) + ".")
    fetch.add_argument("flag", metavar="FLAG", help="data set, e.g. pneumoniamnist")
    fetch.add_argument("--size", type=int, default=28, choices=(28, 64, 128, 224),
                       help="image side in pixels (default 28)")
    fetch.add_argument("--root", default=None,
                       help="folder to save into "
                            "(default: $MEDLAB_DATA, else the checkout's data/)")
    fetch.set_defaults(handler=_data_fetch)

    export = actions.add_parser(
        "export", help="write one split of a MedMNIST .npz as PNG class folders",
        description="Write the images of one split of a MedMNIST .npz as PNG files in "
                    "OUT/<class>/<index>.png, the layout image_folder_dataset reads.")
    export.add_argument("npz", metavar="NPZ", help="MedMNIST .npz file")
    export.add_argument("--split", default="train", choices=("train", "val", "test"),
                        help="split to export (default train)")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--limit", type=int, default=None, metavar="N",
                        help="export only the first N images")
    export.add_argument("--classes", default="normal,pneumonia",
                        help="comma-separated folder name of each label value "
                             "(default normal,pneumonia)")
    export.add_argument("--force", action="store_true",
                        help="replace an earlier export in DIR entirely (DIR must hold only "
                             "class folders of images)")
    export.set_defaults(handler=_data_export)

    info = actions.add_parser(
        "info", help="describe a .npz, DICOM, NIfTI file or image folder",
        description="Say what PATH holds: splits, shapes, dtypes and class balance of a .npz; "
                    "modality, units, spacing and value range of a DICOM or NIfTI file; "
                    "classes, counts and image sizes of an image folder, after checking that "
                    "TensorFlow's decoder reads every image in it.")
    info.add_argument("path", metavar="PATH")
    info.add_argument("--color-mode", choices=("grayscale", "rgb", "rgba"), default=None,
                      help="image folders: the color mode the images will be read in "
                           "(default grayscale, as medlab's loaders read them)")
    info.set_defaults(handler=_data_info)


#: Largest ``--size`` of ``medlab data synth`` (pixels): 4096 x 4096 is a large chest film.
MAX_SYNTH_SIZE = 4096


def _synth_split_sizes(n):
    n_val = n_test = n * 15 // 100
    return n - n_val - n_test, n_val, n_test


def _data_synth(args):
    if args.n < 7:
        raise CLIError(
            f"--n {args.n}: expected at least 7 images, so that val and test get one each")
    if not 16 <= args.size <= MAX_SYNTH_SIZE:
        raise CLIError(f"--size {args.size}: expected an image side from 16 to {MAX_SYNTH_SIZE} "
                       "pixels")
    if not 0.0 <= args.prevalence <= 1.0:
        raise CLIError(f"--prevalence {args.prevalence}: expected a fraction from 0 to 1")
    out = Path(args.out)
    if out.suffix != ".npz":
        raise CLIError(f"--out {out}: expected a file name ending in .npz")
    _check_output_path("--out", out, folder=False,
                       expected="a .npz file name (its folder is created if missing)")
    if out.exists() and not args.force:
        raise CLIError(f"{out} exists; pass --force to overwrite it")
    import numpy as np

    from medlab import data, validate
    from medlab.data.medmnist import save_medmnist
    from medlab.data.synthetic import check_memory
    from medlab.imaging import to_uint8

    try:
        validate.integer("--seed", args.seed, low=0)
    except validate.ArgumentError as error:
        raise CLIError(str(error)) from None
    try:  # before anything is allocated
        check_memory(args.n, args.size)
    except ValueError as error:
        raise CLIError(f"--n {args.n} --size {args.size}: {error}") from None
    images, labels = data.synthetic_chest(n=args.n, size=args.size, seed=args.seed,
                                          prevalence=args.prevalence)
    images = to_uint8(images)
    labels = np.asarray(labels).astype(np.uint8).reshape(-1, 1)
    n_train, n_val, _ = _synth_split_sizes(args.n)
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val),
              "test": (n_train + n_val, args.n)}
    splits = {name: (images[a:b], labels[a:b]) for name, (a, b) in bounds.items()}
    save_medmnist(out, splits, overwrite=args.force)
    counts = ", ".join(f"{name} {len(split[0])}" for name, split in splits.items())
    print(f"wrote {out}: {counts} images of {args.size}x{args.size}, "
          f"{int(labels.sum())} of {args.n} with pneumonia")
    return 0


def _check_output_path(option, path, *, folder, expected):
    """Refuse at once an output path that is (or runs through) the wrong kind of thing.

    ``folder``: ``path`` must be a folder (or not exist yet), else a file name. Every
    existing folder above it must be a folder, not a file.
    """
    if path.exists():
        if folder and not path.is_dir():
            raise CLIError(f"{option} {path} is a file, not a folder; expected {expected}")
        if not folder and path.is_dir():
            raise CLIError(f"{option} {path} is a folder; expected {expected}")
        return
    above = next((parent for parent in path.parents if parent.exists()), None)
    if above is not None and not above.is_dir():
        raise CLIError(f"{option} {path}: {above} is a file, not a folder; expected {expected}")


def _data_fetch(args):
    from medlab.data.downloads import default_data_root
    from medlab.data.medmnist import fetch_medmnist, medmnist_filename

    root = Path(args.root) if args.root else default_data_root()
    _check_output_path("--root" if args.root else "the data folder", root, folder=True,
                       expected="a folder to save the download into (created if missing)")
    existed = (root / medmnist_filename(args.flag.lower(), args.size)).exists()
    path = fetch_medmnist(args.flag, size=args.size, root=root, progress=show_progress())
    print(f"{path}: {'already here' if existed else 'downloaded'}, MD5 verified")
    return 0


def _data_export(args):
    from medlab.data import export_image_folder, load_medmnist
    from medlab.data.folders import check_class_names

    try:
        classes = check_class_names([name.strip() for name in args.classes.split(",")],
                                    "--classes")
    except ValueError as error:
        raise CLIError(str(error)) from None
    if args.limit is not None and args.limit < 1:
        raise CLIError(f"--limit {args.limit}: expected a positive number of images")
    _check_output_path("--out", Path(args.out), folder=True,
                       expected="a folder to write the class folders into (created if missing)")
    images, labels = load_medmnist(args.npz)[args.split]
    if len(images) == 0:
        raise CLIError(f"{args.npz}: its {args.split} split holds 0 images; expected at least "
                       "one to export (choose another --split)")
    if labels.shape[1] != 1:
        raise CLIError(f"{args.npz}: {args.split}_labels has {labels.shape[1]} label columns "
                       "(multi-label); export writes one class folder per image, so it needs one")
    if args.limit is not None:
        images, labels = images[: args.limit], labels[: args.limit]
    if labels.size and labels.max() >= len(classes):
        raise CLIError(f"{args.npz}: {args.split}_labels has label {labels.max()} but --classes "
                       f"names only {len(classes)} classes ({args.classes})")
    try:
        written = export_image_folder(images, labels[:, 0], classes, args.out,
                                      overwrite=args.force, progress=show_progress())
    except FileExistsError as exc:
        first = str(exc).split(" exists;")[0]
        raise CLIError(f"{first} exists; nothing was written. Pass --force to replace the "
                       f"earlier export in {args.out} entirely, or choose another --out") from None
    counts = collections.Counter(int(label) for label in labels[:, 0])
    per_class = ", ".join(f"{name}: {counts.get(i, 0)}" for i, name in enumerate(classes))
    print(f"wrote {len(written)} PNG files to {args.out} ({per_class})")
    return 0


# ---- medlab data info ------------------------------------------------------
def _data_info(args):
    from medlab.files import regular_file

    path = Path(args.path)
    if args.color_mode is not None and path.exists() and not path.is_dir():
        raise CLIError(f"--color-mode {args.color_mode}: used only with an image folder, "
                       f"and {path} is a file")
    if not path.is_dir():  # a FIFO or device is refused before anything opens it
        regular_file(path, "a .npz, DICOM (.dcm), NIfTI (.nii, .nii.gz) file or an image folder")
    if path.is_dir():
        lines = _describe_folder(path, args.color_mode or "grayscale")
    elif path.suffix == ".npz":
        lines = _describe_npz(path)
    elif path.name.endswith((".nii", ".nii.gz")):
        lines = _describe_sample(path, "NIfTI")
    elif path.suffix.lower() in (".dcm", ".dicom") or _has_dicom_marker(path):
        lines = _describe_sample(path, "DICOM")
    else:
        raise CLIError(f"{path}: cannot tell what this is; expected a .npz, DICOM (.dcm), "
                       "NIfTI (.nii, .nii.gz) file or an image folder")
    print("\n".join(lines))
    return 0


def _has_dicom_marker(path):
    with open(path, "rb") as handle:
        return handle.read(132)[128:132] == b"DICM"


def _class_names_for(path):
    from medlab.data.medmnist import MEDMNIST_CLASSES

    return MEDMNIST_CLASSES.get(path.stem.split("_")[0])


def _balance(labels, names):
    if labels.shape[1] > 1:  # multi-label: positives per column
        positives = labels.sum(axis=0)
        parts = [f"{names[i] if names else i}: {int(c)}" for i, c in enumerate(positives)]
        return "positives per label: " + ", ".join(parts)
    counts = collections.Counter(int(v) for v in labels[:, 0])
    total = max(len(labels), 1)
    parts = []
    for value in sorted(counts):
        name = f" {names[value]}" if names and value < len(names) else ""
        parts.append(f"{value}{name}: {counts[value]} ({100 * counts[value] / total:.1f}%)")
    return ", ".join(parts)


def _describe_npz(path):
    from medlab.data.medmnist import load_medmnist
    from medlab.data.npz import load_array, open_npz

    try:
        splits = load_medmnist(path)
    except ValueError as problem:
        try:
            with open_npz(path, "an .npz archive") as archive:
                lines = [f"{path}: .npz archive, not in MedMNIST format ({problem})"]
                for key in archive.files:
                    try:
                        array = load_array(archive, key)
                        lines.append(f"  {key}: {array.shape} {array.dtype}")
                    except ValueError as damage:  # damaged, or an object array: not loaded
                        lines.append(f"  {key}: {damage}")
                return lines
        except Exception:
            raise problem from None
    names = _class_names_for(path)
    first = splits["train"].images
    kind = "colour" if first.ndim == 4 else "grey"
    total = sum(len(s.images) for s in splits.values())
    lines = [f"{path}: MedMNIST .npz, {total} images, {first.shape[1]}x{first.shape[2]} {kind}, "
             f"images {first.dtype}, labels {splits['train'].labels.dtype}"]
    for name, split in splits.items():
        lines.append(f"  {name:<5} {len(split.images):>7} images {str(split.images.shape):<22} "
                     f"labels {str(split.labels.shape):<12} {_balance(split.labels, names)}")
    return lines


def _describe_sample(path, kind):
    import numpy as np

    from medlab.data import read_dicom, read_nifti

    scan = read_dicom(path) if kind == "DICOM" else read_nifti(path)
    pixels = scan.pixels
    spacing = "unknown"
    if scan.spacing is not None:
        spacing = " x ".join(f"{s:g}" for s in scan.spacing) + " mm"
    lines = [
        f"{path}: {kind} " + (scan.modality if kind == "DICOM" else f"{pixels.ndim}-D volume"),
        f"  pixels   {pixels.shape} {pixels.dtype}, axes {', '.join(scan.axes)}",
        f"  values   {float(np.nanmin(pixels)):g} .. {float(np.nanmax(pixels)):g} {scan.units}",
        f"  spacing  {spacing}",
    ]
    for key, value in scan.info.items():
        if value not in (None, "") and key != "affine":
            lines.append(f"  {key:<8} {value}")
    return lines


def _describe_folder(path, color_mode):
    from medlab.data import check_image_folder

    looks = {}
    classes = check_image_folder(path, looks=looks, color_mode=color_mode)
    total = sum(len(files) for files in classes.values())
    lines = [f"{path}: image folder, {len(classes)} classes, {total} images"]
    for label, (name, files) in enumerate(classes.items()):
        counts = collections.Counter(
            f"{looks[file][1]}x{looks[file][0]} {looks[file][2]}" for file in files)
        common = ", ".join(f"{look} ({count})" for look, count in counts.most_common(3))
        share = 100 * len(files) / total
        lines.append(f"  {label} {name:<12} {len(files):>7} images ({share:.1f}%)  {common}")
    return lines
