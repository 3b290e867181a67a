"""The interface every autoencoder of the family shares (:class:`Autoencoder`).

An encoder maps images x (B, C, H, W), pixels in [0, 1], and an optional label y (B,)
int64 to the parameters of q(z|x[, y]); a decoder maps z (B, latent_dim) and the same y
to the likelihood's parameters (B, C, H, W); ``model.likelihood`` turns those into
p(x|z[, y]) (mean, samples, -log p in nats). Two class attributes say what a model is,
and every caller asks them instead of comparing kind names:

- ``is_variational``: the encoder gives a distribution q(z|x) = N(mu, diag sigma^2),
  there is a prior p(z) = N(0, I), a KL term and an ELBO;
- ``is_conditional``: encoder and decoder take the label y (required).

Unconditional models accept ``y`` everywhere and ignore it, so callers may always pass
the labels they have.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
from torch import nn

from explorer.core.config import ModelConfig
from explorer.core.likelihoods import Likelihood, likelihood_for
from explorer.core.networks import build_networks


class ModelOutput(NamedTuple):
    """What ``model(x, y)`` returns.

    Attributes:
        params: decoder output (B, C, H, W): the likelihood's parameters, what
            :meth:`explorer.core.likelihoods.Likelihood.nll` takes (Bernoulli logits; for
            the Gaussian, the mean before its sigmoid; for the identity-mean Gaussian, the
            mean itself).
        mu: encoder mean of q(z|x) (the code itself for a deterministic model), (B, latent_dim).
        logvar: log sigma^2 of q(z|x), (B, latent_dim); ``None`` for a deterministic model.
        z: the latent code that was decoded, (B, latent_dim).
    """

    params: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor


class Autoencoder(nn.Module):
    """Base class: networks from the config, shape checks, decoding, the condition.

    Subclasses set the class attributes and implement :meth:`encode` and :meth:`forward`.

    Args:
        config: the model's description; ``config.kind`` must name this class.
    """

    #: Encoder gives q(z|x) = N(mu, diag sigma^2); there is a prior, a KL and an ELBO.
    is_variational: ClassVar[bool] = False
    #: Encoder and decoder take a label y (B,) int64 in [0, config.num_classes).
    is_conditional: ClassVar[bool] = False
    #: Name shown to people, e.g. "VAE (variational)".
    title: ClassVar[str] = ""
    #: Encoder outputs per latent dimension (1: the code; 2: mu and logvar).
    code_per_dim: ClassVar[int] = 1
    #: Training adds lambda (``config.contraction``) times a contraction penalty (Rifai et al. 2011).
    is_contractive: ClassVar[bool] = False
    #: Has a classifier q(y|x) and trains with some labels unknown (M2, Kingma et al. 2014):
    #: ``classify``, ``predict``; :func:`explorer.core.objective.loss_terms` takes a mask of known labels.
    is_semi_supervised: ClassVar[bool] = False
    #: The penalty corrupts the input with Gaussian noise of std ``config.contraction_noise`` (SCAE).
    uses_contraction_noise: ClassVar[bool] = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.likelihood: Likelihood = likelihood_for(config)
        condition_size = config.num_classes if self.is_conditional else 0
        self.encoder, self.decoder = build_networks(config, self.code_per_dim * config.latent_dim, condition_size)

    # --- inputs ------------------------------------------------------------------------

    def _check_images(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.config.image_shape:
            raise ValueError(
                f"expected images of shape (B, {', '.join(map(str, self.config.image_shape))}),"
                f" got {tuple(x.shape)}"
            )

    def condition(self, y: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """The one-hot condition (B, num_classes) for labels ``y``; None when unconditional.

        Args:
            y: (B,) integer labels (ignored by an unconditional model).
            batch: B, the batch size ``y`` must have.

        Raises:
            ValueError: a conditional model got no y, or y of the wrong shape or range.
        """
        if not self.is_conditional:
            return None
        if y is None:
            raise ValueError(f"{type(self).__name__} is conditional: pass the labels y, shape ({batch},)")
        y = torch.as_tensor(y)
        if y.dim() == 0:
            y = y.expand(batch)
        if y.shape != (batch,) or y.dtype.is_floating_point:
            raise ValueError(f"expected integer labels y of shape ({batch},), got {y.dtype} {tuple(y.shape)}")
        k = self.config.num_classes
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
            raise ValueError(f"labels y must lie in [0, {k - 1}], got values in [{int(y.min())}, {int(y.max())}]")
        return nn.functional.one_hot(y.long(), k).float()

    # --- decoding ----------------------------------------------------------------------

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder output (the likelihood's parameters) for latent codes.

        Args:
            z: (B, latent_dim).
            y: (B,) labels (a single int is broadcast); required by a conditional model.

        Returns:
            (B, C, H, W).

        Raises:
            ValueError: z is not (B, latent_dim), or y is missing or invalid.
        """
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected z of shape (B, {self.config.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z, self.condition(y, len(z)))

    def decode_mean(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder mean E[x|z], shape (B, C, H, W): pixels in [0, 1] except for the
        ``gaussian_identity`` likelihood (unbounded; :func:`explorer.core.latent.decode_z`
        clips it for display)."""
        return self.likelihood.mean(self.decode(z, y))

    def decode_sample(self, z: torch.Tensor, y: torch.Tensor | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw x ~ p(x|z) per code (the likelihood's own noise), (B, C, H, W)."""
        return self.likelihood.sample(self.decode(z, y), generator)

    # --- encoding (per family) ---------------------------------------------------------

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior parameters (mu, logvar), each (B, latent_dim); logvar None when deterministic.

        Raises:
            ValueError: x has the wrong shape, or y is missing or invalid.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> ModelOutput:
        """Encode, pick z (a draw from q(z|x) or the code itself), decode."""
        raise NotImplementedError

    def penalty(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor | None:
        """A regulariser added to the training loss per image, (B,) nats, or None (most
        models; the contractive AEs return lambda times their contraction penalty).
        :func:`explorer.core.objective.loss_terms` adds it in training mode only."""
        return None
