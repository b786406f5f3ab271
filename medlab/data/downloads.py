"""Where downloaded files go, and downloading one safely: MD5 checked, never a partial file.

``default_data_root()`` is the folder downloads go to (``$MEDLAB_DATA``, else ``data/`` of
the source checkout, else ``./data``); ``download(url, dest, md5)`` fetches one file
atomically; ``file_md5(path)`` checks a file. :mod:`medlab.data.medmnist` fetches MedMNIST
files with them and :mod:`medlab.data.bundled` checks the files shipped with medlab.
Standard library only (tqdm for the progress bar, imported when downloading).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from medlab import files


class DownloadError(ConnectionError):
    """A file could not be downloaded (offline, server error, interrupted)."""


def repo_root():
    """The medlab source checkout (parent of the package folder)."""
    return Path(__file__).resolve().parents[2]


def _is_source_checkout(repo):
    pyproject = repo / "pyproject.toml"
    try:
        return pyproject.is_file() and 'name = "medlab"' in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False


def default_data_root():
    """Folder where downloads go when no ``root`` is given.

    ``$MEDLAB_DATA`` if that environment variable is set; else ``data/`` of
    the medlab source checkout when medlab runs from one (git ignores it);
    else ``data`` in the current working directory.

    Returns
    -------
    pathlib.Path
    """
    env = os.environ.get("MEDLAB_DATA")
    if env:
        return Path(env).expanduser()
    repo = repo_root()
    if _is_source_checkout(repo):
        return repo / "data"
    return Path.cwd() / "data"


def file_md5(path, chunk_size=1 << 20):
    """Hex MD5 digest of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _urlopen(url, timeout):
    """Open ``url`` for reading: :func:`urllib.request.urlopen` with a User-Agent.

    The default ``opener`` of :func:`download`; tests pass their own.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "medlab"})
    return urllib.request.urlopen(request, timeout=timeout)


def _content_length(response):
    headers = getattr(response, "headers", None)
    try:
        return int(headers.get("Content-Length")) if headers is not None else None
    except (TypeError, ValueError):
        return None


def _manual_hint(md5, dest):
    return (
        f"To install it by hand (e.g. for an offline machine), download that URL elsewhere "
        f"and save the file as "
        f"{Path(dest).resolve()} (expected MD5 {md5})."
    )


def check_folder(name, folder):
    """Refuse, before any download, a folder path that is a file or runs through one."""
    folder = Path(folder)
    above = next((path for path in (folder, *folder.parents) if path.exists()), None)
    if above is not None and not above.is_dir():
        raise ValueError(f"{name} {folder}: {above} is a file, not a folder; expected a folder "
                         "to save the download into (created if missing)")


def download(url, dest, md5, *, opener=None, timeout=10.0, progress=True, chunk_size=1 << 20):
    """Download ``url`` to ``dest`` and verify its MD5, never leaving a partial file.

    Bytes go to a temporary file in ``dest``'s folder; only when the MD5
    matches is it renamed to ``dest`` (:func:`os.replace`, atomic). On any
    failure, interruption included, the temporary file is deleted.

    Parameters
    ----------
    url : str
    dest : str or os.PathLike
        Final path. Must not exist (this function never overwrites).
    md5 : str
        Expected hex MD5 of the file.
    opener : callable, optional
        ``opener(url, timeout)`` returning a readable binary file-like object
        (a context manager with ``read(n)``); default :func:`_urlopen`.
    timeout : float
        Seconds to wait for the connection and for each read.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    FileExistsError
        If ``dest`` exists (it is left untouched).
    ValueError
        If ``dest``'s folder is a file or lies inside one (checked before downloading).
    DownloadError
        If the connection fails or breaks off.
    ValueError
        If the downloaded bytes do not have the expected MD5.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    opener = _urlopen if opener is None else opener
    check_folder("folder", dest.parent)
    if dest.exists():
        raise FileExistsError(f"{dest} exists; not overwriting it")
    digest = hashlib.md5()

    def verify(tmp):
        got = digest.hexdigest()
        if got != md5:
            raise ValueError(
                f"downloaded {url} but its MD5 is {got}, expected {md5} (incomplete or changed "
                "file); nothing was saved. " + _manual_hint(md5, dest)
            )

    try:
        with files.atomic_write(dest, overwrite=False, check=verify) as out:
            try:
                response = opener(url, timeout)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DownloadError(
                    f"could not download {url} ({reason}). " + _manual_hint(md5, dest)
                ) from None
            with contextlib.closing(response):
                total = _content_length(response)
                with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                          desc=dest.name, disable=not progress, leave=False) as bar:
                    while True:
                        try:
                            chunk = response.read(chunk_size)
                        except (urllib.error.URLError, OSError) as exc:
                            raise DownloadError(
                                f"download of {url} broke off ({type(exc).__name__}: {exc}); "
                                "nothing was saved. " + _manual_hint(md5, dest)
                            ) from None
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
    except FileExistsError:  # appeared while we downloaded: keep theirs
        raise FileExistsError(f"{dest} appeared during the download; not overwriting it") from None
    return dest


__all__ = ["DownloadError", "check_folder", "default_data_root", "download", "file_md5", "repo_root"]
