"""Checkpoint round trip, each bad-file case, atomic saving, and the evaluate CLI."""

import shutil
import json
import os
import subprocess
import sys

import pytest
import torch

from explorer.core import checkpoint_format
from explorer.core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from explorer.core.models import ModelConfig, build_model
from explorer.core.train import TrainConfig

from tests.helpers.paths import REPO, VAE_CHECKPOINT
from tests.helpers.checkpoint_files import legacy_bytes, legacy_payload, safetensors_bytes, safetensors_parts


def _contents(**overrides):
    contents = dict(train_config=TrainConfig(epochs=2, seed=3), history=[{"epoch": 1, "train_loss": 200.0}],
                    metrics={"test_neg_elbo": 150.0, "test_reconstruction": 145.0, "test_kl": 5.0},
                    dataset={"name": "MNIST", "sha256": {"a.gz": "00"}})
    contents.update(overrides)
    return contents


def _save(path, model, **overrides):
    return save_checkpoint(path, model, **_contents(**overrides))




@pytest.mark.parametrize("config", [ModelConfig(), ModelConfig(kind="ae", latent_dim=3, hidden_sizes=(64,))])
def test_round_trip(tmp_path, config):
    model = build_model(config, seed=1)
    path = _save(tmp_path / "m.safetensors", model)
    loaded = load_checkpoint(path)
    assert loaded.verified
    assert loaded.model_config == config
    assert loaded.train_config == TrainConfig(epochs=2, seed=3)
    assert not loaded.model.training
    original, restored = model.state_dict(), loaded.model.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)
    assert loaded.history == [{"epoch": 1, "train_loss": 200.0}]
    assert loaded.stored_metrics["test_neg_elbo"] == 150.0  # an untrained model: not what it measures
    assert loaded.origin == "file" and loaded.metrics_source == "recomputed"
    assert "test_reconstruction" in loaded.disagreeing and loaded.metrics["test_reconstruction"] > 300
    assert load_checkpoint(path, recompute=False).metrics == loaded.stored_metrics
    assert loaded.versions["torch"] == str(torch.__version__)
    # also from bytes, as an upload arrives
    assert load_checkpoint(path.read_bytes()).model_config == config


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file(tmp_path):
    path = _save(tmp_path / "m.safetensors", build_model(ModelConfig()))
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_not_a_torch_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_foreign_bare_state_dict(tmp_path):
    path = tmp_path / "foreign.pt"
    torch.save(build_model(ModelConfig()).state_dict(), path)
    with pytest.raises(CheckpointError, match="not a latent-space-explorer checkpoint"):
        load_checkpoint(path)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_code_is_never_executed(tmp_path, capfd):
    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoint_format.FORMAT, "x": _Payload()}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    assert "pwned" not in capfd.readouterr().out


def _drop_state_dict(payload):
    del payload["state_dict"]


def _shrink_hidden_sizes(payload):
    payload["model_config"]["hidden_sizes"] = [128, 64]


def _unknown_kind(payload):
    payload["model_config"]["kind"] = "diffusion"


def _future_version(payload):
    payload["format_version"] = 99


@pytest.mark.parametrize(
    "edit, message",
    [
        (_drop_state_dict, r"missing key\(s\) \['state_dict'\]"),
        (_shrink_hidden_sizes, "tensor .* must be float32 of shape"),
        (_unknown_kind, "invalid config.*kind"),
        (_future_version, "version 99"),
    ],
)
def test_edited_legacy_checkpoint_is_refused_with_its_problem_named(tmp_path, edit, message):
    payload = legacy_payload(build_model(ModelConfig()))
    edit(payload)
    path = tmp_path / "m.pt"
    path.write_bytes(legacy_bytes(payload))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_legacy_checkpoint_loads_unverified(tmp_path):
    model = build_model(ModelConfig(kind="ae", hidden_sizes=(32,)), seed=0)
    loaded = load_checkpoint(legacy_bytes(legacy_payload(model)))
    assert not loaded.verified
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values()))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["model_config"].update(hidden_sizes=[128, 64]), "tensor .* has shape"),
        (lambda c: c["model_config"].update(kind="diffusion"), "invalid config.*kind"),
        (lambda c: c["model_config"].update(latent_dim=2.0), "latent_dim.*must be an integer"),
        (lambda c: c["model_config"].update(latent_dim=10**6), "parameters, more than"),
        (lambda c: c["model_config"].update(architecture="conv", hidden_sizes=[10**6]), "parameters, more than"),
        (lambda c: c["model_config"].update(architecture="conv"), "tensor"),
        (lambda c: c["model_config"].update(image_shape=[784]), "image_shape"),
        (lambda c: c.pop("metrics"), r"missing key\(s\) \['metrics'\]"),
    ],
)
def test_edited_checkpoint_is_refused_with_its_problem_named(tmp_path, edit, message):
    tensors, metadata, contents = safetensors_parts(
        checkpoint_format.checkpoint_bytes(build_model(ModelConfig()), **_contents()))
    edit(contents)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(safetensors_bytes(tensors, metadata, contents))


