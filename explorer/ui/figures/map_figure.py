"""The Explorer's latent map as a Plotly figure: :func:`explorer.ui.figures.latent_scatter`
plus the invisible click catcher, the selection's and the decoder's marks (layout shapes),
overlays (prior samples, paths, clouds, the prior's circles, the grid's cells) and the
holes' shading. Clicks on it are parsed by :mod:`explorer.ui.figures.map_clicks`; the page-side
marks and click element is :mod:`explorer.ui.components.map_marks`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from explorer.ui.figures import DIGIT_MARKER_PX, latent_scatter, readable

#: The latent map's figure height in pixels (pages may set their own).
LATENT_MAP_HEIGHT = 540
#: Curve number of the invisible click-catcher grid (right after the 10 digit traces).
CATCHER_TRACE = 10
CATCHER_NAME = "decode z here"
GRID_OVERLAY_NAME = "manifold grid z"
#: The catcher's points are this many slider steps apart (a click snaps to the nearest).
CATCHER_STEPS = 2
#: Opacity of the click-catcher's points: practically invisible, still hoverable.
CATCHER_OPACITY = 0.01
#: A click this many pixels or less from a shown digit's centre picks the digit, even where
#: a catcher point lies nearer to the cursor (explorer/ui/components/map_marks.js): the catcher's
#: points are a few pixels apart, closer than the radius of a digit's dot, and the browser
#: reports the mouse in whole pixels. The dot's radius plus that pixel.
DIGIT_PICK_PX = DIGIT_MARKER_PX / 2 + 1
PRIOR_SIGMAS = (1, 2, 3)
POSTERIOR_SIGMAS = (1, 2)


def catcher_trace(ranges, axis_names: tuple[str, str] = ("z1", "z2")) -> go.Scattergl:
    """A dense, nearly invisible grid of points over the whole map, so that a click on
    empty space selects the grid point under the cursor (Streamlit reports selections
    of existing points only).

    Args:
        ranges: two :class:`explorer.ui.figures.slider_ranges.LatentRange`; points every
            ``CATCHER_STEPS * step`` from ``low`` to ``high`` on each axis.
    """
    axes = [np.arange(r.low, r.high + r.step / 2, CATCHER_STEPS * r.step) for r in ranges]
    x, y = np.meshgrid(*axes)
    return go.Scattergl(
        x=x.ravel().round(6), y=y.ravel().round(6), mode="markers", name=CATCHER_NAME, showlegend=False,
        marker={"size": 6, "color": "black", "opacity": CATCHER_OPACITY},
        unselected={"marker": {"opacity": CATCHER_OPACITY}}, selected={"marker": {"opacity": CATCHER_OPACITY}},
        hovertemplate=f"{axis_names[0]} %{{x:.2f}}<br>{axis_names[1]} %{{y:.2f}}<br>click to decode<extra></extra>",
    )


def _line(xy: np.ndarray, name: str, color: str, dash: str = "solid", width: float = 1.5) -> go.Scattergl:
    # WebGL like the digits, so the overlays draw above them (SVG traces go beneath WebGL).
    return go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="lines", name=name, showlegend=False, hoverinfo="skip",
                      line={"color": color, "dash": dash, "width": width})


#: The map's marks of the selected digit: its posterior's k-sigma ellipses and a ring
#: around its mu (names of layout shapes, see :func:`map_marks`).
SELECTION_MARKS = tuple(f"posterior {k} sigma" for k in POSTERIOR_SIGMAS) + ("selected digit",)
#: The map's mark of the decoder's z (a star).
STAR_MARK = "decoder z"
#: Radius in pixels of the ring around the selected digit.
RING_RADIUS_PX = 7
#: Outer radius in pixels of the decoder's star.
STAR_RADIUS_PX = 10


def _star_path(radius: float = STAR_RADIUS_PX, points: int = 5) -> str:
    """A closed star outline as an SVG path in pixels around (0, 0), a point upwards."""
    angles = np.pi / 2 + np.arange(2 * points) * np.pi / points
    r = np.where(np.arange(2 * points) % 2 == 0, radius, 0.45 * radius)
    xy = np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1).round(2)
    return "M " + " L ".join(f"{x:g},{y:g}" for x, y in xy) + " Z"


def map_marks(selected: tuple[np.ndarray, np.ndarray | None] | None,
              z_marker: tuple[float, float] | None) -> list[dict]:
    """The latent map's marks as Plotly layout shapes, each named (``name``) by one of
    :data:`SELECTION_MARKS` or :data:`STAR_MARK`; only the marks shown.

    Shapes, not traces: they are drawn above the WebGL points (``layer="above"``) and a
    new position is a relayout of the shapes alone, not a redraw of 10,000 points.

    Args:
        selected: (mu (2,), sigma (2,) or None) of the clicked digit: a ring of
            :data:`RING_RADIUS_PX` pixels around mu and, when sigma is given, the 1- and
            2-sigma contours of q(z|x) = N(mu, diag sigma^2), the axis-aligned ellipses
            with half-axes k * sigma (solid, dashed).
        z_marker: the decoder's z, marked by a star of :data:`STAR_RADIUS_PX` pixels.
    """
    shapes = []
    line = {"color": "black"}
    if selected is not None:
        mu, sigma = (None if v is None else np.asarray(v, dtype=np.float64) for v in selected)
        if sigma is not None:
            for k in POSTERIOR_SIGMAS:
                shapes.append({"type": "circle", "name": f"posterior {k} sigma", "layer": "above",
                               "xref": "x", "yref": "y",
                               "x0": float(mu[0] - k * sigma[0]), "x1": float(mu[0] + k * sigma[0]),
                               "y0": float(mu[1] - k * sigma[1]), "y1": float(mu[1] + k * sigma[1]),
                               "line": {**line, "width": 2, "dash": "solid" if k == 1 else "dash"}})
        shapes.append({"type": "circle", "name": "selected digit", "layer": "above", "xref": "x", "yref": "y",
                       "xsizemode": "pixel", "ysizemode": "pixel",
                       "xanchor": float(mu[0]), "yanchor": float(mu[1]),
                       "x0": -RING_RADIUS_PX, "x1": RING_RADIUS_PX, "y0": -RING_RADIUS_PX, "y1": RING_RADIUS_PX,
                       "line": {**line, "width": 3}})
    if z_marker is not None:
        shapes.append({"type": "path", "name": STAR_MARK, "layer": "above", "xref": "x", "yref": "y",
                       "xsizemode": "pixel", "ysizemode": "pixel",
                       "xanchor": float(z_marker[0]), "yanchor": float(z_marker[1]), "path": _star_path(),
                       "line": {**line, "width": 2}})
    return shapes


def latent_map(
    xy: np.ndarray,
    labels: np.ndarray,
    axis_names: tuple[str, str] = ("z1", "z2"),
    ranges=None,
    selected: tuple[np.ndarray, np.ndarray | None] | None = None,
    z_marker: tuple[float, float] | None = None,
    grid_z: np.ndarray | None = None,
    prior_circles: bool = False,
    overlays: tuple["MapOverlay", ...] | list = (),
    catcher: bool = True,
    zoom: tuple[tuple[float, float], tuple[float, float]] | None = None,
    font_size: int | None = None,
    heatmap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    marks_in_page: bool = False,
) -> go.Figure:
    """The explorer's latent map: :func:`explorer.ui.figures.latent_scatter` plus click catcher and overlays.

    Trace order (selection events report ``curve_number``): 0-9 the digits, then with
    ``ranges`` the click catcher (:data:`CATCHER_TRACE`), then the overlays.

    Args:
        xy: (N, 2) map coordinates (mu of a 2-D latent space).
        labels: (N,) digits.
        axis_names: axis titles.
        ranges: two ``LatentRange`` of the map's coordinates: fixes the axes to them and
            adds the click catcher; None for neither.
        selected: (mu (2,), sigma (2,) or None) of the clicked digit: highlighted, with
            its posterior's 1- and 2-sigma ellipses when sigma is given.
        z_marker: the decoder's current z, drawn as a star.
        grid_z: (n * n, 2) manifold grid codes, drawn as small crosses.
        prior_circles: draw the prior N(0, I)'s 1-, 2- and 3-sigma circles.
        overlays: further codes to mark (prior samples, interpolation paths, a
            posterior cloud), drawn above the digits in this order.
        catcher: add the click catcher (with ``ranges``); off where a click on empty
            space has no meaning.
        zoom: ((x_low, x_high), (y_low, y_high)) axis ranges that override ``ranges``,
            e.g. to show one posterior large.
        font_size: font size in pixels of ticks, titles and legend (None: Plotly's).
        heatmap: (z1 (n,), z2 (n,), scores (n, n)) of ``explorer.core.holes.score_grid``,
            drawn beneath the points by :func:`add_score_heatmap` (added last, so the
            other traces keep their numbers).
        marks_in_page: leave the selection's and the star's shapes (:func:`map_marks`) to
            the page (``explorer.ui.components.map_marks``): the figure then stays the same when only
            the selection or the decoder's z changes. ``selected`` and ``z_marker`` must
            be None.

    Returns:
        A ``go.Figure``.

    Raises:
        ValueError: ``marks_in_page`` with ``selected`` or ``z_marker``.
    """
    from explorer.core.latent import posterior_ellipse

    if marks_in_page and (selected is not None or z_marker is not None):
        raise ValueError("with marks_in_page the page draws the selection and the star (map_marks)")
    fig = latent_scatter(xy, labels, axis_names=axis_names)
    if ranges is not None:
        if catcher:
            fig.add_trace(catcher_trace(ranges, axis_names))
        fig.update_layout(
            # the legend under the x axis: Plotly's toolbar stands down the right edge from the
            # top (across the top it covered the legend, the digit toggles, whenever the mouse
            # was over the map), and beside it 14 px legend entries ran under its icons
            legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "title": None},
            modebar={"orientation": "v"}, margin={"l": 40, "r": 10, "t": 30, "b": 40}, height=LATENT_MAP_HEIGHT,
            xaxis={"range": [ranges[0].low, ranges[0].high], "constrain": "domain"},
            yaxis={"range": [ranges[1].low, ranges[1].high], "constrain": "domain"},
        )
    if prior_circles:
        for k in PRIOR_SIGMAS:
            fig.add_trace(_line(posterior_ellipse(np.zeros(2), np.ones(2), k), f"prior {k} sigma", "grey", "dot"))
    if grid_z is not None:
        fig.add_trace(go.Scattergl(
            x=grid_z[:, 0], y=grid_z[:, 1], mode="markers", name=GRID_OVERLAY_NAME, showlegend=False,
            marker={"symbol": "cross-thin", "size": 7, "line": {"width": 1, "color": "black"}},
            hovertemplate="grid cell<br>z1 %{x:.2f}<br>z2 %{y:.2f}<extra></extra>",
        ))
    for overlay in overlays:
        fig.add_trace(overlay.trace())
    if zoom is not None:
        fig.update_layout(xaxis={"range": list(zoom[0]), "constrain": "domain"},
                          yaxis={"range": list(zoom[1]), "constrain": "domain"})
    if font_size is not None:
        # explicit per-axis sizes: Streamlit's chart theme sets its own tick and title fonts
        readable(fig, font_size).update_layout(title_font_size=font_size + 2)
    if not marks_in_page:
        fig.update_layout(shapes=map_marks(selected, z_marker))
    if heatmap is not None:
        add_score_heatmap(fig, *heatmap)
    return fig


HEATMAP_NAME = "looks like a real digit"
#: The fill below 0.5, the judge's threshold (:func:`explorer.ui.views.holes.realness`):
#: a hole (the image decoded there is not judged a real digit) is a dark veil over the map,
#: a place judged real is left clear, so the digits' colours read as they do without it.
#: (A grey ramp over the whole range, as before, painted most of both maps in near-equal
#: greys: the AE's holes and the VAE's filled disc did not stand out.)
HOLE_COLOR = "rgba(30,30,30,0.5)"
#: The holes' edge: the realness 0.5 contour, a thin line (a blur of tones hid where it ran).
HOLE_EDGE = {"width": 1, "color": "rgba(30,30,30,0.7)", "smoothing": 1.0}
#: The map's legend of the shading, in words: one line between the map's title and its plot
#: area, so it shows wherever the map's top does (two lines under the z1 axis ended below a
#: 1366x768 screen in the lesson); what "clear" means is its hover text.
HEATMAP_LEGEND = "<b><span style='color:rgb(30,30,30)'>\u25a0</span> dark</b> = a hole: decodes to no real digit"
HEATMAP_LEGEND_HOVER = "clear = decodes to a real-looking digit"
#: Room the heatmap's legend takes above the plot area (pixels added to the top margin).
HEATMAP_BAR_PX = 22


def add_score_heatmap(fig: go.Figure, z1: np.ndarray, z2: np.ndarray, scores: np.ndarray) -> go.Figure:
    """Add the holes' shading under a latent map's points: a dark veil where the judge
    says the decoded image is not a real digit, clear elsewhere, with a one-line legend
    in words above the plot area (:data:`HEATMAP_LEGEND`).

    A constraint ``go.Contour`` of the judged grid itself fills where it is below 0.5 (the
    threshold), edged by a thin smoothed line (a ``zsmooth`` heatmap drew straight seams and
    blurred cells where the score stayed near 0.5). It lies in the axes' SVG layer, beneath
    every WebGL trace, and takes no hover or clicks: the map's click catcher keeps working.

    Args:
        fig: a latent map (:func:`latent_map` or :func:`explorer.ui.figures.latent_scatter`).
        z1: (n,) grid points along z1 (spanning the plot's x range).
        z2: (m,) grid points along z2.
        scores: (m, n) realness in [0, 1] (0.5 at the judge's threshold,
            :func:`explorer.ui.views.holes.realness`), ``scores[i, j]`` at (z1[j], z2[i]).

    Returns:
        ``fig``, with the contour as its last trace and the legend as an annotation.
    """
    fig.add_trace(go.Contour(  # ">=" keeps the real part clear and fills the rest
        x=np.asarray(z1), y=np.asarray(z2), z=np.asarray(scores), name=HEATMAP_NAME, hoverinfo="skip",
        contours={"type": "constraint", "operation": ">=", "value": 0.5}, fillcolor=HOLE_COLOR, line=HOLE_EDGE,
        showscale=False))
    fig.add_annotation(text=HEATMAP_LEGEND, hovertext=HEATMAP_LEGEND_HOVER, name="holes legend", showarrow=False,
                       xref="paper", x=0.5, xanchor="center", yref="paper", y=1.0, yanchor="bottom", yshift=2)
    fig.update_layout(margin={"t": (fig.layout.margin.t or 30) + HEATMAP_BAR_PX})
    return fig


@dataclass(frozen=True)
class MapOverlay:
    """Codes to mark on the latent map: prior samples, an interpolation path, a cloud.

    Attributes:
        name: the trace name (hover shows it).
        z: (K, 2) codes.
        path: join them with a line (an interpolation path) instead of loose markers.
        color: marker and line colour.
        symbol: Plotly marker symbol.
        size: marker size in pixels.
    """

    name: str
    z: np.ndarray
    path: bool = False
    color: str = "black"
    symbol: str = "x"
    size: int = 9

    def trace(self) -> go.Scattergl:
        """The overlay as a WebGL trace (above the WebGL digits), without a legend entry."""
        z = np.asarray(self.z, dtype=np.float64).reshape(-1, 2)
        return go.Scattergl(
            x=z[:, 0], y=z[:, 1], mode="lines+markers" if self.path else "markers", name=self.name,
            showlegend=False, line={"color": self.color, "width": 3},
            marker={"symbol": self.symbol, "size": self.size, "color": self.color,
                    "line": {"width": 1, "color": "white"}},
            unselected={"marker": {"opacity": 1.0}},
            hovertemplate=f"{self.name}<br>z1 %{{x:.2f}}<br>z2 %{{y:.2f}}<extra></extra>",
        )
