"""A disk cache of test-set encodings that survives server restarts.

Encoding the 10,000 test digits needs the MNIST test images (read through torchvision,
whose import alone takes seconds) and a forward pass; a fresh server did both before it
could draw its first map. :func:`cached_encodings` stores the result as a plain ``.npz``
file (no pickle) keyed by everything the numbers depend on:

- the SHA-256 of the model's weights as loaded (every tensor of its ``state_dict``:
  name, dtype, shape, bytes), so a changed checkpoint misses, whatever its file format;
- the model's class and :class:`~explorer.core.config.ModelConfig`;
- the SHA-256 of the shipped test files (``t10k-*.gz``, as verified by
  :func:`explorer.core.data.prepare_mnist`);
- the torch version and :data:`FORMAT_VERSION` of this module.

The folder (:data:`DEFAULT_CACHE_DIR`, git-ignored) is safe to delete at any time; an
unreadable, truncated or mismatched file counts as a miss and is rewritten. Writes are
atomic (temporary file, then rename); at most :data:`MAX_FILES` files are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from explorer.core.checkpoint_format import weights_sha256
from explorer.core.files import atomic_write, reap_stale_temporaries
from explorer.core.latent import Encodings, encode_dataset
from explorer.core.models import Autoencoder

#: Folder of the cached files (``<repo>/.cache/encodings``; ignored by git, safe to delete).
#: ``EXPLORER_CACHE_DIR`` replaces ``<repo>/.cache``.
DEFAULT_CACHE_DIR = Path(os.environ.get("EXPLORER_CACHE_DIR", Path(__file__).resolve().parents[2] / ".cache")) / "encodings"
#: Bumped whenever what is stored, or how it is computed, changes.
FORMAT_VERSION = 1
#: Files kept; the least recently written beyond this are removed.
MAX_FILES = 64
#: The MNIST files the test encodings depend on.
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def cache_key(model: Autoencoder, data_sha256: dict[str, str]) -> str:
    """The cache key (hex SHA-256) of ``model``'s encodings of the MNIST test split.

    Args:
        model: any model of the family.
        data_sha256: SHA-256 of the shipped MNIST ``.gz`` files by name (at least
            :data:`TEST_FILES`), as :func:`explorer.core.data.prepare_mnist` returns them.

    Raises:
        KeyError: a test file is missing from ``data_sha256``.
    """
    config = getattr(model, "config", None)
    parts = {
        "format": FORMAT_VERSION,
        "torch": str(torch.__version__),
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "config": asdict(config) if config is not None else None,
        "weights": weights_sha256(model),
        "data": {name: data_sha256[name] for name in TEST_FILES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def load(key: str, cache_dir: Path | str = DEFAULT_CACHE_DIR) -> Encodings | None:
    """The cached encodings under ``key``, or None (absent, unreadable or malformed)."""
    path = Path(cache_dir) / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            mu, labels = f["mu"], f["labels"]
            logvar = f["logvar"] if "logvar" in f.files else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None
    n = len(labels)
    if (mu.ndim != 2 or mu.dtype != np.float32 or len(mu) != n or labels.dtype != np.int64
            or (logvar is not None and (logvar.shape != mu.shape or logvar.dtype != np.float32))):
        return None
    return Encodings(mu=mu, logvar=logvar, labels=labels)


def save(key: str, encodings: Encodings, cache_dir: Path | str = DEFAULT_CACHE_DIR) -> Path | None:
    """Store ``encodings`` under ``key`` (atomically); the file, or None if the folder
    cannot be written (the cache is then simply not used). Prunes to :data:`MAX_FILES`."""
    folder = Path(cache_dir)
    target = folder / f"{key}.npz"
    arrays = {"key": np.array(key), "mu": encodings.mu, "labels": encodings.labels}
    if encodings.logvar is not None:
        arrays["logvar"] = encodings.logvar
    try:
        folder.mkdir(parents=True, exist_ok=True)
        reap_stale_temporaries(folder)
        atomic_write(target, lambda f: np.savez(f, **arrays))
    except OSError:
        return None
    _prune(folder)
    return target


def _prune(folder: Path) -> None:
    try:
        files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in files[MAX_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another server pruned the same file


def cached_encodings(
    model: Autoencoder,
    data_sha256: dict[str, str],
    load_test_split: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    cache_dir: Path | str = DEFAULT_CACHE_DIR,
) -> Encodings:
    """``encode_dataset(model, *load_test_split())``, read from the disk cache when an
    earlier run (of any process) stored it under the same :func:`cache_key`.

    Args:
        model: any model of the family (eval mode).
        data_sha256: SHA-256 of the verified MNIST ``.gz`` files by name.
        load_test_split: returns the test images (10000, 1, 28, 28) in [0, 1] and labels
            (10000,); called only on a miss.
        cache_dir: the cache folder.

    Returns:
        :class:`Encodings` identical (bit for bit) to a fresh ``encode_dataset``.

    Raises:
        Whatever ``load_test_split`` or ``encode_dataset`` raise on a miss.
    """
    key = cache_key(model, data_sha256)
    found = load(key, cache_dir)
    if found is not None:
        return found
    images, labels = load_test_split()
    encodings = encode_dataset(model, images, labels)
    save(key, encodings, cache_dir)
    return encodings
