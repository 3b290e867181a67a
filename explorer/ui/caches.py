"""Streamlit caches with explicit keys: MNIST splits and checkpoint files
(``st.cache_resource``, shared by every session), encodings, grid images and CSV
exports (``st.cache_data``, keyed by :attr:`explorer.ui.registry.ModelEntry.key`, which
changes whenever a model's weights can have changed)."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer.core.checkpoints import Checkpoint, load_checkpoint
from explorer.core.classifier import DEFAULT_PATH as CLASSIFIER_PATH
from explorer.core.classifier import TrainedClassifier, load_classifier
from explorer.core import encoding_cache
from explorer.core.data import DATASET_NAME, load_split, prepare_mnist
from explorer.core.images import png_bytes
from explorer.core.latent import Encodings, decode_manifold, encodings_table

#: Pixels between the manifold grid's cells.
GRID_PADDING = 2


@st.cache_resource(show_spinner="Loading the MNIST test split...")
def test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test images (10000, 1, 28, 28) in [0, 1] and labels (10000,), shared by all sessions."""
    return load_split(train=False)


@st.cache_resource(show_spinner="Loading the MNIST training split...")
def train_split() -> tuple[torch.Tensor, torch.Tensor, dict]:
    """MNIST training images (60000, 1, 28, 28) in [0, 1], labels (60000,) and the
    dataset's ``{"name", "sha256"}`` for checkpoints; one read-only copy for all sessions."""
    checksums = prepare_mnist()
    images, labels = load_split(train=True, verify=False)
    return images, labels, {"name": DATASET_NAME, "sha256": checksums}


@st.cache_resource(show_spinner="Loading and checking the checkpoint...", max_entries=16)
def checkpoint_file(path: str, mtime_ns: int) -> Checkpoint:
    """A checkpoint file, loaded once per (path, modification time); a file not shipped
    with the app has its metrics recomputed on the test split (seconds).

    Raises:
        CheckpointError: not a usable checkpoint.
    """
    return load_checkpoint(path, test_split=test_split)


@st.cache_data(show_spinner="Encoding the 10,000 test digits...", max_entries=32)
def test_encodings(key: str, _model: torch.nn.Module) -> Encodings:
    """Encodings of the MNIST test split under the model identified by ``key``
    (``_model`` is not hashed: ``key`` must identify its weights). Read from the disk
    cache (``encoding_cache``, keyed by the weights' and the test files' SHA-256) when an
    earlier server computed them: a fresh server then draws its map without loading the
    test images. The data files are verified either way (``prepare_mnist``).

    Raises:
        DataError: an MNIST file is missing or corrupt.
    """
    return encoding_cache.cached_encodings(_model, prepare_mnist(), test_split)


@st.cache_data(show_spinner=False, max_entries=64)
def manifold_png(key: str, _model: torch.nn.Module, z: np.ndarray, y: int | None = None) -> bytes:
    """The decoded manifold grid of codes ``z`` (``latent.decode_manifold``) as PNG bytes.

    ``key`` identifies the model's weights (``_model`` is not hashed); ``z`` is hashed.
    """
    return png_bytes(decode_manifold(_model, z, padding=GRID_PADDING, y=y))


@st.cache_data(show_spinner=False, max_entries=8)
def encodings_csv(key: str, _encodings: Encodings) -> bytes:
    """The test-set mu, sigma and labels as CSV bytes (``latent.encodings_table``)."""
    return encodings_table(_encodings).to_csv(index=False).encode()


@st.cache_resource(show_spinner="Loading the digit classifier...")
def digit_classifier(path: str = str(CLASSIFIER_PATH)) -> TrainedClassifier:
    """The shipped MNIST classifier that scores digit-likeness, loaded once for all sessions.

    Raises:
        ClassifierFileError: the file is missing or invalid.
    """
    return load_classifier(path)


@st.cache_resource(show_spinner="Building the real-digit judge (once per server)...")
def realism_judge():
    """The validated "looks like a real digit" judge (:func:`explorer.core.realism.build_judge`),
    built once for all sessions from the shipped classifier and the training split.

    Raises:
        ClassifierFileError: the classifier file is missing or invalid.
    """
    from explorer.core.realism import build_judge

    return build_judge(digit_classifier().model, train_split()[0])


@st.cache_data(show_spinner="Measuring the lesson's numbers on this model...", max_entries=32)
def lesson_facts(key: str, _model: torch.nn.Module, name: str):
    """:func:`explorer.core.lesson_claims.model_facts` of the model identified by ``key``
    (its test codes, samples, paths and cloud judged by :func:`realism_judge`)."""
    from explorer.core.lesson_claims import model_facts

    encodings = test_encodings(key, _model)
    return model_facts(_model, name, encodings.mu, encodings.logvar, realism_judge(), encodings.labels)


#: Grid points per axis of the holes heatmap: 16 x 16 = 256 decodings judged, smoothed
#: between them by the chart (24 x 24 took about 1 s on the 2-core server, 16 x 16 about a
#: third of that with the classifier's inference copy: ``python -m bench.realism``).
HOLES_GRID_N = 16


@st.cache_data(show_spinner="Judging the decoder's images over the map...", max_entries=32)
def hole_scores(key: str, _model: torch.nn.Module, ranges: tuple[tuple[float, float], tuple[float, float]],
                n: int = HOLES_GRID_N, y: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``holes.score_grid`` of the model identified by ``key`` over ``ranges`` ((low, high) per axis),
    judged by :func:`realism_judge`: (z1 (n,), z2 (n,), S (n, n)), S >= 0 (real from
    :data:`explorer.core.realism.THRESHOLD` up)."""
    from explorer.core.holes import score_grid

    return score_grid(_model, realism_judge(), ranges, n, y=y)


@st.cache_data(show_spinner="Sampling the prior...", max_entries=32)
def prior_share(key: str, _model: torch.nn.Module, k: int = 2000, threshold: float | None = None,
                y: int | None = None) -> float:
    """``holes.prior_share`` of the model identified by ``key``: the share in [0, 1] of
    ``k`` prior samples (seed 0) judged real by :func:`realism_judge` (S >= ``threshold``,
    by default :data:`explorer.core.realism.THRESHOLD`)."""
    from explorer.core.holes import prior_share as share
    from explorer.core.realism import THRESHOLD

    return share(_model, realism_judge(), k=k, threshold=THRESHOLD if threshold is None else threshold, seed=0, y=y)
