"""Training loop for the AE and the VAE, and its command line.

The whole training split sits in memory as one tensor; each epoch draws a fresh
random permutation from a seeded generator and slices mini-batches from it (no
DataLoader, no per-image transforms). Adam minimises the mean per-image loss
reconstruction + beta * KL (see :mod:`explorer.objective`).

Usage::

    python -m explorer.train --model vae --latent-dim 2 --epochs 30 --out checkpoints/x.pt
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Literal

import torch

from explorer.models import ModelConfig, build_model
from explorer.objective import evaluate, loss_terms

LRSchedule = Literal["constant", "cosine"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; stored inside every checkpoint.

    Attributes:
        epochs: passes over the (subset of the) training split.
        batch_size: images per Adam step.
        lr: Adam learning rate (peak rate for the cosine schedule).
        lr_schedule: ``"constant"`` or ``"cosine"`` (decay to 0 over all steps,
            Loshchilov & Hutter 2017, without restarts).
        seed: seeds the initial weights, the epoch permutations, the subset and the
            reparameterization noise.
        subset: train on this many randomly chosen training images (None: all 60,000).
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: LRSchedule = "constant"
    seed: int = 0
    subset: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be finite and > 0, got {self.lr}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.subset is not None and self.subset < 1:
            raise ValueError(f"subset must be >= 1 or None, got {self.subset}")

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Rebuild from ``asdict`` output.

        Raises:
            ValueError: unknown keys or invalid values.
        """
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown train config keys: {sorted(unknown)}")
        return cls(**data)


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
        test_neg_elbo: test -ELBO, nats per image (None for an AE).
        test_reconstruction: test reconstruction term, nats per image.
        test_kl: test KL term, nats per image.
        seconds: wall time since training started, at the end of this epoch.
        lr: learning rate at the end of this epoch.
    """

    epoch: int
    train_loss: float
    test_neg_elbo: float | None
    test_reconstruction: float
    test_kl: float
    seconds: float
    lr: float


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
    """The loss became NaN or infinite.

    The model has been restored to its weights at the end of the last completed
    epoch (or its initial weights); ``history`` holds the completed epochs.
    """

    def __init__(self, message: str, history: list[EpochRecord]) -> None:
        super().__init__(message)
        self.history = history


def _subset(images: torch.Tensor, size: int | None, generator: torch.Generator) -> torch.Tensor:
    if size is None or size >= len(images):
        return images
    return images[torch.randperm(len(images), generator=generator)[:size]]


def train(
    model: torch.nn.Module,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    config: TrainConfig,
    on_batch: Callable[[BatchProgress], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train ``model`` in place with Adam.

    Args:
        model: a VAE or AE from :func:`explorer.models.build_model`.
        train_images: (N, C, H, W), pixels in [0, 1].
        test_images: (M, C, H, W), evaluated after every epoch.
        config: optimisation settings.
        on_batch: called after every step with a :class:`BatchProgress`.
        on_epoch: called after every epoch with its :class:`EpochRecord`.
        should_stop: polled before every step; returning True ends training at once,
            leaving the model as it is (usable and savable).

    Returns:
        :class:`TrainResult`; the model is left in eval mode.

    Raises:
        TrainingDiverged: the loss became NaN/inf; the model holds its last good weights.
    """
    # Denormals slow CPU training ~2x as weights shrink. The flag is per thread and
    # torch's worker threads copy it when they are created, so processes that run
    # torch ops before calling train() should set it first thing (as main() does).
    torch.set_flush_denormal(True)
    generator = torch.Generator().manual_seed(config.seed)
    images = _subset(train_images, config.subset, generator)
    num_batches = math.ceil(len(images) / config.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * num_batches)
        if config.lr_schedule == "cosine"
        else None
    )
    history: list[EpochRecord] = []
    good_state = copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    model.train()
    try:
        for epoch in range(1, config.epochs + 1):
            order = torch.randperm(len(images), generator=generator)
            loss_sum = 0.0
            for batch in range(num_batches):
                if should_stop is not None and should_stop():
                    return TrainResult(history, stopped=True)
                x = images[order[batch * config.batch_size : (batch + 1) * config.batch_size]]
                loss = loss_terms(model, x, generator=generator).loss.mean()
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
                if on_batch is not None:
                    on_batch(BatchProgress(epoch, batch + 1, num_batches, loss_value))
            metrics = evaluate(model, test_images, seed=config.seed)
            model.train()
            good_state = copy.deepcopy(model.state_dict())
            record = EpochRecord(
                epoch=epoch,
                train_loss=loss_sum / len(images),
                seconds=time.perf_counter() - start,
                lr=optimizer.param_groups[0]["lr"],
                **metrics,
            )
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
    finally:
        model.eval()
    return TrainResult(history, stopped=False)


