"""What the app shows from a checkpoint is true (issue 25): models that pass plain probe
images and break on real digits are refused everywhere with the same reason, and a forged
metric or config in a file from elsewhere is never shown as stored.

Every file here is built by the test: the three probe evaders of :mod:`tests.helpers.evaders`
(mu overflow from a centred-ink detector, the z = 10 layout with a huge log-variance, a
conditional VAE whose decoder gives NaN for label 9 only), and small honest files whose
stored metrics or config are then edited.
"""

from __future__ import annotations

import pytest
import torch

from explorer.core.checkpoint_format import MAX_MESSAGE_CHARS, checkpoint_bytes
from explorer.core.checkpoint_trust import shipped_digests
from explorer.core.checkpoints import CheckpointError, load_checkpoint
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.limits import LOGVAR_RANGE, MAX_ABS_CODE, absurd_outputs
from explorer.core.metrics import evaluate
from explorer.core.models import build_model
from explorer.core.train import TrainingDiverged, train

from tests.helpers.paths import REPO
from tests.helpers.checkpoint_files import safetensors_bytes, safetensors_parts
from tests.helpers.evaders import ink_detector_vae, label9_nan_cvae, logvar_vae_z10

#: evader -> (builder, what its refusal must name)
EVADERS = {
    "ink-detector-mu": (ink_detector_vae, "on real test digits the encoder's mean mu reaches"),
    "z10-logvar": (logvar_vae_z10, "on real test digits the encoder's log-variance reaches"),
    "cvae-label9-nan": (label9_nan_cvae, "on real test digits with label 9 the decoder's mean is NaN"),
}


@pytest.fixture(scope="module")
def test_split():
    from explorer.core.data import load_split

    return load_split(train=False)


def _file(model, metrics=None, train_config=TrainConfig(epochs=1, seed=3)) -> bytes:
    return checkpoint_bytes(model, train_config=train_config, history=[{"epoch": 1, "train_loss": 200.0}],
                            metrics=metrics if metrics is not None else {"test_reconstruction": 100.0},
                            dataset={"name": "MNIST", "sha256": {}})


# --- probe evaders ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EVADERS))
def test_each_evader_passes_plain_images_and_breaks_on_real_digits(kind, test_split):
    """They are real evaders: the former probe's images (black, white, grey, noise, labels
    0-7) give sane outputs, while real test digits do not."""
    model = EVADERS[kind][0]()
    g = torch.Generator().manual_seed(0)
    plain = torch.cat([torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28), torch.full((1, 1, 28, 28), 0.5),
                       torch.rand(5, 1, 28, 28, generator=g)])
    images, labels = test_split
    with torch.no_grad():
        mu, logvar = model.encode(plain, torch.arange(8))
        mean = model.decode_mean(mu, torch.arange(8))
        assert mu.abs().max() < 1 and LOGVAR_RANGE[0] < logvar.min() and logvar.max() < LOGVAR_RANGE[1]
        assert torch.isfinite(mean).all() and torch.isfinite(model.decode_mean(torch.randn(8, mu.shape[1]),
                                                                               torch.arange(8))).all()
        mu, logvar = model.encode(images[:1000], labels[:1000])
        broken = (~torch.isfinite(logvar.exp()).all(1)) | (mu.abs() > MAX_ABS_CODE).any(1)
        if kind == "cvae-label9-nan":
            assert not broken.any() and torch.isnan(model.decode_mean(mu, torch.full_like(labels[:1000], 9))).all()
            assert torch.isfinite(model.decode_mean(mu, labels[:1000].clamp(max=8))).all()
        else:
            assert broken.float().mean() > 0.9  # most real digits break it


@pytest.fixture(scope="module")
def evaders():
    """kind -> (model, file bytes, the probe's reason)."""
    built = {}
    for kind, (build, _) in EVADERS.items():
        model = build()
        built[kind] = (model, _file(model), absurd_outputs(model))
    return built


