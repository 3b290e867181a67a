"""What every view shares: its keys (:class:`ViewKeys`), the model it shows with its encodings
and slider ranges (:class:`ShownModel`), the reading of chart selections, and codes decoded into one
tiled image (:func:`decoded_codes`, the Compare page's tools).

A view's session keys and widget keys are ``prefix + name``; the Explorer and Manifold
pages use the empty prefix (so they share sliders and grid settings), a page that shows
two models gives each its own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer.core.images import tiled_png
from explorer.core.latent import Encodings, decode_z
from explorer.core.manifold import manifold_coordinates, manifold_z
from explorer.ui.figures.slider_ranges import LatentRange, latent_ranges
from explorer.ui.state import caches, session
from explorer.ui.figures.map_clicks import PointClick, SpaceClick
from explorer.ui.state.model_entry import ModelEntry

DEFAULT_GRID_N = 20
DEFAULT_GRID_SPACING = "paper"
#: Default "linear" grid range of a variational model: the prior's +-3 sigma.
PRIOR_GRID_RANGE = (-3.0, 3.0)


@dataclass(frozen=True)
class ViewKeys:
    """Session-state and widget keys of one view instance: ``keys("z1_slider")`` is
    ``prefix + "z1_slider"``.

    Attributes:
        prefix: prepended to every key ("" for the Explorer and Manifold pages).
    """

    prefix: str = ""

    def __call__(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def z_sliders(self) -> tuple[str, str]:
        return self("z1_slider"), self("z2_slider")

    @property
    def map_selector(self) -> str:
        """CSS selector of the view's latent map in the page (its Plotly graph div)."""
        return f".st-key-{self('map_panel')} .js-plotly-plot"

    def defaults(self) -> dict[str, object]:
        """Every state key of a view with its default value."""
        return {
            self("z1_slider"): 0.0, self("z2_slider"): 0.0,
            self("decoder_sample"): False, self("decoder_sample_seed"): 0,
            self("condition_label"): 0,
            self("grid_n"): DEFAULT_GRID_N, self("grid_spacing"): DEFAULT_GRID_SPACING,
            self("grid_range"): PRIOR_GRID_RANGE,
            self("marker_follows_sliders"): False, self("show_grid_on_map"): False,
            self("show_prior_on_map"): False, self("show_holes"): False,
            # the user has flipped "Show holes": their choice, not the page's default, holds
            self("show_holes_chosen"): False,
            # the last click on the map or grid: PointClick | SpaceClick | None
            self("last_click"): None,
            # the points of a click on the map that the page sent and no run has acted on yet
            self("map_click"): None,
            # set_slider_z moved the sliders since they were last drawn (see show_slider_z)
            self("sliders_moved"): False,
            # what the latent map shows now and the page it is on (see ShownModel.map_shows)
            self("map_shows"): {},
            # the model whose defaults the grid settings hold
            self("explorer_defaults_for"): None,
            # the label the manifold grid was last decoded with (conditional models), None before
            self("grid_drawn_label"): None,
        }

    def persistent(self) -> tuple[str, ...]:
        """Widget keys whose values carry over between pages."""
        return (*self.z_sliders, *(self(n) for n in (
            "decoder_sample", "condition_label", "grid_n", "grid_spacing", "grid_range",
            "marker_follows_sliders", "show_grid_on_map", "show_prior_on_map", "show_holes")))