def _progress_bar(progress: BatchProgress, epochs: int, width: int = 30) -> None:
    step = max(1, progress.num_batches // width)
    if not sys.stderr.isatty() or (progress.batch % step and progress.batch != progress.num_batches):
        return  # redraw about `width` times an epoch, and only on a terminal
    done = progress.batch / progress.num_batches
    bar = "#" * int(width * done)
    sys.stderr.write(
        f"\repoch {progress.epoch}/{epochs} [{bar:<{width}}] {progress.batch}/{progress.num_batches}"
        f" loss {progress.loss:8.2f}"
    )
    sys.stderr.flush()


def _print_epoch(record: EpochRecord) -> None:
    neg_elbo = "n/a" if record.test_neg_elbo is None else f"{record.test_neg_elbo:.2f}"
    sys.stderr.write(
        f"\repoch {record.epoch}: train loss {record.train_loss:.2f}, test -ELBO {neg_elbo}, "
        f"reconstruction {record.test_reconstruction:.2f}, KL {record.test_kl:.2f} nats/image "
        f"({record.seconds:.1f} s)\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: train a model on MNIST and save a checkpoint."""
    torch.set_flush_denormal(True)  # before any torch op starts worker threads (see train)
    from explorer.checkpoints import save_checkpoint
    from explorer.data import DataError, load_mnist

    defaults_m, defaults_t = ModelConfig(), TrainConfig()
    p = argparse.ArgumentParser(prog="python -m explorer.train", description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["vae", "ae"], default=defaults_m.kind)
    p.add_argument("--latent-dim", type=int, default=defaults_m.latent_dim)
    p.add_argument("--hidden", type=int, nargs="+", default=list(defaults_m.hidden_sizes),
                   help="encoder hidden widths; the decoder mirrors them")
    p.add_argument("--likelihood", choices=["bernoulli", "gaussian"], default=defaults_m.likelihood)
    p.add_argument("--beta", type=float, default=defaults_m.beta)
    p.add_argument("--epochs", type=int, default=defaults_t.epochs)
    p.add_argument("--batch-size", type=int, default=defaults_t.batch_size)
    p.add_argument("--lr", type=float, default=defaults_t.lr)
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default=defaults_t.lr_schedule)
    p.add_argument("--seed", type=int, default=defaults_t.seed)
    p.add_argument("--subset", type=int, default=None, help="train on this many images")
    p.add_argument("--out", type=Path, required=True, help="checkpoint path to write")
    args = p.parse_args(argv)
    try:
        model_config = ModelConfig(kind=args.model, latent_dim=args.latent_dim,
                                   hidden_sizes=tuple(args.hidden), likelihood=args.likelihood,
                                   beta=args.beta)
        train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   lr_schedule=args.lr_schedule, seed=args.seed, subset=args.subset)
        data = load_mnist()
    except (ValueError, DataError) as exc:
        p.error(str(exc))
    model = build_model(model_config, seed=train_config.seed)
    epochs = train_config.epochs
    try:
        result = train(model, data.train_images, data.test_images, train_config,
                       on_batch=lambda b: _progress_bar(b, epochs), on_epoch=_print_epoch)
    except TrainingDiverged as exc:
        sys.stderr.write(f"\n{exc}\n")
        return 1
    metrics = evaluate(model, data.test_images)
    save_checkpoint(args.out, model, train_config=train_config,
                    history=[asdict(r) for r in result.history], metrics=metrics,
                    dataset=data.dataset_info())
    print(json.dumps(metrics))
    sys.stderr.write(f"saved {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
