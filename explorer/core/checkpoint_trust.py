"""Where a checkpoint came from decides where its metrics come from.

A file listed in :data:`SHIPPED_MANIFEST` (the project's own checkpoints, by the SHA-256
of the whole file) shows its stored metrics; a model trained by this server shows what it
measured; any other file (an upload, a file placed by hand) has its metrics recomputed on
the MNIST test split, and a stored value is kept only where it agrees with the recomputed
one (:func:`recompute_metrics`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

import torch

from explorer.core.checkpoint_format import BROKEN, CheckpointError
from explorer.core.config import NUM_CLASSES
from explorer.core.models import Autoencoder

#: The project's own checkpoints: ``<SHA-256 of the file> <file name>`` per line (like
#: ``sha256sum``); a file whose bytes hash to a listed digest shows its stored metrics.
SHIPPED_MANIFEST = Path(__file__).resolve().parents[2] / "checkpoints" / "SHA256SUMS"
#: A stored metric agrees with its recomputation within this relative (or absolute, nats)
#: difference; the same weights and seed repeat to about 1e-8 across torch versions.
METRIC_RTOL, METRIC_ATOL = 1e-5, 1e-3


def shipped_digests(manifest: Path | str = SHIPPED_MANIFEST) -> dict[str, str]:
    """SHA-256 (hex) -> file name of the project's shipped checkpoints, from ``manifest``
    (``{}`` when it is missing or unreadable: then no file counts as shipped)."""
    try:
        text = Path(manifest).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return {}
    digests = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            digests[parts[0]] = parts[1].lstrip("*")
    return digests


def _agrees(stored, recomputed) -> bool:
    if stored is None or recomputed is None:
        return stored is None and recomputed is None
    return math.isclose(stored, recomputed, rel_tol=METRIC_RTOL, abs_tol=METRIC_ATOL)


def recompute_metrics(model: Autoencoder, stored: dict, seed: int,
                      test_split: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> tuple[dict, tuple[str, ...]]:
    """Every metric of :data:`explorer.core.metrics.METRICS` on the MNIST test split,
    keeping a stored value only where it agrees with the recomputed one.

    A conditional model of fewer labels than MNIST's 10 is evaluated on the test digits of
    its labels (0 to num_classes - 1).

    Args:
        model: the loaded model.
        stored: the metrics the file stores (name -> nats per image or None).
        seed: seed of the evaluation's noise (the checkpoint's training seed, as the trainer used).
        test_split: returns (images (10000, 1, 28, 28) in [0, 1], labels (10000,)).

    Returns:
        (metrics to show, names of stored metrics that disagreed). Agreement: within
        :data:`METRIC_RTOL` relative or :data:`METRIC_ATOL` nats.

    Raises:
        CheckpointError: a recomputed metric is not finite (the model breaks on some test digit).
    """
    from explorer.core.metrics import evaluate

    images, labels = test_split()
    if model.is_conditional and model.config.num_classes < NUM_CLASSES:  # e.g. a model of 0s and 1s
        keep = labels < model.config.num_classes
        images, labels = images[keep], labels[keep]
    fresh = evaluate(model, images, labels, seed=seed)
    bad = [name for name, value in fresh.items() if value is not None and not math.isfinite(value)]
    if bad:
        raise CheckpointError(f"on the MNIST test set the model gives a non-finite {', '.join(bad)}", BROKEN)
    shown, disagreeing = {}, []
    for name, value in fresh.items():
        if name in stored and _agrees(stored[name], value):
            shown[name] = stored[name]
        else:
            shown[name] = value
            if name in stored:
                disagreeing.append(name)
    return shown, tuple(disagreeing)


def default_test_split() -> tuple[torch.Tensor, torch.Tensor]:
    from explorer.core.data import load_split

    global _TEST_SPLIT
    if _TEST_SPLIT is None:
        _TEST_SPLIT = load_split(train=False)
    return _TEST_SPLIT


_TEST_SPLIT: tuple[torch.Tensor, torch.Tensor] | None = None

