"""End-to-end in headless chromium against `streamlit run app.py` (skips without chromium)."""

import pytest

pytestmark = pytest.mark.browser

SCATTER_POINTS_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return 0;  // _fullData holds the decoded typed arrays
  return gd._fullData.filter(t => (t.name || '').startsWith('digit'))
                .reduce((n, t) => n + t.x.length, 0);
}"""


def test_latent_map_renders_in_a_real_browser(page, app_url, artifacts_dir):
    page.goto(app_url)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_function(f"({SCATTER_POINTS_JS})() === 10000", timeout=30_000)
    # WebGL traces draw into canvases; the legend lists the ten digits
    assert page.locator(".js-plotly-plot canvas").count() > 0
    legend = page.locator(".js-plotly-plot .legend .traces")
    assert legend.count() == 10
    assert page.get_by_text("Test -ELBO (nats/image)").is_visible()
    page.screenshot(path=str(artifacts_dir / "explorer.png"))
