"""The shipped M1+M2 model (Kingma et al. 2014, Sec. 3.2) and the Semi-supervised (M2) page
on real MNIST: the file is the project's (checksum, trust, its M1), the page's numbers are
the model's own measured on the 10,000 test digits, and the "style against class" grid
decodes a test digit's style into the digit it is asked for, as an independent judge (the
shipped digit classifier) reads it."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from tests.helpers.paths import REPO
from tests.helpers.charts import chart_spec, plotly_array
from explorer.core import semi_supervised as ss
from explorer.core.checkpoint_trust import shipped_digests
from explorer.core.checkpoints import load_checkpoint
from explorer.core.classifier import load_classifier
from explorer.ui.figures import DIGIT_COLORS, DIGIT_MARKER_PX
from explorer.ui.views.semi_supervised import PAPER_TABLE, RECORDED_RUNS, SHIPPED

PAGE = "pages/semi_supervised.py"
FILE = REPO / "checkpoints" / SHIPPED
M1_FILE = REPO / "checkpoints" / "mnist_vae_z20.safetensors"
#: Test digits whose class-swap rows the classifier judges here (x 10 labels).
JUDGED = 200


@pytest.fixture(scope="module")
def m1m2():
    return load_checkpoint(FILE)


@pytest.fixture(scope="module")
def predicted(m1m2, mnist):
    return ss.predictions(m1m2.model, mnist.test_images)


def test_the_shipped_m1_m2_file_is_listed_verified_and_stands_on_the_shipped_m1(m1m2):
    digest = hashlib.sha256(FILE.read_bytes()).hexdigest()
    assert shipped_digests()[digest] == SHIPPED
    assert (m1m2.origin, m1m2.verified, m1m2.metrics_source) == ("shipped", True, "stored")
    config = m1m2.model_config
    assert (config.kind, config.m1_latent_dim, m1m2.train_config.labels, m1m2.train_config.seed) == ("m2", 20, 100, 0)
    assert config.m1_sha256 == hashlib.sha256(M1_FILE.read_bytes()).hexdigest()
    assert ss.is_m1_m2(m1m2.model) and m1m2.model.m1 is not None
    assert FILE.stat().st_size < 2_000_000  # small: M2's networks on 20-number codes, no M1 weights inside


def test_the_stored_error_is_what_the_classifier_gets_on_the_test_digits(m1m2, predicted, mnist):
    confusion = ss.confusion_matrix(predicted, mnist.test_labels, 10)
    assert int(confusion.sum()) == 10_000
    assert confusion.sum(dim=1).tolist() == torch.bincount(mnist.test_labels, minlength=10).tolist()
    error = ss.error_percent(confusion)
    assert error == pytest.approx(100 * float((predicted != mnist.test_labels).float().mean()))
    assert error == pytest.approx(m1m2.metrics["test_classification_error"], abs=1e-6)
    assert error < 30  # far below chance (90 %) with 100 labels
    assert m1m2.history[-1]["test_classification_error"] == pytest.approx(error, abs=1e-6)


def test_confusion_accuracy_and_error_on_a_small_case():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 0, 2])
    confusion = ss.confusion_matrix(predicted, labels, 3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert ss.error_percent(confusion) == pytest.approx(100 * 2 / 6)
    assert ss.class_accuracy(confusion).tolist() == pytest.approx([0.5, 1.0, 0.5])


def test_decoding_a_style_with_label_y_draws_a_y(m1m2, mnist):
    """Kingma et al. 2014, Figure 1: z from q(z|x, y) keeps the style, the label decides the
    digit. The shipped classifier (a separate CNN, about 99 % right on real test digits)
    reads the image decoded with y as a y far more often than chance (10 %)."""
    images, labels = mnist.test_images[:JUDGED], mnist.test_labels[:JUDGED]
    swapped = ss.class_swap(m1m2.model, images, labels)
    assert swapped.shape == (JUDGED * 10, 1, 28, 28)
    assert 0.0 <= float(swapped.min()) and float(swapped.max()) <= 1.0
    judge = load_classifier().model
    read = judge.probabilities(swapped).argmax(dim=1)
    columns = ss.swap_columns(JUDGED, 10)
    assert (columns.reshape(JUDGED, 10) == torch.arange(10)).all()
    agreement = float((read == columns).float().mean())
    assert agreement > 0.5
    # the style is the digit's own: decoded with its own label, a test digit comes back closer
    # to itself (squared pixel distance) than the same label decoded at the prior's centre z = 0
    own = swapped.reshape(JUDGED, 10, -1)[torch.arange(JUDGED), labels]
    centre = ss.pixel_means(m1m2.model, torch.zeros(JUDGED, m1m2.model.config.latent_dim), labels).flatten(1)
    flat = images.flatten(1)
    closer = ((own - flat) ** 2).sum(1) < ((centre - flat) ** 2).sum(1)
    assert float(closer.float().mean()) > 0.9


def test_class_swap_needs_an_m2_model_and_matching_labels(m1m2, vae_checkpoint, mnist):
    with pytest.raises(ValueError, match="semi-supervised M2"):
        ss.class_swap(vae_checkpoint.model, mnist.test_images[:2], mnist.test_labels[:2])
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        ss.class_swap(m1m2.model, mnist.test_images[:2], mnist.test_labels[:3])


def test_the_page_shows_the_shipped_models_measured_numbers(app_test, m1m2, predicted, mnist):
    at = app_test()
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    error = 100 * float((predicted != mnist.test_labels).float().mean())
    assert metrics["Our test error, 100 labels"] == f"{error:.2f} %"
    assert metrics["Paper's M1+M2, 100 labels"] == f"{PAPER_TABLE['M1+M2'][100]:.2f} %" == "3.33 %"
    # the bars: each digit's share of its test images labelled right
    bars = chart_spec(at, "m2_accuracy")["data"][0]
    expected = [100 * float((predicted[mnist.test_labels == d] == d).float().mean()) for d in range(10)]
    np.testing.assert_allclose(plotly_array(bars["y"]), expected, rtol=1e-6)
    heat = chart_spec(at, "m2_confusion")["data"][0]
    np.testing.assert_array_equal(plotly_array(heat["z"]).reshape(10, 10),
                                  ss.confusion_matrix(predicted, mnist.test_labels, 10).numpy())
    epochs = chart_spec(at, "m2_epochs")["data"][0]
    assert list(plotly_array(epochs["y"])) == [r["test_classification_error"] for r in m1m2.history]
    # the grid: rows x (the digit + 10 labels), the caption's agreement measured by the classifier
    grid = chart_spec(at, "m2_swap")
    assert list(grid["layout"]["xaxis"]["ticktext"]) == ["digit"] + [f"y={d}" for d in range(10)]
    assert list(grid["layout"]["yaxis"]["ticktext"]) == [f"no. {i}: {int(mnist.test_labels[i])}" for i in range(4)]
    caption = next(c.value for c in at.caption if "shipped digit classifier" in c.value)
    assert "(chance 10 %)" in caption
    # another first digit redraws the rows
    at.number_input(key="m2_first").set_value(100).run()
    assert not at.exception
    grid = chart_spec(at, "m2_swap")
    assert grid["layout"]["yaxis"]["ticktext"][0] == f"no. 100: {int(mnist.test_labels[100])}"
    # the record of every run beside Table 1: 2 models x 4 label counts
    table = at.dataframe[0].value
    assert len(table) == 8 and list(table["paper (%)"]) == [*PAPER_TABLE["M2"].values(), *PAPER_TABLE["M1+M2"].values()]


def test_the_pages_record_of_runs_is_the_docs_table():
    """The page's table of recorded runs and docs/semi-supervised.md's say the same (bold: ours)."""
    import re
    text = (REPO / "docs" / "semi-supervised.md").read_text()
    section = text.split("## This project against Table 1")[1].split("\n\n")[1]
    rows = [r for r in section.splitlines() if re.match(r"\| \d", r)]
    assert len(rows) == 4
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        labels = int(cells[0])
        m2, m1m2 = (float(re.search(r"\*\*([\d.]+)\*\*", cells[i]).group(1)) for i in (1, 3))
        assert RECORDED_RUNS["M2"][labels][0] == m2 and RECORDED_RUNS["M1+M2"][labels][0] == m1m2
        assert float(cells[2]) == PAPER_TABLE["M2"][labels] and float(cells[4]) == PAPER_TABLE["M1+M2"][labels]


# --- the style map of the z = 2 M1+M2 model (Kingma et al. 2014, Figure 1 left) -----------

Z2_FILE = REPO / "checkpoints" / "mnist_m1m2_z2_l100.safetensors"


@pytest.fixture(scope="module")
def m1m2_z2():
    return load_checkpoint(Z2_FILE)


def test_neighbour_agreement_and_its_chance_on_a_small_case():
    # two tight pairs far apart, one label each: every nearest neighbour agrees
    codes = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.0, 5.1]])
    assert ss.neighbour_agreement(codes, torch.tensor([0, 0, 1, 1])) == pytest.approx((1.0, 2 * 2 / 12))
    # labels across the pairs: no nearest neighbour agrees
    assert ss.neighbour_agreement(codes, torch.tensor([0, 1, 0, 1]))[0] == 0.0
    with pytest.raises(ValueError, match="at least 2 codes"):
        ss.neighbour_agreement(codes[:1], torch.tensor([0]))


def test_the_labelled_rows_are_the_seeded_balanced_draw_of_training(mnist):
    rows = ss.labelled_rows(mnist.train_labels, 100, 0, 10)
    assert len(rows) == 100 and torch.bincount(mnist.train_labels[rows], minlength=10).tolist() == [10] * 10
    assert torch.equal(rows, ss.labelled_rows(mnist.train_labels, 100, 0, 10))
    assert not torch.equal(rows, ss.labelled_rows(mnist.train_labels, 100, 1, 10))


def test_the_page_draws_the_z2_models_style_map_coloured_by_predicted_label(app_test, m1m2_z2, mnist):
    model = m1m2_z2.model
    assert (model.config.latent_dim, m1m2_z2.train_config.labels, m1m2_z2.verified) == (2, 100, True)
    at = app_test()
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    # the shipped z = 50 model first: no map, and why
    with pytest.raises(KeyError):
        at.get_by_key("m2_style_map")
    assert any("No style map for this model: its style z has 50 numbers" in i.value for i in at.info)
    at.sidebar.selectbox(key="m2_model").set_value(f"file:{Z2_FILE}").run()
    assert not at.exception, [e.message for e in at.exception]
    traces = chart_spec(at, "m2_style_map")["data"]
    assert len(traces) == 11
    # 10 traces of the 10,000 test digits, trace d: those q(y|x) labels d, at the mean of q(z|x, d)
    predicted = ss.predictions(model, mnist.test_images)
    with torch.no_grad():
        z = model.encode(mnist.test_images, predicted)[0].numpy()
    assert sum(len(plotly_array(t["x"])) for t in traces[:10]) == 10_000
    for d, trace in enumerate(traces[:10]):
        rows = (predicted == d).numpy()
        assert trace["marker"]["color"] == DIGIT_COLORS[d] and trace["name"] == str(d)
        np.testing.assert_allclose(plotly_array(trace["x"]), z[rows, 0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(plotly_array(trace["y"]), z[rows, 1], rtol=1e-5, atol=1e-6)
    # the 100 labelled training digits: the seeded draw, at the mean of q(z|x, known y), coloured by it
    marks = traces[10]
    rows = ss.labelled_rows(mnist.train_labels, 100, 0, 10)
    known = mnist.train_labels[rows]
    custom = plotly_array(marks["customdata"])
    assert len(plotly_array(marks["x"])) == 100 and marks["name"] == "labelled (100)"
    assert custom[:, 0].tolist() == rows.tolist() and custom[:, 1].tolist() == known.tolist()
    assert marks["marker"]["color"] == [DIGIT_COLORS[int(d)] for d in known]
    assert marks["marker"]["symbol"] == "diamond" and marks["marker"]["size"] > 2 * DIGIT_MARKER_PX
    with torch.no_grad():
        np.testing.assert_allclose(plotly_array(marks["x"]), model.encode(mnist.train_images[rows], known)[0][:, 0],
                                   rtol=1e-5, atol=1e-6)
    # the caption's numbers are measured on these codes
    agreement, chance = ss.neighbour_agreement(torch.as_tensor(z), predicted)
    caption = next(c.value for c in at.caption if "nearest other dot" in c.value)
    vae = load_checkpoint(REPO / "checkpoints" / "mnist_vae_z2.safetensors").model
    with torch.no_grad():
        vae_agreement = ss.neighbour_agreement(vae.encode(mnist.test_images)[0], mnist.test_labels)[0]
    assert vae_agreement > 3 * agreement  # the plain VAE's z holds the digit, M2's style z much less
    assert f"**{agreement:.0%}** of the dots (chance {chance:.0%}; the shipped z = 2 VAE's map: {vae_agreement:.0%})" \
        in caption
    right = float((ss.predictions(model, mnist.train_images[rows]) == known).float().mean())
    assert "the 100 labelled training digits" in caption and f"(q(y|x) gets {right:.0%} of them right)" in caption
