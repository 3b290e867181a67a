"""The Explorer in headless chromium against `streamlit run app.py`: real mouse clicks on
the WebGL scatter, keyboard on the sliders, the grid image (skips without chromium)."""

import base64
import io

import pytest
from PIL import Image

from tests.helpers.browser import (
    GRID_CHANGED,
    PANEL_SHOWS,
    click_screen,
    decoded_src,
    empty_spot,
    grid_source,
    isolated_points,
    open_explorer,
    set_grid_n_by_track_click,
    slider_step_ms,
)

pytestmark = pytest.mark.browser
TIMEOUT = 60_000


@pytest.fixture
def explorer(page, app_url):
    open_explorer(page, app_url, TIMEOUT)
    return page


def test_a_mouse_click_on_a_point_shows_its_original_and_reconstruction(explorer, artifacts_dir):
    page = explorer
    point = isolated_points(page, 1)[0]
    click_screen(page, point["px"], point["py"])
    page.wait_for_function(PANEL_SHOWS, arg=f"Test digit {point['index']}", timeout=TIMEOUT)
    panel = page.locator(".st-key-click_panel")
    assert panel.get_by_text("original").is_visible()
    assert panel.get_by_text("reconstruction (decoder mean at mu)").is_visible()
    assert f"mu = ({point['x']:.3f}, {point['y']:.3f})" in panel.inner_text()
    # the sliders follow the click (snapped to their 0.05 step)
    page.wait_for_function("(z) => document.querySelector('.st-key-decoded_image').innerText.includes(z)",
                           arg=f"z = ({round(point['x'] / 0.05) * 0.05:.2f}, {round(point['y'] / 0.05) * 0.05:.2f})",
                           timeout=TIMEOUT)
    page.wait_for_timeout(1500)  # let the map redraw its highlight
    page.screenshot(path=str(artifacts_dir / "explorer-point-click.png"))


def test_a_mouse_click_on_empty_space_decodes_the_z_there(explorer, artifacts_dir):
    page = explorer
    spot = empty_spot(page)
    assert spot is not None
    click_screen(page, spot["px"], spot["py"])
    expected = f"Clicked z = ({spot['x']:.3f}, {spot['y']:.3f})"
    page.wait_for_function(
        "(t) => { const p = document.querySelector('.st-key-click_panel');"
        " return p && p.innerText.includes(t) && p.querySelector('img') && p.querySelector('img').naturalWidth > 0; }",
        arg=expected, timeout=TIMEOUT)
    page.wait_for_function("(z) => document.querySelector('.st-key-decoded_image').innerText.includes(z)",
                           arg=f"z = ({spot['x']:.2f}, {spot['y']:.2f})", timeout=TIMEOUT)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts_dir / "explorer-empty-click.png"))


def test_a_slider_moved_by_keyboard_changes_the_decoded_image(explorer, artifacts_dir):
    page = explorer
    before = decoded_src(page)
    slider_step_ms(page)  # ArrowRight on z1, waits for a new image
    assert decoded_src(page) != before
    assert "z = (0.05, 0.00)" in page.locator(".st-key-decoded_image").inner_text()
    page.screenshot(path=str(artifacts_dir / "explorer-slider.png"))


def test_the_grid_image_renders_and_follows_n(explorer, artifacts_dir):
    page = explorer
    image = page.locator(".st-key-manifold_grid .js-plotly-plot image")
    assert image.count() == 1 and image.bounding_box()["width"] > 200
    png = Image.open(io.BytesIO(base64.b64decode(grid_source(page).split(",", 1)[1])))
    assert png.size == (20 * 30 + 2, 20 * 30 + 2)
    set_grid_n_by_track_click(page, 30)
    page.wait_for_function(GRID_CHANGED, arg="", timeout=TIMEOUT)
    n = int(page.locator(".st-key-grid_n input[type=range]").get_attribute("aria-valuenow")
            or page.locator(".st-key-grid_n input[type=range]").input_value())
    assert 27 <= n <= 33  # a click on the track lands within a step or so of 30
    png = Image.open(io.BytesIO(base64.b64decode(grid_source(page).split(",", 1)[1])))
    assert png.size == (n * 30 + 2, n * 30 + 2)
    page.screenshot(path=str(artifacts_dir / "explorer-grid-n.png"))
