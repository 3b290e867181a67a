"""Draw your own digit, in headless chromium: a mouse stroke on the Explorer's canvas is
made MNIST-like, encoded by the sidebar's model (mu shown) and reconstructed (skips
without chromium)."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import draw_a_one, open_explorer

pytestmark = pytest.mark.browser
TIMEOUT = 60_000


def test_a_drawn_stroke_is_encoded_and_reconstructed(page, app_url, artifacts_dir):
    open_explorer(page, app_url, TIMEOUT)
    page.get_by_text("Draw your own digit").click()
    panel = page.locator(".st-key-explorer_draw_panel")
    canvas = panel.locator("canvas").last   # fabric.js: the upper canvas takes the mouse
    expect(canvas).to_be_visible(timeout=TIMEOUT)
    draw_a_one(page, canvas, x_fraction=0.65, timeout_ms=TIMEOUT)  # off-centre, in the canvas's right half

    expect(panel.get_by_text("your drawing, 28x28 as MNIST")).to_be_visible(timeout=TIMEOUT)
    result = page.locator(".st-key-draw_result")
    expect(result).to_contain_text(re.compile(r"mu = \(-?\d+\.\d{3}, -?\d+\.\d{3}\)"), timeout=TIMEOUT)
    expect(result.get_by_text("reconstruction (decoder mean at mu)")).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function(
        "() => { const imgs = document.querySelectorAll('.st-key-draw_result img');"
        " return imgs.length === 4 && [...imgs].every(i => i.complete && i.naturalWidth > 0); }", timeout=TIMEOUT)
    # a vertical stroke is nearest to training ones in pixel space
    expect(result.get_by_text(re.compile(r"training digit 1, distance"))).not_to_have_count(0, timeout=TIMEOUT)
    result.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "explorer-draw-your-digit.png"))
