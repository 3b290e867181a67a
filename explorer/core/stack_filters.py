"""The first layer's filters of a stacked (denoising) autoencoder: its weight rows as 28x28
images, the "filters" of Vincent, Larochelle, Bengio & Manzagol 2008, Fig. 3 ("Extracting and
Composing Robust Features with Denoising Autoencoders"), tiled into one picture
(:func:`filter_grid`) and measured by their sharpness, the mean excess kurtosis
(:func:`filter_sharpness`). The stack and its training: :mod:`explorer.core.pretraining`.
"""

from __future__ import annotations

import torch

from explorer.core.config import IMAGE_SHAPE
from explorer.core.pretraining import StackedClassifier

__all__ = ["first_layer_filters", "filter_grid", "filter_sharpness"]


def first_layer_filters(net: StackedClassifier, count: int | None = None) -> torch.Tensor:
    """The first layer's weight rows as images: (count or h_1, 1, 28, 28), raw weights
    (unnormalised); filter j is what hidden unit j responds to most (Vincent et al. 2008, Fig. 3)."""
    weight = net.layers[0].weight.detach()
    return weight[:count].reshape(-1, *IMAGE_SHAPE).clone()


def filter_grid(filters: torch.Tensor, nrow: int = 10) -> torch.Tensor:
    """The filters tiled into one image (:func:`explorer.core.images.tile`, torchvision's
    ``make_grid``), each filter scaled on its own to [0, 1] (its lowest weight black, its
    highest white), 2 white pixels between tiles.

    Args:
        filters: (F, 1, 28, 28) weights.

    Returns:
        (3, H, W), pixels in [0, 1].
    """
    from explorer.core.images import tile

    flat = filters.float().flatten(1)
    low, high = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    return tile(((flat - low) / (high - low).clamp_min(1e-12)).reshape(filters.shape), nrow)


def filter_sharpness(filters: torch.Tensor) -> float:
    """How localised and edge-like the filters are: the mean over filters of the excess
    kurtosis of each filter's 784 weights,

        kurt(w) = mean_i (w_i - mean(w))^4 / var(w)^2 - 3   (dimensionless; 0 for Gaussian weights).

    A filter of independent random weights (the initialisation, or a noise-like filter) has
    kurtosis near 0 (uniform initialisation: -1.2); a filter that is near zero everywhere
    except a few strong positive and negative weights along a stroke - the localised edge and
    stroke detectors that denoising training produces (Vincent et al. 2008, Fig. 3; 2010,
    Fig. 6) - has a large positive kurtosis. Kurtosis is the standard measure of such
    sparse, peaked weight distributions for learned receptive fields (Olshausen & Field 1996,
    Nature 381, "Emergence of simple-cell receptive field properties"; Hyvarinen & Oja 2000,
    "Independent component analysis", Sec. 4.2, kurtosis as non-Gaussianity). It is
    invariant to a filter's scale and sign, so filters of differently trained layers compare.

    Args:
        filters: (F, ...) weights, one filter per row after flattening.

    Returns:
        The mean excess kurtosis (a float).
    """
    w = filters.flatten(1).double()
    centred = w - w.mean(dim=1, keepdim=True)
    var = centred.pow(2).mean(dim=1)
    kurtosis = centred.pow(4).mean(dim=1) / var.clamp_min(1e-30).pow(2) - 3.0
    return float(kurtosis.mean())
