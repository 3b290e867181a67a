"""A small MNIST classifier: the judge of "does this decoded image look like a digit?".

The hole score (:mod:`explorer.core.holes`) is this classifier's top softmax
probability. Two architectures, chosen by :class:`ClassifierConfig`:

- ``"mlp"``: 784-512-256-10 with ReLU (LeCun et al. 1998 list 2-layer MLPs at 1.5-3 %
  test error; with Adam and dropout this one reaches about 98 %);
- ``"cnn"``: two 5x5 convolutions (32 and 64 channels, ReLU, 2x2 max-pool) and a
  linear read-out, about 99 % after 2-3 epochs.

A trained classifier is stored as a ``safetensors`` file: the weights, plus JSON in
the file's metadata (format tag, config, test accuracy, training seconds). Loading
checks the format, the config, every weight's name and shape and that all values are
finite, and raises :class:`ClassifierFileError` (a ``ValueError``) naming the problem.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from explorer.core.config import NUM_CLASSES
from explorer.core.files import atomic_write, reap_stale_temporaries

FORMAT = "latent-space-explorer/mnist-classifier"
FORMAT_VERSION = 1
#: The digit classifier's own networks (not the autoencoders' :data:`explorer.core.config.ARCHITECTURES`).
CLASSIFIER_ARCHITECTURES = ("mlp", "cnn")
#: Shipped classifier file, relative to the repository root.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "checkpoints" / "mnist_classifier.safetensors"


class ClassifierFileError(ValueError):
    """A file is not a usable classifier: unreadable, foreign, wrong shapes or non-finite weights."""


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture of the classifier.

    Attributes:
        architecture: ``"mlp"`` or ``"cnn"``.
        hidden_sizes: MLP hidden widths (ignored by the CNN).
        channels: the CNN's two convolution widths (ignored by the MLP).
        dropout: dropout probability before each hidden/read-out linear layer while training.

    Raises:
        ValueError: an unknown architecture or a non-positive width.
    """

    architecture: str = "cnn"
    hidden_sizes: tuple[int, ...] = (512, 256)
    channels: tuple[int, int] = (32, 64)
    dropout: float = 0.2

    def __post_init__(self):
        if self.architecture not in CLASSIFIER_ARCHITECTURES:
            raise ValueError(f"architecture must be one of {CLASSIFIER_ARCHITECTURES}, got {self.architecture!r}")
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if any(h <= 0 for h in self.hidden_sizes) or len(self.channels) != 2 or any(c <= 0 for c in self.channels):
            raise ValueError(f"widths must be positive (hidden {self.hidden_sizes}, channels {self.channels})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        """Rebuild from :meth:`to_dict`. Raises ValueError on unknown or invalid fields."""
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown classifier config fields: {sorted(unknown)}")
        return cls(**d)


class DigitClassifier(nn.Module):
    """MNIST classifier: images (B, 1, 28, 28) in [0, 1] -> logits (B, 10)."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = config
        if config.architecture == "mlp":
            layers: list[nn.Module] = [nn.Flatten()]
            width = 28 * 28
            for h in config.hidden_sizes:
                layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(config.dropout)]
                width = h
            layers.append(nn.Linear(width, NUM_CLASSES))
        else:
            c1, c2 = config.channels
            layers = [
                nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 14x14
                nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
                nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(c2 * 7 * 7, NUM_CLASSES),
            ]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 10) of images ``x`` (B, 1, 28, 28) (or (B, 784)) with pixels in [0, 1]."""
        return self.net(x.reshape(-1, 1, 28, 28))

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
        """Softmax class probabilities (B, 10) of images (B, 1, 28, 28), in eval mode."""
        was_training = self.training
        self.eval()
        try:
            return torch.cat([self(x[i:i + batch_size]).softmax(-1) for i in range(0, len(x), batch_size)])
        finally:
            self.train(was_training)


@dataclass
class TrainedClassifier:
    """A classifier with what is known about it.

    Attributes:
        model: the classifier, in eval mode.
        test_accuracy: share of the 10,000 MNIST test images classified right, in [0, 1].
        train_seconds: wall-clock seconds its training took.
        extra: other metadata (epochs, seed, batch size, lr).
    """

    model: DigitClassifier
    test_accuracy: float
    train_seconds: float
    extra: dict = field(default_factory=dict)


@torch.inference_mode()
def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` (N, 1, 28, 28) in [0, 1] whose arg-max class equals ``labels`` (N,)."""
    return float((model.probabilities(images).argmax(-1) == labels).float().mean())