@pytest.mark.parametrize("kind", list(EVADERS))
def test_an_evader_is_refused_by_path_bytes_and_at_the_end_of_training_with_the_same_reason(
        kind, evaders, tmp_path, test_split):
    model, data, reason = evaders[kind]
    assert reason is not None and reason.startswith(EVADERS[kind][1]), reason
    path = tmp_path / f"{kind}.safetensors"
    path.write_bytes(data)
    refusals = []
    for source in (path, data):
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(source)
        refusals.append(str(caught.value))
        assert caught.value.reason == reason
    images, labels = test_split
    with pytest.raises(TrainingDiverged) as caught:  # a run stopped at once ends with this model
        train(model, images[:256], images[:256], TrainConfig(epochs=1), should_stop=lambda: True,
              train_labels=labels[:256], test_labels=labels[:256])
    refusals.append(str(caught.value))
    for message in refusals:
        assert reason in message and len(message) < MAX_MESSAGE_CHARS, message
    assert refusals[0].startswith(f"{kind}.safetensors: ") and refusals[1].startswith("uploaded file: ")


def test_the_train_page_refuses_every_evader_upload_with_the_probes_reason(app_test, evaders):
    at = app_test()
    at.run()
    at.switch_page("pages/train.py").run()
    for kind, (_, data, reason) in evaders.items():
        at.file_uploader(key="upload_checkpoint").set_value((f"{kind}.safetensors", data, "application/octet-stream"))
        at.run()
        assert not at.exception, at.exception
        assert not at.success, [s.value for s in at.success]
        message = at.error[0].value
        assert f"{kind}.safetensors: {reason}" in message, message


def test_a_conditional_model_of_more_labels_than_mnists_is_refused():
    model = build_model(ModelConfig(kind="cvae", hidden_sizes=(8,), num_classes=11), seed=0)
    with pytest.raises(CheckpointError, match="takes 11 labels, MNIST has 10"):
        load_checkpoint(_file(model))


# --- metrics and configs that lie ----------------------------------------------------------

SMALL = ModelConfig(kind="vae", latent_dim=2, hidden_sizes=(16,))
SEED = 3


@pytest.fixture(scope="module")
def honest(test_split):
    """A small VAE's file whose stored metrics are what evaluate measures (seed 3)."""
    model = build_model(SMALL, seed=0).eval()
    metrics = evaluate(model, *test_split, seed=SEED)
    return model, metrics, _file(model, metrics, TrainConfig(epochs=1, seed=SEED))


def _edited(data: bytes, edit, *, rehash: bool) -> bytes:
    tensors, metadata, contents = safetensors_parts(data)
    edit(contents)
    return safetensors_bytes(tensors, metadata, contents, rehash=rehash)


def test_an_honest_file_from_elsewhere_shows_its_stored_metrics_confirmed(honest):
    _, metrics, data = honest
    loaded = load_checkpoint(data)
    assert loaded.verified and loaded.origin == "file" and loaded.metrics_source == "recomputed"
    assert loaded.metrics == metrics and loaded.disagreeing == ()
    assert "the stored ones agree" in loaded.provenance


def test_a_forged_metric_is_never_shown(honest):
    _, metrics, data = honest
    forged = _edited(data, lambda c: c["metrics"].update(test_neg_elbo=50.0), rehash=True)
    loaded = load_checkpoint(forged)
    assert loaded.stored_metrics["test_neg_elbo"] == 50.0
    assert loaded.metrics["test_neg_elbo"] == pytest.approx(metrics["test_neg_elbo"]) and loaded.metrics["test_neg_elbo"] > 400
    assert loaded.disagreeing == ("test_neg_elbo",)
    assert {k: v for k, v in loaded.metrics.items() if k != "test_neg_elbo"} == {
        k: v for k, v in metrics.items() if k != "test_neg_elbo"}  # the agreeing ones are kept as stored
    assert "Metrics recomputed here" in loaded.provenance and "Test -ELBO did not match" in loaded.provenance
    assert "50" not in loaded.provenance
    # edited without rewriting the checksum, as the file was: refused as edited
    with pytest.raises(CheckpointError, match="does not match its stored SHA-256"):
        load_checkpoint(_edited(data, lambda c: c["metrics"].update(test_neg_elbo=50.0), rehash=False))


