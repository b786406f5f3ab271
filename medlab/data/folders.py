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
import struct
import warnings
from pathlib import Path

import numpy as np

from medlab import files, validate
from medlab.imaging import to_uint8

#: Extensions Keras' image_dataset_from_directory reads; everything else it skips.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: Channels Keras asks TensorFlow's decoder for, per ``color_mode``.
COLOR_MODE_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
#: First bytes by which ``tf.io.decode_image`` tells formats apart (it ignores the file name).
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP"}
#: Most pixels an image may have (Pillow's decompression-bomb warning threshold): about
#: 9,500 x 9,500. Larger images are refused before they are decoded.
MAX_IMAGE_PIXELS = 89_478_485
#: Bit masks of the one bit-field BMP layout TensorFlow reads right (it ignores the masks).
_BMP_STANDARD_MASKS = (0xFF0000, 0xFF00, 0xFF)


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


def _sniffed_format(head):
    """The format ``tf.io.decode_image`` sees in a file's first bytes, or None."""
    for signature, image_format in _SIGNATURES.items():
        if head.startswith(signature):
            return image_format
    return None


def _bmp_kind_problem(head, mode):
    """Why TensorFlow's BMP decoder fails on or misreads this BMP, or None."""
    header_size = int.from_bytes(head[14:18], "little")
    if header_size < 40:
        return "an OS/2 BMP"
    bits = int.from_bytes(head[28:30], "little")
    compression = int.from_bytes(head[30:34], "little")
    if bits not in (8, 24, 32):
        return f"a {bits}-bit BMP"
    masks = tuple(int.from_bytes(head[at:at + 4], "little") for at in (54, 58, 62))
    if compression == 3 and bits == 32 and masks == _BMP_STANDARD_MASKS:
        pass  # bit fields in the order TensorFlow assumes anyway
    elif compression != 0:
        return f"a compressed BMP (compression type {compression})"
    if bits == 8 and mode != "L":
        return "an 8-bit BMP with a colour palette (TensorFlow ignores palettes)"
    return None


def _decoder_problem(image_format, mode, head, color_mode):
    """Why TensorFlow's decoder refuses (or misreads) this image in ``color_mode``, or None."""
    channels = COLOR_MODE_CHANNELS[color_mode]
    if image_format == "JPEG":
        if channels == 4:
            return ("is a JPEG, which TensorFlow decodes with 1 or 3 channels, not in color mode "
                    "'rgba'; read it in color mode 'rgb' or convert it to PNG")
        if mode == "CMYK" and channels == 1:
            return ("is a CMYK JPEG, which TensorFlow cannot decode in color mode 'grayscale'; "
                    "save it as a greyscale or RGB image (PNG, say) or read it in color mode 'rgb'")
    elif image_format == "GIF" and channels != 3:
        return (f"is a GIF, which TensorFlow decodes only in color mode 'rgb', not "
                f"{color_mode!r}; convert it to PNG")
    elif image_format == "BMP":
        kind = _bmp_kind_problem(head, mode)
        if kind:
            return (f"is {kind}; TensorFlow decodes only uncompressed 24- and 32-bit BMPs and "
                    "8-bit grey ones: convert it to PNG")
        if channels == 1:
            return ("is a BMP, which TensorFlow cannot decode in color mode 'grayscale'; "
                    "convert it to PNG or read it in color mode 'rgb'")
    return None


#: Channels per PNG colour type (grey, RGB, palette, grey + alpha, RGBA).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Adam7 interlace passes: first column, first row, column step, row step.
_ADAM7_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                 (1, 0, 2, 2), (0, 1, 1, 2))
#: What Pillow raises on a damaged file (its decoders raise more than OSError).
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, IndexError, KeyError, EOFError,
                  struct.error)


