"""Projector-ready, in headless chromium: every chart survives a whole lesson (no WebGL
context is taken away from a map on the page; issue 21) (skips without chromium)."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

from explorer.ui.views.lesson import STEPS, TOOLS
from tests.helpers.browser import wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 90_000
TRAINING_TIMEOUT = 300_000
LESSON_URL = "/compare?step=1&left=mnist_ae_z2.safetensors&right=mnist_vae_z2.safetensors"

#: Before the app's scripts: count the WebGL contexts lost by canvases in the page (a
#: capture listener on window sees the events of canvases in the document only; a
#: context the app releases on purpose belongs to a canvas that has left the page).
LOST_JS = """window.__vxLost = [];
window.addEventListener('webglcontextlost', (e) => {
  const gd = e.target.closest && e.target.closest('.js-plotly-plot');
  window.__vxLost.push(gd && gd.parentElement ? (gd.closest('[class*="st-key-"]') || {}).className || 'chart' : 'canvas');
}, true);"""

#: Every Plotly chart with WebGL canvases: its live context, and the number of pixels that
#: its WebGL layer has drawn (the points; read back through a 2D canvas: Plotly keeps the
#: drawing buffer), with the number of digit points its figure holds.
WEBGL_CHARTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((gd) => {
  const canvas = gd.querySelector('canvas.gl-canvas-context');
  if (!canvas || !canvas.__vxGl) return [];
  const key = (gd.closest('[class*="st-key-"]') || {className: '?'}).className.match(/st-key-[\\w-]+/);
  const points = (gd._fullData || []).filter((t) => (t.name || '').startsWith('digit'))
    .reduce((n, t) => n + t.x.length, 0);
  let drawn = -1;
  if (!canvas.__vxGl.isContextLost() && canvas.width && canvas.height) {
    const c = document.createElement('canvas');
    c.width = canvas.width; c.height = canvas.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(canvas, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    drawn = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) drawn++;
  }
  return [{key: key ? key[0] : '?', lost: canvas.__vxGl.isContextLost(), points, drawn,
           visible: gd.getBoundingClientRect().width > 0}];
})"""


def _assert_maps_drawn(page, where: str) -> None:
    """No map lost its context, and every visible map with points has drawn them."""
    charts = page.evaluate(WEBGL_CHARTS_JS)
    assert charts, f"{where}: no WebGL chart on the page"
    for chart in charts:
        assert not chart["lost"], f"{where}: {chart['key']} lost its WebGL context"
        if chart["visible"] and chart["points"]:
            assert chart["drawn"] > 100, f"{where}: {chart['key']} shows no points ({chart})"
    assert page.evaluate("() => window.__vxLost") == [], where


def _twin_run(page) -> None:
    for key, value in (("cmp_twin_subset", 500), ("cmp_twin_epochs", 2)):
        box = page.locator(f".st-key-{key} input")
        box.fill(str(value))
        box.press("Tab")
        expect(box).to_have_value(str(value))
        wait_for_app_run(page, TIMEOUT)
    page.locator(".st-key-cmp_twin_start").get_by_role("button", name="Train both").click()
    expect(page.get_by_text(re.compile("Both models trained"))).to_be_visible(timeout=TRAINING_TIMEOUT)
    wait_for_app_run(page, TIMEOUT)


def _next_step(page, number: int) -> None:
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".st-key-cmp_lesson")).to_contain_text(f"Lesson {number}/{len(STEPS)}:",
                                                                timeout=4 * TIMEOUT)
    wait_for_app_run(page, TIMEOUT)


