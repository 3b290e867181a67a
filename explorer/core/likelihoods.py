"""Decoder distributions p(x|z): negative log-likelihood in nats, mean and samples.

The decoder network outputs one unconstrained value per pixel, ``params`` of shape
(B, C, H, W). A likelihood object turns them into the distribution p(x|z):

- :class:`Bernoulli`: ``params`` are logits; mean sigmoid(logits); -log p is the binary
  cross-entropy against grey values in [0, 1] (Kingma & Welling 2013, Appendix C.1).
- :class:`Gaussian`: mean sigmoid(params) (pixels stay in [0, 1]), fixed standard
  deviation ``std``; -log p = sum (x - mean)^2 / (2 std^2) + log(std sqrt(2 pi))
  (Appendix C.2 with a fixed variance).
- :class:`ContinuousBernoulli`: ``params`` are logits; the normalised density on [0, 1]
  of Loaiza-Ganem & Cunningham (2019) (the Bernoulli with its normalising constant).
- :class:`GaussianIdentity`: the same Gaussian with mean = ``params`` itself (identity
  link, no sigmoid). A linear decoder with this likelihood is the linear autoencoder
  whose squared-error optimum spans the principal subspace (Baldi & Hornik 1989). Its
  mean is not bounded to [0, 1]: whatever draws it as an image clips it there
  (:func:`explorer.core.latent.decode_z`, :func:`display_pixels`); losses and metrics use
  the unclipped mean.

Every model owns one (``model.likelihood``), built from its config by
:func:`likelihood_for`; the objective, the metrics and the decoding views use it, so
nothing else branches on the likelihood's name.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from explorer.core.config import ModelConfig

_LOG_2PI = math.log(2 * math.pi)


#: How many pixels' log(1 + e^-|l|) :func:`softplus_sum` takes as one log of a product:
#: each factor lies in (1, 2], so the product stays below 2^112, finite in float32 (< 2^128).
SOFTPLUS_GROUP = 112


def softplus_sum(logits: torch.Tensor) -> torch.Tensor:
    """sum over the last dimension of softplus(l) = log(1 + e^l), without one log per element.

    softplus(l) = max(l, 0) + log(1 + e^-|l|), and the sum of the second terms over a
    group of :data:`SOFTPLUS_GROUP` elements is the log of the product of their factors
    1 + e^-|l| (each in (1, 2], no overflow): one exp per element and one log per group.
    The same value as ``F.softplus(logits).sum(-1)`` to float rounding (about 1e-5 nats
    over 784 float32 pixels), at about 60 % of its cost on this project's CPUs. For
    evaluation (the in-place steps are not differentiable).

    Args:
        logits: (..., P), any P.

    Returns:
        (...), nats.
    """
    positive = logits.clamp_min(0)
    factors = torch.add(logits, positive, alpha=-2).exp_().add_(1.0)  # 1 + e^-|l|: l - 2 max(l, 0) = -|l|
    pad = -logits.shape[-1] % SOFTPLUS_GROUP
    if pad:
        factors = F.pad(factors, (0, pad), value=1.0)
    logs = factors.unflatten(-1, (-1, SOFTPLUS_GROUP)).prod(dim=-1).log_().sum(dim=-1)
    return positive.sum(dim=-1) + logs


class Likelihood:
    """p(x|z) per pixel, independent across pixels. Subclasses define the three methods."""

    #: Short name, as in ``ModelConfig.likelihood``.
    name: str = ""
    #: One line for the app, e.g. "Bernoulli (binary cross-entropy)".
    description: str = ""

    def nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, summed over pixels.

        Args:
            params: decoder output (B, C, H, W).
            x: images (B, C, H, W), pixels in [0, 1].

        Returns:
            (B,) nats.
        """
        raise NotImplementedError

    def nll_samples(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z_s) for S codes per image, without copying the images S times.

        Args:
            params: decoder output for S codes of each of B images, (S, B, C, H, W).
            x: the B images (B, C, H, W), pixels in [0, 1].

        Returns:
            (S, B) nats. Equals :meth:`nll` on the flattened rows; subclasses may
            override it with a faster form of the same value.
        """
        s, b = params.shape[:2]
        return self.nll(params.reshape(s * b, *params.shape[2:]), x.expand(s, *x.shape).reshape(s * b, *x.shape[1:])
                        ).reshape(s, b)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """E[x|z], (B, C, H, W): pixels in [0, 1], except for :class:`GaussianIdentity`,
        whose mean is unbounded (clip it with :func:`display_pixels` to draw it)."""
        raise NotImplementedError

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw x ~ p(x|z) per pixel, (B, C, H, W).

        Args:
            params: decoder output (B, C, H, W).
            generator: source of randomness, for reproducible draws.
        """
        raise NotImplementedError


