"""Writers of checkpoint files in both formats, for tests that edit them.

``legacy_payload`` / ``legacy_bytes`` rebuild the format-1 ``torch.save`` file the app
wrote before safetensors (the shipped ``.pt`` checkpoints are such files);
``safetensors_parts`` / ``safetensors_bytes`` split and reassemble a format-2 file so a
test can edit its tensors, metadata or contents.
"""

from __future__ import annotations

import io
import json

import torch
from safetensors.torch import load, save

from explorer.core import checkpoint_format


def contents_for(model, **overrides) -> dict:
    """Plain contents of a checkpoint of ``model`` (configs, history, metrics, dataset, versions)."""
    from explorer.core.train import TrainConfig

    contents = {
        "model_config": model.config.to_dict(),
        "train_config": TrainConfig(epochs=2, seed=3).to_dict(),
        "history": [{"epoch": 1, "train_loss": 200.0}],
        "metrics": {"test_neg_elbo": 150.0, "test_reconstruction": 145.0, "test_kl": 5.0},
        "dataset": {"name": "MNIST", "sha256": {"a.gz": "00"}},
        "versions": {"torch": str(torch.__version__)},
    }
    contents.update(overrides)
    return contents


def legacy_payload(model, **overrides) -> dict:
    """The dict a format-1 ``.pt`` checkpoint of ``model`` holds."""
    return {"format": checkpoint_format.FORMAT, "format_version": 1, **contents_for(model, **overrides),
            "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()}}


def legacy_bytes(payload: dict) -> bytes:
    """``torch.save`` of ``payload`` (a format-1 file)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def safetensors_parts(data: bytes) -> tuple[dict, dict, dict]:
    """(tensors, metadata, contents) of a format-2 file."""
    size = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + size])["__metadata__"]
    return load(data), metadata, json.loads(metadata["contents"])


def safetensors_bytes(tensors: dict, metadata: dict, contents: dict | None = None, *, rehash: bool = False) -> bytes:
    """A format-2 file from its parts; ``contents`` replaces the metadata's, ``rehash``
    writes fresh checksums of the weights and of everything (``weights_sha256`` and
    ``sha256``), as a forger would, so only the other edits are tested."""
    metadata = dict(metadata)
    if contents is not None:
        metadata["contents"] = json.dumps(contents)
    if rehash:
        metadata["weights_sha256"] = checkpoint_format.weights_sha256(tensors)
        if isinstance(metadata.get("contents"), str):
            metadata["sha256"] = checkpoint_format.content_sha256(tensors, metadata["contents"])
    return save(tensors, metadata=metadata)
