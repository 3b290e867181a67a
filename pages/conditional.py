"""Conditional VAE page: the label picks the digit, z the style (Kingma et al. 2014, M2).
Live decoder with a digit selector, "same style, every digit" grids and analogies."""

import streamlit as st

from explorer.ui.state import registry, session
from explorer.ui.state.session import require_router
from explorer.ui.state.shipped import require_shipped
from explorer.ui.views import ShownModel
from explorer.ui.views.conditional import analogy_panel, style_decoder, style_grid_panel

PREFIX = "cvae_"
SHIPPED = "mnist_cvae_z2.safetensors"
#: Widget defaults of this page (kept across pages by session.init_view_state).
DEFAULTS = {"cvae_rows_from": "the prior", "cvae_k": 5, "cvae_seed": 0, "cvae_first_index": 0,
            "cvae_analogy_index": 0}
EXPLAIN = (
    "**M2 with labels** (Kingma et al. 2014, *Semi-Supervised Learning with Deep Generative Models*): encoder "
    "q(z|x, y) and decoder p(x|z, y) both get the label y (one-hot). The decoder is told which digit to write, so "
    "z need not pay KL for the digit's identity and keeps only the **style** (slant, stroke, size)."
)


def _model_entry():
    """The sidebar's model when it is a conditional 2-D one, else the shipped CVAE."""
    entry = registry.current_model()
    if entry is not None and entry.model.is_conditional and entry.checkpoint.model_config.latent_dim == 2:
        return entry
    return require_shipped(SHIPPED)


def conditional_page() -> None:
    st.title("Conditional VAE")
    entry = _model_entry()
    session.init_view_state(DEFAULTS, tuple(DEFAULTS))
    view = ShownModel.create(entry, PREFIX)
    st.caption(EXPLAIN + f" Model: {entry.title}.", help=registry.title_help(entry))
    decoder_col, tools_col = st.columns([5, 7], gap="large")
    with decoder_col:
        st.subheader("Decoder")
        style_decoder(view)
    with tools_col:
        grid_tab, analogy_tab = st.tabs(["Same style, every digit", "Analogies"])
        with grid_tab:
            style_grid_panel(view)
        with analogy_tab:
            analogy_panel(view)


require_router()
conditional_page()
