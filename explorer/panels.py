"""Streamlit panels shared by the explorer pages: the decoder sliders, the manifold grid
and the click panel. Each is wiring around ``explorer.latent`` / ``explorer.figures``;
the sliders and the grid are ``st.fragment``s, so moving their widgets reruns only them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import app_state as state
from explorer import figures
from explorer.images import png_bytes, upscale_nearest
from explorer.latent import (
    SPACINGS,
    GRID_MAX,
    GRID_MIN,
    Encodings,
    LatentRange,
    decode_z,
    image_terms,
    manifold_coordinates,
    manifold_z,
)

#: Decoded images are shown this many times their 28 px size (nearest, so crisp).
DECODED_SCALE = 10
CLICK_SCALE = 6
SPACING_HELP = ("paper: evenly spaced points on [0.05, 0.95] through the inverse Gaussian CDF "
                "(Kingma & Welling 2013, Figure 4); linear: evenly spaced over the range.")


def slider_z() -> tuple[float, float]:
    """The decoder sliders' current z."""
    return tuple(float(st.session_state[k]) for k in state.Z_SLIDER_KEYS)


def set_slider_z(z, ranges: tuple[LatentRange, LatentRange]) -> None:
    """Move the decoder sliders to ``z`` (snapped to their steps); call before they are created."""
    for key, r, value in zip(state.Z_SLIDER_KEYS, ranges, z):
        st.session_state[key] = r.snap(value)


def grid_params() -> tuple[int, str, tuple[float, float]]:
    """(n, spacing, (low, high)) of the manifold grid, from its widgets' state."""
    low, high = st.session_state[state.GRID_RANGE_KEY]
    return int(st.session_state[state.GRID_N_KEY]), st.session_state[state.GRID_SPACING_KEY], (float(low), float(high))


def grid_codes(params: tuple[int, str, tuple[float, float]]) -> np.ndarray:
    """(n * n, 2) codes of the manifold grid for :func:`grid_params`."""
    n, spacing, (low, high) = params
    return manifold_z(manifold_coordinates(n, spacing, low, high))


def handle_map_selection(encodings: Encodings, ranges) -> None:
    """Act on a new click on the latent map: remember it and move the sliders to its z."""
    points = state.new_selection(state.MAP_KEY)
    click = figures.map_click(points, catcher=ranges is not None) if points else None
    if click is None:
        return
    st.session_state[state.CLICK_KEY] = click
    if ranges is not None:
        set_slider_z(encodings.mu[click.index] if isinstance(click, figures.PointClick) else click.z, ranges)


def _new_sample() -> None:
    st.session_state[state.SAMPLE_SEED_KEY] += 1


@st.fragment
def decoder_panel(entry: state.ModelEntry, ranges: tuple[LatentRange, LatentRange]) -> None:
    """z1/z2 sliders decoding live into a large image (a fragment: only it reruns)."""
    model = entry.checkpoint.model
    for j, (key, r) in enumerate(zip(state.Z_SLIDER_KEYS, ranges)):
        st.slider(f"z{j + 1}", r.low, r.high, step=r.step, key=key, format="%.2f")
    z = slider_z()
    sample = st.toggle("Bernoulli sample instead of the mean", key=state.SAMPLE_TOGGLE_KEY)
    if sample:
        st.button("New sample", key="decoder_new_sample", on_click=_new_sample)
        generator = torch.Generator().manual_seed(st.session_state[state.SAMPLE_SEED_KEY])
    image = decode_z(model, z, sample=sample, generator=generator if sample else None)[0]
    png = png_bytes(upscale_nearest(image, DECODED_SCALE))
    with st.container(key="decoded_image"):
        what = "a Bernoulli sample x ~ p(x|z)" if sample else "the decoder mean"
        st.image(png, output_format="PNG", caption=f"z = ({z[0]:.2f}, {z[1]:.2f}): {what}")
    st.download_button("Download decoded image (PNG)", png, file_name=f"decoded_z1_{z[0]:.2f}_z2_{z[1]:.2f}.png",
                       mime="image/png", key="download_decoded", on_click="ignore")
    drawn = st.session_state[state.MAP_DRAWN_KEY]
    if st.session_state[state.MARKER_FOLLOWS_KEY] and drawn and drawn.get("z") != z:
        st.rerun(scope="app")


