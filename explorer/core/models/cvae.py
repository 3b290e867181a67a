"""Conditional VAE: Kingma et al. (2014), "Semi-Supervised Learning with Deep Generative
Models", model M2 with every label known. The one-hot label y enters encoder and decoder,
q(z|x, y) = N(mu, diag sigma^2), p(x|z, y); z is left to hold the style."""

from __future__ import annotations

from explorer.core.models.vae import VAE


class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder also take the label y (B,) int64 (required)."""

    is_conditional = True
    title = "Conditional VAE (label-conditioned)"
