"""What the Semi-supervised page measures on an M2 or M1+M2 model (Kingma, Rezende, Mohamed
& Welling 2014, "Semi-Supervised Learning with Deep Generative Models"): the classifier
q(y|x)'s predictions on the test digits (error, confusion matrix, accuracy per digit), and
the paper's "style against class" picture (their Figure 1 and Sec. 5.2 analogies): the
style z of a test digit, inferred by q(z|x, y), decoded with every label y.

An M1+M2 model's decoder p(x|y, z) gives M1 codes, not pixels; :func:`pixel_means` sends
them through the M1 VAE's decoder, so both kinds give images.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from explorer.core.models import Autoencoder

#: Images per forward pass.
BATCH = 1000


def _require_m2(model: Autoencoder) -> None:
    if not model.is_semi_supervised:
        raise ValueError(f"this needs a semi-supervised M2 or M1+M2 model (with a classifier q(y|x)), "
                         f"not a {model.title}")


def is_semi_supervised_file(path: str | Path) -> bool:
    """Whether the checkpoint file ``path`` holds an M2 or M1+M2 model, by its content: the
    ``model_config.kind`` in a safetensors header's contents is ``"m2"``. Reads only the
    header (at most :data:`explorer.core.checkpoint_reading.MAX_METADATA_BYTES`); an
    unreadable, legacy or foreign file is not one (loading it says what is wrong). Lets the
    model pickers of pages that cannot use such a model leave it out, whatever its name."""
    from explorer.core.checkpoint_reading import MAX_METADATA_BYTES

    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size <= MAX_METADATA_BYTES:
                return False
            header = json.loads(f.read(size))
        return json.loads(header["__metadata__"]["contents"])["model_config"]["kind"] == "m2"
    except (OSError, ValueError, KeyError, TypeError):
        return False


def is_m1_m2(model: Autoencoder) -> bool:
    """Whether ``model`` is M1+M2: an M2 that reads the codes of an M1 VAE (``config.m1`` set)."""
    return model.is_semi_supervised and model.config.m1 is not None


@torch.inference_mode()
def predictions(model: Autoencoder, images: torch.Tensor) -> torch.Tensor:
    """The classifier's label argmax_y q(y|x) of every image (Kingma et al. 2014, Sec. 3.1.2).

    Args:
        model: an M2 or M1+M2 model.
        images: (N, 1, 28, 28) pixels in [0, 1].

    Returns:
        (N,) int64 predicted labels.

    Raises:
        ValueError: the model has no classifier.
    """
    _require_m2(model)
    return torch.cat([model.predict(images[i : i + BATCH]) for i in range(0, len(images), BATCH)])


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts of (true label, predicted label) pairs.

    Args:
        predicted: (N,) int64 labels the classifier gave.
        labels: (N,) int64 true labels.
        num_classes: K.

    Returns:
        (K, K) int64: row = true label, column = predicted label; rows sum to the number
        of test digits of each label.
    """
    pairs = labels.long() * num_classes + predicted.long()
    return torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def error_percent(confusion: torch.Tensor) -> float:
    """Test classification error in percent from a confusion matrix: 100 * (1 - trace / total)."""
    total = int(confusion.sum())
    return 100.0 * (total - int(confusion.trace())) / total


def class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """(K,) float64 share of each true label's digits classified correctly (the diagonal
    over the row sums), in [0, 1]."""
    return confusion.diagonal().double() / confusion.sum(dim=1).clamp(min=1).double()


