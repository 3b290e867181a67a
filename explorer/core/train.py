"""Training loop for every model of the family (no command line: see
:mod:`explorer.cli.train`).

The whole training split sits in memory as one tensor; each epoch draws a fresh
random permutation from a seeded generator and slices mini-batches from it (no
DataLoader, no per-image transforms). Adam minimises the mean per-image loss
reconstruction + beta * KL (see :mod:`explorer.core.objective`). Labels go along for
conditional models; ``TrainConfig.input_noise`` corrupts the input while the loss keeps
the clean target (denoising AE); ``TrainConfig.binarize = "dynamic"`` trains on a fresh
Bernoulli(grey) draw of each image; ``TrainConfig.iw_samples = k > 1`` minimises the
importance-weighted bound -L_k instead (Burda et al. 2015). The test metrics after each
epoch are always the grey-level -ELBO and its terms. A semi-supervised model (M2) reads only
``TrainConfig.labels`` of the labels (:func:`explorer.core.labels.select_labels`, a mask of
known labels) and trains on the others unlabelled: an epoch is one pass over the unlabelled
images, and every step pairs their minibatch with a minibatch of the labelled images (the
labelled set cycled, reshuffled at each pass), see :func:`semi_supervised_batches`.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch

from explorer.core.config import TrainConfig
from explorer.core.labels import select_labels
from explorer.core.limits import absurd_outputs, absurd_results, reconstruction_bound
from explorer.core.metrics import evaluate
from explorer.core.models import Autoencoder
from explorer.core.objective import classification_weight, iw_loss_terms, loss_terms

__all__ = ["BatchProgress", "EpochRecord", "TrainConfig", "TrainResult", "TrainingDiverged", "corrupt", "train"]


@dataclass(frozen=True)
class BatchProgress:
    """Sent to ``on_batch`` after every optimiser step.

    Attributes:
        epoch: 1-based epoch number.
        batch: 1-based batch number within the epoch.
        num_batches: batches per epoch.
        loss: mean training loss of this batch, nats per image.
    """

    epoch: int
    batch: int
    num_batches: int
    loss: float


@dataclass(frozen=True)
class EpochRecord:
    """One row of the training history, sent to ``on_epoch``.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: mean training loss over the epoch, nats per image.
        seconds: wall time since training started, at the end of this epoch.
        lr: learning rate at the end of this epoch.
        metrics: the test metrics after this epoch (:func:`explorer.core.metrics.evaluate`:
            name -> nats per image, None where a metric does not apply).
    """

    epoch: int
    train_loss: float
    seconds: float
    lr: float
    metrics: dict[str, float | None]

    def to_dict(self) -> dict:
        """Flat dict for checkpoints and figures: the fields and every metric by name."""
        return {"epoch": self.epoch, "train_loss": self.train_loss, "seconds": self.seconds, "lr": self.lr,
                **self.metrics}


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        history: one :class:`EpochRecord` per completed epoch.
        stopped: True when ``should_stop`` ended training early.
    """

    history: list[EpochRecord]
    stopped: bool


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite, or after an epoch the weights or the test
    metrics were non-finite or absurd (:func:`explorer.core.limits.absurd_results`).

    The model has been restored to its weights at the end of the last completed
    epoch (or its initial weights); ``history`` holds the completed epochs.
    """

    def __init__(self, message: str, history: list[EpochRecord]) -> None:
        super().__init__(message)
        self.history = history


def corrupt(x: torch.Tensor, noise: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A corrupted copy of the input for denoising (Vincent et al. 2008).

    Args:
        x: images (B, C, H, W), pixels in [0, 1].
        noise: ``"none"`` (x itself), ``"masking"`` (each pixel set to 0 with probability
            ``level``) or ``"gaussian"`` (x + level * eps, eps ~ N(0, I), clipped to [0, 1]).
        level: masking probability in [0, 1], or the noise's standard deviation.
        generator: source of the noise.

    Returns:
        (B, C, H, W), pixels in [0, 1].

    Raises:
        ValueError: unknown noise type.
    """
    if noise == "none" or level == 0:
        return x
    if noise == "masking":
        keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= level
        return x * keep
    if noise == "gaussian":
        return (x + level * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)).clamp_(0.0, 1.0)
    raise ValueError(f"unknown input noise {noise!r}")


def _subset(size: int | None, n: int, generator: torch.Generator) -> torch.Tensor | None:
    """Row indices of a random subset of ``size`` of ``n`` rows (None: all rows)."""
    if size is None or size >= n:
        return None
    return torch.randperm(n, generator=generator, device=generator.device)[:size]


