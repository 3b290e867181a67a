"""Decoding in the browser: a Streamlit component (``st.components.v2``, inline JS, no
build step) that computes the decoder mean for any z in the page and draws it on a
canvas, driven by the z sliders and by the mouse over the latent maps.

How the pieces talk:

- The weights go to the page as one element whose data is the packed decoder
  (:func:`explorer.core.export.pack_decoder`: safetensors bytes, about 2.1 MB for the
  shipped 784-512-256-2 decoder), drawn by :func:`send_weights` outside the fragments of
  the views that decode: a slider step or a map click reruns a fragment, which does not
  draw the weights again (nor copy and hash 2.1 MB on the server). A run of the page does;
  the bytes object is cached per model, so its message is identical on every run and
  Streamlit's forward-message cache sends only a reference to it (the browser reports
  the hashes it holds with every rerun request): the weights cross the network once per
  model and page visit.
- The decoded view is a second, small element (JSON: the decoder's id, the label y, the
  slider and map selectors). Its JS reads the z sliders' DOM inputs on every animation
  frame and, on mouse moves over a map's plot area, converts the cursor to z with
  Plotly's own axis mapping (``gd._fullLayout.xaxis.p2l``); both draw at once, without
  a server round trip. The sliders still rerun their fragment as before (the server
  keeps the slider z for the download and the other views). The map's star is not this
  element's: :mod:`explorer.ui.components.map_marks` draws it and moves it with the sliders.
- Decoders the browser cannot run (:func:`explorer.core.export.export_decoder` gives
  None) and the sample mode (the draw must come from torch's generator) decode on the
  server as before. ``EXPLORER_BROWSER_DECODER=0`` in the environment turns the browser
  path off for every model.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from explorer.ui.state.caches import decoder_payload  # the cached packed decoder per model

#: The safetensors parser (safetensors.js), then the component (browser_decoder.js).
_JS = "\n".join((Path(__file__).parent / name).read_text()
                 for name in ("safetensors.js", "browser_decoder.js"))
_CSS = """
.vx-view { display: flex; flex-direction: column; align-items: center; width: fit-content; max-width: 100%; }
.vx-canvas { image-rendering: pixelated; display: block; max-width: 100%; height: auto; aspect-ratio: 1;
             border-radius: var(--st-base-radius); }
.vx-caption { font-size: 0.875rem; color: var(--st-text-color); opacity: 0.6; padding-top: 0.375rem;
              font-family: var(--st-font); line-height: 1.4; text-align: center; }
"""
_component = st.components.v2.component("vae_explorer_browser_decoder", js=_JS, css=_CSS, isolate_styles=False)


def enabled() -> bool:
    """False when ``EXPLORER_BROWSER_DECODER=0``: every decoder runs on the server."""
    return os.environ.get("EXPLORER_BROWSER_DECODER", "1") != "0"


def browser_payload(entry) -> tuple[bytes, str] | None:
    """:func:`decoder_payload` for a registry entry (packed bytes, id); None when the
    browser cannot run its decoder or the browser path is off."""
    return decoder_payload(entry) if enabled() else None


def send_weights(entry, key: str) -> str | None:
    """Send the entry's packed decoder to the page (an element that draws nothing) and
    return its id for :func:`decoded_view`; None (and nothing sent) where the browser
    cannot run the decoder or the browser path is off.

    Call it outside any fragment (before the fragment that shows the decoded views):
    an element drawn in a fragment is drawn again, 2.1 MB copied and hashed, by every
    rerun of that fragment.
    """
    payload = browser_payload(entry)
    if payload is None:
        return None
    _component(key=key, data=payload[0], height=0)
    return payload[1]


def decoded_view(net_id: str, key: str, sliders: tuple[str, ...], z: tuple[float, float], maps: list[str],
                 y: int | None = None, size: int = 280, label: str = "") -> None:
    """The canvas with the decoder mean of the sliders' z, or of the z under the mouse on a map.

    Args:
        net_id: the id in the packed decoder's description (sent by :func:`send_weights`).
        key: the element's key.
        sliders: widget keys of the z1 and z2 sliders (their DOM inputs are read); () for none.
        z: the sliders' z as the server knows it (used until the inputs are found).
        maps: CSS selectors of ``.js-plotly-plot`` latent maps whose hover decodes.
        y: the label of a conditional decoder.
        size: the canvas's width and height in CSS pixels (28 x 28 shown enlarged).
        label: written before the caption's z (the model's name where several are shown).
    """
    _component(key=key, data={"net": net_id, "sliders": list(sliders), "z": [float(v) for v in z], "maps": maps,
                              "y": 0 if y is None else int(y), "size": int(size), "label": label})
