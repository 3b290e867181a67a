"""Issue 9, item 5: the Explorer, Manifold and Compare pages accept every model (a VAE with
z = 10 gets traversals and a map of principal components; a conditional VAE gets digit
selectors), and the Train page trains the linear AE. AppTest on the shipped checkpoints and
real MNIST."""

import numpy as np
import pytest
from torchvision.utils import make_grid

from tests.helpers.paths import REPO
from tests.helpers.charts import chart_spec
from explorer.core.checkpoints import load_checkpoint
from explorer.core.latent import back_project, decode_z, encode_dataset, prior_samples, project_2d
from explorer.core.metrics import latent_usage
from explorer.ui.state import registry, session
from explorer.ui.figures.map_figure import CATCHER_TRACE
from explorer.ui.views.click import CLICK_SCALE
from explorer.ui.views.common import SAMPLE_SCALE
from explorer.ui.views.compare import PREVIEW_PER_ROW, PREVIEW_SAMPLES
from tests.helpers.apptest import click_map, image_id, shown_ids

CHECKPOINTS = REPO / "checkpoints"
Z10, CVAE = CHECKPOINTS / "mnist_vae_z10.safetensors", CHECKPOINTS / "mnist_cvae_z2.safetensors"
INDEX = 1234  # a test digit


@pytest.fixture(scope="module")
def z10():
    return load_checkpoint(Z10).model


@pytest.fixture(scope="module")
def z10_mu(z10, mnist):
    return encode_dataset(z10, mnist.test_images, mnist.test_labels).mu


def _open(app_test, page, model):
    at = app_test()
    at.run()
    at.sidebar.selectbox(key="model_choice").set_value(f"file:{model}").run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _no_2d_notice(at):
    texts = [e.value for e in (*at.info, *at.error, *at.warning)]
    assert not [t for t in texts if "2-D" in t], texts


def _traversal_rows(at, z10, mnist):
    """The traversal figure's row labels, checked to be z10's dimensions sorted by KL."""
    rows = chart_spec(at, "traversal_chart")["layout"]["yaxis"]["ticktext"]
    kl = latent_usage(z10, mnist.test_images, mnist.test_labels).kl_per_dimension.numpy()
    order = np.argsort(-kl, kind="stable")
    assert rows == [f"z{d + 1}: {kl[d]:.1f} nats" for d in order]
    return rows


def test_the_explorer_shows_traversals_and_a_pc_map_for_a_z10_vae(app_test, z10, z10_mu, mnist):
    at = _open(app_test, None, Z10)
    _no_2d_notice(at)
    _traversal_rows(at, z10, mnist)
    spec = chart_spec(at, "latent_map")
    assert (spec["layout"]["xaxis"]["title"]["text"], spec["layout"]["yaxis"]["title"]["text"]) == (
        "PC1 of mu", "PC2 of mu")
    captions = " ".join(c.value for c in at.caption)
    assert "first two principal components" in captions and "Each point is the encoder mean mu" not in captions
    assert not at.get("slider") or all(not s.key.startswith("z") for s in at.slider)  # no z sliders

    # a click on a digit: the panel shows it with mu as a 10-vector; the traversal starts from it
    label = int(mnist.test_labels[INDEX])
    xy, _ = project_2d(z10_mu)
    source = next(t for t in chart_spec(at, "traversal_chart")["data"] if t["type"] == "image")["source"]
    click_map(at, [{"curve_number": label, "point_number": 0, "point_index": 0,
                               "x": float(xy[INDEX, 0]), "y": float(xy[INDEX, 1]), "customdata": [INDEX, label]}])
    panel = " ".join(m.value for m in at.get_by_key("click_panel").markdown)
    assert f"Test digit {INDEX}" in panel
    assert "mu = (" + ", ".join(f"{v:.3f}" for v in z10_mu[INDEX]) + ")" in panel
    assert any(f"test digit {INDEX}, the one clicked" in c.value for c in at.caption)
    assert next(t for t in chart_spec(at, "traversal_chart")["data"] if t["type"] == "image")["source"] != source

    # a click on empty space: the back-projected z is decoded and shown as such
    click_map(at, [{"curve_number": CATCHER_TRACE, "point_number": 0, "point_index": 0,
                     "x": 1.0, "y": -0.5}])
    z = back_project(z10_mu, (1.0, -0.5))
    np.testing.assert_allclose(project_2d(np.vstack([z10_mu, z]))[0][-1], (1.0, -0.5), atol=0.05)
    panel = " ".join(m.value for m in at.get_by_key("click_panel").markdown)
    assert "Clicked (PC1, PC2)" in panel and "**z** = (" + ", ".join(f"{v:.3f}" for v in z) + ")" in panel
    assert shown_ids(at, "click_panel") == [image_id(decode_z(z10, z)[0], CLICK_SCALE)]
    assert at.get_by_key("click_panel").image[0].proto.imgs[0].caption.startswith("decoder mean at the back-projected z")


