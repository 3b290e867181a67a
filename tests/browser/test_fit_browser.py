"""Every page's key view fits the screen in presentation mode (present=1), in headless
chromium at 1366x768 (a laptop) and 1920x1080 (a projector): the key view's bounding box
lies inside the viewport without scrolling, and no drawn element reaches past the
viewport's right edge (issue 21; skips without chromium).

One server, one browser page per size: the 1366x768 page opens the Explorer and follows
the sidebar's links through every page; the 1920x1080 page does the same from the Train
page backwards (its size-class cookie set, so every page is drawn at the projector's size
from the start, explorer/ui/components/viewport.py).
"""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from explorer.ui.components import viewport
from tests.helpers.browser import GRID_CANVAS, MAP, wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 120_000
#: How long a key view may take to settle inside the screen once its page's run has ended
#: (Streamlit lays columns out again as images and charts arrive).
SETTLE_MS = 15_000
SIZES = ({"width": 1366, "height": 768}, {"width": 1920, "height": 1080})

#: Sidebar link -> the page's key view: what a step on it needs on screen (the rest of the
#: page, explanations and tables, may scroll).
KEY_VIEWS = {
    "Explorer": (MAP, GRID_CANVAS, ".st-key-decoded_image"),  # map, grid, decoder's image
    "Manifold grid": (GRID_CANVAS, ".st-key-decoded_image"),
    "Compare AE and VAE": (".st-key-cmp_a_map_panel .js-plotly-plot", ".st-key-cmp_b_map_panel .js-plotly-plot"),
    "Theory": (".st-key-theory_elbo",),  # the ELBO and its two terms
    "Conditional VAE": (".st-key-cvae_decoded", ".st-key-cvae_style_grid .js-plotly-plot"),
    "Denoising AE": (".st-key-dae_noise", ".st-key-dae_new_noise", ".st-key-dae_digits .js-plotly-plot",
                     ".st-key-dae_curve .js-plotly-plot"),  # the controls, noisy/clean/reconstructions, curve
    "Contractive AE": tuple(f".st-key-cae_box_{n} .js-plotly-plot" for n in ("plain", "denoising", "contractive")),
    "Semi-supervised (M2)": ("[data-testid=stMetric]", ".st-key-m2_accuracy", ".st-key-m2_swap_box .js-plotly-plot"),
    "Latent size and beta": (".st-key-ls_table", ".st-key-ls_reconstructions .js-plotly-plot"),
    "Linear AE = PCA": ("[data-testid=stMetric]", ".st-key-linear_pca_ae_map", ".st-key-linear_pca_pca_map"),
    "Train": (".st-key-train_kind", ".st-key-start_training"),  # the settings down to the Train button
}

#: Page-side: each selector's drawn elements (a size of their own; Streamlit can keep a
#: hidden copy) with their boxes, whether they all lie inside the w x h viewport, and the
#: main area's scroll position.
BOXES_JS = """([sels, w, h]) => {
  const boxes = sels.map((s) => [...document.querySelectorAll(s)].map((e) => e.getBoundingClientRect())
    .filter((r) => r.width > 0 && r.height > 0)
    .map((r) => ({top: Math.round(r.top), bottom: Math.round(r.bottom), left: Math.round(r.left),
                  right: Math.round(r.right)})));
  const inside = boxes.every((b) => b.length > 0 && b.every((r) => r.top >= 0 && r.left >= 0
    && r.bottom <= h && r.right <= w));
  return {inside, boxes, scroll: document.querySelector('[data-testid=stMain]').scrollTop}; }"""

#: Page-side: drawn elements whose right edge, clipped by every ancestor that hides its
#: overflow (KaTeX draws its stretchy braces as 400em wide SVGs inside such boxes), lies
#: past the viewport's right edge; and the page's own horizontal overflow.
PAST_RIGHT_JS = """() => {
  const w = window.innerWidth, out = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || r.right <= w + 0.5) continue;
    if (getComputedStyle(e).visibility === 'hidden') continue;
    let right = r.right;
    for (let a = e.parentElement; a && right > w + 0.5; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') right = Math.min(right, a.getBoundingClientRect().right);
    if (right > w + 0.5 && right > r.left)
      out.push({tag: e.tagName, testid: e.dataset ? e.dataset.testid || '' : '', right: Math.round(right),
                text: (e.textContent || '').trim().slice(0, 40)});
  }
  const main = document.querySelector('[data-testid=stMain]');
  return {elements: out, page: document.documentElement.scrollWidth - w, main: main.scrollWidth - main.clientWidth}; }"""


