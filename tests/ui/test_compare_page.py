"""The Compare and Theory pages through AppTest, on the shipped AE and VAE, with map
clicks injected as the page sends them (``tests.helpers.apptest.click_map``)."""

import numpy as np
import pytest

from tests.helpers.paths import AE_CHECKPOINT, VAE_CHECKPOINT
from tests.helpers.charts import chart_spec, plotly_array
from explorer.core.latent import (
    decode_z,
    encode_dataset,
    image_strip,
    image_terms,
    interpolate,
    posterior_samples,
    prior_samples,
)
from explorer.ui.views.common import SAMPLE_SCALE
from explorer.ui.views.compare import PREVIEW_PER_ROW
from explorer.ui.views.interpolation import STRIP_SCALE
from tests.helpers.apptest import click_map, image_id, map_mark, shown_ids

FIRST, SECOND = 1234, 4321  # two test digits


@pytest.fixture(scope="module")
def encodings(vae_checkpoint, ae_checkpoint, mnist):
    """(AE, VAE) encodings of the test split: the left and right map by default."""
    return tuple(encode_dataset(c.model, mnist.test_images, mnist.test_labels) for c in (ae_checkpoint, vae_checkpoint))


@pytest.fixture
def compare(open_page):
    return open_page("pages/compare.py")


def _click_digit(at, side, encodings, index):
    """Inject a click on test digit ``index`` on the left ("a") or right ("b") map."""
    e = encodings[0 if side == "a" else 1]
    label = int(e.labels[index])
    position = int(np.flatnonzero(e.labels == label).tolist().index(index))
    point = {"curve_number": label, "point_number": position, "point_index": position,
             "x": float(e.mu[index, 0]), "y": float(e.mu[index, 1]), "customdata": [index, label]}
    click_map(at, [point], prefix=f"cmp_{side}_")
    assert not at.exception, at.exception


def _has(at, key) -> bool:
    try:
        at.get_by_key(key)
    except KeyError:
        return False
    return True


def _traces(at, side, name):
    return [t for t in chart_spec(at, f"cmp_{side}_latent_map")["data"] if t.get("name") == name]


def _ring(at, side):
    """Where the page rings the selected digit on a map (None: no ring)."""
    ring = map_mark(at, "selected digit", prefix=f"cmp_{side}_")
    return None if ring is None else np.array([ring["xanchor"], ring["yanchor"]])


def _xy(trace):
    return np.stack([plotly_array(trace["x"]), plotly_array(trace["y"])], axis=1)


def _panel_text(at):
    return " ".join(m.value for m in at.get_by_key("cmp_digit_panel").markdown)


def test_defaults_are_the_shipped_ae_left_and_vae_right_with_prior_circles(compare, encodings):
    at = compare
    assert at.selectbox(key="cmp_model_a").value.endswith("mnist_ae_z2.safetensors")
    assert at.selectbox(key="cmp_model_b").value.endswith("mnist_vae_z2.safetensors")
    for side, e in zip("ab", encodings):
        spec = chart_spec(at, f"cmp_{side}_latent_map")
        digits = [t for t in spec["data"] if t["name"].startswith("digit")]
        assert sum(len(plotly_array(t["x"])) for t in digits) == 10_000
        assert [t["name"] for t in spec["data"] if t["name"].startswith("prior")] == [
            "prior 1 sigma", "prior 2 sigma", "prior 3 sigma"]
        assert not any(t["name"] == "decode z here" for t in spec["data"])  # only digits are clickable
        assert spec["layout"]["showlegend"] is False
    assert "AE" in chart_spec(at, "cmp_a_latent_map")["layout"]["title"]["text"]
    assert "mu" in chart_spec(at, "cmp_b_latent_map")["layout"]["title"]["text"]
    assert "Click a digit on either map" in at.get_by_key("cmp_digit_panel").caption[0].value


