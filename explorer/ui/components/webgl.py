"""Keep the page's WebGL contexts below the browser's limit (Chromium: 16 per page).

Each Plotly WebGL chart (the 10,000-point latent maps) holds its own contexts. When
Streamlit replaces a chart (a new figure: every lesson step, every live training map's
redraw), the old canvases leave the page but keep their contexts until garbage
collection; Chromium then takes the oldest context away, which was a live map's (empty
axes after "Watch the holes form"). :func:`release_detached_contexts` sends the page a
script (``webgl_release.js``) that loses the context of every canvas that has left
the page, as soon as it leaves, so only the charts on screen hold contexts. It draws nothing.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

#: The keyed container of the element; its style takes it out of the page's layout.
KEY = "webgl_release"
_JS = (Path(__file__).parent / "webgl_release.js").read_text()


def release_detached_contexts() -> None:
    """Send the script (call on every run, before the first chart; it installs itself once
    per page)."""
    with st.container(key=KEY):
        st.html(f"<style>.st-key-{KEY} {{ display: none; }}</style><script>{_JS}</script>",
                unsafe_allow_javascript=True)
