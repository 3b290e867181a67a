"""The training objective: negative ELBO = reconstruction + KL, in nats per image.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes", Eq. 10 with the
closed-form KL of Appendix B; beta weights the KL in the training loss only
(Higgins et al. 2017). A deterministic model (``is_variational`` False) has no KL and no
ELBO: its loss is the reconstruction term. A conditional model's terms are conditional
on the label y. The reconstruction is scored by the model's likelihood object against a
``target`` that may differ from the input (a denoising AE passes the clean image).

:func:`iw_loss_terms` is the other objective: the k-sample importance-weighted bound of
Burda, Grosse & Salakhutdinov (2015), Eq. 8, whose k = 1 case is the ELBO; its
log-weights (:func:`log_importance_weights`) are also what the evaluation's
importance-sampled -log p(x) (:mod:`explorer.core.iwae`) sums.
"""

from __future__ import annotations

import math
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


def log_importance_weights(
    model: Autoencoder,
    target: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    eps: torch.Tensor,
    y: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x) for z_s = mu + sigma * eps_s.

    With p(z) = N(0, I) and q(z|x) = N(mu, diag sigma^2), log p(z) - log q(z|x) =
    -1/2 sum_j (z_j^2 - eps_j^2 - logvar_j) (the 2 pi terms cancel; (z - mu) / sigma = eps).
    Differentiable in the model's weights (reparameterization, Burda et al. 2015, Eq. 13).

    Args:
        model: a variational model.
        target: the B images scored (B, C, H, W), pixels in [0, 1].
        mu, logvar: posterior parameters (B, latent_dim).
        eps: standard normal noise (S, B, latent_dim).
        y: (B,) labels for a conditional model.

    Returns:
        (log_w, reconstruction): each (S, B), nats; reconstruction = -log p(x|z_s).
    """
    s, b, latent_dim = eps.shape
    z = mu + torch.exp(0.5 * logvar) * eps  # (S, B, L)
    params = model.decode(z.reshape(s * b, latent_dim), None if y is None else y.repeat(s))
    reconstruction = model.likelihood.nll_samples(params.reshape(s, b, *params.shape[1:]), target)
    log_pz_qz = -0.5 * (z.pow(2) - eps.pow(2) - logvar).sum(dim=-1)
    return log_pz_qz - reconstruction, reconstruction


def iw_loss_terms(
    model: Autoencoder,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    k: int = 5,
    generator: torch.Generator | None = None,
) -> LossTerms:
    """Per-image terms of the importance-weighted bound (Burda et al. 2015, Eq. 8):

        L_k(x) = log (1/k) sum_{s=1..k} p(x, z_s) / q(z_s|x),  z_s ~ q(z|x).

    L_1 is the ELBO estimated with one sample (its expectation equals the ELBO of
    :func:`loss_terms`); L_k rises towards log p(x) with k. Training on -L_k is the IWAE.

    Args:
        model: a variational model (beta does not enter: the bound has no KL weight).
        x: input images (B, C, H, W), pixels in [0, 1].
        y: (B,) labels; required by a conditional model.
        target: images to score, default ``x``.
        k: samples per image, >= 1.
        generator: source of the noise.

    Returns:
        :class:`LossTerms`: ``loss`` = -L_k; ``reconstruction`` the mean over the k samples
        of -log p(x|z_s); ``kl`` the closed-form KL(q(z|x) || p(z)) (reported, not used).

    Raises:
        ValueError: a model without a posterior, or k < 1.
    """
    if not model.is_variational:
        raise ValueError(f"{type(model).__name__} has no posterior q(z|x): the importance-weighted "
                         "bound needs a variational model")
    if k < 1:
        raise ValueError(f"k must be >= 1 samples, got {k}")
    mu, logvar = model.encode(x, y)
    eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    log_w, reconstruction = log_importance_weights(model, x if target is None else target, mu, logvar, eps, y)
    bound = torch.logsumexp(log_w, dim=0) - math.log(k)
    return LossTerms(reconstruction.mean(dim=0), kl_divergence(mu, logvar), -bound)