def test_a_click_on_either_map_selects_the_digit_on_both_with_both_models_terms(
        compare, encodings, ae_checkpoint, vae_checkpoint, mnist):
    at = compare
    _click_digit(at, "a", encodings, FIRST)
    image = mnist.test_images[FIRST]
    original, ae_rec, vae_rec = shown_ids(at, "cmp_digit_panel")
    assert original == image_id(image, 3)
    assert ae_rec == image_id(decode_z(ae_checkpoint.model, encodings[0].mu[FIRST])[0], 3)
    assert vae_rec == image_id(decode_z(vae_checkpoint.model, encodings[1].mu[FIRST])[0], 3)
    text = _panel_text(at)
    assert f"Test digit {FIRST}" in text
    ae_terms, vae_terms = image_terms(ae_checkpoint.model, image), image_terms(vae_checkpoint.model, image)
    assert f"| reconstruction | {ae_terms.reconstruction:.2f} | {vae_terms.reconstruction:.2f} |" in text
    assert f"| KL | n/a | {vae_terms.kl:.2f} |" in text and f"| -ELBO | n/a | {vae_terms.neg_elbo:.2f} |" in text
    assert f"| sigma1 | n/a | {encodings[1].sigma[FIRST, 0]:.3f} |" in text
    # both maps ring the digit at their own code; only the VAE draws its posterior's ellipses
    for side, e in zip("ab", encodings):
        assert np.allclose(_ring(at, side), e.mu[FIRST], atol=1e-5)
    assert map_mark(at, "posterior 1 sigma", prefix="cmp_a_") is None
    assert map_mark(at, "posterior 1 sigma", prefix="cmp_b_") is not None
    # a click on the other map moves the selection on both
    _click_digit(at, "b", encodings, SECOND)
    assert f"Test digit {SECOND}" in _panel_text(at)
    assert np.allclose(_ring(at, "a"), encodings[0].mu[SECOND], atol=1e-5)
    assert at.session_state["cmp_theory_source"]["index"] == SECOND


def test_two_clicks_set_the_interpolation_path_drawn_on_both_maps_and_decoded(
        compare, encodings, ae_checkpoint, vae_checkpoint):
    at = compare
    assert at.session_state["cmp_path_start"] is None
    _click_digit(at, "a", encodings, FIRST)  # first click: start
    _click_digit(at, "b", encodings, SECOND)  # second click: end
    assert (at.number_input(key="cmp_path_start").value, at.number_input(key="cmp_path_end").value) == (FIRST,
                                                                                                       SECOND)
    for side, e, model in zip("ab", encodings, (ae_checkpoint.model, vae_checkpoint.model)):
        path = interpolate(e.mu[FIRST], e.mu[SECOND], 10)
        assert np.allclose(_xy(_traces(at, side, "interpolation path")[0]), path, atol=1e-5)
        assert shown_ids(at, f"cmp_{side}_path_strip") == [image_id(image_strip(model, path), STRIP_SCALE)]
    # the number inputs set the path too: ends typed, steps changed
    at.number_input(key="cmp_path_start").set_value(7).run()
    at.number_input(key="cmp_path_n").set_value(4).run()
    assert not at.exception, at.exception
    path = interpolate(encodings[1].mu[7], encodings[1].mu[SECOND], 4)
    assert np.allclose(_xy(_traces(at, "b", "interpolation path")[0]), path, atol=1e-5)
    assert shown_ids(at, "cmp_b_path_strip") == [image_id(image_strip(vae_checkpoint.model, path), STRIP_SCALE)]
    # a third click sets the start again
    _click_digit(at, "a", encodings, 99)
    assert at.number_input(key="cmp_path_start").value == 99


def test_with_no_digit_selected_the_path_is_decoded_between_the_maps(compare, encodings, ae_checkpoint,
                                                                       vae_checkpoint):
    at = compare
    at.number_input(key="cmp_path_start").set_value(FIRST).run()
    at.number_input(key="cmp_path_end").set_value(SECOND).run()
    assert not at.exception, at.exception
    assert at.session_state["cmp_selected"] is None
    for side, e, model in zip("ab", encodings, (ae_checkpoint.model, vae_checkpoint.model)):
        path = interpolate(e.mu[FIRST], e.mu[SECOND], 10)
        assert shown_ids(at, f"cmp_{side}_path_preview") == [image_id(image_strip(model, path, nrow=5), SAMPLE_SCALE)]
    _click_digit(at, "a", encodings, 99)  # a selected digit takes the panel back
    assert not _has(at, "cmp_a_path_preview") and "Test digit 99" in _panel_text(at)


