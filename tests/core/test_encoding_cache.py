"""The disk cache of test-set encodings: a hit is bit-identical to encoding afresh, and
anything the numbers depend on (weights, model, data) misses."""

from __future__ import annotations

import copy
import os
import time

import numpy as np
import pytest
import torch

from explorer.core import encoding_cache
from explorer.core.latent import encode_dataset

DATA_SHA = {name: f"{i:064x}" for i, name in enumerate(encoding_cache.TEST_FILES)}


class Loader:
    """The test split, counting how often the cache asked for it."""

    def __init__(self, mnist):
        self.mnist, self.calls = mnist, 0

    def __call__(self):
        self.calls += 1
        return self.mnist.test_images, self.mnist.test_labels


@pytest.mark.parametrize("fixture", ["vae_checkpoint", "ae_checkpoint"])
def test_a_hit_is_identical_to_encoding_afresh_and_loads_no_images(request, mnist, tmp_path, fixture):
    model = request.getfixturevalue(fixture).model
    fresh = encode_dataset(model, mnist.test_images, mnist.test_labels)
    loader = Loader(mnist)
    first = encoding_cache.cached_encodings(model, DATA_SHA, loader, tmp_path)
    assert loader.calls == 1 and len(list(tmp_path.glob("*.npz"))) == 1
    second = encoding_cache.cached_encodings(model, DATA_SHA, loader, tmp_path)
    assert loader.calls == 1  # served from disk: the test images were not needed
    for got in (first, second):
        np.testing.assert_array_equal(got.mu, fresh.mu)
        np.testing.assert_array_equal(got.labels, fresh.labels)
        if fresh.logvar is None:
            assert got.logvar is None
        else:
            np.testing.assert_array_equal(got.logvar, fresh.logvar)
    assert second.mu.dtype == np.float32 and second.labels.dtype == np.int64


def test_changed_weights_model_kind_or_data_miss(vae_checkpoint, ae_checkpoint, mnist, tmp_path):
    model = vae_checkpoint.model
    loader = Loader(mnist)
    encoding_cache.cached_encodings(model, DATA_SHA, loader, tmp_path)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        weight = next(changed.encoder.parameters())
        weight.view(-1)[0] = torch.nextafter(weight.view(-1)[0], torch.tensor(1.0))  # one bit
    assert encoding_cache.weights_sha256(changed) != encoding_cache.weights_sha256(model)
    got = encoding_cache.cached_encodings(changed, DATA_SHA, loader, tmp_path)
    assert loader.calls == 2
    np.testing.assert_array_equal(got.mu, encode_dataset(changed, mnist.test_images, mnist.test_labels).mu)
    other_data = {**DATA_SHA, encoding_cache.TEST_FILES[0]: "f" * 64}
    encoding_cache.cached_encodings(model, other_data, loader, tmp_path)
    assert loader.calls == 3
    encoding_cache.cached_encodings(ae_checkpoint.model, DATA_SHA, loader, tmp_path)
    assert loader.calls == 4
    assert len(list(tmp_path.glob("*.npz"))) == 4


def test_a_damaged_file_is_a_miss_and_is_rewritten(vae_checkpoint, mnist, tmp_path):
    model = vae_checkpoint.model
    loader = Loader(mnist)
    encoding_cache.cached_encodings(model, DATA_SHA, loader, tmp_path)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    got = encoding_cache.cached_encodings(model, DATA_SHA, loader, tmp_path)
    assert loader.calls == 2
    np.testing.assert_array_equal(got.mu, encode_dataset(model, mnist.test_images, mnist.test_labels).mu)
    assert encoding_cache.load(path.stem, tmp_path) is not None  # rewritten whole


def test_an_unwritable_folder_still_encodes(vae_checkpoint, mnist, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    loader = Loader(mnist)
    got = encoding_cache.cached_encodings(vae_checkpoint.model, DATA_SHA, loader, blocked / "cache")
    assert loader.calls == 1 and got.mu.shape == (10000, 2)


def test_only_the_newest_files_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding_cache, "MAX_FILES", 2)
    enc = encoding_cache.Encodings(mu=np.zeros((3, 2), np.float32), logvar=None, labels=np.arange(3))
    for age, key in ((200, "a" * 64), (100, "b" * 64)):
        os.utime(encoding_cache.save(key, enc, tmp_path), ns=(0, time.time_ns() - age * 10**9))
    encoding_cache.save("c" * 64, enc, tmp_path)
    assert sorted(p.stem[0] for p in tmp_path.glob("*.npz")) == ["b", "c"]
