"""MedMNIST files: validation, atomic MD5-checked downloads, the shipped PneumoniaMNIST.

No test touches the network: downloads read local files through an injected
opener or a file:// URL.
"""

import hashlib
import io
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import medlab
from medlab.data import bundled, downloads, medmnist
from medlab.data.downloads import DownloadError, default_data_root, download, file_md5
from medlab.data.medmnist import (
    fetch_medmnist,
    load_medmnist,
    medmnist_flags,
    medmnist_url,
    save_medmnist,
)
from medlab.data.bundled import (
    HC18_FILES,
    load_hc18,
    PNEUMONIAMNIST_COUNTS,
    PNEUMONIAMNIST_FILE,
    PNEUMONIAMNIST_MD5,
    find_pneumoniamnist,
    load_pneumoniamnist,
    pneumoniamnist_path,
)

REPO = Path(medlab.__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_FILE = SHARED_DATA / "pneumoniamnist.npz"


def valid_arrays(n=(6, 2, 3), size=8, rgb=False):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in zip(("train", "val", "test"), n):
        shape = (count, size, size, 3) if rgb else (count, size, size)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (count, 1), dtype=np.uint8)
    return arrays


def write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


# ---- load_medmnist -----------------------------------------------------------
@pytest.mark.parametrize("rgb", [False, True])
def test_load_valid_file(tmp_path, rgb):
    arrays = valid_arrays(rgb=rgb)
    splits = load_medmnist(write_npz(tmp_path / "ok.npz", arrays))
    assert list(splits) == ["train", "val", "test"]
    for name, (images, labels) in splits.items():
        np.testing.assert_array_equal(images, arrays[f"{name}_images"])
        np.testing.assert_array_equal(labels, arrays[f"{name}_labels"])
    assert splits["val"].images.shape[0] == 2


def _broken(key, value=None, drop=False):
    def make():
        arrays = valid_arrays()
        if drop:
            del arrays[key]
        else:
            arrays[key] = value(arrays[key])
        return arrays

    return make


@pytest.mark.parametrize(
    "make, key, message",
    [
        (_broken("val_labels", drop=True), "val_labels", "missing key"),
        (_broken("train_images", lambda a: a.astype(np.float32)), "train_images", "uint8"),
        (_broken("test_images", lambda a: a[:, 0]), "test_images", r"\(N, H, W\)"),
        (_broken("train_images", lambda a: a[..., None].repeat(2, -1)), "train_images", "shape"),
        (_broken("train_labels", lambda a: a[:, 0]), "train_labels", r"\(N, L\)"),
        (_broken("val_labels", lambda a: a.astype(np.float64)), "val_labels", "integer"),
        (_broken("test_labels", lambda a: a.astype(np.int64) - 5), "test_labels", "negative"),
        (_broken("train_labels", lambda a: a[:4]), "train_labels", "same N"),
        (_broken("train_images", lambda a: a[:, :0]), "train_images", r"\(6, 0, 8\).*1 x 1"),
        (_broken("val_images", lambda a: a[..., None].repeat(3, -1)[:, :, :0]), "val_images",
         "1 x 1"),
        (_broken("test_labels", lambda a: a[:, :0]), "test_labels", "at least one label column"),
        (_broken("val_images", lambda a: a[:, :4]), "val_images",
         r"\(2, 4, 8\).*train_images.*\(8, 8\)"),
        (_broken("test_labels", lambda a: a.repeat(2, 1)), "test_labels",
         "2 label columns.*train_labels has 1"),
        (_broken("val_labels", lambda a: np.array([[1], ["x"]], dtype=object)), "val_labels",
         "pickle"),
    ],
)
def test_invalid_files_name_the_file_and_the_key(tmp_path, make, key, message):
    path = write_npz(tmp_path / "bad.npz", make())
    with pytest.raises(ValueError, match=message) as info:
        load_medmnist(path)
    assert "bad.npz" in str(info.value) and key in str(info.value)


