"""The lessons' equations in NumPy: convolution, pooling, dense layers, activations.

Every function works on float32, channels-last arrays like Keras
(``x`` is (N, H, W, C)), is vectorised (no Python loop over pixels) and is
tested against the Keras layer or ``tf.nn`` op it mirrors. Integer and float
inputs are cast to float32; complex, bool, string and object arrays are refused
with a one-line ``ValueError`` (a cast would drop an imaginary part silently).

The 2-D cross-correlation that Keras calls ``Conv2D`` is

    y[n, i, j, f] = b[f] + sum_{u, v, c} x[n, i*s + u, j*s + v, c] * w[u, v, c, f]

and the output size along one axis is ``floor((n + 2p - k) / s) + 1``.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from medlab import validate

PADDINGS = ("valid", "same")

# Rows of the patch matrix handled at once by conv2d (whole images, or bands of rows of one
# large image): keeps the im2col copy and the matrix product inside a core's cache. When
# BLAS runs threads of its own (the batch not split over the cores), larger blocks: fewer
# products for its threads to wait on each other.
_CONV_CHUNK_BYTES = 2**20
_CONV_BLAS_THREADS_CHUNK_BYTES = 4 * 2**20
# ops3d.conv3d's patches per thread
_CONV_THREAD_CHUNK_BYTES = 2 * 2**20

# conv2d splits the batch over the cores (BLAS held to one thread each) from
# this many output values on (2 MB): NumPy runs the im2col copy and the writes
# of fresh output pages on one core, and BLAS's own threads wait on each other
# when the machine is busy. Smaller outputs: one multi-threaded BLAS product.
_CONV_PARALLEL_MIN_OUTPUT = 2**19
_BLAS_CONTROLLER = None

# Pooling splits the batch over the cores from this many input values on (about 4 MB):
# below it, starting threads costs more than it saves.
_PARALLEL_MIN_ELEMENTS = 2**20
# Pooling output handled at once (whole images): stays in a core's cache.
_POOL_BLOCK_BYTES = 2**18
_EXECUTOR = None
# Set in the threads of _run_parts: work already split over the cores is not split again
# (a thread of the pool waiting for the pool could wait forever).
_WORKER = threading.local()


# ---------------------------------------------------------------- validation
def _pair(value, name):
    """Return (rows, cols) from an int or a pair of ints >= 1."""
    return validate.pair(name, value, low=1)


def _padding(padding):
    """"valid" or "same" (any case)."""
    return validate.choice("padding", padding.lower() if isinstance(padding, str) else padding, PADDINGS)


def _real(value, name):
    """``value`` as a float32 array, refused unless it holds integers or floats."""
    return validate.real_array(name, value).astype(np.float32, copy=False)


def _images(x, name="x"):
    x = validate.real_array(name, x, ndim=4, axes="batch, height, width, channels")
    return x.astype(np.float32, copy=False)


# --------------------------------------------------------------- output size
def output_size(n, kernel, stride=1, padding="valid"):
    """Length of a convolution or pooling output along one axis.

    Parameters
    ----------
    n : int
        Input length (pixels).
    kernel : int
        Kernel (or pool) length.
    stride : int
        Step between windows.
    padding : {"valid", "same"} or int
        "valid": no padding, ``floor((n - k) / s) + 1``.
        "same": Keras pads so that the output is ``ceil(n / s)``.
        int p: p zeros on each side, ``floor((n + 2p - k) / s) + 1``.

    Returns
    -------
    int
    """
    for name, value in (("n", n), ("kernel", kernel), ("stride", stride)):
        validate.integer(name, value, low=1)
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = validate.integer("padding", padding, low=0)
    elif _padding(padding) == "same":
        return math.ceil(n / stride)
    else:
        p = 0
    if kernel > n + 2 * p:  # a relation between arguments; lesson 05 prints this message
        raise validate.ArgumentError(
            f"kernel must be <= the padded input length {n + 2 * p}, got {kernel}"
        )
    return (n + 2 * p - kernel) // stride + 1


def _same_pads(n, kernel, stride):
    """(before, after) zero padding that Keras/TF use for padding='same'."""
    total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
    return total // 2, total - total // 2


def _pad_same(x, kernel, stride, value=0.0):
    (kh, kw), (sh, sw) = kernel, stride
    top, bottom = _same_pads(x.shape[1], kh, sh)
    left, right = _same_pads(x.shape[2], kw, sw)
    if top == bottom == left == right == 0:
        return x
    return np.pad(
        x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value
    )


def _check_window(x, kernel, name):
    if kernel[0] > x.shape[1] or kernel[1] > x.shape[2]:
        raise ValueError(
            f"{name} {kernel} must fit in the (padded) input of height x width "
            f"{x.shape[1]} x {x.shape[2]}; use a smaller {name} or padding='same'"
        )


# ---------------------------------------------------------------- convolution
def _conv_arguments(x, w, b, stride, padding):
    """:func:`conv2d`'s arguments checked: (x padded as asked, w float32, b or None, stride pair)."""
    x = _images(x)
    w = validate.real_array("w", w, ndim=4, axes="kernel_h, kernel_w, in_channels, filters")
    w = w.astype(np.float32, copy=False)
    if w.shape[2] != x.shape[3]:
        raise validate.ArgumentError(
            f"w has in_channels (axis 2) {w.shape[2]}: expected x's channels, {x.shape[3]}"
        )
    kh, kw, c, f = w.shape
    if min(kh, kw, c, f) < 1:
        raise validate.ArgumentError(f"w has shape {w.shape}: expected no empty axis")
    stride = _pair(stride, "stride")
    if _padding(padding) == "same":
        x = _pad_same(x, (kh, kw), stride)
    _check_window(x, (kh, kw), "kernel")
    if b is not None:
        b = _real(b, "b")
        if b.shape != (f,):
            raise validate.ArgumentError(f"b has shape {b.shape}: expected ({f},) (one value per filter)")
    return x, w, b, stride


