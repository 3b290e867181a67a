"""Contractive autoencoders (Rifai et al. 2011): a plain AE trained with a penalty on how
much its code h(x) moves when the input moves.

- CAE ("Contractive Auto-Encoders", ICML 2011, Eq. 2-3): loss = reconstruction +
  lambda * ||J_h(x)||_F^2, the exact squared Frobenius norm of the encoder's Jacobian.
- SCAE (the stochastic form, Rifai et al. 2011b, Sec. 3): loss = reconstruction +
  lambda * E_{x~ ~ N(x, sigma^2 I)} ||h(x) - h(x~)||^2, one corrupted copy per image and step.

lambda is ``config.contraction``, sigma ``config.contraction_noise``. The penalty is a
training regulariser: :meth:`penalty` is added to the loss in training mode only (the test
metrics, in eval mode, are the reconstruction as for any AE).
"""

from __future__ import annotations

import torch

from explorer.core.contractive import jacobian_frobenius_sq, stochastic_contraction
from explorer.core.models.ae import AE


class CAE(AE):
    """Contractive AE: the AE's networks, loss + lambda * ||J_h(x)||_F^2 (Rifai et al. 2011, Eq. 3)."""

    title = "CAE (contractive autoencoder)"
    is_contractive = True

    def penalty(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """lambda * ||J_h(x)||_F^2 per image, (B,), differentiable in the weights."""
        return self.config.contraction * jacobian_frobenius_sq(
            lambda v: self.encode(v, y)[0], x, create_graph=torch.is_grad_enabled())


class SCAE(AE):
    """Stochastic contractive AE: loss + lambda * E ||h(x) - h(x~)||^2, x~ = x + sigma * eps."""

    title = "SCAE (stochastic contractive AE)"
    is_contractive = True
    uses_contraction_noise = True

    def penalty(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """lambda * ||h(x) - h(x~)||^2 per image for one draw x~ ~ N(x, sigma^2 I), (B,)."""
        return self.config.contraction * stochastic_contraction(
            lambda v: self.encode(v, y)[0], x, self.config.contraction_noise, generator=generator)
