"""Nothing is fetched from outside the server: every request a browser makes while it
visits each page of the app (and opens each tab of the Compare page) goes to the app's
own address (skips without chromium). A classroom may have no internet, and a page icon
or font from a CDN is also a request to a third party for every student."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import GRID, wait_for_app_run
from tests.browser.test_compare_browser import MAPS
from explorer.ui.views.lesson import TOOLS

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("failure_artifacts")]
TIMEOUT = 90_000
#: What each page shows once drawn (a selector that appears at the end of its first run).
PAGES = {
    "Manifold grid": GRID,
    "Compare AE and VAE": MAPS["b"],
    "Theory": ".stLatex, [data-testid=stLatex], .katex",
    "Train": "[data-testid=stFileUploader]",
    "Explorer": ".st-key-latent_map .js-plotly-plot",
}
LOCAL_SCHEMES = ("data", "blob", "about")


def test_no_page_requests_anything_from_outside_the_server(page, app_url):
    server = urlparse(app_url).netloc
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(app_url)
    page.locator(PAGES["Explorer"]).wait_for(timeout=TIMEOUT)
    wait_for_app_run(page, TIMEOUT)
    for name, selector in PAGES.items():
        page.get_by_role("link", name=name, exact=True).click(timeout=TIMEOUT)
        page.locator(selector).first.wait_for(timeout=TIMEOUT)
        wait_for_app_run(page, TIMEOUT)
        if name == "Compare AE and VAE":
            for tool in TOOLS:  # each tab's content (the drawing canvas is a component in an iframe)
                tab = page.get_by_role("tab", name=tool)
                tab.click()
                expect(tab).to_have_attribute("aria-selected", "true")
                wait_for_app_run(page, TIMEOUT)
    assert len(requests) > 20  # the recorder saw the app load (scripts, styles, media)
    outside = sorted({url for url in requests
                      if urlparse(url).scheme not in LOCAL_SCHEMES and urlparse(url).netloc != server})
    assert not outside, f"requests to other hosts: {outside}"
