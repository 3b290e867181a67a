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
known labels), the rest unlabelled, each step beside a labelled minibatch (``labels.epoch_batches``).

This is the one training loop: :func:`train` runs one model through it,
:func:`train_together` several side by side on the same batches (the AE and VAE twins
of :mod:`explorer.core.twins`).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from explorer.core.config import TrainConfig
from explorer.core.labels import epoch_batches, select_labels
from explorer.core.limits import absurd_outputs, absurd_results, reconstruction_bound
from explorer.core.metrics import evaluate
from explorer.core.models import Autoencoder
from explorer.core.objective import classification_weight, iw_loss_terms, loss_terms, paired_mean

__all__ = ["BatchProgress", "EpochRecord", "TrainConfig", "TrainResult", "TrainingDiverged", "corrupt", "train",
           "train_together"]


@dataclass(frozen=True)
class BatchProgress:
    """Sent to ``on_batch`` after every optimiser step.

    Attributes:
        epoch: 1-based epoch number.
        batch: 1-based batch number within the epoch.
        num_batches: batches per epoch.
        loss: mean training loss of this batch, nats per image (of the first model
            when several train together, :func:`train_together`).
        losses: every model's loss of this batch, in the order of the models.
    """

    epoch: int
    batch: int
    num_batches: int
    loss: float
    losses: tuple[float, ...] = ()


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
    """Train ``model`` in place with Adam (:func:`train_together` with one model).

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
            non-finite or over :data:`explorer.core.limits.MAX_ABS_WEIGHT`, or a test
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
    (result,) = train_together(
        (model,), train_images, config, test_images=test_images, test_labels=test_labels,
        train_labels=train_labels, on_batch=on_batch,
        on_epoch=None if on_epoch is None else (lambda records: on_epoch(records[0])), should_stop=should_stop)
    return result


def train_together(
    models: Sequence[Autoencoder],
    train_images: torch.Tensor,
    config: TrainConfig,
    *,
    test_images: torch.Tensor | None = None,
    test_labels: torch.Tensor | None = None,
    train_labels: torch.Tensor | None = None,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[tuple[EpochRecord, ...]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    noise_seed: int | None = None,
    fused: bool = True,
) -> list[TrainResult]:
    """The training loop: one model, or several trained side by side on the same
    mini-batches in the same order, each with its own Adam (``config.lr``, cosine
    schedule if asked) minimising its own mean per-image loss.

    One generator seeded with ``config.seed`` draws the subset and every epoch's
    permutation; the models' noise (dynamic binarization, input corruption, the
    reparameterization's eps, importance samples) comes from the same generator, or
    from a second one seeded with ``noise_seed`` (the twin run's, so that the batches
    do not depend on how many models draw noise). Every step takes each model in turn.

    Args:
        models: models of the family (see :func:`train`), trained in place.
        train_images: (N, C, H, W), pixels in [0, 1], on the models' device.
        config: optimisation settings.
        test_images: (M, C, H, W), evaluated after every epoch (None: no evaluation,
            no metrics in the records).
        test_labels: (M,) int64, for conditional models' evaluation.
        train_labels: (N,) int64, see :func:`train`.
        on_batch: called after every step (every model stepped) with a
            :class:`BatchProgress` whose ``losses`` hold each model's loss.
        on_epoch: called after every epoch with each model's :class:`EpochRecord`.
        should_stop: polled before every step; True ends training at once, leaving the
            models as they are.
        noise_seed: seed of a separate noise generator (None: the batch generator draws it).
        fused: Adam's fused kernel (:func:`train`'s); False: the per-tensor kernel (the
            twin run's: the two round differently, giving other weights at the last bits).

    Returns:
        One :class:`TrainResult` per model (the same ``stopped``); models in eval mode.

    Raises:
        TrainingDiverged: as :func:`train` (a model named in the message when several
            train); every model is restored to its last good epoch (or its initial
            weights); ``history`` is the first model's.
        ValueError: as :func:`train`.
    """
    for model in models:
        if model.is_conditional and (train_labels is None or test_images is not None and test_labels is None):
            raise ValueError("a conditional model trains with the labels of its training and test images")
        if config.iw_samples > 1 and not (model.is_variational and model.config.beta == 1):
            raise ValueError(f"the importance-weighted bound (iw_samples={config.iw_samples}) trains a variational "
                             f"model with beta = 1, not a {type(model).__name__} with beta {model.config.beta:g}")
    for images, labels, what in ((train_images, train_labels, "training"), (test_images, test_labels, "test")):
        if images is not None and labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(labels)} {what} labels for {len(images)} {what} images")
    # Denormals slow CPU training ~2x as weights shrink. The flag is per thread and
    # torch's worker threads copy it when they are created, so processes that run
    # torch ops before calling train() should set it first thing (as the CLI does).
    torch.set_flush_denormal(True)
    # The noise comes from a generator on the data's device (a CPU run repeats exactly;
    # a GPU run draws other numbers from the same seed).
    generator = torch.Generator(device=train_images.device).manual_seed(config.seed)
    noise = generator if noise_seed is None else torch.Generator(device=train_images.device).manual_seed(noise_seed)
    rows = _subset(config.subset, len(train_images), generator)
    images = train_images if rows is None else train_images[rows]
    labels = train_labels if rows is None or train_labels is None else train_labels[rows]
    semi = [m for m in models if m.is_semi_supervised]  # an epoch: a pass over the unlabelled images
    known = select_labels(labels, config.labels, config.seed, semi[0].config.num_classes) if semi else None
    num_batches = math.ceil((len(images) if known is None else int((~known).sum()) or len(images)) / config.batch_size)
    runs = [_Run(model, config, labels, num_batches, fused) for model in models]
    several = len(runs) > 1
    start = time.perf_counter()
    stopped = False
    for run in runs:
        run.model.train()
    try:
        for epoch in range(1, config.epochs + 1):
            steps, seen = epoch_batches(len(images), known, config.batch_size, generator), 0
            for run in runs:
                run.loss_sum = 0.0
            for batch, index in enumerate(steps):
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                x = images[index]
                if config.binarize == "dynamic":  # a fresh binary draw each time an image is used
                    x = torch.bernoulli(x, generator=noise)
                y = None if labels is None else labels[index]
                x_in = corrupt(x, config.input_noise, config.noise_level, noise)
                losses = []
                for run in runs:
                    loss_value = run.step(x_in, y, x, index, config, noise)
                    if not math.isfinite(loss_value):
                        for r in runs:
                            r.restore()
                        whose, keep, its = ((f"the {type(run.model).__name__}'s", "models keep their", "their")
                                            if several else ("the", "model keeps its", "its"))
                        raise TrainingDiverged(
                            f"Training diverged: {whose} loss became {loss_value} in epoch {epoch}, "
                            f"batch {batch + 1} (learning rate {config.lr:g}). The {keep} weights from the "
                            f"end of epoch {epoch - 1}" + (f" ({its} initial weights)." if epoch == 1 else ".")
                            + " Try a smaller learning rate.",
                            runs[0].history,
                        )
                    run.loss_sum += loss_value * len(x)
                    losses.append(loss_value)
                seen += len(x)
                if on_batch is not None:
                    on_batch(BatchProgress(epoch, batch + 1, num_batches, losses[0], tuple(losses)))
            if stopped:
                break
            for run in runs:
                metrics = {}
                if test_images is not None:
                    metrics = evaluate(run.model, test_images, test_labels, seed=config.seed)
                    problem = absurd_results(run.model, metrics, run.bound)
                    if problem is not None:
                        for r in runs:
                            r.restore()
                        raise TrainingDiverged(
                            f"Training diverged: after epoch {epoch} {_named(problem, run.model, several)} "
                            f"(learning rate {config.lr:g}). Try a smaller learning rate (the default is 2e-3).",
                            runs[0].history)
                    run.model.train()
                run.metrics = metrics
            seconds = time.perf_counter() - start
            for run in runs:
                run.good_state = copy.deepcopy(run.model.state_dict())
                run.history.append(EpochRecord(epoch=epoch, train_loss=run.loss_sum / max(seen, 1), seconds=seconds,
                                               lr=run.optimizer.param_groups[0]["lr"], metrics=run.metrics))
            if on_epoch is not None:
                on_epoch(tuple(run.history[-1] for run in runs))
    finally:
        for run in runs:
            run.model.eval()
    for run in runs:
        problem = absurd_outputs(_on_cpu(run.model))
        if problem is not None:
            raise TrainingDiverged(f"Training diverged: at the end {_named(problem, run.model, several)} "
                                   f"(learning rate {config.lr:g}). Try a smaller learning rate.", runs[0].history)
    return [TrainResult(run.history, stopped=stopped) for run in runs]


def _named(problem: str, model: Autoencoder, several: bool) -> str:
    """``problem`` ("the decoder's mean ...") said of one model when several train together."""
    return f"the {type(model).__name__}'s {problem.removeprefix('the ')}" if several else problem


class _Run:
    """One model's part of :func:`train_together`: its optimiser, schedule, known labels
    (semi-supervised), last good weights and history."""

    def __init__(self, model: Autoencoder, config: TrainConfig, labels: torch.Tensor | None, num_batches: int,
                 fused: bool) -> None:
        self.model = model
        self.known, self.weight = None, 0.0
        if model.is_semi_supervised:  # Kingma et al. 2014: some labels known, alpha = alpha_fraction * N
            self.known = select_labels(labels, config.labels, config.seed, model.config.num_classes)
            self.weight = classification_weight(len(labels), int(self.known.sum()), config.alpha_fraction)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=fused)
        self.scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.epochs * num_batches)
            if config.lr_schedule == "cosine"
            else None
        )
        self.bound = reconstruction_bound(model.config)
        self.good_state = copy.deepcopy(model.state_dict())
        self.history: list[EpochRecord] = []
        self.loss_sum = 0.0
        self.metrics: dict[str, float | None] = {}

    def step(self, x_in: torch.Tensor, y: torch.Tensor | None, x: torch.Tensor, index: torch.Tensor,
             config: TrainConfig, noise: torch.Generator) -> float:
        """One optimiser step on a batch; returns its mean loss (no step when not finite)."""
        if config.iw_samples > 1:  # the importance-weighted bound (k = 1 is the ELBO)
            loss = iw_loss_terms(self.model, x_in, y, target=x, k=config.iw_samples, generator=noise).loss.mean()
        else:  # semi-supervised: the labelled minibatch's mean loss plus the unlabelled one's
            known = None if self.known is None else self.known[index]
            loss = paired_mean(loss_terms(self.model, x_in, y, x, noise, known=known, classification_weight=self.weight)
                               .loss, known)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            return loss_value
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return loss_value

    def restore(self) -> None:
        """Back to the weights of the last completed epoch (or the initial ones)."""
        self.model.load_state_dict(self.good_state)


def _on_cpu(model: Autoencoder) -> Autoencoder:
    """``model`` itself on the CPU, or a CPU copy of a model on another device (for the probe)."""
    if all(p.device.type == "cpu" for p in model.parameters()):
        return model
    return copy.deepcopy(model).to("cpu")
