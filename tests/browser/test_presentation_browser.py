"""Computed font sizes on the Explorer in headless chromium at 1366x768, out of
presentation mode and in it (present=1): out of it no text below 14 px and the map's
ticks and legend at least 14 px; in it body text at least 20 px, captions at least 18 px
in the body's colour (not light grey), the map's ticks and legend at least 16 px
(skips without chromium). Captions include the decoded image's caption drawn by the page (.vx-caption)."""

import pytest
from playwright.sync_api import expect

from explorer.ui.page.layout import PLOT_FONT_PX, PRESENT_PLOT_FONT_PX
from explorer.ui.components.viewport import COOKIE, LARGE, SMALL
from explorer.ui.views.latent_map import explorer_map_height
from tests.helpers.browser import MAP, open_explorer, wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000

# sizes of the main area's visible text: every element with text of its own (not inside
# a chart or a tooltip), the body paragraphs, the captions (size and colour), the map's text
FONTS_JS = """(map) => { const main = document.querySelector('[data-testid=stMain]');
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const size = (e) => parseFloat(getComputedStyle(e).fontSize);
  const own = [...main.querySelectorAll('*')].filter((e) => visible(e) && !e.closest('.js-plotly-plot')
    && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  const body = [...main.querySelectorAll('[data-testid=stMarkdownContainer] p')]
    .filter((e) => visible(e) && !e.closest('[data-testid=stCaptionContainer]'));
  const captions = [...main.querySelectorAll('[data-testid=stCaptionContainer], .vx-caption')].filter(visible);
  const rgb = (e) => getComputedStyle(e).color.match(/\\d+/g).slice(0, 3).map(Number);
  const gd = document.querySelector(map);
  const plot = [...gd.querySelectorAll('.xtick text, .ytick text, .legendtext')].filter(visible);
  const least = (xs) => Math.min(...xs.map(size));
  return {text: least(own), smallest: own.sort((a, b) => size(a) - size(b))[0]?.textContent.slice(0, 40),
          body: least(body), caption: least(captions), plot: least(plot), plot_count: plot.length,
          caption_rgb: captions.map(rgb), body_rgb: rgb(main),
          metric: least([...main.querySelectorAll('[data-testid=stMetricValue]')].filter(visible).map(
            (m) => [...m.querySelectorAll('*')].find((e) => [...e.childNodes].some((n) => n.nodeType === 3)) || m))}; }"""
# Page-side: what a click at the top of the page, under the see-through header, lands on (the
# lesson's Next stood there at 1920x1080 while the header's toolbar took its clicks).
TOP_CLICK_JS = """() => { const hits = [0.5, 0.75, 0.9].map((f) => document.elementFromPoint(innerWidth * f, 30));
  return hits.map((e) => e && e.closest('[data-testid=stHeader]') ? 'header' : (e ? e.tagName : null)); }"""


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_font_sizes_in_and_out_of_presentation_mode(page, app_url, artifacts_dir, present):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_explorer(page, app_url + ("/?present=1" if present else "/"), TIMEOUT)
    fonts = page.evaluate(FONTS_JS, MAP)
    assert fonts["plot_count"] >= 8, fonts  # the map's tick labels (its colour key is page text, under it)
    if not present:
        assert fonts["text"] >= 14, fonts
        assert fonts["plot"] >= PLOT_FONT_PX, fonts
    else:
        assert fonts["body"] >= 20, fonts
        assert fonts["caption"] >= 18, fonts
        # captions in the body's colour, not Streamlit's light grey
        assert all(rgb == fonts["body_rgb"] for rgb in fonts["caption_rgb"]), fonts
        assert fonts["plot"] >= PRESENT_PLOT_FONT_PX, fonts
        assert "header" not in page.evaluate(TOP_CLICK_JS)  # clicks under the header reach the page
        assert fonts["metric"] >= 30, fonts  # Streamlit's 36 px values, not shrunk to the body's 20
    # the app's menu stands over the page's top-right corner once the page starts under the
    # see-through header: hidden while presenting, there otherwise
    menu = page.get_by_test_id("stMainMenu")
    expect(menu).to_be_hidden() if present else expect(menu).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"fonts-explorer-1366x768{'-present' if present else ''}.png"))