def test_the_prior_sample_button_decodes_the_same_seeded_z_with_both_models(compare, ae_checkpoint, vae_checkpoint):
    at = compare
    assert not _traces(at, "a", "prior sample")
    at.button(key="cmp_prior_draw").click().run()
    assert not at.exception, at.exception
    z = prior_samples(16, 2, seed=0)
    for side, model, name in zip("ab", (ae_checkpoint.model, vae_checkpoint.model), ("AE", "VAE")):
        assert np.allclose(_xy(_traces(at, side, "prior sample")[0]), z, atol=1e-6)
        assert shown_ids(at, f"cmp_{side}_prior_samples") == [image_id(image_strip(model, z, nrow=8), SAMPLE_SCALE)]
        # captioned by the model's short name, not its file name
        caption = at.get_by_key(f"cmp_{side}_prior_samples").image[0].proto.imgs[0].caption
        assert caption.startswith(f"{name} · z = 2 · shipped: 16 decoded z ~ ") and "safetensors" not in caption
        # with no digit selected, the panel between the maps shows them too (2 rows of 8: a small screen sees them)
        assert shown_ids(at, f"cmp_{side}_prior_preview") == [image_id(image_strip(model, z, nrow=PREVIEW_PER_ROW), SAMPLE_SCALE)]
    # "new sample" draws with the next seed; K sets how many
    assert at.button(key="cmp_prior_draw").label == "New sample"
    at.button(key="cmp_prior_draw").click().run()
    assert np.allclose(_xy(_traces(at, "b", "prior sample")[0]), prior_samples(16, 2, seed=1), atol=1e-6)
    at.number_input(key="cmp_prior_k").set_value(5).run()
    z = prior_samples(5, 2, seed=1)
    assert np.allclose(_xy(_traces(at, "a", "prior sample")[0]), z, atol=1e-6)
    assert shown_ids(at, "cmp_b_prior_samples") == [image_id(image_strip(vae_checkpoint.model, z, nrow=8),
                                                               SAMPLE_SCALE)]
    at.button(key="cmp_prior_clear").click().run()
    assert not _traces(at, "a", "prior sample") and not _has(at, "cmp_b_prior_samples")


def test_an_ae_is_sampled_fairly_with_shares_and_label_charts(compare, encodings, ae_checkpoint, vae_checkpoint):
    """An AE has no prior: a Gaussian fitted to its codes is one way to sample it; beside
    each grid the share judged real and a bar chart of the classifier's labels."""
    from explorer.core.sampling import sample_codes
    from explorer.ui.state import caches

    at = compare
    at.button(key="cmp_prior_draw").click().run()
    at.radio(key="cmp_ae_sampler").set_value("fitted").run()
    assert not at.exception, at.exception
    z_ae, z_vae = sample_codes("fitted", encodings[0].mu, 16, seed=0), prior_samples(16, 2, seed=0)
    assert np.allclose(_xy(_traces(at, "a", "prior sample")[0]), z_ae, atol=1e-4)
    assert np.allclose(_xy(_traces(at, "b", "prior sample")[0]), z_vae, atol=1e-6)
    judge = caches.realism_judge()
    for side, model, z in zip("ab", (ae_checkpoint.model, vae_checkpoint.model), (z_ae, z_vae)):
        _, real, labels = judge.judge(decode_z(model, z))
        bars = chart_spec(at, f"cmp_{side}_sample_labels")["data"][0]
        np.testing.assert_array_equal(plotly_array(bars["y"]), np.bincount(labels, minlength=10))
        assert f"Judged real: **{real.mean():.0%}** of these 16" in _main_markdown(at)


def test_the_reparameterization_cloud_is_the_vaes_only_and_new_eps_redraws_it(
        compare, encodings, vae_checkpoint):
    at = compare
    assert not _has(at, "cmp_new_eps")  # nothing selected, nothing to sample
    _click_digit(at, "a", encodings, FIRST)
    e = encodings[1]
    mu, sigma = e.mu[FIRST], e.sigma[FIRST]

    def cloud():
        spec = chart_spec(at, "cmp_b_cloud_chart")
        return spec, _xy(next(t for t in spec["data"] if t["name"] == "z = mu + sigma * eps"))

    spec, z = cloud()
    assert np.allclose(z, posterior_samples(vae_checkpoint.model, mu, e.logvar[FIRST], 32, seed=0), atol=1e-5)
    # zoomed so that sigma shows: mu +- 4 of the larger sigma
    assert spec["layout"]["xaxis"]["range"] == pytest.approx([mu[0] - 4 * sigma.max(), mu[0] + 4 * sigma.max()],
                                                             abs=1e-5)
    assert shown_ids(at, "cmp_b_cloud_images") == [image_id(image_strip(vae_checkpoint.model, z, nrow=8),
                                                              SAMPLE_SCALE)]
    assert not _has(at, "cmp_a_cloud_chart")
    assert any(i.value.startswith("AE · z = 2 · shipped has no cloud") for i in at.info)
    at.button(key="cmp_new_eps").click().run()
    _, z1 = cloud()
    assert np.allclose(z1, posterior_samples(vae_checkpoint.model, mu, e.logvar[FIRST], 32, seed=1), atol=1e-5)
    at.number_input(key="cmp_cloud_k").set_value(6).run()
    assert len(cloud()[1]) == 6


