"""The ``medlab`` command line.

::

    medlab data synth --n 1000 --out data/synth.npz     # synthetic chest X-rays, MedMNIST format
    medlab data fetch pneumoniamnist                     # official MedMNIST file, MD5 checked
    medlab data export data/synth.npz --out data/synth_png --split train
    medlab data info data/synth.npz                      # also DICOM, NIfTI, image folders
    medlab run notebooks/02_convolution.ipynb -p kernel_size 7       # papermill, into runs/
    medlab sweep notebooks/02_convolution.ipynb --grid kernel_size=3,5 stride=1,2 --jobs 2
    medlab sweep notebooks/02_convolution.ipynb --grid kernel_size=3,5 --cluster local  # Dask
    medlab course                                        # every lesson: is this machine ready?
    medlab exercises release                             # student notebooks, never over their work
    medlab exercises check
    medlab book                                          # the course as a website, build/book/html

Start-up stays under a second: this module imports only the standard library at the
top; each handler imports what it needs (numpy, the data modules, papermill in a child
process), and only the chosen command's parser is built. TensorFlow is never imported.

Also ``python -m medlab ...``. ``main(argv)`` returns the exit code: 0 on
success, 1 when the work fails (bad file, offline, ...), 2 for bad usage.
Errors are one line on stderr, ``medlab: error: ...``, without a traceback.

Adding a command
----------------
Register a function that configures the sub-parser and sets a handler::

    @register_command("train", help="train a model from a config file")
    def _configure_train(parser):
        parser.add_argument("config")
        parser.set_defaults(handler=_train)   # _train(args) -> int exit code

    def _train(args):
        ...
        return 0

Handlers raise ``CLIError`` (or ``ValueError`` / ``OSError``) with a
one-line message for expected failures. Commands defined in another module
are found if the module is listed in ``COMMAND_MODULES``; keep their top-level imports
light (``benchmarks/startup.py`` measures ``medlab --help``).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import signal
import sys
from pathlib import Path

#: Modules whose import registers further commands (besides this one).
COMMAND_MODULES: list[str] = []

_COMMANDS: dict[str, tuple[str, object]] = {}


class CLIError(Exception):
    """An expected failure; ``main`` prints it as ``medlab: error: <message>``."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors become one-line CLIErrors."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def register_command(name, help):
    """Decorator registering ``medlab <name>``.

    Parameters
    ----------
    name : str
        Sub-command name.
    help : str
        One line shown by ``medlab --help``.

    The decorated function receives the sub-command's ``argparse`` parser,
    adds arguments (or further sub-commands) and calls
    ``parser.set_defaults(handler=...)``; ``handler(args)`` returns the exit
    code.
    """

    def decorator(configure):
        _COMMANDS[name] = (help, configure)
        return configure

    return decorator


def build_parser(argv=None):
    """The ``medlab`` argument parser.

    Every registered command is listed; only the one named in ``argv`` (all of them when
    ``argv`` is None) gets its arguments, so ``medlab --help`` imports nothing heavy.
    """
    from medlab import __version__

    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = _Parser(
        prog="medlab",
        description="medlab: deep learning for medical image analysis, a teaching kit.",
    )
    parser.add_argument("--version", action="version", version=f"medlab {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command",
                                     required=True)
    chosen = None if argv is None else next((a for a in argv if a in _COMMANDS), "")
    for name, (help_text, configure) in _COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if chosen is None or name == chosen:
            configure(sub)
    return parser


