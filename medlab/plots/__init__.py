"""Figures the lessons draw, kept out of the notebooks so they stay thin.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``. By topic:

- :mod:`medlab.plots.images`: images, CT planes, heat maps and masks over images;
- :mod:`medlab.plots.curves`: curves over training, means of several seeds, label fractions;
- :mod:`medlab.plots.evaluation`: ROC, precision-recall, confusion matrix, prevalence,
  calibration, score distributions, Bland-Altman.

Every figure is also ``medlab.plots.<name>``, as the notebooks call them.
"""

from __future__ import annotations

from medlab.plots.autoencoder import error_gallery, error_map_comparison, interval_plot, score_auc_plot
from medlab.plots.curves import label_fraction_curve, loss_curves, mean_curves, mean_sd_plot
from medlab.plots.evaluation import (
    bland_altman_plot,
    confusion_plot,
    distributions,
    latent_scatter,
    pr_plot,
    prevalence_plot,
    reliability_diagram,
    roc_plot,
    score_histogram,
)
from medlab.plots.images import heatmap_overlay, image_grid, image_rows, mask_overlay, three_planes

__all__ = [
    "bland_altman_plot", "confusion_plot", "distributions", "heatmap_overlay", "image_grid",
    "image_rows", "label_fraction_curve", "latent_scatter", "loss_curves", "mask_overlay",
    "mean_curves", "mean_sd_plot", "pr_plot", "prevalence_plot", "reliability_diagram",
    "roc_plot", "score_histogram", "three_planes",
]
__all__ += ["error_gallery", "error_map_comparison", "interval_plot", "score_auc_plot"]
