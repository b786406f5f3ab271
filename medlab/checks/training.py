"""Lesson 07, training a classifier: ``steps_per_epoch``, ``early_stopping``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import numpy as np

from medlab.checks.framework import Case, Hint, case_rng, run_check

STEPS_FLOOR = Hint("steps_floor", (
    "the last, partial batch is a step too: 400 images in batches of 32 are 12 full batches "
    "and one of 16, 13 steps. Round up, not down: math.ceil(n_images / batch_size)."))
STEPS_OFF_BY_ONE = Hint("steps_off_by_one", (
    "when batch_size divides n_images there is no partial batch: 3200 images in batches of "
    "32 are exactly 100 steps, not 101. Round up: math.ceil(n_images / batch_size)."))
STEPS_NOT_WHOLE = Hint("steps_not_whole", (
    "a number of batches is a whole number, and a partial batch still counts: round "
    "n_images / batch_size UP (math.ceil), not to the nearest and not at all."))
STEPS_SWAPPED = Hint("steps_swapped", (
    "the arguments are swapped: the number of batches is n_images / batch_size, rounded up."))

EPOCHS_ZERO_BASED = Hint("epochs_zero_based", (
    "count epochs from 1, as Keras prints them (\"Epoch 1/6\"): the value at index i of "
    "val_aucs is epoch i + 1."))
TIES_FIRST = Hint("ties_first", (
    "an epoch improves only if its AUC is strictly higher than the best so far (>, not >=): "
    "an equal AUC neither resets the patience nor replaces the kept epoch, so of tied "
    "epochs the first is kept."))
AUC_HIGHER_IS_BETTER = Hint("auc_higher_is_better", (
    "the monitored figure is the validation AUC, better when HIGHER (mode=\"max\"): the best "
    "epoch has the highest AUC so far, not the lowest (the rule for a loss)."))
KEPT_AFTER_STOP = Hint("kept_after_stop", (
    "the epochs after the stop never ran: look for the best epoch only among the epochs "
    "run, not in the whole list."))
NOT_RESTORED = Hint("not_restored", (
    "restore_best_weights=True: the weights kept are those of the best epoch, not of the "
    "last epoch run."))
NEVER_STOPPED = Hint("never_stopped", (
    "training stops at the end of the epoch `patience` epochs after the last improvement; "
    "your function ran every epoch of the list."))
PATIENCE_COUNT = Hint("patience_count", (
    "with the best epoch b, training stops at the end of epoch b + patience (the patience-th "
    "epoch in a row without improvement), unless the list ends first; not one epoch sooner "
    "or later."))


# ------------------------------------------------------------------ steps_per_epoch
def _steps(n_images, batch_size):
    return -(-n_images // batch_size)


def _steps_cases():
    names = ("n_images", "batch_size")
    yield Case((400, 32), names, "the lesson's training subset, the article's batch size")
    yield Case((3200, 32), names, "100 full batches")
    yield Case((100, 16), names)
    yield Case((4708, 32), names, "all PneumoniaMNIST training images")
    yield Case((5, 8), names, "fewer images than one batch")
    yield Case((64, 64), names)
    yield Case((1000, 1), names)


def check_steps_per_epoch(steps_per_epoch):
    """Check ``steps_per_epoch(n_images, batch_size)``: the batches of one pass over the data.

    ``ceil(n_images / batch_size)``, an int: the last batch holds the remainder (Keras's
    ``len(dataset)`` of a batched ``tf.data`` dataset, ``drop_remainder=False``).
    """
    mistakes = [
        (STEPS_OFF_BY_ONE, lambda n, b: n // b + 1),
        (STEPS_FLOOR, lambda n, b: n // b),
        (STEPS_NOT_WHOLE, lambda n, b: n / b),
        (STEPS_NOT_WHOLE, lambda n, b: round(n / b)),
        (STEPS_SWAPPED, lambda n, b: -(-b // n)),
        (STEPS_SWAPPED, lambda n, b: b // n),
    ]
    return run_check("steps_per_epoch", steps_per_epoch, _steps_cases(), _steps, mistakes,
                     kind="number")


# ------------------------------------------------------------------ early_stopping
def _stopping(val_aucs, patience, improves=lambda new, best: new > best, extra_wait=0,
              restore=True, every_epoch=False, base=1):
    """(epochs run, epoch kept) of keras.callbacks.EarlyStopping(mode="max", patience,
    restore_best_weights=True), and its wrong variants."""
    best, kept, wait, run = None, 0, 0, len(val_aucs)
    for epoch, value in enumerate(val_aucs):
        wait += 1
        if best is None or improves(value, best):
            best, kept, wait = value, epoch, 0
            continue
        if not every_epoch and wait >= patience + extra_wait and epoch > 0:
            run = epoch + 1
            break
    kept = kept if restore else run - 1
    return np.array([run - 1 + base, kept + base])


def _early_stopping(val_aucs, patience):
    return _stopping(list(val_aucs), patience)


def _beyond_stop(val_aucs, patience):
    run = _stopping(val_aucs, patience)[0]
    return np.array([run, int(np.argmax(val_aucs)) + 1])


def _stopping_cases():
    rng = case_rng("early_stopping")
    names = ("val_aucs", "patience")
    yield Case(([0.80, 0.85, 0.88, 0.87, 0.88, 0.86, 0.85, 0.84, 0.90], 3), names,
               "a tie at epochs 3 and 5, a higher AUC after the stop")
    yield Case(([0.60, 0.70, 0.75, 0.80, 0.82, 0.83], 5), names, "rising to the end")
    yield Case(([0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30], 2), names, "falling from the start")
    yield Case(([0.70, 0.70, 0.70, 0.70, 0.70], 2), names, "flat")
    yield Case(([0.50, 0.60, 0.55, 0.70], 1), names)
    for epochs, patience in ((16, 5), (30, 4), (20, 3)):
        aucs = np.round(np.clip(0.7 + 0.2 * (1 - np.exp(-np.arange(epochs) / 4))
                                + 0.02 * rng.standard_normal(epochs), 0.5, 0.99), 2)
        yield Case((aucs.tolist(), patience), names, f"{epochs} epochs", show=False)


def check_early_stopping(early_stopping):
    """Check ``early_stopping(val_aucs, patience)``: (epochs run, epoch kept), 1-based.

    What ``keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience,
    restore_best_weights=True)`` does to a run whose validation AUC after each epoch would
    be ``val_aucs`` (a list of floats): an epoch improves when its AUC is strictly above the
    best so far; training stops at the end of the ``patience``-th epoch in a row without
    improvement (or at the end of the list) and keeps the weights of the best epoch run.
    """
    mistakes = [
        (EPOCHS_ZERO_BASED, lambda v, p: _stopping(v, p, base=0)),
        (EPOCHS_ZERO_BASED, lambda v, p: _stopping(v, p) - np.array([0, 1])),
        (TIES_FIRST, lambda v, p: _stopping(v, p, improves=lambda new, best: new >= best)),
        (AUC_HIGHER_IS_BETTER, lambda v, p: _stopping(v, p, improves=lambda new, best: new < best)),
        (KEPT_AFTER_STOP, _beyond_stop),
        (NOT_RESTORED, lambda v, p: _stopping(v, p, restore=False)),
        (NEVER_STOPPED, lambda v, p: _stopping(v, p, every_epoch=True)),
        (PATIENCE_COUNT, lambda v, p: _stopping(v, p, extra_wait=1)),
        (PATIENCE_COUNT, lambda v, p: _stopping(v, p, extra_wait=-1)),
    ]
    return run_check("early_stopping", early_stopping, _stopping_cases(), _early_stopping,
                     mistakes)
