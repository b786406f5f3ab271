"""medlab.evidence: mean and spread per setting, paired verdicts over seeds, text tables."""

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
    assert lines[3].split() == ["5", "3", "0.75", "±", "0.05", "[0.70,", "0.80]"]


def test_verdict_is_paired_by_seed():
    three, five = evidence.mean_sd_by(ROWS, "k", "auc")
    assert three["seeds"] == [0, 1, 2]
    v = evidence.verdict(three, five, ("3 x 3", "5 x 5"), "AUC")
    # paired differences 0.20, 0.17, 0.14: mean 0.17, sd 0.03, t(2) = 4.303
    half = 4.302653 * 0.03 / np.sqrt(3)
    assert v.word == "better" and v.higher == "3 x 3" and v.differs and v.n == 3
    assert v.difference == pytest.approx(0.17)
    assert (v.low, v.high) == (pytest.approx(0.17 - half), pytest.approx(0.17 + half))
    assert str(v).startswith("3 x 3 vs 5 x 5, AUC: better by 0.170 (95 % t-interval of the paired difference over 3 seeds: ")
    worse = evidence.verdict(five, three, ("5 x 5", "3 x 3"), "AUC")
    assert worse.word == "worse" and worse.higher == "3 x 3"


def test_pairing_sees_what_independent_spreads_hide():
    # each setting varies a lot from seed to seed (sd 0.05), but B is always 0.01 below A on
    # the same seed: the paired rule sees it, the sum of the sds (0.10) would not
    a = [0.80, 0.85, 0.90, 0.95]
    b = [0.79, 0.84, 0.89, 0.94]
    assert evidence.verdict(a, b).word == "better"
    # the same figures unpaired (B's seeds shuffled): no difference we can see
    assert evidence.verdict(a, [0.94, 0.79, 0.89, 0.84]).word == evidence.NO_DIFFERENCE


def test_rows_are_paired_by_their_seed_column_not_their_order():
    rows = [{"k": 3, "seed": s, "auc": v} for s, v in [(0, 0.90), (1, 0.95), (2, 0.80)]] + \
           [{"k": 5, "seed": s, "auc": v} for s, v in [(2, 0.79), (0, 0.89), (1, 0.94)]]
    three, five = evidence.mean_sd_by(rows, "k", "auc")
    assert evidence.verdict(three, five).word == "better"  # 0.01 higher on every seed
    other = evidence.mean_sd_by([{**r, "seed": r["seed"] + 10} for r in rows[3:]], "k", "auc")[0]
    with pytest.raises(ValueError, match="different seeds"):
        evidence.verdict(three, other)


def _pair_at(t_multiple):
    """Three paired differences whose mean is ``t_multiple`` times the interval's half-width."""
    from scipy import stats
    sd = 0.01
    half = stats.t.ppf(0.975, 2) * sd / np.sqrt(3)
    d = np.array([-sd, 0.0, sd]) + t_multiple * half
    return list(0.5 + d), [0.5, 0.5, 0.5]


def test_verdict_boundary_interval_touching_zero():
    below, above = _pair_at(0.999), _pair_at(1.001)
    at = evidence.verdict([0.7, 0.8], [0.7, 0.8])  # the interval is [0, 0]: it touches zero
    assert at.low == at.high == 0.0 and at.word == evidence.NO_DIFFERENCE
    assert evidence.verdict(*below).word == evidence.NO_DIFFERENCE
    assert evidence.verdict(*above).word == "better"
    a, b = _pair_at(-1.001)
    assert evidence.verdict(a, b).word == "worse"
    # for a loss, lower is better
    assert evidence.verdict(a, b, higher_is_better=False).word == "better"
    assert evidence.verdict(*above, higher_is_better=False).word == "worse"


def test_verdict_identical_and_constant_differences():
    same = evidence.verdict([0.9, 0.8, 0.7], [0.9, 0.8, 0.7])
    assert same.word == evidence.NO_DIFFERENCE and same.difference == 0.0
    assert "no difference we can see" in str(same)
    shifted = evidence.verdict([1.0, 1.0], [0.0, 0.0])
    assert shifted.word == "better" and shifted.low == shifted.high == 1.0


def test_verdict_wider_interval_at_lower_confidence_is_narrower():
    a, b = _pair_at(1.2)
    assert evidence.verdict(a, b, confidence=0.95).differs
    assert not evidence.verdict(a, b, confidence=0.99).differs
    with pytest.raises(ValueError, match="confidence"):
        evidence.verdict(a, b, confidence=1.5)


def test_verdict_needs_two_seeds_the_same_number_and_finite_figures():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        evidence.verdict([0.9], [0.8])
    with pytest.raises(ValueError, match="a has 1 figures and b 2"):
        evidence.verdict([0.9], [0.8, 0.7])
    with pytest.raises(ValueError, match="a has no values"):
        evidence.verdict([], [0.8, 0.7])
    with pytest.raises(ValueError, match="NaN"):
        evidence.verdict([0.9, float("nan")], [0.8, 0.7])
    assert np.isfinite(evidence.verdict(np.array([0.9, 0.8]), (0.1, 0.2)).high)