def test_the_manifold_page_shows_traversals_for_a_z10_vae(app_test, z10, mnist):
    at = _open(app_test, "pages/manifold.py", Z10)
    _no_2d_notice(at)
    _traversal_rows(at, z10, mnist)
    source = next(t for t in chart_spec(at, "traversal_chart")["data"] if t["type"] == "image")["source"]
    at.number_input(key="traversal_digit").set_value(7).run()
    assert next(t for t in chart_spec(at, "traversal_chart")["data"] if t["type"] == "image")["source"] != source
    assert "test digit 7" in " ".join(c.value for c in at.caption)


def test_back_projection_inverts_the_pc_map():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(500, 6)).astype(np.float32) * np.array([5, 3, 1, 0.5, 0.2, 0.1], dtype=np.float32)
    xy, names = project_2d(mu)
    assert names == ("PC1 of mu", "PC2 of mu")
    z = back_project(mu, xy[17])
    # the back-projected code lies on the map's plane at the clicked point
    np.testing.assert_allclose(project_2d(np.vstack([mu, z]))[0][-1], xy[17], atol=0.05)
    # and differs from the digit's own code only along the other principal directions
    assert np.linalg.norm(z - mu[17]) < np.linalg.norm(mu[17] - mu.mean(axis=0))


def test_a_cvae_on_compare_decodes_with_its_own_digit_selector(app_test, mnist):
    cvae = load_checkpoint(CVAE).model
    at = app_test()
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not [s for s in at.selectbox if s.key and s.key.endswith("condition_label")]  # AE and VAE: none
    at.selectbox(key="cmp_model_b").set_value(f"file:{CVAE}").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [s.key for s in at.selectbox if s.key.endswith("condition_label")] == ["cmp_b_condition_label"]
    assert "digit label y" in at.selectbox(key="cmp_b_condition_label").label
    at.button(key="cmp_prior_draw").click().run()
    z = prior_samples(16, 2, 0)[:PREVIEW_SAMPLES]

    def expected(y):
        grid = make_grid(decode_z(cvae, z, y=y), nrow=PREVIEW_PER_ROW, padding=2, pad_value=1.0)
        return [image_id(grid, SAMPLE_SCALE)]

    assert shown_ids(at, "cmp_b_prior_preview") == expected(0)
    at.selectbox(key="cmp_b_condition_label").set_value(7).run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown_ids(at, "cmp_b_prior_preview") == expected(7) != expected(0)


def test_compare_refuses_a_z10_model_with_a_clear_message(app_test):
    at = app_test()
    at.run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_model_a").set_value(f"file:{Z10}").run()
    assert not at.exception
    message = at.error[0].value
    assert "10 latent dimensions" in message and "2-D latent space" in message and "left map" in message


def test_the_train_page_trains_and_saves_a_linear_ae(app_test, tmp_path, monkeypatch, mnist):
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    at.switch_page("pages/train.py").run()
    assert {"train_hidden", "train_architecture", "train_likelihood"} <= {w.key for w in at.get("text_input")} | {
        s.key for s in at.selectbox}
    at.radio(key="train_kind").set_value("linear_ae").run()
    # what makes no sense for it is hidden
    shown = {w.key for w in (*at.get("text_input"), *at.selectbox, *at.number_input)}
    assert not shown & {"train_hidden", "train_architecture", "train_likelihood", "train_beta"}
    assert any("no hidden layers" in c.value for c in at.caption)
    for key, value in {"train_epochs": 1, "train_subset": 500, "train_latent_dim": 3}.items():
        at.number_input(key=key).set_value(value)
    at.button(key="start_training").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job = at.session_state[session.TRAINING_JOB_KEY]
    assert job.join(120)
    at.run()
    assert job.snapshot().state == "finished"
    history = job.snapshot().history
    assert np.isfinite(history[-1].metrics["test_reconstruction"])
    name = at.text_input(key=session.SAVE_NAME_KEY).value
    assert name.startswith("ae_linear_z3_e1_n500_s0_")
    at.button(key="save_checkpoint").click().run()
    saved = load_checkpoint(tmp_path / name)
    config = saved.model_config
    assert (config.kind, config.hidden_sizes, config.likelihood) == ("ae", (), "gaussian_identity")
    assert [type(m).__name__ for m in saved.model.modules() if len(list(m.children())) == 0
            and any(True for _ in m.parameters())] == ["Linear", "Linear"]

    # the new model (chosen in the sidebar) has no posterior and z = 3: the Explorer's
    # traversals sweep each dimension over its codes' spread, sorted by their variance
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, [e.message for e in at.exception]
    mu = encode_dataset(job.snapshot().checkpoint.model, mnist.test_images, mnist.test_labels).mu
    variance = mu.astype(np.float64).std(axis=0) ** 2
    rows = chart_spec(at, "traversal_chart")["layout"]["yaxis"]["ticktext"]
    assert rows == [f"z{d + 1}: var {variance[d]:.2g}" for d in np.argsort(-mu.std(axis=0), kind="stable")]
    assert chart_spec(at, "traversal_chart")["layout"]["xaxis"]["ticktext"][0] == "-3.0 sd"
    assert any("has no prior" in c.value and "standard deviations" in c.value for c in at.caption)
