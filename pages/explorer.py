"""Explorer page: the latent map of the MNIST test digits under the chosen model."""

import streamlit as st

from explorer import app_state, figures
from explorer.latent import project_2d

st.title("Latent space explorer")
entry = app_state.current_model()
if entry is None:
    st.info("Choose a usable model in the sidebar.")
    st.stop()

encodings = app_state.test_encodings(entry.key, entry.checkpoint.model)
config = entry.checkpoint.model_config
map_col, info_col = st.columns([3, 1])
with map_col:
    xy, axis_names = project_2d(encodings.mu)
    st.plotly_chart(
        figures.latent_scatter(xy, encodings.labels, axis_names=axis_names),
        key="latent_map",
        config={"displaylogo": False},
    )
with info_col:
    st.subheader(entry.label)
    st.caption(
        f"{config.kind.upper()}, latent dimension {config.latent_dim}, hidden {list(config.hidden_sizes)}, "
        f"{config.likelihood} decoder, beta {config.beta:g}"
    )
    metrics = entry.checkpoint.metrics
    if metrics.get("test_neg_elbo") is not None:
        st.metric("Test -ELBO (nats/image)", f"{metrics['test_neg_elbo']:.2f}")
    st.metric("Test reconstruction (nats/image)", f"{metrics['test_reconstruction']:.2f}")
    st.metric("Test KL (nats/image)", f"{metrics['test_kl']:.2f}")
    st.caption(
        "Each point is the encoder mean mu of one of the 10,000 MNIST test digits, "
        "coloured by its label. Click a legend entry to hide or show a digit."
    )