def semi_supervised_batches(known: torch.Tensor, batch_size: int, generator: torch.Generator):
    """Row indices for one epoch of semi-supervised training (Kingma et al. 2014, M2).

    One pass over the unlabelled rows in minibatches of ``batch_size``; every step also
    takes the next ``min(batch_size, N_l)`` labelled rows from a cycled, reshuffled order of
    the N_l labelled rows, so each step sees labelled images however few they are (100
    labels of 60,000 would otherwise reach one step in six). With no unlabelled rows (every
    label known) the pass runs over the labelled rows alone.

    Args:
        known: (N,) bool mask of the known labels (at least one True).
        batch_size: unlabelled images per step.
        generator: source of the orders.

    Returns:
        A list of (labelled rows (B_l,), unlabelled rows (B_u,)) int64 pairs, one per step.
    """
    device = known.device
    labelled = known.nonzero().squeeze(1)
    unlabelled = (~known).nonzero().squeeze(1)
    if len(unlabelled) == 0:
        order = labelled[torch.randperm(len(labelled), generator=generator, device=device)]
        empty = order[:0]
        return [(order[i : i + batch_size], empty) for i in range(0, len(order), batch_size)]
    order = unlabelled[torch.randperm(len(unlabelled), generator=generator, device=device)]
    steps = math.ceil(len(order) / batch_size)
    size = min(batch_size, len(labelled))
    passes = math.ceil(steps * size / len(labelled))
    cycled = torch.cat([labelled[torch.randperm(len(labelled), generator=generator, device=device)]
                        for _ in range(passes)])
    return [(cycled[i * size : (i + 1) * size], order[i * batch_size : (i + 1) * batch_size]) for i in range(steps)]


