"""What a training run may cost, and what counts as a diverged result; checked from the
configs alone, before anything is allocated.

- Size: a model of at most :data:`explorer.core.limits.MAX_PARAMETERS` parameters
  (the limit the checkpoint loader applies, so every trained model can be loaded back),
  counted by :func:`explorer.core.models.num_parameters` without building it.
- Memory: :func:`training_memory_bytes` estimates weights, gradients, Adam's two moment
  buffers, the trainer's copy of the last good weights and one batch's activations; a
  run above :data:`MAX_TRAINING_BYTES` is refused.
- Results: :func:`absurd_results` names what is non-finite or absurd in weights and test
  metrics after an epoch (the divergence guard of :mod:`explorer.core.train`).
- Outputs: :func:`absurd_outputs` is the probe every model passes before the app uses it
  (a checkpoint loaded from a path or an upload, a model at the end of training): on real
  MNIST test digits (:func:`explorer.core.data.probe_digits`, every label for a
  conditional model), plain probe images and prior draws, mu, log-variance, sigma and the
  decoded mean must be finite and within :data:`MAX_ABS_CODE`, :data:`LOGVAR_RANGE` and
  :data:`MAX_ABS_PIXEL`.

:func:`check_training_limits` raises :class:`TrainingTooLarge` (a ``ValueError``) with a
message that says what is too big and what to choose instead.
"""

from __future__ import annotations

import math
import os

import torch

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.likelihoods import likelihood_for
from explorer.core.models import model_class, num_parameters

__all__ = ["MAX_PARAMETERS", "MAX_ABS_WEIGHT", "MAX_ABS_CODE", "LOGVAR_RANGE", "MAX_ABS_PIXEL", "MAX_TRAINING_BYTES",
           "ABSURD_FACTOR", "TrainingTooLarge", "absurd_outputs", "absurd_results", "check_training_limits",
           "max_batch_size", "reconstruction_bound", "short_number", "training_memory_bytes"]

#: Largest model a checkpoint may declare or a run may train (weights and biases).
MAX_PARAMETERS = 50_000_000
#: Largest absolute weight accepted; trained weights of the shipped models are below 5.
MAX_ABS_WEIGHT = 1e4
#: Largest absolute encoder mean mu (or AE code) on the probe inputs. The shipped models'
#: codes stay below 65 on all 10,000 test digits (the denoising AE; VAEs below 5); a VAE
#: with |mu| = 1e4 would pay 5e7 nats of KL per image.
MAX_ABS_CODE = 1e4
#: Range of the encoder's log-variance log sigma^2 on the probe inputs. The shipped VAEs
#: stay within -12.2 and 0.2; at log sigma^2 = 10 (sigma = 148) one dimension's KL alone is
#: over 11,000 nats, twice :func:`reconstruction_bound`; below -60 sigma (1e-13) nears
#: float32's underflow.
LOGVAR_RANGE = (-60.0, 10.0)
#: Largest absolute decoded pixel (pixels lie in [0, 1]; an identity-link decoder's mean
#: is unbounded, the shipped linear AE's stays within -0.4 and 1.4).
MAX_ABS_PIXEL = 100.0

_MIB = 1 << 20
#: Memory one training run may need, bytes (environment variable
#: ``EXPLORER_MAX_TRAINING_MIB``; default 1 GiB). The default model (784-512-256-2,
#: batch 128) needs about 25 MiB; a batch of all 60,000 images about 1.5 GiB.
MAX_TRAINING_BYTES = int(float(os.environ.get("EXPLORER_MAX_TRAINING_MIB", "1024")) * _MIB)
#: Bytes per float32 number.
_FLOAT = 4
#: Copies of every parameter during training: weights, gradients, Adam's two moments,
#: the trainer's last good weights (``copy.deepcopy(state_dict)``).
_PARAMETER_COPIES = 5
#: Stored numbers per unit of each layer's output and per image: the forward pass keeps
#: the linear output and the activation, the backward pass makes a gradient of each.
_ACTIVATION_COPIES = 4
#: A result more than this many times worse than the worst case of the trivial model
#: (a decoder that outputs 0.5 for every pixel, whatever z) counts as diverged.
ABSURD_FACTOR = 10.0


class TrainingTooLarge(ValueError):
    """Settings whose model or memory exceeds this server's limits (nothing was allocated)."""