def test_any_pair_of_2d_models_works_and_other_models_are_refused(app_test, mnist, tmp_path, monkeypatch):
    from explorer.core.checkpoints import save_checkpoint
    from explorer.core.config import ModelConfig, TrainConfig
    from explorer.core.models import build_model
    from explorer.ui.state import registry

    for path in (AE_CHECKPOINT, VAE_CHECKPOINT):
        (tmp_path / path.name).symlink_to(path)
    model = build_model(ModelConfig(kind="vae", latent_dim=3, hidden_sizes=(16,)), seed=0).eval()
    save_checkpoint(tmp_path / "z3.pt", model, train_config=TrainConfig(epochs=1), history=[], metrics={},
                    dataset={"name": "MNIST"})
    monkeypatch.setattr(registry, "CHECKPOINT_DIR", tmp_path)
    at = app_test()
    at.run()
    at.switch_page("pages/compare.py").run()
    # two VAEs: both get clouds
    at.selectbox(key="cmp_model_a").set_value(f"file:{tmp_path / VAE_CHECKPOINT.name}").run()
    assert not at.exception, at.exception
    vae_encodings = encode_dataset(registry.resolve_model(at.selectbox(key="cmp_model_b").value).model,
                                   mnist.test_images, mnist.test_labels)
    _click_digit(at, "a", (vae_encodings, vae_encodings), FIRST)
    assert _has(at, "cmp_a_cloud_chart") and _has(at, "cmp_b_cloud_chart")
    assert "| | VAE (left) | VAE (right) |" in _panel_text(at)
    at.selectbox(key="cmp_model_b").set_value(f"file:{tmp_path / 'z3.pt'}").run()
    assert not at.exception
    assert any("3 latent dimensions" in e.value and "2-D latent space" in e.value for e in at.error)
    assert not _has(at, "cmp_a_latent_map")


def _latex(at):
    return " ".join(x.value for x in at.latex)


def test_the_theory_page_plugs_in_the_compare_pages_digit(compare, encodings, ae_checkpoint, vae_checkpoint, mnist):
    at = compare
    at.switch_page("pages/theory.py").run()
    assert not at.exception, at.exception
    assert any("Select a digit on the Compare page" in i.value for i in at.info)
    at.switch_page("pages/compare.py").run()
    _click_digit(at, "b", encodings, FIRST)
    at.switch_page("pages/theory.py").run()
    assert not at.exception, at.exception
    image = mnist.test_images[FIRST]
    vae, ae = image_terms(vae_checkpoint.model, image), image_terms(ae_checkpoint.model, image)
    latex = _latex(at)
    assert f"{vae.reconstruction:.2f}" in latex and f"{vae.kl:.2f}" in latex and f"{vae.neg_elbo:.2f}" in latex
    # the closed-form KL with this digit's mu and sigma gives the KL the model reports
    mu, sigma = encodings[1].mu[FIRST], encodings[1].sigma[FIRST]
    kl = next(x.value for x in at.latex if "D_{KL} &= -" in x.value)
    assert f"({mu[0]:.3f})^2" in kl and f"{sigma[1]:.3f}^2" in kl and f"&= {vae.kl:.2f}\\ \\text{{nats}}" in kl
    assert f"{ae.reconstruction:.2f}" in latex  # the AE's loss
    assert f"test digit {FIRST}" in " ".join(m.value for m in at.markdown)
    # the models by their short names
    assert "under **AE · z = 2 · shipped** and **VAE · z = 2 · shipped**" in " ".join(m.value for m in at.markdown)
    links = [el for el in at.main.children.values() if el.type == "page_link"] or at.get("page_link")
    assert any("Compare" in link.proto.label and link.proto.page.endswith("compare") for link in links)
    glossary = " ".join(m.value for m in at.markdown)
    for term in ("ELBO", "KL divergence", "nats", "μ (mu)", "σ (sigma)", "Prior", "Posterior", "Reparameterization",
                 "beta"):
        assert f"**{term}" in glossary