def _png_pixel_bytes(header):
    """Bytes of pixel data (rows with their filter bytes) a PNG's IHDR calls for."""
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header[:13])
    bits = depth * _PNG_CHANNELS.get(colour_type, 1)

    def rows(columns, count):
        return count * (1 + (columns * bits + 7) // 8) if columns and count else 0

    if not interlace:
        return rows(width, height)
    return sum(rows((width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy)
               for x0, y0, dx, dy in _ADAM7_PASSES)


def _png_data_problem(path):
    """Why libpng (TensorFlow's PNG decoder) fails on this PNG's chunks or pixel data, or None.

    Pillow accepts a PNG whose pixel data stops early, or lacks its IEND chunk; libpng does not.
    """
    import zlib

    size = Path(path).stat().st_size
    inflater, header, inflated, has_pixels = zlib.decompressobj(), b"", 0, False
    with open(path, "rb") as handle:
        handle.seek(8)
        while True:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return "is truncated: the PNG ends before its IEND chunk"
            length, kind = int.from_bytes(prefix[:4], "big"), prefix[4:]
            name = kind.decode("latin-1")
            if handle.tell() + length + 4 > size:
                return f"is truncated: its {name} chunk runs past the end of the file"
            data = handle.read(length)
            if zlib.crc32(kind + data) != int.from_bytes(handle.read(4), "big"):
                return f"is corrupt: the checksum of its {name} chunk is wrong"
            if not header and kind != b"IHDR":
                return f"is corrupt: its first chunk is {name}, not IHDR"
            if kind == b"IHDR":
                header = data
            elif kind == b"IDAT":
                has_pixels = True
                try:
                    while not inflater.eof:  # count the bytes without keeping them
                        out = inflater.decompress(data, 1 << 20)
                        inflated += len(out)
                        data = inflater.unconsumed_tail
                        if not data and len(out) < 1 << 20:
                            break
                except zlib.error as exc:
                    return f"is corrupt: its pixel data does not inflate ({exc})"
            elif kind == b"IEND":
                break
    if not has_pixels:
        return "holds no pixel data (no IDAT chunk: a PNG header only)"
    expected = _png_pixel_bytes(header)
    if inflated < expected:
        return f"is truncated: its pixel data stops after {inflated:,} of {expected:,} bytes"
    if not inflater.eof:
        return "is truncated: its compressed pixel data has no end"
    return None


def _bmp_size_problem(path, head):
    """TensorFlow decodes a BMP only if it is exactly as long as its header says."""
    offset = int.from_bytes(head[10:14], "little")
    width = int.from_bytes(head[18:22], "little", signed=True)
    height = abs(int.from_bytes(head[22:26], "little", signed=True))
    bits = int.from_bytes(head[28:30], "little")
    expected = offset + (width * bits + 31) // 32 * 4 * height
    actual = Path(path).stat().st_size
    if actual < expected:
        return f"is truncated: {actual:,} bytes where its header calls for {expected:,}"
    if actual > expected:
        return (f"has {actual - expected:,} bytes after its pixel data, and TensorFlow decodes "
                "only BMPs exactly as long as their header says: convert it to PNG")
    return None


def _gif_blocks_end(data, at):
    """Index just after a chain of GIF data sub-blocks (ended by an empty one), or None."""
    while at < len(data):
        block_size = data[at]
        at += 1 + block_size
        if block_size == 0:
            return at
    return None


def _gif_data_problem(path):
    """TensorFlow needs the first image of a GIF whole, up to the end of its data blocks."""
    data = Path(path).read_bytes()
    at = 13  # header and logical screen descriptor
    if len(data) > 10 and data[10] & 0x80:
        at += 3 << ((data[10] & 7) + 1)  # global colour table
    while at is not None and at < len(data):
        introducer = data[at]
        if introducer == 0x3B:
            return "holds no image (its trailer comes first)"
        if introducer == 0x21:  # extension: label, then data blocks
            at = _gif_blocks_end(data, at + 2)
        elif introducer == 0x2C:  # image descriptor, local colour table, LZW code size, data
            if at + 10 > len(data):
                break
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            if _gif_blocks_end(data, at + 1) is None:
                break
            return None
        else:
            return f"is corrupt: byte 0x{introducer:02x} at offset {at} starts no GIF block"
    return "is truncated: its first image stops before the end of its data blocks"


def _data_problem(path, image_format, head):
    """Structural damage TensorFlow's decoder fails on and Pillow may let pass, or None."""
    if image_format == "PNG":
        return _png_data_problem(path)
    if image_format == "BMP":
        return _bmp_size_problem(path, head)
    if image_format == "GIF":
        return _gif_data_problem(path)
    return None  # JPEG: Pillow's full decode finds what libjpeg fails on


def _header_size(image_format, head):
    """(width, height) a PNG, BMP or GIF header gives, or None (JPEG: Pillow reads it)."""
    if image_format == "PNG" and head[8:16] == b"\0\0\0\rIHDR" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])  # IHDR must come first
    if image_format == "BMP" and len(head) >= 26 and int.from_bytes(head[14:18], "little") >= 40:
        width, height = struct.unpack("<ii", head[18:26])
        return width, abs(height)
    if image_format == "GIF" and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    return None


