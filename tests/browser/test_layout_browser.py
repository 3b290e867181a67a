"""Classroom layout in headless chromium at 1366x768 (a laptop): each lesson step's key
control and figure, the Explorer's and the Manifold page's grid, and the Linear AE =
PCA page's legends lie inside the screen without scrolling (skips without chromium)."""

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import GRID_CANVAS, open_explorer, wait_for_app_run
from tests.browser.test_compare_browser import TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
SCREEN = {"width": 1366, "height": 768}

# Page-side: exactly one element under `sel` is drawn (has a size; Streamlit can keep a
# hidden, zero-size copy of a widget), and it lies inside the w x h viewport. Streamlit
# lays columns out again as images arrive, so tests wait for this once the step's
# content is drawn and the app is idle.
INSIDE = """([sel, w, h]) => {
  const shown = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect())
    .filter(r => r.width > 0 && r.height > 0);
  return shown.length === 1 && shown.every(r => r.left >= 0 && r.top >= 0 && r.right <= w && r.bottom <= h); }"""
IMAGES_LOADED = """(sel) => { const imgs = [...document.querySelectorAll(sel + ' img')];
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }"""
# the trace `name` of the figure under `sel` has `n` points
TRACE_POINTS = """([sel, name, n]) => { const gd = document.querySelector(sel);
  const t = gd && gd._fullData && gd._fullData.find(t => t.name === name); return !!t && t.x.length === n; }"""
MAIN_SCROLL = "() => document.querySelector('[data-testid=stMain]').scrollTop"


def _expect_inside(page, selector: str, timeout: int = 15_000) -> None:
    page.wait_for_function(INSIDE, arg=[selector, SCREEN["width"], SCREEN["height"]], timeout=timeout)


def _box(page, selector: str) -> dict:
    return page.locator(f"{selector}:visible").first.bounding_box()


def test_lesson_steps_4_and_6_show_new_sample_and_the_cloud_on_a_laptop_screen(page, app_url, artifacts_dir):
    page.set_viewport_size(SCREEN)
    page.goto(f"{app_url}/compare?step=4&left=mnist_ae_z2.safetensors&right=mnist_vae_z2.safetensors&seed=0")
    sidebar = page.locator(".st-key-cmp_lesson")  # the lesson stands above the maps
    expect(sidebar).to_contain_text("Lesson 4/8: Sample the VAE's prior", timeout=TIMEOUT)
    for side in "ab":  # both models' 16 decoded samples between the maps, crosses on both maps
        page.wait_for_function(IMAGES_LOADED, arg=f".st-key-cmp_{side}_prior_preview", timeout=TIMEOUT)
        page.wait_for_function(TRACE_POINTS, arg=[f".st-key-cmp_{side}_map_panel .js-plotly-plot",
                                                  "prior sample", 16], timeout=TIMEOUT)
    wait_for_app_run(page)  # a run's elements replace the previous run's only once it ends
    button = page.locator(".st-key-cmp_prior_draw button:visible")
    expect(button).to_have_count(1)
    expect(button).to_have_text("New sample")
    _expect_inside(page, ".st-key-cmp_prior_draw button")
    _expect_inside(page, ".st-key-cmp_b_prior_preview img")
    assert page.evaluate(MAIN_SCROLL) == 0
    box = button.bounding_box()
    assert box["y"] + box["height"] <= SCREEN["height"], box
    # Back/Next stand above the step's text: the sidebar needs no scrolling either
    _expect_inside(page, ".st-key-cmp_lesson_next button")
    page.screenshot(path=str(artifacts_dir / "layout-lesson-step4-1366x768.png"))

    for step in (5, 6):
        wait_for_app_run(page)
        sidebar.get_by_role("button", name="Next").click()
        expect(sidebar).to_contain_text(f"Lesson {step}/8", timeout=TIMEOUT)
    cloud = ".st-key-cmp_b_cloud_map .js-plotly-plot"
    page.wait_for_function(TRACE_POINTS, arg=[cloud, "z = mu + sigma * eps", 32], timeout=TIMEOUT)
    page.wait_for_function(IMAGES_LOADED, arg=".st-key-cmp_b_cloud_images", timeout=TIMEOUT)
    expect(page.locator(".st-key-cmp_new_eps button:visible")).to_have_count(1)
    wait_for_app_run(page)
    _expect_inside(page, cloud)
    _expect_inside(page, ".st-key-cmp_new_eps button")
    assert page.evaluate(MAIN_SCROLL) == 0
    box = _box(page, cloud)
    assert box["y"] + box["height"] <= SCREEN["height"], box
    page.screenshot(path=str(artifacts_dir / "layout-lesson-step6-1366x768.png"))


def test_the_manifold_grid_ends_on_a_laptop_screen(page, app_url, artifacts_dir):
    page.set_viewport_size(SCREEN)
    open_explorer(page, app_url)
    grid_image = GRID_CANVAS  # the grid drawn from raw pixels (explorer/ui/components/browser_grid.py)
    _expect_inside(page, grid_image)
    page.screenshot(path=str(artifacts_dir / "layout-explorer-grid-1366x768.png"))
    page.get_by_role("link", name="Manifold grid").click()
    # the Explorer has a "Manifold grid" heading and a grid too: wait for the page's own
    # title (its run has started), then for that run to end
    expect(page.locator("h1")).to_have_text("Manifold grid", timeout=TIMEOUT)
    page.locator(grid_image).wait_for(timeout=TIMEOUT)
    wait_for_app_run(page)
    _expect_inside(page, grid_image)
    assert page.evaluate(MAIN_SCROLL) == 0
    page.screenshot(path=str(artifacts_dir / "layout-manifold-grid-1366x768.png"))


def test_the_linear_pca_legends_are_on_screen(page, app_url, artifacts_dir):
    page.set_viewport_size(SCREEN)
    page.goto(f"{app_url}/linear_pca")
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=TIMEOUT)
    for k in range(2):
        legend = page.locator(".js-plotly-plot").nth(k).locator(".legend")
        expect(legend.locator(".traces")).to_have_count(10, timeout=TIMEOUT)  # digits 0-9
    wait_for_app_run(page)
    for key in ("linear_pca_ae_map", "linear_pca_pca_map"):
        _expect_inside(page, f".st-key-{key} .legend")
        # the legend lies inside its own figure (a legend below a narrow map was cut off)
        legend, figure = _box(page, f".st-key-{key} .legend"), _box(page, f".st-key-{key} .js-plotly-plot")
        assert legend["y"] + legend["height"] <= figure["y"] + figure["height"] + 1, (legend, figure)
    page.screenshot(path=str(artifacts_dir / "layout-linear-pca-1366x768.png"))