def train(
    model: Autoencoder,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    config: TrainConfig,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    train_labels: torch.Tensor | None = None,
    test_labels: torch.Tensor | None = None,
) -> TrainResult:
    """Train ``model`` in place with Adam.

    Args:
        model: any model of the family (:func:`explorer.core.models.build_model`).
        train_images: (N, C, H, W), pixels in [0, 1], on the model's device (training
            runs where the data and the model are: CPU, or a GPU).
        test_images: (M, C, H, W), evaluated after every epoch.
        config: optimisation settings (with the input corruption, if any).
        on_batch: called after every step with a :class:`BatchProgress`.
        on_epoch: called after every epoch with its :class:`EpochRecord`.
        should_stop: polled before every step; returning True ends training at once,
            leaving the model as it is (usable and savable).
        train_labels: (N,) int64, required by a conditional model (else passed along); a
            semi-supervised model reads only the ``config.labels`` it selects.
        test_labels: (M,) int64, likewise for the evaluation.

    Returns:
        :class:`TrainResult`; the model is left in eval mode.

    Raises:
        TrainingDiverged: the loss became NaN/inf, or after an epoch a weight was
            non-finite or over :data:`explorer.core.checkpoints.MAX_ABS_WEIGHT`, or a test
            metric non-finite or above :func:`explorer.core.limits.reconstruction_bound`
            (10 times the 543 nats of an all-0.5 Bernoulli decoder); the model holds the
            weights of its last good epoch (or its initial weights). Also when the final
            model (finished or stopped) fails the probe every loaded model passes
            (:func:`explorer.core.limits.absurd_outputs`: real test digits, every label); the
            message then holds the probe's reason and the model keeps its final weights.
        ValueError: a conditional model without labels, labels of the wrong length,
            ``config.iw_samples`` > 1 for a deterministic model or beta != 1, or more known
            labels than a class can give.
    """
    if model.is_conditional and (train_labels is None or test_labels is None):
        raise ValueError("a conditional model trains with the labels of its training and test images")
    if config.iw_samples > 1 and not (model.is_variational and model.config.beta == 1):
        raise ValueError(f"the importance-weighted bound (iw_samples={config.iw_samples}) trains a variational "
                         f"model with beta = 1, not a {type(model).__name__} with beta {model.config.beta:g}")
    for images, labels, what in ((train_images, train_labels, "training"), (test_images, test_labels, "test")):
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(labels)} {what} labels for {len(images)} {what} images")
    # Denormals slow CPU training ~2x as weights shrink. The flag is per thread and
    # torch's worker threads copy it when they are created, so processes that run
    # torch ops before calling train() should set it first thing (as the CLI does).
    torch.set_flush_denormal(True)
    # The noise comes from a generator on the data's device (a CPU run repeats exactly;
    # a GPU run draws other numbers from the same seed).
    generator = torch.Generator(device=train_images.device).manual_seed(config.seed)
    rows = _subset(config.subset, len(train_images), generator)
    images = train_images if rows is None else train_images[rows]
    labels = train_labels if rows is None or train_labels is None else train_labels[rows]
    known, weight = None, 0.0
    if model.is_semi_supervised:  # Kingma et al. 2014: some labels known, alpha = 0.1 * N
        known = select_labels(labels, config.labels, config.seed, model.config.num_classes)
        weight = classification_weight(len(images), int(known.sum()))
    # an epoch: one pass over the images, or (semi-supervised) over the unlabelled ones
    passed = len(images) if known is None else int((~known).sum()) or int(known.sum())
    num_batches = math.ceil(passed / config.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * num_batches)
        if config.lr_schedule == "cosine"
        else None
    )
    history: list[EpochRecord] = []
    bound = reconstruction_bound(model.config)
    good_state = copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    stopped = False
    model.train()
    try:
        for epoch in range(1, config.epochs + 1):
            if known is None:
                order = torch.randperm(len(images), generator=generator, device=images.device)
                steps = [order[i * config.batch_size : (i + 1) * config.batch_size] for i in range(num_batches)]
            else:  # a labelled minibatch beside every unlabelled one
                pairs = semi_supervised_batches(known, config.batch_size, generator)
                steps = [torch.cat(pair) for pair in pairs]
            loss_sum, seen = 0.0, 0
            for batch, index in enumerate(steps):
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                x = images[index]
                if config.binarize == "dynamic":  # a fresh binary draw each time an image is used
                    x = torch.bernoulli(x, generator=generator)
                y = None if labels is None else labels[index]
                x_in = corrupt(x, config.input_noise, config.noise_level, generator)
                if config.iw_samples > 1:  # the importance-weighted bound (k = 1 is the ELBO)
                    loss = iw_loss_terms(model, x_in, y, target=x, k=config.iw_samples, generator=generator).loss.mean()
                elif known is None:
                    loss = loss_terms(model, x_in, y, target=x, generator=generator).loss.mean()
                else:  # mean over the labelled batch plus mean over the unlabelled batch
                    is_known = known[index]
                    per_image = loss_terms(model, x_in, y, target=x, generator=generator, known=is_known,
                                           classification_weight=weight).loss
                    loss = per_image[is_known].mean() + (per_image[~is_known].mean() if not bool(is_known.all())
                                                         else 0.0)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    model.load_state_dict(good_state)
                    raise TrainingDiverged(
                        f"Training diverged: the loss became {loss_value} in epoch {epoch}, "
                        f"batch {batch + 1} (learning rate {config.lr:g}). The model keeps its "
                        f"weights from the end of epoch {epoch - 1}"
                        + (" (its initial weights)." if epoch == 1 else ".")
                        + " Try a smaller learning rate.",
                        history,
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss_value * len(x)
                seen += len(x)
                if on_batch is not None:
                    on_batch(BatchProgress(epoch, batch + 1, num_batches, loss_value))
            if stopped:
                break
            metrics = evaluate(model, test_images, test_labels, seed=config.seed)
            problem = absurd_results(model, metrics, bound)
            if problem is not None:
                model.load_state_dict(good_state)
                raise TrainingDiverged(
                    f"Training diverged: after epoch {epoch} {problem} (learning rate {config.lr:g}). "
                    "Try a smaller learning rate (the default is 2e-3).", history)
            model.train()
            good_state = copy.deepcopy(model.state_dict())
            record = EpochRecord(epoch=epoch, train_loss=loss_sum / max(seen, 1),
                                 seconds=time.perf_counter() - start,
                                 lr=optimizer.param_groups[0]["lr"], metrics=metrics)
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
    finally:
        model.eval()
    problem = absurd_outputs(_on_cpu(model))
    if problem is not None:
        raise TrainingDiverged(f"Training diverged: at the end {problem} (learning rate {config.lr:g}). "
                               "Try a smaller learning rate.", history)
    return TrainResult(history, stopped=stopped)


def _on_cpu(model: Autoencoder) -> Autoencoder:
    """``model`` itself on the CPU, or a CPU copy of a model on another device (for the probe)."""
    if all(p.device.type == "cpu" for p in model.parameters()):
        return model
    return copy.deepcopy(model).to("cpu")
