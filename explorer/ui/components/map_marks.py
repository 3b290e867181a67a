"""The latent map's marks and clicks, handled by the page: the selected digit's ring and
posterior ellipses, the decoder's star, and the clicks on the map (a Streamlit component,
``st.components.v2``, inline JS).

Marks: Streamlit's chart element id includes the figure, so a figure that changed with
every click made the browser build the chart anew: parse about 400 kB of JSON and draw
10,000 WebGL points, on the main thread, while the click's panel waited. The map is now
sent without them (``map_figure.latent_map(..., marks_in_page=True)``), so it is the same
figure before and after a click (Streamlit then sends a reference to the cached message,
and the chart stays as it is), and this small element puts the marks on it as layout
shapes (``map_figure.map_marks``) with ``Plotly.relayout``, again whenever the chart is drawn
anew. Moving a shape redraws the shapes only, not the WebGL points. It is the decoder
star's only writer: where the page decodes the z sliders' value itself
(:mod:`explorer.ui.components.browser_decoder`), it moves the star with the sliders, without a rerun.

Clicks: the map is not a Streamlit selection chart (its clickmode is "event"): a Plotly
selection restyles and redraws every WebGL point before Streamlit sends it (about 100 ms
in software rendering). This element sends each ``plotly_click`` as its trigger
``"click"``; the callback keeps its points in the view's session key ``map_click`` for
:func:`explorer.ui.views.latent_map.new_map_click`, before the page runs. Plotly reports
the point nearest to the cursor, and the invisible click catcher's points lie a few pixels
apart, closer than a digit's dot is wide: a click on a digit's dot, off its centre, went to
the catcher. A catcher click within :data:`explorer.ui.figures.map_figure.DIGIT_PICK_PX` of a shown
digit is sent as that digit's click.
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from explorer.ui.figures.map_figure import CATCHER_NAME, CATCHER_TRACE, DIGIT_PICK_PX, SELECTION_MARKS, STAR_MARK

_JS = (Path(__file__).parent / "map_marks.js").read_text()
_component = st.components.v2.component("vae_explorer_map_marks", js=_JS)


def _keep_click(key: str, click_key: str, then=None) -> None:
    """The trigger's callback (runs before the page or fragment): keep the click's points
    in ``click_key``, then call ``then()`` if given."""
    value = st.session_state.get(key)
    click = value.get("click") if isinstance(value, dict) else None
    points = click.get("points") if isinstance(click, dict) else None
    if isinstance(points, list) and points:
        st.session_state[click_key] = [p for p in points if isinstance(p, dict)]
        if then is not None:
            then()


def map_marks(key: str, map_selector: str, shapes: list[dict], click_key: str, on_click=None,
              sliders: tuple[str, ...] = ()) -> None:
    """Put the marks ``shapes`` on the map, in place of the marks it shows, and report its
    clicks: an element that draws nothing itself.

    Args:
        key: the element's key.
        map_selector: CSS selector of the map's Plotly graph div (``.js-plotly-plot``).
        shapes: the marks shown (:func:`explorer.ui.figures.map_figure.map_marks`); the map's other
            shapes stay.
        click_key: session key that receives a click's points (a list of dicts with
            ``curve_number``, ``point_index``, ``x``, ``y``, ``customdata``: the shape of
            Streamlit's selection points, read by :func:`explorer.ui.figures.map_clicks.map_click`)
            before the run that the click starts.
        on_click: called after the points are kept, still in the callback (e.g. to act on
            the click and ``st.rerun`` only the fragments it changes), or None.
        sliders: widget keys of the z1 and z2 sliders: the star (the shape named
            :data:`~explorer.ui.figures.map_figure.STAR_MARK`) then follows their values in the page,
            without a rerun (where the page decodes the sliders' z itself). (): the star
            stays where ``shapes`` put it. This element is the star's only writer.
    """
    _component(key=key, data={"map": map_selector, "names": [*SELECTION_MARKS, STAR_MARK], "shapes": shapes,
                              "catcher": CATCHER_NAME, "digit_traces": CATCHER_TRACE, "pick_px": DIGIT_PICK_PX,
                              "star": STAR_MARK, "sliders": list(sliders) or None},
               height=0, on_click_change=functools.partial(_keep_click, key, click_key, on_click))
