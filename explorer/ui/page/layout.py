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
#: Space left and right of a page's content (Streamlit's wide layout: 5rem, which took
#: 160 px from the maps on a 1366 px screen).
SIDE_PADDING_REM = 1.5
#: A page title's size (Streamlit's is 2.75rem): the key view below it starts higher.
TITLE_REM = 2.0

CSS = f"""<style>
.stMainBlockContainer {{ padding-top: {TOP_PADDING_REM}rem; }}
/* a page's title: {TITLE_REM}rem on one line with little room around it, not Streamlit's 2.75rem
   between 1.25rem and 1rem of padding (96 px of a 768 px high screen, before the key view) */
.stMain h1 {{ font-size: {TITLE_REM}rem; padding: 0 0 0.25rem; }}
.st-key-viewport_screen_box {{ display: none; }}
/* the maps' marks elements draw nothing: no gap under the map (map_marks.js hides its box too,
   but a redraw of the element showed it again) */
.stMain .stElementContainer[class*="map_marks"] {{ display: none; }}
/* the page's hidden helpers (Plotly preload, WebGL release, window size) take no gap */
.stMainBlockContainer div:has(> .st-key-plotly_preload, > .st-key-webgl_release, > .st-key-viewport_screen_box) {{
  display: none; }}
[data-testid="stSidebarContent"] [data-testid="stSidebarUserContent"] {{ padding-top: 0.5rem; }}
/* a choice too long for its box ends in an ellipsis, not in a cut that reads as another value
   ("M1+M2 (100 labels) · z = 50 · shipped" showed as "M1+M2 (100 labels) · z = 5" in the
   sidebar); the full name is in the box's list and its help names the file */
input[role="combobox"] {{ text-overflow: ellipsis; }}
/* equation blocks: a little room each side, for KaTeX's aligned rows, which reach 2 px past
   the box they size (a scroll bar under the KL equation) */
.stMain .katex-display {{ padding: 0 4px; }}
/* the click's terms beside its two images under the Explorer's map: 14 px lines, so the
   strip stays on a 1366x768 screen (presentation mode's 20 px wins: more specific) */
[class*="click_terms"] p {{ font-size: 14px; line-height: 1.25; }}
/* the Explorer's colour key under its map: closer to the map, whose figure ends in empty
   room under the z1 title (the strip under the key then fits a 768 px high screen) */
.st-key-explorer_color_key {{ margin-top: -10px; }}
/* its images' captions on one line, a little wider than the image: no size of their own
   in the row's layout (the image's column keeps its width), centred, so a wider caption
   reaches into the gaps on both sides, not into the terms */
[class*="click_panel"] [data-testid="stImageCaption"] {{ white-space: nowrap; contain: inline-size; overflow: visible; }}
[class*="click_panel"] [data-testid="stImageCaption"] p {{ display: flex; justify-content: center; }}
</style>"""


WIDE_CSS = f"""<style>
.stMainBlockContainer {{ padding-left: {SIDE_PADDING_REM}rem; padding-right: {SIDE_PADDING_REM}rem; }}
</style>"""


def wide_main() -> None:
    """Narrow side margins for a page whose key view is two maps side by side (the
    Compare page): their plot areas get the room (call once per run, on that page)."""
    st.html(WIDE_CSS)


def classroom_layout() -> None:
    """Tighten the space above the page's and the sidebar's content (call once per run)."""
    st.html(CSS)


#: Presentation mode's session-state key (the sidebar toggle) and URL parameter (``present=1``,
#: so a lesson link can carry it).
PRESENT_KEY = "present_mode"
PRESENT_PARAM = "present"
#: Plot ticks, titles and legends in presentation mode, in px (at least).
PRESENT_PLOT_FONT_PX = 16

