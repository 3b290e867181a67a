"""Plain (deterministic) autoencoder: z = encoder(x), loss = reconstruction only."""

from __future__ import annotations

import torch

from explorer.core.models.base import Autoencoder, ModelOutput


class AE(Autoencoder):
    """Deterministic autoencoder with the VAE's networks: no posterior, no prior, no KL.

    With ``hidden_sizes=()`` and a Gaussian likelihood it is a linear autoencoder.
    """

    title = "AE (plain autoencoder)"

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        """The code as (mu, None): mu (B, latent_dim) is the code itself; y is ignored.

        Raises:
            ValueError: x has the wrong shape.
        """
        self._check_images(x)
        return self.encoder(x, self.condition(y, len(x))), None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> ModelOutput:
        """Encode and decode; ``generator`` is accepted for a common signature and unused."""
        mu, _ = self.encode(x, y)
        return ModelOutput(self.decode(mu, y), mu, None, mu)