def test_every_chart_survives_the_whole_lesson_a_twin_run_and_every_tab(page, app_url, artifacts_dir):
    page.set_viewport_size({"width": 1366, "height": 768})
    warnings = []
    page.on("console", lambda m: warnings.append(m.text) if "WebGL contexts" in m.text else None)
    page.add_init_script(LOST_JS)
    page.goto(app_url + LESSON_URL)
    expect(page.locator(".st-key-cmp_lesson")).to_contain_text(f"Lesson 1/{len(STEPS)}:", timeout=TIMEOUT)
    page.wait_for_function(f"({WEBGL_CHARTS_JS})().length >= 2", timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    for number in range(2, len(STEPS) + 1):  # each step draws both maps anew
        _next_step(page, number)
        _assert_maps_drawn(page, f"lesson step {number}")
        if STEPS[number - 1].tool == TOOLS[5]:  # the twin step: a short run to its end (live maps every 1.5 s)
            _twin_run(page)
            _assert_maps_drawn(page, "after the twin run")
    for tool in TOOLS:
        page.get_by_role("tab", name=tool).click()
        expect(page.get_by_role("tab", name=tool)).to_have_attribute("aria-selected", "true")
        wait_for_app_run(page, TIMEOUT)
    _assert_maps_drawn(page, "after the lesson")
    # a chart that left the page gave its context back at once: at no time were 16 alive
    # (detached ones included), and Chromium never had to take the oldest away
    gl = page.evaluate("() => ({released: window.__vxGlRelease.released, peak: window.__vxGlRelease.peak, "
                       "live: [...window.__vxGlRelease.live].filter(c => !c.__vxGl.isContextLost()).length})")
    (artifacts_dir / "projector-webgl-warnings.txt").write_text("\n".join(warnings) + f"\n{gl}\n")
    assert gl["released"] > 0 and gl["live"] < 16 and gl["peak"] < 16, gl
    assert warnings == [], warnings
    page.screenshot(path=str(artifacts_dir / "projector-after-lesson.png"))


#: Plot areas of the two Compare maps (Plotly's axes lengths, px) and the lesson's boxes.
PLOT_AREAS_JS = """() => ['a', 'b'].map((side) => {
  const gd = document.querySelector(`.st-key-cmp_${side}_map_panel .js-plotly-plot`);
  const fl = gd && gd._fullLayout;
  return fl ? {w: fl.xaxis._length, h: fl.yaxis._length, holes: gd._fullData.some((t) => t.type === 'contour')}
            : null; })"""
INSIDE_JS = """([sel, w, h]) => [...document.querySelectorAll(sel)].map((e) => e.getBoundingClientRect())
  .filter((r) => r.width > 0 && r.height > 0)
  .map((r) => r.left >= 0 && r.top >= 0 && r.right <= w && r.bottom <= h)"""
#: The smallest map plot area (px, wide and high) each screen must show, holes on.
SCREENS = {(1366, 768): 300, (1920, 1080): 450}


@pytest.mark.parametrize("size", list(SCREENS), ids=lambda s: f"{s[0]}x{s[1]}")
def test_lesson_and_maps_fit_the_screen_and_nothing_looks_broken(page, app_url, artifacts_dir, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(app_url + LESSON_URL.replace("step=1", "step=4"))
    lesson = page.locator(".st-key-cmp_lesson")
    expect(lesson).to_contain_text(f"Lesson 4/{len(STEPS)}:", timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    # the holes' shading on both maps (its colour bar must not take the maps' width): none on
    # this step, on by default once the holes' tab is open
    page.wait_for_function(f"() => ({PLOT_AREAS_JS})().every((p) => p)", timeout=TIMEOUT)
    assert not any(a["holes"] for a in page.evaluate(PLOT_AREAS_JS))
    page.get_by_role("tab", name=TOOLS[3]).click()
    for side in "ab":
        expect(page.locator(f".st-key-cmp_{side}_show_holes").get_by_role("switch")).to_be_checked(timeout=TIMEOUT)
        page.wait_for_function(f"() => ({PLOT_AREAS_JS})()[{'ab'.index(side)}]?.holes", timeout=TIMEOUT)
    smallest = SCREENS[size]
    # the page grows its maps once the window's size class has arrived (a rerun)
    try:
        page.wait_for_function(f"(m) => ({PLOT_AREAS_JS})().every((p) => p && p.holes && p.w >= m && p.h >= m)",
                               arg=smallest, timeout=TIMEOUT)
    except PlaywrightTimeout:
        pytest.fail(f"map plot areas below {smallest} px: {page.evaluate(PLOT_AREAS_JS)}")
    wait_for_app_run(page, TIMEOUT)
    page.get_by_test_id("stMain").evaluate("(e) => e.scrollTo(0, 0)")  # the tab click scrolled to the tabs
    areas = page.evaluate(PLOT_AREAS_JS)
    assert all(a["w"] >= smallest and a["h"] >= smallest for a in areas), areas
    # the step's words and its buttons on screen, without scrolling
    for selector in (".st-key-cmp_lesson", ".st-key-cmp_lesson_back button", ".st-key-cmp_lesson_next button",
                     ".st-key-cmp_lesson_end button"):
        assert page.evaluate(INSIDE_JS, [selector, width, height]) == [True], selector
    for side in "ab":  # the maps' plot areas too
        inside = page.evaluate("""([sel, w, h]) => { const gd = document.querySelector(sel), r = gd.getBoundingClientRect();
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          return r.left + xa._offset >= 0 && r.top + ya._offset >= 0 && r.left + xa._offset + xa._length <= w
                 && r.top + ya._offset + ya._length <= h; }""",
                               [f".st-key-cmp_{side}_map_panel .js-plotly-plot", width, height])
        assert inside, side
    page.screenshot(path=str(artifacts_dir / f"projector-lesson4-holes-{width}x{height}.png"))
    # no Deploy button, no developer menu entries
    expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    # the sidebar's model list offers autoencoders only (the classifier is left out)
    page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model").click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible(timeout=TIMEOUT)
    names = options.all_inner_texts()
    assert names and not any("classifier" in n for n in names), names
    page.keyboard.press("Escape")
