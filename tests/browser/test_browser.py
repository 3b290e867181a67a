"""End-to-end in headless chromium against `streamlit run app.py` (skips without chromium)."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]

MAP = ".st-key-latent_map .js-plotly-plot"
# the map, not the first plot: the manifold grid's plot is written before the map
SCATTER_POINTS_JS = """() => {
  const gd = document.querySelector('%s');
  if (!gd || !gd._fullData) return 0;  // _fullData holds the decoded typed arrays
  return gd._fullData.filter(t => (t.name || '').startsWith('digit'))
                .reduce((n, t) => n + t.x.length, 0);
}""" % MAP


def test_latent_map_renders_in_a_real_browser(page, app_url, artifacts_dir):
    page.goto(app_url)
    page.locator(MAP).wait_for(timeout=60_000)
    page.wait_for_function(f"({SCATTER_POINTS_JS})() === 10000", timeout=60_000)
    # WebGL traces draw into canvases; the colour key under the map (not a legend) names the ten digits
    expect(page.locator(f"{MAP} canvas").first).to_be_attached()
    expect(page.locator(f"{MAP} .legend")).to_have_count(0)
    expect(page.locator(".st-key-explorer_color_key")).to_have_text(re.compile(r"0\D*1\D*2\D*3\D*4\D*5\D*6\D*7\D*8\D*9"))
    # written after the map in the same run: wait for it, do not sample it
    expect(page.get_by_text("Test -ELBO (nats/image)")).to_be_visible()
    wait_for_app_run(page)
    page.screenshot(path=str(artifacts_dir / "explorer.png"))
