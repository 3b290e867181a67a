"""Plotly.js is loaded by the page before the map arrives (explorer/ui/page/preload.py): the
chunk is found in the installed Streamlit, and in headless chromium it is fetched once
(the page's import and Streamlit's are one module) while the element takes no room."""

from pathlib import Path

import pytest
import streamlit as st

from explorer.ui.page import preload
from tests.helpers.browser import open_explorer


def test_the_plotly_chunk_is_in_the_installed_streamlit():
    # None would turn the preload off without a word: a new Streamlit build renamed it
    chunk = preload.plotly_chunk()
    assert chunk is not None
    assert (Path(st.__file__).parent / "static" / "static" / "js" / chunk).stat().st_size > 1_000_000


@pytest.mark.browser
@pytest.mark.usefixtures("failure_artifacts")
def test_the_page_fetches_plotly_once_and_the_preload_takes_no_room(page, app_url):
    open_explorer(page, app_url)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"
                            ".filter(n => n.includes('/PlotlyChart.'))")
    assert [url.rsplit("/", 1)[1] for url in fetched] == [preload.plotly_chunk()]
    box = page.locator(f".st-key-{preload.KEY}")
    assert box.count() == 1 and box.bounding_box() is None  # display: none, no gap above the page