# --- the toggle and the URL agree through the window's size reruns ---------------------

TOGGLE = ".st-key-present_mode"
# the browser's toggle, the URL's present=1, and the server's presentation style (body text 20 px)
PRESENT_STATE_JS = """(sel) => { const i = document.querySelector(sel + ' input');
  const p = [...document.querySelectorAll('[data-testid=stMain] [data-testid=stMarkdownContainer] p')]
    .find((e) => e.getBoundingClientRect().height > 0 && !e.closest('[data-testid=stCaptionContainer]'));
  return {toggle: !!i && i.checked, url: new URLSearchParams(location.search).get('present'),
          body_px: p ? parseFloat(getComputedStyle(p).fontSize) : null}; }"""
# the one map, drawn at the height for this presentation mode and size class
MAP_AT_HEIGHT = """(h) => { const g = document.querySelectorAll('%s');
  return g.length === 1 && !!g[0]._fullLayout && g[0]._fullLayout.height === h; }""" % MAP
SCREENS = {(1366, 768): SMALL, (1920, 1080): LARGE}


def _wait_for_map(page, present: bool, size: tuple[int, int]) -> None:
    page.wait_for_function(MAP_AT_HEIGHT, arg=explorer_map_height(present, SCREENS[size]), timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)


def _assert_presenting(page, on: bool, when: str) -> None:
    state = page.evaluate(PRESENT_STATE_JS, TOGGLE)
    assert state["toggle"] is on and (state["url"] == "1") is on, (when, state)
    assert (state["body_px"] >= 20) is on, (when, state)


def _map_figures(frames: list[bytes]) -> int:
    """How many of the server's websocket messages carry a latent map's figure (its
    element key and its WebGL scatter)."""
    return sum(1 for f in frames if b"latent_map" in f and b"scattergl" in f)


@pytest.mark.parametrize("size", list(SCREENS), ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_first_visit_sends_the_map_once_and_presentation_mode_holds_through_size_reruns(page, app_url, size):
    """A browser's first visit (no size cookie) to a link with present=1. The map's figure
    comes once: the page waits for the window's size class before drawing it (at
    1920x1080 it was drawn at the laptop's size first, then again). Presentation mode
    holds through the size report's rerun (that rerun used to lose the toggle's drawing:
    the browser showed it off while the page presented, and the next rerun switched it
    off), through a toggle off and on, and through a resize to the other size class and
    back (a size rerun each): the toggle, the URL and the page's text agree each time."""
    other = next(s for s in SCREENS if SCREENS[s] != SCREENS[size])
    frames: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
        f if isinstance(f, bytes) else f.encode())))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(app_url + "/?present=1")
    _wait_for_map(page, True, size)
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')", timeout=TIMEOUT)  # reported
    page.wait_for_timeout(500)  # a rerun the report asked for has started by now
    wait_for_app_run(page, TIMEOUT)
    assert _map_figures(frames) == 1, [len(f) for f in frames if b"latent_map" in f]
    _assert_presenting(page, True, "opened with present=1")
    for on in (False, True):
        page.locator(f"{TOGGLE} label").first.click()
        _wait_for_map(page, on, size)
        page.wait_for_function("(on) => (new URLSearchParams(location.search).get('present') === '1') === on",
                               arg=on, timeout=TIMEOUT)
        _assert_presenting(page, on, f"toggled {'on' if on else 'off'}")
    for now in (other, size):  # a size rerun each
        page.set_viewport_size({"width": now[0], "height": now[1]})
        _wait_for_map(page, True, now)
        _assert_presenting(page, True, f"after the size rerun at {now}")
