"""The manifold grid on a canvas (explorer/ui/components/browser_grid.py), in headless chromium
against `streamlit run app.py`: a new n redraws it with PyTorch's pixels for every cell's
z, hovering a cell shows its z, a click on a cell moves the sliders there, the overlay on
the map follows n without a rerun of the map, and a conv decoder's grid renders the same
way (skips without chromium)."""

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from explorer.core.checkpoints import load_checkpoint
from explorer.core.manifold import decode_manifold, manifold_coordinates, manifold_z
from explorer.ui.state.registry import CHECKPOINT_DIR
from tests.helpers.browser import (
    GRID_CANVAS,
    GRID_CHANGED,
    grid_pixels,
    grid_source,
    open_explorer,
    set_grid_n_by_track_click,
    wait_for_app_run,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 60_000
CONV_CHECKPOINT = "mnist_conv_vae_z2.safetensors"
OVERLAY_JS = """() => { const gd = document.querySelector('.st-key-map_panel .js-plotly-plot');
  const i = gd && gd._fullData ? gd._fullData.findIndex(t => t.name === 'manifold grid z') : -1;
  if (i < 0) return null;
  const t = gd._fullData[i];
  return {count: t.x.length, x: Array.from(t.x), y: Array.from(t.y), tag: gd.data[t.index].__testTag || null}; }"""
TAG_JS = """() => { const gd = document.querySelector('.st-key-map_panel .js-plotly-plot');
  gd.data[gd._fullData.find(t => t.name === 'manifold grid z').index].__testTag = 'kept'; }"""


@pytest.fixture
def explorer(page, app_url):
    open_explorer(page, app_url, TIMEOUT)
    return page


def _assert_grid_is_the_models(drawn: dict, model, spacing: str = "paper") -> None:
    """The canvas holds the model's manifold grid at the coordinates it was sent: those equal
    ``manifold_coordinates`` and every pixel is within 1/255 of PyTorch's decoder mean."""
    n = drawn["n"]
    coords = manifold_coordinates(n, spacing)
    np.testing.assert_allclose(drawn["coords"], coords, atol=1e-12)
    expected = decode_manifold(model, manifold_z(coords), padding=drawn["padding"])[0].numpy()
    pixels = np.asarray(drawn["pixels"], dtype=np.float32).reshape(drawn["height"], drawn["width"]) / 255
    assert pixels.shape == expected.shape == (n * 30 + 2, n * 30 + 2)
    assert np.abs(pixels - expected).max() <= 1 / 255


def _cell_centre(page, row: int, col: int) -> tuple[float, float]:
    box = page.locator(GRID_CANVAS).bounding_box()
    n = int(page.locator(GRID_CANVAS).get_attribute("data-n"))
    scale = box["width"] / (n * 30 + 2)
    return box["x"] + (2 + col * 30 + 14) * scale, box["y"] + (2 + row * 30 + 14) * scale


def test_a_new_n_redraws_the_grid_with_the_models_pixels(explorer, vae_checkpoint, artifacts_dir):
    page = explorer
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-n", "20")
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-model", "mnist_vae_z2.safetensors")
    _assert_grid_is_the_models(grid_pixels(page), vae_checkpoint.model)
    old = grid_source(page)
    set_grid_n_by_track_click(page, 30)  # returns once the canvas shows another grid
    page.wait_for_function(GRID_CHANGED, arg=old, timeout=TIMEOUT)
    # where the page's WebGL draws the grid first, the server's grid (what the download
    # button is made from) comes after it: wait for that one
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-source", "server", timeout=TIMEOUT)
    wait_for_app_run(page)
    n = int(page.locator(".st-key-grid_n input[type=range]").input_value())
    assert 27 <= n <= 33  # a click on the track lands within a step or so of 30
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-n", str(n))
    drawn = grid_pixels(page)
    assert drawn["n"] == n
    _assert_grid_is_the_models(drawn, vae_checkpoint.model)
    page.screenshot(path=str(artifacts_dir / "browser-grid-n.png"))
    # the download (made when pressed) is the drawn grid
    with page.expect_download(timeout=TIMEOUT) as download:
        page.locator(".st-key-download_grid button").click()
    assert download.value.suggested_filename == f"manifold_{n}x{n}_paper.png"
    png = np.asarray(Image.open(download.value.path()).convert("L"))
    np.testing.assert_array_equal(png, np.asarray(drawn["pixels"], dtype=np.uint8).reshape(png.shape))


def test_hovering_a_cell_shows_its_z_and_a_click_moves_the_sliders_there(explorer):
    page = explorer
    z = manifold_z(manifold_coordinates(20, "paper"))[3 * 20 + 15]  # row 3, column 15
    page.mouse.move(*_cell_centre(page, 3, 15))
    expect(page.locator(".st-key-manifold_grid .vx-grid-hover")).to_have_text(
        f"row 3, column 15: z = ({z[0]:.2f}, {z[1]:.2f})")
    page.mouse.click(*_cell_centre(page, 3, 15))
    snapped = [round(v / 0.05) * 0.05 + 0.0 for v in z]
    for name, v in zip(("z1", "z2"), snapped):
        expect(page.locator(f".st-key-{name}_slider input[type=range]")).to_have_attribute("aria-valuetext", f"{v:.2f}")
    expect(page.locator(".st-key-decoded_image")).to_contain_text(f"z = ({snapped[0]:.2f}, {snapped[1]:.2f})")


def test_the_overlay_on_the_map_follows_n_without_redrawing_the_map(explorer):
    page = explorer
    page.get_by_text("Grid sample locations on the map").click()
    page.wait_for_function(f"() => {{ const o = ({OVERLAY_JS})(); return !!o && o.count === 400; }}", timeout=TIMEOUT)
    wait_for_app_run(page)
    # a tag on the map's trace object: a rerun that redraws the map replaces the object
    page.evaluate("""() => { const gd = document.querySelector('.st-key-map_panel .js-plotly-plot');
      gd.data.find(t => t.name === 'manifold grid z').__testTag = 'kept'; }""")
    set_grid_n_by_track_click(page, 30)
    n = int(page.locator(GRID_CANVAS).get_attribute("data-n"))
    assert n != 20
    page.wait_for_function(f"(n) => {{ const o = ({OVERLAY_JS})(); return !!o && o.count === n * n; }}", arg=n,
                           timeout=TIMEOUT)
    wait_for_app_run(page)
    overlay = page.evaluate(OVERLAY_JS)
    expected = manifold_z(manifold_coordinates(n, "paper"))
    np.testing.assert_allclose(np.stack([overlay["x"], overlay["y"]], 1), expected, atol=1e-6)
    assert overlay["tag"] == "kept"  # moved by restyle in the page, not redrawn by a rerun


def test_a_conv_decoders_grid_renders_with_its_pixels(explorer, artifacts_dir):
    page = explorer
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="Conv VAE · z = 2 · shipped", exact=True).click()  # CONV_CHECKPOINT
    # the conv encoder encodes the 10,000 test digits first: slow on a busy 2-core machine
    expect(page.locator(GRID_CANVAS)).to_have_attribute("data-model", CONV_CHECKPOINT, timeout=4 * TIMEOUT)
    wait_for_app_run(page)
    model = load_checkpoint(CHECKPOINT_DIR / CONV_CHECKPOINT).model
    _assert_grid_is_the_models(grid_pixels(page), model)
    page.screenshot(path=str(artifacts_dir / "browser-grid-conv.png"))
