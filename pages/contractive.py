"""Contractive AE page: the plain AE, the denoising AE and the contractive AE (Rifai et al.
2011) side by side: their maps, the mean ||J_h(x)||_F on the test set, and how far each
model's code moves under a small perturbation of the input (noise, a one-pixel shift), as
numbers and as arrows on the maps."""

import numpy as np
import pandas as pd
import streamlit as st

from explorer.ui import figures
from explorer.ui.page import layout
from explorer.ui.state import caches, session
from explorer.ui.state.caches import contraction_numbers
from explorer.ui.figures.model_kind_figures import SIDE_LEGEND, add_code_arrows
from explorer.ui.state.session import require_router
from explorer.ui.state.shipped import require_shipped
from explorer.ui.views.contractive import arrow_digits, code_arrows

#: Name on the page -> shipped file.
MODELS = {"plain AE": "mnist_ae_z2.safetensors", "denoising AE": "mnist_dae_z2.safetensors",
          "contractive AE": "mnist_cae_z2.safetensors"}
PERTURBATIONS = {"noise": "Gaussian noise", "shift": "shift by one pixel"}
NOISE_LEVELS = (0.05, 0.1, 0.2, 0.3)
MAGNIFY = (1, 3, 10)
#: Test digits that get an arrow: this many of each class (a seeded choice).
ARROWS_PER_DIGIT = 2
FIGURE_HEIGHT = 320
FONT_SIZE = 15
DEFAULTS = {"cae_perturbation": "noise", "cae_noise_level": 0.1, "cae_magnify": 3}
EXPLAIN = (
    "**Contractive AE** (Rifai et al. 2011): loss = reconstruction + lambda * ||J_h(x)||_F^2, the sum of the "
    "squared derivatives of the code h(x) with respect to every pixel (the encoder's 2 x 784 Jacobian), so the "
    "code should move little when the image moves a little. The **denoising AE** (Vincent et al. 2008) trains on "
    "corrupted inputs instead. Same 784-512-256-2 networks; each map shows the 10,000 test codes in its own units."
)
COLUMN_HELP = {
    "mean ||J||_F": "Mean over the 10,000 test digits of the Frobenius norm of the encoder's Jacobian at the "
                    "digit (code units per unit of pixel value), computed exactly by automatic differentiation.",
    "code spread": "Root-mean-square distance of a test code from the codes' mean: how big the map is.",
    "||J||_F / spread": "The Jacobian norm relative to the map's size. A model can shrink its whole map (and its "
                        "decoder stretch it back) to lower ||J||_F without contracting anything; this ratio does "
                        "not change under such a rescaling.",
    "moves under noise": "Mean distance ||h(x') - h(x)|| a code moves when Gaussian noise of the chosen std is "
                         "added to every pixel (clipped to [0, 1]), in code units.",
    "noise / spread": "That distance relative to the map's size.",
    "moves under 1-pixel shift": "Mean distance a code moves when the digit is shifted one pixel to the right.",
    "shift / spread": "That distance relative to the map's size.",
    "test reconstruction": "-log p(x|z) on the clean test digits, nats per image (lower is better).",
}


#: Widths of the three maps' columns: the third holds the digits' legend beside its map
#: (about 150 px at 15-16 px text), so it is wider; with equal columns its plot area was
#: 73 px wide at 1366x768 against the others' 220.
MAP_COLUMNS = (1, 1, 1.6)


def _map(name: str, numbers: dict[str, float], codes: np.ndarray, labels: np.ndarray, start: np.ndarray,
         end: np.ndarray, magnify: int, legend: bool):
    fig = figures.latent_scatter(codes, labels, axis_names=("z1", "z2"))
    fig = add_code_arrows(fig, start, end, magnify)
    fig.update_layout(height=FIGURE_HEIGHT, showlegend=legend,
                      legend=SIDE_LEGEND,  # the ten digits and "perturbed digits" without scrolling
                      margin={"l": 50, "r": 10, "t": 10, "b": 40})
    return figures.readable(fig, layout.plot_font_size(FONT_SIZE))


