"""medlab.checks: the reference passes every check, each common mistake fails with its hint,
and an unfinished or crashing function is reported, never raised."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from medlab import checks, ops
from medlab.course.execute import execute_client
from test_checks_backprop import RIGHT as BACKPROP_RIGHT
from test_checks_segmentation import RIGHT as SEGMENTATION_RIGHT
from test_checks_volumes import RIGHT as VOLUMES_RIGHT
from test_checks_training import RIGHT as TRAINING_RIGHT
from test_checks_trust import RIGHT as TRUST_RIGHT

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------ right answers, written as a student would
def cross_correlate(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def conv_output_size(n, k, p, s):
    return (n + 2 * p - k) // s + 1


def zero_pad(images, p):
    return np.pad(images, ((0, 0), (p, p), (p, p), (0, 0)))


def _pool(reduce):
    def pool(image, size, stride):
        rows = (image.shape[0] - size) // stride + 1
        cols = (image.shape[1] - size) // stride + 1
        return np.array([[reduce(image[i * stride:i * stride + size, j * stride:j * stride + size])
                          for j in range(cols)] for i in range(rows)])

    return pool


max_pool, avg_pool = _pool(np.max), _pool(np.mean)


def dense_forward(x, W, b):
    return np.maximum(x @ W + b, 0)


def dense_param_count(d, u):
    return d * u + u


def seed_forward(x, weights):
    w1, b1, w2, b2, w3, b3, w4, b4 = weights
    y = ops.max_pool2d(ops.relu(ops.conv2d(x, w1, b1)), 2)
    y = ops.max_pool2d(ops.relu(ops.conv2d(y, w2, b2)), 2)
    y = ops.relu(ops.dense(ops.flatten(y), w3, b3))
    return ops.sigmoid(ops.dense(y, w4, b4))


def seed_param_count(input_shape, kernel_size, conv=None, pool=lambda n: n // 2, bias=1, channels=True):
    h, w, c = input_shape
    k = kernel_size
    conv = conv or (lambda n: n - k + 1)
    c = c if channels else 1
    for _ in range(2):
        h, w = pool(conv(h)), pool(conv(w))
    return ((k * k * c * 32 + 32 * bias) + (k * k * 32 * 64 + 64 * bias)
            + (h * w * 64 * 64 + 64 * bias) + 64 + bias)


def sensitivity_specificity(y_true, y_pred):
    tp = np.sum((y_true == 1) & (y_pred == 1))
    fn = np.sum((y_true == 1) & (y_pred == 0))
    tn = np.sum((y_true == 0) & (y_pred == 0))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    return tp / (tp + fn), tn / (tn + fp)


def accuracy_at_prevalence(sensitivity, specificity, prevalence):
    return sensitivity * prevalence + specificity * (1 - prevalence)


def psnr(clean, noisy, data_range=1.0):
    mse = np.mean((clean.astype(np.float64) - noisy) ** 2)
    return 10 * np.log10(data_range ** 2 / mse)


def anomaly_scores(images, reconstructions):
    return np.mean((images - reconstructions) ** 2, axis=tuple(range(1, images.ndim)))


RIGHT = {
    "cross_correlate": cross_correlate,
    "conv_output_size": conv_output_size,
    "zero_pad": zero_pad,
    "max_pool": max_pool,
    "avg_pool": avg_pool,
    "dense_forward": dense_forward,
    "dense_param_count": dense_param_count,
    "seed_forward": seed_forward,
    "seed_param_count": seed_param_count,
    "sensitivity_specificity": sensitivity_specificity,
    "accuracy_at_prevalence": accuracy_at_prevalence,
    "psnr": psnr,
    "anomaly_scores": anomaly_scores,
}


# the backpropagation lesson's checks are tested in test_checks_backprop.py
RIGHT.update(BACKPROP_RIGHT)
RIGHT.update(SEGMENTATION_RIGHT)  # lesson 12's, in test_checks_segmentation.py
RIGHT.update(VOLUMES_RIGHT)  # lesson 13's, in test_checks_volumes.py
RIGHT.update(TRAINING_RIGHT)  # lesson 07's and the second of 09 and 10, in test_checks_training.py
RIGHT.update(TRUST_RIGHT)  # lesson 09 (trustworthy predictions)'s, in test_checks_trust.py


def test_every_check_has_a_right_answer_here():
    assert sorted(RIGHT) == sorted(checks.CHECKS)


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_right_answer_passes_with_one_line(run_check, exercise):
    ok, out = run_check(exercise, RIGHT[exercise])
    assert ok, out
    assert out.startswith(f"{exercise}: all ") and out.endswith(" test cases pass. Well done!\n")
    assert out.count("\n") == 1


def test_verdict_is_silent_as_a_cell_value_but_a_boolean(capsys):
    verdict = checks.check_conv_output_size(conv_output_size)
    assert verdict == True and repr(verdict) == "True"  # noqa: E712
    assert checks.check_conv_output_size(lambda n, k, p, s: 0) == False  # noqa: E712
    capsys.readouterr()


# ------------------------------------------------------- each mistake fails with its hint
def _flip_all(x, w):
    return seed_forward(x, [v[::-1, ::-1] if v.ndim == 4 else v for v in w])


def _seed_variant(x, w, pool=ops.max_pool2d, channels_first=False, relu=True, bias=True, out=ops.sigmoid):
    w1, b1, w2, b2, w3, b3, w4, b4 = w
    if not bias:
        b1 = b2 = b3 = b4 = None
    act = ops.relu if relu else (lambda z: z)
    y = pool(act(ops.conv2d(x, w1, b1)), 2)
    y = pool(act(ops.conv2d(y, w2, b2)), 2)
    if channels_first:
        y = np.transpose(y, (0, 3, 1, 2))
    y = act(ops.dense(y.reshape(len(y), -1), w3, b3))
    return out(ops.dense(y, w4, b4))


MISTAKES = [
    # exercise, wrong implementation, hint key
    ("cross_correlate", lambda x, w: cross_correlate(x, np.flip(w)), "flipped_kernel"),
    ("cross_correlate", lambda x, w: cross_correlate(x, w)[:-1, :-1], "off_by_one"),
    ("cross_correlate", lambda x, w: cross_correlate(x, w)[:, :-1], "off_by_one"),
    ("cross_correlate", lambda x, w: ops.conv2d(x[None, :, :, None], w[:, :, None, None],
                                                padding="same")[0, :, :, 0], "same_not_valid"),
    ("conv_output_size", lambda n, k, p, s: (n + 2 * p - k) // s, "off_by_one"),
    ("conv_output_size", lambda n, k, p, s: n + 2 * p - k + 1, "stride_ignored"),
    ("conv_output_size", lambda n, k, p, s: (n + p - k) // s + 1, "padding_one_side"),
    ("conv_output_size", lambda n, k, p, s: (n - k) // s + 1, "padding_ignored"),
    ("conv_output_size", lambda n, k, p, s: (n + 2 * p - k) / s + 1, "floor"),
    ("zero_pad", lambda x, p: np.pad(x, p), "wrong_axes"),
    ("zero_pad", lambda x, p: np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), "channels_first"),
    ("zero_pad", lambda x, p: np.pad(x, ((0, 0), (p, p), (0, 0), (0, 0))), "wrong_axes"),
    ("zero_pad", lambda x, p: np.pad(x, ((0, 0), (0, p), (0, p), (0, 0))), "padding_one_side"),
    ("zero_pad", lambda x, p: np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge"), "not_zeros"),
    ("max_pool", avg_pool, "max_avg_mixed"),
    ("max_pool", lambda x, size, stride: max_pool(x, size, size), "stride_ignored"),
    ("max_pool", lambda x, size, stride: max_pool(x, size, 1), "stride_ignored"),
    ("max_pool", lambda x, size, stride: max_pool(x, size, stride)[:-1], "off_by_one"),
    ("avg_pool", max_pool, "max_avg_mixed"),
    ("avg_pool", _pool(np.sum), "sum_not_mean"),
    ("avg_pool", lambda x, size, stride: avg_pool(x, size, size), "stride_ignored"),
    ("dense_forward", lambda x, W, b: np.maximum(x @ W, 0), "missing_bias"),
    ("dense_forward", lambda x, W, b: x @ W + b, "missing_relu"),
    ("dense_forward", lambda x, W, b: np.maximum(x @ W, 0) + b, "bias_after_activation"),
    ("dense_forward", lambda x, W, b: 1 / (1 + np.exp(-(x @ W + b))), "wrong_activation"),
    ("dense_forward", lambda x, W, b: np.maximum(x @ W + b, 0).T, "transposed"),
    ("dense_forward", lambda x, W, b: np.maximum(W @ x.T, 0), "dense_layout"),  # raises
    ("dense_param_count", lambda d, u: d * u, "missing_bias"),
    ("dense_param_count", lambda d, u: d * u + d, "bias_per_input"),
    ("seed_forward", _flip_all, "flipped_kernel"),
    ("seed_forward", lambda x, w: _seed_variant(x, w, pool=ops.avg_pool2d), "max_avg_mixed"),
    ("seed_forward", lambda x, w: _seed_variant(x, w, channels_first=True), "channels_first"),
    ("seed_forward", lambda x, w: _seed_variant(x, w, bias=False), "missing_bias"),
    ("seed_forward", lambda x, w: _seed_variant(x, w, relu=False), "missing_relu"),
    ("seed_forward", lambda x, w: _seed_variant(x, w, out=lambda z: z), "missing_sigmoid"),
    ("seed_forward", lambda x, w: seed_forward(x, w)[:, 0], "output_shape"),
    ("seed_forward", lambda x, w: ops.sigmoid(ops.dense(ops.flatten(ops.relu(
        ops.conv2d(x, w[0], w[1]))), w[4], w[5])), "flatten_size"),  # raises: no pooling
    ("seed_param_count", lambda s, k: seed_param_count(s, k, bias=0), "missing_bias"),
    ("seed_param_count", lambda s, k: seed_param_count(s, k, conv=lambda n: n), "valid_not_same"),
    ("seed_param_count", lambda s, k: seed_param_count(s, k, conv=lambda n: n - k), "off_by_one"),
    ("seed_param_count", lambda s, k: seed_param_count(s, k, pool=lambda n: n), "pooling_ignored"),
    ("seed_param_count", lambda s, k: seed_param_count(s, k, channels=False), "input_channels"),
    ("sensitivity_specificity", lambda y, p: sensitivity_specificity(y, p)[::-1], "sens_spec_swapped"),
    ("sensitivity_specificity", lambda y, p: (np.mean(y == p),) * 2, "accuracy_not_rate"),
    ("sensitivity_specificity", lambda y, p: (np.sum((y == 1) & (p == 1)) / len(y),
                                              np.sum((y == 0) & (p == 0)) / len(y)), "divided_by_all"),
    ("sensitivity_specificity", lambda y, p: (np.sum((y == 1) & (p == 1)) / np.sum(p == 1),
                                              np.sum((y == 0) & (p == 0)) / np.sum(p == 0)),
     "predictive_values"),
    ("accuracy_at_prevalence", lambda se, sp, pi: se * (1 - pi) + sp * pi, "prevalence_swapped"),
    ("accuracy_at_prevalence", lambda se, sp, pi: (se + sp) / 2, "prevalence_ignored"),
    ("psnr", lambda c, n, r=1.0: 10 * np.log10(r ** 2 / np.sqrt(np.mean((c - n) ** 2))), "rmse_not_mse"),
    ("psnr", lambda c, n, r=1.0: 10 * np.log(r ** 2 / np.mean((c - n) ** 2)), "log_natural"),
    ("psnr", lambda c, n, r=1.0: 10 * np.log10(r / np.mean((c - n) ** 2)), "range_not_squared"),
    ("psnr", lambda c, n, r=1.0: 20 * np.log10(r ** 2 / np.mean((c - n) ** 2)), "db_factor"),
    ("psnr", lambda c, n, r=1.0: 10 * np.log10(r / np.sqrt(np.mean((c - n) ** 2))), "db_factor"),
    ("anomaly_scores", lambda x, y: np.mean((x - y) ** 2), "global_mean"),
    ("anomaly_scores", lambda x, y: np.mean(np.abs(x - y), axis=tuple(range(1, x.ndim))), "abs_not_squared"),
    ("anomaly_scores", lambda x, y: np.sum((x - y) ** 2, axis=tuple(range(1, x.ndim))), "sum_not_mean_pixels"),
    ("anomaly_scores", lambda x, y: np.mean((x - y) ** 2, axis=(1, 2)), "per_image_axes"),
    ("anomaly_scores", lambda x, y: np.mean((x - y) ** 2, axis=0), "per_image_axes"),
    ("anomaly_scores", lambda x, y: np.mean((x - y) ** 2, axis=-1), "per_image_axes"),
]


@pytest.mark.parametrize("exercise, wrong, key", MISTAKES,
                         ids=[f"{e}-{k}-{i}" for i, (e, _, k) in enumerate(MISTAKES)])
def test_mistake_fails_with_its_hint(run_check, exercise, wrong, key):
    ok, out = run_check(exercise, wrong)
    assert not ok
    assert f"hint: {checks.HINTS[key]}" in out, out
    assert out.startswith(f"{exercise}: case ")


def test_the_listed_mistakes_all_have_a_test():
    listed = {"flipped_kernel", "off_by_one", "wrong_axes", "stride_ignored", "channels_first",
              "missing_bias", "max_avg_mixed"}
    assert listed <= {key for _, _, key in MISTAKES} <= set(checks.HINTS)


def test_failure_shows_the_first_failing_case_small_arrays_only(run_check):
    ok, out = run_check("cross_correlate", lambda x, w: cross_correlate(x, np.flip(w)))
    lines = out.splitlines()
    assert lines[0] == "cross_correlate: case 1 of 7 fails: image (4, 4), kernel (2, 2)"
    assert "  expected shape (3, 3):" in lines and "  got      shape (3, 3):" in lines
    assert "      [[ 1  2]" in lines  # the kernel, printed in full
    ok, out = run_check("zero_pad", lambda x, p: np.pad(x, p))
    assert "expected shape (1, 4, 5, 1)\n  got      shape (3, 4, 5, 3)\n" in out  # 4-D: shapes only
    ok, out = run_check("conv_output_size", lambda n, k, p, s: (n + p - k) // s + 1)
    assert "case 3 of 10 fails: n=150, k=3, p=1, s=1\n  expected 150\n  got      149\n" in out


def test_a_wrong_answer_without_a_known_mistake_says_so(run_check):
    ok, out = run_check("dense_param_count", lambda d, u: 7)
    assert not ok and "no hint for this one" in out


# ------------------------------------------------------ unfinished, crashing, odd answers
@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_unfinished_function_is_reported_not_raised(run_check, exercise):
    def unfinished(*args):
        raise NotImplementedError("cross_correlate: your code here")

    ok, out = run_check(exercise, unfinished)
    assert not ok
    assert out == (f"{exercise}: not done yet (it raises NotImplementedError). Write your code in "
                   "place of the `raise NotImplementedError(...)` line, run that cell, then run "
                   "this check again.\n")


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_function_returning_none_is_reported(run_check, exercise):
    ok, out = run_check(exercise, lambda *args: None)
    assert not ok and f"{exercise}: returned None on case 1" in out and "`return` missing" in out


def test_function_that_raises_is_reported_with_type_and_message(run_check):
    def broken(image, kernel):
        return image[10, 10]

    ok, out = run_check("cross_correlate", broken)
    assert not ok
    assert out.startswith("cross_correlate: case 1 (image (4, 4), kernel (2, 2)) raised IndexError: "
                          "index 10 is out of bounds")

    def zero_division(n, k, p, s):
        return 1 // 0

    ok, out = run_check("conv_output_size", zero_division)
    assert "raised ZeroDivisionError: integer division or modulo by zero" in out


def _exits(n, k, p, s):
    sys.exit(3)


def _raises_base_exception(n, k, p, s):
    raise BaseException("boom")


def _wrong_then_exits(n, k, p, s):
    if (n, k, p, s) == (5, 3, 0, 1):  # case 1: wrong
        return 0
    sys.exit("bye")


@pytest.mark.parametrize("function, first_line", [
    (_exits, "conv_output_size: case 1 (n=5, k=3, p=0, s=1) raised SystemExit: 3"),
    (_raises_base_exception, "conv_output_size: case 1 (n=5, k=3, p=0, s=1) raised BaseException: boom"),
    (_wrong_then_exits, "conv_output_size: case 1 of 10 fails: n=5, k=3, p=0, s=1"),
])
@pytest.mark.parametrize("where", ["this thread", "a worker thread"])
def test_a_function_that_calls_sys_exit_is_reported_never_raised(capsys, function, first_line, where):
    """``sys.exit()`` (SystemExit) or a bare ``BaseException`` in the student's function escaped
    the check (in a worker thread, it ended the thread silently)."""
    outcome = []

    def check():
        try:
            outcome.append(checks.check_conv_output_size(function))
        except BaseException as error:  # noqa: BLE001 (the failure this test looks for)
            outcome.append(error)

    if where == "this thread":
        check()
    else:
        worker = threading.Thread(target=check)
        worker.start()
        worker.join(120)
        assert not worker.is_alive()
    assert outcome == [False]
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == first_line and err == ""


def test_ctrl_c_in_the_students_function_still_stops_the_check():
    def interrupted(n, k, p, s):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.check_conv_output_size(interrupted)


def test_odd_return_values_and_arguments(run_check):
    ok, out = run_check("conv_output_size", lambda n, k, p, s: "3")
    assert not ok and "returned a str, not a number" in out
    ok, out = run_check("conv_output_size", lambda n, k, p, s: float(conv_output_size(n, k, p, s)))
    assert ok  # 30.0 is the whole number 30
    ok, out = run_check("cross_correlate", lambda x, w: [[1, 2], [3]])
    assert not ok and "not an array of numbers" in out
    ok, out = run_check("cross_correlate", cross_correlate(np.ones((3, 3)), np.ones((2, 2))))
    assert not ok and out.startswith("check_cross_correlate needs the function itself")


def test_the_student_cannot_change_the_cases(run_check):
    def vandal(image, kernel):
        result = cross_correlate(image, kernel)
        image[...] = 0
        kernel[...] = 0
        return result

    assert run_check("cross_correlate", vandal)[0]
    assert run_check("cross_correlate", cross_correlate)[0]


def test_keyboard_interrupt_is_not_swallowed():
    def interrupted(*args):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.check_zero_pad(interrupted)


def test_same_output_every_time(run_check):
    wrong = lambda x, w: _seed_variant(x, w, channels_first=True)  # noqa: E731
    first = run_check("seed_forward", wrong)
    assert run_check("seed_forward", wrong) == first


# ------------------------------------------------ a function that never returns
class _Endless:
    """A conv_output_size that loops until ``stop`` is set, which the test does only after the
    check: it never returns on its own, so no assertion depends on how fast the machine is.
    ``left`` is set when the function is left (stopped by the check, or by ``stop``)."""

    def __init__(self, wrong_first=False):
        self.stop, self.left = threading.Event(), threading.Event()
        self.threads, self.wrong_first = [], wrong_first

    def __call__(self, n, k, p, s):
        self.threads.append(threading.current_thread())
        if self.wrong_first and len(self.threads) == 1:
            return n - k + 2 * p  # wrong, on the first case only
        try:
            while not self.stop.is_set():
                pass
        finally:
            self.left.set()
        return conv_output_size(n, k, p, s)


@pytest.fixture
def endless():
    function = _Endless()
    yield function
    function.stop.set()  # whatever happened, no loop outlives the test
    assert not function.threads or function.left.wait(60)


def _on_main_thread():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("runs on the main thread only (the test runner runs tests on another)")


def test_a_function_that_never_returns_is_stopped_on_the_main_thread(endless, monkeypatch, capsys):
    """The reported failure: the check hung with no message. On the main thread (a Jupyter
    kernel, plain Python) a timer signal stops the function; the check prints one message."""
    _on_main_thread()
    monkeypatch.setattr(checks.framework, "TIME_LIMIT", 0.5)
    handler = signal.getsignal(signal.SIGALRM)
    assert checks.check_conv_output_size(endless) is not True
    out = capsys.readouterr().out
    assert out.startswith("conv_output_size: did not return within 0.5 s for case 1 (n=")
    assert "loop" in out and "still running" not in out
    assert endless.left.is_set() and not endless.stop.is_set()  # stopped by the check itself
    assert signal.getsignal(signal.SIGALRM) == handler  # the timer and handler are put back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_function_that_never_returns_is_reported_from_another_thread(endless, monkeypatch, capsys):
    """Off the main thread no signal can stop it: the check waits in a thread with a time limit,
    reports, and says that the function still runs."""
    monkeypatch.setattr(checks.framework, "TIME_LIMIT", 0.5)
    verdicts = []
    checker = threading.Thread(target=lambda: verdicts.append(checks.check_conv_output_size(endless)))
    checker.start()
    checker.join(120)
    assert not checker.is_alive() and verdicts == [False]
    out = capsys.readouterr().out
    assert out.startswith("conv_output_size: did not return within 0.5 s for case 1 (n=")
    assert "still running" in out
    assert not endless.left.is_set()  # abandoned, not stopped: the fixture stops it


def test_a_function_that_fails_then_never_returns_reports_the_failure(monkeypatch, capsys):
    """After the first failing case the check runs the others to find a hint; one that
    hangs there is given up (once), and the failure is still reported."""
    _on_main_thread()
    # 5 s: case 1 returns at once, and must do so within the limit even on a loaded machine
    monkeypatch.setattr(checks.framework, "TIME_LIMIT", 5)
    function = _Endless(wrong_first=True)
    try:
        assert checks.check_conv_output_size(function) is not True
    finally:
        function.stop.set()
    out = capsys.readouterr().out
    assert out.startswith("conv_output_size: case 1 of ") and "expected" in out
    assert len(function.threads) == 2  # not run again once it hung


def test_a_normal_check_leaves_no_timer_behind(capsys):
    handler = signal.getsignal(signal.SIGALRM)
    assert checks.check_conv_output_size(conv_output_size)
    assert signal.getsignal(signal.SIGALRM) == handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("setting", ["soon", "-1", "nan", "1e20"])
def test_a_bad_time_limit_is_one_clear_line(monkeypatch, setting):
    monkeypatch.setenv("MEDLAB_CHECK_TIME_LIMIT", setting)
    with pytest.raises(ValueError, match=r"^MEDLAB_CHECK_TIME_LIMIT '.*': expected a number of seconds"):
        checks.check_conv_output_size(conv_output_size)
    monkeypatch.delenv("MEDLAB_CHECK_TIME_LIMIT")
    with pytest.raises(ValueError, match=r"^time_limit -1: expected a number of seconds"):
        checks.run_check("conv_output_size", conv_output_size, [], conv_output_size, time_limit=-1)


ENDLESS_CHECK = """
from medlab.checks import check_conv_output_size

def conv_output_size(n, k, p, s):
    while True:
        pass

print("verdict:", bool(check_conv_output_size(conv_output_size)))
"""


def test_a_function_that_never_returns_in_plain_python(tmp_path):
    """Plain Python, the limit set by the environment variable."""
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS_CHECK, encoding="utf-8")
    env = {**os.environ, "MEDLAB_CHECK_TIME_LIMIT": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("conv_output_size: did not return within 1 s for case 1 (n=")
    assert done.stdout.endswith("verdict: False\n")


def test_a_function_that_never_returns_in_a_jupyter_kernel():
    """In a Jupyter kernel (the cell runs on its main thread), the limit set in the kernel."""
    nb = new_notebook(cells=[new_code_cell("import medlab.checks.framework\n"
                                           "medlab.checks.framework.TIME_LIMIT = 1\n" + ENDLESS_CHECK)])
    execute_client(NotebookClient(nb, timeout=600, kernel_name="python3", startup_timeout=300))
    text = "".join(output.get("text", "") for output in nb.cells[0].outputs)
    assert text.startswith("conv_output_size: did not return within 1 s for case 1 (n=")
    assert "still running" not in text and text.endswith("verdict: False\n")
