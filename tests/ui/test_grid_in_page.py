"""What the grid canvas needs to redraw itself in the page (explorer/ui/views/grid.py ->
browser_grid.describe): the id of the decoder the page holds (the one the view's decoder
panel sends), the label of a conditional model, the widget keys of the grid's controls with
the view's prefix, and the grid's limits, spacings and "paper" margin as core/manifold.py has them.
The page's JavaScript (explorer/ui/components/grid_gl.js) is tested in tests/browser/test_browser_grid_webgl.py."""

import pytest

from explorer.core.manifold import GRID_MAX, GRID_MIN, PAPER_MARGIN, SPACINGS
from explorer.ui.components import browser_grid
from tests.helpers.apptest import decoded_view, grid_shown, run_page_function


def _vae_and_cvae_page():
    """The shipped VAE (prefix a_) and conditional VAE (prefix b_), each with its decoder and grid."""
    from explorer.ui.views.decoder import decoder_panel
    from explorer.ui.views.grid import manifold_panel
    from tests.helpers.apptest import shipped_views

    for column, view in shipped_views(("mnist_vae_z2.safetensors", "mnist_cvae_z2.safetensors")):
        with column:
            decoder_panel(view)
            manifold_panel(view, height=300)


def _weights_id(at, prefix: str) -> str:
    """The id of the packed decoder the view's decoder panel sends to the page."""
    where, _, exported = decoded_view(at, f"{prefix}decoded_image")
    assert where == "browser"
    return exported["id"]


@pytest.fixture
def page():
    return run_page_function(_vae_and_cvae_page)


def test_the_grid_names_the_decoder_in_the_page_its_controls_and_label(page):
    at = page
    for prefix, y in (("a_", None), ("b_", 0)):
        description, _ = grid_shown(at, f"{prefix}manifold_grid")
        assert description["net"] == _weights_id(at, prefix)
        assert description["y"] == y
        assert description["controls"] == {"n": f"{prefix}grid_n", "spacing": f"{prefix}grid_spacing",
                                           "range": f"{prefix}grid_range"}
        assert (description["n_min"], description["n_max"]) == (GRID_MIN, GRID_MAX)
        assert description["spacings"] == list(SPACINGS) and description["margin"] == PAPER_MARGIN
        assert at.slider(key=f"{prefix}grid_n").value == description["n"]
    assert _weights_id(at, "a_") != _weights_id(at, "b_")
    at.selectbox(key="b_condition_label").set_value(7).run()
    assert grid_shown(at, "b_manifold_grid")[0]["y"] == 7


def test_the_component_carries_the_webgl_decoder():
    assert "function decodeGridGL(" in browser_grid._JS and "export default function" in browser_grid._JS
    assert browser_grid._JS.index("function gridCoordinates(") < browser_grid._JS.index("export default function")
