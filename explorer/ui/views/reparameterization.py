"""The reparameterization trick, a lesson tool of the Compare page: K draws
z = mu + sigma * eps from the selected digit's posterior q(z|x) (Kingma & Welling 2013,
Sec. 2.4), shown as a cloud on the map zoomed to mu with the 1- and 2-sigma ellipses, and
decoded. State: the ``cmp_cloud_k`` and ``cmp_eps_seed`` session keys."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.core.latent import posterior_samples
from explorer.ui.components import viewport
from explorer.ui.page import layout
from explorer.ui.figures import map_figure
from explorer.ui.views.common import MAX_K, SAMPLE_SCALE, ShownModel, decoded_codes

CLOUD_COLOR = "#d62728"
#: The zoomed cloud view shows mu +- this many of the larger sigma.
CLOUD_ZOOM_SIGMAS = 4.0
#: Scale of the decoded draws in the lesson's narrow column, on a laptop and on a projector
#: (there the image takes the column's width, about 340 px, not 242).
COMPACT_SCALES = (1, 2)


def _new_eps() -> None:
    st.session_state["cmp_eps_seed"] += 1


def new_eps_button(width: str = "content") -> None:
    """The "New eps" button (key ``cmp_new_eps``)."""
    st.button("New eps", key="cmp_new_eps", on_click=_new_eps, width=width,
              help="Draw new noise eps ~ N(0, I); mu and sigma stay the same.")


def reparameterization_controls(eps_button: bool = True) -> None:
    """K draws and the "new eps" button (left out with ``eps_button`` False, when the page
    shows it beside the maps)."""
    k_col, button_col = st.columns([1, 1], vertical_alignment="bottom")
    k_col.number_input("K draws of z", 1, MAX_K, key="cmp_cloud_k",
                       help="How many z = mu + sigma * eps to draw from the selected digit's posterior q(z|x).")
    if eps_button:
        with button_col:
            new_eps_button()


def cloud_codes(view: ShownModel, index: int) -> np.ndarray:
    """K draws z = mu + sigma * eps from the digit's posterior under this (variational) model."""
    e = view.encodings
    return posterior_samples(view.model, e.mu[index], e.logvar[index], int(st.session_state["cmp_cloud_k"]),
                             int(st.session_state["cmp_eps_seed"]))


def reparameterization_panel(view: ShownModel, index: int, height: int = 360, font_size: int = 16,
                             compact: bool = False) -> None:
    """The selected digit's posterior, zoomed so sigma shows: its K draws as a cloud with
    the 1- and 2-sigma ellipses, and the draws decoded. A model without a posterior gets
    one line saying why it has no cloud. ``compact``: short captions and 8 draws a row
    smaller, for a narrow column beside the maps."""
    if not view.variational:
        st.info(f"{view.entry.title} has no cloud: an AE's encoder gives one point z per image, not a "
                "distribution q(z|x), so there is nothing to sample around it.")
        return
    e = view.encodings
    mu, sigma = e.mu[index], e.sigma[index]
    z = cloud_codes(view, index)
    half = CLOUD_ZOOM_SIGMAS * float(sigma.max())
    zoom = ((mu[0] - half, mu[0] + half), (mu[1] - half, mu[1] + half))
    fig = map_figure.latent_map(
        e.mu, e.labels, ranges=view.ranges, selected=(mu, sigma), catcher=False, zoom=zoom,
        font_size=layout.plot_font_size(font_size),
        overlays=[map_figure.MapOverlay("z = mu + sigma * eps", z, color=CLOUD_COLOR, symbol="circle", size=7)],
    )
    fig.update_layout(height=height, showlegend=False, margin={"l": 60, "r": 10, "t": 10, "b": 50})
    with st.container(key=view.keys("cloud_map")):
        st.plotly_chart(fig, key=view.keys("cloud_chart"), config={"displaylogo": False})
    if compact:  # two lines in the narrow column: the decoded draws stay on a 768 px screen
        st.caption(f"mu \u00b1 4 sigma (sigma \u2248 {sigma.max():.3f}): {len(z)} draws (red), 1- and 2-sigma ellipses.")
    else:
        st.caption(f"Zoomed to mu = ({mu[0]:.2f}, {mu[1]:.2f}), sigma = ({sigma[0]:.3f}, {sigma[1]:.3f}): "
                   "red dots are the draws, solid and dashed ellipses the 1- and 2-sigma contours of q(z|x).")
    scale = viewport.pick(*COMPACT_SCALES) if compact else SAMPLE_SCALE
    decoded_codes(view, z, "cloud_images", f"The {len(z)} draws decoded.", scale=scale)
