"""The Explorer and Manifold pages through AppTest, with map clicks injected as the page
sends them (``click_map``) and grid clicks as Streamlit's selection events (see
STACK-NOTES.md), on the shipped checkpoints."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.elements.plotly_chart import PlotlySelectionState, PlotlyState

from tests.helpers.paths import AE_CHECKPOINT
from tests.helpers.charts import chart_spec, plotly_array
from explorer.ui.figures import map_figure
from explorer.core.images import png_bytes
from tests.helpers.apptest import assert_decodes, click_map, grid_shown, image_id, map_mark, shown_ids
from explorer.core.latent import decode_z, encode_dataset, image_terms
from explorer.core.manifold import decode_manifold, manifold_coordinates, manifold_z
from explorer.ui.figures.slider_ranges import latent_ranges
from explorer.ui.views.click import CLICK_SCALE
from explorer.ui.views.decoder import DECODED_SCALE

INDEX = 1234  # a test digit


@pytest.fixture(scope="module")
def vae_encodings(vae_checkpoint, mnist):
    return encode_dataset(vae_checkpoint.model, mnist.test_images, mnist.test_labels)


def _start(app_test, model=None):
    at = app_test()
    at.run()
    if model is not None:
        at.sidebar.selectbox(key="model_choice").set_value(f"file:{model}").run()
    assert not at.exception, at.exception
    return at


def _select(at, key, points):
    at.session_state[key] = PlotlyState({"selection": PlotlySelectionState(
        {"points": points, "point_indices": [p["point_index"] for p in points], "box": [], "lasso": []})})
    at.run()
    assert not at.exception, at.exception


def _click(at, points):
    click_map(at, points)
    assert not at.exception, at.exception


def _digit_point(encodings, index):
    label = int(encodings.labels[index])
    position = int(np.flatnonzero(encodings.labels == label).tolist().index(index))
    mu = encodings.mu[index]
    return {"curve_number": label, "point_number": position, "point_index": position,
            "x": float(mu[0]), "y": float(mu[1]), "customdata": [index, label]}


def _z(at):
    return at.slider(key="z1_slider").value, at.slider(key="z2_slider").value


def _trace(at, name):
    return next(t for t in chart_spec(at, "latent_map")["data"] if t.get("name") == name)


def _mark(at, name):
    return map_mark(at, name)


def test_the_heading_is_the_models_short_name_with_its_file_in_the_help(app_test):
    at = _start(app_test)
    heading = next(h for h in at.subheader if "· z = " in h.value)
    assert heading.value == "VAE · z = 2 · shipped"
    assert "`checkpoints/mnist_vae_z2.safetensors`" in heading.proto.help
    assert not any("safetensors" in h.value for h in at.subheader)
    at = _start(app_test, AE_CHECKPOINT)
    heading = next(h for h in at.subheader if "· z = " in h.value)
    assert heading.value == "AE · z = 2 · shipped" and f"checkpoints/{AE_CHECKPOINT.name}" in heading.proto.help


def test_a_point_click_shows_that_digits_original_reconstruction_and_terms(app_test, vae_checkpoint, mnist, vae_encodings):
    at = _start(app_test)
    _click(at, [_digit_point(vae_encodings, INDEX)])
    model, image = vae_checkpoint.model, mnist.test_images[INDEX]
    mu, sigma = vae_encodings.mu[INDEX], vae_encodings.sigma[INDEX]
    original, reconstruction = shown_ids(at, "click_panel")
    assert original == image_id(image, CLICK_SCALE)
    assert reconstruction == image_id(decode_z(model, mu)[0], CLICK_SCALE)
    text = " ".join(m.value for m in at.get_by_key("click_panel").markdown)
    terms = image_terms(model, image)
    assert f"label **{int(mnist.test_labels[INDEX])}**" in text
    assert f"mu = ({mu[0]:.3f}, {mu[1]:.3f})" in text and f"sigma = ({sigma[0]:.3f}, {sigma[1]:.3f})" in text
    assert f"KL = {terms.kl:.2f} nats" in text and f"-ELBO = {terms.neg_elbo:.2f} nats" in text
    # the sliders moved to mu (on their 0.05 grid) and decode it
    ranges = latent_ranges(vae_encodings.mu, stochastic=True)
    assert _z(at) == pytest.approx((ranges[0].snap(mu[0]), ranges[1].snap(mu[1])))
    assert assert_decodes(at, "decoded_image", model, _z(at), DECODED_SCALE) == "browser"
    # highlighted on the map with its posterior's 1- and 2-sigma ellipses
    ring = _mark(at, "selected digit")
    assert (ring["xanchor"], ring["yanchor"]) == pytest.approx(tuple(mu), abs=1e-5)
    for k in (1, 2):  # axis-aligned ellipses centred on mu with half-axes k * sigma
        ellipse = _mark(at, f"posterior {k} sigma")
        assert ellipse["type"] == "circle" and (ellipse["xref"], ellipse["yref"]) == ("x", "y")
        assert ((ellipse["x0"] + ellipse["x1"]) / 2, (ellipse["y0"] + ellipse["y1"]) / 2) == pytest.approx(
            tuple(mu), abs=1e-5)
        assert ((ellipse["x1"] - ellipse["x0"]) / 2, (ellipse["y1"] - ellipse["y0"]) / 2) == pytest.approx(
            (k * sigma[0], k * sigma[1]), rel=1e-5)


def test_a_click_leaves_the_maps_figure_as_it_was(app_test, vae_encodings):
    # The page puts the ring, ellipses and star on the map (explorer.ui.components.map_marks): the same
    # figure keeps the same element id, so the browser keeps its chart instead of drawing
    # 10,000 points anew while the click's panel waits.
    at = _start(app_test)
    before = at.get_by_key("latent_map").proto
    assert _mark(at, "selected digit") is None
    _click(at, [_digit_point(vae_encodings, INDEX)])
    assert _mark(at, "selected digit")["xanchor"] == pytest.approx(vae_encodings.mu[INDEX, 0], abs=1e-5)
    after = at.get_by_key("latent_map").proto
    assert (after.id, after.spec) == (before.id, before.spec)


def test_a_click_that_is_no_digit_or_z_changes_nothing(app_test, vae_encodings):
    # the page sends the clicked points; an index beyond the test set or a malformed point
    # is ignored (no error, the sliders stay), and the next good click still counts
    at = _start(app_test)
    z = _z(at)
    bad_index = {**_digit_point(vae_encodings, INDEX), "customdata": [10_000, 3]}
    for points in ([bad_index], [{"curve_number": "x"}], "junk", [None]):
        _click(at, points)
        assert _z(at) == z
        assert "Click a digit" in at.get_by_key("click_panel").caption[0].value
    _click(at, [_digit_point(vae_encodings, INDEX)])
    assert f"Test digit {INDEX}" in at.get_by_key("click_panel").markdown[0].value


def test_an_empty_space_click_decodes_the_z_under_the_cursor(app_test, vae_checkpoint):
    at = _start(app_test)
    catcher = chart_spec(at, "latent_map")["data"][map_figure.CATCHER_TRACE]
    assert catcher["name"] == map_figure.CATCHER_NAME
    xs, ys = plotly_array(catcher["x"]), plotly_array(catcher["y"])
    i = int(np.flatnonzero((np.abs(xs - 2.5) < 1e-6) & (np.abs(ys + 3.0) < 1e-6))[0])
    _click(at, [{"curve_number": map_figure.CATCHER_TRACE, "point_number": i, "point_index": i,
                                "x": float(xs[i]), "y": float(ys[i])}])
    assert _z(at) == (2.5, -3.0)
    expected = decode_z(vae_checkpoint.model, (2.5, -3.0))[0]
    assert shown_ids(at, "click_panel") == [image_id(expected, CLICK_SCALE)]
    assert_decodes(at, "decoded_image", vae_checkpoint.model, (2.5, -3.0), DECODED_SCALE)
    star = _mark(at, "decoder z")
    assert (star["xanchor"], star["yanchor"]) == (2.5, -3.0)
    # the click, acted on once, does not move the sliders back on a later run
    at.slider(key="z1_slider").set_value(0.5).run()
    assert _z(at) == (0.5, -3.0)


def test_sliders_decode_live_and_the_bernoulli_toggle_samples(app_test, vae_checkpoint, vae_encodings):
    at = _start(app_test)
    model = vae_checkpoint.model
    for j, key in enumerate(("z1_slider", "z2_slider")):
        slider = at.slider(key=key)  # the prior's [-4, 4] by 0.05, widened to take in every mu
        assert slider.step == 0.05 and slider.min <= -4.0 and slider.max >= 4.0
        assert slider.min <= vae_encodings.mu[:, j].min() and slider.max >= vae_encodings.mu[:, j].max()
    assert_decodes(at, "decoded_image", model, (0.0, 0.0), DECODED_SCALE)
    at.slider(key="z1_slider").set_value(2.0).run()
    at.slider(key="z2_slider").set_value(-1.5).run()
    assert assert_decodes(at, "decoded_image", model, (2.0, -1.5), DECODED_SCALE) == "browser"
    # a sample comes from torch's generator: drawn on the server
    at.toggle(key="decoder_sample").set_value(True).run()
    sample = decode_z(model, (2.0, -1.5), sample=True, generator=torch.Generator().manual_seed(0))[0]
    assert shown_ids(at, "decoded_image") == [image_id(sample, DECODED_SCALE)]
    at.button(key="decoder_new_sample").click().run()
    resample = decode_z(model, (2.0, -1.5), sample=True, generator=torch.Generator().manual_seed(1))[0]
    assert shown_ids(at, "decoded_image") == [image_id(resample, DECODED_SCALE)]


def _grid_image(at) -> np.ndarray:
    """The grid shown (canvas pixels or the Plotly figure's PNG) as (H, W, 3) uint8."""
    return grid_shown(at)[1]


def _expected_grid(model, n, spacing, low=-3.0, high=3.0) -> np.ndarray:
    grid = decode_manifold(model, manifold_z(manifold_coordinates(n, spacing, low, high)))
    return np.asarray(Image.open(io.BytesIO(png_bytes(grid))).convert("RGB"))


def test_grid_n_spacing_and_range_change_the_grid(app_test, vae_checkpoint):
    at = _start(app_test)
    model = vae_checkpoint.model
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(model, 20, "paper"))
    at.slider(key="grid_n").set_value(30).run()
    assert _grid_image(at).shape[:2] == (30 * 30 + 2, 30 * 30 + 2)
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(model, 30, "paper"))
    at.radio(key="grid_spacing").set_value("linear").run()
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(model, 30, "linear"))
    at.slider(key="grid_range").set_value((-1.0, 2.0)).run()
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(model, 30, "linear", -1.0, 2.0))
    # the page is told the cells' axis coordinates (hover and click give their z)
    description = grid_shown(at)[0]
    assert (description["n"], description["spacing"], description["low"], description["high"]) == (
        30, "linear", -1.0, 2.0)
    np.testing.assert_allclose(description["coords"], manifold_coordinates(30, "linear", -1.0, 2.0), atol=1e-12)


