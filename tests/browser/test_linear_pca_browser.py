"""The Linear AE = PCA page in a real browser: both maps render all 10,000 test digits."""

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import open_by_menu
from tests.helpers.paths import REPO

pytestmark = pytest.mark.browser

LINEAR_AE = REPO / "checkpoints" / "mnist_linear_ae_z2.safetensors"
TIMEOUT = 120_000
POINTS_JS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return plots.length === 2 && plots.every(gd => gd._fullData && gd._fullData.length === 10
      && gd._fullData.reduce((n, t) => n + t.x.length, 0) === 10000 && gd.querySelector('canvas'));
}"""


@pytest.mark.skipif(not LINEAR_AE.is_file(), reason="checkpoints/mnist_linear_ae_z2.safetensors is not shipped yet "
                    "(the page then explains how to train it; tests/ui/test_linear_pca_page.py covers that)")
def test_both_maps_render_every_test_digit(page, app_url, artifacts_dir, failure_artifacts):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_by_menu(page, app_url, "Linear AE = PCA", TIMEOUT)  # the first page run imports torch and loads MNIST
    expect(page.get_by_text("Principal angle 1")).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function(POINTS_JS, timeout=TIMEOUT)
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
    expect(page.locator(".js-plotly-plot").first).to_contain_text("mapped onto")
    expect(page.locator(".js-plotly-plot").nth(1)).to_contain_text("PC1")
    expect(page.get_by_text("Map residual")).to_be_visible()
    # the mapped codes and the PCA codes are drawn on the same axes, so they coincide on screen
    ranges = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(
        gd => [gd._fullLayout.xaxis.range, gd._fullLayout.yaxis.range])""")
    assert sum(ranges[0], []) == pytest.approx(sum(ranges[1], []))
    page.screenshot(path=str(artifacts_dir / "linear_pca.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(500)  # the charts follow the resize on the next animation frames
    page.screenshot(path=str(artifacts_dir / "linear_pca-1920.png"))
