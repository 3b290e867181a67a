"""AppTest of the model-kind pages (Conditional VAE, Denoising AE, Latent size and beta):
every control changes what the page shows, with the shipped checkpoints and real MNIST;
a missing checkpoint is named with the command that makes it."""

import json

import numpy as np
import pytest

from explorer.core.checkpoints import load_checkpoint
from explorer.core.model_kinds import denoising_error, noisy_copy
from explorer.core.latent import decode_z, encode_dataset
from explorer.core.metrics import latent_usage
from explorer.ui.views.decoder import DECODED_SCALE

from tests.helpers.paths import REPO
from tests.helpers.charts import chart_spec, plotly_array
from tests.helpers.apptest import assert_decodes, decoded_view, image_id, shown_ids

CHECKPOINTS = REPO / "checkpoints"


def _open(app_test, page):
    at = app_test()
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _image_source(at, key):
    return next(t for t in chart_spec(at, key)["data"] if t["type"] == "image")["source"]


def _axis_text(at, key, axis):
    return chart_spec(at, key)["layout"][axis]["ticktext"]


@pytest.fixture(scope="module")
def cvae():
    return load_checkpoint(CHECKPOINTS / "mnist_cvae_z2.safetensors").model


# --- Conditional VAE ---------------------------------------------------------------------


def test_the_digit_selector_and_the_style_sliders_decode_live(app_test, cvae):
    at = _open(app_test, "pages/conditional.py")
    assert "M2" in at.caption[0].value and "style" in at.caption[0].value
    # the page decodes (its MLP decoder runs in the browser): the view gets z, y and the weights
    assert assert_decodes(at, "cvae_decoded", cvae, (0.0, 0.0), DECODED_SCALE, y=0) == "browser"
    at.select_slider(key="cvae_condition_label").set_value(3).run()
    assert_decodes(at, "cvae_decoded", cvae, (0.0, 0.0), DECODED_SCALE, y=3)
    at.slider(key="cvae_z1_slider").set_value(1.5).run()
    at.slider(key="cvae_z2_slider").set_value(-0.5).run()
    assert not at.exception
    assert_decodes(at, "cvae_decoded", cvae, (1.5, -0.5), DECODED_SCALE, y=3)
    _, view, _ = decoded_view(at, "cvae_decoded")
    assert view["sliders"] == ["cvae_z1_slider", "cvae_z2_slider"] and view["label"] == "decoder mean with y = 3"


def test_with_the_browser_path_off_the_conditional_page_decodes_on_the_server(app_test, cvae, monkeypatch):
    monkeypatch.setenv("EXPLORER_BROWSER_DECODER", "0")
    at = _open(app_test, "pages/conditional.py")
    at.select_slider(key="cvae_condition_label").set_value(3).run()
    at.slider(key="cvae_z1_slider").set_value(1.5).run()
    assert not at.exception
    assert shown_ids(at, "cvae_decoded") == [image_id(decode_z(cvae, (1.5, 0.0), y=3)[0], DECODED_SCALE)]
    assert "z = (1.50, 0.00), y = 3" in at.get_by_key("cvae_decoded").image[0].proto.imgs[0].caption


def test_the_style_grid_takes_rows_from_the_prior_or_from_test_digits(app_test, cvae, mnist):
    at = _open(app_test, "pages/conditional.py")
    assert _axis_text(at, "cvae_style_chart", "xaxis") == [str(d) for d in range(10)]
    assert len(_axis_text(at, "cvae_style_chart", "yaxis")) == 5  # k = 5 prior codes
    first_draw = _axis_text(at, "cvae_style_chart", "yaxis")
    at.slider(key="cvae_k").set_value(3).run()
    assert _axis_text(at, "cvae_style_chart", "yaxis") == first_draw[:3]  # the same seed, fewer rows
    at.button(key="cvae_new_draw").click().run()
    assert len(_axis_text(at, "cvae_style_chart", "yaxis")) == 3
    assert _axis_text(at, "cvae_style_chart", "yaxis") != first_draw[:3]

    at.radio(key="cvae_rows_from").set_value("test digits").run()
    assert _axis_text(at, "cvae_style_chart", "xaxis")[0] == "orig."
    labels = mnist.test_labels
    assert _axis_text(at, "cvae_style_chart", "yaxis") == [f"test {i} (a {int(labels[i])})" for i in range(3)]
    at.number_input(key="cvae_first_index").set_value(100).run()
    assert _axis_text(at, "cvae_style_chart", "yaxis")[0] == f"test 100 (a {int(labels[100])})"
    assert not at.exception


