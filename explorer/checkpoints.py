"""Self-describing checkpoint files: weights plus everything needed to trust them.

A checkpoint is one ``torch.save`` file holding a dict of plain types and tensors:
format tag and version, ``model_config`` and ``train_config`` (dataclass dicts), the
``state_dict``, the per-epoch ``history``, the final test ``metrics`` (nats per
image), the ``dataset`` name and checksums, and library ``versions``. Loading uses
``torch.load(weights_only=True)``, so nothing in a file is ever executed, and
rebuilds the model as ``build_model(ModelConfig(**ckpt["model_config"]))``.
"""

from __future__ import annotations

import io
import os
import platform
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from explorer.models import AE, VAE, ModelConfig, build_model
from explorer.train import TrainConfig

FORMAT = "latent-space-explorer/checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format", "format_version", "model_config", "train_config", "state_dict",
                 "history", "metrics", "dataset", "versions")


class CheckpointError(ValueError):
    """A file is not a usable checkpoint: truncated, foreign, incomplete or mismatched."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        model: the rebuilt model, in eval mode.
        model_config: its :class:`ModelConfig`.
        train_config: the :class:`TrainConfig` it was trained with.
        history: per-epoch records (dicts with the fields of ``EpochRecord``).
        metrics: final test metrics, nats per image (``test_neg_elbo`` None for an AE).
        dataset: ``{"name", "sha256"}`` of the training data.
        versions: library versions it was written with.
    """

    model: VAE | AE
    model_config: ModelConfig
    train_config: TrainConfig
    history: list[dict]
    metrics: dict
    dataset: dict
    versions: dict


def _versions() -> dict[str, str]:
    import torchvision

    # str(): torch.__version__ is a str subclass that weights_only loading refuses
    return {"torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "python": platform.python_version()}


def checkpoint_bytes(
    model: VAE | AE,
    *,
    train_config: TrainConfig,
    history: list[dict],
    metrics: dict,
    dataset: dict,
) -> bytes:
    """The serialised checkpoint of ``model`` (what :func:`save_checkpoint` writes).

    Args:
        model: a VAE or AE.
        train_config: settings it was trained with.
        history: per-epoch records as plain dicts.
        metrics: final test metrics, nats per image.
        dataset: ``{"name", "sha256"}`` of the training data.
    """
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": model.config.to_dict(),
        "train_config": asdict(train_config),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": list(history),
        "metrics": dict(metrics),
        "dataset": dict(dataset),
        "versions": _versions(),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_checkpoint(path: Path | str, model: VAE | AE, **contents) -> Path:
    """Write a checkpoint atomically: a temporary file in the same folder, then rename.

    A crash or error mid-save leaves any existing file at ``path`` untouched.

    Args:
        path: destination file.
        model: a VAE or AE.
        **contents: ``train_config``, ``history``, ``metrics``, ``dataset``, as for
            :func:`checkpoint_bytes`.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = checkpoint_bytes(model, **contents)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(source: Path | str | BinaryIO | bytes) -> Checkpoint:
    """Load and validate a checkpoint, rebuilding its model in eval mode.

    Args:
        source: a path, an open binary file, or the file's bytes (e.g. an upload).

    Returns:
        :class:`Checkpoint`.

    Raises:
        CheckpointError: the file is missing, truncated or not a torch file; is not a
            checkpoint of this project; lacks a key; has an invalid config; or its
            weights do not fit the model its config describes.
    """
    name = str(source) if isinstance(source, (str, Path)) else "uploaded file"
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{name}: no such checkpoint file") from exc
    except Exception as exc:  # torch raises many types for truncated or foreign bytes
        raise CheckpointError(
            f"{name}: not a readable checkpoint (truncated, corrupt, or not a safe torch "
            f"file): {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{name}: not a latent-space-explorer checkpoint (no '{FORMAT}' format tag); "
            "a bare state_dict or another project's file cannot be used"
        )
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{name}: checkpoint format version {payload.get('format_version')!r} is not "
            f"supported (expected {FORMAT_VERSION})"
        )
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"{name}: checkpoint is missing key(s) {missing}")
    try:
        model_config = ModelConfig.from_dict(payload["model_config"])
        train_config = TrainConfig.from_dict(payload["train_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: invalid config in checkpoint: {exc}") from exc
    model = build_model(model_config)
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            f"{name}: weights do not match the model its config describes: "
            f"{' '.join(str(exc).split())[:600]}"
        ) from exc
    model.eval()
    return Checkpoint(model, model_config, train_config, payload["history"], payload["metrics"],
                      payload["dataset"], payload["versions"])
