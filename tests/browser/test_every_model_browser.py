"""The Explorer with a z = 10 VAE in headless chromium against `streamlit run app.py`:
chosen in the sidebar, its traversal figure renders in the grid's column and the map's
axes are the principal components of mu (skips without chromium)."""

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import open_explorer, wait_for_app_run

pytestmark = pytest.mark.browser
TIMEOUT = 90_000
MODEL = "VAE · z = 10 · shipped"  # mnist_vae_z10.safetensors, by its short name

# Page-side: the traversal figure has drawn its image trace with the PNG in it.
TRAVERSAL_DRAWN = """() => { const gd = document.querySelector('.st-key-traversal .js-plotly-plot');
  if (!gd || !gd._fullData || !gd._fullData.length || gd._fullData[0].type !== 'image') return false;
  const img = gd.querySelector('.imagelayer image');
  return !!img && (img.getAttribute('href') || '').startsWith('data:image/png'); }"""


def test_the_explorer_draws_traversals_for_a_z10_vae(page, app_url, artifacts_dir):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_explorer(page, app_url)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=MODEL, exact=True).click()
    page.wait_for_function(TRAVERSAL_DRAWN, timeout=TIMEOUT)
    wait_for_app_run(page)
    expect(page.locator(".st-key-traversal .ytick")).to_have_count(10)  # one row per latent dimension
    expect(page.locator(".st-key-latent_map .xtitle")).to_have_text("PC1 of mu")
    expect(page.locator(".st-key-manifold_grid")).to_have_count(0)
    expect(page.get_by_text("needs a 2-D latent space")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "explorer-vae-z10.png"))