def conv2d(x, w, b=None, stride=1, padding="valid", *, out=None):
    """2-D cross-correlation as ``keras.layers.Conv2D`` computes it.

    Parameters
    ----------
    x : array (N, H, W, C)
        Images, channels last.
    w : array (kh, kw, C, F)
        Kernels: F filters of size kh x kw over C channels.
    b : array (F,), optional
        Bias added to each filter's output.
    stride : int or (int, int)
        Step between windows along height and width.
    padding : {"valid", "same"}
        "valid": windows stay inside the image, the output shrinks by k - 1.
        "same": zero padding so that the output is ceil(H / s) x ceil(W / s).
    out : float32 C-contiguous array (N, H_out, W_out, F), optional
        Where to write the output (a slice of a larger array, say), instead of a new array.

    Returns
    -------
    float32 array (N, H_out, W_out, F)
        ``out`` when given.
    """
    x, w, b, stride = _conv_arguments(x, w, b, stride, padding)
    kh, kw, c, f = w.shape
    sh, sw = stride
    n = x.shape[0]
    ho = (x.shape[1] - kh) // sh + 1
    wo = (x.shape[2] - kw) // sw + 1
    # windows: (N, Ho, Wo, C, kh, kw) view; reorder to match w's (kh, kw, C) layout
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    windows = windows.transpose(0, 1, 2, 4, 5, 3)
    kernel_matrix = w.reshape(kh * kw * c, f)
    out = _output_array(out, (n, ho, wo, f))
    parts = _batch_parts(n, out.size, _CONV_PARALLEL_MIN_OUTPUT, per_core=4)
    threaded = len(parts) > 1
    one_blas_thread = threaded or getattr(_WORKER, "busy", False)  # here, or in the caller's split
    block_bytes = _CONV_CHUNK_BYTES if one_blas_thread else _CONV_BLAS_THREADS_CHUNK_BYTES

    def work(part):
        # im2col a few images (or rows of one image) at a time: patches and products stay cache-sized
        for images, rows in _blocks(part, ho, wo * (kh * kw * c + f) * 4, block_bytes):
            patches = windows[images, rows].reshape(-1, kh * kw * c)
            block = out[images, rows]
            if one_blas_thread:
                np.matmul(patches, kernel_matrix, out=block.reshape(-1, f))
            else:
                # a small temporary then one copy: writing the product straight into
                # the large fresh ``out`` is slower when BLAS runs threads (page faults in them)
                block[...] = (patches @ kernel_matrix).reshape(block.shape)
            if b is not None:
                block += b  # while the block is in the cache

    with _single_threaded_blas() if threaded else contextlib.nullcontext():
        _run_parts(work, parts)
    return out


