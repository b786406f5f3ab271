"""Image folders: exporting PNGs and reading them into tf.data (medlab.data.folders)."""

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from medlab.data import check_image_folder, export_image_folder, image_folder_dataset

CLASSES = ["normal", "pneumonia"]


def grey_images(n=12, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size), dtype=np.float32), np.arange(n) % 2


def read_png(path):
    with Image.open(path) as image:
        return np.asarray(image)


# ---- export_image_folder -------------------------------------------------------
def test_export_grey_floats_round_trip_exactly(tmp_path):
    images, labels = grey_images()
    written = export_image_folder(images, labels, CLASSES, tmp_path / "out")
    assert len(written) == 12
    assert written[3] == tmp_path / "out" / "pneumonia" / "00003.png"
    assert sorted(p.name for p in (tmp_path / "out" / "normal").iterdir())[:2] == [
        "00000.png", "00002.png"]
    for index, path in enumerate(written):
        assert path.parent.name == CLASSES[labels[index]]
        expected = np.rint(images[index] * 255).astype(np.uint8)
        np.testing.assert_array_equal(read_png(path), expected)


def test_export_rgb_uint8_and_channel_last_grey(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    written = export_image_folder(rgb, np.array([[0], [1], [1], [0]]), CLASSES, tmp_path / "rgb")
    np.testing.assert_array_equal(read_png(written[2]), rgb[2])
    grey = rng.integers(0, 256, (2, 8, 8, 1), dtype=np.uint8)
    written = export_image_folder(grey, [0, 1], CLASSES, tmp_path / "grey")
    assert read_png(written[1]).shape == (8, 8)


def test_export_refuses_to_overwrite_unless_asked(tmp_path):
    images, labels = grey_images(n=4)
    first = export_image_folder(images, labels, CLASSES, tmp_path)
    before = [p.read_bytes() for p in first]
    with pytest.raises(FileExistsError, match="00000.png.*overwrite=True"):
        export_image_folder(1.0 - images, labels, CLASSES, tmp_path)
    assert [p.read_bytes() for p in first] == before
    export_image_folder(1.0 - images, labels, CLASSES, tmp_path, overwrite=True)
    assert [p.read_bytes() for p in first] != before


@pytest.mark.parametrize(
    "images, labels, classes, message",
    [
        (np.zeros((2, 4, 4)), [0, 2], CLASSES, r"labels has values in \[0, 2\]"),
        (np.zeros((2, 4, 4)), [0, 1, 1], CLASSES, "labels has shape"),
        (np.full((2, 4, 4), 2.0), [0, 1], CLASSES, r"\[0, 1\]"),
        (np.zeros((2, 4)), [0, 1], CLASSES, "images has shape"),
        (np.zeros((2, 0, 4)), [0, 1], CLASSES, r"images has shape \(2, 0, 4\).*1 x 1"),
        (np.zeros((2, 4, 0, 3)), [0, 1], CLASSES, r"images has shape \(2, 4, 0, 3\).*1 x 1"),
        (np.zeros((2, 4, 4)), [0, 1], ["normal", "a/b"], "class_names"),
        (np.zeros((2, 4, 4)), [0, 1], ["same", "same"], "duplicates"),
    ],
)
def test_export_rejects_bad_input(tmp_path, images, labels, classes, message):
    with pytest.raises(ValueError, match=message):
        export_image_folder(images, labels, classes, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- check_image_folder --------------------------------------------------------
@pytest.fixture
def folder(tmp_path):
    images, labels = grey_images(n=20)
    root = tmp_path / "xray"
    export_image_folder(images, labels, CLASSES, root)
    return root


def test_check_finds_classes_and_ignores_hidden_things(folder):
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / "normal" / ".DS_Store").write_bytes(b"\x00\x01")
    found = check_image_folder(folder, n_classes=2)
    assert list(found) == CLASSES
    assert [len(files) for files in found.values()] == [10, 10]


def test_check_names_the_bad_file_or_folder(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        check_image_folder(tmp_path / "nowhere")

    (folder / "extra").mkdir()
    with pytest.raises(ValueError, match=r"3 class folder\(s\).*extra.*exactly 2"):
        check_image_folder(folder, n_classes=2)
    with pytest.raises(ValueError, match="extra is empty"):
        check_image_folder(folder)
    (folder / "extra").rmdir()

    notes = folder / "normal" / "notes.txt"
    notes.write_text("reading list")
    with pytest.raises(ValueError, match="notes.txt is not an image"):
        check_image_folder(folder)
    notes.unlink()

    victim = folder / "pneumonia" / "00001.png"
    victim.write_bytes(victim.read_bytes()[:60])  # truncated PNG
    with pytest.raises(ValueError, match="00001.png is truncated"):
        check_image_folder(folder)


def test_check_refuses_a_fifo_in_a_class_folder(folder, fifos):
    fifos.folder = folder
    fifos.make("normal/x.png")
    with pytest.raises(ValueError, match=r"x\.png is a FIFO \(named pipe\), not a regular file"):
        fifos.call(check_image_folder, folder)


def test_check_rejects_formats_tensorflow_cannot_decode(folder):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "normal" / "tiff.png", format="TIFF")
    with pytest.raises(ValueError, match="tiff.png is a TIFF image"):
        check_image_folder(folder)


# ---- what TensorFlow's decoder accepts ------------------------------------------
COLOR_MODES = ("grayscale", "rgb", "rgba")


def _encoded(image, image_format, **options):
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _bmp(bits, rows, palette=b"", core_header=False, compression=0, masks=b"", data=None):
    """A bottom-up BMP, 8 pixels wide, written byte by byte (Pillow writes only some kinds)."""
    height, width = len(rows), 8
    if data is None:
        data = b"".join(row + b"\0" * (-len(row) % 4) for row in reversed(rows))
    if core_header:  # OS/2 BITMAPCOREHEADER
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(data),
                           2835, 2835, len(palette) // 4, 0) + masks
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def image_zoo():
    """Files of every kind a class folder may hold: name -> bytes."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8))
    blocks = np.kron(rng.integers(0, 256, (3, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    smooth = Image.fromarray(blocks)  # JPEG-friendly: compare decoders closely
    zoo = {f"png {mode}": _encoded(rgb.convert(mode), "PNG")
           for mode in ("1", "L", "LA", "P", "RGB", "RGBA")}
    zoo["png 16-bit"] = _encoded(Image.fromarray(rng.integers(0, 65536, (8, 8), dtype=np.uint16)),
                                 "PNG")
    zoo.update({f"jpeg {mode}": _encoded(smooth.convert(mode), "JPEG", quality=95)
                for mode in ("L", "RGB", "CMYK")})
    zoo["jpeg progressive"] = _encoded(smooth, "JPEG", quality=95, progressive=True)
    zoo["jpeg CMYK progressive"] = _encoded(smooth.convert("CMYK"), "JPEG", quality=95,
                                            progressive=True)
    zoo["mpo"] = _encoded(smooth, "MPO", save_all=True, append_images=[smooth.rotate(90)])
    zoo.update({f"gif {mode}": _encoded(rgb.convert(mode), "GIF") for mode in ("L", "P")})
    zoo["gif animated"] = _encoded(rgb.convert("P"), "GIF", save_all=True,
                                   append_images=[rgb.rotate(90).convert("P")])
    zoo.update({f"bmp {mode}": _encoded(rgb.convert(mode), "BMP")
                for mode in ("1", "L", "P", "RGB", "RGBA")})
    pixels = rng.integers(0, 256, (4, 8, 3), dtype=np.uint8)
    zoo["bmp OS/2"] = _bmp(24, [row[:, ::-1].tobytes() for row in pixels], core_header=True)
    grey16 = b"".join(bytes([17 * i] * 3 + [0]) for i in range(16))
    zoo["bmp 4-bit"] = _bmp(4, [bytes(range(16))[:4]] * 4, palette=grey16)
    zoo["bmp 16-bit"] = _bmp(16, [struct.pack("<8H", *range(0, 32000, 4000))] * 4)
    run_lengths = b"".join(bytes([8, 60 * row, 0, 0]) for row in range(4)) + b"\0\1"
    zoo["bmp 8-bit RLE"] = _bmp(8, [bytes(8)] * 4, compression=1, data=run_lengths,
                                palette=b"".join(bytes([i] * 3 + [0]) for i in range(256)))
    zoo["bmp 32-bit bit fields"] = _bmp(
        32, [np.hstack([row[:, ::-1], np.full((8, 1), 255, np.uint8)]).tobytes() for row in pixels],
        compression=3, masks=struct.pack("<III", 0xFF0000, 0xFF00, 0xFF))
    zoo["tiff"] = _encoded(rgb, "TIFF")
    zoo.update(damaged_images(zoo))
    return zoo


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_END = _png_chunk(b"IEND", b"")


def png_header(width, height):
    """A PNG's signature and IHDR chunk: 8-bit grey, not interlaced."""
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                                    8, 0, 0, 0, 0))