def test_an_analogy_decodes_one_test_digits_style_with_every_label(app_test, cvae, mnist):
    at = _open(app_test, "pages/conditional.py")
    before = _image_source(at, "cvae_analogy_chart")
    at.number_input(key="cvae_analogy_index").set_value(42).run()
    assert _image_source(at, "cvae_analogy_chart") != before
    mu = encode_dataset(cvae, mnist.test_images[42:43], mnist.test_labels[42:43]).mu[0]
    caption = " ".join(c.value for c in at.get_by_key("cvae_analogy").caption)
    assert f"test digit 42 (a {int(mnist.test_labels[42])})" in caption and f"({mu[0]:.2f}, {mu[1]:.2f})" in caption


# --- Denoising ---------------------------------------------------------------------------


def test_noise_type_level_digits_and_new_noise_change_the_denoising_view(app_test, mnist, ae_checkpoint):
    at = _open(app_test, "pages/denoising.py")
    dae = load_checkpoint(CHECKPOINTS / "mnist_dae_z2.safetensors").model
    curve = chart_spec(at, "dae_curve_chart")
    assert [t["name"] for t in curve["data"]] == ["denoising AE", "plain AE"]
    levels = np.round(plotly_array(curve["data"][0]["x"]), 2)
    dae_y, ae_y = (np.array(plotly_array(t["y"])) for t in curve["data"])
    at_half = list(levels).index(0.5)
    assert dae_y[at_half] < ae_y[at_half]  # the denoising AE wins at its training noise
    assert curve["layout"]["xaxis"]["title"]["text"] == "masking probability p"
    # the page opens at the measured level where the plain AE loses most to the denoising AE
    # (shipped models: p = 0.8, 221 against 164 nats)
    best = int(np.argmax(ae_y - dae_y))
    assert at.slider(key="dae_masking_level").value == pytest.approx(levels[best])
    assert ae_y[best] - dae_y[best] > ae_y[at_half] - dae_y[at_half] > 0
    level = float(levels[best])
    clean = mnist.test_images[:6]
    noisy = noisy_copy(clean, "masking", level, seed=0)
    rows = _axis_text(at, "dae_digits_chart", "yaxis")
    assert rows[:2] == ["clean", "noisy input"]
    assert rows[2] == f"denoising AE<br>{float(denoising_error(dae, clean, noisy).mean()):.0f} nats"
    assert rows[3] == f"plain AE<br>{float(denoising_error(ae_checkpoint.model, clean, noisy).mean()):.0f} nats"
    assert f"p = {level:.1f}, plain AE {ae_y[best]:.0f} nats against the denoising AE's {dae_y[best]:.0f}" in " ".join(
        c.value for c in at.caption)

    source = _image_source(at, "dae_digits_chart")
    at.button(key="dae_new_noise").click().run()
    assert _image_source(at, "dae_digits_chart") != source
    at.slider(key="dae_masking_level").set_value(0.8).run()
    assert at.get_by_key("dae_curve_chart") is not None
    at.number_input(key="dae_first_index").set_value(16).run()
    assert _axis_text(at, "dae_digits_chart", "xaxis")[0] == "16"
    at.radio(key="dae_noise").set_value("gaussian").run()
    assert not at.exception
    assert at.slider(key="dae_gaussian_level").label == "Gaussian noise std s"
    assert chart_spec(at, "dae_curve_chart")["layout"]["xaxis"]["title"]["text"] == "gaussian noise std s"
    at.slider(key="dae_gaussian_level").set_value(0.6).run()
    assert not at.exception


# --- Latent size and beta ----------------------------------------------------------------


def test_the_vae_table_lists_every_shipped_vae_with_active_units(app_test, mnist):
    at = _open(app_test, "pages/latent_size.py")
    table = at.dataframe[0].value
    assert list(table["z"]) == [2, 5, 10, 20, 10, 10]
    assert list(table["beta"]) == ["1", "1", "1", "1", "0.5", "4"]
    assert list(table.columns) == ["z", "beta", "test -ELBO", "reconstruction", "KL", "-log p(x) (IS)", "active units"]
    z10 = load_checkpoint(CHECKPOINTS / "mnist_vae_z10.safetensors")
    assert table["test -ELBO"][2] == f"{z10.metrics['test_neg_elbo']:.2f}"
    assert table["KL"][2] == f"{z10.metrics['test_kl']:.2f}"
    usage = latent_usage(z10.model, mnist.test_images, mnist.test_labels)
    assert table["active units"][2] == f"{usage.active_units} of 10"
    # the importance-sampled -log p(x) recorded in checkpoints/evaluations.json: a tighter
    # bound than the one-sample -ELBO, so never above it (Burda et al. 2015, Theorem 1)
    recorded = json.loads((CHECKPOINTS / "evaluations.json").read_text())["test_iw_nll"]
    files = ["mnist_vae_z2.safetensors", "mnist_vae_z5.safetensors", "mnist_vae_z10.safetensors",
             "mnist_vae_z20.safetensors", "mnist_vae_z10_beta0.5.safetensors", "mnist_vae_z10_beta4.safetensors"]
    assert list(table["-log p(x) (IS)"]) == [f"{recorded[f]:.2f}" for f in files]
    assert all(float(iw) < float(elbo) for iw, elbo in zip(table["-log p(x) (IS)"], table["test -ELBO"]))
    assert "Figure 2" in at.markdown[0].value
    rows = _axis_text(at, "ls_reconstructions_chart", "yaxis")
    assert rows == ["original", "VAE z=2", "VAE z=5", "VAE z=10", "VAE z=20"]


