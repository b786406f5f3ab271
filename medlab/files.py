"""Write files atomically, with the permissions any new file gets: the one writer of the kit.

A reader sees the old file or the new one, never half of it, and a failure (interruption
included) leaves no temporary file behind::

    with atomic_write("data/synth.npz") as out:       # binary file object
        np.savez_compressed(out, **arrays)

    write_json("runs/x/status.json", {"status": "ok"})
    publish(".run.partial.ipynb", "runs/x/k7.ipynb")  # a file another process wrote
    write_text("notebooks/exercises/MANIFEST.json", text)

Bytes go to a hidden temporary file in the target's folder (``.NAME.XXXX.part``), are
flushed and fsync'ed, the file gets the mode a new file would get under the process's
umask (``0o666 & ~umask``; :func:`tempfile.mkstemp` alone makes it 0600), and only then is
it renamed over the target (:func:`os.replace`) or, with ``overwrite=False``, linked to a
name that must not exist yet (an existing file is never replaced).

Every reader of the kit checks its path first with :func:`regular_file`: opening a FIFO
waits forever for a writer, and a device or folder is never the file the user meant.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "new_folder_mode", "publish", "regular_file",
           "write_bytes", "write_json", "write_text"]


def _umask():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no getter elsewhere: set and restore
    os.umask(mask)
    return mask


def _kind_of(mode):
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def kind_of_path(path):
    """What ``path`` is when it is not a regular file: ``"a folder"``, ``"a FIFO (named pipe)"``,
    ``"a socket"``, ``"a device"``, ``"a special file"``; "" for a regular file (or a link to
    one), None when it cannot be looked at (missing, no permission). Never opens it.

    >>> kind_of_path(__file__)
    ''
    """
    try:
        mode = Path(path).stat().st_mode
    except (OSError, ValueError):
        return None
    return "" if stat.S_ISREG(mode) else _kind_of(mode)


def regular_file(path, expected):
    """``Path(path)`` if it names a regular file (or a link to one), checked without opening it.

    Parameters
    ----------
    path : str or os.PathLike
    expected : str
        What the file should be, for the message, e.g. ``"a DICOM (.dcm) file"``.

    Raises
    ------
    FileNotFoundError
        Nothing is there.
    ValueError
        A folder, FIFO, socket or device, refused at once (reading a FIFO would wait forever).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file (expected {expected})") from None
    except OSError as exc:  # a path through a file, a loop of links, no permission
        raise ValueError(f"{path}: cannot be looked at ({exc.strerror}); expected {expected}") \
            from None
    if not stat.S_ISREG(mode):
        kind = _kind_of(mode)
        raise ValueError(f"{path} is {kind}, not a regular file; expected {expected}")
    return path


def _new_file_mode():
    """The permission bits a new regular file gets in this process: ``0o666 & ~umask``."""
    return 0o666 & ~_umask()


def new_folder_mode():
    """The permission bits a new folder gets in this process: ``0o777 & ~umask``."""
    return 0o777 & ~_umask()


def publish(source, target, *, overwrite=False):
    """Give the complete file ``source`` (e.g. written by another process to a private
    temporary name) the mode of a new file and the name ``target``, atomically.

    With ``overwrite=False`` an existing ``target`` is kept and FileExistsError raised.
    """
    os.chmod(source, _new_file_mode())
    if overwrite:
        os.replace(source, target)
    else:
        _link_no_clobber(source, target)
    return Path(target)


def _link_no_clobber(source, target):
    """Give ``source`` the name ``target``; FileExistsError if ``target`` exists."""
    try:
        os.link(source, target)  # atomic, and fails on an existing name
    except FileExistsError:
        raise FileExistsError(f"{target} exists; not overwriting it") from None
    except OSError:  # no hard links on this file system
        if os.path.lexists(target):
            raise FileExistsError(f"{target} exists; not overwriting it") from None
        os.replace(source, target)
        return
    os.unlink(source)


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, overwrite=True, check=None, encoding=None):
    """Open a temporary file for writing; on success it becomes ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder is created if missing.
    mode : {"wb", "w"}
        Binary or text.
    overwrite : bool
        Replace an existing ``path`` (default). With False an existing file is an error
        (FileExistsError), also when it appears while writing.
    check : callable, optional
        ``check(temporary_path)`` runs on the complete file before it is renamed, e.g. to
        read it back; an exception it raises leaves ``path`` untouched.
    encoding : str, optional
        Text mode's encoding (default UTF-8).

    Yields
    ------
    file object
        Write to it inside the ``with`` block; do not close it.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode {mode!r}: expected 'wb' or 'w'")
    path = Path(path).expanduser()
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        text = mode == "w"
        with os.fdopen(fd, mode, encoding=(encoding or "utf-8") if text else None,
                       newline="" if text else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _new_file_mode())
        if check is not None:
            check(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes(path, data, *, overwrite=True):
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_write(path, "wb", overwrite=overwrite) as out:
        out.write(data)
    return Path(path)


def write_text(path, text, *, overwrite=True, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically (newlines as given); return the path."""
    with atomic_write(path, "w", overwrite=overwrite, encoding=encoding) as out:
        out.write(text)
    return Path(path)


def write_json(path, payload, *, allow_nan=False, overwrite=True):
    """Write ``payload`` as indented, key-sorted JSON (and a newline), atomically."""
    text = json.dumps(payload, indent=1, sort_keys=True, allow_nan=allow_nan) + "\n"
    return write_text(path, text, overwrite=overwrite)
