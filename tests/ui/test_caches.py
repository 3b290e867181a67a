"""A model's caches (explorer/ui/state/caches.py) take its ModelEntry and know it by its key
alone: two keys are two cache entries even for one model object, one key is one entry
whatever else the entry holds, and a checkpoint file written again gets a new key."""

import dataclasses
import io
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from explorer.core.latent import Encodings
from explorer.ui.state import caches, registry
from explorer.ui.state.model_entry import ModelEntry

Z = np.zeros((4, 2), dtype=np.float32)


@pytest.fixture
def decodings(monkeypatch):
    """The models manifold_png decoded with, one per computation (the cache's misses); each
    computation gives another image, so a hit shows as the earlier image."""
    models = []

    def decode(model, z, padding, y=None):
        models.append(model)
        return torch.full((1, 3, 3), len(models) / 10)

    monkeypatch.setattr(caches, "decode_manifold", decode)
    caches.manifold_png.clear()
    yield models
    caches.manifold_png.clear()


def test_two_keys_are_two_cache_entries_even_for_one_model(vae_checkpoint, decodings):
    a = ModelEntry("file:a.safetensors@1", "a.safetensors", vae_checkpoint)
    b = ModelEntry("file:b.safetensors@1", "b.safetensors", vae_checkpoint)  # the same model object
    png_a = caches.manifold_png(a, Z)
    png_b = caches.manifold_png(b, Z)
    assert decodings == [vae_checkpoint.model, vae_checkpoint.model]
    assert png_a != png_b
    # each key hits its own entry from then on
    assert caches.manifold_png(a, Z) == png_a and caches.manifold_png(b, Z) == png_b
    assert len(decodings) == 2
    # the other arguments are still part of the cache's key
    caches.manifold_png(a, Z + 1)
    assert len(decodings) == 3


def test_one_key_is_one_cache_entry_and_the_model_is_never_hashed(vae_checkpoint, ae_checkpoint, decodings):
    a = ModelEntry("file:a.safetensors@1", "a.safetensors", vae_checkpoint, "VAE · z = 2")
    png = caches.manifold_png(a, Z)
    # a page's other title for the entry, a new entry object, even another model under the same
    # key: the key alone is hashed (it identifies the weights), so all hit the first computation
    for same_key in (dataclasses.replace(a, title="VAE · z = 2 #2"), ModelEntry(a.key, a.label, vae_checkpoint),
                     ModelEntry(a.key, a.label, ae_checkpoint)):
        assert caches.manifold_png(same_key, Z) == png
    assert decodings == [vae_checkpoint.model]


def test_a_cached_resource_is_keyed_by_the_entry_too(vae_checkpoint, monkeypatch):
    exported = []
    monkeypatch.setattr(caches, "export_decoder", lambda model: exported.append(model))  # None: no browser decoder
    a = ModelEntry("session:mine@1", "mine", vae_checkpoint)
    b = ModelEntry("session:mine@2", "mine", vae_checkpoint)  # a second model of the same name
    caches.decoder_payload.clear()
    try:
        assert [caches.decoder_payload(e) for e in (a, b, a, b)] == [None] * 4
    finally:
        caches.decoder_payload.clear()
    assert exported == [vae_checkpoint.model, vae_checkpoint.model]


def test_the_csv_export_holds_the_entrys_own_encodings(vae_checkpoint, ae_checkpoint, monkeypatch):
    encoded = []

    def encodings(entry):
        encoded.append(entry.key)
        mu = np.full((3, 2), 1.0 if entry.model is vae_checkpoint.model else 2.0, dtype=np.float32)
        return Encodings(mu, None, np.arange(3))

    monkeypatch.setattr(caches, "mnist_test_encodings", encodings)
    vae = ModelEntry("file:vae@1", "vae", vae_checkpoint)
    ae = ModelEntry("file:ae@1", "ae", ae_checkpoint)
    caches.encodings_csv.clear()
    try:
        tables = [pd.read_csv(io.BytesIO(caches.encodings_csv(e))) for e in (vae, ae, vae)]
    finally:
        caches.encodings_csv.clear()
    assert [t["mu_1"].tolist() for t in tables] == [[1.0] * 3, [2.0] * 3, [1.0] * 3]
    assert encoded == ["file:vae@1", "file:ae@1"]  # the third call hit the cache


def test_a_checkpoint_file_written_again_is_a_new_key(tmp_path, decodings):
    path = tmp_path / "copy.safetensors"
    shutil.copyfile(registry.CHECKPOINT_DIR / registry.DEFAULT_CHECKPOINT, path)
    choice = f"{registry.FILE_PREFIX}{path}"
    first = registry.resolve_model(choice)
    assert registry.resolve_model(choice).key == first.key
    stamp = path.stat().st_mtime_ns
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))  # what writing the file again does to it
    second = registry.resolve_model(choice)
    assert second.key != first.key and second.model is not first.model
    caches.manifold_png(first, Z)
    caches.manifold_png(second, Z)
    assert decodings == [first.model, second.model]
