"""The browser window's size class, so pages can size their key views to it: "small"
(a 1366x768 laptop, and anything below a projector) or "large" (at least 1600 x 950 CSS
pixels: a 1920x1080 projector). A hidden element (``assets/viewport.js``) reports the
class when it differs from the one the page was drawn for, which reruns the page once.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

KEY = "viewport_screen"
SMALL, LARGE = "small", "large"
_JS = (Path(__file__).parent / "assets" / "viewport.js").read_text()
_component = st.components.v2.component("vae_explorer_viewport", js=_JS)


def screen() -> str:
    """The window's size class as last reported (:data:`SMALL` until the page says otherwise)."""
    value = st.session_state.get(KEY)
    reported = value.get("screen") if isinstance(value, dict) else None
    return reported if reported in (SMALL, LARGE) else SMALL


def report_screen() -> None:
    """Draw the reporting element (call once per run, before the pages read :func:`screen`)."""
    with st.container(key=f"{KEY}_box"):  # hidden by explorer.ui.layout's style: no gap in the page
        _component(key=KEY, data={"screen": screen()}, height=0, on_screen_change=lambda: None)


def pick(small, large):
    """``small`` or ``large`` for the window's size class."""
    return large if screen() == LARGE else small
