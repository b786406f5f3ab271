"""medlab.checks.training (lesson 07) and the new checks of lessons 10 and 11: right answers
pass, each mistake gets its hint; the early-stopping reference agrees with Keras."""

import math

import numpy as np
import pytest

from medlab import checks
from medlab.checks import image_quality as checks_image_quality
from medlab.checks import training as checks_training


def steps_per_epoch(n_images, batch_size):
    return math.ceil(n_images / batch_size)


def early_stopping(val_aucs, patience):
    best, best_epoch, wait = None, 0, 0
    for epoch, auc in enumerate(val_aucs, 1):
        if best is None or auc > best:
            best, best_epoch, wait = auc, epoch, 0
        else:
            wait += 1
            if wait == patience:
                return epoch, best_epoch
    return len(val_aucs), best_epoch


def compression_ratio(image_shape, latent_dim):
    return np.prod(image_shape) / latent_dim


def auc_by_ranking(scores_normal, scores_abnormal):
    a, n = np.asarray(scores_abnormal)[:, None], np.asarray(scores_normal)[None, :]
    return np.mean((a > n) + 0.5 * (a == n))


RIGHT = {"steps_per_epoch": steps_per_epoch, "early_stopping": early_stopping,
         "compression_ratio": compression_ratio, "auc_by_ranking": auc_by_ranking}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_right_answer_passes_with_one_line(run_check, exercise):
    ok, out = run_check(exercise, RIGHT[exercise])
    assert ok and out.startswith(f"{exercise}: all ") and out.count("\n") == 1, out


def _stopping_loop(val_aucs, patience, better=lambda new, best: new > best, offset=0, restore=True,
                   stop=True, base=1):
    best, best_epoch, wait, run = None, 0, 0, len(val_aucs)
    for epoch, auc in enumerate(val_aucs, 1):
        if best is None or better(auc, best):
            best, best_epoch, wait = auc, epoch, 0
        else:
            wait += 1
            if stop and wait == patience + offset:
                run = epoch
                break
    return run - 1 + base, (best_epoch if restore else run) - 1 + base


def _pairs(scores_normal, scores_abnormal):
    return np.asarray(scores_abnormal)[:, None], np.asarray(scores_normal)[None, :]


MISTAKES = [
    ("steps_per_epoch", lambda n, b: n // b, "steps_floor"),
    ("steps_per_epoch", lambda n, b: n // b + 1, "steps_off_by_one"),
    ("steps_per_epoch", lambda n, b: n / b, "steps_not_whole"),
    ("steps_per_epoch", lambda n, b: round(n / b), "steps_not_whole"),
    ("steps_per_epoch", lambda n, b: math.ceil(b / n), "steps_swapped"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, base=0), "epochs_zero_based"),
    ("early_stopping", lambda v, p: (early_stopping(v, p)[0], early_stopping(v, p)[1] - 1),
     "epochs_zero_based"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, better=lambda new, best: new >= best),
     "ties_first"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, better=lambda new, best: new < best),
     "auc_higher_is_better"),
    ("early_stopping", lambda v, p: (early_stopping(v, p)[0], int(np.argmax(v)) + 1),
     "kept_after_stop"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, restore=False), "not_restored"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, stop=False), "never_stopped"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, offset=1), "patience_count"),
    ("early_stopping", lambda v, p: _stopping_loop(v, p, offset=-1), "patience_count"),
    ("compression_ratio", lambda s, d: d / np.prod(s), "ratio_inverted"),
    ("compression_ratio", lambda s, d: sum(s) / d, "shape_summed"),
    ("compression_ratio", lambda s, d: s[0] * s[1] / d, "channels_ignored"),
    ("compression_ratio", lambda s, d: np.prod(s) // d, "ratio_floor"),
    ("auc_by_ranking", lambda n, a: auc_by_ranking(a, n), "auc_reversed"),
    ("auc_by_ranking", lambda n, a: np.mean(_pairs(n, a)[0] > _pairs(n, a)[1]), "ties_half"),
    ("auc_by_ranking", lambda n, a: np.mean(_pairs(n, a)[0] >= _pairs(n, a)[1]), "ties_half"),
    ("auc_by_ranking", lambda n, a: np.mean([(x > y) + 0.5 * (x == y) for x, y in zip(a, n)]),
     "every_pair"),
    ("auc_by_ranking", lambda n, a: auc_by_ranking(n, a) * len(n) * len(a) / (len(n) + len(a)),
     "pairs_count"),
]


@pytest.mark.parametrize("exercise, function, key", MISTAKES,
                         ids=[f"{e}-{k}-{i}" for i, (e, _, k) in enumerate(MISTAKES)])
def test_mistake_fails_with_its_hint(run_check, exercise, function, key):
    ok, out = run_check(exercise, function)
    assert not ok
    assert out.startswith(f"{exercise}: case ")
    assert f"hint: {checks.HINTS[key]}" in out, out


NEW_IMAGE_QUALITY_HINTS = {"ratio_inverted", "shape_summed", "channels_ignored", "ratio_floor",
                           "auc_reversed", "ties_half", "every_pair", "pairs_count"}


def test_every_new_hint_is_tested():
    def hints(module):
        return {value.key for value in vars(module).values() if isinstance(value, checks.Hint)}

    assert NEW_IMAGE_QUALITY_HINTS <= hints(checks_image_quality)
    assert hints(checks_training) | NEW_IMAGE_QUALITY_HINTS <= {key for _, _, key in MISTAKES}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_unfinished_function_is_reported(run_check, exercise):
    def unfinished(*args):
        raise NotImplementedError("your code here")

    ok, out = run_check(exercise, unfinished)
    assert not ok and "not done yet" in out


def test_early_stopping_reference_is_what_keras_does():
    """The check's reference, against keras.callbacks.EarlyStopping driven epoch by epoch."""
    from medlab import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    for case in checks_training._stopping_cases():
        val_aucs, patience = case.args
        stopper = keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience,
                                                restore_best_weights=True)
        stopper.set_model(model)
        model.stop_training = False
        stopper.on_train_begin()
        run = len(val_aucs)
        for epoch, value in enumerate(val_aucs):
            stopper.on_epoch_end(epoch, {"val_auc": value})
            if model.stop_training:
                run = epoch + 1
                break
        expected = [run, stopper.best_epoch + 1]
        assert list(checks_training._early_stopping(val_aucs, patience)) == expected


def test_auc_reference_is_the_pair_count():
    for case in checks_image_quality._auc_cases():
        reference = checks_image_quality._auc_by_ranking(*case.args)
        assert math.isclose(reference, auc_by_ranking(*case.args))
