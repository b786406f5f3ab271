"""Figures the lessons draw, kept out of the notebooks so they stay thin.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``. By topic:

- :mod:`medlab.plots.images`: images, CT planes, heat maps and masks over images;
- :mod:`medlab.plots.curves`: curves over training, means of several seeds, label fractions;
- :mod:`medlab.plots.evaluation`: ROC, precision-recall, confusion matrix, prevalence,
  calibration, score distributions, Bland-Altman.
- :mod:`medlab.plots.networks`: flatten order, dense kernels, activations, a network's diagram,
  feature maps, a loss along one weight, optimiser paths on a loss surface.
- :mod:`medlab.plots.segmentation`: probability maps, masks at several thresholds,
  Bland-Altman limits that depend on the mean.
- :mod:`medlab.plots.trust`: coverage curves, out-of-distribution AUROC, saliency under
  randomisation.
- :mod:`medlab.plots.volumes`: a volume's three planes with its classes, methods paired by
  seed, volume agreement in percent.

Every figure is also ``medlab.plots.<name>``, as the notebooks call them.
"""

from __future__ import annotations

from medlab.plots.autoencoder import error_gallery, error_map_comparison, interval_plot, score_auc_plot
from medlab.plots.curves import label_fraction_curve, loss_curves, mean_curves, mean_sd_plot
from medlab.plots.curves import paired_differences_plot, seed_curves
from medlab.plots.curves import paired_seeds_plot
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
from medlab.plots.evaluation import roc_band_plot
from medlab.plots.faq import capacity_plot, flops_plot
from medlab.plots.images import heatmap_overlay, image_grid, image_rows, mask_overlay, three_planes
from medlab.plots.images import image_panels, kernel_weights, shift_tolerance_plot, sliding_windows
from medlab.plots.networks import (
    activation_curves,
    dense_kernel_plot,
    feature_maps_plot,
    flatten_order_plot,
    loss_along_weight,
    loss_surface_paths,
    network_diagram,
    parameter_bars,
)
from medlab.plots.segmentation import bland_altman_limits, masks_at_thresholds, probability_maps
from medlab.plots.trust import coverage_plot, ood_auroc_plot, randomisation_plot
from medlab.plots.volumes import method_seeds, volume_agreement, volume_planes

__all__ = [
    "capacity_plot", "flops_plot",
    "bland_altman_plot", "confusion_plot", "distributions", "heatmap_overlay", "image_grid",
    "image_rows", "label_fraction_curve", "latent_scatter", "loss_curves", "mask_overlay",
    "mean_curves", "mean_sd_plot", "paired_seeds_plot", "pr_plot", "prevalence_plot", "reliability_diagram",
    "roc_plot", "score_histogram", "three_planes",
    "image_panels", "kernel_weights", "shift_tolerance_plot", "sliding_windows",
]
__all__ += [
    "activation_curves", "dense_kernel_plot", "feature_maps_plot", "flatten_order_plot",
    "loss_along_weight", "loss_surface_paths", "network_diagram", "parameter_bars",
]
__all__ += ["roc_band_plot"]
__all__ += ["bland_altman_limits", "masks_at_thresholds", "probability_maps"]
__all__ += ["paired_differences_plot", "seed_curves"]
__all__ += ["error_gallery", "error_map_comparison", "interval_plot", "score_auc_plot"]
__all__ += ["coverage_plot", "ood_auroc_plot", "randomisation_plot"]
__all__ += ["method_seeds", "volume_agreement", "volume_planes"]
