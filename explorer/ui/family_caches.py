"""Streamlit caches of the family pages, with explicit keys (as :mod:`explorer.ui.caches`):
``key`` arguments are :attr:`explorer.ui.registry.ModelEntry.key`, which change whenever
a model's weights can have changed; ``_model`` arguments are not hashed."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer.core.family import error_curve
from explorer.core.metrics import LatentUsage, latent_usage
from explorer.ui.caches import test_split

#: Test images the denoising curve averages over (the first of a seeded permutation).
CURVE_IMAGES = 1000


@st.cache_data(show_spinner="Scoring 1,000 test digits at each noise level...", max_entries=16)
def denoising_curve(key: str, _model: torch.nn.Module, noise: str, levels: tuple[float, ...],
                    seed: int = 0, n: int = CURVE_IMAGES) -> np.ndarray:
    """``family.error_curve`` of the model identified by ``key`` on ``n`` test images
    (a permutation seeded by ``seed``; the noise is seeded by it too): (len(levels),) nats."""
    images, _ = test_split()
    rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return error_curve(_model, images[rows], noise, levels, seed=seed)


@st.cache_data(show_spinner="Measuring KL per latent dimension on the test set...", max_entries=16)
def test_latent_usage(key: str, _model: torch.nn.Module) -> LatentUsage:
    """``metrics.latent_usage`` of the model identified by ``key`` on the 10,000 test digits
    (conditional on the true labels for a conditional model)."""
    images, labels = test_split()
    return latent_usage(_model, images, labels)


@st.cache_data(show_spinner="Measuring how far the codes move (10,000 test digits)...", max_entries=16)
def contraction_numbers(key: str, _model: torch.nn.Module, noise_level: float, seed: int = 0) -> dict[str, float]:
    """``contractive.contraction_summary`` of the model identified by ``key`` on the 10,000
    test digits (its code: mu), Gaussian perturbation of std ``noise_level`` seeded by ``seed``."""
    from explorer.core.contractive import contraction_summary

    images, _ = test_split()
    return contraction_summary(lambda x: _model.encode(x)[0], images, noise_level, seed)


#: The shipped pretrained stacks (explorer.cli.pretrain --out) and their runs' JSON lines.
PRETRAINING_DIR = "pretraining"
STACK_FILES = {0.0: "sae_500_500.safetensors", 0.25: "sdae25_500_500.safetensors", 0.5: "sdae50_500_500.safetensors"}
RESULTS_FILE = "results.jsonl"
#: Filters shown per model (of the first layer's 500).
SHOWN_FILTERS = 100


@st.cache_data(show_spinner="Reading the pretrained stacks' first-layer filters...", max_entries=4)
def stack_filters(folder: str, mtimes: tuple[float, ...]) -> dict:
    """The shipped stacks' first-layer filters and their sharpness, and the runs' test errors.

    Args:
        folder: the folder holding :data:`STACK_FILES` and :data:`RESULTS_FILE`.
        mtimes: the files' modification times (the cache key: a replaced file is read again).

    Returns:
        ``{"stacks": {noise: {"png": bytes, "shown": kurtosis of the shown filters, "all":
        kurtosis of all filters, "config": StackConfig}}, "initial": kurtosis of the first
        layer's initial weights (the stacks' seed: where pretraining, or the run without it,
        started), "runs": [run dicts]}``.

    Raises:
        StackFileError: a file is missing or invalid.
    """
    from pathlib import Path

    from explorer.core.images import png_bytes, upscale_nearest
    from explorer.core.pretraining import (build_stack, filter_grid, filter_sharpness, first_layer_filters, load_stack,
                                           read_results)

    stacks = {}
    for noise, name in STACK_FILES.items():
        net, config, _ = load_stack(Path(folder) / name)
        shown = first_layer_filters(net, SHOWN_FILTERS)
        stacks[noise] = {"png": png_bytes(upscale_nearest(filter_grid(shown), 2)), "shown": filter_sharpness(shown),
                         "all": filter_sharpness(first_layer_filters(net)), "config": config}
    initial = filter_sharpness(first_layer_filters(build_stack(config)))
    return {"stacks": stacks, "initial": initial, "runs": read_results(Path(folder) / RESULTS_FILE)}