def _output_array(out, shape):
    """A new float32 array of ``shape``, or ``out`` checked: float32, C-contiguous, that shape."""
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise validate.ArgumentError(f"out must be a C-contiguous float32 array, got "
                                     f"{getattr(out, 'dtype', type(out).__name__)}")
    validate.same_shape("out", out, shape, of="the output")
    return out


def _blocks(part, rows, row_bytes, block_bytes=None, bands=True):
    """(images, rows) slices covering the images ``part``, about ``block_bytes`` each.

    Whole images while one image's ``rows`` rows of ``row_bytes`` fit in a block (always
    when ``bands`` is False), else bands of rows of one image at a time.
    """
    block_bytes = _CONV_CHUNK_BYTES if block_bytes is None else block_bytes
    if rows * row_bytes <= block_bytes or not bands:
        step = max(1, block_bytes // max(rows * row_bytes, 1))
        for start in range(part.start, part.stop, step):
            yield slice(start, min(part.stop, start + step)), slice(0, rows)
        return
    band = max(1, block_bytes // max(row_bytes, 1))
    for image in range(part.start, part.stop):
        for start in range(0, rows, band):
            yield slice(image, image + 1), slice(start, min(rows, start + band))


def _usable_cores():
    """Cores this process may run on (a container or ``taskset`` may allow fewer than exist)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _single_threaded_blas():
    """Context manager that holds NumPy's BLAS to one thread (threadpoolctl)."""
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


# -------------------------------------------------------------------- pooling
def _pool(x, pool_size, stride, padding):
    x = _images(x)
    pool = _pair(pool_size, "pool_size")
    stride = pool if stride is None else _pair(stride, "stride")
    mode = _padding(padding)
    h, w_ = x.shape[1], x.shape[2]
    if mode == "same":
        ho, wo = math.ceil(h / stride[0]), math.ceil(w_ / stride[1])
    else:
        _check_window(x, pool, "pool_size")
        ho = (h - pool[0]) // stride[0] + 1
        wo = (w_ - pool[1]) // stride[1] + 1
    return x, pool, stride, mode, ho, wo


def _strided_slices(x, pool, stride, ho, wo):
    """Yield, for each offset (u, v) in the window, x[:, u::s, v::s] cut to (Ho, Wo)."""
    for u in range(pool[0]):
        for v in range(pool[1]):
            yield x[:, u : u + stride[0] * (ho - 1) + 1 : stride[0],
                    v : v + stride[1] * (wo - 1) + 1 : stride[1]]


def _batch_parts(n, size, min_size=None, per_core=1):
    """Slices of the batch axis: one, or ``per_core`` per core once ``size`` >= ``min_size``.

    ``min_size`` defaults to ``_PARALLEL_MIN_ELEMENTS`` (pooling). More parts than
    cores (conv2d) balance the load when one core is busy elsewhere.
    """
    cores = _usable_cores()
    min_size = _PARALLEL_MIN_ELEMENTS if min_size is None else min_size
    if cores < 2 or n < 2 or size < min_size or getattr(_WORKER, "busy", False):
        return [slice(0, n)]
    bounds = np.linspace(0, n, min(n, per_core * cores) + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _run_parts(work, parts):
    """``[work(part) for part in parts]``, in threads when there are several (NumPy frees the GIL).

    Inside those threads :func:`_batch_parts` gives one part: nested work runs where it is.
    """
    global _EXECUTOR
    if len(parts) == 1:
        return [work(parts[0])]
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=_usable_cores())
    futures = [_EXECUTOR.submit(_as_worker, work, part) for part in parts]
    return [future.result() for future in futures]


def _as_worker(work, part):
    _WORKER.busy = True
    try:
        return work(part)
    finally:
        _WORKER.busy = False


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Max pooling as ``keras.layers.MaxPooling2D``: the largest value per window.

    Parameters
    ----------
    x : array (N, H, W, C)
    pool_size : int or (int, int)
        Window height and width.
    stride : int or (int, int), optional
        Step between windows; defaults to ``pool_size`` (windows do not overlap).
    padding : {"valid", "same"}
        "same" pads with -inf, so padded cells never win.

    Returns
    -------
    float32 array (N, H_out, W_out, C)
    """
    x, pool, stride, mode, ho, wo = _pool(x, pool_size, stride, padding)
    if mode == "same":
        x = _pad_same(x, pool, stride, value=-np.inf)
    out = np.empty((x.shape[0], ho, wo, x.shape[3]), dtype=np.float32)

    def work(part):
        # a few images at a time: each output block stays in the cache while the window's
        # pixels are compared with it
        for images, _ in _blocks(part, ho, wo * x.shape[3] * 4, _POOL_BLOCK_BYTES, bands=False):
            target = out[images]
            slices = list(_strided_slices(x[images], pool, stride, ho, wo))
            if len(slices) == 1:
                target[...] = slices[0]
                continue
            np.maximum(slices[0], slices[1], out=target)
            for piece in slices[2:]:
                np.maximum(target, piece, out=target)

    _run_parts(work, _batch_parts(x.shape[0], x.size))
    return out


def avg_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Average pooling as ``keras.layers.AveragePooling2D``: the mean per window.

    Same arguments as :func:`max_pool2d`. With ``padding="same"`` padded cells
    are left out of the mean (Keras divides by the number of real pixels).

    Returns
    -------
    float32 array (N, H_out, W_out, C)
    """
    x, pool, stride, mode, ho, wo = _pool(x, pool_size, stride, padding)
    if mode == "same":
        ones = np.ones((1, x.shape[1], x.shape[2], 1), dtype=np.float32)
        x = _pad_same(x, pool, stride)
        ones = _pad_same(ones, pool, stride)
        counts = sum(_strided_slices(ones, pool, stride, ho, wo))
    else:
        counts = np.float32(pool[0] * pool[1])
    out = np.zeros((x.shape[0], ho, wo, x.shape[3]), dtype=np.float32)

    def work(part):
        for piece in _strided_slices(x[part], pool, stride, ho, wo):
            out[part] += piece
        out[part] /= counts

    _run_parts(work, _batch_parts(x.shape[0], x.size))
    return out


# ------------------------------------------------------------- dense and co.
def flatten(x):
    """Flatten every axis but the batch: (N, ...) -> (N, prod(...)), row-major like Keras."""
    x = validate.real_array("x", x, ndim=validate.Interval(validate.Integer, 1), axes="a batch axis first")
    return x.reshape(x.shape[0], -1).astype(np.float32, copy=False)


def dense(x, w, b=None):
    """Fully connected layer ``y = x W + b`` as ``keras.layers.Dense`` (no activation).

    Parameters
    ----------
    x : array (N, D)
    w : array (D, U)
    b : array (U,), optional

    Returns
    -------
    float32 array (N, U)
    """
    x, w = _dense_arguments(x, w)
    y = x @ w
    if b is not None:
        b = _real(b, "b")
        if b.shape != (w.shape[1],):
            raise validate.ArgumentError(f"b has shape {b.shape}: expected ({w.shape[1]},)")
        y += b
    return y


def _dense_arguments(x, w):
    """:func:`dense`'s x and w checked, as float32."""
    x = validate.real_array("x", x, ndim=2, axes="batch, features; flatten it first")
    w = validate.real_array("w", w, ndim=2, axes="in_features, units")
    if w.shape[0] != x.shape[1]:
        raise validate.ArgumentError(
            f"w has in_features (axis 0) {w.shape[0]}: expected x's features, {x.shape[1]}"
        )
    return x.astype(np.float32, copy=False), w.astype(np.float32, copy=False)


def relu(x):
    """max(x, 0), elementwise."""
    return np.maximum(_real(x, "x"), np.float32(0))


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    x = _real(x, "x")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (shifted by the max for stability)."""
    x = _real(x, "x")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATIONS = {
    "linear": lambda x: _real(x, "x"),
    "relu": relu,
    "sigmoid": sigmoid,
    "softmax": softmax,
}
