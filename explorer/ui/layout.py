"""Page layout for classroom screens (1366x768 laptops, 1920x1080 projectors).

Streamlit starts a page's content 6rem (96 px) from the top, under its 3.75rem header,
and the sidebar's content 6rem down too; on a 768 px high screen those rows are what
pushed the key views below the fold. :func:`classroom_layout` moves both up to just
under the header. It is one ``<style>`` element (Streamlit draws a style-only
``st.html`` without taking room on the page).
"""

from __future__ import annotations

import streamlit as st

#: Space above a page's content: the header's 3.75rem plus a little air.
TOP_PADDING_REM = 4.0

CSS = f"""<style>
.stMainBlockContainer {{ padding-top: {TOP_PADDING_REM}rem; }}
[data-testid="stSidebarContent"] [data-testid="stSidebarUserContent"] {{ padding-top: 0.5rem; }}
</style>"""


def classroom_layout() -> None:
    """Tighten the space above the page's and the sidebar's content (call once per run)."""
    st.html(CSS)
