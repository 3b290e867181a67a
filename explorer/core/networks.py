"""Encoder and decoder networks, apart from the model families (pythae's
``models/nn``): a family asks for a pair by ``ModelConfig.architecture``.

Every encoder maps images (B, C, H, W) and an optional condition c (B, K) to a code
vector (B, code_size); every decoder maps z (B, latent_dim) and the same optional c to
per-pixel decoder outputs (B, C, H, W), the likelihood's parameters. A conditional model
passes its one-hot label as c (Kingma et al. 2014, M2: the label enters both networks).

Three pairs: the MLP, the Keras convolutional network (``conv``, a faithful replica of
Chollet 2017) and a strided convolutional pair (``strided_conv``). To add a network type:
write a ``(config, code_size, condition_size) -> (encoder, decoder)`` builder, add it to
:data:`NETWORKS`, its size to :data:`NETWORK_SIZES`, and its name to
:data:`explorer.core.config.ARCHITECTURES` (with its default widths in
:data:`explorer.core.config.DEFAULT_HIDDEN_SIZES`).
"""

from __future__ import annotations

import math
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

    def forward_live(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The same output as :meth:`forward`, computed only through the live hidden units.

        A hidden unit whose pre-activation is <= 0 for every row of the batch is 0 after
        its ReLU in every row, so its column of the next layer's weights multiplies exact
        zeros: dropping it changes no output (only the order of the float additions). For
        a batch of codes close together (the importance samples of one image, Burda et al.
        2015) most units are dead: for the shipped z = 2 VAE about 46 % of the first hidden
        layer and 69 % of the second, so the two large matrix products shrink about 2-3x.
        The units are chosen per call; for inference (no use in training: the choice is
        not differentiable, and a batch spread over the whole latent space keeps nearly
        every unit).

        Args:
            z: (B, latent_dim); c: (B, K) condition or None, as for :meth:`forward`.

        Returns:
            (B, C, H, W), equal to ``forward(z, c)`` up to float rounding.
        """
        linears = [layer for layer in self[0] if isinstance(layer, nn.Linear)]
        h, live = _with_condition(z, c), None
        for i, linear in enumerate(linears):
            weight = linear.weight if live is None else linear.weight.index_select(1, live)  # (out, live in)
            a = torch.addmm(linear.bias, h, weight.t())
            if i < len(linears) - 1:  # mlp(): a ReLU after every layer but the last
                live = (a.amax(dim=0) > 0).nonzero().squeeze(1)  # units positive in some row
                h = a.index_select(1, live).clamp_min_(0)
        return self[1](a)


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


# ---- convolutional pair (Chollet, "Deep Learning with Python", 2017, section 8.4: the
# Keras VAE's Conv2D 32, 64 stride 2, 64, 64, Dense 32 encoder; Dense, reshape,
# Conv2DTranspose 32 stride 2, Conv2D 1 decoder). Every kernel is 3x3 with padding 1
# ("same"), so only the stride-2 layers change the size: 28x28 -> 14x14 -> 28x28.

#: (in -> out channels, stride) of the encoder's convolutions after the image's channels.
CONV_ENCODER_LAYERS = ((32, 1), (64, 2), (64, 1), (64, 1))
#: Channels of the decoder's transposed convolution (stride 2, back to full size).
CONV_DECODER_CHANNELS = 32


def _conv_feature_shape(image_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(channels, height, width) after the encoder's convolutions (padding 1, kernel 3)."""
    _, h, w = image_shape
    for _, stride in CONV_ENCODER_LAYERS:
        h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
    return CONV_ENCODER_LAYERS[-1][0], h, w


def _check_conv_image(image_shape: tuple[int, int, int]) -> None:
    _, h, w = image_shape
    if h % 2 or w % 2:
        raise ValueError(f"the convolutional networks need even image height and width, got {h}x{w}")


class ConvEncoder(nn.Module):
    """Conv2D 32, 64 stride 2, 64, 64 (3x3, ReLU), flatten, append the condition, then
    :func:`mlp` through the dense widths to the code: (B, C, H, W) [+ (B, K)] -> (B, code_size).

    The dense layers get ReLU between them and none after the last (the code, or mu and
    logvar, are linear heads).
    """

    def __init__(self, image_shape: tuple[int, int, int], widths: list[int], code_size: int,
                 condition_size: int = 0) -> None:
        super().__init__()
        _check_conv_image(image_shape)
        layers: list[nn.Module] = []
        channels = image_shape[0]
        for out_channels, stride in CONV_ENCODER_LAYERS:
            layers += [nn.Conv2d(channels, out_channels, 3, stride=stride, padding=1), nn.ReLU()]
            channels = out_channels
        self.features = nn.Sequential(*layers, nn.Flatten())
        features = math.prod(_conv_feature_shape(image_shape))
        self.dense = mlp([features + condition_size, *widths, code_size])

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.dense(_with_condition(self.features(x), c))


class ConvDecoder(nn.Module):
    """Append the condition to z, Dense (ReLU) to the encoder's feature map size, reshape,
    ConvTranspose2D 32 stride 2 (ReLU), Conv2D C (3x3, no activation):
    (B, L) [+ (B, K)] -> (B, C, H, W), the likelihood's parameters (Bernoulli logits:
    the sigmoid lives in the likelihood).
    """

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], condition_size: int = 0) -> None:
        super().__init__()
        _check_conv_image(image_shape)
        shape = (CONV_ENCODER_LAYERS[-1][0], image_shape[1] // 2, image_shape[2] // 2)
        self.dense = nn.Sequential(nn.Linear(latent_dim + condition_size, math.prod(shape)), nn.ReLU(),
                                   nn.Unflatten(1, shape))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(shape[0], CONV_DECODER_CHANNELS, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.Conv2d(CONV_DECODER_CHANNELS, image_shape[0], 3, padding=1),
        )

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.deconv(self.dense(_with_condition(z, c)))


def conv_networks(config: ModelConfig, code_size: int, condition_size: int = 0) -> tuple[nn.Module, nn.Module]:
    """Convolutional encoder and decoder (:class:`ConvEncoder`, :class:`ConvDecoder`).

    ``config.hidden_sizes`` are the encoder's dense widths between the flattened feature
    map and the code (the reference network: ``(32,)``); the decoder has one dense layer
    to the feature map and does not mirror them.

    Raises:
        ValueError: odd image height or width (the stride-2 layers halve and double it).
    """
    encoder = ConvEncoder(config.image_shape, list(config.hidden_sizes), code_size, condition_size)
    decoder = ConvDecoder(config.latent_dim, config.image_shape, condition_size)
    return encoder, decoder


def conv_num_parameters(config: ModelConfig, code_size: int, condition_size: int = 0) -> int:
    """Weights plus biases of :func:`conv_networks`' pair, from the config alone (nothing
    allocated; see :func:`mlp_num_parameters`).

    Raises:
        ValueError: odd image height or width.
    """
    _check_conv_image(config.image_shape)
    channels, h, w = config.image_shape
    total = 0
    for out_channels, _ in CONV_ENCODER_LAYERS:
        total += (channels * 9 + 1) * out_channels
        channels = out_channels
    dense = [math.prod(_conv_feature_shape(config.image_shape)) + condition_size, *config.hidden_sizes, code_size]
    total += sum((n_in + 1) * n_out for n_in, n_out in zip(dense[:-1], dense[1:]))
    feature_map = CONV_ENCODER_LAYERS[-1][0] * (h // 2) * (w // 2)
    total += (config.latent_dim + condition_size + 1) * feature_map
    total += (CONV_ENCODER_LAYERS[-1][0] * 9 + 1) * CONV_DECODER_CHANNELS  # ConvTranspose2d: (in, out, 3, 3)
    total += (CONV_DECODER_CHANNELS * 9 + 1) * config.image_shape[0]
    return total


# ---- strided convolutional pair: 4x4 convolutions of stride 2 both ways and a mirrored
# dense part (the MNIST networks of InfoGAN, Chen et al. 2016, Appendix C.1, at a quarter
# of their widths and without batch norm: 16 and 32 channels, the dense width from
# ``hidden_sizes``, 256 by default). Each stride-2 layer halves
# (encoder) or doubles (decoder) height and width: 28x28 -> 14x14 -> 7x7 -> dense -> 7x7
# -> 14x14 -> 28x28. Unlike the Keras replica above, the decoder has the encoder's dense
# widths and two learned upsamplings.

#: Channels of the encoder's two 4x4 stride-2 convolutions (the decoder runs them backwards).
STRIDED_CHANNELS = (16, 32)


def _check_strided_image(image_shape: tuple[int, int, int]) -> None:
    _, h, w = image_shape
    if h % 4 or w % 4:
        raise ValueError(f"the strided convolutional networks need image height and width divisible by 4, "
                         f"got {h}x{w}")


def _strided_feature_shape(image_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(channels, height, width) of the feature map between the convolutions and the dense layers."""
    return STRIDED_CHANNELS[-1], image_shape[1] // 4, image_shape[2] // 4


class StridedConvEncoder(nn.Module):
    """Conv2D 16, 32 (4x4, stride 2, padding 1, ReLU), flatten, append the condition, then
    :func:`mlp` through the dense widths to the code: (B, C, H, W) [+ (B, K)] -> (B, code_size).

    Raises:
        ValueError: image height or width not divisible by 4.
    """

    def __init__(self, image_shape: tuple[int, int, int], widths: list[int], code_size: int,
                 condition_size: int = 0) -> None:
        super().__init__()
        _check_strided_image(image_shape)
        layers: list[nn.Module] = []
        channels = image_shape[0]
        for out_channels in STRIDED_CHANNELS:
            layers += [nn.Conv2d(channels, out_channels, 4, stride=2, padding=1), nn.ReLU()]
            channels = out_channels
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.dense = mlp([math.prod(_strided_feature_shape(image_shape)) + condition_size, *widths, code_size])

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.dense(_with_condition(self.features(x), c))


class StridedConvDecoder(nn.Module):
    """Append the condition to z, :func:`mlp` through the encoder's dense widths reversed to
    the feature map (ReLU), reshape to (32, H/4, W/4), ConvTranspose2D 16 then C (4x4,
    stride 2, padding 1; ReLU between, none after): (B, L) [+ (B, K)] -> (B, C, H, W), the
    likelihood's parameters (Bernoulli logits: the sigmoid lives in the likelihood).

    Raises:
        ValueError: image height or width not divisible by 4.
    """

    def __init__(self, latent_dim: int, widths: list[int], image_shape: tuple[int, int, int],
                 condition_size: int = 0) -> None:
        super().__init__()
        _check_strided_image(image_shape)
        shape = _strided_feature_shape(image_shape)
        self.dense = nn.Sequential(mlp([latent_dim + condition_size, *widths, math.prod(shape)]), nn.ReLU(),
                                   nn.Unflatten(1, shape))
        layers: list[nn.Module] = []
        channels = list(STRIDED_CHANNELS[::-1]) + [image_shape[0]]
        for i, (n_in, n_out) in enumerate(zip(channels[:-1], channels[1:])):
            layers.append(nn.ConvTranspose2d(n_in, n_out, 4, stride=2, padding=1))
            if i < len(channels) - 2:
                layers.append(nn.ReLU())
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.deconv(self.dense(_with_condition(z, c)))


def strided_conv_networks(config: ModelConfig, code_size: int,
                          condition_size: int = 0) -> tuple[nn.Module, nn.Module]:
    """Strided convolutional encoder and decoder (:class:`StridedConvEncoder`,
    :class:`StridedConvDecoder`).

    ``config.hidden_sizes`` are the encoder's dense widths between the flattened 32x7x7
    feature map and the code; the decoder mirrors them (z -> reversed widths -> feature map).

    Raises:
        ValueError: image height or width not divisible by 4.
    """
    widths = list(config.hidden_sizes)
    encoder = StridedConvEncoder(config.image_shape, widths, code_size, condition_size)
    decoder = StridedConvDecoder(config.latent_dim, widths[::-1], config.image_shape, condition_size)
    return encoder, decoder


def strided_conv_num_parameters(config: ModelConfig, code_size: int, condition_size: int = 0) -> int:
    """Weights plus biases of :func:`strided_conv_networks`' pair, from the config alone
    (nothing allocated; see :func:`mlp_num_parameters`).

    Raises:
        ValueError: image height or width not divisible by 4.
    """
    _check_strided_image(config.image_shape)
    channels = [config.image_shape[0], *STRIDED_CHANNELS]
    convs = 2 * sum(n_in * n_out * 16 for n_in, n_out in zip(channels[:-1], channels[1:]))
    conv_biases = sum(STRIDED_CHANNELS) + sum(STRIDED_CHANNELS[:-1]) + config.image_shape[0]  # encoder, decoder
    feature = math.prod(_strided_feature_shape(config.image_shape))
    widths = list(config.hidden_sizes)
    encoder = [feature + condition_size, *widths, code_size]
    decoder = [config.latent_dim + condition_size, *widths[::-1], feature]
    dense = sum((n_in + 1) * n_out for sizes in (encoder, decoder) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return convs + conv_biases + dense


NetworkBuilder = Callable[[ModelConfig, int, int], tuple[nn.Module, nn.Module]]
#: ``ModelConfig.architecture`` -> builder of its (encoder, decoder).
NETWORKS: dict[str, NetworkBuilder] = {"mlp": mlp_networks, "conv": conv_networks,
                                        "strided_conv": strided_conv_networks}
#: ``ModelConfig.architecture`` -> number of parameters of its pair (same arguments as the builder).
NETWORK_SIZES: dict[str, Callable[[ModelConfig, int, int], int]] = {
    "mlp": mlp_num_parameters, "conv": conv_num_parameters, "strided_conv": strided_conv_num_parameters}


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
