"""The Compare page in headless chromium against `streamlit run app.py`: a real click on
one map selects the digit on both, the prior-sampling button shows both grids, and the
key view (two maps and the digit panel) fits a classroom screen (skips without chromium)."""

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import MAP_JS, click_screen, isolated_points, open_by_menu, use_map, wait_for_app_run

pytestmark = pytest.mark.browser
TIMEOUT = 90_000
MAPS = {side: f".st-key-cmp_{side}_map_panel .js-plotly-plot" for side in "ab"}
PANEL = ".st-key-cmp_digit_panel"

# Page-side: the code of test digit `index` on a map, the x, y of a named trace, and
# whether the ring the page puts on a map (explorer/ui/components/map_marks.py) is at a digit's code.
COMPARE_JS = """
window.__codeOf = (sel, index) => { const gd = document.querySelector(sel);
  for (const t of gd._fullData) { if (!(t.name || '').startsWith('digit')) continue;
    for (let i = 0; i < t.x.length; i++) if (t.customdata[i][0] === index) return [t.x[i], t.y[i]]; }
  return null; };
window.__trace = (sel, name) => { const gd = document.querySelector(sel);
  const t = gd && gd._fullData && gd._fullData.find(t => t.name === name);
  return t ? {x: Array.from(t.x), y: Array.from(t.y)} : null; };
window.__ringAt = (sel, index) => { const gd = document.querySelector(sel), code = window.__codeOf(sel, index);
  const ring = gd && gd.layout && (gd.layout.shapes || []).find(s => s.name === 'selected digit');
  return !!(ring && code && Math.abs(ring.xanchor - code[0]) < 1e-4 && Math.abs(ring.yanchor - code[1]) < 1e-4); };
"""
# what Streamlit's chart does with a changed figure: Plotly.react with the server's layout
REDRAW_WITHOUT_MARKS_JS = """(sel) => { const gd = document.querySelector(sel);
  const shapes = (gd.layout.shapes || []).filter(s => s.name !== 'selected digit');
  return window.Plotly.react(gd, gd.data, {...gd.layout, shapes}).then(() => true); }"""
PANEL_SHOWS = """([sel, text]) => { const p = document.querySelector(sel);
  if (!p || !p.innerText.includes(text)) return false;
  const imgs = [...p.querySelectorAll('img')];
  return imgs.length === 3 && imgs.every(i => i.complete && i.naturalWidth > 0); }"""


def open_compare(page, url: str) -> None:
    """Load the app, follow the menu link to the Compare page, wait for both full maps."""
    open_by_menu(page, url, "Compare AE and VAE", TIMEOUT)
    for selector in MAPS.values():
        page.locator(selector).wait_for(timeout=TIMEOUT)
    page.add_script_tag(content=MAP_JS)
    page.add_script_tag(content=COMPARE_JS)
    for selector in MAPS.values():
        use_map(page, selector)
        page.wait_for_function("() => window.__scatterCount() === 10000", timeout=TIMEOUT)
    wait_for_app_run(page)  # the maps are drawn, so the page's run has started: let it end


def select_on(page, side: str) -> int:
    """Click an isolated digit on map ``side`` with the mouse; wait until it is selected
    on both maps and the panel shows it. Returns its test index."""
    use_map(page, MAPS[side])
    point = isolated_points(page, 1, min_px=12)[0]
    click_screen(page, point["px"], point["py"])
    page.wait_for_function(PANEL_SHOWS, arg=[PANEL, f"Test digit {point['index']}"], timeout=TIMEOUT)
    for selector in MAPS.values():
        page.wait_for_function("([sel, i]) => window.__ringAt(sel, i)", arg=[selector, point["index"]],
                               timeout=TIMEOUT)
    return point["index"]


def test_a_click_on_one_map_selects_the_digit_on_both(page, app_url, artifacts_dir):
    open_compare(page, app_url)
    first = select_on(page, "a")
    panel = page.locator(PANEL)
    for text in ("original", "AE recon.", "VAE recon.", "reconstruction", "-ELBO"):
        expect(panel).to_contain_text(text)
    second = select_on(page, "b")  # and back the other way
    assert second != first
    # Streamlit updates a chart whose figure changed in place (Plotly.react: a new layout
    # object, the server's, without the marks the page put on): the ring comes back
    for selector in MAPS.values():
        page.evaluate(REDRAW_WITHOUT_MARKS_JS, selector)
        page.wait_for_function("([sel, i]) => window.__ringAt(sel, i)", arg=[selector, second], timeout=TIMEOUT)
    page.screenshot(path=str(artifacts_dir / "compare-linked-selection.png"))


def test_the_prior_sampling_button_shows_both_grids_and_marks_both_maps(page, app_url, artifacts_dir):
    open_compare(page, app_url)
    page.get_by_role("button", name="Sample from the prior").click()
    for side in "ab":
        image = page.locator(f".st-key-cmp_{side}_prior_samples img")
        expect(image).to_be_visible(timeout=TIMEOUT)
        page.wait_for_function("(sel) => { const i = document.querySelector(sel); return i && i.naturalWidth > 0; }",
                               arg=f".st-key-cmp_{side}_prior_samples img", timeout=TIMEOUT)
        page.wait_for_function("(sel) => { const t = window.__trace(sel, 'prior sample'); return t && t.x.length === 16; }",
                               arg=MAPS[side], timeout=TIMEOUT)
    expect(page.get_by_role("button", name="New sample")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "compare-prior-samples.png"))


def test_the_key_view_fits_a_classroom_screen_without_scrolling(page, app_url, artifacts_dir):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_compare(page, app_url)
    select_on(page, "a")  # the panel at its tallest: images and the table of terms
    for width, height in ((1366, 768), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function("([w, h]) => window.innerWidth === w && window.innerHeight === h", arg=[width, height])
        for selector in (".st-key-cmp_a_map_panel", ".st-key-cmp_b_map_panel", PANEL):
            # Streamlit lays the columns out again after a resize: wait until every box is inside
            page.wait_for_function(
                """([sel, w, h]) => { const e = document.querySelector(sel); if (!e) return false;
                   const r = e.getBoundingClientRect();
                   return r.height > 200 && r.left >= 0 && r.top >= 0 && r.right <= w && r.bottom <= h; }""",
                arg=[selector, width, height], timeout=10_000)
        assert page.evaluate("() => (document.querySelector('[data-testid=stMain]') || {}).scrollTop || 0") == 0
        page.screenshot(path=str(artifacts_dir / f"compare-{width}x{height}.png"))
