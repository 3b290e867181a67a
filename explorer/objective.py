"""The training objective: negative ELBO = reconstruction + KL, in nats per image.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes", Eq. 10 with the
closed-form KL of Appendix B; beta weights the KL in the training loss only
(Higgins et al. 2017). For the plain AE the KL is 0 and there is no ELBO.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from explorer.models import ModelConfig

_LOG_2PI = math.log(2 * math.pi)


class LossTerms(NamedTuple):
    """Per-image terms, each shape (B,), in nats.

    Attributes:
        reconstruction: -log p(x|z) summed over pixels, for one z drawn from q(z|x).
        kl: KL(q(z|x) || N(0, I)); zeros for an AE.
        loss: reconstruction + beta * kl, what training minimises.
    """

    reconstruction: torch.Tensor
    kl: torch.Tensor
    loss: torch.Tensor


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) per row, in nats.

    Closed form from Kingma & Welling (2013), Appendix B:
    -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).

    Args:
        mu, logvar: (B, latent_dim); logvar = log sigma^2.

    Returns:
        (B,) nats.
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def reconstruction_nll(logits: torch.Tensor, target: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """-log p(x|z) per image, summed over pixels, in nats.

    Bernoulli: binary cross-entropy with logits against grey values in [0, 1]
    (Kingma & Welling 2013, Appendix C.1). Gaussian: N(x; sigmoid(logits),
    decoder_std^2) per pixel, i.e. squared error / (2 std^2) + log(std * sqrt(2 pi)).

    Args:
        logits: decoder output (B, C, H, W).
        target: images (B, C, H, W), pixels in [0, 1].
        config: gives the likelihood and decoder_std.

    Returns:
        (B,) nats.
    """
    if config.likelihood == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    else:
        std = config.decoder_std
        per_pixel = (torch.sigmoid(logits) - target).pow(2) / (2 * std * std) + (
            math.log(std) + 0.5 * _LOG_2PI
        )
    return per_pixel.flatten(1).sum(dim=1)


def loss_terms(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> LossTerms:
    """Per-image reconstruction, KL and loss for one forward pass.

    Args:
        model: a VAE or AE from :func:`explorer.models.build_model`.
        x: input images (B, C, H, W), pixels in [0, 1].
        target: images to reconstruct, default ``x`` (a denoising AE passes the clean ones).
        generator: source of the reparameterization noise, for reproducible draws.

    Returns:
        :class:`LossTerms`, each (B,) nats.
    """
    out = model(x, generator=generator)
    rec = reconstruction_nll(out.logits, x if target is None else target, model.config)
    if out.logvar is None:
        kl = torch.zeros_like(rec)
        return LossTerms(rec, kl, rec)
    kl = kl_divergence(out.mu, out.logvar)
    return LossTerms(rec, kl, rec + model.config.beta * kl)


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module, images: torch.Tensor, batch_size: int = 1000, seed: int = 0
) -> dict[str, float | None]:
    """Mean test metrics per image, in nats.

    The VAE's -ELBO is the single-sample Monte Carlo estimate (Kingma & Welling 2013,
    Eq. 10) with noise from a generator seeded by ``seed``, so results repeat.

    Args:
        model: a VAE or AE (switched to eval mode while evaluating, then restored).
        images: (N, C, H, W), pixels in [0, 1].
        batch_size: images per forward pass.
        seed: seed of the reparameterization noise.

    Returns:
        ``{"test_neg_elbo", "test_reconstruction", "test_kl"}``; for an AE
        ``test_kl`` is 0.0 and ``test_neg_elbo`` is None (no ELBO without a posterior).
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    rec_sum = kl_sum = 0.0
    try:
        for start in range(0, len(images), batch_size):
            terms = loss_terms(model, images[start : start + batch_size], generator=generator)
            rec_sum += terms.reconstruction.sum().item()
            kl_sum += terms.kl.sum().item()
    finally:
        model.train(was_training)
    n = len(images)
    is_vae = model.config.kind == "vae"
    return {
        "test_neg_elbo": (rec_sum + kl_sum) / n if is_vae else None,
        "test_reconstruction": rec_sum / n,
        "test_kl": kl_sum / n,
    }
