"""The machinery of the exercise checks: cases, hints, comparing, reporting.

A topic module (one per lesson) defines its hints beside the mistakes they explain::

    FLIPPED_KERNEL = Hint("flipped_kernel", "your result is the true convolution: ...")

    mistakes = [(FLIPPED_KERNEL, lambda x, w: _correlate(x, np.flip(w)))]
    run_check("cross_correlate", student, cases(), reference, mistakes)

Each call of the student's function has a time limit (:data:`TIME_LIMIT` seconds, or the
environment variable ``MEDLAB_CHECK_TIME_LIMIT``; 0: none): a function that never returns
(a ``while`` loop whose condition stays true) is reported, naming the case, instead of
hanging the notebook. On the main thread (a Jupyter kernel, plain Python) a timer signal
(``SIGALRM``) stops it between two Python instructions; elsewhere (another thread, Windows)
the function runs in a thread of its own and is abandoned, still running, when time is up.
Neither can stop compiled code that never gives the interpreter back its turn.

Mistakes name their hint by its Python name, so a misspelt hint is a ``NameError`` when
the module is imported (and every test fails), never a hint silently missing. Each key is
registered once in :data:`HINTS`; defining a key twice raises at import.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import threading
import zlib
from dataclasses import dataclass

import numpy as np

from medlab.verify import Outcome

#: Every hint's text by key (filled as the topic modules define their hints).
HINTS: dict[str, str] = {}


class Hint(str):
    """A hint for one common mistake: the text printed after ``hint:``, with its ``key``."""

    key: str

    def __new__(cls, key, text):
        if key in HINTS:
            raise ValueError(f"hint {key!r} is defined twice; define it once, in the topic "
                             "module of the lesson that first meets the mistake, and import it")
        hint = super().__new__(cls, text)
        hint.key = key
        HINTS[key] = str(text)
        return hint


_MAX_SHOWN = 64  # print arrays in full only up to this many entries

#: Seconds the student's function may take on one case (0: no limit). Honest code takes well
#: under a second on every case; the margin is for a slow or busy machine.
TIME_LIMIT = 30.0
#: Environment variable that overrides :data:`TIME_LIMIT` (seconds).
TIME_LIMIT_ENV = "MEDLAB_CHECK_TIME_LIMIT"
_MAX_TIME_LIMIT = 1_000_000  # the system timer takes no more; 0 means no limit


class _OutOfTime(BaseException):
    """The student's function did not return in time. A ``BaseException``, so that the
    student's own ``except Exception`` does not swallow it."""

    def __init__(self, abandoned=False):
        super().__init__()
        #: whether the function still runs in an abandoned thread
        self.abandoned = abandoned


def _time_limit(time_limit):
    """Seconds for one case, checked: ``time_limit``, else ``$MEDLAB_CHECK_TIME_LIMIT``, else
    :data:`TIME_LIMIT`."""
    from medlab import validate

    setting = os.environ.get(TIME_LIMIT_ENV, "").strip()
    if time_limit is not None:
        name, value = "time_limit", time_limit
    elif setting:
        name, value = TIME_LIMIT_ENV, setting
        try:
            value = float(setting)
        except ValueError:
            pass  # refused below, named as given
    else:
        name, value = "TIME_LIMIT", TIME_LIMIT
    try:
        return validate.number(name, value, low=0, high=_MAX_TIME_LIMIT)
    except validate.ArgumentError:
        shown = setting if name == TIME_LIMIT_ENV else value
        raise validate.ArgumentError(f"{name} {shown!r}: expected a number of seconds in "
                                     f"[0, {_MAX_TIME_LIMIT}] (0: no limit)") from None


def _can_use_alarm():
    """Whether a SIGALRM timer may stop the function: POSIX, main thread, no timer running,
    and a handler that can be put back afterwards."""
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
            and signal.getsignal(signal.SIGALRM) is not None)


def _call_with_alarm(function, args, limit):
    armed = [True]

    def out_of_time(signum, frame):
        if armed[0]:
            raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    try:
        # again every second, should the function catch the first one (a bare ``except:``)
        signal.setitimer(signal.ITIMER_REAL, limit, 1.0)
        try:
            return function(*args)
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread(function, args, limit):
    outcome = {}

    def run():
        try:
            outcome["result"] = function(*args)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=run, name="medlab-check", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise _OutOfTime(abandoned=True)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _call(function, args, limit):
    """``function(*args)``, raising :class:`_OutOfTime` after ``limit`` seconds (0: none)."""
    if not limit:
        return function(*args)
    if _can_use_alarm():
        return _call_with_alarm(function, args, limit)
    return _call_in_thread(function, args, limit)


