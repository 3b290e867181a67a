"""The manifold grid (Kingma & Welling 2013, Figure 4): decoder means on a grid of z."""

from __future__ import annotations

import streamlit as st

from explorer.core.latent import GRID_MAX, GRID_MIN, SPACINGS
from explorer.ui import caches, figures
from explorer.ui.views.common import ModelView, new_selection

SPACING_HELP = ("paper: evenly spaced points on [0.05, 0.95] through the inverse Gaussian CDF "
                "(Kingma & Welling 2013, Figure 4); linear: evenly spaced over the range.")


@st.fragment
def manifold_panel(view: ModelView, height: int = 600, controls_beside: bool = False) -> None:
    """Live manifold grid with its controls (a fragment); a click on a cell moves the
    view's sliders to its z and reruns the page. ``height`` is the figure's in px.

    The controls stand in a column right of the grid with ``controls_beside``; else n and
    the spacing stand above it and the linear range below it, so that the grid starts
    high enough on the page for a 768 px high screen."""
    keys = view.keys
    points = new_selection(keys("manifold_chart"))
    z = figures.grid_click(points) if points else None
    if z is not None:
        view.set_state("last_click", figures.SpaceClick(z))
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
    png = caches.manifold_png(view.entry.key, view.model, codes, view.condition())
    fig = figures.manifold_figure(png, codes, cell=view.model.config.image_shape[-1], padding=caches.GRID_PADDING)
    fig.update_layout(height=height)
    with grid_area.container(key=keys("manifold_grid")):
        st.plotly_chart(fig, key=keys("manifold_chart"), on_select="rerun", selection_mode="points",
                        config={"displayModeBar": False})
    where = ("inverse Gaussian CDF of 0.05..0.95" if spacing == "paper" else f"linear {low:g}..{high:g}")
    with below:
        st.caption(f"{n} x {n} decoder means, z on a grid: {where}. z1 runs left to right, z2 bottom to top; "
                   "hover a cell for its z, click it to decode it with the sliders.")
        st.download_button("Download grid (PNG)", png, file_name=f"manifold_{n}x{n}_{spacing}.png",
                           mime="image/png", key=keys("download_grid"), on_click="ignore")
    drawn = view.state("map_drawn_state")
    if view.state("show_grid_on_map") and drawn and drawn.get("grid") != params:
        st.rerun(scope="app")
