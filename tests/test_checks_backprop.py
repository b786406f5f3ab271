"""medlab.checks.backprop: right answers pass, each known mistake fails with its hint."""

import numpy as np
import pytest

from medlab import checks
from medlab.checks import backprop as checks_backprop


# ------------------------------------------------ right answers, written as a student would
def dense_backward(x, W, dy):
    return dy @ W.T, x.T @ dy, dy.sum(axis=0)


def conv_backward(x, w, dy):
    kh, kw = w.shape[:2]
    ho, wo = dy.shape[1:3]
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for u in range(kh):
        for v in range(kw):
            window = x[:, u:u + ho, v:v + wo, :]
            dw[u, v] = np.einsum("nijc,nijf->cf", window, dy)
            dx[:, u:u + ho, v:v + wo, :] += dy @ w[u, v].T
    return dx, dw, dy.sum(axis=(0, 1, 2))


def adam_update(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)  # the textbook's form
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


RIGHT = {"dense_backward": dense_backward, "conv_backward": conv_backward,
         "adam_update": adam_update}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_right_answer_passes_with_one_line(run_check, exercise):
    ok, out = run_check(exercise, RIGHT[exercise])
    assert ok, out
    assert out == f"{exercise}: all 3 test cases pass. Well done!\n"


def _conv_flipped(x, w, dy):
    dx, dw, db = conv_backward(x, w, dy)
    return conv_backward(x, w[::-1, ::-1], dy)[0], dw, db


def _adam_variant(change):
    def adam(w, g, m, v, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        if change == "no_correction":
            return w - lr * m / (np.sqrt(v) + eps), m, v
        if change == "inside":
            return w - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + eps), m, v
        if change == "t0":
            return w - lr * (m / (1 - b1 ** (t + 1))) / (np.sqrt(v / (1 - b2 ** (t + 1))) + eps), m, v
        return w + lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v
    return adam


MISTAKES = [
    ("dense_backward", lambda x, W, dy: (dy @ W.T, dy.T @ x, dy.sum(0)), "dW must have W's shape"),
    ("dense_backward", lambda x, W, dy: (dy @ W.T, x.T @ dy, dy), "SUM of dy over the batch"),
    ("dense_backward", lambda x, W, dy: (dy @ W.T, x.T @ dy, dy.mean(0)), "sum, do not average"),
    ("dense_backward", lambda x, W, dy: (dy @ W.T, x.T @ dy, np.zeros(W.shape[1])), "is missing"),
    ("dense_backward", lambda x, W, dy: (dy @ W.T, x.T @ dy, dy.sum(1)), "wrong axes"),
    ("dense_backward", lambda x, W, dy: (dy @ W, x.T @ dy, dy.sum(0)), "W is used transposed"),
    ("dense_backward", lambda x, W, dy: (dy @ W.T, x.T @ dy), "tuple of three arrays"),
    ("dense_backward", lambda x, W, dy: (2 * dy @ W.T, x.T @ dy, dy.sum(0)), "dx is wrong"),
    ("conv_backward", _conv_flipped, "FLIPPED kernel"),
    ("conv_backward", lambda x, w, dy: (conv_backward(x, w, dy)[0], conv_backward(x[:1], w, dy[:1])[1],
                                        dy.sum((0, 1, 2))), "only the first image"),
    ("conv_backward", lambda x, w, dy: (conv_backward(x, w, dy)[0], conv_backward(x, w, dy)[1] / len(x),
                                        dy.sum((0, 1, 2))), "do not average it"),
    ("conv_backward", lambda x, w, dy: conv_backward(x, w, dy)[:2] + (np.zeros(w.shape[3]),),
     "is missing"),
    ("conv_backward", lambda x, w, dy: conv_backward(x, w, dy)[:2] + (dy.sum((1, 2, 3)),),
     "wrong axes"),
    ("conv_backward", lambda x, w, dy: conv_backward(x, w, dy)[:2] + (dy[0].sum((0, 1)),),
     "over the images as well"),
    ("adam_update", _adam_variant("no_correction"), "bias correction is missing"),
    ("adam_update", _adam_variant("inside"), "outside the square root"),
    ("adam_update", _adam_variant("t0"), "counting from 1"),
    ("adam_update", _adam_variant("ascent"), "goes uphill"),
]


@pytest.mark.parametrize("exercise, function, hint", MISTAKES)
def test_mistake_fails_with_its_hint(run_check, exercise, function, hint):
    ok, out = run_check(exercise, function)
    assert not ok
    assert hint in out, out


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_unfinished_function_is_reported(run_check, exercise):
    def unfinished(*args):
        raise NotImplementedError

    ok, out = run_check(exercise, unfinished)
    assert not ok and "not done yet" in out


def test_checks_are_exported_by_medlab_checks():
    for name in RIGHT:
        assert checks.CHECKS[name] is getattr(checks_backprop, f"check_{name}")
