"""Denoising page: a denoising AE (Vincent et al. 2008) against the plain AE on corrupted
test digits, per digit and as the mean error against the noise level."""

import numpy as np
import pandas as pd
import streamlit as st

from explorer.ui.page import layout
from explorer.ui.state import caches, session
from explorer.ui.state.caches import CURVE_IMAGES, denoising_curve
from explorer.ui.figures.model_kind_figures import error_curve_figure, image_rows_figure
from explorer.ui.state.session import require_router
from explorer.ui.state.shipped import require_shipped
from explorer.ui.views.denoising import denoised_digits, opening_level, stacked_filters_section

DAE_FILE, AE_FILE = "mnist_dae_z2.safetensors", "mnist_ae_z2.safetensors"
#: The error plot's font in px (ticks, axis titles, legend): readable from the back of a room.
CURVE_FONT_SIZE = 18
#: The digits' row and column labels in px.
DIGIT_FONT_SIZE = 15
#: Test digits shown per page of digits: six fill the digits' column of a 1366 px screen at
#: DIGIT_SCALE screen pixels per image pixel (eight shrank each digit to about 50 px).
N_DIGITS = 6
DIGIT_SCALE = 2.4
#: Noise type -> its short name (one row of radio buttons: the digits below stay on a 768 px
#: high screen) and what it does (the radio's help).
NOISES = {"masking": "masking", "gaussian": "Gaussian"}
NOISE_HELP = ("How the input is corrupted (explorer.core.train.corrupt, as in training). Masking: each pixel set "
              "to 0 with probability p. Gaussian: x + s * N(0, 1), clipped to [0, 1].")
#: Noise type -> (slider label, help, levels of the curve).
LEVELS = {
    "masking": ("Masking probability p", "Share of pixels set to 0 (black), each independently.",
                tuple(np.round(np.arange(0.0, 0.91, 0.1), 2))),
    "gaussian": ("Gaussian noise std s", "Standard deviation of the noise added to every pixel (pixels in [0, 1]).",
                 tuple(np.round(np.arange(0.0, 1.01, 0.1), 2))),
}
DEFAULTS = {"dae_noise": "masking", "dae_first_index": 0, "dae_noise_seed": 0}
#: The noise level sliders: each starts where the measured curves are furthest apart
#: (:func:`explorer.ui.views.denoising.opening_level`), so the page opens where the plain AE fails.
LEVEL_KEYS = tuple(f"dae_{noise}_level" for noise in NOISES)
EXPLAIN = (
    "A **denoising AE** (Vincent et al. 2008) learns to give back the clean image from a corrupted copy: the "
    "encoder sees the noisy input, the loss compares the reconstruction with the clean image (shipped: masking "
    "p = 0.5, z of 2). The **plain AE** has the same networks, trained on clean images. **Error** = -log "
    "p(x_clean | z) in nats: binary cross-entropy of the clean image under the decoder, summed over the 784 "
    "pixels, at the code z of the noisy input (lower is better)."
)


def _new_noise() -> None:
    st.session_state["dae_noise_seed"] += 1


def denoising_page() -> None:
    st.title("Denoising autoencoder")
    session.init_view_state(DEFAULTS, tuple(DEFAULTS) + LEVEL_KEYS)
    dae, ae = require_shipped(DAE_FILE), require_shipped(AE_FILE)
    images, labels = caches.mnist_test_split()

    type_col, level_col, digits_col, button_col = st.columns([4, 4, 2, 2], vertical_alignment="bottom")
    with type_col:
        noise = st.radio("Noise type", list(NOISES), format_func=NOISES.get, key="dae_noise", horizontal=True,
                         help=NOISE_HELP)
    label, help_text, curve_levels = LEVELS[noise]
    rows = {"denoising AE": dae, "plain AE": ae}
    curves = {name: denoising_curve(e, noise, curve_levels) for name, e in rows.items()}
    gap_index, gap_level = opening_level(curve_levels, curves)
    session.init_view_state({f"dae_{noise}_level": gap_level})
    with level_col:
        level = st.slider(label, 0.0, 0.9 if noise == "masking" else 1.0, step=0.05, key=f"dae_{noise}_level",
                          help=help_text)
    with digits_col:
        first = int(st.number_input("First test digit", 0, len(images) - N_DIGITS, step=N_DIGITS,
                                    key="dae_first_index", help=f"Shows test digits index ... index + {N_DIGITS - 1}."))
    with button_col:
        st.button("New noise", key="dae_new_noise", on_click=_new_noise, icon=":material/casino:",
                  help="Draw the corruption again (the next seed).")

    errors, png = denoised_digits(rows, images[first : first + N_DIGITS], noise, level,
                                  seed=st.session_state["dae_noise_seed"])
    row_labels = ["clean", "noisy input", *(f"{name}<br>{float(errors[name].mean()):.0f} nats" for name in rows)]
    fig = image_rows_figure(png, 4, N_DIGITS, row_labels,
                            [f"{first + i}" for i in range(N_DIGITS)], scale=DIGIT_SCALE,
                            font_size=layout.plot_font_size(DIGIT_FONT_SIZE))
    digits_col, chart_col = st.columns([3, 2], gap="medium")
    with digits_col:
        with st.container(key="dae_digits"):
            st.plotly_chart(fig, key="dae_digits_chart", config={"displayModeBar": False})
        st.caption(f"Test digits {first}-{first + N_DIGITS - 1} (index on top): clean, corrupted ({noise}, "
                   f"{label.split()[-1]} = {level:.2f}), and each model's reconstruction of the corrupted input "
                   "(decoder mean), with its mean error against the clean digits.")
        table = pd.DataFrame({name: e.numpy() for name, e in errors.items()},
                             index=[f"{first + i} (a {int(labels[first + i])})" for i in range(N_DIGITS)]).T
        st.dataframe(table.style.format("{:.0f}"), key="dae_error_table")
        st.caption("Error against the clean image per digit in nats (columns: test index and label).")
    with chart_col:
        fig = error_curve_figure(np.array(curve_levels), curves, label[0].lower() + label[1:], current=level,
                                 height=360, font_size=layout.plot_font_size(CURVE_FONT_SIZE))
        with st.container(key="dae_curve"):
            st.plotly_chart(fig, key="dae_curve_chart", config={"displaylogo": False})
        st.caption(f"Mean error against the clean image over {CURVE_IMAGES:,} test digits (a seeded random choice, "
                   "noise seeded too) at each noise level; the dashed line is the level chosen above. At level 0 "
                   f"both models see clean digits. The page opens where the plain AE loses most: {label.split()[-1]} = "
                   f"{gap_level:.1f}, plain AE {curves['plain AE'][gap_index]:.0f} nats against the denoising AE's "
                   f"{curves['denoising AE'][gap_index]:.0f} (clean digits: {curves['plain AE'][0]:.0f} and "
                   f"{curves['denoising AE'][0]:.0f}).")
    st.caption(EXPLAIN)  # under the key view (the controls, the digits and the curve): it fits a 768 px screen


require_router()
denoising_page()
stacked_filters_section()
