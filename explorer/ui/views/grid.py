"""The manifold grid (Kingma & Welling 2013, Figure 4): decoder means on a grid of z."""

from __future__ import annotations

import streamlit as st

from explorer.core.manifold import GRID_MAX, GRID_MIN, SPACINGS, manifold_coordinates
from explorer.ui.components import browser_decoder, browser_grid
from explorer.ui.figures import charts, map_clicks, map_figure
from explorer.ui.state import caches
from explorer.ui.views.common import ShownModel, new_selection, point_select_chart

SPACING_HELP = ("paper: evenly spaced points on [0.05, 0.95] through the inverse Gaussian CDF "
                "(Kingma & Welling 2013, Figure 4); linear: evenly spaced over the range.")


def _on_grid_cell(view: ShownModel) -> None:
    """A click on a cell of the grid canvas (``browser_grid``): decode its z with the sliders."""
    cell = getattr(st.session_state.get(view.keys("manifold_canvas")), "cell", None)
    if cell:
        z = (float(cell["z"][0]), float(cell["z"][1]))
        view.set_state("last_click", map_clicks.SpaceClick(z))
        view.set_slider_z(z)


@st.fragment
def manifold_panel(view: ShownModel, height: int = 600, controls_beside: bool = False,
                   fit_below: int | None = None) -> None:
    """Live manifold grid with its controls (a fragment); a click on a cell moves the
    view's sliders to its z and reruns the page.

    The grid is drawn on a canvas from raw pixels (``browser_grid``), and its overlay on
    the latent map moves in the page; for a decoder the page holds (``browser_decoder``,
    sent by the view's decoder panel), a new n, spacing or range is decoded and drawn in
    the page (WebGL2) before this fragment's rerun brings the same pixels; with ``EXPLORER_BROWSER_DECODER=0`` it is the
    Plotly figure of a PNG as before, and a changed overlay reruns the page.

    Args:
        view: the model's views.
        height: the grid's largest side in CSS pixels.
        controls_beside: the controls stand in a column right of the grid; else n and the
            spacing stand above it and the linear range below it, so that the grid starts
            high enough on the page for a 768 px high screen.
        fit_below: the canvas also keeps within the window's height less this many CSS
            pixels (so a page's grid fits on the screen), or None.
    """
    keys = view.keys
    canvas = browser_decoder.enabled()
    points = None if canvas else new_selection(keys("manifold_chart"))
    z = charts.grid_click(points) if points else None
    if z is not None:
        view.set_state("last_click", map_clicks.SpaceClick(z))
        view.set_slider_z(z)
        st.rerun(scope="app")
    if controls_beside:
        grid_area, above = st.columns([3, 1])
        below = above
    else:
        above, grid_area, below = st.container(), st.container(), st.container()
    above.slider("Grid n x n", GRID_MIN, GRID_MAX, key=keys("grid_n"), help="Cells per row and column.")
    above.radio("Spacing", SPACINGS, key=keys("grid_spacing"), help=SPACING_HELP, horizontal=True)
    bounds = view.grid_range_bounds()
    below.slider("Linear range (z1 and z2)", bounds.low, bounds.high, step=bounds.step, key=keys("grid_range"),
                 disabled=view.state("grid_spacing") != "linear", format="%.2f",
                 help="The z range the linear grid covers on both axes.")
    params = view.grid_params()
    n, spacing, (low, high) = params
    codes = view.grid_codes(params)
    view.set_state("grid_drawn_label", view.condition())
    drawn = view.map_shows()
    if canvas:
        overlay = ({"map": keys.map_selector, "trace": map_figure.GRID_OVERLAY_NAME}
                   if view.state("show_grid_on_map") else None)
        shape = view.model.config.image_shape
        in_page = browser_decoder.browser_payload(view.entry)  # the page redraws the grid itself (WebGL2)
        controls = {"n": keys("grid_n"), "spacing": keys("grid_spacing"), "range": keys("grid_range")}
        description = browser_grid.describe(n, spacing, low, high, manifold_coordinates(n, spacing, low, high),
                                            shape, caches.GRID_PADDING, height, overlay,
                                            model=view.entry.label, fit_below=fit_below,
                                            net=in_page[1] if in_page else None, y=view.condition(),
                                            controls=controls)
        payload = caches.grid_payload(view.entry, codes, view.condition(), description)
        with grid_area.container(key=keys("manifold_grid")):
            clicked = browser_grid.grid_canvas(payload, keys("manifold_canvas"),
                                               on_cell=lambda: _on_grid_cell(view))
        if getattr(clicked, "cell", None):
            st.rerun(scope="app")  # the map's star, the click panel and the sliders show the cell's z
    else:
        png = caches.manifold_png(view.entry, codes, view.condition())
        fig = charts.manifold_figure(png, codes, cell=view.model.config.image_shape[-1],
                                      padding=caches.GRID_PADDING)
        fig.update_layout(height=height)
        with grid_area.container(key=keys("manifold_grid")):
            point_select_chart(fig, keys("manifold_chart"), config={"displayModeBar": False})
    where = ("inverse Gaussian CDF of 0.05..0.95" if spacing == "paper" else f"linear {low:g}..{high:g}")
    entry, y = view.entry, view.condition()
    with below:
        st.caption(f"{n} x {n} decoder means, z on a grid: {where}. z1 runs left to right, z2 bottom to top; "
                   "hover a cell for its z, click it to decode it with the sliders.")
        # the PNG is made when the button is pressed (deferred data), not on every change of the grid
        st.download_button("Download grid (PNG)", lambda: caches.manifold_png(entry, codes, y),
                           file_name=f"manifold_{n}x{n}_{spacing}.png", mime="image/png",
                           key=keys("download_grid"), on_click="ignore")
    if view.state("show_grid_on_map") and drawn and drawn.get("grid") != params:
        if canvas:  # the page moved the overlay (browser_grid.js): the map now shows these cells
            view.record_map_shows(grid=params)
        else:
            st.rerun(scope="app")
