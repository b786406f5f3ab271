"""Image files as Keras reads them: PNG, JPEG, BMP and GIF told apart by their first bytes.

:func:`check_image_file` checks, without TensorFlow, that ``tf.io.decode_image`` (what
Keras's ``image_dataset_from_directory`` decodes with) reads a file in a colour mode: its
format by signature, its size before anything is decoded (at most :data:`MAX_IMAGE_PIXELS`),
the kinds TensorFlow's decoders accept, and the file's structure where Pillow is more
lenient than TensorFlow (PNG pixel data and end chunk, BMP length, the GIF's first image).
:func:`medlab.data.folders.check_image_folder` runs it on every file of an image folder.
"""

from __future__ import annotations

import contextlib
import struct
import warnings
from pathlib import Path

#: Channels Keras asks TensorFlow's decoder for, per ``color_mode``.
COLOR_MODE_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
#: First bytes by which ``tf.io.decode_image`` tells formats apart (it ignores the file name).
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP"}
#: Most pixels an image may have (Pillow's decompression-bomb warning threshold): about
#: 9,500 x 9,500. Larger images are refused before they are decoded.
MAX_IMAGE_PIXELS = 89_478_485
#: Bit masks of the one bit-field BMP layout TensorFlow reads right (it ignores the masks).
_BMP_STANDARD_MASKS = (0xFF0000, 0xFF00, 0xFF)


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
                f"{MAX_IMAGE_PIXELS:,} (medlab.data.image_files.MAX_IMAGE_PIXELS), as decoding "
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


def check_image_file(path, color_mode):
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


__all__ = ["COLOR_MODE_CHANNELS", "MAX_IMAGE_PIXELS", "check_image_file"]
