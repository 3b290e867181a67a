"""The background training job on real MNIST: progress, snapshots, Stop, divergence, saving."""

import time
from datetime import datetime, timezone

import numpy as np
import pytest
import torch

from explorer.ui.jobs import training_job as tj
from explorer.core.checkpoints import load_checkpoint, save_new_checkpoint
from explorer.core.models import ModelConfig
from explorer.core.metrics import evaluate
from explorer.ui.jobs import train_form
from explorer.core.train import TrainConfig

SMALL = {"kind": "vae", "latent_dim": 2, "hidden_sizes": "128", "beta": 1.0, "batch_size": 100,
         "lr": 2e-3, "lr_schedule": "cosine", "seed": 0, "subset": 2000}


def _job(mnist, test_size=1000, **settings):
    model_config, train_config = train_form.make_configs(**{**SMALL, "epochs": 2, **settings})
    return tj.TrainingJob(model_config, train_config, mnist.train_images,
                          mnist.test_images[:test_size], mnist.test_labels[:test_size],
                          mnist.dataset_info(), sample_size=500)


def test_finished_job_reports_progress_snapshots_and_a_valid_checkpoint(mnist):
    job = _job(mnist).start()
    seen = []
    deadline = time.monotonic() + 120
    while not job.done:
        assert time.monotonic() < deadline, "training did not end in time"
        seen.append(job.snapshot())
        time.sleep(0.02)
    assert job.join(1)
    snap = job.snapshot()
    assert snap.state == "finished" and snap.message == "" and snap.fraction == 1.0 and snap.eta == 0
    assert any(s.state == "running" and 0 < s.fraction < 1 for s in seen)
    assert [s.epoch for s in snap.snapshots] == [0, 1, 2]
    assert all(s.xy.shape == (500, 2) and s.axis_names == ("z1", "z2") for s in snap.snapshots)
    assert not np.allclose(snap.snapshots[0].xy, snap.snapshots[-1].xy)  # the map moved
    assert snap.sample_labels.shape == (500,) and set(snap.sample_labels) == set(range(10))
    assert [r.epoch for r in snap.history] == [1, 2]
    assert snap.history[-1].metrics["test_neg_elbo"] < snap.history[0].metrics["test_neg_elbo"] < 400
    # the checkpoint round-trips through bytes and holds the trained weights
    ckpt = snap.checkpoint
    assert ckpt.train_config.subset == 2000 and len(ckpt.history) == 2
    assert ckpt.metrics["test_neg_elbo"] == pytest.approx(snap.history[-1].metrics["test_neg_elbo"])
    again = load_checkpoint(job.checkpoint_bytes())
    assert all(torch.equal(again.model.state_dict()[k], v) for k, v in job.model.state_dict().items())
    assert snap.name.startswith("vae_z2_h128_b1_e2_n2000_s0_")


def test_stop_ends_within_two_seconds_and_keeps_a_usable_model(mnist):
    job = _job(mnist, epochs=50, subset=None).start()
    deadline = time.monotonic() + 120
    while job.snapshot().batch < 20:  # bounded: a job that fails early must not hang the suite
        assert not job.done, job.snapshot().message
        assert time.monotonic() < deadline, "training did not reach batch 20 in time"
        time.sleep(0.01)
    asked = time.perf_counter()
    job.stop()
    assert job.join(10)
    assert time.perf_counter() - asked < 2.0
    snap = job.snapshot()
    assert snap.state == "stopped" and "Stopped" in snap.message and snap.checkpoint is not None
    test = mnist.test_images[:1000]
    assert evaluate(snap.checkpoint.model, test)["test_neg_elbo"] < 300  # trained, usable


def test_divergence_is_reported_and_leaves_no_untrained_model(mnist):
    job = _job(mnist, lr=10.0, lr_schedule="constant").start()
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state == "diverged" and snap.checkpoint is None
    assert "diverged" in snap.message and "smaller learning rate" in snap.message
    assert "not offered as a model" in snap.message
    assert all(torch.isfinite(p).all() for p in job.model.parameters())


