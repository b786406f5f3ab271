"""Automatic checks for the course exercises, one per exercise: ``check_<exercise>(function)``.

A lesson's exercise cell defines a function; the cell after it calls its check::

    from medlab.checks import check_cross_correlate

    check_cross_correlate(cross_correlate)

The check runs the function on fixed test cases (seeded, so the same on every machine),
compares each result with the reference in ``medlab`` (``ops.conv2d``, ``ops.output_size``,
``ops.max_pool2d``, ``ops.avg_pool2d``, ``ops.dense``, ``forward.numpy_forward``, Keras's
``count_params``, ``metrics``) and prints one short verdict:

- all cases pass: one line;
- a wrong result: the first failing case (input shapes; small arrays in full; expected and
  got) and, when the wrong result equals a known wrong variant (a flipped kernel, an
  off-by-one output size, a forgotten bias, ...), the hint for that mistake;
- the function raises (``sys.exit()`` too; Ctrl-C still stops the check): the case, the
  exception's type and message;
- unfinished (``NotImplementedError``) or returning ``None``: says so;
- not returning within :data:`~medlab.checks.framework.TIME_LIMIT` seconds on a case (a loop
  that never ends): the case, and that it did not return (``MEDLAB_CHECK_TIME_LIMIT``
  overrides the limit).

A check never raises because the student's function is wrong, and returns a
:class:`medlab.verify.Outcome` (``True`` or ``False``, shown as nothing when it is a cell's
last value, because the verdict is already printed).

One module per lesson topic, each defining its hints beside the mistakes they explain:

=========================================  ===============================================
:mod:`~medlab.checks.convolution` (02)     ``check_cross_correlate``, ``check_conv_output_size``, ``check_zero_pad``
:mod:`~medlab.checks.pooling` (03)         ``check_max_pool``, ``check_avg_pool``
:mod:`~medlab.checks.dense` (04)           ``check_dense_forward``, ``check_dense_param_count``
:mod:`~medlab.checks.cnn` (05)             ``check_seed_forward``, ``check_seed_param_count``
:mod:`~medlab.checks.backprop` (06)        ``check_dense_backward``, ``check_conv_backward``, ``check_adam_update``
:mod:`~medlab.checks.training` (07)        ``check_steps_per_epoch``, ``check_early_stopping``
:mod:`~medlab.checks.evaluation` (08)      ``check_sensitivity_specificity``, ``check_accuracy_at_prevalence``
:mod:`~medlab.checks.trust` (09)           ``check_predictive_entropy``, ``check_accuracy_at_coverage``
:mod:`~medlab.checks.image_quality` (10)   ``check_compression_ratio``, ``check_psnr``
:mod:`~medlab.checks.image_quality` (11)   ``check_anomaly_scores``, ``check_auc_by_ranking``
:mod:`~medlab.checks.segmentation` (12)    ``check_dice_scores``, ``check_head_circumference``
:mod:`~medlab.checks.volumes` (13)         ``check_conv3d_output_shape``, ``check_volume_in_mm3``, ``check_hd95_by_hand``
:mod:`~medlab.checks.framework`            :class:`Case`, :class:`Hint`, :func:`run_check`, :func:`recording`, :func:`points`
=========================================  ===============================================

Adding a check for a new exercise: in the module of its lesson's topic (a new module for a
new topic, imported below), define its hints (``NAME = Hint("name", "text")``), the cases
(a generator of :class:`Case`), the reference and the wrong variants as
``(HINT, function)`` pairs, and call :func:`run_check` from a function named
``check_<exercise>``.
"""

from __future__ import annotations

from medlab.checks.backprop import check_adam_update, check_conv_backward, check_dense_backward
from medlab.checks.cnn import check_seed_forward, check_seed_param_count
from medlab.checks.convolution import check_conv_output_size, check_cross_correlate, check_zero_pad
from medlab.checks.dense import check_dense_forward, check_dense_param_count
from medlab.checks.evaluation import check_accuracy_at_prevalence, check_sensitivity_specificity
from medlab.checks.framework import HINTS, Case, Hint, arrays_equal, points, recording, run_check
from medlab.checks.image_quality import (
    check_anomaly_scores, check_auc_by_ranking, check_compression_ratio, check_psnr,
)
from medlab.checks.pooling import check_avg_pool, check_max_pool
from medlab.checks.segmentation import check_dice_scores, check_head_circumference
from medlab.checks.training import check_early_stopping, check_steps_per_epoch
from medlab.checks.trust import check_accuracy_at_coverage, check_predictive_entropy
from medlab.checks.volumes import check_conv3d_output_shape, check_hd95_by_hand, check_volume_in_mm3

from medlab.checks import (  # noqa: E402
    backprop, cnn, convolution, dense, evaluation, image_quality, pooling, segmentation, training, trust,
)
from medlab.checks import volumes  # noqa: E402

#: The topic modules, in lesson order.
TOPICS = (convolution, pooling, dense, cnn, backprop, training, evaluation, trust, image_quality,
          segmentation, volumes)
#: Every check, by exercise name, in lesson order.
CHECKS = {name[len("check_"):]: getattr(module, name) for module in TOPICS
          for name in vars(module) if name.startswith("check_")}

__all__ = ["CHECKS", "HINTS", "TOPICS", "Case", "Hint", "arrays_equal", "points", "recording", "run_check"] + [
    f"check_{name}" for name in CHECKS]