def _size_problem(width, height):
    """Why an image of this size is not decoded, or None."""
    if width < 1 or height < 1:
        return f"is {width} x {height} pixels; expected at least 1 x 1"
    if width * height > MAX_IMAGE_PIXELS:
        return (f"is {width} x {height} pixels ({width * height:,}); expected at most "
                f"{MAX_IMAGE_PIXELS:,} (medlab.data.folders.MAX_IMAGE_PIXELS), as decoding "
                "it could exhaust memory: shrink it first")
    return None


@contextlib.contextmanager
def _no_pillow_size_warning():
    """Silence Pillow's DecompressionBombWarning (two lines on stderr): the size is checked
    here, and a file too large is named in one line."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _check_image_file(path, color_mode):
    """Check that Keras's decoder reads ``path`` in ``color_mode``; return (height, width, mode).

    Raises ValueError naming the file and what is wrong with it.
    """
    from PIL import Image

    with open(path, "rb") as handle:
        head = handle.read(66)
    if not head:
        raise ValueError(f"{path} is empty (0 bytes); expected a PNG, JPEG, BMP or GIF image")
    image_format = _sniffed_format(head)
    size = _header_size(image_format, head)
    problem = size and _size_problem(*size)  # before Pillow allocates anything
    if problem:
        raise ValueError(f"{path} {problem}")
    try:
        with _no_pillow_size_warning(), Image.open(path) as image:
            look = (image.height, image.width, image.mode)
            pillow_format = image.format
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{path} is too large to decode safely ({exc}); expected at most "
                         f"{MAX_IMAGE_PIXELS:,} pixels: shrink it first") from None
    except _PILLOW_ERRORS as exc:
        raise ValueError(f"{path} is corrupt or not an image ({exc})") from None
    if image_format is None:
        raise ValueError(
            f"{path} is a {pillow_format} image; expected PNG, JPEG, BMP or GIF "
            "(the formats TensorFlow decodes)"
        )
    problem = (_size_problem(look[1], look[0])
               or _decoder_problem(image_format, look[2], head, color_mode)
               or _data_problem(path, image_format, head))
    if problem:
        raise ValueError(f"{path} {problem}")
    try:
        with _no_pillow_size_warning(), Image.open(path) as image:
            image.load()  # decodes the first frame in full, as TensorFlow does
    except _PILLOW_ERRORS as exc:
        raise ValueError(f"{path} is corrupt or truncated ({exc}); TensorFlow cannot decode "
                         "it") from None
    return look


def check_image_folder(root, n_classes=None, looks=None, color_mode="grayscale"):
    """Validate an image folder; return its class names and files per class.

    Every class folder must hold at least one image, and every file in it
    must be an image that Keras's decoder (``tf.io.decode_image``) reads in
    ``color_mode``: PNG, JPEG, BMP or GIF, told apart by their first bytes
    as TensorFlow does, in a kind that decoder accepts, whole (not truncated,
    not corrupt). Checked without TensorFlow: with Pillow, which decodes every
    image in full, and by reading the file's structure where Pillow is more
    lenient than TensorFlow (PNG pixel data and end chunk, BMP length, the GIF's
    first image). Images of more than :data:`MAX_IMAGE_PIXELS` pixels are
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
            look = _check_image_file(path, color_mode)
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


def _check_positive_ints(value, name, count):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) != count or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        expected = "a positive int" if count == 1 else f"{count} positive ints"
        raise ValueError(f"{name}={value!r}; expected {expected}")
    return values if count > 1 else values[0]


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

    height, width = _check_positive_ints(image_size, "image_size", 2)
    batch_size = _check_positive_ints(batch_size, "batch_size", 1)
    validate.choice("color_mode", color_mode, tuple(COLOR_MODE_CHANNELS))
    if validation_split is not None and not 0.0 < float(validation_split) < 1.0:
        raise ValueError(
            f"validation_split={validation_split!r}; expected a fraction in (0, 1) or None")
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