@dataclass(frozen=True)
class ShownModel:
    """One model as a page shows it: the model bound to a set of views' keys (sliders,
    grid, click; one prefix), with its encodings of the test split and its slider ranges.
    Not a view itself: every view function takes one (argument ``view``) and draws from it.

    Create with :meth:`create` before the views' widgets are drawn.

    Attributes:
        entry: the model (from :mod:`explorer.ui.state.registry`).
        keys: the view's keys.
        encodings: the model's encodings of the MNIST test split.
        ranges: slider ranges of z1 and z2 (None unless the latent space is 2-D).
    """

    entry: ModelEntry
    keys: ViewKeys
    encodings: Encodings
    ranges: tuple[LatentRange, LatentRange] | None

    @classmethod
    def create(cls, entry: ModelEntry, prefix: str = "") -> "ShownModel":
        """Bind ``entry`` to the views with ``prefix``: set their state defaults, encode
        the test set (cached), and keep the slider and grid state valid for the model."""
        keys = ViewKeys(prefix)
        session.init_view_state(keys.defaults(), keys.persistent(), context=entry.key)
        model = entry.model
        encodings = caches.mnist_test_encodings(entry)
        ranges = (latent_ranges(encodings.mu, stochastic=model.is_variational)
                  if model.config.latent_dim == 2 else None)
        view = cls(entry, keys, encodings, ranges)
        if ranges is not None:
            view._fit_state_to_model()
        return view

    @property
    def model(self):
        return self.entry.model

    @property
    def is_2d(self) -> bool:
        return self.ranges is not None

    @property
    def variational(self) -> bool:
        return self.entry.model.is_variational

    def state(self, name: str):
        """The value of this view's session key ``name``."""
        return st.session_state[self.keys(name)]

    def set_state(self, name: str, value) -> None:
        st.session_state[self.keys(name)] = value

    def map_shows(self) -> dict:
        """What this view's latent map shows in the page now, for the fragments that move
        without the map (the sliders, the grid) to tell when it went stale: ``{"z": the
        star's z, "grid": (n, spacing, range) | None}``, either missing until recorded.
        Empty where the map was drawn on another page (the Explorer's, seen from the Manifold
        page, which shares its keys and draws no map), so no page clears it by hand."""
        shows = self.state("map_shows")
        if not shows or shows["page"] != st.session_state.get(session.PAGE_KEY):
            return {}
        return {name: value for name, value in shows.items() if name != "page"}

    def record_map_shows(self, **shown) -> None:
        """Record what this view's latent map shows from this run on (``z=``, ``grid=``),
        on this page (:meth:`map_shows`)."""
        self.set_state("map_shows", {**self.map_shows(), **shown, "page": st.session_state.get(session.PAGE_KEY)})

    # --- decoder z, condition, grid, click ------------------------------------------------

    def slider_z(self) -> tuple[float, float]:
        """The decoder sliders' current z."""
        return tuple(float(st.session_state[k]) for k in self.keys.z_sliders)

    def set_slider_z(self, z) -> None:
        """Move the decoder sliders to ``z`` (snapped to their steps); call before they are
        drawn, or in a callback (their panel then calls :meth:`show_slider_z`)."""
        for key, r, value in zip(self.keys.z_sliders, self.ranges, z):
            st.session_state[key] = r.snap(value)
        self.set_state("sliders_moved", True)

    def show_slider_z(self) -> None:
        """Call just before the sliders are drawn: a move by :meth:`set_slider_z` reaches
        the page. Where a callback moved them and reran only some fragments
        (``st.rerun(<fragment keys>)``, a click on the Explorer's map), Streamlit 1.67 starts
        that run with the callback's values already kept as old state, so the sliders were
        sent without their new value (``set_value``): the page showed, and sent back, the
        old z. Setting the same values again in the run that draws them sends them."""
        if self.state("sliders_moved"):
            self.set_state("sliders_moved", False)
            for key in self.keys.z_sliders:
                st.session_state[key] = st.session_state[key]

    def condition(self) -> int | None:
        """The label the decoder is conditioned on (conditional models), else None."""
        return int(self.state("condition_label")) if self.model.is_conditional else None

    def grid_params(self) -> tuple[int, str, tuple[float, float]]:
        """(n, spacing, (low, high)) of the manifold grid, from its widgets' state."""
        low, high = self.state("grid_range")
        return int(self.state("grid_n")), self.state("grid_spacing"), (float(low), float(high))

    @staticmethod
    def grid_codes(params: tuple[int, str, tuple[float, float]]) -> np.ndarray:
        """(n * n, 2) codes of the manifold grid for :meth:`grid_params`."""
        n, spacing, (low, high) = params
        return manifold_z(manifold_coordinates(n, spacing, low, high))

    def click(self) -> PointClick | SpaceClick | None:
        """The last click on this view's map or grid."""
        return self.state("last_click")

    def grid_range_bounds(self) -> LatentRange:
        """Limits and step of the grid's "linear" range slider: both axes' ranges."""
        return LatentRange(min(r.low for r in self.ranges), max(r.high for r in self.ranges),
                           max(r.step for r in self.ranges))

    def grid_range_default(self) -> tuple[float, float]:
        """Default "linear" grid range: the prior's +-3 sigma with a prior, else the codes' extent."""
        if self.variational:
            return PRIOR_GRID_RANGE
        bounds = self.grid_range_bounds()
        return bounds.low, bounds.high

    def _fit_state_to_model(self) -> None:
        """Clamp (and snap) the z sliders into the ranges; when the model changes, reset
        the grid to the model's default (with a prior: "paper" spacing and range +-3;
        without one: "linear" over its codes' extent, since the paper's inverse-CDF grid
        (+-1.64) would cover a speck of a prior-less code space)."""
        # Only changed values are written: writing a widget's key sends the value to the
        # browser, which would undo a slider moved while this run was under way.
        for key, r in zip(self.keys.z_sliders, self.ranges):
            value = st.session_state.get(key)
            snapped = r.snap(0.0 if value is None else value)
            if value is None or snapped != value:
                st.session_state[key] = snapped
        if self.state("explorer_defaults_for") != self.entry.key:
            self.set_state("explorer_defaults_for", self.entry.key)
            self.set_state("grid_range", self.grid_range_default())
            self.set_state("grid_spacing", "paper" if self.variational else "linear")
        low, high = self.state("grid_range")
        bounds = self.grid_range_bounds()
        fitted = (max(low, bounds.low), min(high, bounds.high))
        fitted = fitted if fitted[0] < fitted[1] else self.grid_range_default()
        if tuple(fitted) != (low, high):
            self.set_state("grid_range", fitted)