def test_the_theory_page_falls_back_to_the_explorers_click(app_test, mnist, vae_checkpoint):
    at = app_test()
    at.run()
    e = encode_dataset(vae_checkpoint.model, mnist.test_images, mnist.test_labels)
    click_map(at, [{"curve_number": int(e.labels[FIRST]), "point_number": 0, "point_index": 0, "x": 0.0,
                    "y": 0.0, "customdata": [FIRST, int(e.labels[FIRST])]}])
    at.switch_page("pages/theory.py").run()
    assert not at.exception, at.exception
    assert "selected on the Explorer" in " ".join(m.value for m in at.markdown)
    assert f"{image_terms(vae_checkpoint.model, mnist.test_images[FIRST]).neg_elbo:.2f}" in _latex(at)


def _lesson_text(at):
    """The lesson's words: in the main area, above the maps (not in the sidebar)."""
    assert not any("Lesson" in m.value for m in at.sidebar.markdown)
    return " ".join(m.value for m in at.main.markdown)


def test_the_guided_lesson_steps_through_the_tools_and_keeps_its_state_in_the_url(compare, mnist):
    at = compare
    at.button(key="cmp_lesson_start").click().run()
    assert "Lesson 1/8: The AE's map" in _lesson_text(at) and at.button(key="cmp_lesson_back").disabled
    assert at.query_params["step"] == "1" and at.query_params["left"] == "mnist_ae_z2.safetensors"
    at.button(key="cmp_lesson_next").click().run()
    assert "Lesson 2/8" in _lesson_text(at)
    assert _traces(at, "a", "prior sample") and at.query_params["seed"] == "0"
    at.button(key="cmp_lesson_next").click().run()  # the VAE's map: samples hidden
    assert not _traces(at, "b", "prior sample") and "seed" not in at.query_params
    at.button(key="cmp_lesson_next").click().run()
    at.button(key="cmp_lesson_next").click().run()  # interpolate: ends found by the measure
    start, end = at.number_input(key="cmp_path_start").value, at.number_input(key="cmp_path_end").value
    assert start != end and "material/cancel" in _main_markdown(at)  # the AE's path has steps judged not real
    assert _traces(at, "b", "interpolation path") and _has(at, "cmp_b_path_preview")  # strips between the maps
    assert at.session_state["cmp_tool"] == "Sample from the prior"  # Next leaves the tab alone (no scrolling)
    at.button(key="cmp_lesson_next").click().run()  # the cloud: a digit is selected
    assert "Lesson 6/8" in _lesson_text(at)
    assert _has(at, "cmp_b_cloud_chart")  # between the maps
    assert _has(at, "cmp_new_eps") and _has(at, "cmp_cloud_k")  # "New eps" beside the maps, K in the tab
    assert at.query_params["digit"] == str(end) and at.query_params["step"] == "6"
    at.button(key="cmp_lesson_next").click().run()  # watch the holes form: the twin run's controls
    assert "Lesson 7/8: Watch the holes form" in _lesson_text(at)
    # what steps 5 and 6 left (the path, the selected digit) is gone
    assert at.session_state["cmp_path_start"] is None and at.session_state["cmp_selected"] is None
    assert _has(at, "cmp_twin_start")  # above the maps
    assert at.query_params["step"] == "7"
    at.button(key="cmp_lesson_next").click().run()  # ten dimensions: the z = 10 AE and VAE above the maps
    assert not at.exception, at.exception
    assert "Lesson 8/8: Ten dimensions" in _lesson_text(at) and at.button(key="cmp_lesson_next").disabled
    assert _has(at, "cmp_highdim") and _has(at, "cmp_highdim_AE_labels") and _has(at, "cmp_highdim_VAE_labels")
    assert "In ten dimensions the gap is large" in _lesson_text(at)
    at.button(key="cmp_lesson_back").click().run()
    at.button(key="cmp_lesson_back").click().run()
    at.button(key="cmp_lesson_back").click().run()
    assert "Lesson 5/8" in _lesson_text(at)
    at.button(key="cmp_lesson_end").click().run()
    assert _has(at, "cmp_lesson_start") and "step" not in at.query_params