def test_the_model_choice_digit_and_steps_drive_kl_bars_and_traversals(app_test, mnist):
    at = _open(app_test, "pages/latent_size.py")
    z20 = load_checkpoint(CHECKPOINTS / "mnist_vae_z20.safetensors").model
    bars = chart_spec(at, "ls_kl_chart")["data"][0]
    assert len(bars["x"]) == 20  # default: z = 20, a model with inactive units
    assert any("11 of 20 dimensions are active" in c.value for c in at.caption)
    at.selectbox(key="ls_model").set_value("z=10").run()
    assert len(chart_spec(at, "ls_kl_chart")["data"][0]["x"]) == 10
    at.selectbox(key="ls_model").set_value("z=20").run()
    usage = latent_usage(z20, mnist.test_images, mnist.test_labels)
    bars = chart_spec(at, "ls_kl_chart")["data"][0]
    assert bars["x"] == [f"z{d + 1}" for d in range(20)]
    np.testing.assert_allclose(plotly_array(bars["y"]), usage.kl_per_dimension.numpy(), rtol=1e-6)
    rows = _axis_text(at, "ls_traversal_chart", "yaxis")
    order = np.argsort(-usage.kl_per_dimension.numpy(), kind="stable")
    assert rows == [f"z{d + 1}: {usage.kl_per_dimension[d]:.1f} nats" for d in order]  # sorted by KL
    assert _axis_text(at, "ls_traversal_chart", "xaxis") == [f"{v:+.1f}" for v in np.linspace(-3, 3, 9)]
    at.slider(key="ls_traversal_steps").set_value(5).run()
    assert _axis_text(at, "ls_traversal_chart", "xaxis") == ["-3.0", "-1.5", "+0.0", "+1.5", "+3.0"]
    source = _image_source(at, "ls_traversal_chart")
    at.number_input(key="ls_traversal_digit").set_value(7).run()
    assert _image_source(at, "ls_traversal_chart") != source
    assert not at.exception


def test_the_table_shows_an_importance_sampled_value_where_a_checkpoint_stores_one():
    import dataclasses

    from explorer.ui.state.model_entry import ModelEntry
    from explorer.ui.state.shipped import IW_KEY, vae_table

    checkpoint = load_checkpoint(CHECKPOINTS / "mnist_vae_z5.safetensors")
    with_iw = dataclasses.replace(checkpoint, metrics={**checkpoint.metrics, IW_KEY: 109.876})
    table = vae_table({"a": ModelEntry("a", "a", checkpoint), "b": ModelEntry("b", "b", with_iw)}, lambda e: 5)
    assert list(table["-log p(x) (IS)"]) == ["n/a", "109.88"]  # "a" is no shipped file name: none recorded
    assert list(table["active units"]) == ["5 of 5", "5 of 5"]


# --- Missing checkpoints -----------------------------------------------------------------


@pytest.mark.parametrize("page, names", [
    ("pages/conditional.py", ["mnist_cvae_z2.safetensors"]),
    ("pages/denoising.py", ["mnist_dae_z2.safetensors"]),
    ("pages/latent_size.py", ["mnist_vae_z2.safetensors", "mnist_vae_z20.safetensors"]),
])
def test_a_missing_checkpoint_is_named_with_the_command_that_makes_it(app_test, monkeypatch, tmp_path, page, names):
    from explorer.ui.state import registry

    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)  # an empty checkpoints folder
    at = _open(app_test, page)
    errors = " ".join(e.value for e in at.error)
    for name in names:
        assert f"checkpoints/{name}" in errors
    assert "python -m explorer.cli.train" in errors
    assert not at.get("plotly_chart")