@pytest.mark.parametrize("damage", ["truncated", "header", "huge header", "not npy", "crc"])
@pytest.mark.parametrize("key", ["train_images", "test_labels"])
def test_damaged_array_is_reported_as_damaged_not_as_needing_pickle(tmp_path, write_damaged_npz,
                                                                     damage, key):
    path = write_damaged_npz(tmp_path / "cut.npz", valid_arrays(), key, damage)
    with pytest.raises(ValueError, match="damaged or truncated") as info:
        load_medmnist(path)
    message = str(info.value)
    assert "cut.npz" in message and key in message
    assert "pickle" not in message and "\n" not in message


@pytest.mark.parametrize("damage", ["header", "huge header", "not npy"])
def test_stored_shape_reads_the_header_only(tmp_path, write_damaged_npz, damage):
    from medlab.data.npz import open_npz, stored_shape

    arrays = valid_arrays()
    with open_npz(write_npz(tmp_path / "good.npz", arrays), "an .npz") as archive:
        assert stored_shape(archive, "train_images") == arrays["train_images"].shape
        with pytest.raises(ValueError, match=r"^no key 'images' \(the file has \['test_images'"):
            stored_shape(archive, "images")
    path = write_damaged_npz(tmp_path / "cut.npz", arrays, "train_images", damage)
    with open_npz(path, "an .npz") as archive, \
            pytest.raises(ValueError, match="key 'train_images' is damaged or truncated"):
        stored_shape(archive, "train_images")


def test_labels_beyond_n_classes(tmp_path):
    arrays = valid_arrays()
    arrays["train_labels"][0, 0] = 2
    path = write_npz(tmp_path / "three.npz", arrays)
    assert load_medmnist(path)["train"].labels.max() == 2  # fine without n_classes
    with pytest.raises(ValueError, match=r"train_labels.*\[0, 2\)"):
        load_medmnist(path, n_classes=2)


def test_not_an_npz_or_missing(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x00\x01 not a zip" * 50)
    with pytest.raises(ValueError, match="garbage.npz.*npz"):
        load_medmnist(garbage)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single.npy.*single .npy"):
        load_medmnist(single)
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_medmnist(tmp_path / "absent.npz")


@pytest.mark.parametrize("content", [np.random.default_rng(1).bytes(4096), b"",
                                     b"\x80\x04\x95pickled"])
def test_a_file_that_is_not_a_zip_is_not_an_npz_and_pickle_is_never_advised(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"x\.npz: not an \.npz \(zip\) file") as info:
        load_medmnist(path)
    assert "pickle" not in str(info.value)


def test_a_damaged_zip_is_named_as_such(tmp_path):
    whole = write_npz(tmp_path / "whole.npz", valid_arrays()).read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz: a damaged or truncated \.npz") as info:
        load_medmnist(cut)
    assert "pickle" not in str(info.value)


def test_a_fifo_or_folder_is_refused_at_once_naming_it(tmp_path, fifos):
    pipe = fifos.make("x.npz")
    with pytest.raises(ValueError, match=r"x\.npz is a FIFO \(named pipe\), not a regular file"):
        fifos.call(load_medmnist, pipe)
    with pytest.raises(ValueError, match="is a folder, not a regular file; expected a MedMNIST"):
        load_medmnist(tmp_path)
    with pytest.raises(ValueError, match=r"x\.npz is a FIFO"):
        fifos.call(pneumoniamnist_path, pipe)


def test_fetch_refuses_a_fifo_at_the_destination_without_downloading(tmp_path, fifos):
    pipe = fifos.make("pneumoniamnist.npz")

    def no_download(url, timeout):
        raise AssertionError("fetch_medmnist tried to download")

    with pytest.raises(ValueError, match=r"pneumoniamnist\.npz is a FIFO"):
        fifos.call(fetch_medmnist, "pneumoniamnist", root=tmp_path, opener=no_download,
                   progress=False)


def test_save_round_trip_and_refusal_to_overwrite(tmp_path):
    arrays = valid_arrays()
    splits = {s: (arrays[f"{s}_images"], arrays[f"{s}_labels"]) for s in ("train", "val", "test")}
    path = save_medmnist(tmp_path / "sub" / "mine.npz", splits)
    loaded = load_medmnist(path)
    np.testing.assert_array_equal(loaded["test"].images, arrays["test_images"])
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="mine.npz"):
        save_medmnist(path, splits)
    assert path.read_bytes() == before
    splits["val"] = (splits["val"][0].astype(np.float32), splits["val"][1])
    with pytest.raises(ValueError, match="mine.npz.*val_images.*uint8"):
        save_medmnist(path, splits, overwrite=True)
    assert path.read_bytes() == before  # a failed write leaves the old file
    assert sorted(p.name for p in path.parent.iterdir()) == ["mine.npz"]
    with pytest.raises(ValueError, match=".npz"):
        save_medmnist(tmp_path / "mine.zip", splits)


