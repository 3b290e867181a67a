"""Entry point: `streamlit run app.py`. A router over the pages in pages/."""

# Heavy modules are imported here, before any page runs: a rerun that interrupts a
# first lazy import (pandas through Plotly) leaves a half-initialised module. torchvision,
# which the first page does not need, is imported by explorer.ui.page.warmup's thread.
from pathlib import Path

from explorer.core.threads import configure_openmp

configure_openmp()  # before torch loads OpenMP: workers spin briefly, then sleep (a shared server)

import streamlit as st  # noqa: E402  (loaded already by the server)

from explorer.ui.page.preload import preload_plotly  # noqa: E402
from explorer.ui.components.webgl import release_detached_contexts  # noqa: E402

preload_plotly()  # the browser loads Plotly.js while the imports below run
release_detached_contexts()  # before the first chart: charts that leave free their WebGL contexts

import pandas  # noqa: E402, F401  (also Streamlit's components.v2 imports it for dict data)
import plotly.graph_objects  # noqa: E402, F401
import torch  # noqa: E402, F401

from explorer.ui.components import viewport
from explorer.ui.page import layout, warmup
from explorer.ui.state import browser_store, registry, session

#: The browser tab's icon, a file served by this server: a ":material/...:" icon here
#: made every browser fetch it from fonts.gstatic.com, and the app fetches nothing from outside.
PAGE_ICON = Path(__file__).parent / "explorer" / "ui" / "page" / "favicon.png"

SIDEBAR_WIDTH_PX = 256

PAGES = [
    st.Page("pages/explorer.py", title="Explorer", icon=":material/explore:", default=True),
    st.Page("pages/manifold.py", title="Manifold grid", icon=":material/grid_view:"),
    st.Page("pages/compare.py", title="Compare AE and VAE", icon=":material/compare:"),
    st.Page("pages/theory.py", title="Theory", icon=":material/functions:"),
    st.Page("pages/conditional.py", title="Conditional VAE", icon=":material/category:"),
    st.Page("pages/denoising.py", title="Denoising AE", icon=":material/blur_on:"),
    st.Page("pages/contractive.py", title="Contractive AE", icon=":material/compress:"),
    st.Page("pages/semi_supervised.py", title="Semi-supervised (M2)", icon=":material/label:"),
    st.Page("pages/latent_size.py", title="Latent size and beta", icon=":material/stacked_bar_chart:"),
    st.Page("pages/linear_pca.py", title="Linear AE = PCA", icon=":material/linear_scale:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
]


def run() -> None:
    """Set up the session, draw the menu and the model choice, run the chosen page."""
    # a sidebar of 256 px, not 300: a 1366 px screen has that much more room for the maps
    st.set_page_config(page_title="VAE latent-space explorer", page_icon=str(PAGE_ICON), layout="wide",
                       initial_sidebar_state=SIDEBAR_WIDTH_PX)
    session.init_session_state()
    layout.classroom_layout()  # key views fit a 1366x768 screen
    viewport.report_screen()  # pages size their key views to the window
    # The menu is drawn here, not by st.navigation: see .streamlit/config.toml.
    page = st.navigation(PAGES, position="hidden")
    session.enter_page(page.url_path)
    with st.sidebar:
        for entry in PAGES:
            st.page_link(entry)
    # a reload gets this browser's models and training back
    browser_store.sync_browser(lambda name, checkpoint: registry.add_session_model(name, checkpoint, remember=False))
    registry.select_model()
    layout.presentation_toggle()  # present=1 in the URL: larger text for a projector
    page.run()
    warmup.start()  # after the first page is drawn


run()