def test_a_forged_config_is_never_shown_as_stored(honest, test_split):
    """"gaussian" over Bernoulli weights: the metrics shown are the ones the stored config
    gives on the test set, not the Bernoulli numbers stored beside it."""
    _, metrics, data = honest
    edit = lambda c: c["model_config"].update(likelihood="gaussian")  # noqa: E731
    with pytest.raises(CheckpointError, match="does not match its stored SHA-256"):
        load_checkpoint(_edited(data, edit, rehash=False))
    loaded = load_checkpoint(_edited(data, edit, rehash=True))
    assert loaded.model_config.likelihood == "gaussian"
    assert {"test_neg_elbo", "test_reconstruction"} <= set(loaded.disagreeing)
    assert loaded.metrics["test_reconstruction"] != pytest.approx(metrics["test_reconstruction"])
    assert loaded.metrics["test_reconstruction"] == pytest.approx(
        evaluate(loaded.model, *test_split, seed=SEED)["test_reconstruction"])


def test_every_shipped_checkpoint_is_listed_and_shows_its_stored_metrics():
    """checkpoints/SHA256SUMS lists exactly the shipped autoencoder checkpoints; each loads
    (passing the probe) as shipped and verified, with the metrics the project measured."""
    shipped = sorted(p.name for p in (REPO / "checkpoints").glob("*.safetensors") if "classifier" not in p.name)
    assert sorted(shipped_digests().values()) == shipped
    for name in shipped:
        loaded = load_checkpoint(REPO / "checkpoints" / name)
        assert (loaded.origin, loaded.verified, loaded.metrics_source) == ("shipped", True, "stored"), name
        assert loaded.metrics == loaded.stored_metrics and "Shipped with the app" in loaded.provenance


def test_an_edited_shipped_file_is_no_longer_shipped(test_split):
    """The linear AE (23 KB) with a forged reconstruction and fresh checksums: it counts as a
    file from elsewhere, so its metrics are recomputed and the forged one is not shown."""
    data = (REPO / "checkpoints" / "mnist_linear_ae_z2.safetensors").read_bytes()
    stored = load_checkpoint(data).metrics["test_reconstruction"]
    loaded = load_checkpoint(_edited(data, lambda c: c["metrics"].update(test_reconstruction=1.0), rehash=True))
    assert loaded.origin == "file" and loaded.disagreeing == ("test_reconstruction",)
    assert loaded.metrics["test_reconstruction"] == pytest.approx(stored, rel=1e-6)


def test_a_model_that_gives_non_finite_metrics_on_the_test_set_is_refused(honest, monkeypatch):
    from explorer.core import checkpoints

    monkeypatch.setattr(checkpoints, "absurd_outputs", lambda model: None)  # as if the probe missed it
    data = _file(label9_nan_cvae())
    with pytest.raises(CheckpointError, match="on the MNIST test set the model gives a non-finite"):
        load_checkpoint(data)


# --- messages ------------------------------------------------------------------------------


def _with_raw_metadata(data: bytes, **changes) -> bytes:
    """A format-2 file whose header metadata is edited as raw JSON (so a value may be a
    number, which safetensors' own writer refuses), padded to keep the tensor offsets."""
    import json
    import struct

    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    header["__metadata__"].update(changes)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + size:]


def test_refusals_shorten_numbers_and_never_contradict_themselves(honest):
    """The issue's two messages: a latent size of 4,000 digits (5,496 characters before) and
    a format version stored as the number 2 ("version 2 is not supported (expected 2)")."""
    import re

    _, _, data = honest
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(_edited(data, lambda c: c["model_config"].update(latent_dim=10**4000), rehash=True))
    message = str(caught.value)
    assert len(message) < MAX_MESSAGE_CHARS and not re.search(r"\d{13}", message), message
    assert "parameters, more than the 50,000,000 this app loads" in message and "smaller hidden or latent" in message

    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(_with_raw_metadata(data, format_version=2))
    message = str(caught.value)
    assert "stored as an integer (2)" in message and "stores version 2 as text" in message, message
    assert "not supported" not in message and "expected" not in message
    with pytest.raises(CheckpointError, match=r"format version '3' is not one this app reads \(in a .safetensors "
                                              r"file it reads 2\)"):
        load_checkpoint(_with_raw_metadata(data, format_version="3"))
