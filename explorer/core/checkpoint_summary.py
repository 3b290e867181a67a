"""What a checkpoint file is, read from its header alone: which model (its configs), whether
it is one of the project's shipped files, and when it was written; no weights are loaded,
nothing is built. For lists of models (the app's model choice), where loading every file
(and recomputing its metrics) would take seconds; using a model still goes through
:func:`explorer.core.checkpoints.load_checkpoint`, which checks everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from explorer.core.checkpoint_format import FORMAT, FORMAT_VERSION
from explorer.core.checkpoint_trust import SHIPPED_MANIFEST, shipped_digests
from explorer.core.config import ModelConfig, TrainConfig
from explorer.core.models import model_class

#: The most header :func:`safetensors_metadata` reads (bytes), as a checkpoint may have.
MAX_HEADER_BYTES = 1 << 20


def safetensors_metadata(path: str | Path, whole: bool = False) -> dict | None:
    """The ``__metadata__`` dict of a safetensors file's header (str -> str), reading only
    the 8-byte length and at most :data:`MAX_HEADER_BYTES` of JSON; None for anything else
    (no such regular file, another format, a damaged header). Never opens a FIFO or device.

    Args:
        path: the file.
        whole: also None when the file is not as long as its header says (truncated or padded).
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size <= MAX_HEADER_BYTES:
                return None
            header = json.loads(f.read(size))
            metadata = header.pop("__metadata__")
            if whole:
                end = max((t["data_offsets"][1] for t in header.values()), default=0)
                if 8 + size + end != os.fstat(f.fileno()).st_size:
                    return None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        return None
    return metadata if isinstance(metadata, dict) else None


@dataclass(frozen=True)
class CheckpointSummary:
    """A checkpoint file as its header describes it (unchecked against its weights).

    Attributes:
        model_config, train_config: the configs the file stores (validated as configs).
        shipped_name: the name :data:`SHIPPED_MANIFEST` lists for the whole file's SHA-256
            (the project's own checkpoint, whatever this copy is called); None for another file.
        modified: the file's modification time, seconds since the epoch (when it was saved).
    """

    model_config: ModelConfig
    train_config: TrainConfig
    shipped_name: str | None
    modified: float

    @property
    def shipped(self) -> bool:
        """One of the project's shipped files, by its bytes."""
        return self.shipped_name is not None

    @property
    def semi_supervised(self) -> bool:
        """An M2 or M1+M2 model (Kingma et al. 2014): a classifier q(y|x) beside its VAE,
        trained with some labels unknown; the pages made for autoencoders do not offer it."""
        return model_class(self.model_config.kind).is_semi_supervised

    @property
    def decodes_images(self) -> bool:
        """Its decoder writes images (False for M1+M2, whose decoder writes an M1 VAE's codes)."""
        return self.model_config.m1 is None


def read_summary(path: str | Path, manifest: Path = SHIPPED_MANIFEST) -> CheckpointSummary | None:
    """The :class:`CheckpointSummary` of a format-2 (``.safetensors``) checkpoint file.

    Args:
        path: the file.
        manifest: the shipped files' ``SHA256SUMS``.

    Returns:
        The summary, or None when the header is not that of a readable checkpoint (a legacy
        ``.pt`` file, the digit classifier, a foreign, damaged or truncated file): loading
        it says why.
    """
    metadata = safetensors_metadata(path, whole=True)
    if metadata is None or metadata.get("format") != FORMAT or metadata.get("format_version") != str(FORMAT_VERSION):
        return None
    try:
        contents = json.loads(metadata["contents"])
        model_config = ModelConfig.from_dict(contents["model_config"])
        train_config = TrainConfig.from_dict(contents["train_config"])
        data = Path(path).read_bytes()
        modified = os.stat(path).st_mtime
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    shipped_name = shipped_digests(manifest).get(hashlib.sha256(data).hexdigest())
    return CheckpointSummary(model_config, train_config, shipped_name, modified)
