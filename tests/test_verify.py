import numpy as np

from medlab import verify


def test_same_prints_shapes_and_verdict(capsys):
    assert verify.same("a", np.zeros((2, 3)), "b", np.full((2, 3), 1e-6))
    assert capsys.readouterr().out == "a (2, 3) vs b (2, 3): max |difference| <= 1e-05: True\n"
    assert not verify.same("a", np.zeros((2, 3)), "b", np.ones((2, 3)))
    assert not verify.same("a", np.zeros((2, 3)), "b", np.zeros((3, 2)))
    assert "False" in capsys.readouterr().out


def test_max_abs_difference_and_claim(capsys):
    assert verify.max_abs_difference([1, 2], [1, 4]) == 2
    assert verify.max_abs_difference([1], [1, 2]) == float("inf")
    assert verify.claim("pooling halves 8", 4 == 8 // 2)
    assert capsys.readouterr().out == "pooling halves 8: True\n"


def test_verdict_is_truthy_and_displays_nothing():
    verdict = verify.claim("x", True)
    assert verdict and verdict == True  # noqa: E712
    assert repr(verify.claim("y", False)) == "False"
    assert verdict._ipython_display_() is None
