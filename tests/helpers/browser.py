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
