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
        ("learning_rate", "abc", r"parameter 'learning_rate' = 'abc' \(str\): expected a finite number"),
        ("learning_rate", 0.0, "a number > 0.0 and <= 1.0"),
        ("kernel_size", 4, "an odd integer"),
        ("kernel_size", 17, r"an integer in \[1, 15\]"),
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
