"""The latent map: the test set's encoder means mu, with click catcher and overlays."""

from __future__ import annotations

import functools

import streamlit as st

from explorer.core.latent import project_2d
from explorer.ui.figures.slider_ranges import latent_ranges
from explorer.ui.components import browser_decoder, map_marks, viewport
from explorer.ui.figures import map_clicks, map_figure
from explorer.ui.page import layout
from explorer.ui.views.common import ShownModel, page_click_chart


def new_map_click(view: ShownModel, catcher: bool = True) -> map_clicks.PointClick | map_clicks.SpaceClick | None:
    """The click on the view's map that no run has acted on yet (sent by the page,
    :mod:`explorer.ui.components.map_marks`), or None; each click is reported once. A click that is
    not one of the view's test digits or a usable z (malformed, or an index beyond the
    test set) counts as none.

    Args:
        view: the model's views.
        catcher: clicks on empty space count (:func:`explorer.ui.figures.map_clicks.map_click`).
    """
    points = view.state("map_click")
    if points is None:
        return None
    view.set_state("map_click", None)
    click = map_clicks.map_click(points, catcher=catcher) if isinstance(points, list) else None
    if isinstance(click, map_clicks.PointClick) and click.index >= len(view.encodings.labels):
        return None
    return click


def handle_map_selection(view: ShownModel) -> None:
    """Act on a new click on the view's map: remember it and move the sliders to its z.
    Call before the sliders are drawn, so a click moves them in the same run."""
    click = new_map_click(view)
    if click is None:
        return
    view.set_state("last_click", click)
    if view.is_2d:
        view.set_slider_z(view.encodings.mu[click.index] if isinstance(click, map_clicks.PointClick) else click.z)


def handle_linked_selection(views: list[ShownModel], on_digit=None) -> int | None:
    """Link the views' maps: a new click on a digit in any map selects that test digit
    in every view (all views show the same MNIST test split, so an index is one digit).
    Clicks on anything but a digit are ignored. Call before the maps are drawn.

    Args:
        views: the linked views (each with its own prefix).
        on_digit: called with the index of a newly clicked digit (e.g. to set path ends).

    Returns:
        The index of the selected digit (new or kept from before), or None.
    """
    index = None
    for view in views:
        click = new_map_click(view, catcher=False)
        if isinstance(click, map_clicks.PointClick):
            index = click.index
    if index is not None:
        for view in views:
            view.set_state("last_click", map_clicks.PointClick(index))
        if on_digit is not None:
            on_digit(index)
    clicks = [view.click() for view in views]
    selected = [c.index for c in clicks if isinstance(c, map_clicks.PointClick)]
    if len(selected) != len(views) or len(set(selected)) != 1:  # views out of step: one selection for all
        keep = selected[0] if selected else None
        for view in views:
            view.set_state("last_click", None if keep is None else map_clicks.PointClick(keep))
        return keep
    return selected[0]


def map_overlay_toggles(view: ShownModel) -> None:
    """The map's overlay switches, in three columns."""
    keys = view.keys
    cols = st.columns(3)
    cols[0].toggle("Prior 1/2/3-sigma circles", key=keys("show_prior_on_map"),
                   help="Circles of radius 1, 2 and 3 around 0: where the prior p(z) = N(0, I) puts "
                        "39%, 86% and 99% of its mass.")
    if not view.is_2d:  # no grid, no sliders: nothing else to overlay
        return
    cols[1].toggle("Grid sample locations on the map", key=keys("show_grid_on_map"),
                   help="Each cross is the z of one manifold grid cell.")
    if view.is_2d and browser_decoder.browser_payload(view.entry) is not None:
        cols[2].caption("The star follows the sliders; hover the map to decode the z under the cursor.")
        view.set_state("marker_follows_sliders", False)  # the page moves the star itself
    else:  # decoded on the server: moving the star costs a redraw of the map
        cols[2].toggle("Map marker follows the sliders", key=keys("marker_follows_sliders"),
                       help="Off: the star shows the z of the last click or page run; the sliders stay fast. "
                            "On: every slider step also reruns the page to move the star.")