#: Page-side: the drawn plot text in the main area that is smaller than ``px``: tick labels,
#: axis titles and legend entries (Streamlit's chart theme sets its own 12 px for them,
#: which a figure's layout-wide font size does not override).
SMALL_PLOT_TEXT_JS = """(px) => [...document.querySelectorAll(
    '[data-testid=stMain] .js-plotly-plot :is(.xtick, .ytick, .g-xtitle, .g-ytitle, .legendtext, .legendtitletext)')]
  .flatMap((e) => e.tagName.toLowerCase() === 'text' ? [e] : [...e.querySelectorAll('text')])
  .filter((t) => t.getBoundingClientRect().width > 0 && t.textContent.trim())
  .map((t) => [t.textContent.trim().slice(0, 30), parseFloat(getComputedStyle(t).fontSize),
               ((t.closest('[class*="st-key-"]') || {}).className || '').match(/st-key-[\\w-]+/)?.[0] || ''])
  .filter(([, size]) => size < px)"""
#: Plot text in presentation mode, in px (at least): explorer.ui.page.layout.PRESENT_PLOT_FONT_PX.
PRESENT_PLOT_PX = 16


def _visit(page, name: str, size: dict, follow: bool) -> dict:
    """Follow the sidebar's link to page ``name`` (``follow``; else the page is open), wait
    for its key view and its run, and return the key view's boxes once they lie inside the
    screen (or after :data:`SETTLE_MS`, for the assertion to show where they are)."""
    selectors = list(KEY_VIEWS[name])
    if follow:
        page.locator("[data-testid=stSidebar]").get_by_role("link", name=name, exact=True).click()
    for selector in selectors:
        page.locator(f"{selector} >> visible=true").first.wait_for(timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    args = [selectors, size["width"], size["height"]]
    try:
        page.wait_for_function(f"(a) => ({BOXES_JS})(a).inside", arg=args, polling=200, timeout=SETTLE_MS)
    except PlaywrightTimeout:
        pass  # the assertion below says where the key view is
    return page.evaluate(BOXES_JS, args)


def _check_page(page, name: str, size: dict, artifacts_dir, follow: bool = True) -> None:
    found = _visit(page, name, size, follow)
    shot = f"fit-{name.split()[0].lower()}-{size['width']}x{size['height']}-present.png"
    page.screenshot(path=str(artifacts_dir / shot))
    assert found["inside"], f"{name} at {size}: key view {KEY_VIEWS[name]} not inside the screen: {found}"
    assert found["scroll"] == 0, (name, size, found)
    past = page.evaluate(PAST_RIGHT_JS)
    assert not past["elements"] and past["page"] <= 0 and past["main"] <= 0, f"{name} at {size}: {past}"
    small = page.evaluate(SMALL_PLOT_TEXT_JS, PRESENT_PLOT_PX)
    assert not small, f"{name} at {size}: plot text under {PRESENT_PLOT_PX} px while presenting: {small[:8]}"


def test_every_page_s_key_view_fits_in_presentation_mode_at_laptop_and_projector_sizes(
        page, app_url, artifacts_dir):
    links = list(KEY_VIEWS)
    laptop, projector = SIZES
    page.set_viewport_size(laptop)
    page.goto(f"{app_url}/?present=1")
    _check_page(page, "Explorer", laptop, artifacts_dir, follow=False)
    for link in links[1:]:
        _check_page(page, link, laptop, artifacts_dir)

    # the projector: a page of its own, drawn at the large size from its first run
    big = page.context.new_page()
    try:
        big.context.add_cookies([{"name": viewport.COOKIE, "value": viewport.LARGE, "url": app_url}])
        big.set_viewport_size(projector)
        big.goto(f"{app_url}/train?present=1")
        _check_page(big, "Train", projector, artifacts_dir, follow=False)
        for link in reversed(links[:-1]):
            _check_page(big, link, projector, artifacts_dir)
    finally:
        big.close()