# ------------------------------------------------------------------ the framework
@dataclass
class Case:
    """One test case: the arguments and how to describe them."""

    args: tuple
    names: tuple
    #: extra text after the description (e.g. "stride 2")
    note: str = ""
    #: whether the arrays are small enough to print in full
    show: bool = True

    def describe(self):
        parts = []
        for name, value in zip(self.names, self.args):
            if isinstance(value, np.ndarray):
                parts.append(f"{name} {value.shape}")
            elif isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
                parts.append(f"{name}: {len(value)} arrays")
            else:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts) + (f" ({self.note})" if self.note else "")


def _format_array(a):
    a = np.asarray(a)
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    elif a.dtype.kind == "f":
        a = np.round(a, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = np.array2string(a, precision=3, suppress_small=True, max_line_width=88)
    return "\n".join("      " + line for line in text.splitlines())


def _describe_value(value):
    if isinstance(value, np.ndarray):
        shown = value.size <= _MAX_SHOWN and value.ndim <= 2
        return f"shape {value.shape}" + (":\n" + _format_array(value) if shown else "")
    return repr(value)


def _as_array(result):
    """The student's result as a float64 array, or a string saying why it is not one."""
    try:
        array = np.asarray(result, dtype=np.float64)
    except Exception:
        return f"a {type(result).__name__} that is not an array of numbers"
    return array


def _as_number(result):
    if isinstance(result, (bool, np.bool_)):
        return f"a bool ({result!r}), not a number"
    if isinstance(result, np.ndarray):
        if result.size != 1:
            return f"an array of shape {result.shape}, not one number"
        result = result.reshape(()).item()
    if isinstance(result, (int, np.integer)):
        return int(result)
    if isinstance(result, (float, np.floating)):
        value = float(result)
        return int(value) if value.is_integer() else value
    return f"a {type(result).__name__}, not a number"


def arrays_equal(got, expected, rtol=1e-4, atol=1e-5):
    """Same shape and values within tolerance (relative to the expected values' scale)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol * max(1.0, scale)))


def numbers_equal(got, expected):
    return not isinstance(got, str) and got == expected


def numbers_close(got, expected, rel=1e-6, abs_=1e-9):
    """Floats equal within a relative and an absolute tolerance (a str result never is)."""
    return not isinstance(got, str) and math.isclose(got, expected, rel_tol=rel, abs_tol=abs_)


def _safe(function, args):
    try:
        return function(*copy.deepcopy(args))
    except (KeyboardInterrupt, _OutOfTime):
        raise
    except BaseException:  # sys.exit() included: the student's bug
        return None


def _out_of_time(name, number, case, limit, abandoned):
    lines = [f"{name}: did not return within {limit:g} s for case {number} ({case.describe()}). "
             "Does a loop never end (a `while` whose condition stays true, a counter never "
             "updated)?"]
    lines += _show_inputs(case)
    if abandoned:
        lines.append(f"  {name} is still running in the background: restart the kernel to stop it.")
    print("\n".join(lines))


def _unfinished(name):
    return (f"{name}: not done yet (it raises NotImplementedError). Write your code in place "
            f"of the `raise NotImplementedError(...)` line, run that cell, then run this check "
            f"again.")


@dataclass
class CheckRecord:
    """What one check found, kept while :func:`recording` (for grading a class).

    ``cases`` holds one bool per test case (passed or not); ``verdict`` is ``"pass"``,
    ``"wrong"`` (a wrong result: ``hint`` names the mistake when a known one explains it),
    ``"raised"``, ``"timeout"``, ``"unfinished"``, ``"none"`` (returned None), ``"type"``
    (not an array or number) or ``"not_callable"``.
    """

    name: str
    cases: tuple
    verdict: str
    hint: str = ""  # the hint's key, "" when none
    hint_text: str = ""
    error: str = ""  # "TypeError: ..." when the function raised

    @property
    def passed(self):
        """Test cases passed."""
        return sum(self.cases)


_records = None  # the list of CheckRecords while recording, else None


@contextlib.contextmanager
def recording():
    """Collect a :class:`CheckRecord` for every check run inside the block (yields the list).

    While recording, a function that raises, returns None or hangs on one case is also run on
    the remaining cases, so that each case counts (partial credit); what the check prints
    does not change.

    >>> from medlab.checks import check_conv_output_size
    >>> with recording() as records:
    ...     _ = check_conv_output_size(lambda n, k, p, s: (n + 2 * p - k) // s + 1)
    conv_output_size: all 10 test cases pass. Well done!
    >>> records[0].verdict, records[0].passed, len(records[0].cases)
    ('pass', 10, 10)
    """
    global _records
    previous, _records = _records, []
    try:
        yield _records
    finally:
        _records = previous


def points(check, function, maximum=1.0):
    """Run ``check(function)`` (its verdict printed as usual) and return the points earned:
    ``maximum`` times the fraction of test cases passed, rounded to 0.01 (partial credit).

    An nbgrader autograder cell ends with it: nbgrader takes a number as a cell's last value
    for its partial credit.

    >>> from medlab.checks import check_conv_output_size
    >>> points(check_conv_output_size, lambda n, k, p, s: (n + 2 * p - k) // s + 1, 2)
    conv_output_size: all 10 test cases pass. Well done!
    2.0
    """
    with recording() as records:
        check(function)
    if not records or not records[-1].cases:
        return 0.0
    record = records[-1]
    return round(float(maximum) * record.passed / len(record.cases), 2)


def _record(name, passes, verdict, *, rest=(), student=None, reference=None, convert=None,
            equal=None, limit=0, hint=None, error=None):
    """Append a :class:`CheckRecord` when recording; ``rest`` (cases not run yet) are run
    when ``student`` is given (each with the time limit; a hang ends the run), else failed."""
    if _records is None:
        return
    passes = list(passes)
    hung = student is None
    for case in rest:
        if hung:
            passes.append(False)
            continue
        try:
            result = _call(_safe, (student, case.args), limit)
        except _OutOfTime:
            result, hung = None, True
        got = None if result is None else convert(result)
        passes.append(got is not None and not isinstance(got, str)
                      and bool(equal(got, reference(*case.args))))
    key, text = ("", "")
    if hint is not None:
        text = str(hint[0]) + (f" {hint[1]}" if hint[1] else "")
        key = getattr(hint[0], "key", "")
    message = "" if error is None else f"{type(error).__name__}: {str(error).strip()[:300]}"
    _records.append(CheckRecord(name, tuple(passes), verdict, key, text, error=message))


def run_check(name, student, cases, reference, mistakes=(), *, kind="array", equal=None,
              explain=None, on_error=None, time_limit=None):
    """Run ``student`` on ``cases`` against ``reference``; print the verdict; return it.

    Parameters
    ----------
    name : str
        The exercise's function name, for the printed lines.
    student : callable
        The student's function.
    cases : iterable of Case
        Consumed lazily: an unfinished function costs only the first case.
    reference : callable
        ``reference(*case.args)``: the right result.
    mistakes : sequence of (Hint, callable) or (Hint, callable, detail)
        Wrong variants, most specific first. When the student's results equal a variant's on
        every case, that variant's hint is printed (and ``detail`` after it).
    kind : {"array", "number"}
        How results are converted and compared.
    equal : callable, optional
        ``equal(got, expected) -> bool``; default :func:`arrays_equal` or exact numbers.
    explain : callable, optional
        ``explain(got, expected, case) -> Hint or None``, used when no variant matches.
    on_error : callable, optional
        ``on_error(exception, case) -> Hint or None`` for a function that raises.
    time_limit : float, optional
        Seconds the student's function may take on one case (0: no limit); default
        ``$MEDLAB_CHECK_TIME_LIMIT``, else :data:`TIME_LIMIT`.

    Returns
    -------
    Outcome
    """
    if not callable(student):
        print(f"check_{name} needs the function itself: check_{name}({name}), without calling "
              f"it (got a {type(student).__name__}).")
        _record(name, [], "not_callable", rest=list(cases))
        return Outcome(False)
    limit = _time_limit(time_limit)
    convert = _as_array if kind == "array" else _as_number
    equal = equal or (arrays_equal if kind == "array" else numbers_equal)
    cases = iter(cases)
    seen = []  # (case, expected, got)
    failure = None
    rerun = dict(student=student, reference=reference, convert=convert, equal=equal, limit=limit)
    for number, case in enumerate(cases, 1):
        expected = reference(*case.args)
        passes = [True] * (number - 1)
        try:
            result = _call(student, copy.deepcopy(case.args), limit)
        except _OutOfTime as out_of_time:
            _out_of_time(name, number, case, limit, out_of_time.abandoned)
            _record(name, passes + [False], "timeout", rest=list(cases))
            return Outcome(False)
        except NotImplementedError:
            print(_unfinished(name))
            _record(name, passes + [False], "unfinished", rest=list(cases))
            return Outcome(False)
        except KeyboardInterrupt:  # the person stopping the cell
            raise
        except BaseException as error:  # the student's bug (sys.exit() too), reported, never raised
            hint = _report_error(name, number, case, error, on_error)
            _record(name, passes + [False], "raised", rest=list(cases), hint=hint, error=error,
                    **rerun)
            return Outcome(False)
        if result is None:
            print(f"{name}: returned None on case {number} ({case.describe()}). Is a `return` "
                  f"missing, or is the function not finished?")
            _record(name, passes + [False], "none", rest=list(cases), **rerun)
            return Outcome(False)
        got = convert(result)
        if isinstance(got, str):
            print(f"{name}: case {number} ({case.describe()}) returned {got}.")
            _record(name, passes + [False], "type", rest=list(cases), **rerun)
            return Outcome(False)
        seen.append((case, expected, got))
        if not equal(got, expected):
            failure = number
            break
    if failure is None:
        print(f"{name}: all {len(seen)} test cases pass. Well done!")
        _record(name, [True] * len(seen), "pass")
        return Outcome(True)
    # the rest of the cases, to tell which mistake explains every result
    hung = False  # once the function hangs, it is not run again
    for case in cases:
        expected = reference(*case.args)
        try:
            result = None if hung else _call(_safe, (student, case.args), limit)
        except _OutOfTime:
            result, hung = None, True
        got = None if result is None else convert(result)
        seen.append((case, expected, None if isinstance(got, str) else got))
    case, expected, got = seen[failure - 1]
    hint = _find_mistake(seen, mistakes, equal, failure)
    if hint is None and explain is not None:
        found = explain(got, expected, case)
        hint = (found, "") if found else None
    _report_failure(name, failure, len(seen), case, expected, got, hint)
    _record(name, [seen_got is not None and bool(equal(seen_got, seen_expected))
                   for _, seen_expected, seen_got in seen], "wrong", hint=hint)
    return Outcome(False)


def _find_mistake(seen, mistakes, equal, failure):
    """The first variant matching every result, else the first matching the failing case."""
    partial = None
    for mistake in mistakes:
        hint, variant = mistake[0], mistake[1]
        detail = mistake[2] if len(mistake) > 2 else ""
        if not isinstance(hint, Hint):
            raise TypeError(f"mistake {mistake!r}: expected a Hint first, got {hint!r}")
        wrongs = [None if got is None else _safe(variant, case.args) for case, _, got in seen]
        matches = [wrong is not None and equal(got, wrong)
                   for (_, _, got), wrong in zip(seen, wrongs) if got is not None]
        got, wrong = seen[failure - 1][2], wrongs[failure - 1]
        fails_alike = wrong is not None and equal(got, wrong)
        if fails_alike and all(matches):
            return hint, detail
        if fails_alike and partial is None:
            partial = (hint, detail)
    return partial


def _report_error(name, number, case, error, on_error):
    message = str(error).strip().splitlines()
    message = message[0] if message else ""
    lines = [f"{name}: case {number} ({case.describe()}) raised {type(error).__name__}"
             + (f": {message}" if message else "")]
    lines += _show_inputs(case)
    hint = on_error(error, case) if on_error else None
    if hint:
        lines.append(f"  hint: {hint}")
    print("\n".join(lines))
    return (hint, "") if hint else None


def _show_inputs(case):
    lines = []
    if case.show:
        for arg_name, value in zip(case.names, case.args):
            if isinstance(value, np.ndarray) and value.size <= _MAX_SHOWN and value.ndim <= 2:
                lines.append(f"  {arg_name}:\n{_format_array(value)}")
    return lines


def _report_failure(name, number, total, case, expected, got, hint):
    lines = [f"{name}: case {number} of {total} fails: {case.describe()}"]
    lines += _show_inputs(case)
    lines.append(f"  expected {_describe_value(expected)}")
    lines.append(f"  got      {_describe_value(got)}")
    if hint is not None:
        hint, detail = hint
        lines.append(f"  hint: {hint}" + (f" {detail}" if detail else ""))
    else:
        lines.append("  no hint for this one: work the case above by hand and compare.")
    print("\n".join(lines))


def case_rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def small_ints(rng, shape, low=-3, high=5):
    return rng.integers(low, high, size=shape).astype(np.float32)
