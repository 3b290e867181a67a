"""Sessions in headless chromium (skips without chromium): a finished run survives a
reload of the same browser, still chosen; a closed tab's training stops and frees its slot."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import streamlit_server, wait_for_app_run
from tests.browser.test_browser_train import SIDEBAR_CHOICE_JS, TRAINING_TIMEOUT, _open_train_page, _set_number

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]


def _session_options(page) -> list[str]:
    """The sidebar's model choice, every option's label (opens and closes the list)."""
    wait_for_app_run(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    expect(page.get_by_role("option").first).to_be_visible()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_a_finished_run_survives_a_page_reload(page, app_url, artifacts_dir):
    _open_train_page(page, app_url)
    _set_number(page, "train_subset", 500)
    _set_number(page, "train_epochs", 1)
    page.locator(".st-key-start_training button").click()
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=TRAINING_TIMEOUT)
    # its short name; the time in it is the run's (from its name), so the same after a reload
    chosen = re.compile(r"VAE · z = 2 · trained \d\d:\d\d today \(this session\)")
    page.wait_for_function(f"(re) => new RegExp(re).test(({SIDEBAR_CHOICE_JS})())", arg=chosen.pattern)
    label = chosen.search(page.evaluate(SIDEBAR_CHOICE_JS)).group(0)
    assert any(c["name"] == "explorer_browser" for c in page.context.cookies())

    page.reload()  # a new Streamlit session in the same browser
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=60_000)  # the run's result is back
    assert label in _session_options(page)
    # and it is still the chosen model, not the default one
    page.wait_for_function(f"(label) => ({SIDEBAR_CHOICE_JS})().includes(label)", arg=label)
    page.screenshot(path=str(artifacts_dir / "reload-keeps-model.png"))


@pytest.fixture
def one_slot_server(artifacts_dir):
    """A server of its own that trains one run at a time."""
    with streamlit_server(artifacts_dir / "one-slot-server.log", env={"EXPLORER_MAX_TRAININGS": "1"}) as (url, _):
        yield url


def test_closing_a_tab_stops_its_training_and_frees_the_slot(new_context, one_slot_server, artifacts_dir):
    a = new_context().new_page()
    _open_train_page(a, one_slot_server)
    _set_number(a, "train_epochs", 500)  # all 60,000 images: over 25 minutes of training
    a.locator(".st-key-start_training button").click()
    expect(a.get_by_text(re.compile(r"Epoch 1/500, batch \d+/469"))).to_be_visible(timeout=TRAINING_TIMEOUT)
    cookies = a.context.cookies()
    a.close()  # the tab is gone: its session disconnects

    # B (another browser) can train only once A's job has stopped: one slot
    b = new_context().new_page()
    _open_train_page(b, one_slot_server)
    _set_number(b, "train_subset", 500)
    _set_number(b, "train_epochs", 1)
    b.locator(".st-key-start_training button").click()
    expect(b.get_by_text(re.compile(r"1st in line|Epoch 1/1"))).to_be_visible(timeout=60_000)
    b.screenshot(path=str(artifacts_dir / "closed-tab-b-waits-or-runs.png"))
    # the watchdog stops A within its 10 s grace plus a check; then B runs to the end
    expect(b.get_by_text("Training finished")).to_be_visible(timeout=TRAINING_TIMEOUT)

    # A's browser, back later (its cookie): its run says why it stopped
    c_context = new_context()
    c_context.add_cookies(cookies)
    c = c_context.new_page()
    c.goto(one_slot_server)
    c.locator(".st-key-latent_map .js-plotly-plot").wait_for(timeout=60_000)
    wait_for_app_run(c)
    c.get_by_role("link", name="Train", exact=True).click()  # not the front door's "Train your own"
    expect(c.get_by_text("Stopped (its browser session ended)")).to_be_visible(timeout=60_000)