def _layer_widths(model_config: ModelConfig) -> list[int]:
    """Output widths of every layer of encoder and decoder, plus the input (MLP)."""
    cls = model_class(model_config.kind)
    code = cls.code_per_dim * model_config.latent_dim
    hidden = list(model_config.hidden_sizes)
    widths = [model_config.num_pixels, *hidden, code, model_config.latent_dim, *hidden[::-1], model_config.num_pixels]
    if cls.is_semi_supervised:  # M2: a pass per label for an unlabelled image, plus the classifier
        widths = widths * (model_config.num_classes + 1) + [*hidden, model_config.num_classes]
    return widths


def _penalty_widths(model_config: ModelConfig) -> int:
    """Extra stored numbers per image of a contractive AE's penalty (Rifai et al. 2011): the
    SCAE encodes a corrupted copy (one more encoder pass); the CAE's exact Jacobian keeps,
    per code dimension, a backward pass through the encoder whose graph is kept for the
    second differentiation (about two encoder passes each)."""
    cls = model_class(model_config.kind)
    if not cls.is_contractive:
        return 0
    encoder = model_config.num_pixels + sum(model_config.hidden_sizes) + model_config.latent_dim
    return encoder * (1 if cls.uses_contraction_noise else 2 * model_config.latent_dim)


def training_memory_bytes(model_config: ModelConfig, batch_size: int) -> int:
    """Estimated memory of one training run, bytes (no data set; it is shared).

    ``4 * (5 * parameters + 4 * batch_size * sum(layer widths))``: float32 weights,
    gradients, Adam's first and second moments and one saved copy; per image in a batch
    each layer's output, its activation and their gradients (for a contractive AE also its
    penalty's encoder passes, :func:`_penalty_widths`). An estimate of the peak,
    good to a small factor: it decides refusals, not allocations.
    """
    params = num_parameters(model_config)
    widths = sum(_layer_widths(model_config)) + _penalty_widths(model_config)
    return _FLOAT * (_PARAMETER_COPIES * params + _ACTIVATION_COPIES * batch_size * widths)


