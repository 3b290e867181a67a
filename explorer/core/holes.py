"""Where the holes are: how digit-like the decoder's images are across the latent space.

A decoded image's *digit score* is a small MNIST classifier's top softmax probability
(:mod:`explorer.core.classifier`): near 1 when the classifier is sure which digit it
sees, near 0.1 (chance over 10 classes) for a smudge. A plain autoencoder leaves
regions of its code space that decode to no digit ("holes"); a VAE's KL term pulls the
codes towards the prior N(0, I) and fills them (Kingma & Welling 2013). The share of
prior samples z ~ N(0, I) whose image scores at least 0.9 (:func:`prior_share`) sums
this up in one number: how often sampling the prior gives a digit.

The top probability alone measures "which of ten classes", not "a real digit" (a blend
of two digits or a far-out decoding can score high): every function here also takes the
validated judge of :mod:`explorer.core.realism` as its scorer (its score S = realism x
confidence, AUC 0.96 on a labelled set), which the app uses; with the judge, thresholds
are on S (:data:`explorer.core.realism.THRESHOLD`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from explorer.core.classifier import DigitClassifier
from explorer.core.models import Autoencoder
from explorer.core.realism import RealismJudge

#: A decoded image with a score at least this counts as a digit in :func:`prior_share`.
DIGIT_THRESHOLD = 0.9


@torch.inference_mode()
def digit_score(classifier: DigitClassifier, images: torch.Tensor) -> torch.Tensor:
    """Digit-likeness of images: the classifier's top softmax probability.

    Args:
        classifier: a trained :class:`DigitClassifier`.
        images: (B, 1, 28, 28) float pixels in [0, 1]. Values outside are clipped
            first, as the app shows them: an identity-link decoder's mean (the linear
            AE) is unbounded, and the classifier only saw pixels in [0, 1].

    Returns:
        (B,) float32 scores in [0.1, 1] (a probability; 0.1 is chance over 10 classes).
    """
    return classifier.probabilities(images.clamp(0.0, 1.0)).max(-1).values


def _score(scorer: DigitClassifier | RealismJudge, images: torch.Tensor) -> torch.Tensor:
    """(B,) scores of images (B, 1, 28, 28): the judge's S, or the classifier's top probability."""
    if isinstance(scorer, RealismJudge):
        return scorer.score(images.reshape(-1, 1, 28, 28))
    return digit_score(scorer, images)


def path_scores(classifier: DigitClassifier | RealismJudge, images: torch.Tensor) -> np.ndarray:
    """Scores of the images of an interpolation strip, in strip order.

    Args:
        classifier: a trained classifier.
        images: (T, 1, 28, 28) the decoded images along the path, pixels in [0, 1].

    Returns:
        (T,) float array of :func:`digit_score` values in [0.1, 1].
    """
    return _score(classifier, images).numpy()


def _axis_bounds(ranges) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two (low, high) pairs from two ``LatentRange`` or two (low, high) tuples."""
    if len(ranges) != 2:
        raise ValueError(f"need one range per latent axis (2), got {len(ranges)}")
    out = []
    for r in ranges:
        low, high = (r.low, r.high) if hasattr(r, "low") else r
        if not float(low) < float(high):
            raise ValueError(f"a range needs low < high, got ({low}, {high})")
        out.append((float(low), float(high)))
    return out[0], out[1]


@torch.inference_mode()
def score_grid(
    model: Autoencoder, classifier: DigitClassifier | RealismJudge, ranges: Sequence, n: int = 60, y: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digit scores of the decoder means on an n x n grid over a map's area.

    Args:
        model: a model with a 2-D latent space.
        classifier: the judge (:class:`RealismJudge`, scores S >= 0) or a classifier (:func:`digit_score`).
        ranges: the map's z1 and z2 ranges: two ``LatentRange`` or two (low, high) pairs.
        n: grid points per axis (cell centres span low..high inclusive).
        y: the label of a conditional model's decoder (ignored otherwise).

    Returns:
        (z1 (n,), z2 (n,), scores (n, n)) with ``scores[i, j]`` the score of the image
        decoded at z = (z1[j], z2[i]) (rows follow z2, as ``go.Heatmap(x=z1, y=z2, z=scores)`` wants).

    Raises:
        ValueError: the model's latent space is not 2-D, n < 2, a range is empty, or a
            conditional model without y.
    """
    if model.config.latent_dim != 2:
        raise ValueError(f"the score grid needs a 2-D latent space; this model has latent_dim={model.config.latent_dim}")
    if n < 2:
        raise ValueError(f"need n >= 2 grid points per axis, got {n}")
    (l1, h1), (l2, h2) = _axis_bounds(ranges)
    z1, z2 = torch.linspace(l1, h1, n), torch.linspace(l2, h2, n)
    zz2, zz1 = torch.meshgrid(z2, z1, indexing="ij")
    z = torch.stack([zz1.reshape(-1), zz2.reshape(-1)], dim=1)
    labels = _labels(model, y, len(z), None)
    scores = _score(classifier, model.decode_mean(z, labels)).reshape(n, n)
    return z1.numpy(), z2.numpy(), scores.numpy()


def _labels(model: Autoencoder, y, count: int, generator: torch.Generator | None):
    if not model.is_conditional:
        return None
    if y is not None:
        return torch.full((count,), int(y), dtype=torch.long)
    if generator is None:
        raise ValueError("a conditional model needs a label y")
    return torch.randint(0, 10, (count,), generator=generator)


@torch.inference_mode()
def prior_share(
    model: Autoencoder, classifier: DigitClassifier | RealismJudge, k: int = 2000, threshold: float = DIGIT_THRESHOLD,
    seed: int = 0, y: int | None = None,
) -> float:
    """Share of prior samples that decode to a digit.

    Draws z_1..z_k ~ p(z) = N(0, I) (seeded), decodes each to its decoder mean and
    returns the share with :func:`digit_score` >= ``threshold``. For a plain AE there
    is no prior in training; N(0, I) is then simply the same test distribution, which
    shows where its codes do *not* lie.

    Args:
        model: any model of the family (any latent dimension).
        classifier: the judge.
        k: number of samples.
        threshold: minimum score that counts as a digit (0.9 by default).
        seed: seed of the draws (the same seed gives the same z for every model of a latent_dim).
        y: a conditional model's label; None draws labels uniformly from 0-9.

    Returns:
        The share in [0, 1].

    Raises:
        ValueError: k < 1 or threshold outside (0, 1].
    """
    if k < 1 or not 0.0 < threshold <= (float("inf") if isinstance(classifier, RealismJudge) else 1.0):
        raise ValueError(f"need k >= 1 and 0 < threshold <= 1, got k={k}, threshold={threshold}")
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(k, model.config.latent_dim, generator=generator)
    labels = _labels(model, y, k, generator)
    scores = _score(classifier, model.decode_mean(z, labels))
    return float((scores >= threshold).float().mean())