#: Presentation mode for a room: body text 20 px, captions and help text 18 px in the body
#: colour (not light grey).
PRESENT_CSS = """<style>
.stMain [data-testid="stMarkdownContainer"] p, .stMain [data-testid="stMarkdownContainer"] li,
.stMain [data-testid="stWidgetLabel"] p { font-size: 20px; }
.stMain [data-testid="stCaptionContainer"], .stMain [data-testid="stCaptionContainer"] p,
.stMain [data-testid="stImageCaption"], .stMain .vx-caption {
  font-size: 18px; color: inherit; opacity: 1; }
/* the page starts 1rem from the top, under a see-through header whose buttons (the menu,
   the sidebar's reopen button) still work: 48 px more for the key view on a 768 px screen */
.stMainBlockContainer { padding-top: 1rem; }
[data-testid="stHeader"] { background: transparent; }
/* all of it, the toolbar included: the lesson's Next lay under the toolbar at 1920x1080 */
[data-testid="stHeader"], [data-testid="stHeader"] * { pointer-events: none; }
[data-testid="stHeader"] button, [data-testid="stHeader"] a { pointer-events: auto; }
/* a metric's value keeps Streamlit's 36 px (the 20 px body text above shrank it to 20 px);
   what is typed or chosen in a field is 18 px, not 14 */
.stMain [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p { font-size: inherit; }
/* a metric's label wraps instead of ending in "..." ("Our test error, 1..." at 1366 px) */
.stMain [data-testid="stMetricLabel"], .stMain [data-testid="stMetricLabel"] * {
  white-space: normal; overflow: visible; text-overflow: clip; height: auto; }
/* a slider's value over its thumb at 20 px in the line height Streamlit gives its 14 px
   (22 px): the taller 20 px line reached 10 px down over the thumb and the track */
.stMain [data-testid="stSliderThumbValue"] [data-testid="stMarkdownContainer"] p { line-height: 22px; }
.stMain [data-testid="stNumberInputField"], .stMain [data-testid="stTextInputField"],
.stMain input[role="combobox"], .stMain textarea { font-size: 18px; }
/* the app's menu (rerun, settings, print) would stand over the page's top-right corner:
   hidden while presenting (the toggle's help says so) */
[data-testid="stMainMenu"] { display: none; }
</style>"""


def presenting() -> bool:
    """Whether presentation mode is on (the one place that reads it)."""
    return bool(st.session_state.get(PRESENT_KEY))


#: Plot ticks, titles and legends out of presentation mode, in px (at least; Plotly's own 12
#: px is too small to read from the back of a room).
PLOT_FONT_PX = 14


def plot_font_size(size: int | None) -> int:
    """A chart's font size in px: at least :data:`PRESENT_PLOT_FONT_PX` in presentation
    mode, else at least :data:`PLOT_FONT_PX` (``size`` where larger; None: no wish)."""
    return max(size or 0, PRESENT_PLOT_FONT_PX if presenting() else PLOT_FONT_PX)


def presentation_toggle() -> None:
    """The sidebar's presentation-mode toggle, kept in the URL as ``present=1`` (a link
    with it opens a new session in presentation mode); on, it enlarges the page's text
    (call once per run, before the page).

    The URL is the toggle's default (``value=``), not a session-state write before the
    widget: such a write reaches the browser once, in that run's drawing of the toggle, and
    a run interrupted by the next (the window's size report, explorer.ui.components.viewport) can
    lose that drawing, since Streamlit drops an interrupted run's unsent messages. The
    browser then drew the toggle off from its default while the server had it on, and
    the next rerun sent "off" back. A default is in every drawing of the toggle, and the
    URL and the toggle change together, so both sides agree through any number of reruns.
    """
    st.sidebar.toggle("Presentation mode", value=st.query_params.get(PRESENT_PARAM) == "1", key=PRESENT_KEY,
                      help="Larger text and plot labels for a projector; the address bar keeps it (present=1). "
                           "The app's menu (top right) is hidden while it is on.")
    if presenting():
        st.query_params[PRESENT_PARAM] = "1"
        st.html(PRESENT_CSS)
    elif PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]


#: The home page's heading row (pages/explorer.py, a container keyed ``front_door``): a
#: title of 2rem, not Streamlit's 2.75rem, stays on one line beside the sentence and the
#: three starts, so the row is no taller than the title alone was and the map still fits.
FRONT_DOOR_CSS = """<style>
.st-key-front_door h1 { font-size: 2rem; padding: 0; white-space: nowrap; }
</style>"""


def front_door_row():
    """A keyed container for the home page's heading row, its title made compact (see
    :data:`FRONT_DOOR_CSS`). Returns the container (use it as a context manager)."""
    st.html(FRONT_DOOR_CSS)
    return st.container(key="front_door")
