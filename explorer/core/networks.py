"""Encoder and decoder networks, apart from the model families (pythae's
``models/nn``): a family asks for a pair by ``ModelConfig.architecture``.

Every encoder maps images (B, C, H, W) and an optional condition c (B, K) to a code
vector (B, code_size); every decoder maps z (B, latent_dim) and the same optional c to
per-pixel decoder outputs (B, C, H, W), the likelihood's parameters. A conditional model
passes its one-hot label as c (Kingma et al. 2014, M2: the label enters both networks).

To add a network type (a convolutional pair, say): write a ``(config, code_size,
condition_size) -> (encoder, decoder)`` builder, add it to :data:`NETWORKS` and its name
to :data:`explorer.core.config.ARCHITECTURES`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from explorer.core.config import ModelConfig


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them (none after the last).

    ``mlp([784, 2])`` is one linear layer: a linear map with no activation at all.
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _with_condition(h: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    return h if c is None else torch.cat([h, c.to(h.dtype)], dim=1)


class MLPEncoder(nn.Sequential):
    """Flatten, append the condition, then :func:`mlp`: (B, C, H, W) [+ (B, K)] -> (B, code_size).

    A ``Sequential`` (Flatten, mlp) so its weight names match checkpoints saved before
    conditions existed.
    """

    def __init__(self, num_pixels: int, widths: list[int], code_size: int, condition_size: int = 0) -> None:
        super().__init__(nn.Flatten(), mlp([num_pixels + condition_size, *widths, code_size]))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self[1](_with_condition(self[0](x), c))


class MLPDecoder(nn.Sequential):
    """Append the condition to z, :func:`mlp`, unflatten: (B, L) [+ (B, K)] -> (B, C, H, W)."""

    def __init__(self, latent_dim: int, widths: list[int], image_shape: tuple[int, int, int],
                 condition_size: int = 0) -> None:
        num_pixels = image_shape[0] * image_shape[1] * image_shape[2]
        super().__init__(mlp([latent_dim + condition_size, *widths, num_pixels]), nn.Unflatten(1, image_shape))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self[1](self[0](_with_condition(z, c)))


def mlp_networks(config: ModelConfig, code_size: int, condition_size: int = 0) -> tuple[nn.Module, nn.Module]:
    """MLP encoder (hidden widths ``config.hidden_sizes``) and the mirrored decoder.

    Args:
        config: gives image shape, latent size and hidden widths (empty: linear maps).
        code_size: encoder output size (latent_dim for an AE, 2 * latent_dim for a VAE).
        condition_size: length of the condition vector c (0: unconditional).
    """
    widths = list(config.hidden_sizes)
    encoder = MLPEncoder(config.num_pixels, widths, code_size, condition_size)
    decoder = MLPDecoder(config.latent_dim, widths[::-1], config.image_shape, condition_size)
    return encoder, decoder


def mlp_num_parameters(config: ModelConfig, code_size: int, condition_size: int = 0) -> int:
    """Weights plus biases of :func:`mlp_networks`' pair, computed from the config alone.

    Nothing is allocated, so a checkpoint can be refused for its declared size before
    any network is built (a config asking for 10**6 latent dimensions costs nothing).
    """
    widths = list(config.hidden_sizes)
    encoder = [config.num_pixels + condition_size, *widths, code_size]
    decoder = [config.latent_dim + condition_size, *widths[::-1], config.num_pixels]
    return sum((n_in + 1) * n_out for sizes in (encoder, decoder) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


NetworkBuilder = Callable[[ModelConfig, int, int], tuple[nn.Module, nn.Module]]
#: ``ModelConfig.architecture`` -> builder of its (encoder, decoder).
NETWORKS: dict[str, NetworkBuilder] = {"mlp": mlp_networks}
#: ``ModelConfig.architecture`` -> number of parameters of its pair (same arguments as the builder).
NETWORK_SIZES: dict[str, Callable[[ModelConfig, int, int], int]] = {"mlp": mlp_num_parameters}


def build_networks(config: ModelConfig, code_size: int, condition_size: int = 0) -> tuple[nn.Module, nn.Module]:
    """The (encoder, decoder) pair ``config.architecture`` names.

    Raises:
        ValueError: no builder for that architecture.
    """
    try:
        builder = NETWORKS[config.architecture]
    except KeyError:
        raise ValueError(f"no networks for architecture {config.architecture!r}") from None
    return builder(config, code_size, condition_size)
