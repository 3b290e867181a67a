"""Where the holes are: a toggle that lays the decoder's digit-likeness under the map,
and the share of prior samples that decode to a digit (:mod:`explorer.core.holes`)."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer.core.classifier import ClassifierFileError
from explorer.core.holes import DIGIT_THRESHOLD, path_scores
from explorer.ui import caches, figures
from explorer.ui.views.common import ModelView

PRIOR_SAMPLES = 2000

PRIOR_SHARE_HELP = (
    f"Draw {PRIOR_SAMPLES:,} codes z from the prior N(0, I), decode each (decoder mean) and ask a small "
    "MNIST classifier how sure it is which digit it sees. This is the share it is at least "
    f"{DIGIT_THRESHOLD:.0%} sure about: how often sampling this model gives a digit. A VAE is trained to "
    "fill the prior's area with digits; a plain AE never sees the prior, so many of its samples land in "
    "holes between its clusters and decode to smudges."
)
SHOW_HOLES_HELP = (
    "Shade the map by digit-likeness: the classifier's top probability for the image decoded at each z "
    "(white: surely a digit; dark: a hole, where the decoder draws no recognisable digit)."
)


def holes_panel(view: ModelView) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The "Show holes" toggle and the model's prior share (a metric), in a container
    keyed ``<prefix>holes_panel``.

    Args:
        view: the model's views (keys from its prefix).

    Returns:
        (z1 (n,), z2 (n,), scores (n, n)) for ``latent_map_view(..., holes=...)`` when
        the toggle is on (2-D latent space only), else None.
    """
    keys = view.keys
    model = view.model
    with st.container(key=keys("holes_panel")):
        try:
            caches.digit_classifier()
        except ClassifierFileError as exc:
            st.warning(f"The digit classifier could not be loaded, so holes cannot be shown: {exc}. "
                       "Restore checkpoints/mnist_classifier.safetensors (git checkout) or retrain it with "
                       "`python -m explorer.cli.train_classifier --out checkpoints/mnist_classifier.safetensors`.")
            return None
        y = view.condition()
        share = caches.prior_share(view.entry.key, model, k=PRIOR_SAMPLES, threshold=DIGIT_THRESHOLD, y=y)
        st.metric("Prior samples that look like digits", f"{share:.0%}", help=PRIOR_SHARE_HELP)
        if not view.is_2d:
            return None  # the heatmap needs the map's own 2-D coordinates
        show = st.toggle("Show holes", key=keys("show_holes"), help=SHOW_HOLES_HELP)
        if not show:
            return None
        ranges = tuple((r.low, r.high) for r in view.ranges)
        return caches.hole_scores(view.entry.key, model, ranges, caches.HOLES_GRID_N, y=y)


def path_score_chart(view: ModelView, images: torch.Tensor) -> None:
    """The classifier's digit-likeness of each image along an interpolation path (a hook
    for :func:`explorer.ui.views.compare.interpolation_panel`): a path through a hole dips.

    Args:
        view: the model whose path it is (keys from its prefix).
        images: (T, 1, 28, 28) decoded path images, pixels in [0, 1].
    """
    try:
        classifier = caches.digit_classifier().model
    except ClassifierFileError:
        return  # holes_panel says what is wrong and how to fix it
    scores = path_scores(classifier, images)
    st.plotly_chart(figures.path_scores_figure(scores, DIGIT_THRESHOLD), key=view.keys("path_scores"),
                    config={"displayModeBar": False})
    st.caption(f"Digit-likeness along the path (the classifier's top probability; dashed: "
               f"{DIGIT_THRESHOLD:.0%}). {sum(scores < DIGIT_THRESHOLD)} of {len(scores)} steps fall below it.")
