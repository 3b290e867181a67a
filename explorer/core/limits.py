"""What a training run may cost, and what counts as a diverged result; checked from the
configs alone, before anything is allocated.

- Size: a model of at most :data:`explorer.core.checkpoints.MAX_PARAMETERS` parameters
  (the limit the checkpoint loader applies, so every trained model can be loaded back),
  counted by :func:`explorer.core.models.num_parameters` without building it.
- Memory: :func:`training_memory_bytes` estimates weights, gradients, Adam's two moment
  buffers, the trainer's copy of the last good weights and one batch's activations; a
  run above :data:`MAX_TRAINING_BYTES` is refused.
- Results: :func:`absurd_results` names what is non-finite or absurd in weights and test
  metrics after an epoch (the divergence guard of :mod:`explorer.core.train`).

:func:`check_training_limits` raises :class:`TrainingTooLarge` (a ``ValueError``) with a
message that says what is too big and what to choose instead.
"""

from __future__ import annotations

import math
import os

import torch

from explorer.core.checkpoints import MAX_ABS_WEIGHT, MAX_PARAMETERS
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.likelihoods import likelihood_for
from explorer.core.models import model_class, num_parameters

__all__ = ["MAX_PARAMETERS", "MAX_TRAINING_BYTES", "ABSURD_FACTOR", "TrainingTooLarge", "absurd_results",
           "check_training_limits", "max_batch_size", "reconstruction_bound", "training_memory_bytes"]

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
            f"the model would have {params:,} parameters (latent dimension {model_config.latent_dim}, "
            f"hidden sizes {hidden}); this server trains at most {MAX_PARAMETERS:,}. Choose smaller "
            "hidden sizes (the default 512, 256 has about 1.1 million) or a smaller latent dimension.")
    images = min(num_images, train_config.subset or num_images)
    batch = min(train_config.batch_size, images)
    need = training_memory_bytes(model_config, batch)
    if need > limit:
        fits = max_batch_size(model_config, limit)
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
    nats; for a Gaussian decoder the worst image is all 0s or 1s. A freshly initialised
    model starts near the trivial cost; a trained one is far below it.
    """
    shape = (1, *model_config.image_shape)
    trivial = likelihood_for(model_config).nll(torch.zeros(shape), torch.ones(shape)).item()
    return ABSURD_FACTOR * max(abs(trivial), 1.0)


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