def test_with_the_browser_path_off_the_grid_is_a_plotly_figure(app_test, vae_checkpoint, monkeypatch):
    monkeypatch.setenv("EXPLORER_BROWSER_DECODER", "0")
    at = _start(app_test)
    at.slider(key="grid_n").set_value(30).run()
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(vae_checkpoint.model, 30, "paper"))
    cells = plotly_array(chart_spec(at, "manifold_chart")["data"][1]["customdata"])
    np.testing.assert_allclose(cells[:, :2], manifold_z(manifold_coordinates(30, "paper")), atol=1e-6)
    layout = chart_spec(at, "manifold_chart")["layout"]  # clicks select a cell; no drag (see point_select_chart)
    assert (layout["clickmode"], layout["hovermode"], layout["dragmode"]) == ("event+select", "closest", False)


def test_a_grid_cell_click_moves_the_sliders_and_the_overlay_shows_the_grid(app_test, monkeypatch):
    # the Plotly figure's selection event (with the browser path off); the canvas's click: test_browser_grid
    monkeypatch.setenv("EXPLORER_BROWSER_DECODER", "0")
    at = _start(app_test)
    cells = plotly_array(chart_spec(at, "manifold_chart")["data"][1]["customdata"])
    cell = 3 * 20 + 15  # row 3, column 15
    _select(at, "manifold_chart", [{"curve_number": 1, "point_number": cell, "point_index": cell,
                                    "x": 0.0, "y": 0.0, "customdata": cells[cell].tolist()}])
    assert _z(at) == pytest.approx((round(cells[cell][0] / 0.05) * 0.05, round(cells[cell][1] / 0.05) * 0.05))
    at.toggle(key="show_grid_on_map").set_value(True)
    at.toggle(key="show_prior_on_map").set_value(True).run()
    overlay = _trace(at, map_figure.GRID_OVERLAY_NAME)
    np.testing.assert_allclose(np.stack([plotly_array(overlay["x"]), plotly_array(overlay["y"])], 1), cells[:, :2],
                               atol=1e-6)
    circle = _trace(at, "prior 2 sigma")
    assert np.hypot(plotly_array(circle["x"]), plotly_array(circle["y"])) == pytest.approx(2.0)


