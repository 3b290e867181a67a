"""Latent traversals of one model (a :class:`ShownModel`): each latent dimension swept
while the others stay at a test digit's code, one row of decoded images per dimension.

The view for models whose latent space has more than two dimensions, where no manifold
grid or pair of z sliders can show the decoder: the Latent size page, and the Explorer
and Manifold pages for such a model. Keys: ``<prefix>traversal_digit``,
``<prefix>traversal_steps`` (widgets), ``<prefix>traversal`` (container) and
``<prefix>traversal_chart`` (the figure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.core.model_kinds import TRAVERSAL_RANGE, traversal_codes
from explorer.core.images import png_bytes, tiled_png, upscale_nearest
from explorer.core.latent import decode_z
from explorer.ui.state import caches, session
from explorer.ui.state.caches import mnist_test_latent_usage
from explorer.ui.figures.model_kind_figures import image_rows_figure
from explorer.ui.figures.map_clicks import PointClick
from explorer.ui.views.common import ShownModel

#: A model without a posterior is swept over mean(mu_d) +- this many std(mu_d) on the test set.
CODE_SPREAD_SIGMAS = 3.0
DEFAULT_STEPS = 9
TRAVERSAL_HELP = ("A latent space of more than two dimensions has no plane to tile with a manifold grid: a "
                  "traversal changes one latent dimension at a time, starting from one digit's code, to show "
                  "what each dimension does to the image.")


@dataclass(frozen=True)
class TraversalPlan:
    """Which dimensions a traversal sweeps, in which order, over which values.

    Attributes:
        order: (latent_dim,) dimensions, most used first (rows top to bottom).
        spans: (latent_dim, 2) low and high of each dimension's sweep (indexed by dimension).
        row_labels: one label per row, in ``order``.
        by_kl: True when sorted by KL per dimension (a model with a posterior), False when
            by the variance of mu over the test set.
    """

    order: np.ndarray
    spans: np.ndarray
    row_labels: list[str]
    by_kl: bool


def traversal_plan(view: ShownModel) -> TraversalPlan:
    """Rows of a traversal for the view's model.

    With a posterior: rows sorted by KL per dimension on the test set (nats, Kingma &
    Welling 2013, Appendix B, term by term), each swept over the prior's +-3 sigma.
    Without one (an AE has no prior to sweep over): sorted by the variance of mu_d over
    the 10,000 test digits, each swept over its mean +- 3 standard deviations.
    """
    mu = view.encodings.mu.astype(np.float64)
    latent_dim = mu.shape[1]
    if view.variational:
        kl = mnist_test_latent_usage(view.entry).kl_per_dimension.numpy()
        order = np.argsort(-kl, kind="stable")
        spans = np.tile(np.asarray(TRAVERSAL_RANGE, dtype=np.float64), (latent_dim, 1))
        return TraversalPlan(order, spans, [f"z{d + 1}: {kl[d]:.1f} nats" for d in order], True)
    mean, std = mu.mean(axis=0), mu.std(axis=0)
    order = np.argsort(-std, kind="stable")
    spans = np.stack([mean - CODE_SPREAD_SIGMAS * std, mean + CODE_SPREAD_SIGMAS * std], axis=1)
    return TraversalPlan(order, spans, [f"z{d + 1}: var {std[d] ** 2:.2g}" for d in order], False)


def _start_digit(view: ShownModel, n_images: int, with_click: bool) -> int:
    """The clicked digit when there is one (and ``with_click``), else an index input."""
    click = view.click() if with_click else None
    if isinstance(click, PointClick):
        st.caption(f"Starts from test digit {click.index}, the one clicked on the map; click another digit "
                   "to change it.")
        return click.index
    return int(st.number_input("Test digit (index)", 0, n_images - 1, key=view.keys("traversal_digit"),
                               help="The digit whose code mu the traversal starts from"
                                    + (" (or click a digit on the map)." if with_click else ".")))


def traversal_panel(view: ShownModel, name: str, *, layout: str = "side", with_click: bool = True,
                    scale: float | None = None) -> None:
    """A latent traversal of the view's model: each row sweeps one latent dimension z_d,
    every other dimension held at a test digit's mu; decoder means (pixels in [0, 1]).

    Args:
        view: the model's views (its prefix keys the widgets, container and chart).
        name: how the caption names the model (e.g. ``"VAE z=10"``).
        layout: ``"side"``: controls in a narrow column left of the figure (Latent size,
            Manifold pages); ``"stacked"``: controls above the figure (the Explorer's
            grid column).
        with_click: start from the digit last clicked on the view's map when there is one.
        scale: screen pixels per image pixel (None: 1.5 for up to 10 rows, else 1).
    """
    defaults = {view.keys("traversal_digit"): 0, view.keys("traversal_steps"): DEFAULT_STEPS}
    session.init_view_state(defaults, tuple(defaults))
    images, labels = caches.mnist_test_split()
    plan = traversal_plan(view)
    if layout == "side":
        controls, grid = st.columns([1, 3])
        digit_col = steps_col = controls
    else:
        controls = grid = st.container()
        digit_col, steps_col = controls.columns(2)
    with digit_col:
        index = _start_digit(view, len(images), with_click)
    with steps_col:
        steps = st.slider("Steps per dimension", 5, 15, step=2, key=view.keys("traversal_steps"),
                          help="How many values of z_d each row shows, evenly spaced over its sweep.")
    with controls:
        if layout == "side":
            st.image(png_bytes(upscale_nearest(images[index], 3)), output_format="PNG",
                     caption=f"test digit {index} (a {int(labels[index])})")
    mu = view.encodings.mu[index]
    codes = np.concatenate([traversal_codes(mu, [d], n=steps, span=tuple(plan.spans[d])) for d in plan.order])
    y = int(labels[index]) if view.model.is_conditional else None
    decoded = decode_z(view.model, codes, y=y)
    if plan.by_kl:
        columns = [f"{v:+.1f}" for v in np.linspace(*TRAVERSAL_RANGE, steps)]
    else:
        columns = [f"{v:+.1f} sd" for v in np.linspace(-CODE_SPREAD_SIGMAS, CODE_SPREAD_SIGMAS, steps)]
    rows = len(plan.order)
    fig = image_rows_figure(tiled_png(decoded, nrow=steps), rows, steps,
                            plan.row_labels, columns, scale=scale or (1.5 if rows <= 10 else 1.0))
    with grid:
        with st.container(key=view.keys("traversal")):
            st.plotly_chart(fig, key=view.keys("traversal_chart"), config={"displayModeBar": False})
        if plan.by_kl:
            st.caption(f"{name}, a traversal of test digit {index}: each row sweeps one latent dimension z_d from "
                       f"{TRAVERSAL_RANGE[0]:g} to {TRAVERSAL_RANGE[1]:g} (the prior's +-3 sigma; value on top), "
                       "every other dimension held at the digit's mu. Rows are sorted by the dimension's KL "
                       "(largest first). Rows of inactive dimensions barely change: the decoder ignores them.")
        else:
            st.caption(f"{name}, a traversal of test digit {index}: each row sweeps one latent dimension z_d, "
                       "every other dimension held at the digit's code. This model has no prior, so each "
                       f"dimension is swept over its own spread instead of -3..3: the mean of z_d over the 10,000 "
                       f"test digits +- {CODE_SPREAD_SIGMAS:g} standard deviations (sd, on top). Rows are sorted "
                       "by the variance of z_d over the test set (largest first).")
        if y is not None:
            st.caption(f"Decoded with the digit's own label y = {y} (a conditional model).")


#: Key of :data:`traversal_fragment`.
TRAVERSAL_FRAGMENT = "traversal_panel"
#: :func:`traversal_panel` as a fragment (the Explorer's, for a model with more than two
#: latent dimensions): its widgets and a click on the map rerun it, not the page.
traversal_fragment = st.fragment(traversal_panel, key=TRAVERSAL_FRAGMENT)
