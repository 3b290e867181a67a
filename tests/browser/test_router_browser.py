"""A page URL as the very first visit to a freshly started server (a shared lesson link)
still gets app.py's router: the sidebar's page links and model choice, no traceback.
Before explorer.ui.state.session.require_router, Streamlit's legacy pages/ folder mode ran the
page file alone on such a visit (no sidebar; the Train page raised a KeyError)."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.paths import REPO
from tests.helpers.browser import streamlit_server, wait_for_app_run

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]

PAGE_COUNT = len(re.findall(r'st\.Page\("pages/', (REPO / "app.py").read_text()))


def test_a_page_url_as_the_first_visit_of_a_fresh_server_gets_the_router(page, artifacts_dir):
    with streamlit_server(artifacts_dir / "fresh-server.log") as (url, _):
        page.goto(f"{url}/train?from=link", timeout=90_000)
        expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=90_000)
        wait_for_app_run(page, timeout_ms=90_000)
        expect(page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]')).to_have_count(PAGE_COUNT)
        expect(page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')).to_have_count(1)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        assert page.url.endswith("/train?from=link")  # the same page and query parameters
