"""Linear AE = PCA page: a linear autoencoder's 2-D codes, after the least-squares linear map
onto PCA's coordinates, beside the first two principal components of the test set; the map's
residual, the principal angles between the subspaces they span, and both reconstruction errors."""

import numpy as np

import streamlit as st

from explorer.ui import figures
from explorer.ui.components import viewport
from explorer.ui.page import layout
from explorer.ui.state import caches, registry
from explorer.ui.figures.model_kind_figures import SIDE_LEGEND
from explorer.ui.state.session import require_router

LINEAR_AE_FILE = "mnist_linear_ae_z2.safetensors"
TRAIN_COMMAND = ("python -m explorer.cli.train --model ae --latent-dim 2 --hidden --likelihood gaussian_identity "
                 f"--epochs 10 --batch-size 100 --lr 3e-2 --lr-schedule cosine --seed 0 "
                 f"--out checkpoints/{LINEAR_AE_FILE}")
#: The maps' figure height on a laptop and on a projector, in px (340 left them 292 x 230 px
#: on a 1920 x 1080 screen, with half the screen empty below).
FIGURE_HEIGHTS = (340, 560)
#: One column of digits right of each map (a horizontal legend under a half-width map
#: wrapped into three rows and was cut off at the figure's bottom), as tall as the figure.
LEGEND = SIDE_LEGEND
FONT_SIZE = 15


def _readable(fig):
    """The map's height and legend; ticks, titles and legend at FONT_SIZE px (16 in presentation mode)."""
    fig.update_layout(height=viewport.pick(*FIGURE_HEIGHTS), legend=LEGEND)
    return figures.readable(fig, layout.plot_font_size(FONT_SIZE))


def _same_ranges(fig, *points):
    """The same x and y ranges (padded 5 %) for every map drawn from ``points`` ((N, 2) arrays),
    so equal coordinates sit at the same place on screen."""
    both = np.concatenate(points)
    low, high = both.min(axis=0), both.max(axis=0)
    pad = 0.05 * (high - low)
    # constrain="domain": the equal aspect ratio shrinks the plot area, never widens a range
    fig.update_xaxes(range=[float(low[0] - pad[0]), float(high[0] + pad[0])], constrain="domain")
    return fig.update_yaxes(range=[float(low[1] - pad[1]), float(high[1] + pad[1])], constrain="domain")


def linear_pca_page() -> None:
    st.title("Linear autoencoder = PCA")
    intro = (
        "An autoencoder with one linear encoder layer and one linear decoder layer, no activation, trained "
        "with squared error, learns the same plane as the first two principal components (PCA), in its own "
        "rotated and stretched coordinates (Baldi & Hornik 1989). Left: its codes z of the 10,000 test digits "
        "after the best linear map onto PCA's axes (least squares); right: their coordinates along the test "
        "set's first two principal components."
    )
    path = registry.CHECKPOINT_DIR / LINEAR_AE_FILE
    if not path.is_file():
        st.info(f"The linear autoencoder `checkpoints/{LINEAR_AE_FILE}` is not there yet. Train it (a few "
                f"minutes on a CPU) from the project folder with:\n\n```\n{TRAIN_COMMAND}\n```")
        st.stop()
    try:
        (mapped, pca_codes, labels, angles, test_angles, ae_se, pca_se, nats, description,
         (residual, spread, relative), pixel_gap) = caches.linear_pca_comparison(str(path), path.stat().st_mtime_ns)
    except (registry.CheckpointError, ValueError) as exc:
        st.error(f"Cannot compare `{LINEAR_AE_FILE}` with PCA: {exc}. Retrain it with:\n\n```\n{TRAIN_COMMAND}\n```")
        st.stop()

    cols = st.columns(5)
    cols[0].metric("Principal angle 1", f"{angles[0]:.2f}°", help=(
        "Principal angles between two planes: 0° means they share a direction, 90° that the direction is "
        "orthogonal to the other plane. Here between the plane the decoder's two columns span and the plane "
        "of the top two principal components of the training set it learned from (Björck & Golub 1973). "
        f"Against the test set's PCA plane (drawn on the right): {test_angles[0]:.1f}° and {test_angles[1]:.1f}°, "
        "because the two data sets' planes themselves differ by a few degrees."))
    cols[1].metric("Principal angle 2", f"{angles[1]:.2f}°", help=(
        "The second (larger) angle. Both near 0°: the linear autoencoder found the PCA plane."))
    cols[2].metric("Linear AE squared error", f"{ae_se:.2f}", help=(
        "Reconstruction error per test image: the sum over the 784 pixels (in [0, 1]) of "
        "(x - reconstruction)^2, averaged over the 10,000 test digits."))
    cols[3].metric("PCA squared error", f"{pca_se:.2f}", help=(
        "The same for the projection onto the mean plus the first two principal components of the test set: "
        "the least squared error any rank-2 linear reconstruction of these images can reach (Eckart & Young 1936)."))
    cols[4].metric("Map residual", f"{residual:.2f} ({relative:.1%})", help=(
        "How far the mapped codes (left) lie from the PCA coordinates (right): the root mean square over the "
        "10,000 test digits of the distance between a digit's mapped code and its PCA point, in PCA units "
        f"(the same as the axes); in brackets relative to the PCA points' own spread ({spread:.2f}, the root "
        "mean square distance from their mean). The map is the 2x2 matrix plus offset that minimises the "
        "squared distances (least squares): a general linear map, since the autoencoder's axes may be sheared, "
        "not only rotated and scaled. The two models' reconstructions differ by "
        f"{pixel_gap:.3f} per pixel (root mean square, pixels in [0, 1])."))

    left, right = st.columns(2)
    with left:
        fig = figures.latent_scatter(mapped, labels, title="Linear AE codes z, mapped onto PCA's axes",
                                     axis_names=("PC1", "PC2"))
        _readable(fig)
        _same_ranges(fig, mapped, pca_codes)
        st.plotly_chart(fig, key="linear_pca_ae_map", config={"displaylogo": False})
    with right:
        fig = figures.latent_scatter(pca_codes, labels, title="First two principal components",
                                     axis_names=("PC1", "PC2"))
        _readable(fig)
        _same_ranges(fig, mapped, pca_codes)
        st.plotly_chart(fig, key="linear_pca_pca_map", config={"displaylogo": False})
    st.caption(f"Same plane, different coordinates: the codes are a linear transform (rotation, scaling, shear) of "
               f"the PCA coordinates. Undone by the least-squares map, they land {residual:.2f} PCA units from their "
               f"PCA points (root mean square, {relative:.1%} of the spread); the reconstructions differ by "
               f"{pixel_gap:.3f} per pixel. Both maps share their axis ranges. The angles compare "
               "with the training set's PCA; the right map and the errors use the test set's. Image pixels are "
               "clipped to [0, 1] only where drawn: the linear decoder's mean is unbounded.")
    # under the key view (the numbers and the two maps): it fits a 768 px high screen
    st.caption(intro)
    if nats:
        st.caption(f"As -log p(x|z) under the autoencoder's decoder ({description}; a nat is the natural-log "
                   f"unit of information): linear AE {nats[0]:.1f}, PCA {nats[1]:.1f} nats per image.")


require_router()
linear_pca_page()