def contractive_page() -> None:
    st.title("Contractive autoencoder")
    session.init_view_state(DEFAULTS, tuple(DEFAULTS))
    entries = {name: require_shipped(file) for name, file in MODELS.items()}
    cae = entries["contractive AE"].model
    images, labels = caches.mnist_test_split()

    p_col, level_col, magnify_col = st.columns([3, 3, 2], vertical_alignment="bottom")
    perturbation = p_col.radio("Perturbation drawn as arrows", list(PERTURBATIONS), format_func=PERTURBATIONS.get,
                               key="cae_perturbation", horizontal=True,
                               help="What is done to each marked test digit; its arrow runs from the code of the "
                                    "digit to the code of the perturbed digit.")
    level = level_col.select_slider("Noise std (pixels in [0, 1])", NOISE_LEVELS, key="cae_noise_level",
                                    help="Standard deviation of the Gaussian noise added to every pixel, for the "
                                         "arrows and the 'moves under noise' column.")
    magnify = magnify_col.selectbox("Arrow length x", MAGNIFY, key="cae_magnify",
                                    help="Arrows drawn this many times their true length (1: true length), so "
                                         "that short moves can be seen.")

    rows = arrow_digits(labels, ARROWS_PER_DIGIT)
    numbers = {}
    for col, (name, entry) in zip(st.columns(MAP_COLUMNS), entries.items()):
        codes = caches.mnist_test_encodings(entry).mu[:, :2]
        start, end = code_arrows(entry, images[rows], perturbation, level)
        numbers[name] = contraction_numbers(entry, level)
        with col:
            n = numbers[name]
            st.markdown(f"**{name}**: ||J||_F {n['jacobian']:.3g} = **{n['jacobian_relative']:.2f} x** spread  \n"
                        f"moves **{n['noise_relative']:.0%}** (noise), **{n['shift_relative']:.0%}** (shift)",
                        help="Mean over the 10,000 test digits of ||J_h(x)||_F, and of the distance a code moves "
                             "under the perturbation, both as shares of the code spread (see the table).")
            with st.container(key=f"cae_box_{name.split()[0]}"):
                st.plotly_chart(_map(name, numbers[name], np.asarray(codes), labels.numpy(), start,
                                     end, magnify, legend=name == "contractive AE"),
                                key=f"cae_map_{name.split()[0]}", config={"displaylogo": False})

    # under the key view (the controls, each model's numbers and map): it fits a 768 px high screen
    st.caption(EXPLAIN + f" Shipped CAE: lambda = {cae.config.contraction:g}.")
    table = pd.DataFrame({
        name: {"mean ||J||_F": n["jacobian"], "code spread": n["spread"], "||J||_F / spread": n["jacobian_relative"],
               "moves under noise": n["noise"], "noise / spread": n["noise_relative"],
               "moves under 1-pixel shift": n["shift"], "shift / spread": n["shift_relative"],
               "test reconstruction": entries[name].checkpoint.metrics.get("test_reconstruction")}
        for name, n in numbers.items()}).T
    st.dataframe(table.style.format("{:.3g}"), key="cae_table",
                 column_config={k: st.column_config.NumberColumn(k, help=v) for k, v in COLUMN_HELP.items()})
    ae, dae, cae_n = numbers["plain AE"], numbers["denoising AE"], numbers["contractive AE"]
    st.caption(f"Measured here, relative to each map's size: under noise the contractive AE's codes move "
               f"{cae_n['noise_relative'] / ae['noise_relative']:.2f} times as far as the plain AE's and the denoising "
               f"AE's {dae['noise_relative'] / ae['noise_relative']:.2f} times; under a one-pixel shift "
               f"{cae_n['shift_relative'] / ae['shift_relative']:.2f} and "
               f"{dae['shift_relative'] / ae['shift_relative']:.2f} times. "
               f"The lines above the maps and the table are measured on the 10,000 test digits (noise std {level:g}, "
               "seed 0): the mean "
               "||J_h(x)||_F, and how far a code moves, as a share of the code spread (the root-mean-square distance "
               f"of a code from the mean code). Arrows: {ARROWS_PER_DIGIT} test digits of each class (open circles), "
               f"from h(x) to h(perturbed x), drawn {magnify}x their length. Each map has its own scale: compare the "
               "relative numbers, which a rescaled code leaves unchanged.")


require_router()
contractive_page()
