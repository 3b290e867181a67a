"""Variational autoencoder (Kingma & Welling 2013, "Auto-Encoding Variational Bayes")."""

from __future__ import annotations

import torch

from explorer.core.models.base import Autoencoder, ModelOutput


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I) (Kingma & Welling 2013, Eq. 10; sigma = exp(logvar / 2)).

    Args:
        mu, logvar: (B, latent_dim).
        generator: optional source of eps, for reproducible draws.

    Returns:
        z, (B, latent_dim), differentiable in mu and logvar.
    """
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


class VAE(Autoencoder):
    """Encoder q(z|x) = N(mu, diag sigma^2), prior p(z) = N(0, I), decoder p(x|z)."""

    is_variational = True
    title = "VAE (variational)"
    code_per_dim = 2

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters.

        Args:
            x: images (B, C, H, W), pixels in [0, 1].
            y: (B,) labels; required by a conditional subclass, ignored otherwise.

        Returns:
            (mu, logvar), each (B, latent_dim); logvar = log sigma^2.

        Raises:
            ValueError: x has the wrong shape, or y is missing or invalid.
        """
        self._check_images(x)
        mu, logvar = self.encoder(x, self.condition(y, len(x))).chunk(2, dim=1)
        return mu, logvar

    reparameterize = staticmethod(reparameterize)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> ModelOutput:
        """Encode, draw one z by reparameterization, decode."""
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar, generator)
        return ModelOutput(self.decode(z, y), mu, logvar, z)