def test_the_ae_gets_its_own_ranges_and_no_elbo(app_test, ae_checkpoint, mnist):
    at = _start(app_test, AE_CHECKPOINT)
    model = ae_checkpoint.model
    enc = encode_dataset(model, mnist.test_images, mnist.test_labels)
    ranges = latent_ranges(enc.mu, stochastic=False)
    slider = at.slider(key="z1_slider")
    assert (slider.min, slider.max, slider.step) == (ranges[0].low, ranges[0].high, ranges[0].step)
    assert slider.min <= enc.mu[:, 0].min() and slider.max >= enc.mu[:, 0].max()
    assert at.slider(key="grid_range").value == (min(r.low for r in ranges), max(r.high for r in ranges))
    _click(at, [_digit_point(enc, INDEX)])
    original, reconstruction = shown_ids(at, "click_panel")
    assert original == image_id(mnist.test_images[INDEX], CLICK_SCALE)
    assert reconstruction == image_id(decode_z(model, enc.mu[INDEX])[0], CLICK_SCALE)
    text = " ".join(m.value for m in at.get_by_key("click_panel").markdown)
    assert "sigma = n/a" in text and "-ELBO = n/a" in text
    assert _mark(at, "selected digit") is not None and _mark(at, "posterior 1 sigma") is None
    # no prior: the grid starts linear over the codes' extent
    assert at.radio(key="grid_spacing").value == "linear"
    low, high = at.slider(key="grid_range").value
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(model, 20, "linear", low, high))


