"""The training objective: negative ELBO = reconstruction + KL, in nats per image.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes", Eq. 10 with the
closed-form KL of Appendix B; beta weights the KL in the training loss only
(Higgins et al. 2017). A deterministic model (``is_variational`` False) has no KL and no
ELBO: its loss is the reconstruction term. A conditional model's terms are conditional
on the label y. The reconstruction is scored by the model's likelihood object against a
``target`` that may differ from the input (a denoising AE passes the clean image).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from explorer.core.models import Autoencoder


class LossTerms(NamedTuple):
    """Per-image terms, each shape (B,), in nats.

    Attributes:
        reconstruction: -log p(x|z) summed over pixels, for one z drawn from q(z|x)
            (the code itself for a deterministic model).
        kl: KL(q(z|x) || N(0, I)); zeros for a deterministic model.
        loss: reconstruction + beta * kl, what training minimises (for a contractive AE
            in training mode, reconstruction + its penalty, Rifai et al. 2011).
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


def loss_terms(
    model: Autoencoder,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> LossTerms:
    """Per-image reconstruction, KL and loss for one forward pass.

    Args:
        model: any model of the family (:func:`explorer.core.models.build_model`).
        x: input images (B, C, H, W), pixels in [0, 1].
        y: (B,) int64 labels; required by a conditional model, ignored otherwise.
        target: images to reconstruct, default ``x`` (a denoising AE passes the clean ones).
        generator: source of the reparameterization noise, for reproducible draws.

    Returns:
        :class:`LossTerms`, each (B,) nats.

    Raises:
        ValueError: wrong shapes, or a conditional model without y.
    """
    out = model(x, y, generator=generator)
    rec = model.likelihood.nll(out.logits, x if target is None else target)
    if not model.is_variational:
        # A contractive AE's penalty (Rifai et al. 2011) is a training regulariser, on the
        # (possibly corrupted) input; in eval mode the loss is the reconstruction.
        penalty = model.penalty(x, y, generator) if model.training and torch.is_grad_enabled() else None
        return LossTerms(rec, torch.zeros_like(rec), rec if penalty is None else rec + penalty)
    kl = kl_divergence(out.mu, out.logvar)
    return LossTerms(rec, kl, rec + model.config.beta * kl)
