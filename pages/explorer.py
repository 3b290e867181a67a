"""Explorer page: latent map, decoder sliders, manifold grid and click panel, linked."""

import streamlit as st

from explorer import app_state as state
from explorer import figures, panels
from explorer.latent import latent_ranges, project_2d

st.title("Latent space explorer")
entry = state.current_model()
if entry is None:
    st.info("Choose a usable model in the sidebar.")
    st.stop()

model_config = entry.checkpoint.model_config
encodings = state.test_encodings(entry.key, entry.checkpoint.model)
is_2d = model_config.latent_dim == 2
ranges = latent_ranges(encodings.mu, stochastic=encodings.logvar is not None) if is_2d else None
if is_2d:
    state.fit_state_to_model(entry, ranges)
# A click is read before any widget is created, so it can move the sliders this run.
panels.handle_map_selection(encodings, ranges)

toggles = st.columns(3)
toggles[0].toggle("Prior 1/2/3-sigma circles", key=state.PRIOR_OVERLAY_KEY)
toggles[1].toggle("Grid sample locations on the map", key=state.GRID_OVERLAY_KEY, disabled=not is_2d,
                  help="Each cross is the z of one manifold grid cell.")
toggles[2].toggle("Map marker follows the sliders", key=state.MARKER_FOLLOWS_KEY, disabled=not is_2d,
                  help="Off: the star shows the z of the last click or page run; the sliders stay fast. "
                       "On: every slider step also redraws the map.")

click = st.session_state[state.CLICK_KEY]
selected = None
if isinstance(click, figures.PointClick):
    sigma = encodings.sigma
    selected = (encodings.mu[click.index], sigma[click.index] if sigma is not None and is_2d else None)
grid = panels.grid_params() if is_2d and st.session_state[state.GRID_OVERLAY_KEY] else None
z_marker = panels.slider_z() if is_2d else None
st.session_state[state.MAP_DRAWN_KEY] = {"z": z_marker, "grid": grid}

map_col, grid_col, side_col = st.columns([5, 4, 3], gap="medium")
# The panels are written before the map: their deltas reach the browser first, so a
# click's panel shows while the 10,000-point WebGL scatter is still redrawing.
with grid_col:
    st.subheader("Manifold grid")
    if is_2d:
        panels.manifold_panel(entry, ranges, height=420)
    else:
        st.info(f"The manifold grid needs a 2-D latent space; this model has latent_dim={model_config.latent_dim}.")
with side_col:
    st.subheader("Decoder")
    if is_2d:
        panels.decoder_panel(entry, ranges)
    else:
        st.info(f"The z sliders need a 2-D latent space; this model has latent_dim={model_config.latent_dim}.")
    st.subheader("Clicked")
    panels.click_panel(entry, encodings)

with map_col:
    xy, axis_names = project_2d(encodings.mu)
    if not is_2d and selected is not None:
        selected = (xy[click.index], None)
    fig = figures.latent_map(
        xy, encodings.labels, axis_names=axis_names, ranges=ranges, selected=selected, z_marker=z_marker,
        grid_z=panels.grid_codes(grid) if grid else None, prior_circles=st.session_state[state.PRIOR_OVERLAY_KEY],
    )
    with st.container(key="map_panel"):
        st.plotly_chart(fig, key=state.MAP_KEY, on_select="rerun", selection_mode="points",
                        config={"displaylogo": False})
    st.caption(
        "Each point is the encoder mean mu of one of the 10,000 MNIST test digits, coloured by its label; "
        "click a legend entry to hide or show a digit. Click a digit to inspect it, or empty space to decode "
        "the z there (snapped to the slider step). The star is the decoder's z."
    )

st.divider()
info_col, export_col = st.columns([3, 1])
with info_col:
    st.subheader(entry.label)
    st.caption(
        f"{model_config.kind.upper()}, latent dimension {model_config.latent_dim}, hidden "
        f"{list(model_config.hidden_sizes)}, {model_config.likelihood} decoder, beta {model_config.beta:g}"
    )
    metrics = entry.checkpoint.metrics
    cols = st.columns(3)
    if metrics.get("test_neg_elbo") is not None:
        cols[0].metric("Test -ELBO (nats/image)", f"{metrics['test_neg_elbo']:.2f}")
    cols[1].metric("Test reconstruction (nats/image)", f"{metrics['test_reconstruction']:.2f}")
    cols[2].metric("Test KL (nats/image)", f"{metrics['test_kl']:.2f}")
with export_col:
    st.download_button(
        "Download test-set mu, sigma, labels (CSV)", state.encodings_csv(entry.key, encodings),
        file_name=f"{entry.label.removesuffix('.pt')}_test_encodings.csv", mime="text/csv",
        key="download_encodings", on_click="ignore",
    )
