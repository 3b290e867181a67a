"""Where the holes are: a toggle that lays the validated "looks like a real digit" judge
(:mod:`explorer.core.realism`) under the map, and the share of prior samples judged real
(:mod:`explorer.core.holes`)."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer.core.classifier import ClassifierFileError
from explorer.core.holes import path_scores
from explorer.core.lesson_claims import SAMPLES, SEED
from explorer.core.realism import THRESHOLD
from explorer.ui.figures import charts
from explorer.ui.state import caches
from explorer.ui.views.common import ShownModel

JUDGE_HELP = (
    "Judged real: the image lies close to real MNIST digits (inside some real digit's 3-nearest-neighbour "
    "ball, in pixels: the realism score of Kynkaanniemi et al. 2019) and a small digit classifier is sure "
    "which digit it is. Checked on a labelled set (real digits and models' reconstructions against blends "
    "of two digits, broken strokes, noise, shifted or cut digits, decodings of far-out codes): ROC AUC 0.96. "
    "It is strict with real handwriting: about 2 in 3 real test digits pass, 9 in 10 of the models' "
    "reconstructions; compare the two models' shares with each other, not with 100 %."
)
PRIOR_SHARE_HELP = (
    f"Draw {SAMPLES:,} codes z from N(0, I) (seed {SEED}: the same draw as the lesson's numbers and the "
    "Sample tab's share), decode each (decoder mean) and count the images judged real. A VAE is trained "
    "to decode its prior's area; a plain AE has no prior, so N(0, I) is just a patch near its origin. " + JUDGE_HELP
)
SHOW_HOLES_HELP = (
    "Shade the map by the judge's verdict on the image decoded at each z (on a grid of "
    "16 x 16 points; the edge is where the score, read linearly between grid points, crosses the threshold): "
    "dark where it is not judged a real digit (a hole), clear where it is. " + JUDGE_HELP
)


def holes_panel(view: ShownModel, square: bool = False,
                shade: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The "Show holes" toggle and the model's prior share (a metric), in a container
    keyed ``<prefix>holes_panel``.

    Args:
        view: the model's views (keys from its prefix).
        square: the map shows equal spans on both axes (``latent_map_view(..., square=True)``):
            the shading then covers that whole square, not only the codes' ranges.
        shade: the toggle's value until the user flips it (the Compare page passes True
            while the holes' tab is open); once flipped (key ``<prefix>show_holes_chosen``),
            the user's choice stays.

    Returns:
        (z1 (n,), z2 (n,), realness (n, n) in [0, 1], 0.5 at the threshold) for ``latent_map_view(..., holes=...)`` when
        the toggle is on (2-D latent space only), else None.
    """
    keys = view.keys
    with st.container(key=keys("holes_panel")):
        try:
            caches.realism_judge()
        except ClassifierFileError as exc:
            st.warning(f"The digit classifier could not be loaded, so holes cannot be shown: {exc}. "
                       "Restore checkpoints/mnist_classifier.safetensors (git checkout) or retrain it with "
                       "`python -m explorer.cli.train_classifier --out checkpoints/mnist_classifier.safetensors`.")
            return None
        y = view.condition()
        share = caches.prior_share(view.entry, y=y)
        st.metric("N(0, I) samples judged real", f"{share:.0%}", help=PRIOR_SHARE_HELP)
        if not view.is_2d:
            return None  # the heatmap needs the map's own 2-D coordinates
        key, chosen = keys("show_holes"), keys("show_holes_chosen")
        if not st.session_state.get(chosen) and st.session_state.get(key) != shade:
            st.session_state[key] = shade  # before the widget: its value this run
        show = st.toggle("Show holes", key=key, help=SHOW_HOLES_HELP, on_change=_chosen, args=(chosen,))
        if not show:
            return None
        ranges = tuple((r.low, r.high) for r in view.ranges)
        if square:
            from explorer.ui.views.latent_map import square_ranges

            ranges = tuple(tuple(float(v) for v in r) for r in square_ranges(view.ranges))
        z1, z2, scores = caches.hole_scores(view.entry, ranges, caches.HOLES_GRID_N, y=y)
        return z1, z2, realness(scores)


def _chosen(key: str) -> None:
    st.session_state[key] = True


def realness(scores: np.ndarray) -> np.ndarray:
    """The judge's S mapped to [0, 1] for shading: THRESHOLD -> 0.5, 2 x THRESHOLD and above -> 1."""
    return np.clip(np.asarray(scores) / (2 * THRESHOLD), 0.0, 1.0)


def path_score_chart(view: ShownModel, images: torch.Tensor) -> None:
    """The judge's verdict on each image along an interpolation path (a hook for
    :func:`explorer.ui.views.interpolation.interpolation_panel`): a mark per step (real or not)
    and the score, with the threshold dashed; a path through a hole dips below it.

    Args:
        view: the model whose path it is (keys from its prefix).
        images: (T, 1, 28, 28) decoded path images, pixels in [0, 1].
    """
    try:
        judge = caches.realism_judge()
    except ClassifierFileError:
        return  # holes_panel says what is wrong and how to fix it
    scores = realness(path_scores(judge, images))
    real = scores >= 0.5
    st.markdown(path_marks(real), help=JUDGE_HELP)
    st.plotly_chart(charts.path_scores_figure(scores, 0.5), key=view.keys("path_scores"),
                    config={"displayModeBar": False})
    st.caption(f"Looks like a real digit, along the path (1 = clearly, dashed = the threshold). "
               f"{int((~real).sum())} of {len(scores)} steps are judged not real.")


REAL_MARK, NOT_REAL_MARK = ":green[:material/check_circle:]", ":red[:material/cancel:]"


def path_marks(real: np.ndarray, prefix: str = "Judged real, step by step: ") -> str:
    """One mark per path step: a green check for judged real, a red cross for not (Markdown;
    Streamlit's own icon font, so it shows without emoji fonts)."""
    return prefix + " ".join(REAL_MARK if r else NOT_REAL_MARK for r in real)


def strip_marks(images: torch.Tensor) -> str | None:
    """:func:`path_marks` of decoded path images (T, 1, 28, 28), or None without the judge."""
    try:
        judge = caches.realism_judge()
    except ClassifierFileError:
        return None
    return path_marks(judge.judge(images)[1], prefix="")