def train_classifier(
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    config: ClassifierConfig = ClassifierConfig(),
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    on_epoch=None,
    on_batch=None,
) -> DigitClassifier:
    """Train a classifier with Adam on cross-entropy, reshuffling every epoch.

    Args:
        train_images: (N, 1, 28, 28) float pixels in [0, 1].
        train_labels: (N,) int64 digits 0-9.
        config: the architecture.
        epochs, batch_size, lr, seed: the optimisation (lr decays by cosine to 0).
        on_epoch: optional ``callback(epoch, mean training loss in nats)``.
        on_batch: optional ``callback(epoch, batch, num_batches, batch loss in nats)``
            after every step (1-based epoch and batch), for progress bars.

    Returns:
        The trained classifier, in eval mode.

    Raises:
        ValueError: images and labels differ in length, or epochs < 1.
    """
    if len(train_images) != len(train_labels) or epochs < 1:
        raise ValueError(f"need matching images/labels and epochs >= 1, got {len(train_images)}, "
                         f"{len(train_labels)}, {epochs}")
    torch.manual_seed(seed)
    model = DigitClassifier(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(train_images) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train_images), generator=generator)
        total = 0.0
        for i in range(0, len(order), batch_size):
            rows = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(train_images[rows]), train_labels[rows])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            loss_value = loss.detach().item()
            total += loss_value * len(rows)
            if on_batch is not None:
                on_batch(epoch, i // batch_size + 1, math.ceil(len(order) / batch_size), loss_value)
        if on_epoch is not None:
            on_epoch(epoch, total / len(order))
    return model.eval()


def save_classifier(path: str | Path, trained: TrainedClassifier) -> None:
    """Write ``trained`` to a safetensors file atomically
    (:func:`explorer.core.files.atomic_write`: temporary file + rename)."""
    from safetensors.torch import save

    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": trained.model.config.to_dict(),
            "test_accuracy": trained.test_accuracy, "train_seconds": trained.train_seconds, **trained.extra}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    reap_stale_temporaries(path.parent)
    tensors = {k: v.detach().contiguous() for k, v in trained.model.state_dict().items()}
    # 0o644: mkstemp makes it private; a shipped file is for everyone to read
    atomic_write(path, save(tensors, metadata={"explorer": json.dumps(meta)}), mode=0o644)


def is_classifier_file(path: str | Path) -> bool:
    """Whether ``path`` is a classifier file by its content: a safetensors file whose
    metadata carries this module's format tag (:data:`FORMAT`). Reads only the header
    (:func:`explorer.core.checkpoint_summary.safetensors_metadata`); an unreadable or
    foreign file is not one. Lets a folder of autoencoder checkpoints hold the classifier
    without offering it as a model, whatever its name."""
    from explorer.core.checkpoint_summary import safetensors_metadata

    try:
        meta = json.loads((safetensors_metadata(path) or {})["explorer"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def load_classifier(path: str | Path = DEFAULT_PATH) -> TrainedClassifier:
    """Load and validate a classifier written by :func:`save_classifier`.

    Returns:
        :class:`TrainedClassifier` with the model in eval mode.

    Raises:
        ClassifierFileError: the file is missing or unreadable, is not a classifier of
            this format, has an invalid config, or a weight is missing, extra, of the
            wrong shape or not finite.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise ClassifierFileError(f"classifier file not found: {path.name}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("explorer")
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ClassifierFileError(f"{path.name} is not a readable safetensors file: {exc}") from exc
    try:
        meta = json.loads(raw) if raw else None
    except json.JSONDecodeError as exc:
        raise ClassifierFileError(f"{path.name}: its metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ClassifierFileError(f"{path.name} is not an MNIST classifier of this app (format tag missing)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ClassifierFileError(f"{path.name} has format version {meta.get('format_version')}, "
                                  f"this app reads {FORMAT_VERSION}")
    try:
        config = ClassifierConfig.from_dict(meta["config"])
        test_accuracy = float(meta["test_accuracy"])
        train_seconds = float(meta["train_seconds"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ClassifierFileError(f"{path.name}: invalid config or metadata ({exc})") from exc
    model = DigitClassifier(config)
    expected = model.state_dict()
    missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ClassifierFileError(f"{path.name}: weights do not match its config (missing {missing}, extra {extra})")
    for name in expected:  # in the model's order: the first layer that does not fit is named
        value = tensors[name]
        if value.shape != expected[name].shape:
            raise ClassifierFileError(f"{path.name}: weight {name} has shape {tuple(value.shape)}, "
                                      f"expected {tuple(expected[name].shape)}")
        if not torch.isfinite(value).all():
            raise ClassifierFileError(f"{path.name}: weight {name} holds non-finite values (NaN or inf)")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    extra_meta = {k: v for k, v in meta.items()
                  if k not in ("format", "format_version", "config", "test_accuracy", "train_seconds")}
    return TrainedClassifier(model.eval(), test_accuracy, train_seconds, extra_meta)


def timed_training(*args, **kwargs) -> tuple[DigitClassifier, float]:
    """:func:`train_classifier` and its wall-clock seconds."""
    start = time.perf_counter()
    model = train_classifier(*args, **kwargs)
    return model, time.perf_counter() - start
