"""Plotly figures of latent codes (built here, shown by the views and pages): the latent
scatter (one trace per digit, validated once per input), :func:`as_svg` for charts drawn
anew often, and :func:`readable`, the one home of chart text sizes. The Explorer's latent
map built on it (click catcher, marks, overlays, holes shading) is
:mod:`explorer.ui.figures.map_figure`; what a click on it means is :mod:`explorer.ui.figures.map_clicks`;
the charts beside the maps (training curves, path scores, label bars, the manifold grid's
image) are :mod:`explorer.ui.figures.charts`."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

#: One colour per digit 0-9.
DIGIT_COLORS = qualitative.Plotly
LATENT_MAP_TRACE_PREFIX = "digit "


#: Validated scatters of latent means, as Plotly dicts (see :func:`latent_scatter`), by a
#: digest of their inputs. A map is redrawn on every click: validating its 10,000 points
#: again took about a third of the click's server time.
_SCATTER_CACHE: OrderedDict[bytes, dict] = OrderedDict()
_SCATTER_CACHE_SIZE = 32
_SCATTER_LOCK = threading.Lock()


def latent_scatter(
    mu: np.ndarray, labels: np.ndarray, title: str | None = None, axis_names: tuple[str, str] = ("z1", "z2")
) -> go.Figure:
    """WebGL scatter of latent means, one trace (legend entry) per digit.

    Each point's ``customdata`` is ``[row index, label]`` so a selection event can be
    mapped back to the data set; hover shows index, label and mu.

    The figure is validated by Plotly once per distinct input and kept as a dict (the last
    32); later calls with the same arrays build a new, independent figure from a copy of
    it without validating again (the same JSON).

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
    digest = hashlib.blake2b(repr((mu.dtype.str, mu.shape, np.asarray(labels).dtype.str, title,
                                   tuple(axis_names))).encode(), digest_size=20)
    digest.update(np.ascontiguousarray(mu[:, :2]).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    key = digest.digest()
    with _SCATTER_LOCK:
        cached = _SCATTER_CACHE.get(key)
        if cached is not None:
            _SCATTER_CACHE.move_to_end(key)
    if cached is None:
        cached = _validated_scatter(mu, labels, title, axis_names).to_dict()
        with _SCATTER_LOCK:
            _SCATTER_CACHE[key] = cached
            while len(_SCATTER_CACHE) > _SCATTER_CACHE_SIZE:
                _SCATTER_CACHE.popitem(last=False)
    # The arrays are base64 strings in the dict (immutable): the copy is cheap. The dict
    # was validated, so it is built without validating (Plotly's private ``_validate``);
    # then validation is switched back on for whatever the caller changes or adds
    # (tests/ui/test_latent.py compares the JSON with a validated figure's, changes included).
    fig = go.Figure(copy.deepcopy(cached), _validate=False)
    for obj in (fig, fig.layout, *fig.data):
        obj._validate = True
    return fig


#: Diameter in pixels of a digit's dot on the latent maps.
DIGIT_MARKER_PX = 4


def _validated_scatter(mu: np.ndarray, labels: np.ndarray, title: str | None,
                       axis_names: tuple[str, str]) -> go.Figure:
    """:func:`latent_scatter` built and validated by Plotly."""
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
                marker={"size": DIGIT_MARKER_PX, "opacity": 0.7, "color": DIGIT_COLORS[digit]},
                customdata=np.stack([index[rows], labels[rows]], axis=1),
                # Plotly dims unselected points after a click; the map draws its own
                # highlight instead, so keep every digit as visible as before.
                unselected={"marker": {"opacity": 0.7}},
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


def readable(fig: go.Figure, font_size: int) -> go.Figure:
    """Every text of a chart at ``font_size`` px, set explicitly: the layout's font, the
    legend (its entries and title), each x and y axis' ticks and title, the hover labels.
    Streamlit's chart theme sets its own 12 px legend, tick and title fonts, which a
    layout-wide ``font.size`` does not override. The one home of chart text sizes (the
    pages pass :func:`explorer.ui.page.layout.plot_font_size`, which adds presentation mode).

    Args:
        fig: any Plotly figure (changed in place).
        font_size: size in px.

    Returns:
        ``fig``.
    """
    fig.update_layout(font_size=font_size, legend_font_size=font_size, legend_title_font_size=font_size,
                      hoverlabel_font_size=font_size)
    fig.update_xaxes(tickfont_size=font_size, title_font_size=font_size)
    fig.update_yaxes(tickfont_size=font_size, title_font_size=font_size)
    return fig


def as_svg(fig: go.Figure) -> go.Figure:
    """``fig`` with its WebGL scatter traces drawn as SVG scatters (the same points, marks
    and hover): for charts of a few thousand points that are drawn anew often, such as the
    live training maps, which then hold no WebGL context (a page may hold only 16, see
    :mod:`explorer.ui.components.webgl`). Returns a new figure; ``fig`` is left as it was."""
    spec = fig.to_dict()
    spec["data"] = [{**t, "type": "scatter"} if t.get("type") == "scattergl" else t for t in spec["data"]]
    return go.Figure(spec)