def _main_markdown(at, prefix=""):
    return " ".join(m.value for m in at.main.markdown)


def test_lesson_sentences_carry_their_numbers_and_change_when_the_numbers_do_not_hold(app_test):
    """The shipped AE beside the shipped VAE: step 1's sentences hold, with their numbers.
    Two VAEs: the same sentences say what the numbers say instead."""
    at = app_test()
    at.run()
    at.query_params.update({"step": "1", "left": "mnist_ae_z2.safetensors", "right": "mnist_vae_z2.safetensors"})
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    text = _lesson_text(at)
    assert "The AE's codes spread over **" in text and "nothing in the AE's loss" in text
    assert "material/warning" not in text
    at = app_test()
    at.run()
    at.query_params.update({"step": "1", "left": "mnist_vae_z2.safetensors", "right": "mnist_vae_z2.safetensors"})
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    text = _lesson_text(at)
    assert "nothing in the" not in text
    assert "not the large difference between an AE and a VAE" in text and "material/warning" in text


def test_a_shared_link_restores_step_models_digits_and_seed(app_test, encodings):
    at = app_test()
    at.run()
    at.query_params.update({"step": "4", "left": "mnist_vae_z2.safetensors", "right": "mnist_ae_z2.safetensors", "digit": "42",
                            "start": "5", "end": "6", "seed": "9"})
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert "Lesson 4/8" in _lesson_text(at)
    assert at.selectbox(key="cmp_model_a").value.endswith("mnist_vae_z2.safetensors")
    assert at.selectbox(key="cmp_model_b").value.endswith("mnist_ae_z2.safetensors")
    assert "Test digit 42" in _panel_text(at)
    assert (at.number_input(key="cmp_path_start").value, at.number_input(key="cmp_path_end").value) == (5, 6)
    assert np.allclose(_xy(_traces(at, "a", "prior sample")[0]), prior_samples(16, 2, seed=9), atol=1e-6)
    # the left map is now the VAE's: its ring sits at the VAE's mu of digit 42
    assert np.allclose(_ring(at, "a"), encodings[1].mu[42], atol=1e-5)


def _metric_values(at):
    return [m.value for m in at.metric if m.label == "N(0, I) samples judged real"]


def test_the_holes_tab_shades_both_maps_while_open_keeps_a_flipped_toggle_and_scores_the_path(
        compare, encodings, ae_checkpoint, vae_checkpoint):
    from explorer.core.holes import path_scores
    from explorer.core.lesson_claims import sample_judgement
    from explorer.ui.state import caches
    from explorer.ui.figures.map_figure import HEATMAP_NAME
    from explorer.ui.views.holes import realness
    from explorer.ui.views.lesson import TOOLS

    at = compare
    classifier = caches.realism_judge()
    expected = [f"{sample_judgement(c.model, classifier, 'prior', e.mu)[0]:.0%}"
                for c, e in zip((ae_checkpoint, vae_checkpoint), encodings)]
    assert _metric_values(at) == expected

    def shaded():
        return [len(_traces(at, side, HEATMAP_NAME)) for side in "ab"]

    assert shaded() == [0, 0]  # the page opens on the samples' tab: nothing shaded
    at.session_state["cmp_tool"] = TOOLS[3]  # the student opens "Where the holes are"
    at.run()
    assert not at.exception, at.exception
    assert shaded() == [1, 1] and at.toggle(key="cmp_a_show_holes").value and at.toggle(key="cmp_b_show_holes").value
    at.toggle(key="cmp_a_show_holes").set_value(False).run()  # the student's own choice holds
    assert shaded() == [0, 1]
    at.session_state["cmp_tool"] = TOOLS[1]  # another tab: the page's default goes, the choice stays
    at.run()
    assert shaded() == [0, 0]
    at.session_state["cmp_tool"] = TOOLS[3]
    at.run()
    assert shaded() == [0, 1]
    at.toggle(key="cmp_a_show_holes").set_value(True).run()  # turned on by hand: on on every tab
    at.session_state["cmp_tool"] = TOOLS[1]
    at.run()
    assert not at.exception, at.exception
    assert shaded() == [1, 0]
    # a path: each model's chart scores its own decoded strip
    _click_digit(at, "a", encodings, FIRST)
    _click_digit(at, "a", encodings, SECOND)
    for side, e, model in zip("ab", encodings, (ae_checkpoint.model, vae_checkpoint.model)):
        path = interpolate(e.mu[FIRST], e.mu[SECOND], 10)
        scores = realness(path_scores(classifier, decode_z(model, path)))
        shown = plotly_array(chart_spec(at, f"cmp_{side}_path_scores")["data"][0]["y"])
        assert np.allclose(shown, scores, atol=1e-6)


