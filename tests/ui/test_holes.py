"""The shipped digit classifier and the hole score: accuracy on the real test split,
scores of real digits against blanks and noise, the AE's holes against the VAE's,
refusal of damaged files, and the holes panel on a page for both shipped models."""

import json
import struct

import numpy as np
import pytest
import torch

from tests.helpers.charts import chart_spec, plotly_array
from tests.helpers.apptest import run_page_function
from explorer.core.classifier import (
    DEFAULT_PATH, ClassifierConfig, ClassifierFileError, DigitClassifier, TrainedClassifier, accuracy,
    load_classifier, save_classifier, train_classifier,
)
from explorer.core.holes import digit_score, path_scores, prior_share, score_grid


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(DEFAULT_PATH)


@pytest.fixture(scope="module")
def shares(shipped, vae_checkpoint, ae_checkpoint):
    """Prior shares (k=2000, seed 0) of the shipped VAE and AE, computed once."""
    return [prior_share(c.model, shipped.model, k=2000, seed=0) for c in (vae_checkpoint, ae_checkpoint)]


def test_shipped_classifier_reaches_98_percent_on_the_test_split(shipped, mnist):
    acc = accuracy(shipped.model, mnist.test_images, mnist.test_labels)
    assert acc >= 0.98
    assert acc == pytest.approx(shipped.test_accuracy, abs=1e-6)  # the number in the file is the real one
    assert DEFAULT_PATH.stat().st_size < 5 * 2**20


def test_real_digits_score_high_blank_and_noise_low(shipped, mnist):
    clf = shipped.model
    real = digit_score(clf, mnist.test_images[:1000])
    assert real.shape == (1000,) and real.mean() > 0.95
    noise = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    blank = torch.zeros(1, 1, 28, 28)
    assert digit_score(clf, noise).mean() < 0.6
    assert digit_score(clf, blank)[0] < 0.6
    # a blend of two different digits is less digit-like than either
    a, b = mnist.test_images[mnist.test_labels == 0][:100], mnist.test_images[mnist.test_labels == 1][:100]
    assert digit_score(clf, 0.5 * a + 0.5 * b).mean() < min(digit_score(clf, a).mean(), digit_score(clf, b).mean())
    strip = path_scores(clf, mnist.test_images[:5])
    assert isinstance(strip, np.ndarray) and strip.shape == (5,)


def test_images_outside_the_unit_range_are_scored_as_shown(shipped, mnist):
    """An identity-link decoder's mean (the linear AE) leaves [0, 1]; the score is that of
    the clipped image the app shows."""
    clf = shipped.model
    digits = mnist.test_images[:50]
    overshoot = (digits - 0.5) * 6  # pixels in [-3, 3]: clipped, the same strokes
    clipped = overshoot.clamp(0, 1)
    assert torch.equal(digit_score(clf, overshoot), digit_score(clf, clipped))
    assert not torch.equal(clf.probabilities(overshoot), clf.probabilities(clipped))  # the clip matters


def test_the_vae_fills_its_prior_with_digits_more_than_the_ae(shipped, shares, vae_checkpoint):
    vae, ae = shares
    assert 0.0 <= ae < vae <= 1.0
    assert vae > 0.5
    assert prior_share(vae_checkpoint.model, shipped.model, k=2000, seed=0) == vae  # seeded: repeatable


def test_score_grid_rows_follow_z2_and_columns_z1(shipped, vae_checkpoint):
    model = vae_checkpoint.model
    z1, z2, scores = score_grid(model, shipped.model, [(-3.0, 3.0), (-2.0, 1.0)], n=7)
    assert z1.shape == (7,) and z2.shape == (7,) and scores.shape == (7, 7)
    assert z1[0] == -3.0 and z1[-1] == 3.0 and z2[0] == -2.0 and z2[-1] == 1.0
    i, j = 1, 5
    with torch.inference_mode():
        expected = digit_score(shipped.model, model.decode_mean(torch.tensor([[z1[j], z2[i]]])))
    assert scores[i, j] == pytest.approx(float(expected[0]), abs=1e-5)
    assert ((scores >= 0.1 - 1e-6) & (scores <= 1.0 + 1e-6)).all()


def _small_classifier(tmp_path, mnist):
    model = train_classifier(mnist.train_images[:256], mnist.train_labels[:256], ClassifierConfig("mlp", (16,)),
                             epochs=1)
    path = tmp_path / "c.safetensors"
    save_classifier(path, TrainedClassifier(model, 0.5, 1.0, {"epochs": 1}))
    return path


