"""Manifold page: the decoded manifold grid large, beside the decoder sliders."""

import streamlit as st

from explorer import app_state as state
from explorer import panels
from explorer.latent import latent_ranges

st.title("Manifold grid")
entry = state.current_model()
if entry is None:
    st.info("Choose a usable model in the sidebar.")
    st.stop()
if entry.checkpoint.model_config.latent_dim != 2:
    st.info(f"The manifold grid needs a 2-D latent space; this model has "
            f"latent_dim={entry.checkpoint.model_config.latent_dim}.")
    st.stop()

encodings = state.test_encodings(entry.key, entry.checkpoint.model)
ranges = latent_ranges(encodings.mu, stochastic=encodings.logvar is not None)
state.fit_state_to_model(entry, ranges)
st.session_state[state.MAP_DRAWN_KEY] = {}  # no latent map on this page: nothing to keep in step
st.caption("Kingma & Welling (2013), Figure 4: decoder means on a grid of z. Click a cell to decode it with the sliders.")
grid_col, side_col = st.columns([3, 1])
with grid_col:
    panels.manifold_panel(entry, ranges, height=900)
with side_col:
    st.subheader("Decoder")
    panels.decoder_panel(entry, ranges)
