"""The 3-D layers in NumPy: convolution and pooling of volumes (CT, MRI) as Keras computes them.

The same argument vocabulary as :mod:`medlab.ops` (float32 channels-last arrays,
``stride`` / ``pool_size`` an int or one per axis, ``padding`` "valid" or "same"
as Keras pads it), one axis more: ``x`` is (N, D, H, W, C). The 3-D
cross-correlation that Keras calls ``Conv3D`` is

    y[n, i, j, k, f] = b[f] + sum_{t, u, v, c} x[n, i*s + t, j*s + u, k*s + v, c] * w[t, u, v, c, f]

and each output axis has the 2-D formula's length, ``floor((n + 2p - k) / s) + 1``
(:func:`medlab.ops.output_size`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from medlab import ops, validate

AXES = "batch, depth, height, width, channels"

# conv3d splits the (volume, output depth slice) pairs over the cores from this many output
# values on, and always holds NumPy's BLAS to one thread: the patch matrices of a volume have
# few columns (kd kh kw C), and BLAS's own threads on them wait on each other when the machine
# is busy (measured: 3.5 to 60 ms for one 4 x 19 x 27 x 19 x 8 -> 16 layer on 2 cores).
_PARALLEL_MIN_OUTPUT = 2**14

# Below this many input channels conv3d builds each patch matrix kernel offset by kernel offset
# (runs of W_out voxels) rather than voxel by voxel (runs of C values): for one grey channel
# about 2x faster (measured: 4.9 vs 9.6 ms for 4 x 40 x 56 x 40 x 1 -> 8, 3 x 3 x 3).
_OFFSET_MAJOR_MAX_CHANNELS = 3


# ---------------------------------------------------------------- validation
def _triple(value, name):
    """(depth, height, width) from an int or a triple of ints >= 1."""
    interval = validate.Interval(validate.Integer, 1, None)
    items = value if isinstance(value, (tuple, list)) and len(value) == 3 else (value,) * 3
    if not all(interval.is_satisfied_by(item) for item in items):
        raise validate.ArgumentError(f"{name} {value!r}: expected {interval} or a triple of them")
    return tuple(int(item) for item in items)


def _volumes(x, name="x"):
    return validate.real_array(name, x, ndim=5, axes=AXES).astype(np.float32, copy=False)


def _pad_same(x, kernel, stride, value=0.0):
    pads = [ops._same_pads(n, k, s) for n, k, s in zip(x.shape[1:4], kernel, stride)]
    if not any(before or after for before, after in pads):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def _check_window(x, kernel, name):
    if any(k > n for k, n in zip(kernel, x.shape[1:4])):
        raise validate.ArgumentError(
            f"{name} {kernel} must fit in the (padded) input of depth x height x width "
            f"{x.shape[1]} x {x.shape[2]} x {x.shape[3]}; use a smaller {name} or padding='same'"
        )


def _out_shape(x, kernel, stride):
    return tuple((n - k) // s + 1 for n, k, s in zip(x.shape[1:4], kernel, stride))


# ---------------------------------------------------------------- convolution
def _conv_arguments(x, w, b, stride, padding):
    x = _volumes(x)
    w = validate.real_array("w", w, ndim=5, axes="kernel_d, kernel_h, kernel_w, in_channels, filters")
    w = w.astype(np.float32, copy=False)
    if w.shape[3] != x.shape[4]:
        raise validate.ArgumentError(
            f"w has in_channels (axis 3) {w.shape[3]}: expected x's channels, {x.shape[4]}"
        )
    if min(w.shape) < 1:
        raise validate.ArgumentError(f"w has shape {w.shape}: expected no empty axis")
    stride = _triple(stride, "stride")
    if ops._padding(padding) == "same":
        x = _pad_same(x, w.shape[:3], stride)
    _check_window(x, w.shape[:3], "kernel")
    f = w.shape[4]
    if b is not None:
        b = ops._real(b, "b")
        if b.shape != (f,):
            raise validate.ArgumentError(f"b has shape {b.shape}: expected ({f},) (one value per filter)")
    return x, w, b, stride


def conv3d(x, w, b=None, stride=1, padding="valid"):
    """3-D cross-correlation as ``keras.layers.Conv3D`` computes it.

    Parameters
    ----------
    x : array (N, D, H, W, C)
        Volumes, channels last.
    w : array (kd, kh, kw, C, F)
        Kernels as ``Conv3D`` stores them: F filters of kd x kh x kw voxels over C channels.
    b : array (F,), optional
        Bias added to each filter's output.
    stride : int or (int, int, int)
        Step between windows along depth, height and width.
    padding : {"valid", "same"}
        "valid": windows stay inside the volume, each axis shrinks by k - 1.
        "same": zero padding so that the output is ceil(D / s) x ceil(H / s) x ceil(W / s).

    Returns
    -------
    float32 array (N, D_out, H_out, W_out, F)

    >>> x = np.ones((1, 4, 5, 6, 2), np.float32)
    >>> conv3d(x, np.ones((3, 3, 3, 2, 1))).shape       # 3*3*3*2 = 54 ones summed
    (1, 2, 3, 4, 1)
    >>> float(conv3d(x, np.ones((3, 3, 3, 2, 1)))[0, 0, 0, 0, 0])
    54.0
    >>> conv3d(x, np.ones((3, 3, 3, 2, 8)), stride=2, padding="same").shape
    (1, 2, 3, 3, 8)
    """
    x, w, b, stride = _conv_arguments(x, w, b, stride, padding)
    kd, kh, kw, c, f = w.shape
    sd, sh, sw = stride
    n = x.shape[0]
    do, ho, wo = _out_shape(x, (kd, kh, kw), stride)
    # windows: (N, Do, Ho, Wo, C, kd, kh, kw) view; reorder to w's (kd, kh, kw, C) layout
    windows = sliding_window_view(x, (kd, kh, kw), axis=(1, 2, 3))[:, ::sd, ::sh, ::sw]
    windows = windows.transpose(0, 1, 2, 3, 5, 6, 7, 4)
    kernel_matrix = w.reshape(kd * kh * kw * c, f)
    out = np.empty((n, do, ho, wo, f), dtype=np.float32)
    offset_major = c <= _OFFSET_MAJOR_MAX_CHANNELS and (sd, sh, sw) == (1, 1, 1)
    channels_first = np.moveaxis(x, -1, 1)  # (N, C, D, H, W) view, for offset_major
    kernel_by_channel = w.transpose(3, 0, 1, 2, 4).reshape(-1, f)  # rows in (C, kd, kh, kw) order

    def offset_major_product(volume, d0, d1, target):
        patches = np.empty((c, kd, kh, kw, d1 - d0, ho, wo), dtype=np.float32)
        for t, u, v in itertools.product(range(kd), range(kh), range(kw)):
            patches[:, t, u, v] = channels_first[volume, :, d0 + t : d1 + t, u : u + ho, v : v + wo]
        np.matmul(patches.reshape(kernel_by_channel.shape[0], -1).T, kernel_by_channel, out=target)

    # im2col over a few output depth slices of one volume at a time (cache-sized patches)
    slice_bytes = ho * wo * kernel_matrix.shape[0] * 4
    parts = ops._batch_parts(n * do, out.size, _PARALLEL_MIN_OUTPUT, per_core=4)
    step = max(1, ops._CONV_THREAD_CHUNK_BYTES // max(slice_bytes, 1))

    def work(part):
        # part: slice of the flat (volume, output depth) index
        for start in range(part.start, part.stop, step):
            stop = min(part.stop, start + step)
            for volume in range(start // do, (stop - 1) // do + 1):
                d0, d1 = max(start - volume * do, 0), min(stop - volume * do, do)
                target = out[volume, d0:d1].reshape(-1, f)
                if offset_major:
                    offset_major_product(volume, d0, d1, target)
                else:
                    np.matmul(windows[volume, d0:d1].reshape(-1, kernel_matrix.shape[0]),
                              kernel_matrix, out=target)

    with ops._single_threaded_blas():
        ops._run_parts(work, parts)
    if b is not None:
        out += b
    return out


# -------------------------------------------------------------------- pooling
def _pool(x, pool_size, stride, padding, pad_value):
    x = _volumes(x)
    pool = _triple(pool_size, "pool_size")
    stride = pool if stride is None else _triple(stride, "stride")
    spatial = x.shape[1:4]
    if ops._padding(padding) == "same":
        shape = tuple(math.ceil(n / s) for n, s in zip(x.shape[1:4], stride))
        x = _pad_same(x, pool, stride, value=pad_value)
    else:
        _check_window(x, pool, "pool_size")
        shape = _out_shape(x, pool, stride)
    return x, pool, stride, shape, spatial


def _strided_slices(x, pool, stride, shape):
    """Yield, for each offset (t, u, v) in the window, x[:, t::s, u::s, v::s] cut to the output shape."""
    for offsets in itertools.product(*(range(k) for k in pool)):
        yield x[(slice(None),) + tuple(slice(o, o + s * (m - 1) + 1, s)
                                       for o, s, m in zip(offsets, stride, shape))]


def max_pool3d(x, pool_size=2, stride=None, padding="valid"):
    """Max pooling as ``keras.layers.MaxPooling3D``: the largest value per window.

    Parameters
    ----------
    x : array (N, D, H, W, C)
    pool_size : int or (int, int, int)
        Window depth, height and width.
    stride : int or (int, int, int), optional
        Step between windows; defaults to ``pool_size`` (windows do not overlap).
    padding : {"valid", "same"}
        "same" pads with -inf, so padded cells never win.

    Returns
    -------
    float32 array (N, D_out, H_out, W_out, C)

    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2, 1)
    >>> max_pool3d(x).ravel().tolist()
    [7.0]
    >>> max_pool3d(np.zeros((1, 5, 6, 7, 3)), 2, padding="same").shape
    (1, 3, 3, 4, 3)
    """
    x, pool, stride, shape, _ = _pool(x, pool_size, stride, padding, -np.inf)
    out = np.empty((x.shape[0], *shape, x.shape[4]), dtype=np.float32)

    def work(part):
        slices = _strided_slices(x[part], pool, stride, shape)
        out[part] = next(slices)
        for piece in slices:
            np.maximum(out[part], piece, out=out[part])

    ops._run_parts(work, ops._batch_parts(x.shape[0], x.size))
    return out


def avg_pool3d(x, pool_size=2, stride=None, padding="valid"):
    """Average pooling as ``keras.layers.AveragePooling3D``: the mean per window.

    Same arguments as :func:`max_pool3d`. With ``padding="same"`` padded cells
    are left out of the mean (Keras divides by the number of real voxels).

    Returns
    -------
    float32 array (N, D_out, H_out, W_out, C)

    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2, 1)
    >>> avg_pool3d(x).ravel().tolist()      # (0 + 1 + ... + 7) / 8
    [3.5]
    >>> avg_pool3d(x, 2, stride=1, padding="same")[0, 1, 1, 1, 0]   # only voxel 7 is real
    np.float32(7.0)
    """
    x, pool, stride, shape, spatial = _pool(x, pool_size, stride, padding, 0.0)
    if ops._padding(padding) == "same":
        ones = np.ones((1, *spatial, 1), dtype=np.float32)
        counts = sum(_strided_slices(_pad_same(ones, pool, stride), pool, stride, shape))
    else:
        counts = np.float32(math.prod(pool))
    out = np.zeros((x.shape[0], *shape, x.shape[4]), dtype=np.float32)

    def work(part):
        for piece in _strided_slices(x[part], pool, stride, shape):
            out[part] += piece
        out[part] /= counts

    ops._run_parts(work, ops._batch_parts(x.shape[0], x.size))
    return out
