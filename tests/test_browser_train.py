"""The Train page end to end in headless chromium: train, watch, stop, use (skips without chromium)."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

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
    try:
        page.get_by_text("Stopped by the user").wait_for(timeout=10_000)
    except PlaywrightTimeoutError:
        # once in a full-suite run (not reproduced alone) the click landed while the
        # live fragment redrew and did not reach the app; the outcome is still required
        page.screenshot(path=str(artifacts_dir / "train-stop-retry.png"))
        page.locator(".st-key-stop_training button").click()
        page.get_by_text("Stopped by the user").wait_for(timeout=20_000)
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


def _open_train_page(context, app_url):
    page = context.new_page()
    page.goto(app_url)
    page.locator(".st-key-latent_map .js-plotly-plot").wait_for(timeout=60_000)
    page.get_by_role("link", name="Train").click()
    page.locator(".st-key-start_training button").wait_for(timeout=60_000)
    return page


def _start_training(page, **numbers) -> None:
    for key, value in numbers.items():
        _set_number(page, key, value)
    page.locator(".st-key-start_training button").click()
    page.get_by_text(re.compile(r"Epoch \d+/\d+, batch \d+/\d+")).wait_for(timeout=60_000)


def test_two_sessions_train_at_once_and_a_third_stays_responsive(browser, app_url, artifacts_dir):
    """Sessions A (VAE, seed 1) and B (AE, seed 2) train at once; session C moves the
    Explorer's z1 slider meanwhile. Each trainer ends with its own model. C's latencies
    (key press to the new decoded image, ms) go to artifacts/concurrency.json."""
    import json

    from tests.helpers.browser import open_explorer, slider_step_ms

    contexts = [browser.new_context(viewport={"width": 1400, "height": 1600}) for _ in range(3)]
    try:
        a, b = (_open_train_page(c, app_url) for c in contexts[:2])
        c = contexts[2].new_page()
        open_explorer(c, app_url)
        map_js = f"({MAP_POINTS_JS})('.st-key-latent_map .js-plotly-plot') === 10000"

        def slider_latencies(n):
            return [slider_step_ms(c) for _ in range(n)]

        idle = slider_latencies(8)
        _start_training(a, train_subset=20_000, train_epochs=30, train_seed=1)
        b.locator(".st-key-train_kind").get_by_text("AE (plain autoencoder)").click()
        _start_training(b, train_subset=20_000, train_epochs=30, train_seed=2)
        busy = slider_latencies(8)
        # both were still training during C's measurements
        assert a.locator(".st-key-stop_training button").is_visible()
        assert b.locator(".st-key-stop_training button").is_visible()
        for page in (a, b):
            page.locator(".st-key-stop_training button").click()
        for page, kind, other in ((a, "vae", "ae"), (b, "ae", "vae")):
            page.get_by_text("Stopped by the user").wait_for(timeout=30_000)
            page.get_by_role("link", name="Explorer").click()
            page.wait_for_function(map_js, timeout=60_000)
            name = rf"{kind}_z2_h512-256(_b1)?_e\d+_n20000_s{1 if kind == 'vae' else 2}_\S+"
            assert page.get_by_role("heading", name=re.compile(rf"^{name}$")).is_visible()
            page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
            options = page.get_by_role("option").all_inner_texts()
            page.keyboard.press("Escape")
            mine = [o for o in options if o.endswith("(this session)")]
            assert len(mine) == 1 and mine[0].startswith(f"{kind}_"), options
        a.screenshot(path=str(artifacts_dir / "concurrent-a.png"))
        b.screenshot(path=str(artifacts_dir / "concurrent-b.png"))
        (artifacts_dir / "concurrency.json").write_text(json.dumps(
            {"what": "session C: ArrowRight on the z1 slider -> new decoded image, ms",
             "idle": idle, "while_two_sessions_train": busy}, indent=1))
    finally:
        for context in contexts:
            context.close()
