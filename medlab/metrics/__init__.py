"""What the lessons measure, by topic; every public name is also importable from here.

=====================  ==========================================================================
``classification``     ROC, AUC, confusion matrix, rates at a threshold, choosing the threshold,
                       prevalence, precision-recall, multiclass AUC, binary cross-entropy (07, 10)
``calibration``        Brier score, reliability bins, ECE, temperature scaling (07)
``intervals``          stratified bootstrap intervals of AUC, rates and paired differences (07, 08, 09)
``image_quality``      reconstruction error, PSNR, SSIM per image and per pixel (08, 11)
``segmentation``       Dice, IoU, and the head circumference measured from a mask (09)
``selective``          uncertainty scores, coverage curves (selective prediction), OOD AUROC (09)
=====================  ==========================================================================

``medlab.metrics.auc`` is ``medlab.metrics.classification.auc``, as in ``sklearn.metrics``.
Nothing here imports Keras or TensorFlow, and scikit-learn, SciPy and scikit-image are
imported by the functions that use them, so ``import medlab.metrics`` is quick.
"""

from __future__ import annotations

from medlab.metrics.calibration import (
    apply_temperature, brier_score, calibration_bins, ece_from_bins, expected_calibration_error,
    fit_temperature, logit,
)
from medlab.metrics.calibration import platt_apply, platt_fit
from medlab.metrics.classification import (
    THRESHOLD_RULES, BinaryMetrics, at_prevalence, auc, average_precision, binary_cross_entropy,
    binary_metrics, choose_threshold, confusion, multiclass_auc, precision_recall, roc,
)
from medlab.metrics.image_quality import psnr, psnr_per_image, reconstruction_error, ssim, ssim_maps, ssim_per_image
from medlab.metrics.intervals import (
    Interval, auc_difference_interval, auc_interval, bootstrap_ci, class_bootstrap_indices,
    clinical_intervals, paired_difference_interval, stratified_bootstrap_indices,
)
from medlab.metrics.segmentation import (
    bland_altman, dice, dice_per_image, ellipse_circumference, ellipse_fit, iou, iou_per_image,
    error_summary, mask_circumference_mm, mask_defects, mean_absolute_difference,
)
from medlab.metrics.segmentation import bland_altman_regression, contour_circumference_mm, moment_circumference_mm
from medlab.metrics.selective import (
    MahalanobisScore, binary_entropy, combine_scores, coverage_curve, energy_score, image_statistics, knn_distance,
    mahalanobis_score, ood_auroc, selective_intervals, uncertainty_scores,
)
from medlab.metrics.segmentation import (
    dice_per_class, hausdorff95_mm, percent_differences, surface_distances_mm, volume_mm3,
)

__all__ = [
    "BinaryMetrics", "Interval", "THRESHOLD_RULES", "apply_temperature", "at_prevalence", "auc",
    "auc_difference_interval", "auc_interval", "average_precision", "binary_cross_entropy",
    "binary_metrics", "bland_altman", "bootstrap_ci", "brier_score", "calibration_bins",
    "choose_threshold", "clinical_intervals", "confusion", "dice", "dice_per_image", "ece_from_bins",
    "ellipse_circumference", "ellipse_fit", "expected_calibration_error", "fit_temperature", "iou",
    "iou_per_image", "logit", "mask_circumference_mm", "mean_absolute_difference", "multiclass_auc",
    "precision_recall", "psnr", "psnr_per_image", "reconstruction_error", "roc", "ssim",
    "ssim_maps", "ssim_per_image", "stratified_bootstrap_indices",
]
__all__ += ["platt_apply", "platt_fit"]
__all__ += ["paired_difference_interval"]
__all__ += ["class_bootstrap_indices"]
__all__ += ["bland_altman_regression", "contour_circumference_mm", "moment_circumference_mm"]
__all__ += ["binary_entropy", "combine_scores", "coverage_curve", "energy_score", "image_statistics", "knn_distance", "MahalanobisScore", "mahalanobis_score", "ood_auroc", "selective_intervals", "uncertainty_scores"]
__all__ += ["dice_per_class", "hausdorff95_mm", "percent_differences", "surface_distances_mm", "volume_mm3"]
__all__ += ["error_summary", "mask_defects"]