def test_the_prior_share_is_one_number_in_the_holes_tab_the_lesson_and_the_sample_tab(app_test):
    """Lesson step 2 on the shipped pair: the holes tab's N(0, I) share, step 2's claim and
    the Sample tab's share of its more samples are one measurement, so one number each."""
    from explorer.core.lesson_claims import SAMPLES

    at = app_test()
    at.run()
    at.query_params.update({"step": "2", "left": "mnist_ae_z2.safetensors", "right": "mnist_vae_z2.safetensors"})
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    ae, vae = _metric_values(at)
    text = _lesson_text(at)
    assert f"Judged real: **{ae}** of the AE's samples, **{vae}** of the VAE's" in text
    sample_tab = _main_markdown(at)
    for share in (ae, vae):
        assert f"({share} of {SAMPLES} more)" in sample_tab


def _lesson_css(at) -> str:
    return " ".join(e.proto.body for e in at.get("html"))


def _lesson_marks(at, side):
    return [a for a in chart_spec(at, f"cmp_{side}_latent_map")["layout"].get("annotations", [])
            if a.get("name") == "lesson mark"]


def test_each_lesson_step_marks_what_it_talks_about(app_test, encodings):
    """Step 1 outlines the AE's map and points at an empty stretch (no test code near the
    arrow's tip); step 3 points at the VAE's prior circle with the share of codes inside;
    step 8 outlines the z = 10 shares and path marks and dims the z = 2 maps."""
    at = app_test()
    at.run()
    at.query_params.update({"step": "1", "left": "mnist_ae_z2.safetensors", "right": "mnist_vae_z2.safetensors"})
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    css = _lesson_css(at)
    assert ".st-key-cmp_a_map_panel {" in css and "Look here" in css and "cmp_b_map_panel" not in css
    assert "cmp_key_view { opacity" not in css
    marks = _lesson_marks(at, "a")
    assert _lesson_marks(at, "b") == []
    tip = next(m for m in marks if m["text"] == "empty: no test digit here")
    mu = np.asarray(encodings[0].mu)
    nearest = np.sqrt(((mu - [tip["x"], tip["y"]]) ** 2).sum(1)).min()
    span = mu.max(0) - mu.min(0)
    assert nearest > 0.04 * span.max(), nearest  # the arrow points at empty space, not at a cluster

    at.button(key="cmp_lesson_next").click().run()
    at.button(key="cmp_lesson_next").click().run()  # step 3: the VAE's map
    assert "Lesson 3/8" in _lesson_text(at)
    assert ".st-key-cmp_b_map_panel {" in _lesson_css(at) and _lesson_marks(at, "a") == []
    (circle,) = _lesson_marks(at, "b")
    inside = (np.linalg.norm(np.asarray(encodings[1].mu), axis=1) <= 3).mean()
    assert f"{inside:.0%} of codes inside" in circle["text"]
    assert np.hypot(circle["x"], circle["y"]) == pytest.approx(3.0)

    for _ in range(5):
        at.button(key="cmp_lesson_next").click().run()
    assert "Lesson 8/8" in _lesson_text(at)
    css = _lesson_css(at)
    assert "cmp_key_view { opacity" in css and ".st-key-cmp_highdim_share_AE {" in css
    assert _has(at, "cmp_highdim_share_AE") and _has(at, "cmp_highdim_marks_VAE")
    assert "the z = 2 maps of steps 1-7" in _main_markdown(at)


def test_lesson_marks_take_the_charts_text_size_while_presenting(app_test):
    """A lesson link with present=1: the marks' text is as large as the chart's (16 px, not 15)."""
    from explorer.ui.page.layout import PRESENT_PLOT_FONT_PX

    at = app_test()
    at.query_params = {"present": "1"}
    at.run()
    at.query_params.update({"step": "1", "left": "mnist_ae_z2.safetensors", "right": "mnist_vae_z2.safetensors"})
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    marks = _lesson_marks(at, "a")
    assert marks and all(m["font"]["size"] >= PRESENT_PLOT_FONT_PX for m in marks), marks
