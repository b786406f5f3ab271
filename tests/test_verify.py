import numpy as np

from medlab import verify


def test_same_prints_shapes_and_verdict(capsys):
    assert verify.same("a", np.zeros((2, 3)), "b", np.full((2, 3), 1e-6))
    assert capsys.readouterr().out == "a (2, 3) vs b (2, 3): max |difference| <= 1e-05: True\n"
    assert not verify.same("a", np.zeros((2, 3)), "b", np.ones((2, 3)))
    assert not verify.same("a", np.zeros((2, 3)), "b", np.zeros((3, 2)))
    assert "False" in capsys.readouterr().out


def test_max_abs_difference_and_claim(capsys):
    assert verify._max_abs_difference([1, 2], [1, 4]) == 2
    assert verify._max_abs_difference([1], [1, 2]) == float("inf")
    assert verify.claim("pooling halves 8", 4 == 8 // 2)
    assert capsys.readouterr().out == "pooling halves 8: True\n"


def test_verdict_is_truthy_and_displays_nothing():
    verdict = verify.claim("x", True)
    assert verdict and verdict == True  # noqa: E712
    assert repr(verify.claim("y", False)) == "False"
    assert verdict._ipython_display_() is None


def _sanitize(text):
    """Apply tests/nbval_sanitize.cfg as nbval does (its own parser, re.sub in file order)."""
    import re
    from pathlib import Path

    from nbval.plugin import get_sanitize_patterns

    config = (Path(__file__).parent / "nbval_sanitize.cfg").read_text(encoding="utf-8")
    for regex, replace in get_sanitize_patterns(config):
        text = re.sub(regex, replace, text)
    return text


def test_measured_marks_every_line(capsys):
    verify.measured("a 0.5\nb 2")
    assert capsys.readouterr().out == f"a 0.5  {verify.MEASURED}\nb 2  {verify.MEASURED}\n"


def test_nbval_compares_the_words_of_measured_lines_but_not_their_figures(capsys):
    verify.measured("validation AUC 0.88 after 15 epochs (best 0.91), lr 1e-04, gap -0.05")
    verify.measured(" k  auc\n 3  0.69\n11  1.00")
    print("test AUC 0.90 unmarked")
    verify.claim("AUC above 0.75", True)
    here = capsys.readouterr().out
    verify.measured("validation AUC 0.8 after 9 epochs (best 0.93), lr 0.001, gap 0.15")
    verify.measured(" k  auc\n 3  0.7\n 5  0.99")
    print("test AUC 0.90 unmarked")
    verify.claim("AUC above 0.75", True)
    elsewhere = capsys.readouterr().out
    assert here != elsewhere and _sanitize(here) == _sanitize(elsewhere)
    assert "validation AUC # after # epochs (best #), lr #, gap #" in _sanitize(here)
    # words are still compared, and so is everything not marked
    assert _sanitize(here.replace("validation", "test")) != _sanitize(here)
    assert _sanitize(here.replace("unmarked", "x")) != _sanitize(here)
    assert _sanitize("test AUC 0.90\n") == "test AUC 0.90\n"
    assert _sanitize(here.replace("above 0.75", "above 0.70")) != _sanitize(here)