def record_map_state(view: ShownModel) -> tuple[tuple[float, float] | None, tuple | None]:
    """What the map will show of the other views (decoder z, grid): remembered so they
    can rerun the page when it goes stale. Returns (z_marker, grid params or None)."""
    grid = view.grid_params() if view.is_2d and view.state("show_grid_on_map") else None
    z_marker = view.slider_z() if view.is_2d else None
    view.record_map_shows(z=z_marker, grid=grid)
    return z_marker, grid


#: The Explorer's map figure height in px by window size class (explorer.ui.components.viewport) and
#: presentation mode. The map has no legend of its own (the page's one-row colour key, under
#: it, names the colours), so the figure is its square plot area plus the axes' margins (50 px
#: high, 70 px wide with the toolbar's column on the right). A laptop's 1366x768 window: the
#: map column is about 420 px wide, and the height leaves room under the map for the key and
#: the click's strip (original, reconstruction, terms), inside the screen: a plot area of
#: about 315 px (presenting, with 20 px text in the strip: 300 px). A 1920x1080 projector: a
#: plot area of about 550 px.
EXPLORER_MAP_HEIGHTS = {(False, "small"): 378, (False, "large"): 640, (True, "small"): 390, (True, "large"): 690}


def explorer_map_height(presenting: bool, screen: str) -> int:
    """The Explorer's map figure height in px (:data:`EXPLORER_MAP_HEIGHTS`) for presentation
    mode on or off and the window's size class (``explorer.ui.components.viewport.SMALL`` or ``LARGE``)."""
    return EXPLORER_MAP_HEIGHTS[(bool(presenting), screen)]


