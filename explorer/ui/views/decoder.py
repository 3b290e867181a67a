"""The decoder panel: z sliders (and a label for conditional models) decoding live."""

from __future__ import annotations

import streamlit as st
import torch

from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.latent import decode_z
from explorer.ui.components import browser_decoder
from explorer.ui.views.common import ShownModel

#: Decoded images are shown this many times their 28 px size (nearest, so crisp).
DECODED_SCALE = 10
#: Key of :func:`decoder_panel`'s fragment (a click on the Explorer's map reruns it).
DECODER_FRAGMENT = "decoder_panel"


def _new_sample(view: ShownModel) -> None:
    view.set_state("decoder_sample_seed", view.state("decoder_sample_seed") + 1)


def condition_selector(view: ShownModel) -> None:
    """The label a conditional model decodes with (nothing for other models)."""
    if view.model.is_conditional:
        st.selectbox("Digit label y", list(range(view.model.config.num_classes)), key=view.keys("condition_label"),
                     help="A conditional VAE decodes z together with a label: z holds the style, y the digit.")


def decoder_panel(view: ShownModel) -> None:
    """z1/z2 sliders decoding live into a large image (a fragment: only it reruns).

    The decoder's weights go to the page here, outside the fragment: a slider step or a
    map click (which reruns the fragment) does not send them again."""
    browser_decoder.send_weights(view.entry, view.keys("browser_decoder_weights"))
    _decoder_fragment(view)


@st.fragment(key=DECODER_FRAGMENT)
def _decoder_fragment(view: ShownModel) -> None:
    keys = view.keys
    view.show_slider_z()  # a click on the map may have moved them in its callback
    for j, (key, r) in enumerate(zip(keys.z_sliders, view.ranges)):
        st.slider(f"z{j + 1}", r.low, r.high, step=r.step, key=key, format="%.2f",
                  help=f"Coordinate {j + 1} of the latent code z that the decoder turns into an image.")
    condition_selector(view)
    if view.state("grid_drawn_label") not in (None, view.condition()):
        view.set_state("grid_drawn_label", None)
        st.rerun(scope="app")  # the grid, another fragment, decodes with the new label
    z = view.slider_z()
    likelihood = view.model.likelihood
    # a short label (its help says what off and on are): one line in the Explorer's side column at
    # 1366x768, even at presentation mode's 20 px, so the decoded image stays on a 768 px high screen
    sample = st.toggle(f"{likelihood.name.capitalize()} sample", key=keys("decoder_sample"),
                       help=f"Off: the decoder mean E[x|z]. On: one random image x ~ p(x|z) from the "
                            f"{likelihood.description}.")
    if sample:
        st.button("New sample", key=keys("decoder_new_sample"), on_click=_new_sample, args=(view,))
    model, y, seed = view.model, view.condition(), view.state("decoder_sample_seed")

    def png() -> bytes:  # the image shown (server path) and downloaded: the same z, label and draw
        generator = torch.Generator().manual_seed(seed) if sample else None
        return png_bytes(upscale_nearest(decode_z(model, z, sample=sample, generator=generator, y=y)[0],
                                         DECODED_SCALE))

    in_browser = None if sample else browser_decoder.browser_payload(view.entry)
    with st.container(key=keys("decoded_image")):
        if in_browser is not None:  # the page decodes the sliders' z and the map's hover itself
            browser_decoder.decoded_view(in_browser[1], keys("browser_decoded"), keys.z_sliders, z,
                                         [keys.map_selector], y=view.condition(), size=28 * DECODED_SCALE)
        else:
            what = f"a {likelihood.name.capitalize()} sample x ~ p(x|z)" if sample else "the decoder mean"
            st.image(png(), output_format="PNG", caption=f"z = ({z[0]:.2f}, {z[1]:.2f}): {what}")
    # made when pressed (deferred data): with the browser decoding, a run encodes no PNG
    st.download_button("Download decoded image (PNG)", png, file_name=f"decoded_z1_{z[0]:.2f}_z2_{z[1]:.2f}.png",
                       mime="image/png", key=keys("download_decoded"), on_click="ignore")
    drawn = view.map_shows()
    if view.state("marker_follows_sliders") and drawn and drawn.get("z") != z:
        st.rerun(scope="app")