def test_higher_latent_dimension_is_mapped_by_pca(mnist):
    job = _job(mnist, latent_dim=5, epochs=1, subset=500).start()
    assert job.join(60)
    assert job.snapshot().snapshots[-1].axis_names == ("PC1 of mu", "PC2 of mu")


@pytest.mark.parametrize("settings, message", [
    ({"hidden_sizes": ""}, "at least one layer"),
    ({"hidden_sizes": "512, x"}, "'x' is not a positive whole number"),
    ({"hidden_sizes": "0"}, "'0' is not a positive"),
    ({"lr": 0.0}, "lr must be finite and > 0"),
    ({"beta": -1.0}, "beta must be finite and >= 0"),
    ({"kind": "gan"}, "kind must be one of"),
])
def test_invalid_settings_are_refused_with_a_message(settings, message):
    with pytest.raises(ValueError, match=message):
        train_form.make_configs(**{**SMALL, "epochs": 1, **settings})


def test_make_configs_maps_the_form():
    model_config, train_config = train_form.make_configs(**{**SMALL, "epochs": 3, "hidden_sizes": "512 256",
                                                    "subset": 0})
    assert model_config == ModelConfig(hidden_sizes=(512, 256))
    assert train_config == TrainConfig(epochs=3, batch_size=100, lr=2e-3, lr_schedule="cosine", seed=0)


def test_run_name_is_descriptive():
    when = datetime(2026, 11, 21, 10, 24, 0, tzinfo=timezone.utc)
    name = train_form.run_name(ModelConfig(), train_form.DEFAULT_TRAIN_CONFIG, 7, when)
    assert name == "vae_z2_h512-256_b1_e7_s0_20261121T102400Z"
    assert train_form.run_name(ModelConfig(kind="ae"), TrainConfig(subset=100), 3, when) == (
        "ae_z2_h512-256_e3_n100_s0_20261121T102400Z")
    for architecture, widths in (("conv", (32,)), ("strided_conv", (256,))):  # the network is in the name
        assert train_form.run_name(ModelConfig(architecture=architecture, hidden_sizes=widths),
                                   TrainConfig(), 3, when).startswith(f"vae_{architecture}_z2_h{widths[0]}_b1_e3_")


def test_save_new_checkpoint_never_overwrites_and_refuses_bad_names(mnist, tmp_path):
    job = _job(mnist, epochs=1, subset=500).start()
    assert job.join(60)
    ckpt = job.snapshot().checkpoint
    path = save_new_checkpoint(tmp_path, "my_model", ckpt)
    assert path == tmp_path / "my_model.safetensors"
    saved = load_checkpoint(path)
    # the file stores the job's metrics (here of 1,000 test images); loaded back from a file
    # it is not known to come from this server, so the shown ones are recomputed on all 10,000
    assert saved.stored_metrics == ckpt.metrics and saved.metrics_source == "recomputed"
    assert ckpt.origin == "trained" and ckpt.metrics_source == "measured"
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        save_new_checkpoint(tmp_path, "my_model.pt", ckpt)
    assert path.read_bytes() == before
    for bad in ("../evil.pt", "a/b.pt", "", ".hidden.pt", "x y.pt"):
        with pytest.raises(ValueError, match="not a usable file name"):
            save_new_checkpoint(tmp_path, bad, ckpt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_model.safetensors"]  # no temp files left


def test_format_seconds():
    assert train_form.format_seconds(65.4) == "1:05" and train_form.format_seconds(None) == "--"


def test_training_runs_at_lowered_priority(mnist, monkeypatch):
    """The training thread steps back for page work (explorer.ui.jobs.training_queue.TRAINING_NICE)."""
    import os
    import threading

    from explorer.ui.jobs.training_queue import TRAINING_NICE

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen = []
    real_train = tj.train

    def recording_train(*args, **kwargs):
        seen.append(nice())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(tj, "train", recording_train)
    job = _job(mnist, epochs=1, subset=256)
    assert job.start().join(120) and job.snapshot().state == "finished"
    assert seen == [min(19, nice() + TRAINING_NICE)]
