"""The backward pass of ``medlab.ops``: how a loss's gradient flows back through each layer.

For a layer ``y = f(x; W)`` and the gradient ``dy = dL/dy`` of a scalar loss L, the
backward function returns ``dx = dL/dx`` (passed on to the layer before) and the
gradients of the layer's own weights. Everything is channels-last and float32, like
the forward functions, with the same argument checks, and is tested against
``tf.GradientTape``.

The chain rule for the 2-D cross-correlation
``y[n, i, j, f] = b[f] + sum_{u, v, c} x[n, i*s + u, j*s + v, c] w[u, v, c, f]`` gives

    db[f]          = sum_{n, i, j} dy[n, i, j, f]
    dw[u, v, c, f] = sum_{n, i, j} x[n, i*s + u, j*s + v, c] dy[n, i, j, f]
    dx[n, p, q, c] = sum over the (i, j, u, v) with i*s + u = p and j*s + v = q of
                     w[u, v, c, f] dy[n, i, j, f]

(for stride 1: dx is the "full" convolution of dy with the kernel flipped).
"""

from __future__ import annotations

import contextlib

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from medlab import ops, validate

# Patches handled at once (about 1 MB, whole images or bands of rows): they stay in a core's cache.
_CHUNK_BYTES = 2**20
# conv2d_backward splits the batch over the cores from this many values of x and dy on.
_PARALLEL_MIN_ELEMENTS = 2**16
# conv2d_backward uses shifted products (see _shifted_products) for stride 1 from this many input
# channels and output pixels per image on: fewer channels make the products too thin to be fast,
# and a small image's patch matrix stays in the cache (28 x 28 batches: im2col is faster).
_SHIFTED_MIN_CHANNELS = 8
_SHIFTED_MIN_PIXELS = 32 * 32


def _array(value, name, ndim=None):
    value = validate.real_array(name, value, ndim=ndim)  # complex, bool, str, object: refused, as in ops
    return value.astype(np.float32, copy=False)


def _check_dy(dy, expected):
    return validate.same_shape("dy", _array(dy, "dy"), expected, of="the forward output")


def _crop(dx_padded, x_shape, kernel, stride):
    """Drop the rows and columns that padding='same' added."""
    top, _ = ops._same_pads(x_shape[1], kernel[0], stride[0])
    left, _ = ops._same_pads(x_shape[2], kernel[1], stride[1])
    return dx_padded[:, top:top + x_shape[1], left:left + x_shape[2]]