def test_one_seed_prints_no_plus_minus_and_small_sds_keep_their_digits():
    assert evidence.mean_sd_text([0.9104]) == "0.91 (1 seed)"
    assert evidence.mean_sd_text([0.91, 0.93, 0.95]) == "0.93 ± 0.02"
    assert evidence.mean_sd_text([0.9101, 0.9102]) == "0.91015 ± 0.00007"
    assert evidence.mean_sd_text([0.5, 0.5]) == "0.50 ± 0 (all 2 seeds equal)"
    text = evidence.mean_sd_table(evidence.mean_sd_by([{"k": 1, "auc": 0.5}], "k", "auc"), "k", "auc")
    assert "±" not in text and text.splitlines()[2].split() == ["1", "0.50"]


def test_table_rounds_and_aligns():
    text = evidence.table([{"lr": 1e-4, "auc": 0.8765, "n": 3, "ok": True}, {"lr": 0.01, "auc": 0.5, "n": 12, "ok": False}],
                 ["lr", "auc", "n", "ok"])
    lines = text.splitlines()
    assert lines[0].split() == ["lr", "auc", "n", "ok"]
    assert lines[2].split() == ["1e-04", "0.88", "3", "True"]
    assert lines[3].split() == ["0.01", "0.50", "12", "False"]
    assert len({len(line) for line in lines}) == 1
    assert evidence.table([{"x": 0.12345}], ["x", "missing"], digits=3).splitlines()[2].split() == ["0.123", "None"]


def test_hostile_inputs_get_one_clear_error():
    # a seed twice in one setting (grouped by too few columns) would pair the wrong runs
    rows = [{"k": k, "lr": lr, "seed": s, "val_auc": v} for k, lr, s, v in [
        (3, 1e-3, 0, .80), (3, 1e-3, 1, .81), (3, 1e-2, 0, .70), (3, 1e-2, 1, .71),
        (7, 1e-3, 0, .85), (7, 1e-3, 1, .86), (7, 1e-2, 0, .60), (7, 1e-2, 1, .61)]]
    three, seven = evidence.mean_sd_by(rows, "k")
    with pytest.raises(ValueError, match="a holds a seed more than once"):
        evidence.verdict(seven, three)
    paired = evidence.mean_sd_by(rows, ["k", "lr"])
    assert evidence.verdict(paired[2], paired[0]).difference == pytest.approx(0.05)
    with pytest.raises(ValueError, match="higher_is_better 'False': expected True or False"):
        evidence.verdict([.9, .95, .93], [.5, .5, .5], higher_is_better="False")
    with pytest.raises(ValueError, match=r"rows\[0\]\['val_auc'\]"):
        evidence.mean_sd_by([{"k": 1, "val_auc": float("nan")}, {"k": 1, "val_auc": .5}], "k")
    with pytest.raises(ValueError, match="row 1 has no column 'val_auc'"):
        evidence.mean_sd_by([{"k": 1, "val_auc": .4}, {"k": 1}], "k")
    with pytest.raises(ValueError, match="values holds nan"):
        evidence.mean_sd_text([float("nan"), .5])
    with pytest.raises(ValueError, match="digits"):
        evidence.mean_sd_text([.5, .6], digits=-1)
    # equal seeds up to float round-off are equal, not "± 0.000000"
    assert evidence.mean_sd_text([0.1, 0.1, 0.1]) == "0.10 ± 0 (all 3 seeds equal)"


def test_numpy_and_python_integer_seeds_pair():
    a = {"values": [0.9, 0.8, 0.85], "seeds": [np.int64(0), np.int64(1), np.int64(2)]}
    b = {"values": [0.7, 0.85, 0.8], "seeds": [2, 0, 1]}
    assert evidence.verdict(a, b).difference == pytest.approx(((0.9 - 0.85) + (0.8 - 0.8) + (0.85 - 0.7)) / 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(a="abc", b=[1.0, 2.0]), "verdict: a is the text 'abc'; pass one figure per seed (numbers)"),
    (dict(a=[1.0, 2.0], b=[1.0, "x"]), "verdict: b must be one figure per seed (numbers), got [1.0, 'x']"),
    (dict(a=3, b=[1.0, 2.0]), "verdict: a must be one figure per seed (numbers), got 3"),
    (dict(a=[1.0, 2.0], b=[1.0, 2.0], names="AB"), "names 'AB': expected two names in order, (A, B)"),
    (dict(a=[1.0, 2.0], b=[1.0, 2.0], names=("A",)), "names ('A',): expected two names in order, (A, B)"),
    (dict(a=[1.0, 2.0], b=[1.0, 2.0], names=None), "names None: expected two names in order, (A, B)"),
    (dict(a=[1.0, 2.0], b=[1.0, 2.0], names=7), "names 7: expected two names in order, (A, B)"),
    (dict(a=[1.0, 2.0], b=[1.0, 2.0], names={"new", "old"}), "expected two names in order, (A, B)"),
    (dict(a=["0.8", "0.9"], b=[1.0, 2.0]), "verdict: a must be one figure per seed (numbers), got ['0.8', '0.9']"),
    (dict(a=[[0.8, 0.82], [0.81, 0.83]], b=[1.0, 2.0, 3.0, 4.0]), "verdict: a has shape (2, 2); pass one figure per seed"),
])
def test_verdict_refuses_figures_that_are_not_numbers_and_names_that_are_not_two(kwargs, message):
    with pytest.raises(ValueError) as info:
        evidence.verdict(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_verdict_takes_names_from_any_iterable_of_two():
    text = evidence.verdict([0.95, 0.96, 0.94], [0.90, 0.92, 0.90], iter(["7 x 7", "3 x 3"]), "AUC").text
    assert text.startswith("7 x 7 vs 3 x 3, AUC: better")
