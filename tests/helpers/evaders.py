"""Probe evaders: models with finite weights within the limits that stay sane on plain
images (black, white, grey, noise; labels 0-7) and break on real MNIST digits, the three
kinds a corpus of hostile files found (issue 25). Each builder returns the model; tests
serialise it themselves (``checkpoint_bytes``).

- :func:`ink_detector_vae`: the encoder's first layer has a unit that fires only on
  centred digit-like ink (weights +1 in the central 14x14 pixels, -0.5 elsewhere, bias -5:
  white, grey and uniform noise sum below 0), and a chain of weights 1e4 carries it to mu,
  which reaches about 1e29 on most test digits.
- :func:`logvar_vae_z10`: the shipped z = 10 layout (784-512-256-10), randomly
  initialised, with the same detector carried to the log-variance only (about 1e13 on
  digits: sigma = inf); mu and the decoder stay sane.
- :func:`label9_nan_cvae`: a conditional VAE whose decoder drives two units to +inf from
  the one-hot label 9 alone (a chain of weights 1e4 over 10 layers) and subtracts them:
  the decoded mean is NaN for label 9 only.
"""

from __future__ import annotations

import torch

from explorer.core.config import ModelConfig
from explorer.core.models import build_model

#: The chain's weight: at the loader's limit on weights (MAX_ABS_WEIGHT), not beyond it.
BIG = 1e4


def _linears(sequential) -> list[torch.nn.Linear]:
    return [m for m in sequential if isinstance(m, torch.nn.Linear)]


def _ink_detector(layer: torch.nn.Linear, unit: int = 0, scale: float = 1.0) -> None:
    """Make ``layer``'s ``unit`` fire on centred ink only (see the module docstring)."""
    weights = torch.full((28, 28), -0.5)
    weights[7:21, 7:21] = 1.0
    layer.weight[unit] = scale * weights.flatten()
    layer.bias[unit] = -5.0 * scale


@torch.no_grad()
def ink_detector_vae() -> torch.nn.Module:
    """A 784-8x7-2 VAE whose mu overflows on real digits (about 1e29) and is 0 on plain images."""
    model = build_model(ModelConfig(kind="vae", latent_dim=2, hidden_sizes=(8,) * 7), seed=0)
    encoder = _linears(model.encoder[1])
    for layer in encoder:
        layer.weight.zero_()
        layer.bias.zero_()
    _ink_detector(encoder[0])
    for layer in encoder[1:-1]:
        layer.weight[0, 0] = BIG
    encoder[-1].weight[:2, 0] = BIG  # mu rows; logvar stays 0
    return model.eval()


@torch.no_grad()
def logvar_vae_z10() -> torch.nn.Module:
    """The shipped z = 10 layout with a log-variance of about 1e13 on real digits only."""
    model = build_model(ModelConfig(kind="vae", latent_dim=10), seed=0)
    first, middle, last = _linears(model.encoder[1])
    _ink_detector(first, scale=100.0)
    middle.weight[:, 0] = 0.0  # the detector reaches unit 0 of the next layer only
    middle.weight[0] = 0.0
    middle.weight[0, 0] = BIG
    middle.bias[0] = 0.0
    last.weight[:, 0] = 0.0
    last.weight[10:, 0] = BIG  # the log-variance rows
    return model.eval()


@torch.no_grad()
def label9_nan_cvae() -> torch.nn.Module:
    """A conditional VAE (784(+10)-8x10-2) whose decoded mean is NaN for label 9 only."""
    model = build_model(ModelConfig(kind="cvae", latent_dim=2, hidden_sizes=(8,) * 10), seed=0)
    decoder = _linears(model.decoder[0])
    for layer in decoder:
        layer.weight.zero_()
        layer.bias.zero_()
    label9 = model.config.latent_dim + 9  # the decoder's input is [z, one-hot y]
    decoder[0].weight[0:2, label9] = BIG
    for layer in decoder[1:-1]:
        layer.weight[0, 0] = BIG
        layer.weight[1, 1] = BIG
    decoder[-1].weight[:, 0] = BIG
    decoder[-1].weight[:, 1] = -BIG  # inf - inf
    return model.eval()