def _click_layout(fig, clickmode: str) -> None:
    """State the chart's click behaviour in its own layout: ``clickmode``, hovermode
    "closest" and, unless the figure sets one, dragmode "pan".

    Streamlit's chart component would add these in an effect after its first draw; its
    element id changes with the figure, so a chart drawn anew after a click could get a
    figure update that Plotly reported in between, with the layout without them, for good:
    the map then zoomed on drag and ignored every later click (``bench.browser
    --click-only`` lost up to 3 clicks in 15).
    """
    fig.update_layout(clickmode=clickmode, hovermode="closest")
    if fig.layout.dragmode is None:
        fig.update_layout(dragmode="pan")


def point_select_chart(fig, key: str, config: dict | None = None) -> None:
    """Draw ``fig`` as a chart whose clicks on points rerun the app; the selection is in
    ``st.session_state[key]`` (read it with :func:`new_selection`)."""
    _click_layout(fig, "event+select")
    st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points", config=config or {})


def page_click_chart(fig, key: str, config: dict | None = None) -> None:
    """Draw ``fig`` as a chart whose clicks the page reports (``plotly_click``, clickmode
    "event", no Plotly selection): :mod:`explorer.ui.components.map_marks` sends them.

    Plotly counts two mousedowns less than 300 ms apart as a double-click wherever they
    are, and its default double-click ("reset+autosize") autoranges axes that are at their
    initial ranges: two quick clicks on two digits widened the map's axes (-4..5 became
    -4.8..5.8), and as a click reruns only its fragments, no page run sent the map again to
    put them back; the second click and later ones at a digit's place on the page as it was
    landed on another point or on empty space. A double-click here only resets the axes to
    the figure's ranges (after a zoom or pan)."""
    _click_layout(fig, "event")
    st.plotly_chart(fig, key=key, config={**(config or {}), "doubleClick": "reset"})


def new_selection(chart_key: str) -> list[dict] | None:
    """The points of chart ``chart_key``'s selection if it changed since last asked, else None.

    A Plotly selection stays in session state across reruns; this reports each one once.
    """
    state = st.session_state.get(chart_key)
    try:
        points = list(state.selection.points)
    except AttributeError:
        return None
    signature = tuple((p.get("curve_number"), p.get("point_index"), p.get("x"), p.get("y")) for p in points)
    seen = st.session_state[session.SEEN_SELECTIONS_KEY]
    if seen.get(chart_key) == signature:
        return None
    seen[chart_key] = signature
    return points


# --- Decoded codes, as the Compare page's tools show them ---------------------------------

#: Decoded prior samples and cloud draws are shown at 2x (56 px a digit), this many a row.
SAMPLE_SCALE = 2
SAMPLES_PER_ROW = 8
#: The most codes a tool draws and decodes at once (prior samples, cloud draws).
MAX_K = 256


def decoded_codes(view: ShownModel, z: np.ndarray, name: str, caption: str, nrow: int = SAMPLES_PER_ROW,
                  scale: int = SAMPLE_SCALE) -> torch.Tensor:
    """Decoder means of ``z`` as one image (:func:`explorer.core.images.tiled_png`) in a
    container keyed ``<prefix><name>``. Returns the (K, C, H, W) decoded images, pixels in [0, 1]."""
    images = decode_z(view.model, z, y=view.condition())
    with st.container(key=view.keys(name)):
        st.image(tiled_png(images, nrow=min(nrow, len(z)), scale=scale), output_format="PNG", caption=caption)
    return images