def _rewrite(path, header_edit=None, data_edit=None):
    """Rewrite a safetensors file: its JSON header through ``header_edit``, its data bytes through ``data_edit``."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8:8 + n]), bytearray(raw[8 + n:])
    if header_edit:
        header_edit(header)
    if data_edit:
        data_edit(header, data)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + bytes(data))


def test_a_saved_classifier_round_trips(tmp_path, mnist):
    path = _small_classifier(tmp_path, mnist)
    loaded = load_classifier(path)
    assert loaded.model.config == ClassifierConfig("mlp", (16,)) and loaded.extra == {"epochs": 1}
    assert loaded.test_accuracy == 0.5


def test_load_refuses_damaged_files(tmp_path, mnist):
    path = _small_classifier(tmp_path, mnist)
    good = path.read_bytes()

    path.write_bytes(good[: len(good) // 2])                       # truncated
    with pytest.raises(ClassifierFileError, match="not a readable safetensors"):
        load_classifier(path)

    path.write_bytes(good)                                          # a NaN in a weight
    def poison(header, data):
        start = header["net.1.weight"]["data_offsets"][0]
        data[start:start + 4] = struct.pack("<f", float("nan"))
    _rewrite(path, data_edit=poison)
    with pytest.raises(ClassifierFileError, match="net.1.weight holds non-finite"):
        load_classifier(path)

    path.write_bytes(good)                                          # config that does not fit the weights
    def widen(header):
        meta = json.loads(header["__metadata__"]["explorer"])
        meta["config"]["hidden_sizes"] = [32]
        header["__metadata__"]["explorer"] = json.dumps(meta)
    _rewrite(path, header_edit=widen)
    with pytest.raises(ClassifierFileError, match=r"weight net.1.weight has shape \(16, 784\), expected \(32, 784\)"):
        load_classifier(path)

    path.write_bytes(good)                                          # a foreign safetensors file
    _rewrite(path, header_edit=lambda h: h.pop("__metadata__"))
    with pytest.raises(ClassifierFileError, match="not an MNIST classifier"):
        load_classifier(path)

    with pytest.raises(ClassifierFileError, match="not found"):
        load_classifier(tmp_path / "missing.safetensors")
    assert issubclass(ClassifierFileError, ValueError)


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="architecture"):
        ClassifierConfig("transformer")
    with pytest.raises(ValueError, match="unknown classifier config"):
        ClassifierConfig.from_dict({"architecture": "cnn", "layers": 3})
    assert DigitClassifier(ClassifierConfig("cnn"))(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


# --- the holes panel on a page, for both shipped models ---------------------------------

def _holes_page():
    from explorer.ui.views.holes import holes_panel
    from explorer.ui.views.latent_map import latent_map_view
    from tests.helpers.apptest import shipped_views

    for column, view in shipped_views(("mnist_vae_z2.safetensors", "mnist_ae_z2.safetensors")):
        with column:
            holes = holes_panel(view)
            latent_map_view(view, holes=holes)


def _heatmaps(at, key):
    return [t for t in chart_spec(at, key)["data"] if t["type"] == "contour"]


@pytest.fixture(scope="module")
def judge():
    from explorer.core.data import load_split
    from explorer.core.realism import build_judge

    return build_judge(load_classifier().model, load_split(train=True, verify=False)[0])


def test_holes_panel_shows_the_judged_share_and_shades_holes(judge, vae_checkpoint, ae_checkpoint, mnist):
    from explorer.core.latent import encode_dataset
    from explorer.core.lesson_claims import SAMPLES, model_facts, sample_judgement
    from explorer.ui.views.holes import realness

    at = run_page_function(_holes_page, timeout=240)
    metrics = {m.label: m for m in at.metric}
    assert len(at.metric) == 2 and set(metrics) == {"N(0, I) samples judged real"}
    shares = []
    for c in (vae_checkpoint, ae_checkpoint):
        e = encode_dataset(c.model, mnist.test_images, mnist.test_labels)
        share, counts = sample_judgement(c.model, judge, "prior", e.mu)
        assert counts.sum() == SAMPLES
        shares.append(share)
    # the lesson's facts measure the prior's share the same way: one number
    e = encode_dataset(ae_checkpoint.model, mnist.test_images, mnist.test_labels)
    facts = model_facts(ae_checkpoint.model, "AE", e.mu, None, judge, mnist.test_labels.numpy())
    assert facts.sample_real["prior"] == shares[1]
    assert [m.value for m in at.metric] == [f"{s:.0%}" for s in shares]
    assert all("N(0, I)" in m.proto.help and "AUC" in m.proto.help for m in at.metric)
    assert _heatmaps(at, "a_latent_map") == [] and _heatmaps(at, "b_latent_map") == []

    at.toggle(key="b_show_holes").set_value(True).run()             # the AE's holes only
    assert not at.exception, at.exception
    assert _heatmaps(at, "a_latent_map") == []
    (heat,) = _heatmaps(at, "b_latent_map")
    assert heat["name"] == "looks like a real digit" and heat["showscale"] is False
    spec = chart_spec(at, "b_latent_map")
    # the legend says in words what dark means (and, under the cursor, clear), above the plot area
    legend = [a for a in spec["layout"]["annotations"] if a.get("name") == "holes legend"]
    assert len(legend) == 1 and "a hole: decodes to no real digit" in legend[0]["text"]
    assert "clear = decodes to a real" in legend[0]["hovertext"] and legend[0]["yanchor"] == "bottom"
    assert spec["data"][-1]["type"] == "contour"                    # last: digit traces keep their numbers
    x, y, z = plotly_array(heat["x"]), plotly_array(heat["y"]), plotly_array(heat["z"])
    expected = score_grid(ae_checkpoint.model, judge,
                          [spec["layout"]["xaxis"]["range"], spec["layout"]["yaxis"]["range"]], n=len(x))
    np.testing.assert_allclose(x, expected[0], atol=1e-6)
    np.testing.assert_allclose(z, realness(expected[2]), atol=1e-5)
    assert (z < 0.5).mean() > 0.1 and (z >= 0.5).mean() > 0.1       # the AE's map has holes and digits
    print("holes share AE", (z < 0.5).mean())

    at.toggle(key="a_show_holes").set_value(True).run()
    (vae_heat,) = _heatmaps(at, "a_latent_map")
    assert plotly_array(vae_heat["z"]).shape == (len(y), len(x))
    print("holes share VAE", (plotly_array(vae_heat["z"]) < 0.5).mean())