class Bernoulli(Likelihood):
    """Per-pixel Bernoulli with logits ``params``; samples are 0 or 1."""

    name = "bernoulli"
    description = "Bernoulli decoder (binary cross-entropy)"

    def nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(params, x, reduction="none").flatten(1).sum(dim=1)

    def nll_samples(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(S, B) nats: sum softplus(l) - x * l, the binary cross-entropy with logits l
        written so the images broadcast over the S codes (the sum x . l is one batched
        matrix product). Without gradients (evaluation) the softplus sum is
        :func:`softplus_sum`'s, the same value with one log per 112 pixels."""
        logits = params.flatten(2)  # (S, B, P)
        softplus = F.softplus(logits).sum(dim=2) if torch.is_grad_enabled() else softplus_sum(logits)
        return softplus - torch.einsum("sbp,bp->sb", logits, x.flatten(1).to(logits.dtype))

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(params)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.bernoulli(torch.sigmoid(params), generator=generator)


class Gaussian(Likelihood):
    """Per-pixel Gaussian N(sigmoid(params), std^2) with a fixed ``std`` (pixels in [0, 1]).

    Args:
        std: standard deviation, > 0.

    Raises:
        ValueError: std is not finite and > 0.
    """

    name = "gaussian"

    def __init__(self, std: float) -> None:
        if not (std > 0 and math.isfinite(std)):
            raise ValueError(f"Gaussian decoder std must be finite and > 0, got {std}")
        self.std = float(std)
        self.description = f"Gaussian decoder (squared error, std {self.std:g})"

    def nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        per_pixel = (self.mean(params) - x).pow(2) / (2 * self.std**2) + (math.log(self.std) + 0.5 * _LOG_2PI)
        return per_pixel.flatten(1).sum(dim=1)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(params)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """mean + std * eps, eps ~ N(0, I): a real Gaussian draw, not clipped to [0, 1]
        (clip it for display)."""
        mean = self.mean(params)
        eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + self.std * eps


class GaussianIdentity(Gaussian):
    """Per-pixel Gaussian N(params, std^2): the decoder output is the mean itself (identity
    link, no sigmoid), fixed ``std``.

    -log p(x|z) = sum_pixels (x - params)^2 / (2 std^2) + log(std sqrt(2 pi)) in nats: the
    squared error scaled by 1 / (2 std^2) plus a constant, so minimising it is least
    squares. The mean may leave [0, 1]; clip it only to draw it (:func:`display_pixels`).

    Raises:
        ValueError: std is not finite and > 0.
    """

    name = "gaussian_identity"

    def __init__(self, std: float) -> None:
        super().__init__(std)
        self.description = f"Gaussian decoder, identity mean (squared error, std {self.std:g})"

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params


class ContinuousBernoulli(Likelihood):
    """Per-pixel continuous Bernoulli with logits ``params`` (Loaiza-Ganem & Cunningham
    2019, "The continuous Bernoulli: fixing a pervasive error in variational autoencoders").

    The Bernoulli "likelihood" of a grey value x in [0, 1] is not a normalised density;
    the continuous Bernoulli is: p(x|lambda) = C(lambda) lambda^x (1 - lambda)^(1-x) on
    [0, 1], with lambda = sigmoid(l) and C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda)
    (their Eq. 7; C(1/2) = 2). In logits, 1 - 2 lambda = -tanh(l/2) and
    artanh(1 - 2 lambda) = -l/2, so C = l / tanh(l/2) and

        -log p(x|z) = sum_pixels softplus(l) - x l - log(l / tanh(l/2))   (nats),

    with log C = log 2 + log1p(u^2/3 - u^4/45), u = l/2, near l = 0 (Taylor series of
    u / tanh u), so it is finite and smooth everywhere. A density on [0, 1] can exceed 1:
    -log p is often negative. The mean E[x] = lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda))
    differs from lambda (their Eq. 8); samples are drawn by the inverse CDF.
    """

    name = "continuous_bernoulli"
    description = "continuous Bernoulli decoder (normalised on [0, 1])"

    #: |logit| below which log C uses the Taylor series (there the closed form loses precision).
    TAYLOR_BELOW = 0.1

    @classmethod
    def log_normalizer(cls, logits: torch.Tensor) -> torch.Tensor:
        """log C per pixel, same shape as ``logits``, nats (>= log 2)."""
        small = logits.abs() < cls.TAYLOR_BELOW
        safe = torch.where(small, torch.ones_like(logits), logits)  # no 0/0 (nor NaN gradients) off-branch
        exact = torch.log(safe.abs()) - torch.log(torch.tanh(safe / 2).abs())
        u2 = (logits / 2).pow(2)
        taylor = math.log(2.0) + torch.log1p(u2 / 3 - u2.pow(2) / 45)
        return torch.where(small, taylor, exact)

    def nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        per_pixel = F.softplus(params) - x * params - self.log_normalizer(params)
        return per_pixel.flatten(1).sum(dim=1)

    def nll_samples(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        logits = params.flatten(2)  # (S, B, P)
        return ((F.softplus(logits) - self.log_normalizer(logits)).sum(dim=2)
                - torch.einsum("sbp,bp->sb", logits, x.flatten(1).to(logits.dtype)))

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.distributions.ContinuousBernoulli(logits=params).mean

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.rand(params.shape, generator=generator, dtype=params.dtype, device=params.device)
        return torch.distributions.ContinuousBernoulli(logits=params).icdf(u).clamp(0.0, 1.0)


def display_pixels(images: torch.Tensor) -> torch.Tensor:
    """Decoder means made drawable: clipped to [0, 1] (a no-op for the sigmoid likelihoods;
    a :class:`GaussianIdentity` mean may leave that range)."""
    return images.clamp(0.0, 1.0)


def likelihood_for(config: ModelConfig) -> Likelihood:
    """The likelihood object ``config.likelihood`` names (with ``config.decoder_std``)."""
    if config.likelihood == "bernoulli":
        return Bernoulli()
    if config.likelihood == "continuous_bernoulli":
        return ContinuousBernoulli()
    if config.likelihood == "gaussian_identity":
        return GaussianIdentity(config.decoder_std)
    return Gaussian(config.decoder_std)
