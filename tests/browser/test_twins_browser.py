"""Watch the holes form, in headless chromium: start an AE and a VAE training at once on
the Compare page, see both live maps redrawn, stop, and put the two results on the
page's big maps (skips without chromium)."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import runs_ended, wait_for_app_run, wait_for_run_after
from tests.browser.test_compare_browser import MAPS, open_compare

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
#: Training outcomes on a loaded 2-core machine (see tests/browser/test_browser_train.py).
TRAINING_TIMEOUT = 300_000
LIVE = ".st-key-cmp_twin_map_{} .js-plotly-plot"
# the step in a live map's title ("AE: codes z, step 25"), -1 before it is drawn
STEP_JS = """(sel) => { const gd = document.querySelector(sel);
  const m = gd && gd.layout && gd.layout.title && /step (\\d+)/.exec(gd.layout.title.text || '');
  return m ? Number(m[1]) : -1; }"""
POINTS_JS = """(sel) => { const gd = document.querySelector(sel); if (!gd || !gd._fullData) return 0;
  return gd._fullData.filter(t => (t.name || '').startsWith('digit')).reduce((n, t) => n + t.x.length, 0); }"""


def _set_number(page, key: str, value) -> None:
    """Type ``value`` and wait for the run it asks for, so no later run can still overwrite it."""
    box = page.locator(f".st-key-{key} input")
    before = runs_ended(page)
    box.fill(str(value))
    box.press("Tab")
    wait_for_run_after(page, before)
    expect(box).to_have_value(str(value))


def test_train_both_watch_both_maps_stop_and_compare_the_results(page, app_url, artifacts_dir):
    open_compare(page, app_url)
    shipped_code = page.evaluate("(sel) => window.__codeOf(sel, 0)", MAPS["a"])
    wait_for_app_run(page)
    before = runs_ended(page)
    # the tab switch reruns the page (it keeps the open tab): a number typed while that
    # run is under way would be reset by it, so wait for it to end
    page.get_by_role("tab", name="Watch the holes form").click()
    wait_for_run_after(page, before)
    # by role: a button with help text also has a hidden copy (Streamlit 1.67 measures its width)
    start = page.locator(".st-key-cmp_twin_start").get_by_role("button", name="Train both")
    expect(start).to_be_enabled()
    _set_number(page, "cmp_twin_subset", 2000)
    _set_number(page, "cmp_twin_epochs", 40)  # 640 steps: far more than the test waits for
    wait_for_app_run(page)
    start.click()

    # both live maps appear, show the 2,000 sample digits, and are redrawn as training goes on
    expect(page.get_by_text(re.compile(r"Epoch \d+/40, step \d+/640"))).to_be_visible(timeout=TRAINING_TIMEOUT)
    first = []
    for i in range(2):
        page.wait_for_function(f"({STEP_JS})('{LIVE.format(i)}') >= 0", timeout=TRAINING_TIMEOUT)
        page.wait_for_function(f"({POINTS_JS})('{LIVE.format(i)}') === 2000", timeout=TRAINING_TIMEOUT)
        first.append(page.evaluate(f"({STEP_JS})('{LIVE.format(i)}')"))
    for i in range(2):
        page.wait_for_function(f"({STEP_JS})('{LIVE.format(i)}') > {first[i]}", timeout=TRAINING_TIMEOUT)
    page.locator(".st-key-cmp_twin_map_1").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "compare-twins-running.png"))

    stop = page.locator(".st-key-cmp_twin_stop").get_by_role("button", name="Stop")
    expect(stop).to_be_enabled()
    stop.click()
    expect(page.get_by_text("Stopping...").or_(page.get_by_text("Stopped by the user")).first).to_be_visible(
        timeout=TRAINING_TIMEOUT)
    expect(page.get_by_text("Stopped by the user")).to_be_visible(timeout=TRAINING_TIMEOUT)
    use = page.locator(".st-key-cmp_twin_use").get_by_role("button", name="Show these two on the Compare maps")
    expect(use).to_be_visible(timeout=TRAINING_TIMEOUT)
    wait_for_app_run(page)
    use.click()

    # the two results are the page's pair: named in both choices, drawn on both big maps
    for side, kind in (("Left", "AE"), ("Right", "VAE")):
        expect(page.get_by_role("combobox", name=f"{side} map: model")).to_have_value(
            re.compile(rf"^{kind} · z = 2 · trained \d\d:\d\d today \(this session\)$"))
    page.wait_for_function(
        """([sel, old]) => { const c = window.__codeOf(sel, 0);
           return !!c && (Math.abs(c[0] - old[0]) > 1e-3 || Math.abs(c[1] - old[1]) > 1e-3); }""",
        arg=[MAPS["a"], shipped_code], timeout=TRAINING_TIMEOUT)
    for selector in MAPS.values():
        page.wait_for_function(f"({POINTS_JS})('{selector}') === 10000", timeout=TRAINING_TIMEOUT)
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "compare-twins-as-pair.png"))