def damaged_images(zoo):
    """Truncated, cut and padded files: name -> bytes."""
    png, jpeg, gif, bmp = zoo["png L"], zoo["jpeg RGB"], zoo["gif P"], zoo["bmp RGB"]
    header, row = png_header(24, 20), bytes(1 + 24)  # as "png L": 24 x 20 grey

    def pixels(data):
        return _png_chunk(b"IDAT", zlib.compress(data))

    animated = zoo["gif animated"]
    return {
        "png header only": header + PNG_END,
        "png without pixels": header + pixels(b"") + PNG_END,
        "png with 4 of its 20 rows": header + pixels(row * 4) + PNG_END,
        "png with extra rows": header + pixels(row * 30) + PNG_END,
        "png unfinished pixel stream": header + _png_chunk(b"IDAT", zlib.compress(row * 20)[:-4])
        + PNG_END,
        "png bad row filter": header + pixels(bytes([9]) + row[1:] + row * 19) + PNG_END,
        "png without IEND": png[:-12],
        "png cut in half": png[:len(png) // 2],
        "png bad checksum": png[:-16] + bytes([png[-16] ^ 1]) + png[-15:],
        "png trailing bytes": png + b"junk",
        "jpeg cut in half": jpeg[:len(jpeg) // 2],
        "jpeg header only": jpeg[:jpeg.index(b"\xff\xda")],
        "jpeg without end marker": jpeg[:-2],
        "jpeg trailing bytes": jpeg + b"junk",
        "gif cut": gif[:-10],
        "gif without block end": gif[:-2],
        "gif without trailer": gif[:-1],
        "animated gif cut in its 2nd frame": animated[:len(animated) * 3 // 4],
        "bmp cut": bmp[:-10],
        "bmp trailing bytes": bmp + bytes(4),
        "empty file": b"",
        "png 0 pixels wide": png_header(0, 20) + pixels(b"") + PNG_END,
        "png claiming 30000 x 30000": png_header(30000, 30000) + pixels(b"") + PNG_END,
        "jpeg claiming 20000 x 20000": jpeg_claiming(jpeg, 20000, 20000),
    }


def jpeg_claiming(jpeg, height, width):
    """``jpeg`` with another image size written into its frame header (SOF0)."""
    at = jpeg.index(b"\xff\xc0") + 5
    return jpeg[:at] + struct.pack(">HH", height, width) + jpeg[at + 4:]


def _pillow_rgb(data):
    """The picture a file holds, as Pillow reads it (None where Pillow is no reference)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode.startswith("I"):
                return None  # 16-bit: Pillow clips where TensorFlow rescales
            return np.asarray(image.convert("RGB"), dtype=np.int16)
    except (OSError, ValueError, SyntaxError):
        return None


def tensorflow_reads(data, color_mode):
    """Keras's decode succeeds, and in colour it gives the picture Pillow sees."""
    from medlab import tf

    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]
    try:
        decoded = tf.image.decode_image(data, channels=channels, expand_animations=False).numpy()
    except tf.errors.InvalidArgumentError:
        return False
    reference = _pillow_rgb(data)
    if channels == 1 or reference is None:
        return True
    difference = np.abs(decoded[..., :3].astype(np.int16) - reference)
    return bool(difference.mean() <= 2.0) if data[:2] == b"\xff\xd8" else not difference.any()


def medlab_accepts(path, color_mode):
    """check_image_folder's verdict on a folder whose one class holds only ``path``."""
    try:
        check_image_folder(path.parent.parent, color_mode=color_mode)
    except ValueError as problem:
        assert str(problem).startswith(str(path)) and "\n" not in str(problem)
        return False
    return True


def test_checked_files_are_exactly_the_ones_tensorflow_reads(tmp_path):
    """Accepted: Keras's decoder reads the picture. Refused: it fails, or misreads it."""
    verdicts, disagreements = {}, []
    for name, data in image_zoo().items():
        path = tmp_path / name.replace(" ", "_").replace("/", "") / "class" / "image.png"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        for color_mode in COLOR_MODES:
            ours, theirs = medlab_accepts(path, color_mode), tensorflow_reads(data, color_mode)
            verdicts[name, color_mode] = ours
            if ours != theirs:
                disagreements.append(f"{name} ({color_mode}): medlab {ours}, TensorFlow {theirs}")
    assert disagreements == []
    # the zoo holds both kinds for every color mode
    assert all({verdicts[name, mode] for name, _ in verdicts} == {True, False} for mode in COLOR_MODES)


def test_cmyk_jpeg_is_named_unless_read_in_colour(folder):
    cmyk = folder / "normal" / "scan.jpg"
    Image.new("CMYK", (16, 16), (10, 20, 30, 40)).save(cmyk)
    with pytest.raises(ValueError, match=r"scan\.jpg is a CMYK JPEG.*'grayscale'.*'rgb'"):
        check_image_folder(folder)
    assert len(check_image_folder(folder, color_mode="rgb")["normal"]) == 11
    with pytest.raises(ValueError, match=r"scan\.jpg is a CMYK JPEG"):
        image_folder_dataset(folder, image_size=(16, 16), verbose=False)  # before training
    dataset = image_folder_dataset(folder, image_size=(16, 16), color_mode="rgb", verbose=False)
    assert sum(int(y.shape[0]) for _, y in dataset) == 21


def test_an_image_tensorflow_cannot_decode_is_named_before_training(folder):
    broken = folder / "pneumonia" / "00001.png"
    broken.write_bytes(png_header(16, 16) + PNG_END)  # a header and nothing else
    with pytest.raises(ValueError, match=r"00001\.png holds no pixel data"):
        image_folder_dataset(folder, image_size=(16, 16), verbose=False)
    broken.write_bytes(png_header(16, 16) + _png_chunk(b"IDAT", zlib.compress(bytes(17 * 3)))
                       + PNG_END)
    with pytest.raises(ValueError, match=r"00001\.png is truncated: its pixel data stops after "
                                         r"51 of 272 bytes"):
        check_image_folder(folder)


def test_images_too_large_to_decode_safely_are_named(folder, monkeypatch):
    from medlab.data import image_files

    huge = folder / "normal" / "huge.png"
    huge.write_bytes(png_header(30000, 30000) + PNG_END)
    with pytest.raises(ValueError, match=r"huge\.png is 30000 x 30000 pixels \(900,000,000\); "
                                         r"expected at most 89,478,485"):
        image_folder_dataset(folder, verbose=False)
    huge.unlink()
    claims = folder / "normal" / "claims.jpg"
    claims.write_bytes(jpeg_claiming(image_zoo()["jpeg L"], 20000, 20000))
    with pytest.raises(ValueError, match=r"claims\.jpg is too large to decode safely"):
        check_image_folder(folder)
    claims.unlink()
    monkeypatch.setattr(image_files, "MAX_IMAGE_PIXELS", 255)  # the exported images are 16 x 16
    with pytest.raises(ValueError, match=r"00000\.png is 16 x 16 pixels \(256\); expected at most "
                                         r"255 \(medlab\.data\.image_files\.MAX_IMAGE_PIXELS\)"):
        check_image_folder(folder)


def test_a_jpeg_a_little_too_large_is_named_without_pillows_warning(folder):
    """A JPEG of 89.5 to 179 million pixels made Pillow warn (DecompressionBombWarning: two
    more lines on stderr, naming Pillow's source) before medlab's one-line message."""
    claims = folder / "normal" / "claims.jpg"
    claims.write_bytes(jpeg_claiming(image_zoo()["jpeg L"], 10000, 10000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"claims\.jpg is 10000 x 10000 pixels \(100,000,000\); "
                                             r"expected at most 89,478,485"):
            check_image_folder(folder)

def test_a_png_not_starting_with_its_header_chunk_is_corrupt_not_huge(folder):
    odd = folder / "normal" / "odd.png"
    header = png_header(16, 16)
    odd.write_bytes(header[:8] + _png_chunk(b"IDAT", zlib.compress(bytes(17 * 16))) + header[8:]
                    + PNG_END)  # IDAT before IHDR: the size is not at bytes 16 to 24
    with pytest.raises(ValueError, match=r"odd\.png is corrupt: its first chunk is IDAT, not IHDR"):
        check_image_folder(folder)


# ---- image_folder_dataset ------------------------------------------------------
def test_dataset_yields_scaled_images_and_binary_labels(folder, capsys):
    dataset = image_folder_dataset(folder, image_size=(16, 16), batch_size=8)
    assert capsys.readouterr().out == "Found 20 files belonging to 2 classes.\n"
    assert dataset.class_names == CLASSES
    exported = {label: [read_png(p) for p in sorted((folder / name).iterdir())]
                for label, name in enumerate(CLASSES)}
    batches = list(dataset)
    assert sorted(int(x.shape[0]) for x, _ in batches) == [4, 8, 8]
    for images, labels in batches:
        assert images.shape[1:] == (16, 16, 1) and images.dtype.name == "float32"
        assert labels.shape[1:] == (1,)
        for image, label in zip(images.numpy(), labels.numpy()[:, 0]):
            assert 0.0 <= image.min() and image.max() <= 1.0
            as_uint8 = np.rint(image[..., 0] * 255).astype(np.uint8)
            # every image comes back unchanged, in the folder of its label
            assert any(np.array_equal(as_uint8, png) for png in exported[int(label)])


def test_dataset_resizes_and_reshuffles_batches_each_epoch(folder):
    dataset = image_folder_dataset(folder, image_size=(24, 20), batch_size=4, color_mode="rgb",
                                   verbose=False)
    epochs = [np.concatenate([y.numpy()[:, 0] for _, y in dataset]) for _ in range(3)]
    first_x = next(iter(dataset))[0]
    assert first_x.shape[1:] == (24, 20, 3)
    assert all(sorted(e) == [0.0] * 10 + [1.0] * 10 for e in epochs)
    assert any(not np.array_equal(epochs[0], e) for e in epochs[1:])


def _assert_same_images(x, y, x_ref, y_ref):
    """Same (image, label) pairs, in any order (Keras reshuffles on each pass)."""
    assert x.shape == x_ref.shape and x.dtype == np.float32
    for image, label in zip(x, y[:, 0]):
        distance = np.abs(x_ref - image).reshape(len(x_ref), -1).max(axis=1)
        nearest = int(distance.argmin())
        assert distance[nearest] <= 1e-6 and y_ref[nearest, 0] == label
    assert sorted(y[:, 0]) == sorted(y_ref[:, 0])


def _keras_reference(root, image_size, interpolation, color_mode, validation_split=None):
    """What Keras alone gives (each image resized on its own), scaled to [0, 1]."""
    from medlab import keras

    loaded = keras.utils.image_dataset_from_directory(
        str(root), label_mode="binary", batch_size=4, image_size=image_size, shuffle=True,
        seed=0, color_mode=color_mode, interpolation=interpolation, verbose=False,
        validation_split=validation_split, subset="both" if validation_split else None)
    parts = loaded if validation_split else (loaded,)
    return [_arrays(part, scale=1 / 255) for part in parts]


def _arrays(dataset, scale=1.0):
    """Images and labels of one pass (each pass may come in a new order)."""
    batches = [(np.asarray(x, np.float32) * np.float32(scale), y.numpy()) for x, y in dataset]
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area", "lanczos3"])
@pytest.mark.parametrize("color_mode", ["grayscale", "rgb"])
def test_dataset_of_one_image_size_matches_keras_image_by_image(folder, interpolation, color_mode,
                                                               monkeypatch):
    """Files of one size are resized batch by batch: the very numbers Keras gives."""
    from medlab.data import folders

    load_sizes = []
    real_load = folders._load_directory
    monkeypatch.setattr(folders, "_load_directory",
                        lambda *args: load_sizes.append(args[4]) or real_load(*args))
    for split in (None, 0.25):
        datasets = image_folder_dataset(folder, image_size=(30, 23), batch_size=4, shuffle=False,
                                        color_mode=color_mode, interpolation=interpolation,
                                        validation_split=split, verbose=False)
        datasets = datasets if split else (datasets,)
        for dataset, (x_ref, y_ref) in zip(datasets, _keras_reference(
                folder, (30, 23), interpolation, color_mode, split)):
            _assert_same_images(*_arrays(dataset), x_ref, y_ref)
    # loaded at the files' 16x16, except for a method that would change them at that size
    assert load_sizes == [(30, 23) if interpolation == "lanczos3" else (16, 16)] * 2


def test_dataset_of_mixed_image_sizes(folder):
    Image.fromarray(np.full((40, 28), 200, np.uint8)).save(folder / "normal" / "big.png")
    dataset = image_folder_dataset(folder, image_size=(16, 16), batch_size=32, shuffle=False,
                                   verbose=False)
    (x_ref, y_ref), = _keras_reference(folder, (16, 16), "bilinear", "grayscale")
    x, y = next(iter(dataset))
    assert x.shape == (21, 16, 16, 1)
    _assert_same_images(x.numpy(), y.numpy(), x_ref, y_ref)
    assert any(np.allclose(image, 200 / 255) for image in x.numpy())  # the big one, resized


def test_dataset_validation_split(folder, capsys):
    train, val = image_folder_dataset(folder, image_size=(16, 16), batch_size=4,
                                      validation_split=0.25, verbose=False)
    assert capsys.readouterr().out == ""
    n_train = sum(int(y.shape[0]) for _, y in train)
    n_val = sum(int(y.shape[0]) for _, y in val)
    assert (n_train, n_val) == (15, 5)
    assert train.class_names == val.class_names == CLASSES


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"color_mode": "cmyk"}, "color_mode"),
        ({"validation_split": 1.5}, "validation_split"),
        ({"image_size": (0, 16)}, "image_size"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_dataset_bad_arguments(folder, kwargs, named):
    with pytest.raises(ValueError, match=named):
        image_folder_dataset(folder, **kwargs)


def test_dataset_needs_exactly_two_classes(tmp_path):
    images, _ = grey_images(n=6)
    export_image_folder(images, np.arange(6) % 3, ["a", "b", "c"], tmp_path)
    with pytest.raises(ValueError, match="exactly 2"):
        image_folder_dataset(tmp_path)
