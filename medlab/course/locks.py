"""A lock on a run folder, so that two ``medlab sweep`` or ``course`` processes never write
into one folder at once::

    with folder_lock("runs/lr-vs-k", "sweep"):
        ...                      # a second process gets FolderInUse at once

The lock is the operating system's (``fcntl.flock`` on ``<folder>/.medlab.lock``,
``msvcrt.locking`` on Windows): it goes with the process however the process ends (Ctrl-C,
``kill -9``, a crash), so it never goes stale. The file only says who holds the lock (pid,
host, since when), for the message of the process that is refused; it is removed when the
lock is released, and one left behind by a killed process is simply taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

__all__ = ["LOCK_NAME", "FolderInUse", "folder_lock", "holds_files"]

#: The lock file inside a locked folder (hidden; ignored when a folder is checked for files).
LOCK_NAME = ".medlab.lock"
_ATTEMPTS = 100


class FolderInUse(OSError):
    """Another process holds the folder; ``str()`` is one line saying who and what to do."""


def _shown(folder):
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


def _try_lock(fd):
    """Lock ``fd`` without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd):
    """What the holder wrote into the lock file, or {} while it has not (yet)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        found = json.loads(os.read(fd, 4096).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _refusal(folder, what, holder):
    pid, host = holder.get("pid"), holder.get("host")
    if not pid:
        return (f"{_shown(folder)} is in use by another medlab process (it has not said which "
                f"yet); wait for it to finish, then run this {what} again")
    here = host == socket.gethostname()
    stop = f"kill {pid}" if here else f"kill {pid} on {host}"
    return (f"{_shown(folder)} is in use by another medlab {holder.get('what', 'process')} "
            f"(pid {pid} on {host}, since {holder.get('since', '?')}); wait for it to finish, "
            f"or stop it (Ctrl-C in its terminal, or {stop}), then run this again; "
            "its finished runs are kept")


def _same_file(fd, path):
    try:
        mine, named = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)


def _acquire(folder, what):
    path = folder / LOCK_NAME
    for _ in range(_ATTEMPTS):  # a turn locks, refuses, or meets a lock file just released
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:  # the folder was just removed by a releasing holder
            continue
        except OSError as exc:
            raise OSError(f"{_shown(folder)}: cannot create its lock file {LOCK_NAME} "
                          f"({exc.strerror})") from None
        if not _try_lock(fd):
            holder = _holder(fd)
            os.close(fd)
            raise FolderInUse(_refusal(folder, what, holder))
        if _same_file(fd, path):  # not a file a releasing holder removed meanwhile
            break
        os.close(fd)
    else:
        raise FolderInUse(f"{_shown(folder)}: its lock changed hands {_ATTEMPTS} times while "
                          "this process tried to take it; run this again")
    record = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
              "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(record).encode("utf-8"))
    return fd


def _release(folder, fd):
    try:
        os.unlink(folder / LOCK_NAME)  # while still locked: a waiting opener sees it went
    except OSError:  # Windows cannot remove an open file: the next holder reuses it
        pass
    os.close(fd)


@contextlib.contextmanager
def folder_lock(folder, what):
    """Hold ``folder`` (made if missing) for this process while the block runs.

    ``what`` (``"sweep"``, ``"course"``) names the holder in the message another process
    gets: FolderInUse, at once, never a wait. The folders made here are removed again
    on the way out if they are still empty (a sweep refused before it wrote anything).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{_shown(folder)} is a file, not a folder; choose another --out")
    made = [parent for parent in [folder, *folder.parents] if not parent.exists()]
    fd = _acquire(folder, what)
    try:
        yield folder
    finally:
        _release(folder, fd)
        for path in made:  # deepest first; only empty folders, only those made here
            try:
                path.rmdir()
            except OSError:
                break


def holds_files(folder):
    """True when ``folder`` holds anything besides a lock file."""
    return any(path.name != LOCK_NAME for path in Path(folder).iterdir())
