"""The browser driver shared by the tests and the benchmarks lives in
:mod:`explorer.testing.browser` (``bench/`` may not import ``tests/``); the tests import it
from here as well, beside the helpers only tests use (drawing on a canvas)."""

from explorer.testing.browser import *  # noqa: F401,F403


#: Page-side: a canvas has its full 280 px width and has not moved since the last poll
#: (an expander or a tab lays it out in steps, with an animation).
CANVAS_STILL_JS = """(el) => { const r = el.getBoundingClientRect(), last = el.__lastRect;
  el.__lastRect = [r.x, r.y, r.width];
  return Math.abs(r.width - 280) < 2 && last && last[0] === r.x && last[1] === r.y; }"""


def draw_a_one(page, canvas, x_fraction: float = 0.5, timeout_ms: int = 60_000) -> None:
    """Draw a vertical stroke, a "1", on a drawing canvas (``streamlit-drawable-canvas``:
    pass its upper canvas, which takes the mouse) once it stands still at its 280 px:
    20 mouse moves from 40 px below its top, ``x_fraction`` of its width from the left."""
    canvas.scroll_into_view_if_needed()
    page.wait_for_function(CANVAS_STILL_JS, arg=canvas.element_handle(), polling=100, timeout=timeout_ms)
    box = canvas.bounding_box()
    x = box["x"] + x_fraction * box["width"]
    page.mouse.move(x, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x - step * 0.5, box["y"] + 40 + step * 9)
    page.mouse.up()


def open_by_menu(page, url: str, name: str, timeout_ms: int = 90_000) -> None:
    """Load the app at ``url`` and follow the sidebar's link to page ``name`` once app.py's
    first run has ended (the Explorer's map drawn, the app idle). A click before that races
    the first run: a fresh server's first session shows the legacy pages/ navigation until
    app.py has run. The likely cause of a CI failure (2026-12-07): after a click made right after
    loading, the Compare page's maps had not come 90 s later."""
    page.goto(url)
    page.locator(MAP).wait_for(timeout=timeout_ms)  # noqa: F405  (from explorer.testing.browser)
    wait_for_app_run(page, timeout_ms)  # noqa: F405
    page.locator("[data-testid=stSidebar]").get_by_role("link", name=name, exact=True).click(timeout=timeout_ms)
