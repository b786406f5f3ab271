"""Image folders: one sub-folder of PNG/JPEG files per class.

::

    root/
      normal/     00000.png 00003.png ...
      pneumonia/  00001.png 00002.png ...

This is the layout of most public image data sets and of the article this kit
grew from. :func:`export_image_folder` writes one from arrays;
:func:`image_folder_dataset` reads one into a ``tf.data`` pipeline.

Console output: Keras prints ``Found N files belonging to 2 classes.`` (and
``Using M files for training/validation.`` with a validation split) on
stdout. medlab keeps these lines by default (``verbose=True``): they are
stable and tell the learner what was read; pass ``verbose=False`` to hide them.
"""

from __future__ import annotations

import contextlib
import io
import stat
from pathlib import Path

import numpy as np

from medlab import files, validate
from medlab.data.image_files import COLOR_MODE_CHANNELS, check_image_file
from medlab.imaging import to_uint8

#: Extensions Keras' image_dataset_from_directory reads; everything else it skips.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
def check_class_names(class_names, name="class_names"):
    """``class_names`` as a list of str, checked: plain folder names, no duplicates.

    ``name`` is the argument the messages name (``"--classes"`` on the command line).
    """
    class_names = [str(class_name) for class_name in class_names]
    if not class_names:
        raise ValueError(f"{name} is empty; expected one folder name per label value")
    for class_name in class_names:
        if (not class_name or class_name in {".", ".."} or "/" in class_name
                or "\\" in class_name or class_name.startswith(".")):
            raise ValueError(
                f"{name} contains {class_name!r}; expected plain folder names "
                "(no slashes, not empty, not starting with '.')"
            )
    if len(set(class_names)) != len(class_names):
        raise ValueError(f"{name} {class_names} has duplicates; expected one name per class")
    return class_names


def export_image_folder(images, labels, class_names, root, overwrite=False, *, progress=False):
    """Write images as PNG files into ``root/<class name>/<index>.png``.

    Parameters
    ----------
    images : array_like, (N, H, W), (N, H, W, 1) or (N, H, W, 3)
        uint8 (0..255), or float in [0, 1] (scaled to 0..255 and rounded).
        Grey images give 8-bit grey PNGs, 3 channels give RGB PNGs.
    labels : array_like of int, (N,) or (N, 1)
        Class index of each image, in ``[0, len(class_names))``.
    class_names : sequence of str
        Folder name of each class: ``class_names[label]``.
    root : str or os.PathLike
        Folder to write into; created if missing.
    overwrite : bool
        Replace the previous export: ``root``'s images are replaced entirely by these
        (nothing of the old export is left). ``root`` must then hold only class folders
        of images; anything else is an error and nothing is changed. By default an
        existing target file is an error and nothing is written.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of pathlib.Path
        The written files, in image order. File names are the image's index
        (zero-padded), so ``root/*/00042.png`` is ``images[42]``.

    Raises
    ------
    ValueError
        Bad shapes (images smaller than 1 x 1 included), dtypes, value ranges, labels or
        class names; checked before anything is created.
    FileExistsError
        A target file exists and ``overwrite`` is False (names the first one).
    ValueError
        With ``overwrite``: ``root`` holds something that is not an exported image.
    """
    from PIL import Image
    from tqdm.auto import tqdm

    class_names = check_class_names(class_names)
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise ValueError(
            f"images has shape {images.shape}; expected (N, H, W), (N, H, W, 1) or (N, H, W, 3)"
        )
    if min(images.shape[1:3]) < 1:
        raise ValueError(f"images has shape {images.shape}; expected images of at least "
                         "1 x 1 pixels")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels has shape {labels.shape}; expected ({images.shape[0]},) or "
            f"({images.shape[0]}, 1), one class index per image"
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError(
                f"labels has non-integer values (dtype {labels.dtype}); expected class indices")
        labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(
            f"labels has values in [{labels.min()}, {labels.max()}]; "
            f"expected 0..{len(class_names) - 1} for class_names {class_names}"
        )
    pixels = to_uint8(images, name="images")

    root = Path(root)
    if overwrite and root.exists():
        return _replace_export(pixels, labels, class_names, root, progress)
    width = max(5, len(str(max(len(pixels) - 1, 0))))
    targets = [root / class_names[int(label)] / f"{index:0{width}d}.png"
               for index, label in enumerate(labels)]
    if not overwrite:
        for target in targets:
            if target.exists():
                raise FileExistsError(
                    f"{target} exists; nothing was written. Pass overwrite=True to replace "
                    "existing files, or choose an empty folder"
                )
    for name in class_names:
        (root / name).mkdir(parents=True, exist_ok=True)
    for target, image in tqdm(zip(targets, pixels), total=len(targets), disable=not progress,
                              desc=f"PNG -> {root}", unit="img"):
        Image.fromarray(image).save(target, format="PNG")
    return targets


