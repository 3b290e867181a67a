"""Manifold page: the decoded manifold grid large, beside the decoder sliders."""

import streamlit as st

from explorer.ui import registry
from explorer.ui.views import ModelView
from explorer.ui.views.decoder import decoder_panel
from explorer.ui.views.grid import manifold_panel
from explorer.ui.session import require_router

#: The grid's figure height in px: under the title and caption it ends on a 1366x768 screen.
GRID_HEIGHT = 560


def manifold_page() -> None:
    st.title("Manifold grid")
    entry = registry.current_model()
    if entry is None:
        st.info("Choose a usable model in the sidebar.")
        st.stop()
    if entry.checkpoint.model_config.latent_dim != 2:
        st.info(f"The manifold grid needs a 2-D latent space; this model has "
                f"latent_dim={entry.checkpoint.model_config.latent_dim}.")
        st.stop()

    view = ModelView.create(entry)
    view.set_state("map_drawn_state", {})  # no latent map on this page: nothing to keep in step
    st.caption("Kingma & Welling (2013), Figure 4: decoder means on a grid of z. "
               "Click a cell to decode it with the sliders.")
    grid_col, side_col = st.columns([4, 1])
    with grid_col:  # the controls beside the grid: it starts under the caption and fits a 768 px high screen
        manifold_panel(view, height=GRID_HEIGHT, controls_beside=True)
    with side_col:
        st.subheader("Decoder")
        decoder_panel(view)


require_router()
manifold_page()
