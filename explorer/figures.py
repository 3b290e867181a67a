"""Plotly figures of the latent space (built here, shown by the Streamlit pages)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

#: One colour per digit 0-9.
DIGIT_COLORS = qualitative.Plotly
LATENT_MAP_TRACE_PREFIX = "digit "


def latent_scatter(
    mu: np.ndarray, labels: np.ndarray, title: str | None = None, axis_names: tuple[str, str] = ("z1", "z2")
) -> go.Figure:
    """WebGL scatter of latent means, one trace (legend entry) per digit.

    Each point's ``customdata`` is ``[row index, label]`` so a selection event can be
    mapped back to the data set; hover shows index, label and mu.

    Args:
        mu: (N, >=2) latent means; the first two columns are drawn.
        labels: (N,) digit labels 0-9.
        title: optional figure title.
        axis_names: axis titles.

    Returns:
        A ``go.Figure`` with 10 ``Scattergl`` traces (digits absent from ``labels``
        give empty traces, so trace numbers always equal digits).

    Raises:
        ValueError: ``mu`` has fewer than 2 columns or its rows do not match ``labels``.
    """
    if mu.ndim != 2 or mu.shape[1] < 2 or len(mu) != len(labels):
        raise ValueError(f"need mu of shape (N, >=2) matching {len(labels)} labels, got {mu.shape}")
    index = np.arange(len(labels))
    fig = go.Figure()
    for digit in range(10):
        rows = labels == digit
        fig.add_trace(
            go.Scattergl(
                x=mu[rows, 0],
                y=mu[rows, 1],
                mode="markers",
                name=f"{LATENT_MAP_TRACE_PREFIX}{digit}",
                marker={"size": 4, "opacity": 0.7, "color": DIGIT_COLORS[digit]},
                customdata=np.stack([index[rows], labels[rows]], axis=1),
                hovertemplate=(
                    "index %{customdata[0]}<br>label %{customdata[1]}<br>"
                    f"{axis_names[0]} %{{x:.3f}}<br>{axis_names[1]} %{{y:.3f}}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title=axis_names[0],
        yaxis_title=axis_names[1],
        yaxis={"scaleanchor": "x", "scaleratio": 1},
        legend={"title": "digit", "itemsizing": "constant"},
        margin={"l": 40, "r": 10, "t": 40 if title else 10, "b": 40},
        height=600,
    )
    return fig


#: Per-epoch curves of the training chart: (EpochRecord field, legend name, on the KL axis).
TRAINING_CURVES = (
    ("train_loss", "training loss", False),
    ("test_neg_elbo", "test -ELBO", False),
    ("test_reconstruction", "test reconstruction", False),
    ("test_kl", "test KL", True),
)


def training_curves(history: list[dict], height: int = 320) -> go.Figure:
    """Loss curves per epoch, in nats per image.

    Training loss (reconstruction + beta * KL over the epoch's batches), test -ELBO and
    test reconstruction share the left axis; the much smaller test KL has its own
    right axis. An AE has no -ELBO and a KL of 0: those curves are left out.

    Args:
        history: one dict per completed epoch with the fields of
            :class:`explorer.train.EpochRecord` (``dataclasses.asdict``).
        height: figure height in pixels.

    Returns:
        A ``go.Figure`` with one ``Scatter`` trace per curve (none for an empty history).
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    epochs = [row["epoch"] for row in history]
    is_ae = bool(history) and history[0]["test_neg_elbo"] is None
    for field_name, name, on_kl_axis in TRAINING_CURVES:
        if is_ae and field_name in ("test_neg_elbo", "test_kl"):
            continue
        fig.add_trace(
            go.Scatter(x=epochs, y=[row[field_name] for row in history], mode="lines+markers", name=name),
            secondary_y=on_kl_axis,
        )
    fig.update_layout(height=height, margin={"l": 40, "r": 40, "t": 10, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text="nats per image", secondary_y=False)
    fig.update_yaxes(title_text="KL (nats)", secondary_y=True, showgrid=False)
    return fig
