"""Self-describing checkpoint files: weights plus everything needed to trust them.

A checkpoint is one ``torch.save`` file holding a dict of plain types and tensors:
format tag and version, ``model_config`` and ``train_config`` (dataclass dicts), the
``state_dict``, the per-epoch ``history``, the final test ``metrics`` (nats per
image), the ``dataset`` name and checksums, and library ``versions``. Loading uses
``torch.load(weights_only=True)``, so nothing in a file is ever executed, and
rebuilds the model as ``build_model(ModelConfig.from_dict(ckpt["model_config"]))``.
"""

from __future__ import annotations

import io
import os
import platform
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.models import Autoencoder, build_model

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
        history: per-epoch records (``EpochRecord.to_dict()``: epoch, train_loss, seconds, lr
            and every metric by name).
        metrics: final test metrics by name (:data:`explorer.core.metrics.METRICS`), nats
            per image (``test_neg_elbo`` None for a model without a posterior).
        dataset: ``{"name", "sha256"}`` of the training data.
        versions: library versions it was written with.
    """

    model: Autoencoder
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
    model: Autoencoder,
    *,
    train_config: TrainConfig,
    history: list[dict],
    metrics: dict,
    dataset: dict,
) -> bytes:
    """The serialised checkpoint of ``model`` (what :func:`save_checkpoint` writes).

    Args:
        model: any model of the family.
        train_config: settings it was trained with.
        history: per-epoch records as plain dicts.
        metrics: final test metrics, nats per image.
        dataset: ``{"name", "sha256"}`` of the training data.
    """
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": model.config.to_dict(),
        "train_config": train_config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": list(history),
        "metrics": dict(metrics),
        "dataset": dict(dataset),
        "versions": _versions(),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_checkpoint(path: Path | str, model: Autoencoder, *, exclusive: bool = False, **contents) -> Path:
    """Write a checkpoint atomically: a temporary file in the same folder, then rename.

    A crash or error mid-save leaves any existing file at ``path`` untouched.

    Args:
        path: destination file.
        model: any model of the family.
        exclusive: never replace an existing file: the finished temporary file is
            hard-linked to ``path``, which fails atomically if ``path`` exists (so two
            sessions saving the same name cannot overwrite each other either).
        **contents: ``train_config``, ``history``, ``metrics``, ``dataset``, as for
            :func:`checkpoint_bytes`.

    Returns:
        The path written.

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists (nothing is written).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise FileExistsError(f"{path} already exists")
    data = checkpoint_bytes(model, **contents)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are meant to be shared
        if exclusive:
            os.link(tmp, path)  # atomic; FileExistsError if another writer got there first
            os.unlink(tmp)
        else:
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


#: File names a user may save under: letters, digits, ``._-``, ending in ``.pt``, no folders.
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.pt")


def save_new_checkpoint(folder: Path | str, file_name: str, checkpoint: Checkpoint) -> Path:
    """Save a loaded checkpoint as a NEW file in ``folder`` (never replacing one).

    Args:
        folder: destination folder (e.g. the app's ``checkpoints/``).
        file_name: e.g. ``vae_z2_h512-256_b1_e7_s0_20261121T102400Z.pt``; ``.pt`` is
            appended if missing.
        checkpoint: what to save (its model, configs, history, metrics, dataset).

    Returns:
        The path written (atomically, see :func:`save_checkpoint`).

    Raises:
        ValueError: the name has characters other than letters, digits, ``._-``
            (no folders), or is too long.
        FileExistsError: a file of that name exists; it is left untouched.
    """
    name = file_name.strip()
    if not name.endswith(".pt"):
        name += ".pt"
    if not SAFE_FILE_NAME.fullmatch(name):
        raise ValueError(
            f"{file_name!r} is not a usable file name: use letters, digits, '.', '_' and '-' "
            "only (no folders), starting with a letter or digit"
        )
    return save_checkpoint(Path(folder) / name, checkpoint.model, exclusive=True,
                           train_config=checkpoint.train_config, history=checkpoint.history,
                           metrics=checkpoint.metrics, dataset=checkpoint.dataset)
