"""medlab.checks.trust (lesson 09): right answers pass, each mistake fails with its hint."""

import numpy as np
import pytest

from medlab import checks


def predictive_entropy(member_probabilities):
    p = np.clip(np.mean(member_probabilities, axis=0), 1e-7, 1 - 1e-7)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def accuracy_at_coverage(y_true, p, uncertainty, coverage):
    kept = np.argsort(uncertainty)[:round(coverage * len(p))]
    return np.mean((np.asarray(p)[kept] >= 0.5) == (np.asarray(y_true)[kept] == 1))


RIGHT = {"predictive_entropy": predictive_entropy, "accuracy_at_coverage": accuracy_at_coverage}


def _entropy(p):
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def _kept(kind):
    def wrong(y, p, u, c):
        n = int(c * len(u)) if kind == "floor" else len(u) if kind == "all" else round(c * len(u))
        order = np.argsort(-np.asarray(u) if kind == "uncertain" else u)[:max(n, 1)]
        return np.mean((np.asarray(p)[order] >= 0.5) == (np.asarray(y)[order] == 1))
    return wrong


MISTAKES = [
    ("predictive_entropy", lambda P: _entropy(np.asarray(P)).mean(axis=0), "mean_of_entropies"),
    ("predictive_entropy", lambda P: _entropy(np.mean(P, axis=0)) / np.log(2), "entropy_bits"),
    ("predictive_entropy", lambda P: -np.mean(P, axis=0) * np.log(np.mean(P, axis=0)), "entropy_one_term"),
    ("predictive_entropy", lambda P: _entropy(np.mean(P, axis=1)), "entropy_wrong_axis"),
    ("accuracy_at_coverage", _kept("uncertain"), "kept_uncertain"),
    ("accuracy_at_coverage", _kept("all"), "kept_all"),
    ("accuracy_at_coverage", _kept("floor"), "kept_floor"),
]


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_right_answer_passes(capsys, exercise):
    assert checks.CHECKS[exercise](RIGHT[exercise])
    out = capsys.readouterr().out
    assert out == f"{exercise}: all 5 test cases pass. Well done!\n"


@pytest.mark.parametrize("exercise, wrong, key", MISTAKES, ids=[m[2] for m in MISTAKES])
def test_mistake_fails_with_its_hint(capsys, exercise, wrong, key):
    assert not checks.CHECKS[exercise](wrong)
    out = capsys.readouterr().out
    assert out.startswith(f"{exercise}: case ") and f"hint: {checks.HINTS[key]}" in out, out


def test_every_hint_of_the_module_has_a_mistake_here():
    from medlab.checks import trust

    keys = {value.key for value in vars(trust).values() if isinstance(value, checks.Hint)}
    assert keys == {key for _, _, key in MISTAKES}