@torch.inference_mode()
def pixel_means(model: Autoencoder, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Decoder means of p(x|y, z) as images.

    For M2 the decoder's mean itself; for M1+M2 the decoder's mean is an M1 code, decoded
    to pixels by the M1 VAE's decoder (its mean E[x|code]).

    Args:
        model: an M2 or M1+M2 model (an M1+M2 model loaded with its M1).
        z: (B, latent_dim) style codes.
        y: (B,) int64 labels.

    Returns:
        (B, 1, 28, 28) pixels in [0, 1].

    Raises:
        ValueError: no M2 model, or z / y of the wrong shape.
    """
    _require_m2(model)
    means = model.decode_mean(z, y)
    if not is_m1_m2(model):
        return means.clamp(0.0, 1.0)
    m1 = model.m1
    if m1 is None:
        raise ValueError(f"this M1+M2 model has no M1 VAE: load it with load_checkpoint, which finds {model.config.m1}")
    return m1.decode_mean(means.reshape(len(z), -1)).clamp(0.0, 1.0)


@torch.inference_mode()
def class_swap(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each image's style decoded with every label: Kingma et al. 2014, Figure 1 (right)
    and Sec. 5.2 ("analogies"). The style z of image i is the mean of q(z|x_i, y_i), with
    its own label y_i; row i decodes that z with y = 0, 1, ..., K - 1 (:func:`pixel_means`).

    Args:
        model: an M2 or M1+M2 model.
        images: (k, 1, 28, 28) pixels in [0, 1].
        labels: (k,) int64 their labels (the true ones, or the classifier's).

    Returns:
        (k * K, 1, 28, 28) pixels in [0, 1], row-major: image i's row is rows i*K .. i*K+K-1,
        column j decoded with y = j (``explorer.core.images.tile(..., nrow=K)`` lays it out).

    Raises:
        ValueError: no M2 model, or images and labels of different lengths.
    """
    _require_m2(model)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    k, classes = len(images), model.config.num_classes
    mu, _ = model.encode(images, labels.long())
    z = mu.repeat_interleave(classes, dim=0)
    y = torch.arange(classes).repeat(k)
    return pixel_means(model, z, y)


def swap_columns(k: int, num_classes: int) -> torch.Tensor:
    """(k * num_classes,) int64: the label each image of :func:`class_swap` was decoded with."""
    return torch.arange(num_classes).repeat(k)


@torch.inference_mode()
def style_codes(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Each image's style code: the mean of q(z|x, y) (Kingma et al. 2014, Eq. 4 of M2's
    inference model), with y the given label or, where none is given, the classifier's
    argmax_y q(y|x) (what the model itself believes the digit is).

    Args:
        model: an M2 or M1+M2 model.
        images: (N, 1, 28, 28) pixels in [0, 1].
        labels: (N,) int64 labels to condition on, or None for the predicted ones.

    Returns:
        (N, latent_dim) float32 style codes mu.

    Raises:
        ValueError: no M2 model, or images and labels of different lengths.
    """
    _require_m2(model)
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    return torch.cat([model.encode(images[i : i + BATCH], None if labels is None else labels[i : i + BATCH].long())[0]
                      for i in range(0, len(images), BATCH)])


def labelled_rows(train_labels: torch.Tensor, count: int | None, seed: int, num_classes: int) -> torch.Tensor:
    """Indices of the training images whose labels a run with ``--labels count --seed seed``
    read (the same seeded, class-balanced draw as training,
    :func:`explorer.core.labels.select_labels`), for a run on the whole training split.

    Args:
        train_labels: (60000,) int64 MNIST training labels.
        count: the run's number of known labels (None: all).
        seed: the run's seed.
        num_classes: K.

    Returns:
        (count,) int64 row indices, ascending.

    Raises:
        ValueError: as :func:`explorer.core.labels.select_labels`.
    """
    from explorer.core.labels import select_labels

    return select_labels(train_labels, count, seed, num_classes).nonzero().squeeze(1)


def neighbour_agreement(codes: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """How much a map's neighbourhoods say about the labels: the share of points whose
    nearest other point (Euclidean distance in ``codes``) has the same label, and the
    share expected by chance (the labels shuffled over the points: sum_c n_c (n_c - 1) /
    (N (N - 1))). Near chance: the codes hold little of the label.

    Args:
        codes: (N, D) points, N >= 2.
        labels: (N,) int64 labels.

    Returns:
        (agreement, chance), both in [0, 1].

    Raises:
        ValueError: fewer than 2 points, or codes and labels of different lengths.
    """
    n = len(codes)
    if n < 2 or len(labels) != n:
        raise ValueError(f"need at least 2 codes with one label each, got {n} codes and {len(labels)} labels")
    codes, labels = codes.double(), labels.long()
    nearest = torch.empty(n, dtype=torch.long)
    for i in range(0, n, BATCH):
        distances = torch.cdist(codes[i : i + BATCH], codes)
        distances[torch.arange(len(distances)), torch.arange(i, i + len(distances))] = float("inf")
        nearest[i : i + BATCH] = distances.argmin(dim=1)
    counts = torch.bincount(labels).double()
    return float((labels[nearest] == labels).double().mean()), float((counts * (counts - 1)).sum() / (n * (n - 1)))
