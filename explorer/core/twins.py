"""An AE and a VAE trained side by side ("watch the holes form"): the same initial
weights, the same batches in the same order, each with its own Adam.

The only difference left between the two runs is the objective: the AE minimises the
reconstruction -log p(x|z) at its code z, the VAE the negative ELBO, reconstruction at
z = mu + sigma * eps plus the KL to the prior (Kingma & Welling 2013, Eq. 10). So a
class watching both maps form sees what the KL term does, and nothing else.

"The same initial weights": both models are built from the same seed and every weight
the AE has is copied into the VAE (:func:`copy_shared_weights`): the encoder's hidden
layers, the whole decoder, and the AE's code layer as the VAE's mu head (the first
``latent_dim`` outputs of its last encoder layer, see ``VAE.encode``). The VAE's logvar
head has no counterpart and keeps its own initial weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.models import Autoencoder, build_model
from explorer.core.train import BatchProgress, train_together

__all__ = ["TwinReport", "TwinResult", "build_twins", "copy_shared_weights", "shared_weights_equal", "train_twins"]


def copy_shared_weights(source: Autoencoder, target: Autoencoder) -> list[str]:
    """Copy every weight of ``source`` (an AE) into ``target`` (a VAE of the same
    networks) in place: equal shapes as they are; the code layer, whose VAE version has
    twice the outputs (mu then logvar), into its first half (the mu head).

    Args:
        source: the deterministic model (code layer of ``latent_dim`` outputs).
        target: the variational model (code layer of ``2 * latent_dim`` outputs).

    Returns:
        The names of the weights copied into a mu head (the rest were copied whole).

    Raises:
        ValueError: the two models do not share their networks (a weight missing or of
            an unrelated shape).
    """
    into = dict(target.named_parameters())
    halves = []
    with torch.no_grad():
        for name, value in source.named_parameters():
            if name not in into:
                raise ValueError(f"the two models do not share their networks: {name} is missing in the target")
            dest = into[name]
            if dest.shape == value.shape:
                dest.copy_(value)
            elif dest.shape[0] == 2 * value.shape[0] and dest.shape[1:] == value.shape[1:]:
                dest[: value.shape[0]].copy_(value)
                halves.append(name)
            else:
                raise ValueError(f"the two models do not share their networks: {name} is "
                                 f"{tuple(value.shape)} in one and {tuple(dest.shape)} in the other")
    return halves


def shared_weights_equal(ae: Autoencoder, vae: Autoencoder) -> bool:
    """True when every weight of ``ae`` equals its counterpart in ``vae`` (whole, or the
    mu head of the code layer), as :func:`copy_shared_weights` leaves them."""
    into = dict(vae.named_parameters())
    for name, value in ae.named_parameters():
        dest = into[name]
        part = dest if dest.shape == value.shape else dest[: value.shape[0]]
        if not torch.equal(part, value):
            return False
    return True


def build_twins(config: ModelConfig, seed: int) -> tuple[Autoencoder, Autoencoder]:
    """An AE and a VAE of ``config``'s networks with the same initial weights.

    Args:
        config: networks, latent size, likelihood and beta (its ``kind`` is ignored).
        seed: seeds both builds (the global RNG is not touched).

    Returns:
        (AE, VAE), in training mode; ``shared_weights_equal(ae, vae)`` holds.
    """
    ae = build_model(replace(config, kind="ae"), seed=seed)
    vae = build_model(replace(config, kind="vae"), seed=seed)
    copy_shared_weights(ae, vae)
    return ae, vae


@dataclass(frozen=True)
class TwinReport:
    """Sent to ``on_report`` before the first step, every ``report_every`` steps and at the end.

    Attributes:
        step: optimiser steps done (the same for both models).
        num_steps: steps in the whole run.
        epoch: 1-based epoch of the last step (0 before the first).
        losses: each model's mean training loss over the steps since the last report,
            nats per image (None before the first step).
        codes: each model's codes of the report images: (n, latent_dim) float32, the AE's
            z and the VAE's mu (None without report images).
    """

    step: int
    num_steps: int
    epoch: int
    losses: tuple[float, ...] | None
    codes: tuple[np.ndarray, ...] | None


@dataclass
class TwinResult:
    """What :func:`train_twins` returns.

    Attributes:
        histories: per model, one record per completed epoch: ``{"epoch", "train_loss"
            (nats per image), "seconds" (since the start), "lr"}``.
        losses: ``(step, loss of model 0, loss of model 1, ...)`` at every report after
            the first step (nats per image, mean since the previous report).
        steps: optimiser steps done.
        stopped: True when ``should_stop`` ended training early.
    """

    histories: list[list[dict]]
    losses: list[tuple[float, ...]] = field(default_factory=list)
    steps: int = 0
    stopped: bool = False


def _codes(models, images: torch.Tensor | None) -> tuple[np.ndarray, ...] | None:
    if images is None:
        return None
    out = []
    with torch.inference_mode():
        for model in models:
            model.eval()
            out.append(model.encode(images)[0].numpy().astype(np.float32))
            model.train()
    return tuple(out)


def train_twins(
    models: tuple[Autoencoder, ...],
    train_images: torch.Tensor,
    config: TrainConfig,
    *,
    report_images: torch.Tensor | None = None,
    report_every: int = 50,
    on_report: Callable[[TwinReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TwinResult:
    """Train unconditional models in place on the same mini-batches, in the same order
    (:func:`explorer.core.train.train_together`, the one training loop, without test
    evaluation), reporting both maps every ``report_every`` steps.

    Each model has its own Adam (``config.lr``, cosine schedule if asked) and minimises
    its own mean per-image loss (:func:`explorer.core.objective.loss_terms`: the
    reconstruction for an AE, reconstruction + beta * KL for a VAE). One generator
    seeded with ``config.seed`` draws the subset and every epoch's permutation, so the
    batches are the same for all models; the VAE's eps come from a second one
    (seeded ``config.seed + 1``).

    Args:
        models: e.g. ``build_twins(...)``; unconditional.
        train_images: (N, 1, 28, 28), pixels in [0, 1].
        config: epochs, batch size, lr, schedule, seed and subset (no input noise).
        report_images: (n, 1, 28, 28) images whose codes each report carries.
        report_every: steps between reports (>= 1).
        on_report: receives a :class:`TwinReport`.
        should_stop: polled before every step; True ends training at once, leaving the
            models as they are.

    Returns:
        :class:`TwinResult`; the models are left in eval mode.

    Raises:
        TrainingDiverged: a loss became NaN or infinite, or a final model failed the
            load-time probe (the models keep the weights of their last completed epoch).
        ValueError: a conditional model, or ``report_every`` < 1.
    """
    if any(m.is_conditional for m in models):
        raise ValueError("train_twins trains unconditional models only")
    if report_every < 1:
        raise ValueError(f"report_every must be >= 1, got {report_every}")
    rows = len(train_images) if config.subset is None else min(config.subset, len(train_images))
    num_batches = math.ceil(rows / config.batch_size)
    num_steps = config.epochs * num_batches
    result = TwinResult(histories=[[] for _ in models])
    window = np.zeros(len(models))  # each model's loss summed since the last report
    window_steps = 0

    def report(epoch: int) -> None:
        nonlocal window, window_steps
        losses = tuple(float(v) for v in window / window_steps) if window_steps else None
        if losses is not None:
            result.losses.append((result.steps, *losses))
        window, window_steps = np.zeros(len(models)), 0
        if on_report is not None:
            on_report(TwinReport(result.steps, num_steps, epoch, losses, _codes(models, report_images)))

    def on_batch(progress: BatchProgress) -> None:
        nonlocal window, window_steps
        window += np.asarray(progress.losses)
        window_steps += 1
        result.steps += 1
        if result.steps % report_every == 0 and result.steps < num_steps:
            report(progress.epoch)

    report(0)
    runs = train_together(models, train_images, config, on_batch=on_batch, should_stop=should_stop,
                          noise_seed=config.seed + 1, fused=False)
    result.histories = [[record.to_dict() for record in run.history] for run in runs]
    result.stopped = runs[0].stopped
    if not result.stopped:
        report(config.epochs)
    elif window_steps:
        report(min(config.epochs, result.steps // num_batches + 1))
    return result