def max_batch_size(model_config: ModelConfig, limit: int | None = None) -> int:
    """The largest batch whose run fits in ``limit`` bytes (default :data:`MAX_TRAINING_BYTES`); 0 if none."""
    limit = MAX_TRAINING_BYTES if limit is None else limit
    free = limit - _FLOAT * _PARAMETER_COPIES * num_parameters(model_config)
    widths = sum(_layer_widths(model_config)) + _penalty_widths(model_config)
    return max(0, free // (_FLOAT * _ACTIVATION_COPIES * widths))


def check_training_limits(model_config: ModelConfig, train_config: TrainConfig, num_images: int = 60_000,
                          *, max_bytes: int | None = None) -> None:
    """Refuse settings this server cannot train, before anything is built.

    Args:
        model_config, train_config: the run's settings.
        num_images: training images available (a batch is at most the training set).
        max_bytes: memory limit (default :data:`MAX_TRAINING_BYTES`).

    Raises:
        TrainingTooLarge: a model over :data:`MAX_PARAMETERS` parameters, or an estimated
            memory need (:func:`training_memory_bytes`) over the limit; the message names
            the setting and a value that fits.
    """
    limit = MAX_TRAINING_BYTES if max_bytes is None else max_bytes
    params = num_parameters(model_config)
    if params > MAX_PARAMETERS:
        hidden = ", ".join(map(str, model_config.hidden_sizes)) or "none"
        raise TrainingTooLarge(
            f"the model would have {short_number(params)} parameters (latent dimension "
            f"{short_number(model_config.latent_dim)}, hidden sizes {hidden[:60]}); this server trains at most "
            f"{MAX_PARAMETERS:,}. Choose smaller "
            "hidden sizes (the default 512, 256 has about 1.1 million) or a smaller latent dimension.")
    images = min(num_images, train_config.subset or num_images)
    batch = min(train_config.batch_size, images)
    # the importance-weighted bound decodes k codes per image: k times the activations
    need = training_memory_bytes(model_config, batch * train_config.iw_samples)
    if need > limit:
        fits = max_batch_size(model_config, limit) // train_config.iw_samples
        advice = (f"Choose a batch size of at most {fits:,} (128 is a good default)." if fits >= 1 else
                  "Choose smaller hidden sizes (the default 512, 256 needs about 25 MiB).")
        raise TrainingTooLarge(
            f"training would need about {need / _MIB:,.0f} MiB of memory (model weights, Adam's state and a "
            f"batch of {batch:,} images' activations); this server allows {limit / _MIB:,.0f} MiB per "
            f"training. {advice}")


def reconstruction_bound(model_config: ModelConfig) -> float:
    """Largest plausible reconstruction term, nats per image.

    :data:`ABSURD_FACTOR` times the worst-case cost of the trivial decoder that outputs
    mean 0.5 for every pixel (logit 0): for a Bernoulli decoder that is
    ``784 * ln 2 = 543.4`` nats per image for any image, so the bound is about 5,434
    nats; for a Gaussian decoder the worst image is all 0s or 1s. Never below the
    Bernoulli's bound (the continuous Bernoulli's trivial decoder costs 0 nats). A freshly initialised
    model starts near the trivial cost; a trained one is far below it.
    """
    shape = (1, *model_config.image_shape)
    trivial = likelihood_for(model_config).nll(torch.zeros(shape), torch.ones(shape)).item()
    # The continuous Bernoulli's trivial decoder is the uniform density (0 nats): bound it
    # by the Bernoulli's 784 ln 2 (its -log p is the Bernoulli's minus log C >= ln 2 per pixel).
    return ABSURD_FACTOR * max(abs(trivial), model_config.num_pixels * math.log(2))


def short_number(value) -> str:
    """A number for a message, at most about 15 characters: ``"1,234"``, ``"157,400,000,786"``,
    ``"3.2e+31"``, ``"5.0e+4001"`` (an int of 4,002 digits), ``"NaN"``, ``"infinite"``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 12 else text[:10] + "..."
    if isinstance(value, int):
        if abs(value) < 10**12:
            return f"{value:,}"
        digits = len(str(abs(value)))
        return f"{'-' if value < 0 else ''}{str(abs(value))[0]}.{str(abs(value))[1]}e+{digits - 1:02d}"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinite" if value > 0 else "minus infinite"
    return f"{value:.3g}"


def _worst(t: torch.Tensor) -> str:
    """The worst value of ``t`` for a message: ``"is NaN"``, ``"is infinite"`` or
    ``"reaches 3.2e+31"`` (its largest size, or its value furthest out)."""
    if torch.isnan(t).any():
        return "is NaN"
    if torch.isinf(t).any():
        return "is infinite"
    return f"reaches {short_number(float(t.flatten()[t.abs().argmax()]))}"


def _bad_rows(values: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """(B,) bool: rows of ``values`` (B, ...) with a NaN, an inf or a value outside [low, high]."""
    flat = values.reshape(len(values), -1)
    return ~(torch.isfinite(flat) & (flat >= low) & (flat <= high)).all(dim=1)


def _probe_inputs(model) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(what, images, labels) the probe feeds: real digits (each with every label for a
    conditional model), then black, white, grey and seeded noise images."""
    from explorer.core.data import probe_digits

    digits, labels = probe_digits()
    if model.is_conditional:
        k = model.config.num_classes
        digits, labels = digits.repeat_interleave(k, dim=0), torch.arange(k).repeat(len(labels))
    shape = model.config.image_shape
    g = torch.Generator().manual_seed(0)
    plain = torch.cat([torch.zeros(1, *shape), torch.ones(1, *shape), torch.full((1, *shape), 0.5),
                       torch.rand(5, *shape, generator=g)])
    return [("real test digits", digits, labels),
            ("blank, grey and noise images", plain, torch.arange(len(plain)) % model.config.num_classes)]


def _where(what: str, rows: torch.Tensor, labels: torch.Tensor, model) -> str:
    """``"on real test digits"``, or ``"on real test digits with label 9"`` for a conditional
    model that fails only for some labels."""
    if model.is_conditional:
        bad = sorted(set(labels[rows].tolist()))
        if len(bad) < model.config.num_classes:
            return f"on {what} with label{'s' if len(bad) > 1 else ''} {', '.join(map(str, bad[:5]))}"
    return f"on {what}"


@torch.no_grad()
def absurd_outputs(model) -> str | None:
    """The load-time probe: what is non-finite or absurd in a model's outputs, or None.

    Feeds the probe inputs (:func:`_probe_inputs`: 100 real MNIST test digits, 10 of each
    label, paired with every label for a conditional model, and 8 plain images) and 100
    seeded prior draws z ~ N(0, I), and checks in this order: the encoder's mu within
    +-:data:`MAX_ABS_CODE`; its log-variance within :data:`LOGVAR_RANGE`; sigma =
    exp(logvar / 2) finite and positive; the decoder's mean of mu and of the prior draws
    within +-:data:`MAX_ABS_PIXEL`. A model that stays sane on plain images and breaks on
    digits is caught by the digits.

    Args:
        model: any model of the family, on the CPU (switched to eval mode, then restored).

    Returns:
        None, or one clause naming the output, the inputs and the value, e.g.
        ``"on real test digits the encoder's log-variance reaches 1.2e+17 (a working model
        stays between -60 and 10)"``, ``"on real test digits with label 9 the decoder's
        mean is NaN (pixels lie in [0, 1])"``.

    Raises:
        DataError: the probe digits file is missing or damaged.
    """
    was_training = model.training
    model.eval()
    try:
        low, high = LOGVAR_RANGE
        for what, x, y in _probe_inputs(model):
            mu, logvar = model.encode(x, y)
            bad = _bad_rows(mu, -MAX_ABS_CODE, MAX_ABS_CODE)
            if bad.any():
                return (f"{_where(what, bad, y, model)} the encoder's mean mu {_worst(mu[bad])} "
                        f"(a working model stays between {-MAX_ABS_CODE:,.0f} and {MAX_ABS_CODE:,.0f})")
            if logvar is not None:
                bad = _bad_rows(logvar, low, high)
                if bad.any():
                    return (f"{_where(what, bad, y, model)} the encoder's log-variance {_worst(logvar[bad])} "
                            f"(a working model stays between {low:g} and {high:g})")
                sigma = torch.exp(0.5 * logvar)
                bad = _bad_rows(sigma, torch.finfo(sigma.dtype).tiny, math.inf)
                if bad.any():
                    return f"{_where(what, bad, y, model)} the encoder's sigma {_worst(sigma[bad])}"
            mean = model.decode_mean(mu, y)
            bad = _bad_rows(mean, -MAX_ABS_PIXEL, MAX_ABS_PIXEL)
            if bad.any():
                return (f"{_where(what, bad, y, model)} the decoder's mean {_worst(mean[bad])} "
                        f"(pixels lie in [0, 1])")
        g = torch.Generator().manual_seed(0)
        k = model.config.num_classes if model.is_conditional else 1
        z = torch.randn(100 * k, model.config.latent_dim, generator=g)
        y = torch.arange(k).repeat(100)
        mean = model.decode_mean(z, y)
        bad = _bad_rows(mean, -MAX_ABS_PIXEL, MAX_ABS_PIXEL)
        if bad.any():
            return (f"{_where('draws from the prior', bad, y, model)} the decoder's mean "
                    f"{_worst(mean[bad])} (pixels lie in [0, 1])")
    finally:
        model.train(was_training)
    return None


def absurd_results(model: torch.nn.Module, metrics: dict[str, float | None], bound: float) -> str | None:
    """What is wrong with a model after an epoch, or None when all is well.

    Args:
        model: the model (its parameters are checked).
        metrics: test metrics, name -> nats per image or None (:func:`explorer.core.metrics.evaluate`).
        bound: the largest plausible reconstruction / -ELBO (:func:`reconstruction_bound`).

    Returns:
        ``"the weights are not finite"``, ``"a weight is 3e+06 in size"``,
        ``"the test reconstruction is nan nats"``, ``"the test reconstruction is 3.9e+06 nats per image,
        far above ..."`` -- or None.
    """
    with torch.no_grad():
        for p in model.parameters():
            if not torch.isfinite(p).all():
                return "the weights became infinite or NaN"
        biggest = max((p.abs().max().item() for p in model.parameters() if p.numel()), default=0.0)
    if biggest > MAX_ABS_WEIGHT:
        return f"a weight reached {biggest:.3g} in size (a trained model stays below {MAX_ABS_WEIGHT:g})"
    for name, value in metrics.items():
        if value is None:
            continue
        label = name.replace("test_", "test ").replace("neg_elbo", "-ELBO").replace("_", " ")
        if not math.isfinite(value):
            return f"the {label} is {value} nats per image"
        if name in ("test_reconstruction", "test_neg_elbo") and value > bound:
            return (f"the {label} is {value:.3g} nats per image, far above the {bound / ABSURD_FACTOR:.0f} "
                    "nats of a decoder that outputs grey 0.5 everywhere")
    return None
