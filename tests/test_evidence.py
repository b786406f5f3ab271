"""medlab.evidence: mean and spread per setting, verdicts only beyond the spread, text tables."""

import numpy as np
import pytest

from medlab import evidence

ROWS = [{"k": 3, "seed": s, "auc": v} for s, v in enumerate([0.90, 0.92, 0.94])] + \
       [{"k": 5, "seed": s, "auc": v} for s, v in enumerate([0.70, 0.75, 0.80])]


def test_mean_sd_by_mean_sd_range_in_order():
    summary = evidence.mean_sd_by(ROWS, "k", "auc")
    assert [s["k"] for s in summary] == [3, 5]
    three = summary[0]
    assert three["n"] == 3 and three["mean"] == pytest.approx(0.92)
    assert three["sd"] == pytest.approx(0.02)  # sample sd, ddof = 1
    assert (three["min"], three["max"]) == (0.90, 0.94) and three["values"] == [0.90, 0.92, 0.94]
    assert evidence.mean_sd_by([{"k": 1, "auc": 0.5}], "k", "auc")[0]["sd"] == 0.0


def test_mean_sd_by_several_columns_and_bad_columns():
    rows = [{"a": 1, "b": "x", "v": 1.0}, {"a": 1, "b": "y", "v": 2.0}, {"a": 1, "b": "x", "v": 3.0}]
    summary = evidence.mean_sd_by(rows, ["a", "b"], "v")
    assert [(s["a"], s["b"], s["n"], s["mean"]) for s in summary] == [(1, "x", 2, 2.0), (1, "y", 1, 2.0)]
    with pytest.raises(ValueError, match="column 'auc'"):
        evidence.mean_sd_by(rows, "a", "auc")
    with pytest.raises(ValueError, match="no rows"):
        evidence.mean_sd_by([], "a")


def test_mean_sd_table_text():
    text = evidence.mean_sd_table(evidence.mean_sd_by(ROWS, "k", "auc"), "k", "auc")
    lines = text.splitlines()
    assert lines[0].split() == ["k", "n", "auc", "mean", "±", "sd", "range"]
    assert lines[2].split() == ["3", "3", "0.92", "±", "0.02", "[0.90,", "0.94]"]


def test_verdict_rule_difference_against_sum_of_sds():
    three, five = evidence.mean_sd_by(ROWS, "k", "auc")
    v = evidence.verdict(three, five, ("3 x 3", "5 x 5"), "AUC")
    assert v.higher == "3 x 3" and v.differs
    assert v.difference == pytest.approx(0.17) and v.spread == pytest.approx(0.07)
    assert str(v) == "3 x 3 gives a higher AUC than 5 x 5 (by more than the spread)"
    assert evidence.verdict(five, three, ("5 x 5", "3 x 3")).higher == "3 x 3"


def test_verdict_says_no_difference_within_the_spread():
    # means 0.02 apart, sds 0.01 + 0.03: the difference does not exceed the spread
    v = evidence.verdict([0.91, 0.92, 0.93], [0.87, 0.90, 0.93], ("a", "b"), "AUC")
    assert v.higher is None and not v.differs
    assert v.text == f"a vs b, AUC: {evidence.NO_DIFFERENCE}"
    # the boundary: a difference equal to the spread is not enough (diff 2, sds exactly 1 each)
    at_the_bar = evidence.verdict([0.0, 1.0, 2.0], [-2.0, -1.0, 0.0])
    assert at_the_bar.difference == 2.0 and at_the_bar.spread == 2.0 and at_the_bar.higher is None
    assert evidence.verdict([0.0, 1.0, 2.0], [-2.5, -1.5, -0.5]).higher == "A"  # just beyond it
    assert evidence.verdict([1.0, 1.0], [0.0, 0.0]).higher == "A"


def test_verdict_needs_two_values_each():
    with pytest.raises(ValueError, match="at least 2 values"):
        evidence.verdict([0.9], [0.8, 0.7])
    with pytest.raises(ValueError, match="at least one value"):
        evidence.verdict([], [0.8, 0.7])
    assert np.isfinite(evidence.verdict(np.array([0.9, 0.8]), (0.1, 0.2)).spread)


def test_table_rounds_and_aligns():
    text = evidence.table([{"lr": 1e-4, "auc": 0.8765, "n": 3, "ok": True}, {"lr": 0.01, "auc": 0.5, "n": 12, "ok": False}],
                 ["lr", "auc", "n", "ok"])
    lines = text.splitlines()
    assert lines[0].split() == ["lr", "auc", "n", "ok"]
    assert lines[2].split() == ["1e-04", "0.88", "3", "True"]
    assert lines[3].split() == ["0.01", "0.50", "12", "False"]
    assert len({len(line) for line in lines}) == 1
    assert evidence.table([{"x": 0.12345}], ["x", "missing"], digits=3).splitlines()[2].split() == ["0.123", "None"]
