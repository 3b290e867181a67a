"""Manifold page: the decoded manifold grid large, beside the decoder sliders; for a latent
space of more than two dimensions, traversals instead."""

import streamlit as st

from explorer.ui.state import registry
from explorer.ui.views import ShownModel
from explorer.ui.views.decoder import decoder_panel
from explorer.ui.views.grid import manifold_panel
from explorer.ui.views.traversal import TRAVERSAL_HELP, traversal_panel
from explorer.ui.state.session import require_router

#: The grid's largest side in px, and the window height it leaves free: under the title and
#: caption (its controls beside it) it ends on a 768 px high screen and grows on a taller one.
GRID_HEIGHT = 900
GRID_FIT_BELOW = 220


def manifold_page() -> None:
    st.title("Manifold grid")
    entry = registry.current_model()
    if entry is None:
        st.info("Choose a usable model in the sidebar.")
        st.stop()
    view = ShownModel.create(entry)
    if not view.is_2d:
        latent_dim = entry.checkpoint.model_config.latent_dim
        st.caption(f"This model's latent space has {latent_dim} dimensions: no plane of z to tile with a grid "
                   "(Kingma & Welling 2013 draw Figure 4 for a 2-D latent space). Instead, a traversal: each row "
                   "changes one dimension of a test digit's code and decodes it.", help=TRAVERSAL_HELP)
        traversal_panel(view, entry.title, layout="side")
        return
    st.caption("Kingma & Welling (2013), Figure 4: decoder means on a grid of z. "
               "Click a cell to decode it with the sliders.")
    grid_col, side_col = st.columns([4, 1])
    with grid_col:  # the controls beside the grid: it starts under the caption and fits a 768 px high screen
        manifold_panel(view, height=GRID_HEIGHT, controls_beside=True, fit_below=GRID_FIT_BELOW)
    with side_col:
        st.subheader("Decoder")
        decoder_panel(view)


require_router()
manifold_page()
