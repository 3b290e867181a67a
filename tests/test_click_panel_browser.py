"""The Explorer answers a click on screen (issue 21, item 4), in headless chromium at
1366x768 (a laptop) and 1920x1080 (a projector): after a mouse click on a digit, its
original, its reconstruction and its terms lie inside the window, without scrolling, and
the map keeps its size (skips without chromium)."""

import pytest

from explorer.ui.figures import LATENT_MAP_HEIGHT
from explorer.ui.views.latent_map import EXPLORER_MAP_HEIGHT_SMALL
from tests.helpers.browser import MAP, MAP_JS, PANEL_SHOWS, click_screen, isolated_points, wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000
#: Window sizes and the map figure's height the page draws for each (explorer.ui.viewport:
#: a 1920x1080 window is "large"; the page learns it in its first run and draws again).
SCREENS = {(1366, 768): EXPLORER_MAP_HEIGHT_SMALL, (1920, 1080): LATENT_MAP_HEIGHT}

# the one map drawn at the window's height (a stale copy of the first run's map is gone)
MAP_AT_HEIGHT = """(h) => { const g = document.querySelectorAll('%s');
  return g.length === 1 && !!g[0]._fullLayout && g[0]._fullLayout.height === h; }""" % MAP
# boxes of the map's plot area, the click panel's two images and its terms
BOXES = """() => { const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const gd = document.querySelector('%s'), r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const images = [...document.querySelectorAll('.st-key-click_panel img')].map(box);
  const terms = document.querySelector('.st-key-click_terms');
  return {plot: {left: r.left + xa._offset, top: r.top + ya._offset, width: xa._length, height: ya._length},
          images, terms: terms ? box(terms) : null,
          scroll: document.querySelector('[data-testid=stMain]').scrollTop}; }""" % MAP


@pytest.mark.parametrize("size", list(SCREENS), ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_click_shows_original_reconstruction_and_terms_inside_the_window(page, app_url, artifacts_dir, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(app_url)
    page.wait_for_function(MAP_AT_HEIGHT, arg=SCREENS[size], timeout=TIMEOUT)
    page.add_script_tag(content=MAP_JS)
    page.wait_for_function("() => window.__scatterCount() === 10000", timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    before = page.evaluate(BOXES)
    point = isolated_points(page, 1)[0]
    click_screen(page, point["px"], point["py"])
    page.wait_for_function(PANEL_SHOWS, arg=f"Test digit {point['index']}", timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    after = page.evaluate(BOXES)
    assert after["plot"] == before["plot"], (before["plot"], after["plot"])  # the map keeps its size and place
    assert after["scroll"] == 0
    shown = [*after["images"], after["terms"]]
    assert len(after["images"]) == 2 and after["terms"] is not None, after
    for name, box in zip(("original", "reconstruction", "terms"), shown):
        assert box["width"] > 0 and box["height"] > 0, (name, box)
        assert box["left"] >= 0 and box["top"] >= 0 and box["right"] <= width and box["bottom"] <= height, (name, box)
    # the images are large enough to see a digit (28 px digits at 2.5x or more)
    assert min(b["width"] for b in after["images"]) >= 70, after["images"]
    page.screenshot(path=str(artifacts_dir / f"explorer-click-{width}x{height}.png"))
