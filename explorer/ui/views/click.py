"""The click panel: a clicked test digit with its reconstruction and loss terms, or the
decoding of a clicked z."""

from __future__ import annotations

import streamlit as st

from explorer.core.images import png_bytes, upscale_nearest
from explorer.core.latent import back_project, decode_z, image_terms
from explorer.ui.components import browser_decoder
from explorer.ui.figures import map_clicks
from explorer.ui.page import layout
from explorer.ui.state import caches
from explorer.ui.views.common import ShownModel
from explorer.ui.views.latent_map import map_marks_view

CLICK_SCALE = 6
#: Key of :func:`click_answer`'s fragment.
CLICK_FRAGMENT = "map_click_answer"
#: Widths of the strip's columns (original, reconstruction, terms); in presentation mode the
#: terms' 20 px lines get the room to stay one line each (the strip stays on a 768 px screen).
STRIP_COLUMNS, PRESENT_STRIP_COLUMNS = [1, 1, 2], [1, 1, 2.6]


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def click_panel(view: ShownModel) -> None:
    """What the view's last click showed: a test digit (original, reconstruction, mu,
    sigma, per-image KL and -ELBO) or the decoding of a clicked z."""
    click = view.click()
    model = view.model
    encodings = view.encodings
    with st.container(key=view.keys("click_panel")):
        if click is None:
            st.caption("Click a digit on the map to see it with its reconstruction, or empty space to decode it.")
            return
        if isinstance(click, map_clicks.SpaceClick):
            image_col, text_col = st.columns([1, 2.7], gap="small")
            with text_col:
                if view.is_2d:
                    z = click.z
                    st.markdown(f"**Clicked z** = {_fmt(z)}")
                    st.caption("The decoder mean at this z, beside: no test digit was clicked.")
                else:  # a point of the projected map: back to the latent space through the principal components
                    z = back_project(encodings.mu, click.z)
                    st.markdown(f"**Clicked (PC1, PC2)** = {_fmt(click.z)}  \n**z** = {_fmt(z)}",
                                help="The map shows the first two principal components of mu, so a point of it "
                                     "is not a code yet: z = mean of mu + PC1 * (principal direction 1) + PC2 * "
                                     "(principal direction 2), the other principal directions held at the mean "
                                     "of the 10,000 test digits' mu.")
            image = decode_z(model, z, y=view.condition())[0]
            image_col.image(png_bytes(upscale_nearest(image, CLICK_SCALE)), output_format="PNG",
                            caption="decoder mean" if view.is_2d else
                            "decoder mean at the back-projected z (mean of mu + PC1 and PC2 along the principal directions)")
            return
        images, _ = caches.mnist_test_split()
        i = click.index
        mu = encodings.mu[i]
        label = int(encodings.labels[i])
        y = label if model.is_conditional else None
        original = images[i]
        reconstruction = decode_z(model, mu, y=y)[0]
        # one compact row under the map (original, reconstruction, the numbers), so the
        # answer to a click is on screen beside the map at 1366x768, not below the fold
        img_cols = st.columns(PRESENT_STRIP_COLUMNS if layout.presenting() else STRIP_COLUMNS, gap="small")
        img_cols[0].image(png_bytes(upscale_nearest(original, CLICK_SCALE)), output_format="PNG", caption="original")
        img_cols[1].image(png_bytes(upscale_nearest(reconstruction, CLICK_SCALE)), output_format="PNG",
                          caption="reconstruction")
        terms = image_terms(model, original, y=y)
        sigma = encodings.sigma
        no_posterior = "n/a (AE)"  # every model without a posterior is an autoencoder
        lines = [f"mu = {_fmt(mu)}", f"sigma = {_fmt(sigma[i]) if sigma is not None else no_posterior}"]
        if terms.kl is None:
            lines += [f"reconstruction = {terms.reconstruction:.2f} nats (at the code)",
                      f"KL = n/a, -ELBO = {no_posterior}"]
        else:
            lines += [f"reconstruction = {terms.reconstruction:.2f} nats", f"KL = {terms.kl:.2f} nats",
                      f"-ELBO = {terms.neg_elbo:.2f} nats"]
        help_text = ("Original: the test image. Reconstruction: the decoder mean at mu. "
                     "mu, sigma: the encoder's mean and standard deviation of q(z|x). "
                     "Reconstruction and KL in nats (natural-log units) for this one image.")
        if terms.kl is not None:
            help_text += (" Reconstruction at one z drawn from q(z|x) with seed 0, KL in closed form: "
                          "the single-sample -ELBO the test metrics use.")
        with img_cols[2], st.container(key=view.keys("click_terms")):
            st.markdown(f"**Test digit {i}**, label **{label}**  \n" + "  \n".join(lines), help=help_text)


@st.fragment(key=CLICK_FRAGMENT)
def click_answer(view: ShownModel, follow: tuple[str, ...] = ()) -> None:
    """What a click on the view's map changes, in one fragment: the map's marks (the
    selected digit, the star at the sliders' z; :func:`map_marks_view`) and the click
    panel. A click reruns this fragment and the fragments ``follow`` (keys of the other
    views that show the click: the decoder's sliders, the traversals), not the page: the
    map's figure (10,000 points) and the grid are neither rebuilt nor sent again. The
    click is acted on in its callback, before they run.

    Draw the map with ``latent_map_view(..., marks=False)`` before it.
    """
    z_marker = view.slider_z() if view.is_2d else None
    # the star's z, for the sliders' "marker follows" check (explorer.ui.views.decoder)
    view.record_map_shows(z=z_marker)
    # where the page decodes the sliders' z, it also moves the star with them (map_marks.js)
    in_page = view.is_2d and browser_decoder.browser_payload(view.entry) is not None
    map_marks_view(view, z_marker, rerun=(CLICK_FRAGMENT, *follow), star_follows_sliders=in_page)
    click_panel(view)