def test_a_flipped_bit_in_the_weights_is_detected(tmp_path):
    data = bytearray(checkpoint_format.checkpoint_bytes(build_model(ModelConfig(), seed=0), **_contents()))
    data[-1001] ^= 0x40  # an exponent bit of one weight: still a finite float
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(bytes(data))


def test_interrupted_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = _save(tmp_path / "m.safetensors", build_model(ModelConfig(), seed=1))
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        _save(path, build_model(ModelConfig(), seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary left behind


def test_shipped_vae_meets_the_quality_bar_through_the_cli():
    out = subprocess.run([sys.executable, "-m", "explorer.cli.evaluate", str(VAE_CHECKPOINT), "--iw-samples", "5"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    metrics = json.loads(out.stdout)
    assert {"test_neg_elbo", "test_reconstruction", "test_kl", "test_iw_nll", "iw_samples"} <= set(metrics)
    assert metrics["test_neg_elbo"] <= 140
    assert metrics["iw_samples"] == 5 and metrics["test_iw_nll"] < metrics["test_neg_elbo"]
    assert metrics["test_neg_elbo"] == pytest.approx(metrics["test_reconstruction"] + metrics["test_kl"])


def test_evaluate_cli_reports_null_elbo_for_the_ae_and_errors_for_bad_files(tmp_path):
    out = subprocess.run([sys.executable, "-m", "explorer.cli.evaluate", "checkpoints/mnist_ae_z2.safetensors"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    metrics = json.loads(out.stdout)
    assert metrics["test_neg_elbo"] is None and metrics["test_kl"] == 0.0
    assert "test_iw_nll" not in metrics  # no posterior, no importance sampling
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    out = subprocess.run([sys.executable, "-m", "explorer.cli.evaluate", str(bad)],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and "not a readable checkpoint" in out.stderr


def test_train_cli_writes_safetensors_only(capsys):
    from explorer.cli import train as cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--model", "vae", "--epochs", "1", "--out", "checkpoints/x.pt"])
    assert exit_info.value.code == 2 and "must end in .safetensors" in capsys.readouterr().err


def test_shipped_z2_checkpoints_load_verified_with_their_recorded_metrics(vae_checkpoint, ae_checkpoint):
    # converted from the format-1 .pt files they were trained into: same weights, same metrics
    assert vae_checkpoint.verified and ae_checkpoint.verified
    assert vae_checkpoint.metrics["test_neg_elbo"] == pytest.approx(138.42, abs=0.005)
    assert ae_checkpoint.metrics["test_reconstruction"] == pytest.approx(130.40, abs=0.005)


def test_the_model_list_leaves_out_the_classifier_by_its_content_not_its_name(tmp_path):
    from explorer.core.classifier import DEFAULT_PATH, is_classifier_file
    from explorer.ui.state.registry import checkpoint_files

    assert is_classifier_file(DEFAULT_PATH)
    assert not is_classifier_file(VAE_CHECKPOINT)
    shutil.copy(DEFAULT_PATH, tmp_path / "mnist_vae_z7.safetensors")  # a classifier under a model's name
    shutil.copy(REPO / "checkpoints" / "mnist_vae_z5.safetensors", tmp_path / "classifier_like_name.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(b"\xff" * 16)  # unreadable: listed, its error shown on choice
    assert [p.name for p in checkpoint_files(tmp_path)] == ["classifier_like_name.safetensors", "garbage.safetensors"]
    assert "mnist_classifier.safetensors" not in [p.name for p in checkpoint_files()]
