"""The Semi-supervised page's style map (Kingma et al. 2014, Figure 1 left: "handwriting
styles learned by the model with 2D z-space"): the style code z of every test digit, the
mean of q(z|x, y) with y the classifier's argmax_y q(y|x), drawn on the plane and coloured
by that predicted label, with the training images whose labels the run read marked by
larger outlined diamonds (their z under their known label). Drawn only for a model with
z = 2: a plane shows such a z whole; any projection of a longer z would hide most of it.
Widget and chart keys start with ``m2_``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer.ui import figures
from explorer.ui.page import layout
from explorer.ui.state import caches
from explorer.ui.figures.model_kind_figures import SIDE_LEGEND
from explorer.ui.figures import DIGIT_COLORS
from explorer.ui.state.model_entry import ModelEntry
from explorer.ui.state.shipped import load_shipped

#: The map's chart key, and the legend name of the labelled training digits' marks.
MAP_KEY = "m2_style_map"
MARKS_NAME = "labelled"
#: Size in px of a labelled digit's diamond (the test digits' dots are figures.DIGIT_MARKER_PX).
MARK_PX = 12
FONT_SIZE = 14
#: The plain VAE whose map the style map is compared with (its z also has 2 numbers).
REFERENCE_VAE = "mnist_vae_z2.safetensors"
#: Opacity of a test digit's dot.
DOT_OPACITY = 0.55


def style_map_figure(found: dict, height: int, font_size: int) -> go.Figure:
    """The style map: one WebGL trace of test digits per predicted label 0-9
    (:func:`explorer.ui.figures.latent_scatter`, hover: test digit no., the label q(y|x)
    gives, z), then one trace of diamonds for the labelled training digits (coloured by their
    known label, outlined in black; hover: training image no., known label, q(y|x)'s label).

    Args:
        found: :func:`explorer.ui.state.caches.m2_style_map`'s result (``z`` of shape (N, 2)).
        height: figure height in px.
        font_size: text size in px (:func:`explorer.ui.figures.readable`).

    Returns:
        A ``go.Figure`` with 11 traces.

    Raises:
        ValueError: ``z`` is not (N, 2).
    """
    z = np.asarray(found["z"])
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"the style map draws a 2-D z, got codes of shape {z.shape}")
    fig = figures.latent_scatter(z, np.asarray(found["predicted"]), axis_names=("z1", "z2"))
    for digit, trace in enumerate(fig.data):  # short legend entries under the title "q(y|x) says": room for the map
        trace.name = str(digit)
        # fainter than the Explorer's dots: the ten overlap here, and the last drawn (9) would hide the rest
        trace.marker.opacity = trace.unselected.marker.opacity = DOT_OPACITY
    fig.update_traces(hovertemplate="test digit no. %{customdata[0]}<br>q(y|x) says %{customdata[1]}<br>"
                                    "z1 %{x:.3f}, z2 %{y:.3f}<extra></extra>")
    marked = np.asarray(found["marked_labels"])
    fig.add_trace(go.Scatter(
        x=found["marked_z"][:, 0], y=found["marked_z"][:, 1], mode="markers", name=f"{MARKS_NAME} ({len(marked)})",
        marker={"symbol": "diamond", "size": MARK_PX, "color": [DIGIT_COLORS[int(d)] for d in marked],
                "line": {"width": 2, "color": "black"}},
        customdata=np.stack([found["marked_rows"], marked, found["marked_predicted"]], axis=1),
        hovertemplate="labelled training digit no. %{customdata[0]}<br>known label %{customdata[1]}, "
                      "q(y|x) says %{customdata[2]}<br>z1 %{x:.3f}, z2 %{y:.3f}<extra></extra>"))
    fig.update_layout(height=height, legend={**SIDE_LEGEND, "title": {"text": "q(y|x) says"}},
                      margin={"l": 50, "r": 10, "t": 10, "b": 45})
    return figures.readable(fig, font_size)


def style_map_panel(entry: ModelEntry, height: int) -> None:
    """The style map of ``entry`` with its measured caption; for a model whose z is not
    2-D, or whose labelled images cannot be found again, a caption that says why."""
    config, train = entry.checkpoint.model_config, entry.checkpoint.train_config
    if config.latent_dim != 2:
        st.info(f"No style map for this model: its style z has {config.latent_dim} numbers and a plane shows two; "
                "a projection onto two directions would leave the others out. Choose a model with z = 2 in the "
                "sidebar's 'Semi-supervised model' (the shipped M1+M2 · z = 2 is one).", icon=":material/info:")
        return
    labels = None if train.subset else train.labels  # the labelled rows are known for a run on all 60,000 only
    found = caches.m2_style_map(entry, labels, train.seed)
    with st.container(key="m2_style_box"):
        st.plotly_chart(style_map_figure(found, height, layout.plot_font_size(FONT_SIZE)), key=MAP_KEY,
                        config={"displaylogo": False})
    marked, predicted = found["marked_labels"], found["predicted"]
    marks = (f" **Diamonds**: the {len(marked)} labelled training digits, at z under their known label (q(y|x) gets "
             f"{float((found['marked_predicted'] == marked).mean()):.0%} of them right)." if len(marked) else
             " No labelled training digits marked: this run's labelled images are not the seeded draw from the "
             "60,000 (all labels known, or a subset).")
    reading = (": the colours mix." if found["agreement"] < 2 * found["chance"] else
               ": z still holds part of the digit beside the label y.")
    vae, _ = load_shipped(REFERENCE_VAE)
    compared = (f"; the shipped z = 2 VAE's map: {caches.map_label_agreement(vae)[0]:.0%}" if vae
                else "")
    st.caption(f"**Dots**: the {len(predicted):,} test digits at their style z, the mean of q(z|x, y); y and colour: "
               f"q(y|x)'s label.{marks} The nearest other dot has the same colour for "
               f"**{found['agreement']:.0%}** of the dots (chance {found['chance']:.0%}{compared}){reading}",
               help="z1, z2: the two numbers of the style code z. Click a digit in the legend to hide or show its "
                    "dots. Labelled training digits: the ones whose labels training read, drawn at random with seed "
                    f"{train.seed}, balanced over the digits (explorer.core.labels). Chance: the share if the colours "
                    "were shuffled over the dots. M2's decoder p(x|y, z) is given the label y, so z need not hold the "
                    "digit: the nearer the share is to chance, the less of the digit z holds. The shipped z = 2 VAE "
                    "(no label) must keep the digit in z: its share is by true digit, over its 10,000 test codes mu.")
