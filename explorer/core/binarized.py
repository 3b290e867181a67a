"""The evaluation protocol of the published MNIST VAE tables: dynamically binarized test
images.

Papers that report nats on MNIST (Burda et al. 2015; Davidson et al. 2018, Table 1) score
binary images: each pixel is drawn x_b ~ Bernoulli(grey level), so a Bernoulli decoder's
-log p(x|z) is a true negative log-likelihood. This project's default figures score the
grey levels themselves, where the Bernoulli "likelihood" is not a normalised density
(Loaiza-Ganem & Cunningham 2019), so the two kinds of figures are not comparable. Here the
test set is binarized ``draws`` times from one seeded generator, each draw is scored, and
the mean and the spread over the draws are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from explorer.core.iwae import importance_weighted_nll
from explorer.core.metrics import evaluate
from explorer.core.models import Autoencoder


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Dynamic binarization: each pixel 1 with probability its grey level, else 0.

    Args:
        images: (N, C, H, W), pixels in [0, 1].
        generator: source of the draws (reproducible when seeded).

    Returns:
        (N, C, H, W), same dtype, values in {0, 1}.
    """
    return torch.bernoulli(images, generator=generator)


@dataclass
class BinarizedScores:
    """Per-draw scores of the binarized protocol, nats per image (mean over the test images).

    Attributes:
        neg_elbo: -ELBO of each draw (one z per image; :func:`explorer.core.metrics.evaluate`).
        iw_nll: importance-sampled -log p(x) of each draw with ``k`` samples (empty when k = 0).
        k: importance samples per image.
        seed: seed of the binarization generator.
    """

    neg_elbo: list[float]
    iw_nll: list[float] = field(default_factory=list)
    k: int = 0
    seed: int = 0

    @staticmethod
    def _spread(values: list[float]) -> float:
        """Sample standard deviation over the draws (0 for one draw)."""
        if len(values) < 2:
            return 0.0
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))

    def to_dict(self) -> dict:
        """Flat dict for JSON: means, standard deviations over draws, the draws themselves."""
        d = {"binarized_draws": len(self.neg_elbo), "binarized_seed": self.seed,
             "binarized_test_neg_elbo": sum(self.neg_elbo) / len(self.neg_elbo),
             "binarized_test_neg_elbo_std": self._spread(self.neg_elbo),
             "binarized_test_neg_elbo_per_draw": self.neg_elbo}
        if self.iw_nll:
            d.update({"binarized_test_iw_nll": sum(self.iw_nll) / len(self.iw_nll),
                      "binarized_test_iw_nll_std": self._spread(self.iw_nll),
                      "binarized_test_iw_nll_per_draw": self.iw_nll, "binarized_iw_samples": self.k})
        return d


def evaluate_binarized(
    model: Autoencoder,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    draws: int = 5,
    seed: int = 0,
    k: int = 0,
    on_draw: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BinarizedScores:
    """Score a variational model on ``draws`` dynamic binarizations of ``images``.

    Draw d (d = 0 .. draws-1) is ``binarize(images, g)``, the d-th call on one
    ``torch.Generator`` seeded with ``seed``; its -ELBO uses noise seed d and its
    importance-sampled -log p(x) (Burda et al. 2015, Eq. 8; k samples) seed d.

    Args:
        model: a variational model (``is_variational``).
        images: (N, C, H, W) grey levels in [0, 1].
        labels: (N,) int64; required by a conditional model.
        draws: binarizations to average over, >= 1.
        seed: seed of the binarization generator.
        k: importance samples per image; 0 skips the -log p(x) estimate.
        on_draw: called with d before draw d is scored (for progress bars).
        on_progress: passed to :func:`importance_weighted_nll` (pairs scored).

    Returns:
        :class:`BinarizedScores`.

    Raises:
        ValueError: a model without a posterior, draws < 1 or k < 0.
    """
    if not model.is_variational:
        raise ValueError(f"{type(model).__name__} has no ELBO: the binarized protocol scores variational models")
    if draws < 1 or k < 0:
        raise ValueError(f"need draws >= 1 and k >= 0, got draws={draws}, k={k}")
    generator = torch.Generator(device=images.device).manual_seed(seed)
    scores = BinarizedScores(neg_elbo=[], k=k, seed=seed)
    for d in range(draws):
        if on_draw is not None:
            on_draw(d)
        binary = binarize(images, generator)
        scores.neg_elbo.append(float(evaluate(model, binary, labels, seed=d)["test_neg_elbo"]))
        if k > 0:
            nll = importance_weighted_nll(model, binary, labels, k=k, seed=d, on_progress=on_progress)
            scores.iw_nll.append(float(nll.mean()))
    return scores
