"""Start loading Plotly.js in the browser while the server's first run still imports.

On a cold start the page asked for Streamlit's Plotly chunk (4.7 MB of JavaScript) only
when the map's element arrived, after ``app.py`` had imported torch, Plotly and pandas;
fetching and evaluating it then took about 1.6 s before the map could be drawn
(``python -m bench.browser --cold-starts``). ``app.py`` sends this element before those
imports: an inline module import of the same URL, so the browser loads Plotly while the
server imports, and Streamlit's own import of the chunk later finds the module loaded
(the browser keeps one module per URL). It draws nothing.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

#: The keyed container of the element; its style takes it out of the page's layout.
KEY = "plotly_preload"


def plotly_chunk() -> str | None:
    """The file name of Streamlit's Plotly chunk in its static files, or None if there is
    not exactly one (another Streamlit build: then nothing is preloaded)."""
    chunks = list((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return chunks[0].name if len(chunks) == 1 else None


def preload_plotly() -> None:
    """Send the element that imports Plotly's chunk in the page (call before heavy imports)."""
    chunk = plotly_chunk()
    if chunk is None:
        return
    with st.container(key=KEY):
        # the chunk's URL relative to the page's base, as Streamlit's own static files
        st.html(f"<style>.st-key-{KEY} {{ display: none; }}</style>"
                f"<script>import(new URL('./static/js/{chunk}', document.baseURI).href).catch(() => {{}});</script>",
                unsafe_allow_javascript=True)
