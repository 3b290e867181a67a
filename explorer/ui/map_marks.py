"""The latent map's marks drawn by the page: the selected digit's ring and posterior
ellipses and the decoder's star (a Streamlit component, ``st.components.v2``, inline JS).

Why: Streamlit's chart element id includes the figure, so a figure that changed with
every click made the browser build the chart anew: parse about 400 kB of JSON and draw
10,000 WebGL points, on the main thread, while the click's panel waited. The map is now
sent without them (``figures.latent_map(..., marks_in_page=True)``), so it is the same
figure before and after a click (Streamlit then sends a reference to the cached message,
and the chart stays as it is), and this small element puts the marks on it as layout
shapes (``figures.map_marks``) with ``Plotly.relayout``, again whenever the chart is drawn
anew. Moving a shape redraws the shapes only, not the WebGL points.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer.ui.figures import SELECTION_MARKS, STAR_MARK

_JS = (Path(__file__).parent / "assets" / "map_marks.js").read_text()
_component = st.components.v2.component("vae_explorer_map_marks", js=_JS)


def map_marks(key: str, map_selector: str, shapes: list[dict]) -> None:
    """Put the marks ``shapes`` on the map, in place of the marks it shows: an element
    that draws nothing itself.

    Args:
        key: the element's key.
        map_selector: CSS selector of the map's Plotly graph div (``.js-plotly-plot``).
        shapes: the marks shown (:func:`explorer.ui.figures.map_marks`); the map's other
            shapes stay.
    """
    _component(key=key, data={"map": map_selector, "names": [*SELECTION_MARKS, STAR_MARK], "shapes": shapes},
               height=0)
