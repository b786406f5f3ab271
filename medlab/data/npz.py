"""Read the arrays of an ``.npz`` archive we did not write, telling damage from pickles.

``archive[key]`` raises the same ValueError for an object array (which needs pickle) and for
a truncated or broken array, and returns raw bytes for a member that is not ``.npy`` at
all. :func:`load_array` reads the member's ``.npy`` header first, so that only a genuine
object array is reported as needing pickle; anything else that fails is damaged.

:func:`open_npz` opens only what starts like a zip archive, so that NumPy never falls back to
unpickling a file (and never advises ``allow_pickle=`` for a file nobody identified).

Only NumPy is imported here (``medlab data info`` uses this module).
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_array", "open_npz", "read_array", "stored_shape"]

#: First bytes of a zip archive (``.npz``): a file entry, or the end record of an empty one.
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_START = b"\x93NUMPY"

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def open_npz(path, expected):
    """Open ``path`` as an ``.npz`` archive (``allow_pickle=False``); use it in a ``with``.

    Parameters
    ----------
    path : pathlib.Path
    expected : str
        What the file should hold, for the messages, e.g. ``"an .npz with 'images' and 'masks'"``.

    Returns
    -------
    numpy.lib.npyio.NpzFile

    Raises
    ------
    ValueError
        Naming the file: a single ``.npy`` array, not a zip file at all, or a damaged zip.
    """
    with open(path, "rb") as handle:
        start = handle.read(len(_NPY_START))
    if start.startswith(_NPY_START):
        raise ValueError(f"{path}: holds a single .npy array; expected {expected}")
    if not start.startswith(_ZIP_STARTS):
        raise ValueError(f"{path}: not an .npz (zip) file: a zip archive starts with b'PK', "
                         f"this file with {start[:4]!r}; expected {expected}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ...
        raise ValueError(f"{path}: a damaged or truncated .npz (zip) file "
                         f"({_reason(exc)}); expected {expected}") from None


def _reason(exc):
    """``Type: message``, first line only: NumPy's longer messages go on to advise
    ``allow_pickle=True``, bad advice for a file nobody identified."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _member_name(archive, key):
    names = archive.zip.namelist()
    return key if key in names else f"{key}.npy"


def _header(archive, key):
    """(shape, fortran_order, dtype) in ``key``'s ``.npy`` header (None for a header version
    read only by NumPy)."""
    with archive.zip.open(_member_name(archive, key)) as handle:
        version = np.lib.format.read_magic(handle)
        reader = _HEADER_READERS.get(version)
        return None if reader is None else reader(handle)


def _stored_dtype(archive, key):
    """The dtype in ``key``'s ``.npy`` header (None for a header version read only by NumPy)."""
    header = _header(archive, key)
    return None if header is None else header[2]


def stored_shape(archive, key):
    """The shape of ``archive[key]`` from its ``.npy`` header, without reading the array
    (checking a flag against the image size costs nothing, whatever the file's size).

    Parameters
    ----------
    archive : numpy.lib.npyio.NpzFile
    key : str

    Returns
    -------
    tuple of int, or None
        None for a header version only NumPy itself reads.

    Raises
    ------
    ValueError
        A missing key or a damaged header, with a short reason (no file name).

    >>> import io
    >>> buffer = io.BytesIO()
    >>> np.savez(buffer, train_images=np.zeros((5, 28, 28), np.uint8))
    >>> _ = buffer.seek(0)
    >>> with np.load(buffer) as archive:
    ...     stored_shape(archive, "train_images")
    (5, 28, 28)
    """
    if key not in archive.files:
        raise ValueError(f"no key {key!r} (the file has {sorted(archive.files)})")
    try:
        header = _header(archive, key)
    except Exception as exc:  # wrong magic, broken or overlong header, bad zip member
        raise ValueError(f"key {key!r} is damaged or truncated ({_reason(exc)})") from None
    return None if header is None else tuple(int(n) for n in header[0])


def load_array(archive, key):
    """``archive[key]`` as an ndarray, never unpickling.

    Parameters
    ----------
    archive : numpy.lib.npyio.NpzFile
        Opened with ``allow_pickle=False``.
    key : str

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        With a short reason (no file name): ``"an object array (...)"`` when the header
        says so, else ``"damaged or truncated (...)"``.
    """
    try:
        dtype = _stored_dtype(archive, key)
    except Exception as exc:  # wrong magic, broken or overlong header, bad zip member
        raise ValueError(f"damaged or truncated ({_reason(exc)})") from None
    if dtype is not None and dtype.hasobject:
        raise ValueError(f"an object array (dtype {dtype}), which needs pickle to load; "
                         "refused, since unpickling can run code. Expected a plain numeric array")
    try:
        array = archive[key]
    except Exception as exc:  # data cut short, checksum mismatch, ...
        raise ValueError(f"damaged or truncated ({_reason(exc)})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError("damaged or truncated (not a .npy array)")
    return array


def read_array(archive, key, path):
    """:func:`load_array`, its error naming the file and the key."""
    try:
        return load_array(archive, key)
    except ValueError as exc:
        raise ValueError(f"{path}: key {key!r} is {exc}") from None
