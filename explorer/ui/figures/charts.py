"""Plotly charts beside the latent maps (built here, shown by the views and pages): the
training curves, the score along an interpolation path, the bar chart of sampled digits,
and the manifold grid's image with its clickable cells. The latent map itself and its marks are
:mod:`explorer.ui.figures.map_figure`, its click parsing :mod:`explorer.ui.figures.map_clicks`."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.ui.components import viewport
from explorer.ui.page import layout
from explorer.ui.figures import DIGIT_COLORS, readable
from explorer.ui.figures.map_clicks import point_customdata

#: Metrics drawn on the chart's right axis (much smaller than the loss).
RIGHT_AXIS_METRICS = ("test_kl",)
#: A classifier's test error (%), the right axis of :func:`training_curves` for M2 (Kingma et al. 2014).
CLASSIFICATION_ERROR = "test_classification_error"
#: The Train page's live latent map on a laptop and on a projector (explorer.ui.components.viewport), in
#: px: under the progress bar and Stop it ends on a 1366x768 screen (Plotly's 600 did not).
LIVE_MAP_HEIGHTS = (420, 600)


def live_chart(fig: go.Figure, latent_map: bool = False) -> go.Figure:
    """A chart of the Train page's live view, made readable: its text at
    :func:`explorer.ui.page.layout.plot_font_size` (14 px, 16 in presentation mode; Streamlit's own
    is 12) and, for the ``latent_map``, a height that fits the window (:data:`LIVE_MAP_HEIGHTS`).

    Returns:
        ``fig``, changed in place.
    """
    if latent_map:
        fig.update_layout(height=viewport.pick(*LIVE_MAP_HEIGHTS))
    else:  # the curves' legend below the larger epoch ticks and title, not over them
        fig.update_layout(legend={"y": -0.4, "yanchor": "top"})
    return readable(fig, layout.plot_font_size(None))




def path_scores_figure(scores: np.ndarray, threshold: float, height: int = 220, font_size: int = 15) -> go.Figure:
    """Digit-likeness along an interpolation path, one point per decoded step.

    Args:
        scores: (T,) scores in [0, 1], start to end.
        threshold: the score above which an image counts as a digit (a dashed line).
        height: figure height in pixels.
        font_size: font size of ticks and titles, in px (at least
            :func:`explorer.ui.page.layout.plot_font_size`'s).
    """
    steps = np.arange(1, len(scores) + 1)
    fig = go.Figure(go.Scatter(x=steps, y=scores, mode="lines+markers", name="looks real",
                               hovertemplate="step %{x}<br>looks real %{y:.2f}<extra></extra>"))
    fig.add_hline(y=threshold, line={"dash": "dash", "color": "grey"})
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 10, "b": 40}, showlegend=False)
    fig.update_xaxes(title_text="step along the path", dtick=1 if len(scores) <= 15 else None)
    fig.update_yaxes(title_text="looks real", range=[0, 1.05])
    return readable(fig, layout.plot_font_size(font_size))


def label_bars(counts: np.ndarray, height: int = 170, font_size: int = 14) -> go.Figure:
    """How samples spread over the ten digits: a bar per label (the classifier's arg-max).

    Args:
        counts: (10,) samples per predicted label.
        height: figure height in pixels.
        font_size: font size of ticks and titles, in px (at least
            :func:`explorer.ui.page.layout.plot_font_size`'s).
    """
    counts = np.asarray(counts)
    fig = go.Figure(go.Bar(x=list(range(10)), y=counts, marker={"color": [DIGIT_COLORS[d] for d in range(10)]},
                           hovertemplate="digit %{x}: %{y} samples<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 40, "r": 10, "t": 10, "b": 40}, showlegend=False)
    fig.update_xaxes(title_text="digit the classifier sees", dtick=1)
    fig.update_yaxes(title_text="samples")
    return readable(fig, layout.plot_font_size(font_size))


def training_curves(history: list[dict], variational: bool = True, height: int = 320) -> go.Figure:
    """Loss curves per epoch, in nats per image.

    The training loss (reconstruction + beta * KL over the epoch's batches) and every
    test metric of :data:`explorer.core.metrics.METRICS` that applies to the model and
    is in the history; the much smaller KL has its own right axis, unless the model has a
    classifier (M2): then the right axis is its test classification error in percent.

    Args:
        history: one dict per completed epoch (``EpochRecord.to_dict()``).
        variational: the model has a posterior (else -ELBO and KL are left out).
        height: figure height in pixels.

    Returns:
        A ``go.Figure`` with one ``Scatter`` trace per curve (none for an empty history).
    """
    from plotly.subplots import make_subplots

    from explorer.core.metrics import METRICS

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    epochs = [row["epoch"] for row in history]
    curves = [("train_loss", "training loss")] + [
        (m.name, m.short_label[0].lower() + m.short_label[1:]) for m in METRICS.values() if m.applies_to(variational) and m.unit == "nats"]
    classifier = bool(history) and history[0].get(CLASSIFICATION_ERROR) is not None
    if classifier:
        curves.append((CLASSIFICATION_ERROR, "test classification error (%)"))
    right = (CLASSIFICATION_ERROR,) if classifier else RIGHT_AXIS_METRICS
    for key, name in curves:
        if not history or key not in history[0]:
            continue
        fig.add_trace(
            go.Scatter(x=epochs, y=[row[key] for row in history], mode="lines+markers", name=name),
            secondary_y=key in right,
        )
    fig.update_layout(height=height, margin={"l": 40, "r": 40, "t": 10, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    # whole epochs only: every one up to 10, else Plotly's round steps
    fig.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 10 else None, tickformat="d")
    fig.update_yaxes(title_text="nats per image", secondary_y=False)
    # Plotly.js syncs an overlaying axis's ticks to the first axis's grid by default, which
    # gave the KL axis values such as 5.485, 5.731, 5.977: it picks its own round steps
    fig.update_yaxes(title_text="test error (%)" if classifier else "KL (nats)", secondary_y=True, showgrid=False,
                     tickmode="auto", nticks=6)
    return fig


def manifold_figure(png: bytes, grid_z: np.ndarray, cell: int, padding: int) -> go.Figure:
    """The manifold grid image with an invisible point on each cell: hover or click shows its z.

    Args:
        png: the grid image as PNG (from ``decode_manifold`` and ``png_bytes``).
        grid_z: (n * n, 2) codes, row-major, top row first.
        cell: cell size in pixels (28).
        padding: pixels between cells.

    Returns:
        A ``go.Figure``: trace 0 the image, trace 1 the cell points with
        ``customdata`` [z1, z2, row, column].
    """
    import base64

    n = int(round(len(grid_z) ** 0.5))
    size = n * (cell + padding) + padding
    centres = padding + np.arange(n) * (cell + padding) + (cell - 1) / 2
    cx, cy = np.meshgrid(centres, centres)
    rows, cols = np.divmod(np.arange(n * n), n)
    fig = go.Figure()
    fig.add_trace(go.Image(source="data:image/png;base64," + base64.b64encode(png).decode(), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=cx.ravel(), y=cy.ravel(), mode="markers", name="grid cells", showlegend=False,
        marker={"size": max(4, 600 // n), "symbol": "square", "color": "red", "opacity": 0.0},
        selected={"marker": {"opacity": 0.25}}, unselected={"marker": {"opacity": 0.0}},
        customdata=np.stack([grid_z[:, 0], grid_z[:, 1], rows, cols], axis=1),
        hovertemplate="row %{customdata[2]}, column %{customdata[3]}<br>"
                      "z1 %{customdata[0]:.3f}<br>z2 %{customdata[1]:.3f}<extra></extra>",
    ))
    fig.update_layout(
        xaxis={"visible": False, "range": [-0.5, size - 0.5], "constrain": "domain"},
        yaxis={"visible": False, "range": [size - 0.5, -0.5], "scaleanchor": "x", "constrain": "domain"},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=640, dragmode=False,
    )
    return fig


def grid_click(points: list[dict]) -> tuple[float, float] | None:
    """The z of a clicked manifold-grid cell (see :func:`manifold_figure`), or None."""
    for point in reversed(points or []):
        if point.get("curve_number") == 1 and point.get("customdata") is not None:
            z1, z2 = point_customdata(point["customdata"])[:2]
            return float(z1), float(z2)
    return None
