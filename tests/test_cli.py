"""The medlab command line (medlab.course.cli): medlab data synth / fetch / export / info."""

import os
import subprocess
import sys
import urllib.error

import nibabel
import numpy as np
import pytest
from pydicom.data import get_testdata_file

from medlab import __version__
from medlab.course import cli, commands
from medlab.data import downloads, load_medmnist, medmnist, save_medmnist
from medlab.data.medmnist import medmnist_url


def run(capsys, *argv):
    """``medlab argv...`` in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err):
    assert err.startswith("medlab: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.fixture
def synth_npz(tmp_path, capsys):
    path = tmp_path / "synth.npz"
    code, out, err = run(capsys, "data", "synth", "--n", 20, "--size", 16, "--seed", 3,
                         "--out", path)
    assert (code, err) == (0, "")
    return path, out


# ---- synth ---------------------------------------------------------------------
def test_synth_writes_a_medmnist_file_split_70_15_15(synth_npz):
    path, out = synth_npz
    splits = load_medmnist(path, n_classes=2)
    assert {k: v.images.shape for k, v in splits.items()} == {
        "train": (14, 16, 16), "val": (3, 16, 16), "test": (3, 16, 16)}
    for images, labels in splits.values():
        assert images.dtype == np.uint8 and labels.dtype == np.uint8 and labels.shape[1] == 1
    n_positive = sum(int(s.labels.sum()) for s in splits.values())
    assert n_positive == 10  # prevalence 0.5
    assert out.startswith(f"wrote {path}: train 14, val 3, test 3 images of 16x16")


def test_synth_refuses_to_overwrite_and_is_reproducible(synth_npz, capsys):
    path, _ = synth_npz
    before = path.read_bytes()
    original = load_medmnist(path)["train"].images
    code, _, err = run(capsys, "data", "synth", "--n", 20, "--size", 16, "--out", path)
    assert code == 2 and "--force" in err
    assert_one_line_error(err)
    assert path.read_bytes() == before
    for seed, same in ((3, True), (4, False)):
        code, _, _ = run(capsys, "data", "synth", "--n", 20, "--size", 16, "--seed", seed,
                         "--out", path, "--force")
        assert code == 0
        assert np.array_equal(load_medmnist(path)["train"].images, original) == same


@pytest.mark.parametrize("argv, message", [
    (["--n", "3"], "at least 7"),
    (["--n", "x"], "invalid int value"),
    (["--prevalence", "2"], "prevalence"),
])
def test_synth_bad_input_is_one_line(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, "data", "synth", *argv, "--out", tmp_path / "s.npz")
    assert code != 0 and message in err
    assert_one_line_error(err)
    assert not (tmp_path / "s.npz").exists()


@pytest.mark.parametrize("argv, option", [
    (["--seed", "-1"], "--seed -1"),
    (["--out", "{file}/s.npz"], "--out"),
    (["--out", "{folder}.npz", "--force"], "--out"),
])
def test_synth_errors_name_the_option(tmp_path, capsys, argv, option):
    file, folder = tmp_path / "file.txt", tmp_path / "folder"
    file.write_text("keep me")
    (tmp_path / "folder.npz").mkdir()
    argv = [arg.format(file=file, folder=folder) for arg in argv]
    if "--out" not in argv:
        argv += ["--out", tmp_path / "s.npz"]
    code, _, err = run(capsys, "data", "synth", "--n", 7, "--size", 16, *argv)
    assert code == 2 and err.startswith(f"medlab: error: {option}")
    assert_one_line_error(err)
    assert file.read_text() == "keep me" and (tmp_path / "folder.npz").is_dir()
    assert not (tmp_path / "s.npz").exists()


# ---- export ------------------------------------------------------------------
def test_export_writes_class_folders(synth_npz, tmp_path, capsys):
    path, _ = synth_npz
    out_dir = tmp_path / "png"
    code, out, _ = run(capsys, "data", "export", path, "--split", "val", "--out", out_dir)
    labels = load_medmnist(path)["val"].labels[:, 0]
    assert code == 0 and out.startswith(f"wrote 3 PNG files to {out_dir}")
    assert len(list((out_dir / "pneumonia").iterdir())) == int(labels.sum())
    code, _, err = run(capsys, "data", "export", path, "--split", "val", "--out", out_dir)
    assert code == 2 and "exists" in err and "--force" in err
    assert_one_line_error(err)


def test_export_limit_and_classes(synth_npz, tmp_path, capsys):
    path, _ = synth_npz
    code, _, _ = run(capsys, "data", "export", path, "--out", tmp_path / "few", "--limit", 5,
                     "--classes", "healthy,sick")
    assert code == 0
    files = list((tmp_path / "few").rglob("*.png"))
    assert len(files) == 5 and {f.parent.name for f in files} <= {"healthy", "sick"}
    code, _, err = run(capsys, "data", "export", path, "--out", tmp_path / "one",
                       "--classes", "only")
    assert code == 2 and "--classes" in err
    assert not (tmp_path / "one").exists()


def test_export_of_empty_images_names_the_key_and_creates_nothing(tmp_path, capsys):
    rng = np.random.default_rng(0)
    arrays = {f"{split}_{kind}": value for split in ("train", "val", "test") for kind, value in
              (("images", rng.integers(0, 256, (4, 8, 8), dtype=np.uint8)),
               ("labels", np.zeros((4, 1), np.uint8)))}
    arrays["train_images"] = np.zeros((10, 0, 16), np.uint8)
    arrays["train_labels"] = np.zeros((10, 1), np.uint8)
    np.savez(tmp_path / "empty.npz", **arrays)
    code, _, err = run(capsys, "data", "export", tmp_path / "empty.npz", "--out", tmp_path / "png")
    assert code == 1 and "empty.npz" in err and "train_images" in err and "(10, 0, 16)" in err
    assert_one_line_error(err)
    assert not (tmp_path / "png").exists()
    code, out, _ = run(capsys, "data", "info", tmp_path / "empty.npz")
    assert "0x16" not in out and "not in MedMNIST format" in out and "(10, 0, 16)" in out


def test_export_of_a_split_without_images_names_it_and_creates_nothing(tmp_path, capsys):
    """A split of 0 images was 'exported' (exit 0) as empty class folders, which every loader
    then refuses ("class folder ... is empty")."""
    rng = np.random.default_rng(0)
    splits = {split: (rng.integers(0, 256, (n, 8, 8), dtype=np.uint8), np.zeros((n, 1), np.uint8))
              for split, n in (("train", 4), ("val", 0), ("test", 4))}
    path = save_medmnist(tmp_path / "no_val.npz", splits)
    code, _, err = run(capsys, "data", "export", path, "--split", "val", "--out", tmp_path / "png")
    assert code == 2 and err.startswith(f"medlab: error: {path}: its val split holds 0 images")
    assert_one_line_error(err)
    assert not (tmp_path / "png").exists()


@pytest.mark.parametrize("argv, option", [
    (["--classes", "a,a"], "--classes"),
    (["--classes", "a/b,c"], "--classes"),
    (["--classes", "normal,"], "--classes"),
    (["--out", "{file}"], "--out"),
    (["--out", "{file}/png"], "--out"),
])
def test_export_errors_name_the_option(synth_npz, tmp_path, capsys, argv, option):
    path, _ = synth_npz
    file = tmp_path / "file.txt"
    file.write_text("keep me")
    argv = [str(arg).format(file=file) for arg in argv]
    if "--out" not in argv:
        argv += ["--out", tmp_path / "png"]
    code, _, err = run(capsys, "data", "export", path, *argv)
    assert code == 2 and err.startswith(f"medlab: error: {option}")
    assert_one_line_error(err)
    assert file.read_text() == "keep me" and not (tmp_path / "png").exists()


# ---- info --------------------------------------------------------------------
def test_info_on_npz_folder_dicom_and_nifti(synth_npz, tmp_path, capsys):
    path, _ = synth_npz
    code, out, _ = run(capsys, "data", "info", path)
    assert code == 0 and "MedMNIST .npz, 20 images, 16x16 grey" in out
    assert "train" in out and "(14, 16, 16)" in out and "%" in out

    run(capsys, "data", "export", path, "--out", tmp_path / "png")
    code, out, _ = run(capsys, "data", "info", tmp_path / "png")
    assert code == 0 and "image folder, 2 classes, 14 images" in out and "16x16 L" in out

    code, out, _ = run(capsys, "data", "info", get_testdata_file("CT_small.dcm"))
    assert code == 0 and "DICOM CT" in out and "HU" in out and "0.661468 x 0.661468 mm" in out

    nifti = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "example4d.nii.gz")
    code, out, _ = run(capsys, "data", "info", nifti)
    assert code == 0 and "4-D volume" in out and "(128, 96, 24, 2)" in out


def test_info_names_pneumoniamnist_classes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = np.array([[0], [1], [1], [1]], dtype=np.uint8)
    path = save_medmnist(tmp_path / "pneumoniamnist.npz", {
        split: (rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), labels)
        for split in ("train", "val", "test")})
    code, out, _ = run(capsys, "data", "info", path)
    assert code == 0 and "0 normal: 1 (25.0%), 1 pneumonia: 3 (75.0%)" in out


def test_info_on_other_npz_and_unknown_files(tmp_path, capsys):
    np.savez(tmp_path / "other.npz", weights=np.zeros((2, 3)))
    code, out, _ = run(capsys, "data", "info", tmp_path / "other.npz")
    assert code == 0 and "not in MedMNIST format" in out and "weights: (2, 3) float64" in out
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = run(capsys, "data", "info", tmp_path / "notes.txt")
    assert code == 2 and "cannot tell what this is" in err
    code, _, err = run(capsys, "data", "info", tmp_path / "missing.dcm")
    assert code == 1 and "missing.dcm" in err
    assert_one_line_error(err)


@pytest.mark.parametrize("damage", ["truncated", "not npy"])
def test_info_lists_a_damaged_array_as_damaged_not_as_needing_pickle(tmp_path, capsys,
                                                                      write_damaged_npz, damage):
    arrays = {"train_images": np.zeros((4, 8, 8), np.uint8), "weights": np.ones((2, 3))}
    path = write_damaged_npz(tmp_path / "cut.npz", arrays, "train_images", damage)
    code, out, err = run(capsys, "data", "info", path)
    assert (code, err) == (0, "")
    assert "train_images: damaged or truncated" in out and "weights: (2, 3) float64" in out
    assert "pickle" not in out


def test_info_on_random_bytes_named_npz_says_it_is_not_an_npz(tmp_path, capsys):
    path = tmp_path / "x.npz"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    code, _, err = run(capsys, "data", "info", path)
    assert code == 1 and "x.npz: not an .npz (zip) file" in err and "pickle" not in err
    assert_one_line_error(err)


@pytest.mark.parametrize("name", ["x.dcm", "x.npz", "x.nii.gz", "x"])
def test_info_refuses_a_fifo_at_once(capsys, fifos, name):
    code, _, err = fifos.call(run, capsys, "data", "info", fifos.make(name))
    assert code == 1 and f"{name} is a FIFO (named pipe), not a regular file" in err
    assert_one_line_error(err)


def test_export_refuses_a_fifo_npz_at_once(tmp_path, capsys, fifos):
    code, _, err = fifos.call(run, capsys, "data", "export", fifos.make("x.npz"),
                              "--out", tmp_path / "png")
    assert code == 1 and "x.npz is a FIFO" in err and not (tmp_path / "png").exists()


def test_info_refuses_a_cmyk_jpeg_in_the_color_mode_that_cannot_read_it(synth_npz, tmp_path,
                                                                         capsys):
    from PIL import Image

    folder = tmp_path / "png"
    run(capsys, "data", "export", synth_npz[0], "--out", folder)
    cmyk = folder / "normal" / "scan.jpg"
    Image.new("CMYK", (16, 16), (10, 20, 30, 40)).save(cmyk)
    code, _, err = run(capsys, "data", "info", folder)
    assert code == 1 and f"{cmyk} is a CMYK JPEG" in err and "color mode 'grayscale'" in err
    assert_one_line_error(err)
    code, out, _ = run(capsys, "data", "info", folder, "--color-mode", "rgb")
    assert code == 0 and "16x16 CMYK (1)" in out
    code, _, err = run(capsys, "data", "info", synth_npz[0], "--color-mode", "rgb")
    assert code == 2 and "--color-mode" in err and "image folder" in err


def test_info_checks_an_image_folder_without_tensorflow(synth_npz, tmp_path, capsys):
    run(capsys, "data", "export", synth_npz[0], "--out", tmp_path / "png")
    probe = ("import contextlib, io, sys\nfrom medlab.course import cli\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             f"    code = cli.main(['data', 'info', {str(tmp_path / 'png')!r}])\n"
             "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.splitlines()[-1] == "0 False False"


def test_info_names_a_png_that_is_only_a_header(synth_npz, tmp_path, capsys):
    folder = tmp_path / "png"
    run(capsys, "data", "export", synth_npz[0], "--out", folder)
    header_only = folder / "pneumonia" / "header.png"
    header_only.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10"
                            b"\x08\x00\x00\x00\x00:\x98\xa0\xbd\x00\x00\x00\x00IEND\xaeB`\x82")
    code, _, err = run(capsys, "data", "info", folder)
    assert code == 1 and f"{header_only} holds no pixel data" in err
    assert_one_line_error(err)


def test_info_names_a_png_claiming_30000_by_30000_pixels(synth_npz, tmp_path, capsys):
    import struct
    import zlib

    folder = tmp_path / "png"
    run(capsys, "data", "export", synth_npz[0], "--out", folder)
    header = b"IHDR" + struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    huge = folder / "normal" / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + header
                     + struct.pack(">I", zlib.crc32(header)) + b"\0\0\0\0IEND\xaeB`\x82")
    code, _, err = run(capsys, "data", "info", folder)
    assert code == 1 and f"{huge} is 30000 x 30000 pixels" in err
    assert_one_line_error(err)


# ---- fetch -------------------------------------------------------------------
def test_fetch_offline_is_one_line_with_url_and_destination(tmp_path, capsys, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(downloads, "_urlopen", offline)
    code, _, err = run(capsys, "data", "fetch", "dermamnist", "--root", tmp_path)
    assert code == 1
    assert_one_line_error(err)
    assert medmnist_url("dermamnist")[0] in err and str(tmp_path / "dermamnist.npz") in err
    assert list(tmp_path.iterdir()) == []


def test_fetch_reports_a_verified_file_already_present(tmp_path, capsys, monkeypatch):
    present = tmp_path / "breastmnist_64.npz"
    present.write_bytes(b"pretend official file")
    monkeypatch.setitem(medmnist._MD5, "breastmnist", {64: downloads.file_md5(present)})
    code, out, _ = run(capsys, "data", "fetch", "breastmnist", "--size", 64, "--root", tmp_path)
    assert code == 0 and out == f"{present}: already here, MD5 verified\n"


@pytest.mark.parametrize("below", ["", "sub"])
def test_fetch_root_that_is_a_file_is_named_before_any_download(tmp_path, capsys, monkeypatch,
                                                                 below):
    def no_download(url, timeout):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(downloads, "_urlopen", no_download)
    some_file = tmp_path / "some_file.npz"
    some_file.write_bytes(b"mine")
    code, _, err = run(capsys, "data", "fetch", "bloodmnist", "--root", some_file / below)
    assert code == 2 and err.startswith(f"medlab: error: --root {some_file / below}")
    assert f"{some_file} is a file, not a folder" in err and "appeared" not in err
    assert_one_line_error(err)
    assert some_file.read_bytes() == b"mine"


def test_fetch_unknown_flag(capsys, tmp_path):
    code, _, err = run(capsys, "data", "fetch", "catmnist", "--root", tmp_path)
    assert code == 1 and "pneumoniamnist" in err
    assert_one_line_error(err)


# ---- the parser ----------------------------------------------------------------
@pytest.mark.parametrize("argv", [[], ["data"], ["data", "synth"], ["data", "fetch"],
                                  ["data", "export"], ["data", "info"]])
def test_every_command_has_help(capsys, argv):
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0 and out.startswith("usage: medlab")


def test_version_and_missing_command(capsys):
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"medlab {__version__}\n")
    code, _, err = run(capsys)
    assert code == 2 and "COMMAND" in err
    assert_one_line_error(err)


def test_register_command_adds_a_subcommand(monkeypatch, capsys):
    monkeypatch.setattr(commands, "COMMANDS", dict(commands.COMMANDS))

    @commands.register_command("hello", help="say hello")
    def _configure(parser):
        parser.add_argument("--name", default="world")
        parser.set_defaults(handler=lambda args: print(f"hello {args.name}") or 3)

    assert run(capsys, "hello", "--name", "lab")[:2] == (3, "hello lab\n")
    assert "say hello" in run(capsys, "--help")[1]


def test_python_dash_m_medlab_help():
    result = subprocess.run([sys.executable, "-m", "medlab", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: medlab") and "data" in result.stdout
    assert result.stderr == ""
