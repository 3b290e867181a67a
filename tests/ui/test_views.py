"""Views bound to a model and a key prefix: two models on one AppTest page, every view
twice, no key collision, each view decoding with its own model and keeping its own state."""

import pytest

from tests.helpers.charts import chart_spec, plotly_array
from explorer.core.latent import decode_z, encode_dataset
from explorer.ui.figures.slider_ranges import latent_ranges
from explorer.ui.views.decoder import DECODED_SCALE
from tests.helpers.apptest import assert_decodes, click_map, decoded_view, run_page_function


def _two_models_page():
    """A page with the shipped VAE (prefix a_) and AE (prefix b_) side by side."""
    from explorer.ui.views.click import click_panel
    from explorer.ui.views.decoder import decoder_panel
    from explorer.ui.views.grid import manifold_panel
    from explorer.ui.views.latent_map import handle_map_selection, latent_map_view, record_map_state
    from tests.helpers.apptest import shipped_views

    for column, view in shipped_views(("mnist_vae_z2.safetensors", "mnist_ae_z2.safetensors")):
        handle_map_selection(view)
        z_marker, grid = record_map_state(view)
        with column:
            decoder_panel(view)
            manifold_panel(view, height=300)
            click_panel(view)
            latent_map_view(view, z_marker=z_marker, grid=grid)


@pytest.fixture
def two_models():
    return run_page_function(_two_models_page)


def test_two_models_stand_on_one_page_with_their_own_widgets(two_models, mnist, vae_checkpoint, ae_checkpoint):
    at = two_models
    # each decoder's slider range is its own model's (VAE: prior range by 0.05; AE: its codes)
    for prefix, ckpt in (("a_", vae_checkpoint), ("b_", ae_checkpoint)):
        encodings = encode_dataset(ckpt.model, mnist.test_images, mnist.test_labels)
        expected = latent_ranges(encodings.mu, stochastic=ckpt.model.is_variational)[0]
        z1 = at.slider(key=f"{prefix}z1_slider")
        assert (z1.min, z1.max, z1.step) == pytest.approx((expected.low, expected.high, expected.step))
    assert at.slider(key="a_z1_slider").step == 0.05 and at.slider(key="b_z1_slider").step != 0.05
    for prefix in ("a_", "b_"):
        for key in ("latent_map", "manifold_canvas"):
            assert at.get_by_key(f"{prefix}{key}") is not None
    # each map shows its own model's codes
    for prefix, ckpt in (("a_", vae_checkpoint), ("b_", ae_checkpoint)):
        spec = chart_spec(at, f"{prefix}latent_map")
        assert sum(1 for t in spec["data"] if t.get("name", "").startswith("digit")) == 10
    # grid defaults follow each model: the VAE starts on the paper grid, the AE on a linear one
    assert at.radio(key="a_grid_spacing").value == "paper" and at.radio(key="b_grid_spacing").value == "linear"


def test_moving_one_views_slider_changes_only_that_views_image(two_models, vae_checkpoint, ae_checkpoint):
    at = two_models
    b_z = (at.slider(key="b_z1_slider").value, at.slider(key="b_z2_slider").value)
    assert_decodes(at, "b_decoded_image", ae_checkpoint.model, b_z, DECODED_SCALE)
    b_before = decoded_view(at, "b_decoded_image")[1]
    at.slider(key="a_z1_slider").set_value(1.5).run()
    assert not at.exception
    a_z = (1.5, at.slider(key="a_z2_slider").value)
    # each view decodes with its own model (its own weights in the browser); the other view is untouched
    assert_decodes(at, "a_decoded_image", vae_checkpoint.model, a_z, DECODED_SCALE)
    assert decoded_view(at, "b_decoded_image")[1] == b_before
    assert decoded_view(at, "a_decoded_image")[1]["net"] != b_before["net"]
    assert (at.slider(key="b_z1_slider").value, at.slider(key="b_z2_slider").value) == b_z
    b = at.slider(key="b_z1_slider")
    b.set_value(b.min + 10 * b.step).run()
    b_z = (b.min + 10 * b.step, b_z[1])
    assert_decodes(at, "b_decoded_image", ae_checkpoint.model, b_z, DECODED_SCALE)
    assert_decodes(at, "a_decoded_image", vae_checkpoint.model, a_z, DECODED_SCALE)


def test_a_click_on_one_map_selects_in_that_view_only(two_models, vae_checkpoint):
    at = two_models
    trace = chart_spec(at, "a_latent_map")["data"][3]
    from tests.helpers.charts import plotly_array

    index = int(plotly_array(trace["customdata"])[0][0])
    point = {"curve_number": 3, "point_number": 0, "point_index": 0, "x": 0.0, "y": 0.0,
             "customdata": [index, 3]}
    click_map(at, [point], prefix="a_")
    assert not at.exception
    assert f"Test digit {index}" in at.get_by_key("a_click_panel").markdown[0].value
    assert "Click a digit" in at.get_by_key("b_click_panel").caption[0].value


@pytest.mark.parametrize("config", [
    {"kind": "cvae", "hidden_sizes": (64,)},
    {"kind": "ae", "hidden_sizes": (), "likelihood": "gaussian"},
    {"kind": "vae", "latent_dim": 3, "hidden_sizes": (32,)},
], ids=["cvae", "linear-ae", "vae-z3"])
def test_every_kind_of_model_renders_on_the_explorer_and_manifold_pages(config, app_test, mnist, tmp_path,
                                                                        monkeypatch):
    from explorer.core.checkpoints import save_checkpoint
    from explorer.core.config import ModelConfig, TrainConfig
    from explorer.core.metrics import evaluate
    from explorer.core.models import build_model
    from explorer.ui.state import registry

    model = build_model(ModelConfig(**config), seed=0).eval()
    metrics = evaluate(model, mnist.test_images[:200], mnist.test_labels[:200])
    save_checkpoint(tmp_path / "m.pt", model, train_config=TrainConfig(epochs=1), history=[], metrics=metrics,
                    dataset={"name": "MNIST"})
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    assert not at.exception, at.exception
    spec = chart_spec(at, "latent_map")
    assert sum(len(plotly_array(t["x"])) for t in spec["data"] if t["name"].startswith("digit")) == 10_000
    labels = {m.label for m in at.metric}
    assert ("Test -ELBO (nats/image)" in labels) == model.is_variational
    if model.is_conditional:
        at.selectbox(key="condition_label").set_value(7).run()
        assert not at.exception
    at.switch_page("pages/manifold.py").run()
    assert not at.exception, at.exception


def test_the_map_marks_callback_keeps_a_clicks_points_and_ignores_anything_else(monkeypatch):
    # the page's click reaches the run through this callback (explorer.ui.components.map_marks): it runs
    # before the page, with the component's trigger value in its session-state entry
    from explorer.ui.components import map_marks

    point = {"curve_number": 3, "point_index": 7, "x": 0.5, "y": -1.0, "customdata": [12, 3]}
    state = {"m": {"click": {"points": [point, "junk"]}}}
    monkeypatch.setattr(map_marks.st, "session_state", state)
    map_marks._keep_click("m", "map_click")
    assert state["map_click"] == [point]
    for value in (None, {}, {"click": None}, {"click": {"points": []}}, {"click": {"points": "x"}}, "x"):
        state = {"m": value}
        monkeypatch.setattr(map_marks.st, "session_state", state)
        map_marks._keep_click("m", "map_click")
        assert "map_click" not in state
