"""The browser window's size class, so pages can size their key views to it: "small"
(a 1366x768 laptop, and anything below a projector) or "large" (at least 1600 x 950 CSS
pixels: a 1920x1080 projector). A hidden element (``viewport.js``) reports the
class when it differs from the one the page was drawn for, which reruns the page once,
and keeps it in a cookie: the first guess of the browser's next session.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

KEY = "viewport_screen"
#: The cookie that keeps the browser's last reported size class (viewport.js).
COOKIE = "vx_screen"
SMALL, LARGE = "small", "large"
_JS = (Path(__file__).parent / "viewport.js").read_text()
_component = st.components.v2.component("vae_explorer_viewport", js=_JS)


def screen() -> str:
    """The window's size class as last reported; before the page's first report, the class
    the browser's last session reported (the cookie :data:`COOKIE`), else :data:`SMALL`.

    The cookie spares a projector the second drawing of its maps (first at the laptop's
    size, then, once the window's class arrives, at its own) on every load but a browser's
    first; a wrong guess (a window resized since) is reported and redrawn as before."""
    value = st.session_state.get(KEY)
    reported = value.get("screen") if isinstance(value, dict) else None
    if reported in (SMALL, LARGE):
        return reported
    guess = st.context.cookies.get(COOKIE)  # empty outside a browser's session (AppTest)
    return guess if guess in (SMALL, LARGE) else SMALL


def known() -> bool:
    """Whether :func:`screen` is more than a guess: the window reported its class in this
    session, or the browser's last session left it in the cookie :data:`COOKIE`. Also True
    outside a browser (AppTest: no request headers), where no report will ever come.

    While it is False (a browser's first visit) the element reports the window's class even
    when it matches the guess, and the pages leave out what is sized to the window
    (:func:`explorer.ui.views.latent_map.latent_map_view`): drawn at the guess, a 1920x1080
    projector's maps were sent twice on a first visit, 390 KB each, once at the laptop's
    size and again at their own."""
    value = st.session_state.get(KEY)
    if isinstance(value, dict) and value.get("screen") in (SMALL, LARGE):
        return True
    return st.context.cookies.get(COOKIE) in (SMALL, LARGE) or not st.context.headers


def report_screen() -> None:
    """Draw the reporting element (call once per run, before the pages read :func:`screen`)."""
    with st.container(key=f"{KEY}_box"):  # hidden by explorer.ui.page.layout's style: no gap in the page
        _component(key=KEY, data={"screen": screen(), "known": known(), "cookie": COOKIE}, height=0,
                   on_screen_change=lambda: None)


def pick(small, large):
    """``small`` or ``large`` for the window's size class."""
    return large if screen() == LARGE else small
