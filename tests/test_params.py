"""medlab.params: bad notebook parameters stop the run with a message that names them."""

import pytest

from medlab import params
from medlab.params import ParameterError


def test_good_values_pass_and_are_returned():
    checked = params.check(kernel_size=5, learning_rate=1e-3, epochs=0, dataset="synthetic", seed=3)
    assert checked == {"kernel_size": 5, "learning_rate": 1e-3, "epochs": 0, "dataset": "synthetic", "seed": 3}


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("learning_rate", "abc", r"parameter 'learning_rate' = 'abc' \(str\): expected a number in \(0.0, 1.0\]$"),
        ("learning_rate", 0.0, r"expected a number in \(0.0, 1.0\]$"),
        ("learning_rate", float("nan"), r"expected a number in \(0.0, 1.0\]$"),
        ("kernel_size", 4, r"expected an odd integer in \[1, 15\]$"),
        ("kernel_size", 17, r"an odd integer in \[1, 15\]"),
        ("epochs", -1, r"parameter 'epochs' = -1 \(int\)"),
        ("epochs", 2.5, "expected an integer"),
        ("dataset", "imagenet", "one of 'synthetic', 'pneumoniamnist' or the path"),
        ("show_versions", "yes", "True or False"),
        ("seed", True, "an integer"),
    ],
)
def test_bad_values_name_parameter_value_and_what_is_allowed(name, value, expected):
    with pytest.raises(ParameterError, match=expected):
        params.check(**{name: value})


def test_dataset_may_be_an_existing_path(tmp_path):
    assert params.check(dataset=str(tmp_path))["dataset"] == str(tmp_path)
    with pytest.raises(ParameterError, match="dataset"):
        params.check(dataset=str(tmp_path / "missing.npz"))


def test_notebook_specific_rules_and_unknown_names():
    params.check(rules={"noise": params.Choice(("gaussian", "poisson"))}, noise="poisson")
    with pytest.raises(ParameterError, match="one of 'gaussian', 'poisson'"):
        params.check(rules={"noise": params.Choice(("gaussian", "poisson"))}, noise="speckle")
    with pytest.raises(KeyError, match="no rule for parameter 'colour'"):
        params.check(colour="red")


@pytest.mark.parametrize(
    "closed, accepted, refused, text",
    [
        ("both", [0.0, 0.5, 1.0], [-0.1, 1.1], "a number in [0.0, 1.0]"),
        ("left", [0.0, 0.99], [1.0], "a number in [0.0, 1.0)"),  # lesson 06's momentum
        ("right", [1e-9, 1.0], [0.0], "a number in (0.0, 1.0]"),  # learning rates, noise levels
        ("neither", [0.5], [0.0, 1.0], "a number in (0.0, 1.0)"),
    ],
)
def test_float_ranges_close_their_ends_as_validate_intervals_do(closed, accepted, refused, text):
    from medlab import validate

    rule = params.Float(0.0, 1.0, closed=closed)
    interval = validate.Interval(validate.Real, 0.0, 1.0, closed=closed)
    for value in accepted:
        assert rule(value) is None and interval.is_satisfied_by(value)
    for value in refused + [True, "0.5", float("inf")]:
        assert rule(value) == text == str(interval) and not interval.is_satisfied_by(value)


def test_int_ranges_include_both_ends_like_validate_integer():
    from medlab import validate

    assert params.Int(1, 64)(1) is None and params.Int(1, 64)(64) is None
    assert params.Int(1, 64)(65) == "an integer in [1, 64]" == str(validate.Interval(validate.Integer, 1, 64))
    with pytest.raises(validate.ArgumentError, match=r"^n 65: expected an integer in \[1, 64\]$"):
        validate.integer("n", 65, 1, 64)


@pytest.mark.parametrize("value, shown", [([0, 2], "2"), ([0, 1, 0.5], "0.5"), ([0, 1e300], "1e+300"),
                                          ([1, -3.0], "-3"), ([0, float("inf")], "inf")])
def test_binary_names_the_first_value_that_is_not_0_or_1_in_a_few_characters(value, shown):
    from medlab import validate

    with pytest.raises(validate.ArgumentError) as info:
        validate.binary("y_true", value)
    assert str(info.value) == f"y_true holds {shown}: expected only 0 and 1 (negative, positive)"
