"""The model-kind pages in headless chromium against `streamlit run app.py`: each page's main
figure renders (a Plotly image grid, the error curve, the VAE table) and fits a
1366x768 screen without scrolling (skips without chromium)."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.helpers.browser import wait_for_app_run

pytestmark = pytest.mark.browser
TIMEOUT = 90_000
SCREEN = {"width": 1366, "height": 768}

# Page-side: the figure in container `sel` has drawn its traces (Plotly's own state) and,
# for an image trace, the <image> element carrying the PNG.
DRAWN = """([sel, kind]) => { const gd = document.querySelector(sel + ' .js-plotly-plot');
  if (!gd || !gd._fullData || !gd._fullData.length || gd._fullData[0].type !== kind) return false;
  if (kind === 'image') { const img = gd.querySelector('.imagelayer image');
    return !!img && (img.getAttribute('href') || '').startsWith('data:image/png'); }
  return gd.querySelectorAll('.scatterlayer .trace').length === gd._fullData.length; }"""


def _open(page, url: str, link: str) -> None:
    page.set_viewport_size(SCREEN)
    page.goto(url)
    # app.py's first run (before it a fresh server shows the legacy pages/ navigation)
    page.locator(".st-key-latent_map .js-plotly-plot").wait_for(timeout=TIMEOUT)
    wait_for_app_run(page)
    page.get_by_role("link", name=link).click()


# Page-side: the first element under `sel` has a size and lies between the top and the
# bottom of a screen `h` pixels high.
INSIDE = """([sel, h]) => { const e = document.querySelector(sel); if (!e) return false;
  const r = e.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= h; }"""


def _inside_screen(page, selector: str, timeout: int = 15_000) -> None:
    """Wait until ``selector`` lies inside the screen's height (Streamlit lays columns out
    again as images arrive, so one reading of the box can come too early)."""
    try:
        page.wait_for_function(INSIDE, arg=[selector, SCREEN["height"]], polling=100, timeout=timeout)
    except PlaywrightTimeoutError:
        box = page.locator(selector).bounding_box()
        raise AssertionError(f"{selector} is not inside a {SCREEN['height']} px high screen: {box}") from None


def test_the_conditional_page_draws_the_style_grid(page, app_url, artifacts_dir):
    _open(page, app_url, "Conditional VAE")
    page.wait_for_function(DRAWN, arg=[".st-key-cvae_style_grid", "image"], timeout=TIMEOUT)
    expect(page.locator(".st-key-cvae_decoded canvas.vx-canvas")).to_have_count(1)  # decoded in the page
    wait_for_app_run(page)
    _inside_screen(page, ".st-key-cvae_style_grid .js-plotly-plot")
    page.screenshot(path=str(artifacts_dir / "family-conditional.png"))


def test_the_denoising_page_draws_digits_and_the_error_curve(page, app_url, artifacts_dir):
    _open(page, app_url, "Denoising AE")
    page.wait_for_function(DRAWN, arg=[".st-key-dae_digits", "image"], timeout=TIMEOUT)
    page.wait_for_function(DRAWN, arg=[".st-key-dae_curve", "scatter"], timeout=TIMEOUT)
    expect(page.locator(".st-key-dae_curve .legendtext")).to_have_count(2)
    wait_for_app_run(page)
    _inside_screen(page, ".st-key-dae_curve .js-plotly-plot")
    _inside_screen(page, ".st-key-dae_digits .js-plotly-plot")
    # digits large enough to see from the back: each 28-pixel digit drawn at least twice as large
    grid = page.locator(".st-key-dae_digits .imagelayer image").bounding_box()
    assert grid["width"] / 6 >= 2 * 30, grid  # six digits of 28 pixels and their 2-pixel frames
    page.screenshot(path=str(artifacts_dir / "family-denoising.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(500)  # the charts follow the resize on the next animation frames
    page.screenshot(path=str(artifacts_dir / "family-denoising-1920.png"))


def test_the_latent_size_page_draws_the_table_and_reconstructions(page, app_url, artifacts_dir):
    _open(page, app_url, "Latent size and beta")
    table = page.locator(".st-key-ls_table [data-testid='stDataFrame']")
    expect(table).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function(DRAWN, arg=[".st-key-ls_reconstructions", "image"], timeout=TIMEOUT)
    wait_for_app_run(page)
    _inside_screen(page, ".st-key-ls_table")
    page.screenshot(path=str(artifacts_dir / "family-latent-size.png"))


# Page-side: the map in container `sel` has drawn its traces and `n` arrows (annotations).
ARROWS_DRAWN = """([sel, n]) => { const gd = document.querySelector(sel + ' .js-plotly-plot');
  return !!gd && !!gd._fullData && gd._fullData.length === 11
    && gd.querySelectorAll('.annotation-arrow-g path, g.annotation').length >= n; }"""


def test_the_contractive_page_draws_three_maps_with_arrows_on_one_screen(page, app_url, artifacts_dir):
    _open(page, app_url, "Contractive AE")
    for name in ("plain", "denoising", "contractive"):
        page.wait_for_function(ARROWS_DRAWN, arg=[f".st-key-cae_box_{name}", 20], timeout=TIMEOUT)
    wait_for_app_run(page)
    for name in ("plain", "denoising", "contractive"):
        _inside_screen(page, f".st-key-cae_box_{name} .js-plotly-plot")
    page.screenshot(path=str(artifacts_dir / "family-contractive.png"))
