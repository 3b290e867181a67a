"""The Conditional VAE page's panels (Kingma et al. 2014, M2): the digit selector with the
style sliders decoding live, the "same style, every digit" grid and the analogies. Each
takes the page's :class:`ShownModel` of a conditional model with a 2-D z; widget keys start
with ``cvae_``."""

import streamlit as st
import torch

from explorer.core.model_kinds import style_grid
from explorer.core.images import png_bytes, tiled_png, upscale_nearest
from explorer.core.latent import decode_z, prior_samples
from explorer.ui.components import browser_decoder, viewport
from explorer.ui.state import caches
from explorer.ui.figures.model_kind_figures import image_rows_figure
from explorer.ui.views.common import ShownModel
from explorer.ui.views.decoder import DECODED_SCALE

#: Screen pixels per image pixel of the "same style, every digit" grid on a laptop and on a
#: projector (at 1.3 it stayed 393 x 198 px on a 1920 x 1080 screen, half of it empty).
STYLE_GRID_SCALES = (1.3, 2.2)

ROWS_FROM = ("the prior", "test digits")


def _new_seed() -> None:
    st.session_state["cvae_seed"] += 1


def _grid_png(images: torch.Tensor, nrow: int) -> bytes:
    return tiled_png(images, nrow=nrow)


def style_decoder(view: ShownModel) -> None:
    """The digit selector and the z sliders, decoding live: in the page for a decoder it runs
    (:mod:`explorer.ui.components.browser_decoder`, no round trip per slider step), else on the server
    (a fragment: only it reruns). The weights go to the page outside the fragment: its
    reruns do not send them again."""
    browser_decoder.send_weights(view.entry, view.keys("browser_decoder_weights"))
    _style_fragment(view)


@st.fragment
def _style_fragment(view: ShownModel) -> None:
    st.select_slider("Digit label y", list(range(view.model.config.num_classes)), key=view.keys("condition_label"),
                     help="The digit the decoder is told to write: y goes into p(x|z, y).")
    sliders, image = st.columns([1, 1])
    with sliders:
        for j, (key, r) in enumerate(zip(view.keys.z_sliders, view.ranges)):
            st.slider(f"z{j + 1} (style)", r.low, r.high, step=r.step, key=key, format="%.2f",
                      help=f"Coordinate {j + 1} of the style code z, in units of the prior's standard deviation.")
    z, y = view.slider_z(), view.condition()
    in_browser = browser_decoder.browser_payload(view.entry)
    with image, st.container(key="cvae_decoded"):
        if in_browser is not None:  # the page decodes each slider step itself (a new label reruns)
            browser_decoder.decoded_view(in_browser[1], view.keys("browser_decoded"), view.keys.z_sliders, z, [],
                                         y=y, size=28 * DECODED_SCALE, label=f"decoder mean with y = {y}")
        else:
            decoded = decode_z(view.model, z, y=y)[0]
            st.image(png_bytes(upscale_nearest(decoded, DECODED_SCALE)), output_format="PNG",
                     caption=f"decoder mean at z = ({z[0]:.2f}, {z[1]:.2f}), y = {y}")


def style_grid_panel(view: ShownModel) -> None:
    """The 10 x k grid: each row one z, each column a label."""
    images, labels = caches.mnist_test_split()
    source_col, k_col, more_col = st.columns([3, 3, 2])
    with source_col:
        source = st.radio("Rows from", ROWS_FROM, key="cvae_rows_from", horizontal=True,
                          help="the prior: codes z drawn from p(z) = N(0, I) with a seed. test digits: the posterior "
                               "mean mu of q(z|x, y) of consecutive test digits, each encoded with its true label y.")
    with k_col:
        k = st.slider("Rows k", 1, 10, key="cvae_k", help="How many codes z, one row each.")
    with more_col:
        if source == "the prior":
            st.button("New z", key="cvae_new_draw", on_click=_new_seed, icon=":material/casino:",
                      help=f"Draw k new codes from the prior (the next seed; now {st.session_state['cvae_seed']}).")
            z = prior_samples(k, view.model.config.latent_dim, seed=st.session_state["cvae_seed"])
            first = None
        else:
            first = int(st.number_input("First test digit", 0, len(images) - k, key="cvae_first_index",
                                        help="Rows are test digits index, index+1, ..., each with its own label."))
            z = view.encodings.mu[first : first + k]
    tiles = style_grid(view.model, z)
    columns = [str(d) for d in range(10)]
    if first is None:
        row_labels = [f"z=({a:.1f}, {b:.1f})" for a, b in z]
    else:  # the original digit in a first column
        rows = tiles.reshape(k, -1, *tiles.shape[1:])
        tiles = torch.cat([images[first : first + k, None], rows], dim=1).flatten(0, 1)
        columns = ["orig."] + columns
        row_labels = [f"test {first + i} (a {int(labels[first + i])})" for i in range(k)]
    fig = image_rows_figure(_grid_png(tiles, len(columns)), k, len(columns), row_labels, columns,
                            scale=viewport.pick(*STYLE_GRID_SCALES))
    with st.container(key="cvae_style_grid"):
        st.plotly_chart(fig, key="cvae_style_chart", config={"displayModeBar": False})
    what = "drawn from the prior" if first is None else "the posterior mean of the test digit in the first column"
    st.caption(f"Each row one style z ({what}), decoded with every label y (columns). The row keeps its slant and "
               "stroke, the column decides the digit.")


def analogy_panel(view: ShownModel) -> None:
    """One test digit's z decoded with all ten labels."""
    images, labels = caches.mnist_test_split()
    pick, original, _ = st.columns([2, 1, 3], vertical_alignment="center")
    with pick:
        index = int(st.number_input("Test digit (index)", 0, len(images) - 1, key="cvae_analogy_index",
                                    help="Any of the 10,000 MNIST test digits."))
    label = int(labels[index])
    with original:
        st.image(png_bytes(upscale_nearest(images[index], 3)), output_format="PNG", caption=f"a {label}")
    mu = view.encodings.mu[index]
    fig = image_rows_figure(_grid_png(style_grid(view.model, mu[None, :]), 10), 1, 10, None,
                            [f"y={d}" for d in range(10)], scale=2.0)
    with st.container(key="cvae_analogy"):
        st.plotly_chart(fig, key="cvae_analogy_chart", config={"displayModeBar": False})
        st.caption(f"Analogies: the style of test digit {index} (a {label}), z = mu of q(z|x, y={label}) = "
                   f"({mu[0]:.2f}, {mu[1]:.2f}), decoded with each label y. Its own digit comes back as "
                   "a reconstruction; the other nine are what the same hand would write.")
