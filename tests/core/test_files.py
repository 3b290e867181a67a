"""One atomic write for every file the app keeps (explorer.core.files.atomic_write): whole
or nothing, no temporary left behind, never over an existing file when exclusive, and its
temporaries named so the stale-file reaper finds them, the classifier's included."""

import os
import stat

import pytest
import torch

from explorer.core.classifier import (ClassifierConfig, DigitClassifier, TrainedClassifier, load_classifier,
                                      save_classifier)
from explorer.core.files import atomic_write, reap_stale_temporaries


def test_a_write_that_fails_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    atomic_write(target, b"old")

    def half_then_fail(f):
        f.write(b"new but unfin")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["record.json"]
    with pytest.raises(FileExistsError):
        atomic_write(target, b"other", exclusive=True)
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["record.json"]
    atomic_write(target, lambda f: f.write(b"new"), durable=True, mode=0o644)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_the_classifier_is_saved_through_the_reaped_atomic_write(tmp_path, monkeypatch):
    dead = tmp_path / ".mnist_classifier.safetensors.999999999.abcd1234.tmp"  # pid beyond any pid_max
    dead.write_bytes(b"\0" * 100)
    written = []
    real = atomic_write

    def recording(target, content, **kwargs):
        written.append(target)
        return real(target, content, **kwargs)

    monkeypatch.setattr("explorer.core.classifier.atomic_write", recording)
    model = DigitClassifier(ClassifierConfig(architecture="mlp", hidden_sizes=(16,))).eval()
    path = tmp_path / "mnist_classifier.safetensors"
    save_classifier(path, TrainedClassifier(model, test_accuracy=0.5, train_seconds=1.0, extra={"seed": 0}))
    assert written == [path] and not dead.exists(), "the dead writer's temporary was not reaped"
    assert sorted(os.listdir(tmp_path)) == ["mnist_classifier.safetensors"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    loaded = load_classifier(path)
    assert loaded.test_accuracy == 0.5
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], value)
    assert reap_stale_temporaries(tmp_path) == []