def test_the_manifold_page_shows_the_grid_and_sliders(app_test, vae_checkpoint):
    at = _start(app_test)
    at.switch_page("pages/manifold.py").run()
    assert not at.exception, at.exception
    np.testing.assert_array_equal(_grid_image(at), _expected_grid(vae_checkpoint.model, 20, "paper"))
    at.slider(key="z1_slider").set_value(1.0).run()
    assert_decodes(at, "decoded_image", vae_checkpoint.model, (1.0, 0.0), DECODED_SCALE)


def test_the_explorers_map_state_stays_on_the_explorer(app_test, vae_checkpoint, monkeypatch):
    # With the star following the sliders, a slider step reruns the page when the map's star
    # is elsewhere (what the map shows: ShownModel.map_shows). The Manifold page shares the
    # Explorer's keys and draws no map: what the Explorer's map showed is not this page's, so
    # a step there decodes once instead of rerunning the page for a star it never draws.
    from explorer.ui.components import browser_decoder
    from explorer.ui.state import caches

    browser_decoder.decoder_payload.clear()
    monkeypatch.setattr(caches, "export_decoder", lambda model: None)  # decoded on the server: the toggle is drawn
    try:
        at = _start(app_test)
        at.toggle(key="marker_follows_sliders").set_value(True).run()
        at.switch_page("pages/manifold.py").run()
        at.slider(key="z1_slider").set_value(1.0).run()
        assert not at.exception, at.exception
        assert assert_decodes(at, "decoded_image", vae_checkpoint.model, (1.0, 0.0), DECODED_SCALE) == "server"
        # back on the Explorer, the star is at the sliders' z, and follows a step
        at.switch_page("pages/explorer.py").run()
        star = _mark(at, "decoder z")
        assert (star["xanchor"], star["yanchor"]) == (1.0, 0.0)
        at.slider(key="z2_slider").set_value(-0.5).run()
        assert not at.exception, at.exception
        star = _mark(at, "decoder z")
        assert (star["xanchor"], star["yanchor"]) == (1.0, -0.5)
    finally:
        browser_decoder.decoder_payload.clear()


def test_a_decoder_the_browser_cannot_run_is_decoded_on_the_server(app_test, vae_checkpoint, monkeypatch):
    from explorer.ui.components import browser_decoder
    from explorer.ui.state import caches

    browser_decoder.decoder_payload.clear()
    monkeypatch.setattr(caches, "export_decoder", lambda model: None)  # the cached payload's exporter
    try:
        at = _start(app_test)
        at.slider(key="z1_slider").set_value(1.5).run()
        assert assert_decodes(at, "decoded_image", vae_checkpoint.model, (1.5, 0.0), DECODED_SCALE) == "server"
        caption = at.get_by_key("decoded_image").children[0].proto.imgs[0].caption
        assert caption == "z = (1.50, 0.00): the decoder mean"
    finally:
        browser_decoder.decoder_payload.clear()


def test_widget_values_carry_between_pages_and_a_rerun_does_not_send_them_back(app_test):
    at = _start(app_test)
    at.slider(key="z1_slider").set_value(1.0).run()
    at.slider(key="grid_n").set_value(12).run()
    # another run of the same page (a click, a tab switch) leaves the widgets alone: a value
    # written by the server is sent to the browser and would undo a change made meanwhile
    at.run()
    for key in ("z1_slider", "z2_slider", "grid_n"):
        assert not at.slider(key=key).proto.set_value, key
    # the Manifold page draws the same view's widgets as new elements: they get the values
    at.switch_page("pages/manifold.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="z1_slider").value == 1.0 and at.slider(key="grid_n").value == 12
    at.run()
    assert not at.slider(key="z1_slider").proto.set_value
    # a page without them drops them; back on the Explorer they are put back
    at.switch_page("pages/theory.py").run()
    at.run()
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="z1_slider").value == 1.0 and at.slider(key="grid_n").value == 12