def square_ranges(ranges) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges with the span of the wider of ``ranges`` on both axes, same centres."""
    half = max(r.high - r.low for r in ranges) / 2
    return tuple((c - half, c + half) for c in ((r.low + r.high) / 2 for r in ranges))


def latent_map_view(view: ShownModel, z_marker=None, grid=None, overlays=(), catcher: bool = True,
                    prior_circles: bool | None = None, height: int | None = None,
                    font_size: int | None = None, title: str | None = None, legend: bool = True,
                    modebar: bool = True, holes=None, square: bool = False, annotations=(),
                    tight: bool = False, marks: bool = True) -> None:
    """The map (a Plotly chart in a container keyed ``<prefix>map_panel``), its
    selected digit and star drawn by the page (:func:`map_marks_view`).

    Args:
        view: the model's views.
        z_marker: the decoder's z to mark with a star (see :func:`record_map_state`).
        grid: manifold grid params whose cells to overlay, or None.
        overlays: :class:`explorer.ui.figures.map_figure.MapOverlay` s to draw (samples, paths).
        catcher: clicks on empty space decode the z there (the Explorer); False where
            only digits are clickable.
        prior_circles: draw the prior's circles; None follows the view's toggle.
        height: figure height in pixels (None: the figure's default).
        font_size: font size of ticks, titles and legend (None: Plotly's).
        title: figure title (e.g. the model's name), or None.
        legend: show the digits' legend (off where the page shows one colour key).
        modebar: show Plotly's toolbar (zoom, pan, reset, download).
        holes: (z1, z2, scores) digit-score grid to draw beneath the points
            (:func:`explorer.ui.views.holes.holes_panel` returns it), or None.
        square: show equal spans on both axes (the shorter range widened about its
            centre), so the map's plot area is square and as large as its column allows
            (an AE's wide, flat ranges left it short).
        annotations: Plotly annotation dicts to add (the lesson's arrows and labels).
        tight: axis titles 4 px from their tick labels and no padding between the plot area
            and its axes (Plotly's defaults, 20 px and 8 px, took 36 px of a 365 px map); the
            x tick labels 6 px below the axis, clear of the y axis' lowest label.
        marks: draw the marks and catch the clicks here; False where the caller draws
            them with :func:`map_marks_view` (in a fragment that a click reruns).
    """
    if not viewport.known():  # a browser's first run: the window's size class is on its way (its own rerun)
        with st.container(key=view.keys("map_panel")):
            st.container(height=height or map_figure.LATENT_MAP_HEIGHT, border=False)  # the map's room, empty
        return
    encodings = view.encodings
    xy, axis_names = project_2d(encodings.mu)
    ranges = view.ranges
    if not view.is_2d:  # a projected map: axes over the projected codes, a click decodes back-projected z
        ranges = latent_ranges(xy, stochastic=False)
    fig = map_figure.latent_map(
        xy, encodings.labels, axis_names=axis_names, ranges=ranges, marks_in_page=True,
        grid_z=view.grid_codes(grid) if grid else None,
        prior_circles=view.state("show_prior_on_map") if prior_circles is None else prior_circles,
        overlays=overlays, catcher=catcher, font_size=layout.plot_font_size(font_size), heatmap=holes,
        zoom=square_ranges(ranges) if square and ranges is not None else None,
    )
    for annotation in annotations:
        fig.add_annotation(**annotation)
    if height is not None:
        fig.update_layout(height=height)
    if not legend:  # the plot area takes the legend's room; the toolbar keeps a column right of it
        top = (30 if title else 10) + (map_figure.HEATMAP_BAR_PX if holes is not None else 0)  # the holes' legend
        fig.update_layout(showlegend=False, margin={"t": top, "r": 30 if modebar else 10})
    if tight:
        fig.update_layout(margin_pad=0, xaxis_title_standoff=4, yaxis_title_standoff=4, xaxis_ticklabelstandoff=6)
    if title is not None:
        fig.update_layout(title={"text": title, "x": 0.5, "xanchor": "center", "y": 0.995, "yanchor": "top"})
    with st.container(key=view.keys("map_panel")):
        page_click_chart(fig, view.keys("latent_map"), config={"displaylogo": False, "displayModeBar": modebar})
        if marks:
            map_marks_view(view, z_marker)


def _act_and_rerun(view: ShownModel, fragments: list[str]) -> None:
    """A click's callback where it reruns only ``fragments``: act on it now, before they run."""
    handle_map_selection(view)
    st.rerun(fragments)


def map_marks_view(view: ShownModel, z_marker=None, rerun: tuple[str, ...] = (),
                   star_follows_sliders: bool = False) -> None:
    """The view's map marks, put on its map by the page: the selected digit (ring; its
    posterior's ellipses on a 2-D map) and the star at ``z_marker``; and the map's clicks
    (:mod:`explorer.ui.components.map_marks`, element ``<prefix>map_marks``). A click leaves the map's
    figure as it was.

    Args:
        view: the model's views.
        z_marker: the decoder's z to mark with a star; on a projected map, None stars a
            clicked point of empty space.
        rerun: keys of the fragments (``st.fragment(key=...)``) that a click reruns
            instead of the page (or of the fragment this is drawn in); the click is then
            acted on in its callback (:func:`handle_map_selection`), before they run.
            Empty: the click reruns the page, which acts on it.
        star_follows_sliders: the page moves the star with the view's z sliders, without a
            rerun (where the page decodes their z itself, :mod:`explorer.ui.components.browser_decoder`).
    """
    encodings = view.encodings
    click = view.click()
    selected = None
    if isinstance(click, map_clicks.PointClick):
        sigma = encodings.sigma
        if view.is_2d:
            selected = (encodings.mu[click.index], sigma[click.index] if sigma is not None else None)
        else:
            selected = (project_2d(encodings.mu)[0][click.index], None)
    elif isinstance(click, map_clicks.SpaceClick) and not view.is_2d and z_marker is None:
        z_marker = click.z
    map_marks.map_marks(view.keys("map_marks"), view.keys.map_selector, map_figure.map_marks(selected, z_marker),
                        click_key=view.keys("map_click"),
                        on_click=functools.partial(_act_and_rerun, view, list(rerun)) if rerun else None,
                        sliders=view.keys.z_sliders if star_follows_sliders else ())