# ---------------------------------------------------------------- convolution
def conv2d_backward(x, w, dy, stride=1, padding="valid", *, input_gradient=True):
    """Gradients of :func:`medlab.ops.conv2d` with respect to its input, kernels and bias.

    Parameters
    ----------
    x : array (N, H, W, C)
        The forward input.
    w : array (kh, kw, C, F)
        The forward kernels.
    dy : array (N, H_out, W_out, F)
        dL/dy, the gradient of the loss with respect to the forward output.
    stride, padding
        As in the forward call.
    input_gradient : bool
        False skips dx (returned as None): a network's first layer needs no gradient for
        the image, and it is a third of the work.

    Returns
    -------
    dx : float32 array (N, H, W, C), or None
    dw : float32 array (kh, kw, C, F)
    db : float32 array (F,)
    """
    x = ops._images(x)
    # the forward call's checks; xp is x padded as the forward pass padded it
    xp, w, _, stride = ops._conv_arguments(x, _array(w, "w"), None, stride, padding)
    kh, kw, c, f = w.shape
    sh, sw = stride
    dy = _check_dy(dy, (x.shape[0], (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1, f))
    n, ho, wo = dy.shape[:3]
    k = kh * kw * c
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    windows = windows.transpose(0, 1, 2, 4, 5, 3)  # (N, Ho, Wo, kh, kw, C)
    kernel_matrix_t = np.ascontiguousarray(w.reshape(k, f).T)
    dxp = np.zeros(xp.shape, dtype=np.float32) if input_gradient else None
    # the batch split over the cores, BLAS held to one thread each: BLAS's own threads
    # wait on each other on a busy machine, and im2col and col2im run on one core
    parts = ops._batch_parts(n, dy.size + x.size, _PARALLEL_MIN_ELEMENTS, per_core=2)
    shifted = stride == (1, 1) and c >= _SHIFTED_MIN_CHANNELS and ho * wo >= _SHIFTED_MIN_PIXELS

    def work(index):
        part = parts[index]
        dw_part = np.zeros((k, f), dtype=np.float32)
        db_part = np.zeros(f, dtype=np.float32)
        if shifted:  # whole images, a few at a time
            for images, _ in ops._blocks(part, ho, xp.shape[2] * (c + f) * 4, _CHUNK_BYTES, bands=False):
                _shifted_products(xp[images], w, dy[images], dw_part.reshape(w.shape),
                                  dxp[images] if input_gradient else None)
                db_part += dy[images].sum(axis=(0, 1, 2), dtype=np.float32)
            return dw_part, db_part
        # a few images, or a band of rows of one image, at a time: the patches stay cache-sized
        for images, rows in ops._blocks(part, ho, wo * (2 * k + f) * 4, _CHUNK_BYTES):
            dy_rows = dy[images, rows].reshape(-1, f)
            patches = windows[images, rows].reshape(-1, k)
            dw_part += patches.T @ dy_rows                 # sum over batch and positions
            db_part += dy_rows.sum(axis=0)                  # while dy's rows are in the cache
            if not input_gradient:
                continue
            dpatches = (dy_rows @ kernel_matrix_t).reshape(dy[images, rows].shape[:3] + (kh, kw, c))
            top, bottom = rows.start * sh, (rows.stop - 1) * sh + 1
            for u in range(kh):                             # col2im: scatter each window back
                for v in range(kw):
                    dxp[images, top + u:bottom + u:sh, v:v + sw * (wo - 1) + 1:sw] += \
                        dpatches[:, :, :, u, v]
        return dw_part, db_part

    with ops._single_threaded_blas() if len(parts) > 1 else contextlib.nullcontext():
        partial = ops._run_parts(work, range(len(parts)))
    dw, db = partial[0] if len(parts) == 1 else [np.sum(p, axis=0, dtype=np.float32) for p in zip(*partial)]
    if not input_gradient:
        return None, dw.reshape(w.shape), db
    dx = _crop(dxp, x.shape, (kh, kw), stride) if xp.shape != x.shape else dxp
    return np.ascontiguousarray(dx), dw.reshape(w.shape), db


def _shifted_products(xp, w, dy, dw, dxp=None):
    """Add a stride-1 convolution's kernel gradient to ``dw`` (and its input gradient to ``dxp``)
    without a patch matrix: one matrix product per kernel offset.

    Flatten the images ``xp`` (N, H, W, C) to rows of pixels, ``x[r]`` with ``r = (n H + i) W + j``.
    The window at output pixel (n, i, j) reads row ``r + s`` at offset (u, v), ``s = u W + v``, so

        dw[u, v] = sum_r x[r + s]^T dy[r]        dx[r + s] += dy[r] w[u, v]^T

    with ``dy`` (N, Ho, Wo, F) put on the input's grid, 0 where no window starts (the last
    kh - 1 rows and kw - 1 columns of each image): those rows add nothing.
    """
    n, h, wd, c = xp.shape
    kh, kw, _, f = w.shape
    d = np.zeros((n, h, wd, f), dtype=np.float32)
    d[:, :dy.shape[1], :dy.shape[2]] = dy
    rows = n * h * wd - (kh - 1) * wd - (kw - 1)  # the windows that start inside the batch
    d = d.reshape(-1, f)[:rows]
    x = xp.reshape(-1, c)
    dx = None if dxp is None else dxp.reshape(-1, c)
    for u in range(kh):
        for v in range(kw):
            s = u * wd + v
            dw[u, v] += x[s:s + rows].T @ d
            if dx is not None:
                dx[s:s + rows] += d @ w[u, v].T


# -------------------------------------------------------------------- pooling
def max_pool2d_backward(x, dy, pool_size=2, stride=None, padding="valid", *, y=None, relu=False):
    """Gradient of :func:`medlab.ops.max_pool2d` with respect to its input.

    Each window passes its gradient to the pixel that won the max (the first one, in
    row-major order, when several tie, as TensorFlow does); every other pixel gets 0.
    Overlapping windows add up.

    Parameters
    ----------
    x : array (N, H, W, C)
    dy : array (N, H_out, W_out, C)
    pool_size, stride, padding
        As in the forward call.
    y : array (N, H_out, W_out, C), optional
        The forward output, when the caller has it (saves computing it again).
    relu : bool
        The gradient of ``relu(max_pool2d(x))`` instead (``dy`` is that output's gradient):
        windows whose max is not > 0 pass nothing, as ``dy * (y > 0)`` would do first.

    Returns
    -------
    dx : float32 array (N, H, W, C)
    """
    x, pool, stride, mode, ho, wo = ops._pool(x, pool_size, stride, padding)
    dy = _check_dy(dy, (x.shape[0], ho, wo, x.shape[3]))
    if y is None:
        y = ops.max_pool2d(x, pool, stride, mode)
    else:
        validate.same_shape("y", y, dy.shape, of="the forward output")
    xp = ops._pad_same(x, pool, stride, value=-np.inf) if mode == "same" else x
    overlap = stride[0] < pool[0] or stride[1] < pool[1]
    # windows that tile the image exactly write every pixel once: nothing to clear first
    tiled = tuple(stride) == tuple(pool) and xp.shape[1:3] == (ho * pool[0], wo * pool[1])
    dxp = (np.empty if tiled else np.zeros)(xp.shape, dtype=np.float32)

    offsets = [(u, v) for u in range(pool[0]) for v in range(pool[1])]

    def work(part):
        # a few images at a time, so that ``taken`` and ``winner`` stay in the cache
        blocks = list(ops._blocks(part, ho, wo * x.shape[3] * 4, ops._POOL_BLOCK_BYTES, bands=False))
        size = max(images.stop - images.start for images, _ in blocks)
        taken_buffer = np.empty((size,) + dy.shape[1:], dtype=bool)
        winner_buffer = np.empty_like(taken_buffer)
        share_buffer = np.empty(taken_buffer.shape, dtype=np.float32)
        for images, _ in blocks:
            # ``taken``: the windows whose winner is found. Offsets are tried in row-major
            # order; the first pixel equal to the max takes all of the window's gradient.
            count = images.stop - images.start
            taken, winner, share = taken_buffer[:count], winner_buffer[:count], share_buffer[:count]
            if relu:  # the ReLU after the pool passes nothing where the max is not > 0
                np.less_equal(y[images], 0, out=taken)
            else:
                taken[...] = False
            for u, v in offsets:
                rows = slice(u, u + stride[0] * (ho - 1) + 1, stride[0])
                cols = slice(v, v + stride[1] * (wo - 1) + 1, stride[1])
                np.equal(xp[images, rows, cols], y[images], out=winner)
                np.greater(winner, taken, out=winner)  # winner and not taken
                taken |= winner
                if overlap:
                    np.multiply(winner, dy[images], out=share)
                    dxp[images, rows, cols] += share
                else:  # each pixel lies in one window only: write, do not add
                    np.multiply(winner, dy[images], out=dxp[images, rows, cols])

    ops._run_parts(work, ops._batch_parts(x.shape[0], x.size))
    dx = _crop(dxp, x.shape, pool, stride) if mode == "same" else dxp
    return np.ascontiguousarray(dx)


def avg_pool2d_backward(x, dy, pool_size=2, stride=None, padding="valid"):
    """Gradient of :func:`medlab.ops.avg_pool2d` with respect to its input.

    Each window spreads its gradient evenly over the pixels it averaged (padded cells,
    left out of the mean, get nothing). Same arguments as :func:`max_pool2d_backward`.

    Returns
    -------
    dx : float32 array (N, H, W, C)
    """
    x, pool, stride, mode, ho, wo = ops._pool(x, pool_size, stride, padding)
    dy = _check_dy(dy, (x.shape[0], ho, wo, x.shape[3]))
    if mode == "same":
        ones = ops._pad_same(np.ones((1, x.shape[1], x.shape[2], 1), np.float32), pool, stride)
        counts = sum(ops._strided_slices(ones, pool, stride, ho, wo))
        shape = ones.shape[1:3]
    else:
        counts = np.float32(pool[0] * pool[1])
        shape = x.shape[1:3]
    share = (dy / counts).astype(np.float32)
    dxp = np.zeros((x.shape[0],) + tuple(shape) + (x.shape[3],), dtype=np.float32)
    for u in range(pool[0]):
        for v in range(pool[1]):
            dxp[:, u:u + stride[0] * (ho - 1) + 1:stride[0],
                v:v + stride[1] * (wo - 1) + 1:stride[1]] += share
    dx = _crop(dxp, x.shape, pool, stride) if mode == "same" else dxp
    return np.ascontiguousarray(dx)


# ------------------------------------------------------------- dense and co.
def dense_backward(x, w, dy):
    """Gradients of :func:`medlab.ops.dense` (``y = x W + b``).

    Parameters
    ----------
    x : array (N, D)
    w : array (D, U)
    dy : array (N, U)

    Returns
    -------
    dx : float32 array (N, D)
        ``dy W^T``
    dw : float32 array (D, U)
        ``x^T dy``: summed over the batch
    db : float32 array (U,)
        ``dy`` summed over the batch
    """
    x, w = ops._dense_arguments(x, w)  # the forward call's checks
    dy = _check_dy(dy, (x.shape[0], w.shape[1]))
    return dy @ w.T, x.T @ dy, dy.sum(axis=0, dtype=np.float32)


def flatten_backward(x, dy):
    """Gradient of :func:`medlab.ops.flatten`: ``dy`` reshaped to ``x``'s shape."""
    x = np.asarray(x)
    dy = _check_dy(dy, ops.flatten(x).shape)
    return dy.reshape(x.shape)


def relu_backward(x, dy):
    """Gradient of :func:`medlab.ops.relu`: ``dy`` where ``x > 0``, else 0 (as TensorFlow)."""
    x = _array(x, "x")
    dy = _check_dy(dy, x.shape)
    return np.where(x > 0, dy, np.float32(0))


def sigmoid_cross_entropy_backward(logits, labels):
    """dL/dz of ``medlab.metrics.binary_cross_entropy(y, z, from_logits=True)``: ``(sigmoid(z) - y) / N``.

    The sigmoid's derivative p (1 - p) cancels the loss's 1 / (p (1 - p)): the gradient
    is just "prediction minus truth", divided by the batch size for the mean.

    Returns
    -------
    float32 array, the shape of ``logits``
    """
    z, y = _logits_and_labels(logits, labels)
    return ((ops.sigmoid(z) - y) / np.float32(z.size)).astype(np.float32)


def _logits_and_labels(logits, labels):
    z = _array(logits, "logits")
    y = validate.values("labels", labels, 0, 1).astype(np.float32)  # targets are probabilities
    validate.same_shape("labels", y, z.shape, of="logits")
    if z.size == 0:
        raise ValueError("logits must hold at least one value")
    return z, y


# ---------------------------------------------------------- the gradient check
def _numerical_gradient(f, x, eps=1e-3):
    """Central finite differences of a scalar function: ``(f(x + eps e_i) - f(x - eps e_i)) / 2 eps``.

    The teaching tool for checking a backward pass by hand: slow (two calls of ``f`` per
    element), so use it on small arrays. Computed in float64.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, the loss as a function of one array.
    x : array
        Where to take the gradient; not modified.
    eps : float
        Step; about 1e-3 for float32 functions, 1e-6 for float64 ones.

    Returns
    -------
    float64 array, the shape of ``x``
    """
    if not callable(f):
        raise ValueError(f"f must be a callable returning a float, got {type(f).__name__}")
    eps = validate.number("eps", eps, 0, low_open=True)
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = float(f(x.copy()))
        flat[i] = keep - eps
        down = float(f(x.copy()))
        flat[i] = keep
        out[i] = (up - down) / (2 * eps)
    return grad


def scaled_difference(a, b):
    """``max |a - b| / max(max |a|, max |b|)``: the difference relative to the arrays' scale.

    How far two computations of one gradient disagree, insensitive to tiny components (whose
    own relative error is all round-off). inf when the shapes differ, 0 for two zero arrays.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return float(np.max(np.abs(a - b), initial=0.0)) / scale if scale else 0.0


def gradient_check(f, x, analytic, eps=1e-3, tolerance=1e-2):
    """Compare an analytic gradient with :func:`_numerical_gradient`.

    The relative error is taken over the whole array, ``max |a - n| / max(max |a|, max |n|)``,
    so that tiny components whose finite difference is all round-off do not dominate.

    Parameters
    ----------
    f : callable, ``f(x) -> float``
    x : array
    analytic : array, the shape of ``x``
        The gradient a backward pass computed.
    eps : float
    tolerance : float
        Largest relative error accepted (float32 losses: about 1e-2 with eps=1e-3).

    Returns
    -------
    (bool, float)
        Whether the gradient passes, and its relative error.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = _numerical_gradient(f, x, eps)
    validate.same_shape("analytic", analytic, numeric.shape, of="x")
    error = scaled_difference(analytic, numeric)
    return error <= tolerance, error


__all__ = [
    "avg_pool2d_backward", "conv2d_backward", "dense_backward",
    "flatten_backward", "gradient_check", "max_pool2d_backward",
    "relu_backward", "scaled_difference", "sigmoid_cross_entropy_backward",
]
