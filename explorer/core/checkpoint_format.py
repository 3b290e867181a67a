"""What a checkpoint file holds, its checksums, and writing one.

Format 2 (what every save writes) is a `safetensors <https://huggingface.co/docs/safetensors>`_
file: the ``state_dict`` as float32 tensors, and in its string metadata the format tag,
the version, ``contents`` (JSON: ``model_config``, ``train_config``, the per-epoch
``history``, the final test ``metrics`` in nats per image, the ``dataset`` name and
checksums, library ``versions``), ``weights_sha256``, a SHA-256 of the weights, and
``sha256`` (:func:`content_sha256`), a SHA-256 of the weights and the contents text
together: everything the app shows from the file. Both are written at save and checked at
load (files saved before ``sha256`` existed have their weights checked only, and count
as unverified). safetensors holds no code and no compression.

Format 1 (``.pt`` files saved before) is a ``torch.save`` zip archive; it is still read
(:mod:`explorer.core.checkpoint_reading`), never written.

Also here: :class:`CheckpointError`, the one exception of loading, and its message form.
Reading and checking a file: :mod:`explorer.core.checkpoint_reading`; where it came from:
:mod:`explorer.core.checkpoint_trust`; loading it into a model: :mod:`explorer.core.checkpoints`.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import torch

from explorer.core.config import TrainConfig
from explorer.core.files import atomic_write, reap_stale_temporaries
from explorer.core.models import Autoencoder

FORMAT = "latent-space-explorer/checkpoint"
#: Version written by :func:`checkpoint_bytes` (safetensors); 1 is the legacy torch zip.
FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
SUFFIX = ".safetensors"
LEGACY_SUFFIX = ".pt"
#: Suffixes of files the app lists as checkpoints.
CHECKPOINT_SUFFIXES = (SUFFIX, LEGACY_SUFFIX)
REQUIRED_KEYS = ("format", "format_version", "model_config", "train_config", "state_dict",
                 "history", "metrics", "dataset", "versions")
CONTENT_KEYS = ("model_config", "train_config", "history", "metrics", "dataset", "versions")
#: Longest refusal message, characters (names and values in it are shortened to fit).
MAX_MESSAGE_CHARS = 300


#: What to do, by kind of refusal (the second half of every message).
DAMAGED = "Use an intact copy of the file, or retrain the model."
FOREIGN = "Use a .safetensors file saved or downloaded from this app."
BROKEN = "Do not use this file: retrain the model or choose another checkpoint."
TOO_LARGE = "Retrain the model with smaller hidden or latent sizes."


class CheckpointError(ValueError):
    """A file is not a usable checkpoint: truncated, foreign, incomplete, mismatched,
    oversized or corrupt.

    :func:`load_checkpoint` raises it with a message of the form ``"<file>: <reason>.
    <what to do>"`` (under :data:`MAX_MESSAGE_CHARS` characters); inside the loader it
    carries the bare ``reason`` and the ``advice``.

    Attributes:
        reason: what is wrong, one clause (also in the message).
        advice: what to do.
    """

    def __init__(self, reason: str, advice: str = DAMAGED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


def _clip(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _message(name: str, reason: str, advice: str) -> str:
    """The refusal people read: ``"<name>: <reason>. <advice>"``, under :data:`MAX_MESSAGE_CHARS`."""
    name = _clip(name, 60)
    room = MAX_MESSAGE_CHARS - 1 - len(name) - 2 - 2 - len(advice)
    reason = _clip(reason, room)
    if reason.endswith(".") and not reason.endswith("..."):
        reason = reason[:-1]
    return f"{name}: {reason}{'' if reason.endswith('...') else '.'} {advice}"



def content_sha256(tensors: dict[str, torch.Tensor], contents_text: str) -> str:
    """SHA-256 (hex) of everything a format-2 file holds for the app: the weights
    (:func:`weights_sha256`) and the contents JSON text exactly as stored.

    Args:
        tensors: name -> tensor, the state dict.
        contents_text: the ``contents`` metadata string (configs, history, metrics, dataset, versions).
    """
    digest = hashlib.sha256()
    digest.update(f"{FORMAT}\0weights\0{weights_sha256(tensors)}\0contents\0".encode())
    digest.update(contents_text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    import safetensors
    import torchvision

    # str(): torch.__version__ is a str subclass
    return {"torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "safetensors": str(safetensors.__version__), "python": platform.python_version()}


def weights_sha256(state_dict: dict[str, torch.Tensor] | torch.nn.Module) -> str:
    """SHA-256 (hex) of a state dict: every tensor's name, dtype, shape and bytes, by name.
    The one weights hash: stored in checkpoints, and the encoding cache's key. Two models
    share it only if every weight is bit-identical.

    Args:
        state_dict: name -> tensor (any device; read as contiguous CPU memory), or a
            model (its ``state_dict()``).
    """
    if isinstance(state_dict, torch.nn.Module):
        state_dict = state_dict.state_dict()
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def checkpoint_bytes(
    model: Autoencoder,
    *,
    train_config: TrainConfig,
    history: list[dict],
    metrics: dict,
    dataset: dict,
) -> bytes:
    """The serialised checkpoint of ``model`` (what :func:`save_checkpoint` writes):
    a safetensors file, format :data:`FORMAT_VERSION` (see the module docstring).

    Args:
        model: any model of the family.
        train_config: settings it was trained with.
        history: per-epoch records as plain dicts.
        metrics: final test metrics, nats per image.
        dataset: ``{"name", "sha256"}`` of the training data.
    """
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    contents = {
        "model_config": model.config.to_dict(),
        "train_config": train_config.to_dict(),
        "history": list(history),
        "metrics": dict(metrics),
        "dataset": dict(dataset),
        "versions": _versions(),
    }
    text = json.dumps(contents)
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "contents": text,
        "weights_sha256": weights_sha256(tensors),
        "sha256": content_sha256(tensors, text),
    }
    return save(tensors, metadata=metadata)


def save_checkpoint(path: Path | str, model: Autoencoder, *, exclusive: bool = False, **contents) -> Path:
    """Write a checkpoint atomically: a temporary file in the same folder, then rename.

    A crash or error mid-save leaves any existing file at ``path`` untouched; a process
    killed mid-save leaves its temporary file, which the next save or listing of the
    folder removes (:func:`reap_stale_temporaries`).

    Args:
        path: destination file (format 2, safetensors, whatever its suffix; the app and
            the CLI use ``.safetensors``).
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
    reap_stale_temporaries(path.parent)
    if exclusive and path.exists():
        raise FileExistsError(f"{path} already exists")
    # 0o644: mkstemp creates 0600; checkpoints are meant to be shared
    return atomic_write(path, checkpoint_bytes(model, **contents), exclusive=exclusive, durable=True, mode=0o644)