@st.fragment
def manifold_panel(entry: state.ModelEntry, ranges: tuple[LatentRange, LatentRange], height: int = 600) -> None:
    """Live manifold grid (Kingma & Welling 2013, Figure 4) with its controls (a fragment)."""
    points = state.new_selection(state.GRID_CHART_KEY)
    z = figures.grid_click(points) if points else None
    if z is not None:
        st.session_state[state.CLICK_KEY] = figures.SpaceClick(z)
        set_slider_z(z, ranges)
        st.rerun(scope="app")
    st.slider("Grid n x n", GRID_MIN, GRID_MAX, key=state.GRID_N_KEY)
    st.radio("Spacing", SPACINGS, key=state.GRID_SPACING_KEY, help=SPACING_HELP, horizontal=True)
    bounds = state.grid_range_bounds(ranges)
    st.slider("Linear range (z1 and z2)", bounds.low, bounds.high, step=bounds.step, key=state.GRID_RANGE_KEY,
                       disabled=st.session_state[state.GRID_SPACING_KEY] != "linear", format="%.2f")
    params = grid_params()
    n, spacing, (low, high) = params
    png = state.manifold_png(entry.key, entry.checkpoint.model, n, spacing, low, high)
    fig = figures.manifold_figure(png, grid_codes(params), cell=entry.checkpoint.model_config.image_shape[-1],
                                  padding=state.GRID_PADDING)
    fig.update_layout(height=height)
    with st.container(key="manifold_grid"):
        st.plotly_chart(fig, key=state.GRID_CHART_KEY, on_select="rerun", selection_mode="points",
                        config={"displayModeBar": False})
    where = ("inverse Gaussian CDF of 0.05..0.95" if spacing == "paper" else f"linear {low:g}..{high:g}")
    st.caption(f"{n} x {n} decoder means, z on a grid: {where}. z1 runs left to right, z2 bottom to top; "
               "hover a cell for its z, click it to decode it with the sliders.")
    st.download_button("Download grid (PNG)", png, file_name=f"manifold_{n}x{n}_{spacing}.png", mime="image/png",
                       key="download_grid", on_click="ignore")
    drawn = st.session_state[state.MAP_DRAWN_KEY]
    if st.session_state[state.GRID_OVERLAY_KEY] and drawn and drawn.get("grid") != params:
        st.rerun(scope="app")


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def click_panel(entry: state.ModelEntry, encodings: Encodings) -> None:
    """What the last click showed: a test digit (original, reconstruction, mu, sigma,
    per-image KL and -ELBO) or the decoding of a clicked z."""
    click = st.session_state.get(state.CLICK_KEY)
    model = entry.checkpoint.model
    with st.container(key="click_panel"):
        if click is None:
            st.caption("Click a digit on the map to see it with its reconstruction, or empty space to decode it.")
            return
        if isinstance(click, figures.SpaceClick):
            st.markdown(f"**Clicked z** = {_fmt(click.z)}")
            image = decode_z(model, click.z)[0]
            st.image(png_bytes(upscale_nearest(image, CLICK_SCALE)), output_format="PNG", caption="decoder mean at the clicked z")
            return
        images, _ = state.test_split()
        i = click.index
        mu = encodings.mu[i]
        original = images[i]
        reconstruction = decode_z(model, mu)[0]
        st.markdown(f"**Test digit {i}**, label **{int(encodings.labels[i])}**")
        left, right = st.columns(2)
        left.image(png_bytes(upscale_nearest(original, CLICK_SCALE)), output_format="PNG", caption="original")
        right.image(png_bytes(upscale_nearest(reconstruction, CLICK_SCALE)), output_format="PNG", caption="reconstruction (decoder mean at mu)")
        terms = image_terms(model, original)
        sigma = encodings.sigma
        lines = [f"mu = {_fmt(mu)}", f"sigma = {_fmt(sigma[i]) if sigma is not None else 'n/a (AE)'}"]
        if terms.kl is None:
            lines += [f"reconstruction = {terms.reconstruction:.2f} nats (at the code)", "KL = n/a, -ELBO = n/a (AE)"]
        else:
            lines += [f"reconstruction = {terms.reconstruction:.2f} nats", f"KL = {terms.kl:.2f} nats",
                      f"-ELBO = {terms.neg_elbo:.2f} nats"]
        st.markdown("  \n".join(lines))
        if terms.kl is not None:
            st.caption("Reconstruction at one z drawn from q(z|x) with seed 0, KL in closed form: "
                       "the single-sample -ELBO the test metrics use.")
