"""The Train page end to end in headless chromium: train, watch, stop, use (skips without chromium)."""

import re

import pytest

pytestmark = pytest.mark.browser

MAP_TITLE_JS = """() => {
  const gd = document.querySelector('.st-key-training_map .js-plotly-plot');
  return gd && gd.layout && gd.layout.title ? (gd.layout.title.text || '') : '';
}"""
# Plotly.js keeps a typed-array trace field as {dtype, bdata, _inputArray}
MAP_POINTS_JS = """(selector) => {
  const _count = (x) => !x ? 0 : (x.length ?? (x._inputArray ? x._inputArray.length : 0));
  const gd = document.querySelector(selector);
  if (!gd || !gd.data) return 0;
  return gd.data.filter(t => (t.name || '').startsWith('digit')).reduce((n, t) => n + _count(t.x), 0);
}"""


def _set_number(page, key: str, value) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Tab")


def test_train_watch_stop_and_use_the_model_on_the_explorer_page(page, app_url, artifacts_dir):
    page.goto(app_url)
    # wait for app.py's first run: before it, a fresh server's first session shows the
    # legacy pages/ folder navigation, whose links run a page without app.py
    page.locator(".st-key-latent_map .js-plotly-plot").wait_for(timeout=60_000)
    page.get_by_role("link", name="Train").click()
    page.get_by_role("heading", name="Train a model").wait_for(timeout=60_000)
    _set_number(page, "train_subset", 10_000)
    _set_number(page, "train_epochs", 50)
    page.locator(".st-key-start_training button").click()

    # live progress bar and a latent map that is redrawn after each epoch
    page.get_by_text(re.compile(r"Epoch \d+/50, batch \d+/79")).wait_for(timeout=60_000)
    page.wait_for_function(f"({MAP_TITLE_JS})().includes('after epoch 1')", timeout=60_000)
    page.wait_for_function(f"({MAP_POINTS_JS})('.st-key-training_map .js-plotly-plot') === 2000",
                           timeout=10_000)
    page.wait_for_function(f"({MAP_TITLE_JS})().includes('after epoch 2')", timeout=60_000)
    page.screenshot(path=str(artifacts_dir / "train-running.png"))

    page.locator(".st-key-stop_training button").click()
    page.get_by_text("Stopped by the user").wait_for(timeout=15_000)
    page.get_by_text("Replay: latent map after epoch").wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts_dir / "train-stopped.png"))

    # the stopped model is the sidebar's choice; the explorer page draws it
    sidebar_choice = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
    shown = sidebar_choice.inner_text() + " " + " ".join(
        sidebar_choice.locator("input").evaluate_all("els => els.map(e => e.value + ' ' + (e.title || ''))"))
    assert re.search(r"vae_z2_h512-256_b1_e\d+_n10000_s0_\S+ \(this session\)", shown), shown
    page.get_by_role("link", name="Explorer").click()
    page.wait_for_function(f"({MAP_POINTS_JS})('.st-key-latent_map .js-plotly-plot') === 10000",
                           timeout=60_000)
    assert page.get_by_role("heading", name=re.compile(r"^vae_z2_h512-256_b1_e\d+_n10000_s0_")).is_visible()
    page.screenshot(path=str(artifacts_dir / "train-explorer-with-stopped-model.png"))
