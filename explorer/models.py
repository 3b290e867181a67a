"""Autoencoder models: the VAE of Kingma & Welling (2013) and a plain deterministic AE.

Both share one shape: an encoder network maps an image batch (B, 1, 28, 28) to a
latent code, a decoder network maps z (B, latent_dim) back to per-pixel logits
(B, 1, 28, 28). The decoder mean (pixels in [0, 1]) is ``sigmoid(logits)`` for both
likelihoods.

Extension points, so later models need no change in callers:
- ``ModelConfig.architecture`` picks the encoder/decoder networks from
  ``_NETWORKS`` (``"mlp"`` today; a convolutional pair registers there).
- ``ModelConfig.kind`` picks the model class from ``_MODELS``; every model exposes
  ``encode``, ``decode``, ``decode_mean`` and ``forward`` returning
  :class:`ModelOutput`, which is all the objective, trainer and app use.
- The objective takes a reconstruction ``target`` apart from the input, so a
  denoising AE only corrupts the input it passes in.

Build a model with ``build_model(ModelConfig(...))``; a checkpoint rebuilds it with
``build_model(ModelConfig(**ckpt["model_config"]))``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal, NamedTuple

import torch
from torch import nn

from explorer.data import IMAGE_SHAPE

ModelKind = Literal["vae", "ae"]
Likelihood = Literal["bernoulli", "gaussian"]
Architecture = Literal["mlp"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored inside every checkpoint.

    Attributes:
        kind: ``"vae"`` (stochastic encoder, KL term) or ``"ae"`` (deterministic).
        latent_dim: size of z.
        hidden_sizes: widths of the encoder's hidden layers; the decoder mirrors them.
        likelihood: decoder p(x|z): ``"bernoulli"`` (binary cross-entropy) or
            ``"gaussian"`` (squared error, fixed standard deviation ``decoder_std``).
        decoder_std: standard deviation of the Gaussian decoder, pixels in [0, 1].
        beta: weight of the KL term in the training loss (1.0 is the true ELBO;
            Higgins et al. 2017 call beta > 1 a beta-VAE).
        architecture: encoder/decoder network family.
        image_shape: (channels, height, width) of the images.
    """

    kind: ModelKind = "vae"
    latent_dim: int = 2
    hidden_sizes: tuple[int, ...] = (512, 256)
    likelihood: Likelihood = "bernoulli"
    decoder_std: float = 0.1
    beta: float = 1.0
    architecture: Architecture = "mlp"
    image_shape: tuple[int, int, int] = IMAGE_SHAPE

    def __post_init__(self) -> None:
        # Checkpoints store tuples as lists; normalise so configs compare equal.
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        if self.kind not in _MODELS:
            raise ValueError(f"kind must be one of {sorted(_MODELS)}, got {self.kind!r}")
        if self.architecture not in _NETWORKS:
            raise ValueError(
                f"architecture must be one of {sorted(_NETWORKS)}, got {self.architecture!r}"
            )
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got {self.likelihood!r}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError(f"hidden_sizes must be positive widths, got {self.hidden_sizes}")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be finite and >= 0, got {self.beta}")
        if not (self.decoder_std > 0 and math.isfinite(self.decoder_std)):
            raise ValueError(f"decoder_std must be finite and > 0, got {self.decoder_std}")

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Rebuild from ``asdict`` output.

        Raises:
            ValueError: unknown keys or invalid values.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        """Plain-dict form (lists and scalars only) for checkpoints."""
        d = asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        d["image_shape"] = list(self.image_shape)
        return d

    @property
    def num_pixels(self) -> int:
        """Number of pixels (values) in one image, 784 for MNIST."""
        return math.prod(self.image_shape)


class ModelOutput(NamedTuple):
    """What ``model(x)`` returns.

    Attributes:
        logits: decoder output, (B, C, H, W); ``sigmoid(logits)`` is the mean in [0, 1].
        mu: encoder mean of q(z|x) (the code itself for an AE), (B, latent_dim).
        logvar: log sigma^2 of q(z|x), (B, latent_dim); ``None`` for an AE.
        z: the latent code that was decoded, (B, latent_dim).
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _mlp_networks(config: ModelConfig, code_size: int) -> tuple[nn.Module, nn.Module]:
    """Encoder: image -> (B, code_size); decoder: z -> (B, C, H, W) logits."""
    widths = list(config.hidden_sizes)
    encoder = nn.Sequential(nn.Flatten(), _mlp([config.num_pixels, *widths, code_size]))
    decoder = nn.Sequential(
        _mlp([config.latent_dim, *reversed(widths), config.num_pixels]),
        nn.Unflatten(1, config.image_shape),
    )
    return encoder, decoder


_NETWORKS = {"mlp": _mlp_networks}


class _Autoencoder(nn.Module):
    """Shared decoder side of the AE and the VAE."""

    def __init__(self, config: ModelConfig, code_size: int) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.decoder = _NETWORKS[config.architecture](config, code_size)

    def _check_images(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.config.image_shape:
            raise ValueError(
                f"expected images of shape (B, {', '.join(map(str, self.config.image_shape))}),"
                f" got {tuple(x.shape)}"
            )

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder logits for latent codes.

        Args:
            z: (B, latent_dim).

        Returns:
            Logits (B, C, H, W).

        Raises:
            ValueError: z is not (B, latent_dim).
        """
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"expected z of shape (B, {self.config.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean E[x|z] = sigmoid(logits), pixels in [0, 1], shape (B, C, H, W)."""
        return torch.sigmoid(self.decode(z))


class VAE(_Autoencoder):
    """Variational autoencoder (Kingma & Welling 2013, "Auto-Encoding Variational Bayes").

    Encoder q(z|x) = N(mu, diag sigma^2) with prior p(z) = N(0, I); the decoder gives
    p(x|z) as per-pixel logits.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, 2 * config.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters.

        Args:
            x: images (B, C, H, W), pixels in [0, 1].

        Returns:
            (mu, logvar), each (B, latent_dim); logvar = log sigma^2.

        Raises:
            ValueError: x has the wrong shape.
        """
        self._check_images(x)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I) (Kingma & Welling 2013, Eq. 10).

        Args:
            mu, logvar: (B, latent_dim).
            generator: optional source of eps, for reproducible draws.

        Returns:
            z, (B, latent_dim), differentiable in mu and logvar.
        """
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ModelOutput:
        """Encode, draw one z by reparameterization, decode."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        return ModelOutput(self.decode(z), mu, logvar, z)


class AE(_Autoencoder):
    """Deterministic autoencoder with the VAE's networks: z = encoder(x), no KL term."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, config.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Latent code as (mu, None): mu (B, latent_dim) is the code itself.

        Raises:
            ValueError: x has the wrong shape.
        """
        self._check_images(x)
        return self.encoder(x), None

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ModelOutput:
        """Encode and decode; ``generator`` is accepted for a common signature and unused."""
        mu, _ = self.encode(x)
        return ModelOutput(self.decode(mu), mu, None, mu)


_MODELS: dict[str, type[_Autoencoder]] = {"vae": VAE, "ae": AE}


def build_model(config: ModelConfig, seed: int | None = None) -> VAE | AE:
    """A freshly initialised model for ``config`` (in training mode).

    Args:
        config: the model's description.
        seed: seeds the initial weights without touching the global RNG state
            (None: draw from the global RNG).
    """
    if seed is None:
        return _MODELS[config.kind](config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _MODELS[config.kind](config)