def main(argv=None):
    """Run the ``medlab`` command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 success, 1 failure of the work, 2 bad usage, 130 interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args) or 0)
    except SystemExit as exc:  # --help and --version exit 0 from argparse
        return exc.code if isinstance(exc.code, int) else 0
    except CLIError as exc:
        print(f"medlab: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # includes FileNotFoundError, DownloadError
        print(f"medlab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("medlab: interrupted", file=sys.stderr)
        return 130


def _show_progress():
    """Progress bars only for a person watching a terminal."""
    return sys.stderr.isatty()


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
    path = fetch_medmnist(args.flag, size=args.size, root=root, progress=_show_progress())
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
                                      overwrite=args.force, progress=_show_progress())
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


# --------------------------------------------------------------------------
# medlab run / sweep / course  (logic in medlab.course.runs)
# --------------------------------------------------------------------------
def _add_parameter_option(parser, help):
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), dest="parameters", help=help)


def _terminate_as_interrupt(handler):
    """SIGTERM (``kill``, ``timeout``) stops the handler as Ctrl-C does: kernels shut
    down, temporary files removed, finished runs kept, exit code 130."""

    @functools.wraps(handler)
    def wrapper(args):
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        try:
            previous = signal.signal(signal.SIGTERM, interrupt)
        except ValueError:  # not the main thread: leave signals alone
            return handler(args)
        try:
            return handler(args)
        finally:
            signal.signal(signal.SIGTERM, previous)

    return wrapper


def _parameters(pairs):
    from medlab.course.runs import parse_value

    return {name: parse_value(value) for name, value in pairs}


def _add_timeout_option(parser):
    from medlab.course.runs import DEFAULT_TIMEOUT

    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"seconds one cell may run before the run is stopped as failed (default "
             f"{DEFAULT_TIMEOUT}; 0: no limit; a fraction is rounded up to whole seconds)")


def _add_cluster_options(parser):
    parser.add_argument(
        "--cluster", metavar="ADDRESS",
        help="run each notebook as a task on Dask distributed: 'local' starts a local cluster "
             "of worker processes (and stops it), tcp://HOST:8786 connects to a running "
             "scheduler. Outputs come back to this machine, into the same folder. Needs the "
             "optional extra: pip install -e \".[cluster]\"")
    parser.add_argument(
        "--cluster-wait", type=float, default=None, metavar="SECONDS",
        help="with --cluster: seconds (finite, > 0) to wait while no worker is connected "
             "before the runs still out fail (default 600)")


def _cluster_arguments(args):
    """``(cluster, wait)`` from ``--cluster`` and ``--cluster-wait``, checked."""
    if args.cluster_wait is not None and args.cluster is None:
        raise CLIError("--cluster-wait is used only with --cluster")
    if args.cluster is not None:
        from medlab.course import cluster

        if args.cluster_wait is not None:
            try:
                cluster.check_wait(args.cluster_wait, "--cluster-wait")
            except ValueError as exc:  # nan, inf, 0 or less
                raise CLIError(str(exc)) from None
        cluster.require_dask()
    return args.cluster, args.cluster_wait


def _cluster_errors(handler):
    """A cluster that cannot take the runs (no Dask, no scheduler, no worker) is one line
    on stderr and exit status 1."""

    @functools.wraps(handler)
    def wrapper(args):
        try:
            return handler(args)
        except Exception as exc:
            if getattr(args, "cluster", None) is None:
                raise
            from medlab.course.cluster import ClusterError  # standard library only

            if not isinstance(exc, ClusterError):
                raise
            print(f"medlab: error: {exc}", file=sys.stderr)
            return 1

    return wrapper


def _timeout(args):
    """``--timeout`` as whole seconds (rounded up), None for no limit; nan, inf and
    negatives refused."""
    from medlab.course.runs import check_timeout

    try:
        return check_timeout(args.timeout, "--timeout")
    except ValueError as exc:
        raise CLIError(str(exc)) from None


@register_command("run", help="run a notebook with papermill, with parameters, into runs/")
def _configure_run(parser):
    parser.description = (
        "Execute NOTEBOOK with papermill (kernel python3, in the notebook's folder) into "
        "OUT/NAME.ipynb, default runs/<notebook stem>/<timestamp>.ipynb, never overwriting. "
        "What the notebook records with medlab.report.record(...) goes to "
        "OUT/NAME.metrics.json. A failing cell stops the run with its error.")
    parser.add_argument("notebook", metavar="NOTEBOOK")
    _add_parameter_option(parser, "set a parameter; VALUE converted as papermill -p does "
                                  "(True/False/None, int, float, else text); repeatable")
    parser.add_argument("--out", metavar="DIR", help="folder for the output "
                                                     "(default runs/<notebook stem>)")
    parser.add_argument("--name", help="output name without .ipynb (default: a timestamp)")
    _add_timeout_option(parser)
    parser.set_defaults(handler=_run)


@_terminate_as_interrupt
def _run(args):
    from medlab.course import runs

    timeout = _timeout(args)
    output = runs.new_output_path(args.notebook, args.out, args.name)
    try:
        result = runs.run_notebook(args.notebook, _parameters(args.parameters), output,
                                   timeout=timeout)
    except runs.RunFailed as exc:
        if exc.notebook:
            print(f"partial output: {runs.relative_path(exc.notebook)}")
        print(f"medlab: error: {Path(args.notebook).name}: {exc}", file=sys.stderr)
        return 1
    print(f"output:  {runs.relative_path(result.output)} ({result.seconds:.1f} s)")
    if result.metrics_path:
        print(f"metrics: {runs.relative_path(result.metrics_path)}  "
              + runs.format_metrics(result.metrics, limit=8))
    else:
        print("metrics: none (the notebook did not call medlab.report.record)")
    return 0


@register_command("sweep", help="run a notebook once per combination of parameter values")
def _configure_sweep(parser):
    parser.description = (
        "Run NOTEBOOK with papermill once per combination of the --grid values into "
        "runs/<sweep>/<combination>.ipynb, then write summary.csv, summary.md and "
        "summary.png there. Finished runs are kept and skipped when the same sweep is run "
        "again (after a failure or Ctrl-C); a failed run is reported and the sweep goes on.")
    parser.add_argument("notebook", metavar="NOTEBOOK", nargs="?",
                        help="the notebook (before or after --grid)")
    parser.add_argument("--grid", nargs="+", action="extend", required=True,
                        metavar="NAME=V1,V2", help="values to sweep, e.g. learning_rate=1e-4,1e-3 "
                                                   "kernel_size=3,5 (converted as papermill -p)")
    _add_parameter_option(parser, "a parameter fixed for every run; repeatable")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="runs at the same time, each in its own process (default 1); "
                             "with --cluster local: its worker processes (default: the cores)")
    parser.add_argument("--name", help="sweep name (default: notebook stem and a hash of the "
                                       "grid, so the same sweep finds its earlier runs)")
    parser.add_argument("--out", metavar="DIR", help="sweep folder (default runs/<sweep name>)")
    parser.add_argument("--repair", action="store_true",
                        help="rebuild a damaged or lost sweep.json from the runs' status files "
                             "(the damaged file is kept as sweep.damaged.json), then go on")
    _add_timeout_option(parser)
    _add_cluster_options(parser)
    parser.set_defaults(handler=_sweep)


@_terminate_as_interrupt
@_cluster_errors
def _sweep(args):
    from medlab.course import runs

    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs {args.jobs}: expected at least 1")
    cluster, wait = _cluster_arguments(args)
    if cluster not in (None, "local") and args.jobs is not None:
        raise CLIError(f"--jobs {args.jobs} with --cluster {cluster}: the cluster's workers "
                       "decide how many runs go at once; leave --jobs out")
    notebook, specs = _split_notebook_from_grid(args.notebook, args.grid)
    rows = runs.sweep(notebook, runs.parse_grid(specs), _parameters(args.parameters),
                      jobs=args.jobs, out=args.out, name=args.name, timeout=_timeout(args),
                      progress=_show_progress(), cluster=cluster, cluster_wait=wait,
                      repair=args.repair)
    return 0 if all(row["status"] == "ok" for row in rows) else 1


def _split_notebook_from_grid(notebook, specs):
    """``--grid`` takes every word up to the next option, so a notebook written after it
    lands among the grid specs: take it back (the one spec without ``=``)."""
    loose = [spec for spec in specs if "=" not in spec]
    if notebook is None and len(loose) == 1:
        return loose[0], [spec for spec in specs if spec != loose[0]]
    if notebook is None:
        raise CLIError("the following arguments are required: NOTEBOOK (give it before or "
                       "after --grid NAME=V1,V2 ...)")
    return notebook, specs


@register_command("course", help="run every lesson in order: is this machine ready for class?")
def _configure_course(parser):
    parser.description = (
        "Run every numbered notebook (notebooks/NN_*.ipynb) in order with papermill into a new "
        "folder, default runs/course-<timestamp>, and print a table of notebook, status and "
        "seconds. Exit status 1 if any notebook failed.")
    parser.add_argument("--dataset", metavar="NAME",
                        help="passed as -p dataset NAME to the notebooks that have a dataset "
                             "parameter (synthetic, pneumoniamnist or a path)")
    parser.add_argument("--out", metavar="DIR", help="new folder for the outputs "
                                                     "(default runs/course-<timestamp>)")
    parser.add_argument("--notebooks", metavar="DIR",
                        help="folder of the lessons (default notebooks/)")
    _add_timeout_option(parser)
    _add_cluster_options(parser)
    parser.set_defaults(handler=_course)


@_terminate_as_interrupt
@_cluster_errors
def _course(args):
    from medlab.course import runs

    timeout = _timeout(args)
    cluster, wait = _cluster_arguments(args)
    paths = runs.course_notebooks(args.notebooks)
    if args.dataset is not None and not any(runs.has_parameter(p, "dataset") for p in paths):
        print(f"note: no notebook has a dataset parameter; --dataset {args.dataset} is not used")
    folder = Path(args.out) if args.out else runs.new_course_folder()
    width = max(len("notebook"), *(len(p.stem) for p in paths))
    header = [f"{'notebook':<{width}}  status   seconds"]

    def echo(row):
        while header:
            print(header.pop())
        print(f"{row['notebook']:<{width}}  {row['status']:<7} {row['seconds']:8.1f}"
              + (f"  {row['error']}" if row["error"] else ""), flush=True)

    rows = runs.course(dataset=args.dataset, out=folder, notebooks=args.notebooks,
                       timeout=timeout, echo=echo, cluster=cluster, cluster_wait=wait)
    failed = sum(row["status"] != "ok" for row in rows)
    where = f"outputs and summary in {runs.relative_path(folder)}"
    if failed:
        print(f"{failed} of {len(rows)} notebooks failed; {where}")
        return 1
    print(f"all {len(rows)} notebooks ran: this machine is ready for class; {where}")
    return 0


# --------------------------------------------------------------------------
# medlab exercises release / check  (logic in medlab.course.exercises)
# --------------------------------------------------------------------------
@register_command("exercises", help="write the student notebooks from the solution notebooks")
def _configure_exercises(parser):
    actions = parser.add_subparsers(title="exercises commands", metavar="COMMAND",
                                    dest="exercises_command", required=True)
    release = actions.add_parser(
        "release", help="write notebooks/exercises/ from the numbered lessons",
        description="For every numbered lesson with solution blocks (### BEGIN SOLUTION ... "
                    "### END SOLUTION), write OUT/<lesson>.ipynb with each block replaced by its "
                    "hint and raise NotImplementedError, exercise outputs cleared and check cells "
                    "showing what medlab.checks prints for an unfinished function. Running it "
                    "twice changes nothing. A student notebook that differs from what the "
                    "previous release wrote (OUT/MANIFEST.json) is never overwritten: release "
                    "refuses and names it, unless --force.")
    release.add_argument("--force", action="store_true",
                         help="also write over student notebooks that hold edits, after keeping "
                              "a copy of each in OUT/.backups/<lesson>-<timestamp>.ipynb "
                              "(a folder that git and pytest ignore)")
    check = actions.add_parser(
        "check", help="say which student notebooks are stale, missing or hold edits",
        description="Compare OUT/<lesson>.ipynb with what 'medlab exercises release' wrote "
                    "and would write now: 'stale' (the lesson changed: the instructor releases "
                    "again), 'has edits' (a student's work, which release keeps), 'missing', "
                    "'orphan'; a numbered notebook that release did not write (a student's copy, "
                    "e.g. NN_name-Copy1.ipynb) is named and left alone. Exit 1 if any student "
                    "notebook is not up to date.")
    for sub, handler in ((release, _exercises_release), (check, _exercises_check)):
        sub.add_argument("--notebooks", metavar="DIR",
                         help="folder of the solution notebooks (default notebooks/)")
        sub.add_argument("--out", metavar="DIR",
                         help="folder of the student notebooks (default NOTEBOOKS/exercises); "
                              "never the lessons' folder, a folder holding it, or one holding "
                              "lessons with solution blocks")
        sub.set_defaults(handler=handler)


def _exercises_release(args):
    from medlab.course import exercises

    report = exercises.release(args.notebooks, args.out, force=args.force)
    for path, status in report:
        print(f"{exercises.relative_path(path)}: {status}")
    if not report:
        print("no lesson has exercises (### BEGIN SOLUTION): nothing to release")
    return 0


def _exercises_check(args):
    from medlab.course import exercises

    states = exercises.status(args.notebooks, args.out)
    for path, state in states:
        if state != "up to date":
            print(f"{exercises.relative_path(path)}: {exercises.STATES[state]}")
    copies = sum(state == "student's copy" for _, state in states)
    not_ok = [(path, state) for path, state in states if state not in ("up to date", "student's copy")]
    if not_ok:
        edited = sum("edited" in state for _, state in not_ok)
        others = len(not_ok) - edited
        parts = []
        if others:
            parts.append(f"{others} student notebook(s) stale, missing or orphan: "
                         "'medlab exercises release' updates them")
        if edited:
            parts.append(f"{edited} hold edits, which release keeps")
        print("medlab: " + "; ".join(parts), file=sys.stderr)
        return 1
    print(f"student notebooks up to date: {len(states) - copies}"
          + (f"; a student's copy left as it is: {copies}" if copies else ""))
    return 0


# --------------------------------------------------------------------------
# medlab book  (logic in medlab.course.book)
# --------------------------------------------------------------------------
@register_command("book", help="build the course as a static website from the stored notebooks")
def _configure_book(parser):
    parser.description = (
        "Build a static HTML site of the course into OUT/html (default build/book/html) from the "
        "numbered notebooks as stored, without running them: the course map as the landing page, "
        "one chapter per lesson, the README's setup and instructor sections, offline math, "
        "search, a download link on each lesson. Needs the optional extra 'book' and MathJax 2.7 "
        "(Debian's libjs-mathjax: make book-deps).")
    parser.add_argument("--out", metavar="DIR",
                        help="folder of the book, replaced only if an earlier 'medlab book' made "
                             "it (default build/book); the site is DIR/html")
    parser.add_argument("--no-solutions", action="store_true",
                        help="publish each lesson with exercises as its student notebook "
                             "(solutions replaced by hints, as 'medlab exercises release' does)")
    parser.add_argument("--notebooks", metavar="DIR", help="folder of the lessons (default notebooks/)")
    parser.add_argument("--readme", metavar="FILE",
                        help="README with the setup and instructor sections (default: the one "
                             "beside the lessons' folder)")
    parser.add_argument("--mathjax", metavar="DIR",
                        help="MathJax 2.7 folder to copy into the site (default $MEDLAB_MATHJAX "
                             "or Debian's /usr/share/javascript/mathjax)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="Sphinx processes, 1 to 16 (default 1)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop the build after this many seconds (default 900)")
    parser.set_defaults(handler=_book)


@_terminate_as_interrupt
def _book(args):
    from medlab import validate
    from medlab.course import book
    from medlab.course.runs import default_notebooks_folder, relative_path

    jobs = validate.integer("--jobs", args.jobs, low=1, high=16)
    timeout = book.DEFAULT_TIMEOUT if args.timeout is None else \
        validate.number("--timeout", args.timeout, low=1)
    notebooks = Path(args.notebooks) if args.notebooks else default_notebooks_folder()
    readme = Path(args.readme) if args.readme else notebooks.resolve().parent / "README.md"
    site = book.build(args.out, notebooks, readme, solutions=not args.no_solutions,
                      mathjax=args.mathjax, jobs=jobs, timeout=timeout)
    for warning in site.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    what = "with solutions" if site.solutions else "without solutions (student notebooks)"
    folder = relative_path(site.html)
    print(f"book: {relative_path(site.html / 'index.html')}: {len(site.lessons)} notebooks, {what}, "
          f"in {site.seconds:.0f} s. Read it with 'python3 -m http.server -d {folder}', or publish "
          f"{folder} on any static host (README: The course as a book).")
    return 0

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