def _check_replaceable(root):
    """Refuse to replace a folder holding anything but class folders of images."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder; expected an image folder to replace")
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            for inner in sorted(entry.iterdir()):
                if not (inner.is_file() and inner.suffix.lower() in IMAGE_EXTENSIONS):
                    raise ValueError(
                        f"{inner} is not an image; replacing {root} would delete it. Move it "
                        "away or export into another folder")
        else:
            raise ValueError(
                f"{entry} is not a class folder of images; replacing {root} would delete it. "
                "Move it away or export into another folder")


def _replace_export(pixels, labels, class_names, root, progress):
    """Export into a new folder beside ``root``, then swap it in and delete the old export."""
    import shutil
    import tempfile

    _check_replaceable(root)
    fresh = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".new", dir=root.parent))
    old = None
    try:
        written = export_image_folder(pixels, labels, class_names, fresh, progress=progress)
        fresh.chmod(files.new_folder_mode())  # mkdtemp made it private
        old = root.with_name(f".{root.name}.{fresh.name.split('.')[-2]}.old")
        root.rename(old)
        fresh.rename(root)
    except BaseException:
        if old is not None and old.exists() and not root.exists():
            old.rename(root)  # put the previous export back
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return [root / path.relative_to(fresh) for path in written]


def _class_folders(root):
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_files(folder):
    """All files under ``folder``, recursively, as Keras walks it (hidden ones too).

    A FIFO, device or socket is refused (ValueError naming it): Keras would wait forever
    reading a FIFO. Broken links are skipped, as Keras skips them.
    """
    found = []
    for path in sorted(folder.rglob("*")):
        try:
            if stat.S_ISDIR(path.stat().st_mode):
                continue
        except OSError:  # a broken link
            continue
        found.append(files.regular_file(path, "image files or sub-folders in a class folder"))
    return found


def check_image_folder(root, n_classes=None, looks=None, color_mode="grayscale"):
    """Validate an image folder; return its class names and files per class.

    Every class folder must hold at least one image, and every file in it
    must be an image that Keras's decoder (``tf.io.decode_image``) reads in
    ``color_mode``: PNG, JPEG, BMP or GIF, told apart by their first bytes
    as TensorFlow does, in a kind that decoder accepts, whole (not truncated,
    not corrupt). Checked without TensorFlow: with Pillow, which decodes every
    image in full, and by reading the file's structure where Pillow is more
    lenient than TensorFlow (PNG pixel data and end chunk, BMP length, the GIF's
    first image). Images of more than :data:`medlab.data.image_files.MAX_IMAGE_PIXELS` pixels are
    refused before they are decoded. Hidden class folders
    (``.ipynb_checkpoints``) and hidden non-image files (``.DS_Store``) are
    ignored.

    What TensorFlow decodes in each color mode: PNG in all three; JPEG in
    "grayscale" and "rgb" (a CMYK JPEG only in "rgb"); GIF only in "rgb";
    BMP in "rgb" and "rgba", and only uncompressed 24- and 32-bit ones and
    8-bit grey ones.

    Parameters
    ----------
    root : str or os.PathLike
    n_classes : int, optional
        Required number of class folders (2 for binary labels).
    looks : dict, optional
        Filled with ``path -> (height, width, mode)`` of every image (Pillow's
        mode, e.g. ``"L"`` or ``"RGB"``), read while checking, so that callers
        need not open the files again.
    color_mode : {"grayscale", "rgb", "rgba"}
        The color mode the images will be read in (see :func:`image_folder_dataset`).

    Returns
    -------
    dict of str -> list of pathlib.Path
        Class name -> image files, classes in alphabetical order (label
        0, 1, ... in that order).

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    ValueError
        Naming the folder or file: ``root`` not a folder, wrong number of
        class folders, an empty class folder, a non-image or corrupt file, an
        image TensorFlow's decoder refuses in ``color_mode``.
    """
    validate.choice("color_mode", color_mode, tuple(COLOR_MODE_CHANNELS))
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(
            f"{root}: no such folder (expected an image folder root/<class>/*.png)")
    if not root.is_dir():
        raise ValueError(f"{root} is a file; expected a folder with one sub-folder per class")
    folders = _class_folders(root)
    names = [f.name for f in folders]
    if n_classes is not None and len(folders) != n_classes:
        raise ValueError(
            f"{root} has {len(folders)} class folder(s) {names}; expected exactly {n_classes} "
            "(one sub-folder per class)"
        )
    if not folders:
        raise ValueError(f"{root} has no class folders; expected root/<class>/*.png")
    found = {}
    for folder in folders:
        images = []
        for path in _class_files(folder):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                if path.name.startswith("."):
                    continue  # .DS_Store and the like: Keras skips them too
                raise ValueError(
                    f"{path} is not an image file; expected only {', '.join(IMAGE_EXTENSIONS)} "
                    "files in class folders (move other files elsewhere)"
                )
            look = check_image_file(path, color_mode)
            if looks is not None:
                looks[path] = look
            images.append(path)
        if not images:
            raise ValueError(f"class folder {folder} is empty; expected at least one image")
        found[folder.name] = images
    return found




# Resize methods for which resizing an image to its own size returns it unchanged, so
# that loading at the files' size and resizing batches gives Keras's numbers exactly.
_BATCH_RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area")


def _image_size(value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise validate.ArgumentError(f"image_size {value!r}: expected (height, width), two integers >= 1")
    return tuple(validate.integer("image_size", side, low=1) for side in value)


def _load_directory(keras, root, class_names, color_mode, image_size, batch_size, seed,
                    validation_split, interpolation, verbose):
    return keras.utils.image_dataset_from_directory(
        str(root),
        labels="inferred",
        label_mode="binary",
        class_names=class_names,
        color_mode=color_mode,
        batch_size=batch_size,
        image_size=image_size,
        shuffle=True,
        seed=seed,
        validation_split=validation_split,
        subset="both" if validation_split is not None else None,
        interpolation=interpolation,
        verbose=verbose,
    )


def image_folder_dataset(root, image_size=(150, 150), batch_size=32, validation_split=None,
                         seed=0, color_mode="grayscale", *, interpolation="bilinear",
                         shuffle=True, verbose=True):
    """Read a two-class image folder into a fast, cached ``tf.data`` pipeline.

    ``keras.utils.image_dataset_from_directory`` (``label_mode="binary"``)
    -> ``keras.layers.Rescaling(1/255)`` -> ``.cache()`` -> shuffle the
    batches -> ``.prefetch(tf.data.AUTOTUNE)``.

    Files are decoded and resized once, in the first epoch, and the batches
    are kept in memory; later epochs never touch the disk. When every file
    has the same size, files are read at that size and whole batches are
    resized (same values as resizing image by image, and faster). The cache holds
    float32 images: N x H x W x C x 4 bytes (2,000 grey 150x150 images:
    180 MB). Images are shuffled into batches once (with ``seed``); each
    epoch then visits the cached batches in a new order.

    Parameters
    ----------
    root : str or os.PathLike
        Folder with exactly two class sub-folders; alphabetical order gives
        labels 0 and 1. Hidden folders (``.ipynb_checkpoints``) are ignored.
        Every file is checked first, before any training, with
        :func:`check_image_folder` (in ``color_mode``).
    image_size : (int, int)
        (height, width) every image is resized to, bilinear.
    batch_size : int
    validation_split : float, optional
        Fraction in (0, 1) held out for validation; then returns
        ``(train, val)``.
    seed : int
        Seed of the file shuffle, the train/validation split and the
        per-epoch batch order.
    color_mode : {"grayscale", "rgb", "rgba"}
        1, 3 or 4 channels. TensorFlow decodes BMP files only in "rgb" and
        "rgba", GIF files only in "rgb", JPEG files not in "rgba".
    interpolation : str
        Resampling used to resize: ``"bilinear"`` (default), ``"nearest"``
        (keeps label values, and is what ``ImageDataGenerator`` does by
        default), ``"bicubic"``, ``"area"``, ...
    shuffle : bool
        Visit the training batches in a new order every epoch. (The file
        order is always shuffled once with ``seed``, so batches and the
        validation split mix both classes.)
    verbose : bool
        Let Keras print "Found N files belonging to 2 classes." (and, with a
        validation split, "Using M files for training/validation.") on
        stdout. False silences all three.

    Returns
    -------
    tf.data.Dataset, or (train, val) tuple of them
        Elements ``(images, labels)``: images float32 (B, H, W, C) in
        [0, 1], labels float32 (B, 1) with 0.0 / 1.0. Each dataset has a
        ``class_names`` attribute (list of 2 str).

    Raises
    ------
    FileNotFoundError, ValueError
        See :func:`check_image_folder`; also bad arguments, named.
    """
    from medlab._tensorflow import keras, tf

    height, width = _image_size(image_size)
    batch_size = validate.integer("batch_size", batch_size, low=1)
    validate.choice("color_mode", color_mode, tuple(COLOR_MODE_CHANNELS))
    if validation_split is not None and not 0.0 < validate.number("validation_split", validation_split) < 1.0:
        raise validate.ArgumentError(f"validation_split {validation_split!r}: expected a fraction in (0, 1) or None")
    looks = {}
    class_names = list(check_image_folder(root, n_classes=2, looks=looks,
                                          color_mode=color_mode))
    sizes = {(height_, width_) for height_, width_, _ in looks.values()}
    # All files one size (an exported MedMNIST split, say): load them at that size and
    # resize whole batches, not image by image. Same numbers (for these methods resizing
    # to the same size changes nothing), about 40 % less time in the first epoch.
    resize_batches = len(sizes) == 1 and interpolation in _BATCH_RESIZE_METHODS
    load_size = next(iter(sizes)) if resize_batches else (height, width)

    # Keras prints "Using N files for training." even with verbose=False: silence it then.
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        loaded = _load_directory(keras, root, class_names, color_mode, load_size,
                                 batch_size, seed, validation_split, interpolation, verbose)
    rescale = keras.layers.Rescaling(1.0 / 255)

    def rescale_images(images, labels):
        if load_size != (height, width):
            images = tf.image.resize(images, (height, width), method=interpolation)
        return rescale(images), labels

    def finish(dataset, reshuffle):
        dataset = dataset.map(rescale_images, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if reshuffle:  # cached batches in a new order each epoch (a cache replays its order)
            n_batches = max(int(dataset.cardinality()), 1)
            dataset = dataset.shuffle(n_batches, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
        dataset.class_names = class_names
        return dataset

    if validation_split is None:
        return finish(loaded, shuffle)
    train, val = loaded
    return finish(train, shuffle), finish(val, False)


__all__ = ["IMAGE_EXTENSIONS", "export_image_folder", "check_class_names", "check_image_folder",
           "image_folder_dataset"]