def test_shipped_pneumoniamnist_loads_offline_with_the_official_splits():
    splits = load_pneumoniamnist()
    assert {k: v.images.shape for k, v in splits.items()} == {
        "train": (4708, 28, 28), "val": (524, 28, 28), "test": (624, 28, 28)}
    for split, (n, positives) in PNEUMONIAMNIST_COUNTS.items():
        labels = splits[split].labels
        assert labels.shape == (n, 1) and int(labels.sum()) == positives, split
    assert np.bincount(splits["train"].labels[:, 0]).tolist() == [1214, 3494]  # README
    assert file_md5(PNEUMONIAMNIST_FILE) == PNEUMONIAMNIST_MD5 == "238a40f8f78b9a61dfdd21e86aac35f9"


def test_shipped_pneumoniamnist_is_package_data_with_attribution():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"files/pneumoniamnist.npz"' in pyproject and '"files/README.md"' in pyproject
    readme = (PNEUMONIAMNIST_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "Kermany" in readme and PNEUMONIAMNIST_MD5 in readme
    assert "load_pneumoniamnist" in (REPO / "data" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("shipped", [PNEUMONIAMNIST_FILE, HC18_FILES[64][0]], ids=lambda p: p.name)
def test_shipped_files_equal_the_shared_copies(shipped):
    shared = SHARED_DATA / shipped.name
    if not shared.is_file():
        pytest.skip(f"development data {shared} not present")
    assert shipped.read_bytes() == shared.read_bytes()


def test_shipped_hc18_loads_offline_with_every_field():
    hc18 = load_hc18(size=64)
    assert hc18.images.shape == hc18.masks.shape == (999, 64, 64)
    assert hc18.images.dtype == hc18.masks.dtype == np.uint8
    assert set(np.unique(hc18.masks)) == {0, 1}
    assert len(np.unique(hc18.subject)) == 806  # the README's count of examinations
    assert np.bincount(np.bincount(hc18.subject)).tolist() == [0, 642, 141, 17, 6]
    assert 40 < hc18.head_circumference_mm.min() < hc18.head_circumference_mm.max() < 400
    assert np.all(hc18.pixel_size_mm > 0) and hc18.filename[0] == "000_HC.png"
    path, md5 = HC18_FILES[64]
    assert file_md5(path) == md5 == "e6db14a05051a98b5c6b7f6af2c0e5ea"


def test_shipped_hc18_is_package_data_with_attribution():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"files/hc18_64.npz"' in pyproject
    readme = (PNEUMONIAMNIST_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "van den Heuvel" in readme and HC18_FILES[64][1] in readme
    assert "load_hc18" in (REPO / "data" / "README.md").read_text(encoding="utf-8")


def test_damaged_hc18_or_unknown_size_is_named(tmp_path):
    damaged = tmp_path / "hc18_64.npz"
    damaged.write_bytes(HC18_FILES[64][0].read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"hc18_64\.npz: MD5 is [0-9a-f]{32}, expected e6db14a0"):
        load_hc18(path=damaged)
    with pytest.raises(FileNotFoundError, match=r"absent\.npz: the HC18 64 px file .*reinstall"):
        load_hc18(path=tmp_path / "absent.npz")
    with pytest.raises(ValueError, match=r"^HC18 size 128: expected one of 64"):
        load_hc18(size=128)


def test_damaged_or_missing_shipped_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent\.npz: the PneumoniaMNIST file .*reinstall"):
        load_pneumoniamnist(tmp_path / "absent.npz")
    damaged = tmp_path / "pneumoniamnist.npz"
    damaged.write_bytes(PNEUMONIAMNIST_FILE.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"pneumoniamnist\.npz: MD5 is [0-9a-f]{32}, expected 238a40f8"):
        load_pneumoniamnist(damaged)


# ---- the registry ------------------------------------------------------------
def test_registry_has_the_official_urls_and_md5s():
    assert medmnist_url("pneumoniamnist") == (
        "https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1",
        "28209eda62fecd6e6a2d98b1501bb15f")
    url, md5 = medmnist_url("pneumoniamnist", 64)
    assert url.endswith("/pneumoniamnist_64.npz?download=1") and len(md5) == 32
    for flag in ("pneumoniamnist", "breastmnist", "chestmnist", "dermamnist", "bloodmnist",
                 "organamnist"):
        assert flag in medmnist_flags()
        for size in (28, 64, 128, 224):
            assert len(medmnist_url(flag, size)[1]) == 32


def test_unknown_flag_or_size_lists_the_valid_ones():
    with pytest.raises(ValueError, match="^MedMNIST flag .*expected one of.*pneumoniamnist"):
        fetch_medmnist("pneumonia")
    with pytest.raises(ValueError, match="^size for breastmnist 32: expected one of 28, 64, 128, 224"):
        medmnist_url("breastmnist", 32)


# ---- download / fetch ----------------------------------------------------------
@pytest.fixture
def served(tmp_path):
    """A source file to 'download', its MD5, and an empty destination folder."""
    source = tmp_path / "server" / "file.npz"
    source.parent.mkdir()
    source.write_bytes(os.urandom(3 * 1024 + 17))
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    return source, hashlib.md5(source.read_bytes()).hexdigest(), dest_dir


def test_download_from_a_file_url_with_the_real_opener(served):
    source, md5, dest_dir = served
    path = download(source.as_uri(), dest_dir / "got.npz", md5, progress=False, chunk_size=1000)
    assert path.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in dest_dir.iterdir()) == ["got.npz"]


def test_md5_mismatch_leaves_nothing_behind(served):
    source, _, dest_dir = served
    with pytest.raises(ValueError, match="MD5.*expected 0{32}"):
        download(source.as_uri(), dest_dir / "got.npz", "0" * 32, progress=False)
    assert list(dest_dir.iterdir()) == []


class _BreaksOff(io.BytesIO):
    """A response that delivers some bytes, then fails like a dropped connection."""

    def __init__(self, data, fail_with):
        super().__init__(data)
        self.fail_with = fail_with
        self.calls = 0

    def read(self, n=-1):
        self.calls += 1
        if self.calls > 1:
            raise self.fail_with
        return super().read(100)


@pytest.mark.parametrize("failure, raised", [
    (ConnectionResetError("connection reset by peer"), DownloadError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])
def test_interrupted_download_leaves_nothing(served, failure, raised):
    source, md5, dest_dir = served
    opener = lambda url, timeout: _BreaksOff(source.read_bytes(), failure)  # noqa: E731
    with pytest.raises(raised):
        download("https://example.org/file.npz", dest_dir / "got.npz", md5, opener=opener,
                 progress=False)
    assert list(dest_dir.iterdir()) == []


def test_offline_error_says_the_url_and_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(url, timeout):
        assert timeout <= 10
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(downloads, "_urlopen", offline)  # the default opener
    with pytest.raises(DownloadError) as info:
        fetch_medmnist("breastmnist", root=tmp_path, progress=False)
    message = str(info.value)
    url, md5 = medmnist_url("breastmnist")
    assert url in message and md5 in message
    assert str((tmp_path / "breastmnist.npz").resolve()) in message
    assert list(tmp_path.iterdir()) == []


def test_unreachable_file_url_fails_cleanly_with_the_real_opener(tmp_path):
    with pytest.raises(DownloadError, match="could not download"):
        download((tmp_path / "nowhere.npz").as_uri(), tmp_path / "x.npz", "0" * 32,
                 progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def fake_registry(served, monkeypatch):
    """Make the official pneumoniamnist (28) entry expect the served file's MD5."""
    source, md5, dest_dir = served
    monkeypatch.setitem(medmnist._MD5, "pneumoniamnist", {28: md5})
    return source, md5, dest_dir


def test_fetch_downloads_the_official_url_once(fake_registry):
    source, _, dest_dir = fake_registry
    asked = []

    def opener(url, timeout):
        asked.append(url)
        return open(source, "rb")

    path = fetch_medmnist("PneumoniaMNIST", root=dest_dir, opener=opener, progress=False)
    assert path == dest_dir / "pneumoniamnist.npz"
    assert path.read_bytes() == source.read_bytes()
    assert asked == ["https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1"]

    def must_not_download(url, timeout):
        raise AssertionError("the verified file was downloaded again")

    assert fetch_medmnist("pneumoniamnist", root=dest_dir, opener=must_not_download) == path


def test_fetch_never_overwrites_a_file_with_the_wrong_md5(fake_registry):
    source, _, dest_dir = fake_registry
    mine = dest_dir / "pneumoniamnist.npz"
    mine.write_bytes(b"my own half-finished download")
    with pytest.raises(FileExistsError, match="pneumoniamnist.npz.*MD5.*untouched"):
        fetch_medmnist("pneumoniamnist", root=dest_dir, opener=lambda u, t: open(source, "rb"))
    assert mine.read_bytes() == b"my own half-finished download"


# ---- where files live ------------------------------------------------------------
@pytest.mark.parametrize("below", ["", "sub"])
def test_fetch_into_a_root_that_is_a_file_says_so_before_downloading(tmp_path, below):
    def no_download(url, timeout):
        raise AssertionError("a download was attempted")

    some_file = tmp_path / "some_file.npz"
    some_file.write_bytes(b"mine")
    with pytest.raises(ValueError, match=rf"root .*: {some_file} is a file, not a folder"):
        fetch_medmnist("bloodmnist", root=some_file / below, opener=no_download, progress=False)
    with pytest.raises(ValueError, match=rf"{some_file} is a file, not a folder"):
        download("file:///nowhere", some_file / below / "x.npz", "0" * 32, opener=no_download,
                 progress=False)
    assert some_file.read_bytes() == b"mine"


def test_default_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDLAB_DATA", str(tmp_path))
    assert default_data_root() == tmp_path
    monkeypatch.delenv("MEDLAB_DATA")
    assert default_data_root() == REPO / "data"  # running from the source checkout


def test_find_pneumoniamnist_search_order(monkeypatch, tmp_path):
    fake_repo = tmp_path / "checkout"
    (fake_repo / "data").mkdir(parents=True)
    monkeypatch.setattr(bundled, "repo_root", lambda: fake_repo)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEDLAB_DATA", raising=False)
    assert find_pneumoniamnist() == PNEUMONIAMNIST_FILE  # nothing of yours: the shipped file

    in_repo = fake_repo / "data" / "pneumoniamnist.npz"
    in_repo.write_bytes(b"official")
    assert find_pneumoniamnist() == in_repo

    env_dir = tmp_path / "elsewhere"
    env_dir.mkdir()
    (env_dir / "pneumoniamnist.npz").write_bytes(b"env")
    monkeypatch.setenv("MEDLAB_DATA", str(env_dir))
    assert find_pneumoniamnist() == env_dir / "pneumoniamnist.npz"
